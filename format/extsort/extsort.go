// Package extsort sorts byte records that may not fit in memory: records are
// buffered up to a memory limit, sorted and spilled to temporary files as
// runs, and the runs are merged k ways. The sort is stable — records that
// compare equal come out in the order they were added — because result files
// and groupBy consolidation depend on input order within a key.
package extsort

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// DefaultMemLimit is the default in-memory budget.
const DefaultMemLimit = 64 << 20

// maxFanIn bounds open files during a merge; more runs are merged in passes.
const maxFanIn = 64

// perRecordOverhead approximates the bookkeeping bytes a buffered record
// costs besides its data (its index entry).
const perRecordOverhead = 16

// Options configure a Sorter.
type Options struct {
	// MemLimit is the approximate memory used to buffer records before a run
	// is spilled (default 64 MiB).
	MemLimit int64
	// TempDir holds the run files (default os.TempDir()).
	TempDir string
	// Less orders records. Either Less or Key is required.
	Less func(a, b []byte) bool
	// Key extracts a record's sort key, compared with bytes.Compare; it is
	// called on every comparison, so it should return a sub-slice of the
	// record rather than build a new one.
	Key func(rec []byte) []byte
}

// Sorter accumulates records and sorts them.
type Sorter struct {
	opts  Options
	cmp   func(a, b []byte) int
	arena []byte
	spans [][2]uint32 // offset, length into arena
	runs  []string    // spilled run files, in input order
	used  int64
	state int // 0 adding, 1 sorted, 2 closed
	iter  *Iterator
}

// New returns a sorter.
func New(opts Options) (*Sorter, error) {
	if opts.MemLimit <= 0 {
		opts.MemLimit = DefaultMemLimit
	}
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	s := &Sorter{opts: opts}
	switch {
	case opts.Less != nil:
		less := opts.Less
		s.cmp = func(a, b []byte) int {
			if less(a, b) {
				return -1
			}
			if less(b, a) {
				return 1
			}
			return 0
		}
	case opts.Key != nil:
		key := opts.Key
		s.cmp = func(a, b []byte) int { return bytes.Compare(key(a), key(b)) }
	default:
		return nil, errors.New("extsort: Options.Less or Options.Key is required")
	}
	return s, nil
}

// Add buffers a copy of rec.
func (s *Sorter) Add(rec []byte) error {
	if s.state != 0 {
		return errors.New("extsort: Add after Sort or Close")
	}
	if len(rec) > 1<<31 {
		return fmt.Errorf("extsort: record of %d bytes is too large", len(rec))
	}
	// Arena offsets are 32-bit: spill before the arena would outgrow them.
	if len(s.arena)+len(rec) > 1<<32-1 || (s.used > 0 && s.used+int64(len(rec))+perRecordOverhead > s.opts.MemLimit) {
		if err := s.spill(); err != nil {
			return err
		}
	}
	s.spans = append(s.spans, [2]uint32{uint32(len(s.arena)), uint32(len(rec))})
	s.arena = append(s.arena, rec...)
	s.used += int64(len(rec)) + perRecordOverhead
	return nil
}

func (s *Sorter) rec(sp [2]uint32) []byte { return s.arena[sp[0] : sp[0]+sp[1] : sp[0]+sp[1]] }

func (s *Sorter) sortMem() {
	// Arena offsets grow in input order, so breaking ties by offset makes
	// the (much faster) unstable sort stable.
	slices.SortFunc(s.spans, func(a, b [2]uint32) int {
		if c := s.cmp(s.rec(a), s.rec(b)); c != 0 {
			return c
		}
		return cmp.Compare(a[0], b[0])
	})
}

// spill sorts the buffered records and writes them as one run.
func (s *Sorter) spill() error {
	if len(s.spans) == 0 {
		return nil
	}
	s.sortMem()
	f, err := os.CreateTemp(s.opts.TempDir, "extsort-*.run")
	if err != nil {
		return fmt.Errorf("extsort: spill: %w", err)
	}
	s.runs = append(s.runs, f.Name())
	w := bufio.NewWriterSize(f, 256<<10)
	var hdr [binary.MaxVarintLen64]byte
	for _, sp := range s.spans {
		n := binary.PutUvarint(hdr[:], uint64(sp[1]))
		w.Write(hdr[:n])
		w.Write(s.rec(sp))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("extsort: spill: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("extsort: spill: %w", err)
	}
	s.arena = s.arena[:0]
	s.spans = s.spans[:0]
	s.used = 0
	return nil
}

// Runs reports how many runs were spilled to disk so far.
func (s *Sorter) Runs() int { return len(s.runs) }

// Sort finishes adding and returns an iterator over the records in order.
// With no spill the records are sorted in memory and never touch the disk.
func (s *Sorter) Sort() (*Iterator, error) {
	if s.state != 0 {
		return nil, errors.New("extsort: Sort called twice or after Close")
	}
	s.state = 1
	if len(s.runs) == 0 {
		s.sortMem()
		s.iter = &Iterator{mem: s}
		return s.iter, nil
	}
	if err := s.spill(); err != nil {
		return nil, err
	}
	s.arena, s.spans = nil, nil
	// Merge consecutive groups of runs until few enough remain; merging
	// neighbours and breaking ties by run order keeps the sort stable.
	for len(s.runs) > maxFanIn {
		var next []string
		for i := 0; i < len(s.runs); i += maxFanIn {
			group := s.runs[i:min(i+maxFanIn, len(s.runs))]
			if len(group) == 1 {
				next = append(next, group[0])
				continue
			}
			name, err := s.mergeToFile(group)
			if err != nil {
				return nil, err
			}
			next = append(next, name)
		}
		s.runs = next
	}
	it, err := s.openMerge(s.runs)
	if err != nil {
		return nil, err
	}
	s.iter = it
	return it, nil
}

func (s *Sorter) mergeToFile(runs []string) (string, error) {
	it, err := s.openMerge(runs)
	if err != nil {
		return "", err
	}
	defer it.Close()
	f, err := os.CreateTemp(s.opts.TempDir, "extsort-*.run")
	if err != nil {
		return "", fmt.Errorf("extsort: merge: %w", err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	var hdr [binary.MaxVarintLen64]byte
	for it.Next() {
		r := it.Record()
		n := binary.PutUvarint(hdr[:], uint64(len(r)))
		w.Write(hdr[:n])
		w.Write(r)
	}
	err = it.Err()
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	for _, r := range runs {
		os.Remove(r)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("extsort: merge: %w", err)
	}
	return f.Name(), nil
}

func (s *Sorter) openMerge(runs []string) (*Iterator, error) {
	it := &Iterator{}
	for i, name := range runs {
		f, err := os.Open(name)
		if err != nil {
			it.Close()
			return nil, fmt.Errorf("extsort: %w", err)
		}
		rr := &runReader{f: f, r: bufio.NewReaderSize(f, 64<<10), idx: i}
		it.readers = append(it.readers, rr)
		ok, err := rr.next()
		if err != nil {
			it.Close()
			return nil, err
		}
		if ok {
			it.h.rs = append(it.h.rs, rr)
		}
	}
	it.h.cmp = s.cmp
	heap.Init(&it.h)
	return it, nil
}

// Close releases the iterator and deletes every temporary file.
func (s *Sorter) Close() error {
	if s.state == 2 {
		return nil
	}
	s.state = 2
	var err error
	if s.iter != nil {
		err = s.iter.Close()
	}
	for _, r := range s.runs {
		if rerr := os.Remove(r); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = fmt.Errorf("extsort: %w", rerr)
		}
	}
	s.runs = nil
	s.arena, s.spans = nil, nil
	return err
}

// Iterator yields sorted records.
type Iterator struct {
	// in memory
	mem *Sorter
	pos int
	// merging
	readers []*runReader
	h       runHeap
	cur     []byte
	started bool
	err     error
}

// Next advances to the next record.
func (it *Iterator) Next() bool {
	if it.err != nil {
		return false
	}
	if it.mem != nil {
		if it.pos >= len(it.mem.spans) {
			return false
		}
		it.cur = it.mem.rec(it.mem.spans[it.pos])
		it.pos++
		return true
	}
	if it.started && len(it.h.rs) > 0 {
		// Advance the reader whose record was returned last.
		top := it.h.rs[0]
		ok, err := top.next()
		if err != nil {
			it.err = err
			return false
		}
		if ok {
			heap.Fix(&it.h, 0)
		} else {
			heap.Pop(&it.h)
		}
	}
	it.started = true
	if len(it.h.rs) == 0 {
		return false
	}
	it.cur = it.h.rs[0].rec
	return true
}

// Record returns the current record; it is valid until the next call to Next.
func (it *Iterator) Record() []byte { return it.cur }

// Err returns the first error met while reading runs.
func (it *Iterator) Err() error { return it.err }

// Close closes the run files (the Sorter's Close deletes them).
func (it *Iterator) Close() error {
	var err error
	for _, r := range it.readers {
		if cerr := r.f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	it.readers = nil
	it.h.rs = nil
	return err
}

type runReader struct {
	f   *os.File
	r   *bufio.Reader
	idx int // run order, the tie-breaker that keeps the merge stable
	rec []byte
}

func (rr *runReader) next() (bool, error) {
	n, err := binary.ReadUvarint(rr.r)
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("extsort: read run: %w", err)
	}
	if uint64(cap(rr.rec)) < n {
		rr.rec = make([]byte, n, max(n, uint64(2*cap(rr.rec))))
	}
	rr.rec = rr.rec[:n]
	if _, err := io.ReadFull(rr.r, rr.rec); err != nil {
		return false, fmt.Errorf("extsort: read run: %w", err)
	}
	return true, nil
}

type runHeap struct {
	rs  []*runReader
	cmp func(a, b []byte) int
}

func (h runHeap) Len() int { return len(h.rs) }
func (h runHeap) Less(i, j int) bool {
	a, b := h.rs[i], h.rs[j]
	if c := h.cmp(a.rec, b.rec); c != 0 {
		return c < 0
	}
	return a.idx < b.idx
}
func (h runHeap) Swap(i, j int) { h.rs[i], h.rs[j] = h.rs[j], h.rs[i] }
func (h *runHeap) Push(x any)   { h.rs = append(h.rs, x.(*runReader)) }
func (h *runHeap) Pop() any {
	x := h.rs[len(h.rs)-1]
	h.rs = h.rs[:len(h.rs)-1]
	return x
}
