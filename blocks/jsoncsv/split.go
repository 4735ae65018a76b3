package jsoncsv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
	"github.com/connectplus/connectplus/lang/jsonpath"
)

// SplitSpec is split_json.
var SplitSpec = &block.Spec{
	Type: "split_json", Label: "Split", Class: block.ClassExecutor, Category: "Transformation",
	Description: "Splits JSON by a JSONPath (RFC 9535, plus the Jayway forms Connect+ uses such as $.[*]) into records: with Split Response each selected value travels as its own unit, otherwise they travel together (files: batches of up to 1000). " +
		"Input is a JSON file (a top-level array is streamed element by element when the path starts with $[*], $.[*] or $.*; other documents are read one top-level value at a time) or a record batch (the path is applied to the batch as an array: $[*] keeps each record, $ keeps the batch whole, deeper paths make records that report under the record they came from). " +
		"Records that select nothing are filtered.",
	LegacyTypes: []string{"json_split"},
	Input:       block.KindAny, Output: block.KindRecords,
	Relations: []string{block.RelFiltered},
	Fields: []block.Field{
		{Key: "JsonPath Expression", Label: "JsonPath Expression", Type: block.TypeString, Required: true, Default: "$.[*]",
			Description: "Path selecting the values to split out; several paths may be separated by commas."},
		{Key: "split response", Label: "Split Response", Type: block.TypeBool, Required: true, Default: "true",
			Description: "true: one unit per selected value; false: the selected values stay together."},
	},
	Check: func(c *block.Config) []block.Problem {
		if _, err := jsonpath.CompileMulti(c.String("JsonPath Expression")); err != nil {
			return []block.Problem{{Path: "JsonPath Expression", Message: err.Error()}}
		}
		return nil
	},
	New: newSplitter,
}

// fileBatch bounds the records per unit when a file is not split per value.
const fileBatch = 1000

type splitter struct {
	name  string
	src   string
	path  *jsonpath.Path
	rest  *jsonpath.Path // path applied to each element of a streamed top-level array
	split bool
}

// arrayPrefixes are path starts that select every element of a root array.
var arrayPrefixes = []string{"$.[*]", "$[*]", "$.*"}

func newSplitter(c *block.Config, env *block.Env) (block.Block, error) {
	s := &splitter{name: env.Block, src: strings.TrimSpace(c.String("JsonPath Expression")), split: c.Bool("split response")}
	p, err := jsonpath.CompileMulti(s.src)
	if err != nil {
		return nil, fmt.Errorf("JsonPath Expression: %w", err)
	}
	s.path = p
	for _, pre := range arrayPrefixes {
		if rest, ok := strings.CutPrefix(s.src, pre); ok && !strings.Contains(rest, ",") {
			if rp, err := jsonpath.Compile("$" + rest); err == nil {
				s.rest = rp
			}
			break
		}
	}
	return s, nil
}

func (s *splitter) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	if u.Batch != nil {
		return s.splitBatch(ctx, u, out)
	}
	return s.splitFile(ctx, u, out)
}

// emitter batches records into units.
type emitter struct {
	ctx   context.Context
	u     *block.Unit
	out   block.Output
	split bool
	limit int
	cur   []block.Record
}

func (e *emitter) add(r block.Record) error {
	e.cur = append(e.cur, r)
	if e.split || len(e.cur) >= e.limit {
		return e.flush()
	}
	return nil
}

func (e *emitter) flush() error {
	if len(e.cur) == 0 {
		return nil
	}
	nu := e.u.Derive()
	nu.Batch = &block.Batch{Records: e.cur}
	e.cur = nil
	return e.out.Emit(e.ctx, block.RelSuccess, nu)
}

func (s *splitter) splitFile(ctx context.Context, u *block.Unit, out block.Output) error {
	in, err := u.File.Open(ctx)
	if err != nil {
		return fmt.Errorf("open %s: %w", u.File.Name, err)
	}
	defer in.Close()
	br := bufio.NewReaderSize(in, 64<<10)
	first, err := firstByte(br)
	if err != nil {
		return fmt.Errorf("%s: %w", u.File.Name, err)
	}
	e := &emitter{ctx: ctx, u: u, out: out, split: s.split, limit: fileBatch}
	dec := jsonv.NewDecoder(br)
	var seq int64
	add := func(v any, line int) error {
		seq++
		if u.Lineage != nil && u.Lineage.Acked(seq) {
			return nil // delivered before a restart
		}
		return e.add(block.Record{Seq: seq, Line: int64(line), Value: v})
	}
	streamed := first == '[' && s.rest != nil
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		var v any
		if streamed {
			v, err = dec.NextElement()
		} else {
			v, err = dec.Next()
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", u.File.Name, err)
		}
		// The decoder knows where the value ended: the record's line for
		// JSON Lines and one-record-per-line arrays.
		line := dec.Line()
		p := s.path
		if streamed {
			p = s.rest
		}
		for _, r := range p.Query(v) {
			if err := add(r, line); err != nil {
				return err
			}
		}
	}
	if seq == 0 {
		return fmt.Errorf("%s: JsonPath Expression %q selected nothing", u.File.Name, s.src)
	}
	return e.flush()
}

// firstByte returns the first byte that is not white space or a BOM,
// without consuming it.
func firstByte(br *bufio.Reader) (byte, error) {
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	for {
		b, err := br.Peek(1)
		if err == io.EOF {
			return 0, errors.New("the file is empty: no JSON")
		}
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			br.Discard(1)
			continue
		}
		return b[0], nil
	}
}

func (s *splitter) splitBatch(ctx context.Context, u *block.Unit, out block.Output) error {
	b := u.Batch
	doc := make([]any, len(b.Records))
	for i := range b.Records {
		doc[i] = b.Value(i)
	}
	nodes := s.path.QueryLocated(doc)
	e := &emitter{ctx: ctx, u: u, out: out, split: s.split, limit: len(b.Records) + len(nodes) + 1}
	hit := make([]bool, len(b.Records))
	for _, n := range nodes {
		if n.Path == "$" {
			// The whole batch was selected: it travels as it is.
			hit = nil
			if err := out.Emit(ctx, block.RelSuccess, u); err != nil {
				return err
			}
			break
		}
		i, deeper, ok := parentIndex(n.Path)
		if !ok || i >= len(b.Records) {
			continue
		}
		hit[i] = true
		r := b.Records[i]
		if deeper {
			// A value inside record i reports under record i.
			r.Value = n.Value
			r.Members = nil
		}
		if err := e.add(r); err != nil {
			return err
		}
	}
	if err := e.flush(); err != nil {
		return err
	}
	var filtered []block.Record
	for i, h := range hit {
		if !h {
			r := b.Records[i]
			r.Outcome = block.Outcome{Status: block.Filtered, Block: s.name, Message: "JsonPath Expression " + s.src + " selected nothing in this record"}
			filtered = append(filtered, r)
		}
	}
	if len(filtered) > 0 {
		nu := u.Derive()
		nu.Batch = b.With(filtered)
		return out.Emit(ctx, block.RelFiltered, nu)
	}
	return nil
}

// parentIndex reads the top-level index of a normalized path "$[3]...".
func parentIndex(p string) (i int, deeper, ok bool) {
	rest, found := strings.CutPrefix(p, "$[")
	if !found {
		return 0, false, false
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return 0, false, false
	}
	n, err := strconv.Atoi(rest[:end])
	if err != nil || n < 0 {
		return 0, false, false
	}
	return n, len(rest) > end+1, true
}
