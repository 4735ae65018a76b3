// Package jsoncsv implements json_to_csv_converter (spec §2.4.9), which
// re-encodes record files between JSON, CSV and Avro, and split_json
// (§2.4.7), which splits JSON by a JSONPath into records.
//
// Conversion reads its input twice and never holds it: a first pass in
// Process validates every record (so a malformed file fails here, with its
// line and column, before anything is handed on) and collects the CSV
// header — the union of keys in first-seen order, which must be known
// before the first row is written; the second pass runs lazily while the
// next block reads the output. With groupBy the first pass also spills each
// group's records to the work directory, one JSON Lines file per group.
package jsoncsv

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/format/csvio"
	"github.com/connectplus/connectplus/jsonv"
)

// Controller-service IDs and Gen-1 names Connect+ documents for the reader
// and writer; each maps to a format.
var (
	readerNames = map[string]string{
		"json": fmtJSON, "JSONTreeReader": fmtJSON, "8a017c83-018e-1000-0000-0000163e6dac": fmtJSON,
		"csv": fmtCSV, "CSVReader": fmtCSV, "5c5b9607-0173-1000-87ad-a0b9ca44885f": fmtCSV,
		"avro": fmtAvro, "AvroReader": fmtAvro, "1e3ae3f8-0195-1000-0000-00000e1a5866": fmtAvro,
	}
	writerNames = map[string]string{
		"csv": fmtCSV, "CSVRecordSetWriter": fmtCSV, "87a43677-0178-1000-ffff-ffffd1da937f": fmtCSV,
		"json": fmtJSON, "JsonRecordSetWriter": fmtJSON, "7062a35b-0173-1000-6687-2fe95293e13b": fmtJSON,
		"avro": fmtAvro, "AvroRecordSetWriter": fmtAvro,
	}
)

func enumOf(m map[string]string, first ...string) []string {
	out := append([]string(nil), first...)
	seen := map[string]bool{}
	for _, f := range first {
		seen[f] = true
	}
	for _, k := range []string{"JSONTreeReader", "CSVReader", "AvroReader", "CSVRecordSetWriter", "JsonRecordSetWriter", "AvroRecordSetWriter",
		"8a017c83-018e-1000-0000-0000163e6dac", "5c5b9607-0173-1000-87ad-a0b9ca44885f", "1e3ae3f8-0195-1000-0000-00000e1a5866",
		"7062a35b-0173-1000-6687-2fe95293e13b", "87a43677-0178-1000-ffff-ffffd1da937f"} {
		if _, ok := m[k]; ok && !seen[k] {
			out = append(out, k)
		}
	}
	return out
}

// Attributes set on converted files.
const (
	AttrRecordCount = "record.count"
	AttrGroupValue  = "group.value"
)

// ConvertSpec is json_to_csv_converter.
var ConvertSpec = &block.Spec{
	Type: "json_to_csv_converter", Label: "Transform (JSON to CSV)", Class: block.ClassExecutor, Category: "Transformation",
	Description: "Converts records between formats, streaming: JSON (a top-level array, JSON Lines or concatenated objects), CSV (first row is the header) or Avro object container files in; CSV, JSON (an array) or Avro (deflate OCF) out. " +
		"The CSV header is the union of the records' keys in first-seen order, or the Avro schema's fields when a schema is given; nested values are written as compact JSON. " +
		"Avro output uses the schema given (strings from CSV are converted to its numeric and boolean types) or, without one, an optional string field per key. " +
		"groupBy names a field: one output file per distinct value (/ = no grouping). A malformed record fails the file with its line and column.",
	LegacyTypes: []string{"Convert_CSV/Avro_file_to_Json"},
	Input:       block.KindAny, Output: block.KindFile,
	Fields: []block.Field{
		{Key: "record-reader", Label: "Record Reader", Type: block.TypeEnum, Required: true, Default: "json",
			Enum:        enumOf(readerNames, "json", "csv", "avro"),
			Description: "Input format: json, csv or avro (Connect+ controller-service IDs and Gen-1 reader names are accepted). Ignored for record batches."},
		{Key: "record-writer", Label: "Record Writer", Type: block.TypeEnum, Required: true, Default: "csv",
			Enum:        enumOf(writerNames, "csv", "json", "avro"),
			Description: "Output format: csv, json or avro (controller-service IDs and Gen-1 writer names accepted)."},
		{Key: "groupBy", Label: "Group By", Type: block.TypeString, Default: "/", Example: "orgId",
			Description: "Field whose values split the output into one file per value (attribute group.value and the field's name carry it); / writes one file."},
		{Key: "schema-text", Label: "Avro Schema", Type: block.TypeJSON, Advanced: true, Aliases: []string{"schema"},
			Example:     `{"type":"record","name":"Customer","fields":[{"name":"mobile","type":"string"},{"name":"points","type":["null","long"]}]}`,
			Description: "Avro record schema for the avro writer (and the column list for csv)."},
		{Key: "delimiter", Label: "CSV Delimiter", Type: block.TypeString, Advanced: true,
			Description: "Delimiter of CSV input and output: one character. Default: the source's File Delimiter, else a comma."},
	},
	Check: func(c *block.Config) []block.Problem {
		if !c.Has("schema-text") {
			return nil
		}
		if _, err := parseSchema(c.String("schema-text")); err != nil {
			return []block.Problem{{Path: "schema-text", Message: err.Error()}}
		}
		return nil
	},
	New: newConverter,
}

// Register adds the JSON/CSV blocks to r.
func Register(r *block.Registry) { r.MustRegister(ConvertSpec, SplitSpec) }

func parseSchema(src string) (*avro.RecordSchema, error) {
	s, err := avro.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("invalid Avro schema: %w", err)
	}
	rs, ok := s.(*avro.RecordSchema)
	if !ok {
		return nil, fmt.Errorf("the Avro schema must be a record, not %s", s.Type())
	}
	return rs, nil
}

type converter struct {
	reader, writer string
	group          string
	schema         *avro.RecordSchema
	delim          string
	workDir        string

	spills block.Spills
}

func newConverter(c *block.Config, env *block.Env) (block.Block, error) {
	cv := &converter{
		reader: readerNames[c.String("record-reader")], writer: writerNames[c.String("record-writer")],
		delim: c.String("delimiter"), workDir: env.WorkDir, spills: block.Spills{Dir: env.WorkDir},
	}
	if cv.reader == "" || cv.writer == "" {
		return nil, fmt.Errorf("unknown record reader %q or writer %q", c.String("record-reader"), c.String("record-writer"))
	}
	if g := strings.TrimSpace(c.String("groupBy")); g != "" && g != "/" {
		cv.group = strings.TrimPrefix(g, "/")
	}
	if c.Has("schema-text") {
		s, err := parseSchema(c.String("schema-text"))
		if err != nil {
			return nil, err
		}
		cv.schema = s
	}
	if _, err := delimRune(cv.delim); err != nil {
		return nil, err
	}
	return cv, nil
}

func delimRune(s string) (rune, error) {
	switch s {
	case "", "null":
		return ',', nil
	case `\t`, "\t", "tab":
		return '\t', nil
	}
	if len(s) != 1 || s == `"` || s == "\n" || s == "\r" {
		return 0, fmt.Errorf("delimiter must be one ASCII character other than a quote or line break, got %q", s)
	}
	return rune(s[0]), nil
}

// source opens a fresh record reader over the unit's content.
type source func(ctx context.Context) (recordReader, io.Closer, error)

func (cv *converter) sourceOf(u *block.Unit, delim rune) source {
	if u.Batch != nil {
		b := u.Batch
		return func(context.Context) (recordReader, io.Closer, error) {
			return &batchReader{b: b}, io.NopCloser(nil), nil
		}
	}
	f := u.File
	format := cv.reader
	return func(ctx context.Context) (recordReader, io.Closer, error) {
		in, err := f.Open(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("open %s: %w", f.Name, err)
		}
		var rr recordReader
		switch format {
		case fmtCSV:
			rr, err = newCSVReader(in, delim)
		case fmtAvro:
			rr, err = newAvroReader(bufio.NewReaderSize(in, 64<<10))
		default:
			rr = &jsonReader{d: jsonv.NewDecoder(in)}
		}
		if err != nil {
			in.Close()
			return nil, nil, err
		}
		return rr, in, nil
	}
}

// plan is what the first pass learned.
type plan struct {
	header []string
	schema avro.Schema
	names  map[string]string // Avro field -> record key (inferred schema)
	count  int64
	groups []*group
}

type group struct {
	value string
	path  string
	count int64
}

func (cv *converter) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	delimStr := cv.delim
	if delimStr == "" {
		delimStr = u.Attrs["file.delimiter"]
	}
	delim, err := delimRune(delimStr)
	if err != nil {
		return err
	}
	src := cv.sourceOf(u, delim)
	lin := u.LineageID()
	p, err := cv.firstPass(ctx, src, lin)
	if err != nil {
		name := "records"
		if u.File != nil {
			name = u.File.Name
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	base := "records"
	switch {
	case u.File != nil:
		base = u.File.Name
	case u.Attrs[block.AttrFilename] != "":
		base = u.Attrs[block.AttrFilename]
	}
	base = strings.TrimSuffix(base, path.Ext(base))
	ext, mime := outputTypes[cv.writer][0], outputTypes[cv.writer][1]
	emit := func(name string, count int64, open source, attrs map[string]string) error {
		nu := u.Derive()
		nu.File = block.NewFile(name, -1, func(ctx context.Context) (io.ReadCloser, error) {
			rr, closer, err := open(ctx)
			if err != nil {
				return nil, err
			}
			pr, pw := io.Pipe()
			go func() {
				err := cv.write(ctx, rr, pw, p, delim)
				closer.Close()
				if err != nil {
					err = fmt.Errorf("json_to_csv_converter %s: %w", name, err)
				}
				pw.CloseWithError(err)
			}()
			return pr, nil
		})
		nu.Attrs[block.AttrFilename] = name
		nu.Attrs[block.AttrMimeType] = mime
		nu.Attrs[AttrRecordCount] = strconv.FormatInt(count, 10)
		delete(nu.Attrs, block.AttrFileSize)
		for k, v := range attrs {
			nu.Attrs[k] = v
		}
		return out.Emit(ctx, block.RelSuccess, nu)
	}
	if cv.group == "" {
		return emit(base+ext, p.count, src, nil)
	}
	for _, g := range p.groups {
		spill := g.path
		open := func(ctx context.Context) (recordReader, io.Closer, error) {
			f, err := os.Open(spill)
			if err != nil {
				return nil, nil, fmt.Errorf("group spill: %w", err)
			}
			return &jsonReader{d: jsonv.NewDecoder(f)}, f, nil
		}
		if err := emit(base+"_"+safeName(g.value)+ext, g.count, open, map[string]string{AttrGroupValue: g.value, cv.group: g.value}); err != nil {
			return err
		}
	}
	return nil
}

// safeName makes a group value usable inside a file name.
func safeName(v string) string {
	if v == "" {
		return "_"
	}
	var b strings.Builder
	for _, r := range v {
		if r == '/' || r == '\\' || r == 0 || r < 0x20 || r == ':' || r == '*' || r == '?' || r == '"' || r == '<' || r == '>' || r == '|' {
			r = '_'
		}
		b.WriteRune(r)
	}
	s := b.String()
	if len(s) > 100 {
		for len(s) > 100 || !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// maxGroups bounds the number of output files one input may produce.
const maxGroups = 10000

// maxOpenSpills bounds the group spill files open at once.
const maxOpenSpills = 64

func (cv *converter) firstPass(ctx context.Context, src source, lineage string) (*plan, error) {
	rr, closer, err := src(ctx)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	p := &plan{}
	if cv.schema != nil {
		p.schema = cv.schema
		for _, f := range cv.schema.Fields() {
			p.header = append(p.header, f.Name())
		}
	}
	var seen map[string]bool
	if cv.schema == nil {
		seen = map[string]bool{}
	}
	if cr, ok := rr.(*csvReader); ok && seen != nil {
		// A CSV file's columns are its header, even where cells are empty.
		for _, h := range cr.header {
			if !seen[h] {
				seen[h] = true
				p.header = append(p.header, h)
			}
		}
	}
	groups := map[string]*group{}
	open := map[string]*bufio.Writer{}
	files := map[string]*os.File{}
	var order []string // open spill files, oldest first
	defer func() {
		for k, w := range open {
			w.Flush()
			files[k].Close()
		}
	}()
	var buf []byte
	for {
		if p.count%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		o, pos, err := rr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		p.count++
		if seen != nil {
			for _, m := range o.Members {
				if !seen[m.Key] {
					if len(seen) >= maxKeys {
						return nil, fmt.Errorf("%s: more than %d distinct keys", pos, maxKeys)
					}
					seen[m.Key] = true
					p.header = append(p.header, m.Key)
				}
			}
		}
		if cv.schema != nil && cv.writer == fmtAvro {
			if _, err := toAvro(o, cv.schema, "$"); err != nil {
				return nil, fmt.Errorf("%s: %w", pos, err)
			}
		}
		if cv.group == "" {
			continue
		}
		gv, _ := o.Get(cv.group)
		key := block.ScalarString(gv)
		g := groups[key]
		if g == nil {
			if len(groups) >= maxGroups {
				return nil, fmt.Errorf("%s: more than %d distinct %s values", pos, maxGroups, cv.group)
			}
			f, err := cv.spillFile(lineage)
			if err != nil {
				return nil, err
			}
			f.Close()
			g = &group{value: key, path: f.Name()}
			groups[key] = g
			p.groups = append(p.groups, g)
		}
		w := open[key]
		if w == nil {
			if len(order) >= maxOpenSpills {
				old := order[0]
				order = order[1:]
				if err := open[old].Flush(); err != nil {
					return nil, fmt.Errorf("group spill: %w", err)
				}
				files[old].Close()
				delete(open, old)
				delete(files, old)
			}
			f, err := os.OpenFile(g.path, os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				return nil, fmt.Errorf("group spill: %w", err)
			}
			files[key], w = f, bufio.NewWriterSize(f, 32<<10)
			open[key] = w
			order = append(order, key)
		}
		buf = jsonv.Append(buf[:0], o)
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return nil, fmt.Errorf("group spill: %w", err)
		}
		g.count++
	}
	for k, w := range open {
		if err := w.Flush(); err != nil {
			return nil, fmt.Errorf("group spill: %w", err)
		}
		files[k].Close()
		delete(open, k)
	}
	if len(p.header) == 0 && p.count > 0 && cv.writer != fmtJSON {
		return nil, fmt.Errorf("the %d record(s) have no fields: there are no columns to write", p.count)
	}
	if cv.writer == fmtAvro && p.schema == nil {
		s, names, err := inferSchema(p.header)
		if err != nil {
			return nil, err
		}
		p.schema, p.names = s, names
	}
	return p, nil
}

func (cv *converter) spillFile(lineage string) (*os.File, error) {
	return cv.spills.Create(lineage, "group-*.jsonl")
}

// EndLineage removes the lineage's group spills.
func (cv *converter) EndLineage(_ context.Context, lineageID string, _ bool) error {
	cv.spills.Release(lineageID)
	return nil
}

// Close removes every spill left.
func (cv *converter) Close() error {
	cv.spills.ReleaseAll()
	return nil
}

// write is the second pass: records from rr to w in the writer's format.
func (cv *converter) write(ctx context.Context, rr recordReader, w io.Writer, p *plan, delim rune) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var n int64
	next := func() (*jsonv.Object, string, error) {
		if n%1024 == 0 && ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		n++
		return rr.Next()
	}
	switch cv.writer {
	case fmtCSV:
		cw := csvio.NewWriter(bw, byte(delim))
		if err := cw.Write(p.header); err != nil {
			return err
		}
		row := make([]string, len(p.header))
		for {
			o, _, err := next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			for i, h := range p.header {
				v, _ := o.Get(h)
				row[i] = block.ScalarString(v)
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		return cw.Flush()
	case fmtJSON:
		bw.WriteByte('[')
		var buf []byte
		for first := true; ; first = false {
			o, _, err := next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if !first {
				bw.WriteString(",\n")
			}
			buf = jsonv.Append(buf[:0], o)
			bw.Write(buf)
		}
		bw.WriteString("]\n")
		return bw.Flush()
	}
	enc, err := ocf.NewEncoderWithSchema(p.schema, bw, ocf.WithCodec(ocf.Deflate))
	if err != nil {
		return fmt.Errorf("Avro writer: %w", err)
	}
	for {
		o, pos, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if p.names != nil {
			// Inferred schema: field names may be sanitised keys.
			m := make(map[string]any, len(p.names))
			for field, key := range p.names {
				v, _ := o.Get(key)
				if v == nil {
					m[field] = nil
					continue
				}
				m[field] = block.ScalarString(v)
			}
			if err := enc.Encode(m); err != nil {
				return fmt.Errorf("%s: %w", pos, err)
			}
			continue
		}
		v, err := toAvro(o, p.schema, "$")
		if err != nil {
			return fmt.Errorf("%s: %w", pos, err)
		}
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("%s: %w", pos, err)
		}
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("Avro writer: %w", err)
	}
	return bw.Flush()
}

// outputTypes gives each writer's file extension and MIME type.
var outputTypes = map[string][2]string{
	fmtCSV:  {".csv", "text/csv"},
	fmtJSON: {".json", "application/json"},
	fmtAvro: {".avro", "avro/binary"},
}
