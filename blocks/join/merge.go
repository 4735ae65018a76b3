package join

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unsafe"

	"github.com/connectplus/connectplus/format/csvio"
	"github.com/connectplus/connectplus/format/extsort"
)

// The N-file join is a sort-merge join: every file is sorted by its key with
// the external sort (spilling to the work directory beyond its memory
// share), then the sorted streams are merged key group by key group. Memory
// is bounded by the sort budget plus one key group per file (a group larger
// than groupMemLimit spills too), whatever the file sizes.
//
// All joins of a chain use the same logical key: file i's key columns are
// compared with file 1's (as in SQL's JOIN … USING), so ((1 ⋈ 2) ⋈ 3) ⋈ 4
// is evaluated per key group in one pass. Within a group the join types are
// applied left to right: a non-empty left side and right side give their
// cross product; an empty right side keeps the left rows for LEFT/OUTER
// joins; an empty left side takes the right rows for RIGHT/OUTER joins.

// joinInput is one file of a set.
type joinInput struct {
	path       string
	name       string
	headerless bool
	names      []string // header of a headerless file
	keys       []string // key columns
}

type joinPlan struct {
	inputs   []joinInput
	types    []string // types[i] joins file i to the result of files before it; types[0] unused
	delim    byte
	lineItem bool
	workDir  string
	memLimit int64 // total for the sorts
}

type joinStats struct {
	rows          int64
	duplicateKeys int64
	inRows        []int64
}

const groupMemLimit = 8 << 20

// sortedInput is one file sorted by key.
type sortedInput struct {
	header []string
	keyIdx []int
	sorter *extsort.Sorter
	it     *extsort.Iterator
	rec    []byte // current record
	ok     bool
	rows   int64
}

// keyOf returns the key part of an encoded record.
func keyOf(rec []byte) []byte {
	n, k := binary.Uvarint(rec)
	if k <= 0 || uint64(len(rec)-k) < n {
		return nil
	}
	return rec[k : k+int(n)]
}

// appendKey encodes a key tuple so that byte order is tuple order: 0x00 in a
// value becomes 00 FF and values are separated by 00 01.
func appendKey(dst []byte, fields []string, idx []int) []byte {
	for j, i := range idx {
		if j > 0 {
			dst = append(dst, 0, 1)
		}
		v := ""
		if i < len(fields) {
			v = fields[i]
		}
		for {
			z := strings.IndexByte(v, 0)
			if z < 0 {
				dst = append(dst, v...)
				break
			}
			dst = append(dst, v[:z]...)
			dst = append(dst, 0, 0xFF)
			v = v[z+1:]
		}
	}
	return dst
}

// encodeRecord appends key and fields: uvarint(len key) key, then
// uvarint(len f) f for each of the header's n fields.
func encodeRecord(dst, key []byte, fields []string, n int) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	for i := 0; i < n; i++ {
		v := ""
		if i < len(fields) {
			v = fields[i]
		}
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		dst = append(dst, v...)
	}
	return dst
}

// decodeFields fills dst (len = field count) with the record's fields. The
// strings share rec's memory: they are valid while rec is unchanged, which
// holds for a group member until the group is reset.
func decodeFields(rec []byte, dst []string) error {
	n, k := binary.Uvarint(rec)
	if k <= 0 || uint64(len(rec)-k) < n {
		return errors.New("join: corrupt sort record")
	}
	p := k + int(n)
	for i := range dst {
		l, k := binary.Uvarint(rec[p:])
		if k <= 0 || uint64(len(rec)-p-k) < l {
			return errors.New("join: corrupt sort record")
		}
		p += k
		if l == 0 {
			dst[i] = ""
		} else {
			dst[i] = unsafe.String(&rec[p], int(l))
		}
		p += int(l)
	}
	return nil
}

// sortInput reads one file and sorts it by key.
func sortInput(ctx context.Context, p *joinPlan, i int, mem int64) (*sortedInput, error) {
	in := p.inputs[i]
	f, err := os.Open(in.path)
	if err != nil {
		return nil, fmt.Errorf("file %d (%s): %w", i+1, in.name, err)
	}
	defer f.Close()
	rd := csvio.NewReader(f, csvio.Options{Delimiter: rune(p.delim), TrimBOM: true})
	s := &sortedInput{}
	if in.headerless {
		s.header = in.names
	} else {
		r, err := rd.Read()
		switch {
		case err == io.EOF:
			return nil, fmt.Errorf("file %d (%s) is empty: it has no header row", i+1, in.name)
		case err != nil:
			return nil, fmt.Errorf("file %d (%s): header row: %w", i+1, in.name, err)
		}
		s.header = append([]string(nil), r.Fields...)
	}
	for _, k := range in.keys {
		j := indexOf(s.header, k)
		if j < 0 {
			return nil, fmt.Errorf("file %d (%s): key column %q is not in its header %s", i+1, in.name, k, strings.Join(s.header, string(p.delim)))
		}
		s.keyIdx = append(s.keyIdx, j)
	}
	s.sorter, err = extsort.New(extsort.Options{MemLimit: mem, TempDir: p.workDir, Key: keyOf})
	if err != nil {
		return nil, err
	}
	nf := len(s.header)
	var key, buf []byte
	for {
		r, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.sorter.Close()
			return nil, fmt.Errorf("file %d (%s): %w", i+1, in.name, err)
		}
		if len(r.Fields) > nf {
			s.sorter.Close()
			return nil, fmt.Errorf("file %d (%s): line %d has %d fields, the header has %d", i+1, in.name, r.Line, len(r.Fields), nf)
		}
		s.rows++
		if s.rows%65536 == 0 {
			if err := ctx.Err(); err != nil {
				s.sorter.Close()
				return nil, err
			}
		}
		key = appendKey(key[:0], r.Fields, s.keyIdx)
		buf = encodeRecord(buf[:0], key, r.Fields, nf)
		if err := s.sorter.Add(buf); err != nil {
			s.sorter.Close()
			return nil, fmt.Errorf("file %d (%s): sort: %w", i+1, in.name, err)
		}
	}
	if s.it, err = s.sorter.Sort(); err != nil {
		s.sorter.Close()
		return nil, fmt.Errorf("file %d (%s): sort: %w", i+1, in.name, err)
	}
	s.next()
	return s, nil
}

func (s *sortedInput) next() {
	s.ok = s.it.Next()
	if s.ok {
		s.rec = s.it.Record()
	}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// rowGroup holds the rows of one file for one key; rows beyond
// groupMemLimit go to a temporary file so a hot key cannot exhaust memory.
type rowGroup struct {
	arena   []byte
	offs    []int
	n       int // rows in total
	spill   *os.File
	spillW  *bufio.Writer
	spilled int
	dir     string
	readBuf []byte
}

func (g *rowGroup) reset() {
	g.arena, g.offs, g.n, g.spilled = g.arena[:0], g.offs[:0], 0, 0
	if g.spill != nil {
		g.spill.Truncate(0)
		g.spill.Seek(0, io.SeekStart)
		g.spillW.Reset(g.spill)
	}
}

func (g *rowGroup) add(rec []byte) error {
	g.n++
	if len(g.arena)+len(rec) <= groupMemLimit || len(g.offs) == 0 {
		g.offs = append(g.offs, len(g.arena))
		g.arena = append(g.arena, rec...)
		return nil
	}
	if g.spill == nil {
		f, err := os.CreateTemp(g.dir, "join-group-*")
		if err != nil {
			return fmt.Errorf("join: spill key group: %w", err)
		}
		// Unlinked at once: the descriptor is the only reference.
		os.Remove(f.Name())
		g.spill, g.spillW = f, bufio.NewWriterSize(f, 64<<10)
	}
	g.spilled++
	g.spillW.Write(binary.AppendUvarint(nil, uint64(len(rec))))
	_, err := g.spillW.Write(rec)
	return err
}

func (g *rowGroup) close() {
	if g.spill != nil {
		g.spill.Close()
		g.spill = nil
	}
}

// each calls f with every row of the group, in order.
func (g *rowGroup) each(f func(rec []byte) error) error {
	for i, o := range g.offs {
		end := len(g.arena)
		if i+1 < len(g.offs) {
			end = g.offs[i+1]
		}
		if err := f(g.arena[o:end:end]); err != nil {
			return err
		}
	}
	if g.spilled == 0 {
		return nil
	}
	if err := g.spillW.Flush(); err != nil {
		return fmt.Errorf("join: spill key group: %w", err)
	}
	if _, err := g.spill.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(g.spill, 64<<10)
	for k := 0; k < g.spilled; k++ {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return fmt.Errorf("join: read key group: %w", err)
		}
		// A fresh buffer per record: decoded fields of an outer level must
		// stay intact while inner levels iterate.
		rec := make([]byte, n)
		if _, err := io.ReadFull(r, rec); err != nil {
			return fmt.Errorf("join: read key group: %w", err)
		}
		if err := f(rec); err != nil {
			return err
		}
	}
	_, err := g.spill.Seek(0, io.SeekEnd)
	return err
}

// outputHeader is file 1's header, then each further file's non-key columns;
// a name already used gets the suffix _<file number>.
func outputHeader(ins []*sortedInput) (header []string, colMap [][]int) {
	used := map[string]bool{}
	colMap = make([][]int, len(ins))
	for i, in := range ins {
		colMap[i] = make([]int, len(in.header))
		for j, h := range in.header {
			if i > 0 && isKeyCol(in, j) {
				colMap[i][j] = -1
				continue
			}
			name := h
			if used[name] {
				name = fmt.Sprintf("%s_%d", h, i+1)
				for n := 2; used[name]; n++ {
					name = fmt.Sprintf("%s_%d_%d", h, i+1, n)
				}
			}
			used[name] = true
			colMap[i][j] = len(header)
			header = append(header, name)
		}
	}
	return header, colMap
}

func isKeyCol(in *sortedInput, j int) bool {
	for _, k := range in.keyIdx {
		if k == j {
			return true
		}
	}
	return false
}

// runJoin joins the plan's files and writes the CSV result to w.
func runJoin(ctx context.Context, p *joinPlan, w io.Writer) (st joinStats, err error) {
	n := len(p.inputs)
	ins := make([]*sortedInput, 0, n)
	defer func() {
		for _, in := range ins {
			in.sorter.Close()
		}
	}()
	mem := max(p.memLimit/int64(n), 1<<20)
	for i := range p.inputs {
		s, err := sortInput(ctx, p, i, mem)
		if err != nil {
			return st, err
		}
		ins = append(ins, s)
		st.inRows = append(st.inRows, s.rows)
	}
	header, colMap := outputHeader(ins)
	cw := csvio.NewWriter(w, p.delim)
	if err := cw.Write(header); err != nil {
		return st, err
	}
	groups := make([]*rowGroup, n)
	fields := make([][]string, n)
	for i := range groups {
		groups[i] = &rowGroup{dir: p.workDir}
		defer groups[i].close()
		fields[i] = make([]string, len(ins[i].header))
	}
	out := make([]string, len(header))
	keyVals := make([]string, len(ins[0].keyIdx))
	var key []byte
	var ngroups int
	e := &enumerator{p: p, groups: groups, fields: fields, colMap: colMap, out: out, w: cw, ins: ins, keyVals: keyVals}
	for {
		found := false
		for _, in := range ins {
			if in.ok && (!found || bytes.Compare(keyOf(in.rec), key) < 0) {
				key = append(key[:0], keyOf(in.rec)...)
				found = true
			}
		}
		if !found {
			break
		}
		first := -1
		for i, in := range ins {
			g := groups[i]
			g.reset()
			for in.ok && bytes.Equal(keyOf(in.rec), key) {
				if err := g.add(in.rec); err != nil {
					return st, err
				}
				in.next()
			}
			if err := in.it.Err(); err != nil {
				return st, fmt.Errorf("file %d (%s): read sorted rows: %w", i+1, p.inputs[i].name, err)
			}
			if first < 0 && g.n > 0 {
				first = i
			}
		}
		if p.lineItem && groups[0].n > 1 {
			// One bill per key: later duplicates would multiply its line items.
			st.duplicateKeys += int64(groups[0].n - 1)
			groups[0].truncate(1)
		}
		// Key columns come from whichever file has the row (USING semantics).
		if err := groups[first].each(func(rec []byte) error {
			if err := decodeFields(rec, fields[first]); err != nil {
				return err
			}
			for j, k := range ins[first].keyIdx {
				keyVals[j] = strings.Clone(fields[first][k])
			}
			return errStop
		}); err != nil && err != errStop {
			return st, err
		}
		if err := e.level(0, true); err != nil {
			return st, err
		}
		if ngroups++; ngroups%16384 == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
	}
	st.rows = e.rows
	if err := cw.Flush(); err != nil {
		return st, err
	}
	return st, nil
}

var errStop = errors.New("stop")

func (g *rowGroup) truncate(k int) {
	if k < len(g.offs) {
		g.arena = g.arena[:g.offs[k]]
		g.offs = g.offs[:k]
	}
	g.n, g.spilled = k, 0
}

type enumerator struct {
	p       *joinPlan
	ins     []*sortedInput
	groups  []*rowGroup
	fields  [][]string
	colMap  [][]int
	out     []string
	keyVals []string
	w       *csvio.Writer
	rows    int64
	nulls   []bool
}

func (e *enumerator) fill(i int, null bool) {
	if e.nulls == nil {
		e.nulls = make([]bool, len(e.ins))
	}
	e.nulls[i] = null
	for j, c := range e.colMap[i] {
		if c < 0 {
			continue
		}
		if null {
			e.out[c] = ""
		} else {
			e.out[c] = e.fields[i][j]
		}
	}
}

// level enumerates file i's contribution; prefix reports whether the join
// of files before i has rows for this key.
func (e *enumerator) level(i int, prefix bool) error {
	if i == len(e.ins) {
		if !prefix {
			return nil
		}
		if e.nulls[0] {
			for j, k := range e.ins[0].keyIdx {
				e.out[e.colMap[0][k]] = e.keyVals[j]
			}
		}
		e.rows++
		return e.w.Write(e.out)
	}
	g := e.groups[i]
	rows := func() error {
		return g.each(func(rec []byte) error {
			if err := decodeFields(rec, e.fields[i]); err != nil {
				return err
			}
			e.fill(i, false)
			return e.level(i+1, true)
		})
	}
	if i == 0 {
		if g.n > 0 {
			return rows()
		}
		e.fill(0, true)
		return e.level(1, false)
	}
	t := e.p.types[i]
	switch {
	case prefix && g.n > 0:
		return rows()
	case prefix: // the right side has no row for this key
		if t == LeftOuterJoin || t == OuterJoin {
			e.fill(i, true)
			return e.level(i+1, true)
		}
		return nil
	case g.n > 0 && (t == RightOuterJoin || t == OuterJoin):
		return rows()
	default:
		e.fill(i, true)
		return e.level(i+1, false)
	}
}
