// Package jsltblock holds jslt_transform: records become API payloads with a
// JSLT transformation compiled once per deployment.
package jsltblock

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
	"github.com/connectplus/connectplus/lang/jslt"
)

// QueryAttrPrefix prefixes the record attributes that carry query
// parameters to the API destination (http.query.<name>).
const QueryAttrPrefix = "http.query."

// Spec is jslt_transform.
var Spec = &block.Spec{
	Type: "jslt_transform", Label: "JSLT", Class: block.ClassExecutor, Category: "Transformation",
	LegacyTypes: []string{"transform_to_customer", "transform_to_transaction", "retro_template", "goodwill_points_issue"},
	Description: "Transforms records with a JSLT query (Schibsted JSLT). With \"Send each record separately\" true (default) the query sees one record and its result is that record's payload; false: it sees the batch as an array and must loop (`[ for (.) { … } ]`, the loop at the beginning); an array result of the same length maps element i to record i, any other result becomes one payload for the whole batch. A record whose transform raises an error fails with its input line, the field the failing call read and the JSLT message and line; the rest continue (in bulk mode the failing records are isolated and the query runs again over the others). Blank or padded numbers: number(trim(.x), null) — see docs/EXPRESSIONS.md. Query parameters and Attributes whose value names a source column are resolved per record, others are constants; attributes are visible downstream (http_write path parameters `$name` and headers), query parameters are appended to the API URL.",
	Input:       block.KindRecords, Output: block.KindRecords,
	Concurrency: 2,
	Fields: []block.Field{
		{Key: "transformation", Label: "JSLT Transformation", Type: block.TypeText, Required: true, Lang: block.LangJSLT,
			Description: "The JSLT query, e.g. { \"profiles\": [ { \"firstName\": .firstname } ] }"},
		{Key: "sendEachRecordSeparately", Label: "Send each record separately", Type: block.TypeBool, Default: "true",
			Aliases:     []string{"Send each record separately"},
			Description: "true: the query processes one record at a time (one API request per record unless the destination is bulk). false: the query receives the batch array and must contain a for loop."},
		{Key: "queryParameters", Label: "Query parameters", Type: block.TypeJSON, Advanced: true,
			Aliases:     []string{"Query parameters"},
			Description: "JSON object of name → value appended to the API URL by the destination. A value equal to a source column name is replaced per record. Do not add ? to the endpoint yourself."},
		{Key: "attributes", Label: "Attributes", Type: block.TypeJSON, Advanced: true,
			Aliases:     []string{"Attributes"},
			Description: "JSON object of name → value exposed downstream, e.g. {\"userId\": \"externalId\"} lets http_write call /v2/customers/$userId/labels. A value equal to a source column name is resolved per record."},
	},
	New: newBlock,
}

// Register adds jslt_transform to r.
func Register(r *block.Registry) { r.MustRegister(Spec) }

type kv struct{ k, v string }

type transform struct {
	name     string
	expr     *jslt.Expr
	separate bool
	query    []kv
	attrs    []kv
	// encode: the engine found that everything downstream only encodes the
	// values (block.ValueEncoder), so rows are written straight to JSON by
	// a row template where the query has that shape.
	encode bool
	// rows caches the row template of the last header seen (a file's):
	// compiling one is cheap next to a batch, so files that alternate
	// just recompile.
	rows atomic.Pointer[rowTemplate]
	// size is the last batch's encoded size, the next buffer's capacity.
	size atomic.Int64
	// outs holds output buffers (*output) the engine handed back
	// (block.Recycler): the row template's output was a quarter of the
	// flagship job's allocations.
	outs sync.Pool
}

// output is a batch's encoded values: the bytes and the RawJSON slices
// into them that the records' values box.
type output struct {
	buf  []byte
	raws []jsonv.RawJSON
}

type rowTemplate struct {
	header *block.Header
	tpl    *jslt.RowTemplate // nil: the query has no row template
}

// EncodeValues implements block.ValueEncoder.
func (t *transform) EncodeValues() { t.encode = true }

// Transient implements block.Transient: a batch is transformed and handed
// on within Process; what the block keeps (the row template of the last
// header, the last batch's size) holds nothing of a unit.
func (t *transform) Transient() bool { return true }

// template returns the row template for rows under h, or nil.
func (t *transform) template(h *block.Header) *jslt.RowTemplate {
	if c := t.rows.Load(); c != nil && c.header == h {
		return c.tpl
	}
	tpl, ok := t.expr.RowTemplate(h.Names, !t.separate)
	if !ok {
		tpl = nil
	}
	t.rows.Store(&rowTemplate{header: h, tpl: tpl})
	return tpl
}

// direct returns the row template when this batch can take the direct
// path: encoded output allowed, rows that no block has turned into values.
func (t *transform) direct(b *block.Batch) *jslt.RowTemplate {
	if !t.encode || b.Header == nil || len(b.Records) == 0 {
		return nil
	}
	for i := range b.Records {
		if b.Records[i].Value != nil {
			return nil
		}
	}
	return t.template(b.Header)
}

// encoded gives every record its slice of buf (ends[i] is where record i's
// encoding ends) as a jsonv.RawJSON value, boxed from raws (one for each
// record).
func (t *transform) encoded(b *block.Batch, start int, buf []byte, ends []int, raws []jsonv.RawJSON) {
	for i := range b.Records {
		raws[i] = jsonv.RawJSON(buf[start:ends[i]:ends[i]])
		b.Records[i].Value = jsonv.BoxRawJSON(&raws[i])
		start = ends[i]
	}
	t.size.Store(int64(len(buf)))
}

// endsPool holds the record end offsets of a batch's encoding: scratch
// space, read by encoded before Process hands the batch on.
var endsPool = sync.Pool{New: func() any { return new([]int) }}

// buffer is a batch's output buffer of bufferSize.
func (t *transform) buffer(n int) []byte {
	return make([]byte, 0, t.bufferSize(n))
}

// bufferSize is the last batch's size and a margin of 1/64 and 512 bytes
// (consecutive batches of 100 rows of the flagship data set differ by 419
// bytes at most; a larger batch grows the slice once). A margin of 1/8 put
// the flagship's 27.5 KB batches in the 32 KiB size class instead of the
// 28 KiB one.
func (t *transform) bufferSize(n int) int {
	last := int(t.size.Load())
	return max(last+last/64+512, n*64)
}

// output returns an output for a batch of n records: one the engine handed
// back when there is one large enough, else a new one. One that replaces a
// handed-back buffer too short gets a margin of 1/8 more: it is going to
// be reused for many batches, and one a few bytes short of the next batch
// would be replaced again.
func (t *transform) output(n int) *output {
	size := t.bufferSize(n)
	o, _ := t.outs.Get().(*output)
	switch {
	case o == nil:
		o = &output{buf: make([]byte, 0, size)}
	case cap(o.buf) < size:
		o.buf = make([]byte, 0, size+size/8)
	}
	if cap(o.raws) < n {
		o.raws = make([]jsonv.RawJSON, n)
	}
	o.buf, o.raws = o.buf[:0], o.raws[:n]
	return o
}

// lend hands o to u, about to be emitted with its values in o: the engine
// hands it back (to outs) once u and every unit derived from it are done
// (block.Recycler). When the engine cannot tell, o stays u's.
func (t *transform) lend(u *block.Unit, out block.Output, o *output) {
	if r, ok := out.(block.Recycler); ok {
		r.Recycle(u, func() { t.outs.Put(o) })
	}
}

func parseKV(c *block.Config, key string) ([]kv, error) {
	var m map[string]any
	if err := c.JSON(key, &m); err != nil {
		return nil, err
	}
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, block.ScalarString(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].k < out[j].k })
	return out, nil
}

func newBlock(c *block.Config, env *block.Env) (block.Block, error) {
	// The compile step compiled the query; validation ran the same step.
	x, ok := c.Compiled("transformation").(*jslt.Expr)
	if !ok {
		return nil, fmt.Errorf("transformation: the query was not compiled (build blocks from Spec.CompileConfig)")
	}
	var err error
	t := &transform{name: env.Block, expr: x, separate: c.Bool("sendEachRecordSeparately")}
	if t.query, err = parseKV(c, "queryParameters"); err != nil {
		return nil, err
	}
	if t.attrs, err = parseKV(c, "attributes"); err != nil {
		return nil, err
	}
	return t, nil
}

// resolve returns a column's value for this record when v names a column,
// else the constant v.
func resolve(b *block.Batch, i int, v string) string {
	if j := b.Header.Index(v); j >= 0 && j < len(b.Records[i].Cols) {
		return b.Records[i].Cols[j]
	}
	return v
}

func (t *transform) setAttrs(b *block.Batch, i int) {
	if len(t.attrs) == 0 && len(t.query) == 0 {
		return
	}
	r := &b.Records[i]
	if r.Attrs == nil {
		r.Attrs = make(block.Attributes, len(t.attrs)+len(t.query))
	}
	for _, a := range t.attrs {
		r.Attrs[a.k] = resolve(b, i, a.v)
	}
	for _, q := range t.query {
		r.Attrs[QueryAttrPrefix+q.k] = resolve(b, i, q.v)
	}
}

func errMessage(err error) string {
	var je *jslt.Error
	if errors.As(err, &je) {
		return je.Error()
	}
	return "jslt: " + err.Error()
}

// recordMessage is a record's failure reason: the input line, the field
// the failing call read (when it reads one directly) and the JSLT error,
// e.g. "input line 5, field bill_amount: jslt: line 5, column 19:
// number(abc) failed: not a number".
func (t *transform) recordMessage(r *block.Record, err error) string {
	where := "record " + strconv.FormatInt(r.Seq, 10)
	if r.Line > 0 {
		where = "input line " + strconv.FormatInt(r.Line, 10)
	}
	var je *jslt.Error
	if errors.As(err, &je) && je.Module == "" && je.Line > 0 {
		if field := callField(t.expr.String(), je.Line, je.Column); field != "" {
			where += ", field " + field
		}
	}
	return where + ": " + errMessage(err)
}

// callField returns the input field read by the call at line:col of query
// when its first argument is a plain field access: number(.bill_amount)
// gives bill_amount. Anything else gives "".
func callField(query string, line, col int) string {
	off := 0
	for l := 1; l < line; l++ {
		nl := strings.IndexByte(query[off:], '\n')
		if nl < 0 {
			return ""
		}
		off += nl + 1
	}
	off += col - 1
	if off < 0 || off >= len(query) {
		return ""
	}
	rest := query[off:]
	i := 0
	for i < len(rest) && (isIdent(rest[i]) || rest[i] == ':') {
		i++
	}
	if i == 0 || i >= len(rest) || rest[i] != '(' {
		return ""
	}
	arg := strings.TrimLeft(rest[i+1:], " \t\r\n")
	if !strings.HasPrefix(arg, ".") {
		return ""
	}
	j := 1
	for j < len(arg) && isIdent(arg[j]) {
		j++
	}
	if j == 1 {
		return ""
	}
	if tail := strings.TrimLeft(arg[j:], " \t\r\n"); tail == "" || (tail[0] != ',' && tail[0] != ')') {
		return ""
	}
	return arg[1:j]
}

func isIdent(c byte) bool {
	return c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (t *transform) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	b := u.Batch
	for i := range b.Records {
		t.setAttrs(b, i)
	}
	if !t.separate {
		if tpl := t.direct(b); tpl != nil {
			o := t.output(len(b.Records))
			ep := endsPool.Get().(*[]int)
			buf, ends, err := tpl.AppendRows(o.buf, len(b.Records), func(i int) ([]string, bool) {
				r := &b.Records[i]
				// Raw is the columns joined by the delimiter: when it needs no
				// escaping, neither does any column.
				return r.Cols, r.Raw != "" && jsonv.Plain(r.Raw)
			}, (*ep)[:0])
			o.buf = buf
			if err == nil {
				t.encoded(b, 0, buf, ends, o.raws)
			}
			*ep = ends[:0]
			endsPool.Put(ep)
			if err == nil {
				t.lend(u, out, o)
				return t.emitBulk(ctx, u, out, nil, true)
			}
			t.outs.Put(o) // no record's value is in it
			// A record fails: the general path isolates it with its message.
		}
		return t.bulk(ctx, u, out)
	}
	var failed []block.Record
	keep := b.Records[:0:0]
	if tpl := t.direct(b); tpl != nil {
		return t.separateDirect(ctx, u, out, tpl)
	}
	b.Values()
	for i := range b.Records {
		in := b.Records[i].Value
		res, err := t.expr.Apply(in, nil)
		r := b.Records[i]
		if err != nil {
			r.Fail(t.name, 0, t.recordMessage(&r, err))
			failed = append(failed, r)
			continue
		}
		r.Value = res
		keep = append(keep, r)
	}
	return t.emitSeparate(ctx, u, out, keep, failed)
}

// separateDirect is the per-record path with a row template: each record
// is written straight to JSON; a record the query fails on gets the general
// evaluator's result and message.
func (t *transform) separateDirect(ctx context.Context, u *block.Unit, out block.Output, tpl *jslt.RowTemplate) error {
	b := u.Batch
	n := len(b.Records)
	buf := t.buffer(n)
	ends := make([]int, n)
	var bad []bool // records the query failed on; nil: none
	var failed []block.Record
	for i := range b.Records {
		var err error
		if buf, err = tpl.AppendRow(buf, b.Records[i].Cols); err == nil {
			ends[i] = len(buf)
			continue
		}
		ends[i] = len(buf) // AppendRow wrote nothing
		res, aerr := t.expr.Apply(b.Value(i), nil)
		if aerr == nil {
			// Never expected: the template fails only where Apply does.
			b.Records[i].Value = res
			continue
		}
		if bad == nil {
			bad = make([]bool, n)
		}
		bad[i] = true
		r := b.Records[i]
		r.Fail(t.name, 0, t.recordMessage(&r, aerr))
		failed = append(failed, r)
	}
	raws := make([]jsonv.RawJSON, n)
	keep := b.Records[:0:0]
	if bad == nil {
		keep = b.Records
	}
	start := 0
	for i := range b.Records {
		end := ends[i]
		if bad == nil || !bad[i] {
			if b.Records[i].Value == nil {
				raws[i] = jsonv.RawJSON(buf[start:end:end])
				b.Records[i].Value = jsonv.BoxRawJSON(&raws[i])
			}
			if bad != nil {
				keep = append(keep, b.Records[i])
			}
		}
		start = end
	}
	t.size.Store(int64(len(buf)))
	return t.emitSeparate(ctx, u, out, keep, failed)
}

func (t *transform) emitSeparate(ctx context.Context, u *block.Unit, out block.Output, keep, failed []block.Record) error {
	b := u.Batch
	if len(failed) == 0 {
		b.Records = keep
		return out.Emit(ctx, block.RelSuccess, u)
	}
	if len(keep) > 0 {
		ok := u.Derive()
		ok.Batch = b.With(keep)
		if err := out.Emit(ctx, block.RelSuccess, ok); err != nil {
			return err
		}
	}
	bad := u.Derive()
	bad.Batch = b.With(failed)
	return out.Emit(ctx, block.RelFailure, bad)
}

// bulk applies the query to the whole batch as one array. When that
// fails, the records that fail on their own are isolated (failed with their
// line, field and message) and the query runs again over the others, so
// one bad value does not fail the good records of its batch.
func (t *transform) bulk(ctx context.Context, u *block.Unit, out block.Output) error {
	b := u.Batch
	b.Values()
	in := make([]any, len(b.Records))
	for i := range b.Records {
		in[i] = b.Records[i].Value
	}
	res, err := t.expr.Apply(in, nil)
	if err != nil {
		var keep, failed []block.Record
		for _, r := range b.Records {
			if _, rerr := t.expr.Apply([]any{r.Value}, nil); rerr != nil {
				r.Fail(t.name, 0, t.recordMessage(&r, rerr))
				failed = append(failed, r)
				continue
			}
			keep = append(keep, r)
		}
		if len(failed) == 0 {
			// Only the batch as a whole fails (an aggregate, a size check):
			// no record is to blame.
			return errors.New(errMessage(err))
		}
		bad := u.Derive()
		bad.Batch = b.With(failed)
		if err := out.Emit(ctx, block.RelFailure, bad); err != nil {
			return err
		}
		if len(keep) == 0 {
			return nil
		}
		good := u.Derive()
		good.Batch = b.With(keep)
		return t.bulk(ctx, good, out)
	}
	return t.emitBulk(ctx, u, out, res, false)
}

// emitBulk hands on a bulk result: element i of an array result of the
// batch's length is record i's value; any other result is one payload for
// the whole batch. encoded: the row template already gave every record its
// element.
func (t *transform) emitBulk(ctx context.Context, u *block.Unit, out block.Output, res any, encoded bool) error {
	b := u.Batch
	if arr, ok := res.([]any); !encoded && ok && len(arr) == len(b.Records) {
		for i := range b.Records {
			b.Records[i].Value = arr[i]
		}
	} else if !encoded {
		// One payload for the whole batch: the first record carries it and
		// the others ride along as members, sharing its outcome.
		first := b.Records[0]
		first.Value = res
		for _, r := range b.Records[1:] {
			nested := r.Members
			r.Members = nil
			first.Members = append(first.Members, r)
			first.Members = append(first.Members, nested...)
		}
		b.Records = []block.Record{first}
	}
	// Attributes of the first record are also the unit's, for endpoints and
	// headers of the single bulk request.
	for k, v := range b.Records[0].Attrs {
		u.Attrs[k] = v
	}
	return out.Emit(ctx, block.RelSuccess, u)
}
