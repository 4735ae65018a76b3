package block

import (
	"context"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/connectplus/connectplus/jsonv"
)

// Well-known attribute names.
const (
	AttrFilename    = "filename"      // the source file name, e.g. for ${filename}
	AttrPath        = "path"          // the directory the file came from
	AttrAbsPath     = "absolute.path" // full path on the source
	AttrFileSize    = "file.size"
	AttrLineageID   = "lineage.id"
	AttrRequestID   = "request.id"
	AttrHeaderValue = "header_value"
	AttrMimeType    = "mime.type"
)

// Relations every block has.
const (
	RelSuccess  = "success"
	RelFailure  = "failure"
	RelFiltered = "filtered"
)

// Attributes are a unit's string attributes (NiFi flow-file attributes).
type Attributes map[string]string

// Clone copies the attributes (units share nothing mutable).
func (a Attributes) Clone() Attributes {
	c := make(Attributes, len(a)+4)
	for k, v := range a {
		c[k] = v
	}
	return c
}

// Get implements an attribute lookup for expression languages.
func (a Attributes) Get(k string) (string, bool) {
	v, ok := a[k]
	return v, ok
}

// Range calls f for every attribute (NiFi's multi-attribute functions).
func (a Attributes) Range(f func(k, v string) bool) {
	for k, v := range a {
		if !f(k, v) {
			return
		}
	}
}

// Unit is what flows between blocks: attributes plus content, which is either
// a file stream or a batch of records.
type Unit struct {
	Attrs   Attributes
	File    *File
	Batch   *Batch
	Lineage Lineage // set by the engine
}

// Kind tells the content kind of the unit.
func (u *Unit) Kind() Kind {
	if u.Batch != nil {
		return KindRecords
	}
	return KindFile
}

// Derive returns a new unit of the same lineage with a copy of the
// attributes and no content.
func (u *Unit) Derive() *Unit {
	return &Unit{Attrs: u.Attrs.Clone(), Lineage: u.Lineage}
}

// File is file content: a stream that can be (re)opened. Content is never
// held whole in memory; transforming blocks wrap Open of their input (lazy
// streaming) or spill to a temp file.
type File struct {
	Name    string
	Size    int64 // -1 when unknown
	ModTime time.Time
	open    func(ctx context.Context) (io.ReadCloser, error)
}

// NewFile makes a File whose bytes come from open.
func NewFile(name string, size int64, open func(ctx context.Context) (io.ReadCloser, error)) *File {
	return &File{Name: name, Size: size, open: open}
}

// LocalFile makes a File for a path on the local disk.
func LocalFile(name, path string) (*File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	f := NewFile(name, st.Size(), func(context.Context) (io.ReadCloser, error) { return os.Open(path) })
	f.ModTime = st.ModTime()
	return f, nil
}

// Open returns a fresh reader over the content.
func (f *File) Open(ctx context.Context) (io.ReadCloser, error) { return f.open(ctx) }

// Header is the column list shared by every record of a batch that came from
// a delimited file. JSON keys are pre-encoded once per file, because encoding
// them per row costs as much as the rest of the conversion.
type Header struct {
	Names []string
	keys  [][]byte // `"name":`, with a leading comma after the first column
	index map[string]int
}

// NewHeader builds a header.
func NewHeader(names []string) *Header {
	h := &Header{Names: names, keys: make([][]byte, len(names)), index: make(map[string]int, len(names))}
	for i, n := range names {
		var k []byte
		if i > 0 {
			k = append(k, ',')
		}
		k = jsonv.AppendString(k, n)
		h.keys[i] = append(k, ':')
		if _, dup := h.index[n]; !dup {
			h.index[n] = i
		}
	}
	return h
}

// Index returns the position of column name, or -1.
func (h *Header) Index(name string) int {
	if h == nil {
		return -1
	}
	if i, ok := h.index[name]; ok {
		return i
	}
	return -1
}

// Status is the terminal state of a record.
type Status uint8

const (
	Pending   Status = iota // still travelling
	Delivered               // accepted by a destination (or reached the end of the graph)
	Filtered                // dropped by a filter condition
	Failed                  // failed, with a reason
)

func (s Status) String() string {
	return [...]string{"pending", "delivered", "filtered", "failed"}[s]
}

// Outcome is what happened to a record; it feeds the result file.
type Outcome struct {
	Status   Status
	Code     int    // status_code: HTTP status, or a block's own code
	Message  string // error_message
	EntityID string // entity_id
	// Extra holds other parsePathMap keys (name, value) in config order.
	Extra [][2]string
	// RetryExhausted marks failures after the last retry.
	RetryExhausted bool
	Block          string // block that decided the outcome
}

// Record is one business record. It carries its source columns (for the
// result file) and, once a block has built or transformed it, a JSON value.
type Record struct {
	Seq  int64    // 1-based ordinal within the lineage, assigned where the file became records
	Line int64    // source line number where the record starts (header is line 1)
	Cols []string // original source columns, aligned with Batch.Header
	// Raw, when set, is the source line exactly as the file had it, equal to
	// Cols joined by the file's delimiter: the result file copies it instead
	// of re-encoding every column.
	Raw string
	// Value is the record's JSON value; nil means "the row as an object built
	// from Header and Cols" (see Batch.Value).
	Value any
	// Attrs are per-record attributes (header_value, JSLT Attributes).
	Attrs Attributes
	// Members are further source rows merged into this record (groupBy);
	// they share its outcome in the result file.
	Members []Record
	Outcome Outcome
}

// Fail marks r failed.
func (r *Record) Fail(block string, code int, msg string) {
	r.Outcome = Outcome{Status: Failed, Code: code, Message: msg, Block: block}
}

// Batch is a group of records (one convert_csv_to_json group, one API request).
type Batch struct {
	Header  *Header
	Records []Record
	// HeaderValueCol, when > 0, names the column (1-based index into each
	// record's Cols) whose value is the records' header_value attribute.
	// It spares a map per record for the most common filter input.
	HeaderValueCol int
}

// Value returns record i's JSON value, building it from the header and
// columns when no block has set one. The built object is cached.
func (b *Batch) Value(i int) any {
	r := &b.Records[i]
	if r.Value == nil && b.Header != nil {
		r.Value = b.rowObject(r.Cols)
	}
	r.decode()
	return r.Value
}

// decode turns a pre-encoded value (jsonv.RawJSON, see ValueEncoder) into
// the value tree it stands for, for the readers that look inside values.
// The encoding is jsonv.Append's, so the tree encodes back to the same
// bytes; a value that does not parse (never produced by a ValueEncoder) is
// left as it is.
func (r *Record) decode() {
	raw, ok := r.Value.(jsonv.RawJSON)
	if !ok {
		return
	}
	if v, err := jsonv.Parse(raw); err == nil {
		r.Value = v
	}
}

// Values builds every record's value at once: the objects and their members
// come from two allocations for the whole batch instead of two per record.
func (b *Batch) Values() {
	if b.Header == nil {
		return
	}
	n, cols := 0, len(b.Header.Names)
	for i := range b.Records {
		if b.Records[i].Value == nil {
			n++
		}
	}
	if n == 0 {
		return
	}
	objs := make([]jsonv.Object, n)
	members := make([]jsonv.Member, 0, n*cols)
	k := 0
	for i := range b.Records {
		r := &b.Records[i]
		if r.Value != nil {
			continue
		}
		start := len(members)
		for j := range r.Cols {
			if j < cols {
				// The row's columns are immutable once parsed, so the
				// values can share them instead of copying each.
				members = append(members, jsonv.Member{Key: b.Header.Names[j], Value: jsonv.BoxString(&r.Cols[j])})
			}
		}
		o := &objs[k]
		k++
		// Capacity is clipped so a block adding keys copies instead of
		// overwriting the next record's members.
		o.Members = members[start:len(members):len(members)]
		r.Value = o
	}
}

func (b *Batch) rowObject(cols []string) *jsonv.Object {
	o := jsonv.NewObject(len(cols))
	for j, c := range cols {
		if j < len(b.Header.Names) {
			o.Members = append(o.Members, jsonv.Member{Key: b.Header.Names[j], Value: c})
		}
	}
	return o
}

// AppendRecordJSON appends record i as JSON. Rows that no block has turned
// into values are encoded straight from the columns with pre-encoded keys.
func (b *Batch) AppendRecordJSON(dst []byte, i int) []byte {
	r := &b.Records[i]
	if r.Value != nil || b.Header == nil {
		return jsonv.Append(dst, r.Value)
	}
	dst = append(dst, '{')
	// A source line with nothing to escape (checked once, a word at a
	// time) has columns that are copied as they are: the common case
	// skips scanning every column for escapes.
	plain := r.Raw != "" && jsonv.Plain(r.Raw)
	for j, c := range r.Cols {
		if j >= len(b.Header.keys) {
			break
		}
		dst = append(dst, b.Header.keys[j]...)
		if plain {
			dst = append(dst, '"')
			dst = append(dst, c...)
			dst = append(dst, '"')
		} else {
			dst = jsonv.AppendString(dst, c)
		}
	}
	return append(dst, '}')
}

// AppendJSON appends the whole batch as a JSON array.
func (b *Batch) AppendJSON(dst []byte) []byte {
	dst = append(dst, '[')
	for i := range b.Records {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = b.AppendRecordJSON(dst, i)
	}
	return append(dst, ']')
}

// RecordLookup resolves names for expression evaluation over one record:
// per-record attributes, then the record's fields, then the unit attributes.
type RecordLookup struct {
	Unit  *Unit
	Batch *Batch
	Index int
}

// Get implements the NiFi EL attribute lookup.
func (l RecordLookup) Get(name string) (string, bool) {
	r := &l.Batch.Records[l.Index]
	if v, ok := r.Attrs[name]; ok {
		return v, true
	}
	if c := l.Batch.HeaderValueCol; c > 0 && name == AttrHeaderValue && c <= len(r.Cols) {
		return r.Cols[c-1], true
	}
	r.decode()
	if r.Value == nil && l.Batch.Header != nil {
		if i := l.Batch.Header.Index(name); i >= 0 && i < len(r.Cols) {
			return r.Cols[i], true
		}
	} else if o, ok := r.Value.(*jsonv.Object); ok {
		if v, ok := o.Get(name); ok {
			return ScalarString(v), true
		}
	}
	if l.Unit != nil {
		if v, ok := l.Unit.Attrs[name]; ok {
			return v, true
		}
	}
	return "", false
}

// Range calls f for every name visible to the lookup (for NiFi's
// multi-attribute functions).
func (l RecordLookup) Range(f func(k, v string) bool) {
	seen := map[string]bool{}
	r := &l.Batch.Records[l.Index]
	r.decode()
	for k, v := range r.Attrs {
		seen[k] = true
		if !f(k, v) {
			return
		}
	}
	if r.Value == nil && l.Batch.Header != nil {
		for i, n := range l.Batch.Header.Names {
			if !seen[n] && i < len(r.Cols) {
				seen[n] = true
				if !f(n, r.Cols[i]) {
					return
				}
			}
		}
	} else if o, ok := r.Value.(*jsonv.Object); ok {
		for _, m := range o.Members {
			if !seen[m.Key] {
				seen[m.Key] = true
				if !f(m.Key, ScalarString(m.Value)) {
					return
				}
			}
		}
	}
	if l.Unit != nil {
		for k, v := range l.Unit.Attrs {
			if !seen[k] && !f(k, v) {
				return
			}
		}
	}
}

// ScalarString renders a JSON value as attribute text: strings as is,
// numbers and booleans as JSON, containers as compact JSON, null as "".
func ScalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return string(jsonv.Marshal(v))
}

// With returns a batch of the same shape (header, header_value column)
// holding records: blocks that split a batch keep what describes it.
func (b *Batch) With(records []Record) *Batch {
	return &Batch{Header: b.Header, Records: records, HeaderValueCol: b.HeaderValueCol}
}
