package csvjson

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/format/csvio"
	"github.com/connectplus/connectplus/format/extsort"
	"github.com/connectplus/connectplus/jsonv"
)

const (
	// failBatch bounds how many failed rows wait before they are emitted.
	failBatch = 1000
	// maxGroupRows bounds one group's rows in memory. A larger group (a
	// wrong Group By column, typically) continues as another record with
	// the same key rather than exhausting memory.
	maxGroupRows = 100_000
	// groupArray names the array holding a group's rows.
	groupArray = "records"
	// aheadBatches is how many batches the parser may run ahead of Emit.
	aheadBatches = 8
	// freeArrays bounds the record arrays waiting for reuse: enough for
	// the batches a flow keeps in flight (queues of a few units per
	// block, the parser's lead).
	freeArrays = 64
)

// Block is a configured convert_csv_to_json.
type Block struct {
	env         *block.Env
	delim       rune // 0: from the unit's file.delimiter, else ','
	encoding    string
	groupSize   int
	groupBy     []string
	sortHeaders []string
	alpha       bool
	split       bool
	headerValue string
	attrs       [][2]string // constant unit attributes
	memLimit    int64
}

func newBlock(c *block.Config, env *block.Env) (block.Block, error) {
	b := &Block{
		env:         env,
		encoding:    c.String("encoding"),
		groupSize:   c.Int("groupSize", 1),
		groupBy:     c.List("groupBy"),
		sortHeaders: c.List("sortHeaders"),
		alpha:       c.Bool("alphabeticalSort"),
		headerValue: strings.TrimSpace(c.String("header_value")),
	}
	b.groupSize = min(max(b.groupSize, 1), 1000)
	if d := c.String("File Delimiter"); d != "" {
		r, err := parseDelimiter(d)
		if err != nil {
			return nil, err
		}
		b.delim = r
	}
	perRecord, err := splitMode(c.String("JsonPath Expression"))
	if err != nil {
		return nil, err
	}
	b.split = c.Bool("split response") && perRecord
	for _, a := range [][2]string{
		{"attribution_type", AttrAttributionType}, {"attribution_code", AttrAttributionCode},
		{"child_till_code", "child_till_code"}, {"child_org_id", "child_org_id"},
		{"rewardId", "rewardId"}, {"brandId", "brandId"}, {"lineNos", "lineNos"},
	} {
		if v := strings.TrimSpace(c.String(a[0])); v != "" {
			b.attrs = append(b.attrs, [2]string{a[1], v})
		}
	}
	b.memLimit = extsort.DefaultMemLimit
	if env != nil {
		if v, err := strconv.ParseInt(env.Options[OptionSortMemBytes], 10, 64); err == nil && v > 0 {
			b.memLimit = v
		}
	}
	return b, nil
}

// item is one unit to emit, produced by the parsing goroutine.
type item struct {
	rel   string
	batch *block.Batch
	err   error
	// array, when set, is the batch's record array, the parser's to reuse
	// once the engine hands it back (block.Recycler, parser.free).
	array []block.Record
	// slabs are the field slabs the batch's Cols are in, held until the
	// engine hands the batch back (parser.slabs).
	slabs []*csvio.Slab
}

// countingReader counts bytes for progress reports (read by another goroutine).
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Process converts one file unit.
func (b *Block) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	if u.File == nil {
		return errors.New("convert_csv_to_json needs a file, got records (is a converter wired twice?)")
	}
	delim := b.delim
	if delim == 0 {
		delim = ','
		if d := u.Attrs[AttrFileDelimiter]; d != "" {
			r, err := parseDelimiter(d)
			if err != nil {
				return fmt.Errorf("source %s: %w", AttrFileDelimiter, err)
			}
			delim = r
		}
	}
	rc, err := u.File.Open(ctx)
	if err != nil {
		return fmt.Errorf("open %s: %w", u.File.Name, err)
	}
	defer rc.Close()
	cr := &countingReader{r: rc}
	rd := csvio.NewReader(cr, csvio.Options{Delimiter: delim, TrimBOM: true, Encoding: b.encoding})

	p, err := b.prepare(rd, u)
	if err != nil {
		return err
	}
	// The engine writes the result file with the source's delimiter (a
	// single character, else a comma): raw lines are only reusable when
	// this file was split with the same one.
	resultDelim := ','
	if d := u.Attrs[AttrFileDelimiter]; len(d) == 1 {
		resultDelim = rune(d[0])
	}
	p.rawOK = delim == resultDelim
	// Field slabs are reused when every batch comes back (block.Recycler)
	// and the result spooler keeps no batch's Cols slices: rows have their
	// Raw line, in the file's order, one batch per unit.
	if r, ok := out.(block.Recycler); ok && r.Recycles() && p.rawOK && p.perm == nil && len(p.keyCols) == 0 && !b.split {
		p.slabs = true
		rd.ReuseSlabs()
	}

	pctx, cancel := context.WithCancel(ctx)
	ch := make(chan item, aheadBatches)
	done := make(chan struct{})
	// Arrays come back from any goroutine, possibly after Process returned
	// (the last batches are still downstream): a send that finds the list
	// full, or nobody reading any more, leaves the array to the collector.
	p.free = make(chan []block.Record, freeArrays)
	recycle := func(nu *block.Unit, array []block.Record, slabs []*csvio.Slab) {
		r, ok := out.(block.Recycler)
		if !ok {
			return
		}
		r.Recycle(nu, func() {
			for _, s := range slabs {
				s.Release()
			}
			// Every slot, to its capacity (a block may have appended in
			// place): the records' values, attributes and outcomes go, and
			// the parser fills slots assuming them zero (nextInto).
			clear(array[:cap(array)])
			select {
			case p.free <- array[:0]:
			default:
			}
		})
	}
	go func() {
		defer close(done)
		defer close(ch)
		p.ctx, p.ch = pctx, ch
		if err := p.run(); err != nil {
			p.send(item{err: err})
		}
	}()
	stop := func() {
		cancel()
		for range ch {
		}
		<-done
	}

	lineage := u.LineageID()
	var reported int64
	progress := func() {
		if n := cr.n.Load(); n > reported {
			out.Progress(n - reported)
			reported = n
		}
	}
	index := 0
	emit := func(rel string, batch *block.Batch, array []block.Record, slabs []*csvio.Slab) error {
		nu := u.Derive()
		nu.Attrs[block.AttrRequestID] = lineage + "-" + strconv.Itoa(index+1)
		nu.Attrs[AttrFragmentIndex] = strconv.Itoa(index)
		nu.Attrs[AttrRecordCount] = strconv.Itoa(len(batch.Records))
		nu.Attrs[block.AttrMimeType] = "application/json"
		for _, a := range b.attrs {
			nu.Attrs[a[0]] = a[1]
		}
		nu.Batch = batch
		index++
		if array != nil {
			recycle(nu, array, slabs)
		}
		return out.Emit(ctx, rel, nu)
	}
	for it := range ch {
		if it.err != nil {
			stop()
			return it.err
		}
		progress()
		if b.split && it.rel == block.RelSuccess && len(it.batch.Records) > 1 {
			for i := range it.batch.Records {
				one := &block.Batch{Header: it.batch.Header, Records: it.batch.Records[i : i+1 : i+1], HeaderValueCol: it.batch.HeaderValueCol}
				if err := emit(it.rel, one, nil, nil); err != nil {
					stop()
					return err
				}
			}
			continue
		}
		if err := emit(it.rel, it.batch, it.array, it.slabs); err != nil {
			stop()
			return err
		}
	}
	<-done
	cancel()
	if err := ctx.Err(); err != nil {
		return err // stopped: the parser gave up without reaching the end
	}
	progress()
	return nil
}

// parser turns rows into batches on its own goroutine.
type parser struct {
	b       *Block
	rd      *csvio.Reader
	lineage block.Lineage
	ncols   int
	perm    []int // output position -> source column, nil for identity
	// rawOK: the source line can stand for the record in the result file
	// (same delimiter as the file the engine reports on).
	rawOK   bool
	header  *block.Header
	hv      int   // header_value column (output position), -1 if none
	keyCols []int // sort key columns (output positions)
	grpCols []int // group columns (output positions)

	ctx context.Context
	ch  chan<- item
	// free gets the record arrays of batches the engine is done with
	// (block.Recycler): the streaming path fills them again instead of
	// allocating a 20 KB array per batch of 100.
	free chan []block.Record
	// slabs: the reader reuses its field slabs (csvio.Reader.ReuseSlabs),
	// so a record's Cols slice is only valid while its slab is held. The
	// streaming path holds the slabs of each batch (held) until the engine
	// is done with the batch; Cols slices that outlive their unit — those
	// of failed rows and of rows without Raw, which the result spooler
	// keeps — are copied out of the slab instead. rowSlab is the slab the
	// last row's Cols are in (nil: copied).
	slabs   bool
	rowSlab *csvio.Slab
	held    []*csvio.Slab

	seq     int64
	fails   []block.Record
	scratch []string
}

// prepare reads and checks the header and resolves the configured columns.
func (b *Block) prepare(rd *csvio.Reader, u *block.Unit) (*parser, error) {
	row, err := rd.Read()
	if err == io.EOF {
		return nil, errors.New("the file is empty: no header row")
	}
	// A zip archive read as text fails as "invalid UTF-8" or as garbage
	// rows: say what it is instead of blaming the encoding.
	if name := u.Attrs[block.AttrFilename]; (err != nil && strings.EqualFold(path.Ext(name), ".zip")) || (err == nil && len(row.Fields) > 0 && strings.HasPrefix(row.Fields[0], "PK\x03\x04")) {
		return nil, fmt.Errorf("%s is a zip archive, not CSV: set Unzip Files (unzipFiles: true) on the source block", name)
	}
	if err != nil {
		return nil, fmt.Errorf("header row: %w", err)
	}
	names := make([]string, len(row.Fields))
	seen := make(map[string]int, len(names))
	for i, f := range row.Fields {
		n := strings.TrimSpace(strings.TrimPrefix(f, "\uFEFF"))
		if n == "" {
			return nil, fmt.Errorf("header row: column %d has no name", i+1)
		}
		if j, dup := seen[n]; dup {
			return nil, fmt.Errorf("header row: duplicate column %q (columns %d and %d)", n, j+1, i+1)
		}
		seen[n] = i
		names[i] = n
	}
	p := &parser{b: b, rd: rd, lineage: u.Lineage, ncols: len(names), hv: -1}

	// Output column order: sortHeaders first (in list order), then the file's
	// order; alphabeticalSort orders every key alphabetically instead.
	order := make([]int, 0, len(names))
	if b.alpha {
		for i := range names {
			order = append(order, i)
		}
		sort.SliceStable(order, func(x, y int) bool { return names[order[x]] < names[order[y]] })
	} else {
		used := make([]bool, len(names))
		for _, s := range b.sortHeaders {
			if i, ok := seen[s]; ok {
				order = append(order, i)
				used[i] = true
			}
		}
		for i := range names {
			if !used[i] {
				order = append(order, i)
			}
		}
	}
	outNames := make([]string, len(names))
	identity := true
	for pos, src := range order {
		outNames[pos] = names[src]
		identity = identity && pos == src
	}
	if !identity {
		p.perm = order
	}
	p.header = block.NewHeader(outNames)

	pos := func(field, col string) (int, error) {
		i := p.header.Index(col)
		if i < 0 {
			return 0, fmt.Errorf("%s: column %q is not in the file's header (%s)", field, col, strings.Join(names, ", "))
		}
		return i, nil
	}
	for _, g := range b.groupBy {
		i, err := pos("groupBy", g)
		if err != nil {
			return nil, err
		}
		p.grpCols = append(p.grpCols, i)
		p.keyCols = append(p.keyCols, i)
	}
	for _, s := range b.sortHeaders {
		i, err := pos("sortHeaders", s)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(p.keyCols, i) {
			p.keyCols = append(p.keyCols, i)
		}
	}
	if b.headerValue != "" {
		i, err := pos("header_value", b.headerValue)
		if err != nil {
			return nil, err
		}
		p.hv = i
	}
	return p, nil
}

// send hands an item to the emitting goroutine; false when stopped.
func (p *parser) send(it item) bool {
	select {
	case p.ch <- it:
		return true
	case <-p.ctx.Done():
		return false
	}
}

var errStopped = errors.New("stopped")

func (p *parser) run() error {
	var err error
	if len(p.keyCols) > 0 {
		err = p.runSorted()
	} else {
		err = p.runStreaming()
	}
	if errors.Is(err, errStopped) {
		return nil
	}
	return err
}

// next returns the next good row as a record (ok), or false at the end.
func (p *parser) next() (block.Record, bool, error) {
	var r block.Record
	ok, err := p.nextInto(&r)
	return r, ok, err
}

// nextInto sets the next good row's Seq, Line, Cols and Raw in *rec (ok),
// leaving its other fields alone, or reports false at the end: the
// streaming path fills its batch's slots in place rather than copying each
// record twice. Bad rows become failed records; rows already acknowledged
// before a restart are skipped but keep their sequence number.
func (p *parser) nextInto(rec *block.Record) (bool, error) {
	for {
		row, err := p.rd.Read()
		if err == io.EOF {
			return false, nil
		}
		// A type assertion, not errors.As: taking &re would make every
		// call allocate (the reader returns *RecordError unwrapped).
		if re, ok := err.(*csvio.RecordError); ok {
			p.seq++
			if !p.acked(p.seq) {
				r := block.Record{Seq: p.seq, Line: re.StartLine, Cols: []string{re.Raw}}
				r.Fail(p.b.name(), CodeBadRow, re.Error())
				if err := p.fail(r); err != nil {
					return false, err
				}
			}
			continue
		}
		if err != nil {
			return false, fmt.Errorf("line %d: %w", row.Line, err)
		}
		p.seq++
		if p.acked(p.seq) {
			continue
		}
		if len(row.Fields) != p.ncols {
			r := block.Record{Seq: p.seq, Line: row.Line, Cols: row.Fields}
			if p.slabs {
				r.Cols = slices.Clone(row.Fields) // kept by the spooler (no Raw)
			}
			r.Fail(p.b.name(), CodeBadRow, fmt.Sprintf("line %d: expected %d fields, found %d", row.Line, p.ncols, len(row.Fields)))
			if err := p.fail(r); err != nil {
				return false, err
			}
			continue
		}
		cols := row.Fields
		if p.perm != nil {
			// Reorder in place: the fields are this row's own.
			p.scratch = append(p.scratch[:0], cols...)
			for i, src := range p.perm {
				cols[i] = p.scratch[src]
			}
		}
		rec.Seq, rec.Line, rec.Cols = p.seq, row.Line, cols
		if p.perm == nil && p.rawOK {
			rec.Raw = row.Raw
		}
		if p.slabs {
			p.rowSlab = p.rd.Slab()
			if rec.Raw == "" {
				// Quoted fields: the spooler keeps Cols, past the batch.
				rec.Cols, p.rowSlab = slices.Clone(cols), nil
			}
		}
		return true, nil
	}
}

func (p *parser) acked(seq int64) bool { return p.lineage != nil && p.lineage.Acked(seq) }

func (p *parser) fail(r block.Record) error {
	p.fails = append(p.fails, r)
	if len(p.fails) >= failBatch {
		return p.flushFails()
	}
	return nil
}

func (p *parser) flushFails() error {
	if len(p.fails) == 0 {
		return nil
	}
	if !p.send(item{rel: block.RelFailure, batch: &block.Batch{Header: p.header, Records: p.fails}}) {
		return errStopped
	}
	p.fails = nil
	return nil
}

// flush emits a batch of good records, after the failures that precede it.
func (p *parser) flush(recs []block.Record) error {
	return p.flushArray(recs, false)
}

// flushArray is flush; reuse: recs is an array of the streaming path's,
// to be handed back for reuse when the batch is done.
func (p *parser) flushArray(recs []block.Record, reuse bool) error {
	if err := p.flushFails(); err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	it := item{rel: block.RelSuccess, batch: &block.Batch{Header: p.header, Records: recs, HeaderValueCol: p.hv + 1}}
	if reuse {
		it.array, it.slabs = recs, p.held
		p.held = nil
	}
	if !p.send(it) {
		return errStopped
	}
	return nil
}

func (p *parser) setHeaderValue(r *block.Record) {
	if p.hv >= 0 {
		r.Attrs = block.Attributes{block.AttrHeaderValue: r.Cols[p.hv]}
	}
}

// runStreaming emits rows in file order, groupSize per batch.
func (p *parser) runStreaming() error {
	n := p.b.groupSize
	cur := p.array(n)
	for {
		// header_value comes from the batch's HeaderValueCol here: no map
		// per record on the streaming path.
		cur = cur[:len(cur)+1]
		ok, err := p.nextInto(&cur[len(cur)-1])
		if err != nil {
			return err
		}
		if !ok {
			cur = cur[:len(cur)-1]
			break
		}
		if s := p.rowSlab; s != nil && (len(p.held) == 0 || p.held[len(p.held)-1] != s) {
			s.Hold()
			p.held = append(p.held, s)
		}
		if len(cur) == n {
			if err := p.flushArray(cur, true); err != nil {
				return err
			}
			cur = p.array(n)
		}
	}
	return p.flushArray(cur, true)
}

// array returns an empty record array for a batch of n: one the engine
// handed back (cleared), else a new one.
func (p *parser) array(n int) []block.Record {
	select {
	case a := <-p.free:
		if cap(a) >= n {
			return a
		}
	default:
	}
	return make([]block.Record, 0, n)
}

// runSorted sorts rows by the key columns (on disk beyond the memory
// limit), then emits them, merging groups when groupBy is set.
func (p *parser) runSorted() error {
	tmp := ""
	if p.b.env != nil {
		tmp = p.b.env.WorkDir
	}
	s, err := extsort.New(extsort.Options{MemLimit: p.b.memLimit, TempDir: tmp, Key: recordKey})
	if err != nil {
		return err
	}
	defer s.Close()
	natural := !p.b.alpha
	var key, buf []byte
	for {
		r, ok, err := p.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		key = key[:0]
		for _, c := range p.keyCols {
			key = appendKeyValue(key, r.Cols[c], natural)
		}
		buf = encodeRecord(buf[:0], key, r.Seq, r.Line, r.Cols)
		if err := s.Add(buf); err != nil {
			return fmt.Errorf("sort: %w", err)
		}
	}
	// Failures found while reading go out before the sorted rows.
	if err := p.flushFails(); err != nil {
		return err
	}
	it, err := s.Sort()
	if err != nil {
		return fmt.Errorf("sort: %w", err)
	}
	var dec decoder
	n := p.b.groupSize
	cur := make([]block.Record, 0, n)
	var group []block.Record
	closeGroup := func() error {
		if len(group) == 0 {
			return nil
		}
		cur = append(cur, p.groupRecord(group))
		group = nil
		if len(cur) == n {
			if err := p.flush(cur); err != nil {
				return err
			}
			cur = make([]block.Record, 0, n)
		}
		return nil
	}
	for it.Next() {
		seq, line, cols := dec.decode(it.Record())
		r := block.Record{Seq: seq, Line: line, Cols: cols}
		if len(p.grpCols) == 0 {
			p.setHeaderValue(&r)
			cur = append(cur, r)
			if len(cur) == n {
				if err := p.flush(cur); err != nil {
					return err
				}
				cur = make([]block.Record, 0, n)
			}
			continue
		}
		if len(group) > 0 && (len(group) >= maxGroupRows || !p.sameGroup(&group[0], &r)) {
			if len(group) >= maxGroupRows {
				p.b.env.Log().Warn("group larger than the limit continues in another record", "rows", maxGroupRows, "line", r.Line)
			}
			if err := closeGroup(); err != nil {
				return err
			}
		}
		group = append(group, r)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("sort: %w", err)
	}
	if err := closeGroup(); err != nil {
		return err
	}
	return p.flush(cur)
}

func (p *parser) sameGroup(a, b *block.Record) bool {
	for _, c := range p.grpCols {
		if a.Cols[c] != b.Cols[c] {
			return false
		}
	}
	return true
}

// groupRecord merges the rows of one group: the first row carries the
// record (line, columns, outcome in the result file), the others are its
// Members, and the value is {group columns…, "records": [other columns of
// each row…]}.
func (p *parser) groupRecord(rows []block.Record) block.Record {
	names := p.header.Names
	isKey := make([]bool, len(names))
	for _, c := range p.grpCols {
		isKey[c] = true
	}
	obj := jsonv.NewObject(len(p.grpCols) + 1)
	for _, c := range p.grpCols {
		obj.Members = append(obj.Members, jsonv.Member{Key: names[c], Value: rows[0].Cols[c]})
	}
	arr := make([]any, len(rows))
	for i := range rows {
		o := jsonv.NewObject(len(names) - len(p.grpCols))
		for j, n := range names {
			if !isKey[j] {
				o.Members = append(o.Members, jsonv.Member{Key: n, Value: rows[i].Cols[j]})
			}
		}
		arr[i] = o
	}
	name := groupArray
	if isKeyName(obj, name) {
		name = "_" + groupArray
	}
	obj.Members = append(obj.Members, jsonv.Member{Key: name, Value: arr})
	r := rows[0]
	r.Value = obj
	if len(rows) > 1 {
		r.Members = slices.Clone(rows[1:])
	}
	p.setHeaderValue(&r)
	return r
}

func isKeyName(o *jsonv.Object, k string) bool {
	_, ok := o.Get(k)
	return ok
}

// name is the block's name in the dataflow, for Outcome.Block.
func (b *Block) name() string {
	if b.env == nil {
		return ""
	}
	return b.env.Block
}
