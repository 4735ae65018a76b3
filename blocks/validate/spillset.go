package validate

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"slices"
)

// spillSet remembers the values seen in one column of one file, for the
// unique rule, in bounded memory. Values are kept as 64-bit hashes (with a
// per-set random seed): up to memLimit hashes in a map, then the map is
// written as a sorted run file and lookups binary-search the runs. Runs are
// merged when there are more than maxRuns, so a lookup costs at most
// maxRuns binary searches.
//
// Two different values share a hash with probability about n²/2^65 for n
// values (below 3·10⁻⁶ for ten million): a false "duplicate" is that rare.
type spillSet struct {
	dir      string
	seed     maphash.Seed
	mem      map[uint64]struct{}
	memLimit int
	runs     []*hashRun
}

const maxRuns = 8

type hashRun struct {
	f *os.File
	n int64
}

func newSpillSet(dir string, memLimit int) *spillSet {
	return &spillSet{dir: dir, seed: maphash.MakeSeed(), mem: map[uint64]struct{}{}, memLimit: max(memLimit, 1)}
}

// add records v and reports whether it was seen before.
func (s *spillSet) add(v string) (dup bool, err error) {
	h := maphash.String(s.seed, v)
	if _, ok := s.mem[h]; ok {
		return true, nil
	}
	for _, r := range s.runs {
		ok, err := r.contains(h)
		if err != nil {
			return false, err
		}
		if ok {
			return true, nil
		}
	}
	s.mem[h] = struct{}{}
	if len(s.mem) >= s.memLimit {
		if err := s.spill(); err != nil {
			return false, err
		}
	}
	return false, nil
}

func (s *spillSet) spill() error {
	keys := make([]uint64, 0, len(s.mem))
	for k := range s.mem {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	f, err := os.CreateTemp(s.dir, "unique-*.run")
	if err != nil {
		return fmt.Errorf("unique rule: spill: %w", err)
	}
	// Unlinked at once: the descriptor is the only reference, so nothing
	// is left behind whatever happens to the run.
	os.Remove(f.Name())
	w := bufio.NewWriterSize(f, 64<<10)
	var b [8]byte
	for _, k := range keys {
		binary.BigEndian.PutUint64(b[:], k)
		w.Write(b[:])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("unique rule: spill: %w", err)
	}
	s.runs = append(s.runs, &hashRun{f: f, n: int64(len(keys))})
	clear(s.mem)
	if len(s.runs) > maxRuns {
		return s.mergeRuns()
	}
	return nil
}

func (r *hashRun) at(i int64) (uint64, error) {
	var b [8]byte
	if _, err := r.f.ReadAt(b[:], i*8); err != nil {
		return 0, fmt.Errorf("unique rule: read run: %w", err)
	}
	return binary.BigEndian.Uint64(b[:]), nil
}

func (r *hashRun) contains(h uint64) (bool, error) {
	lo, hi := int64(0), r.n
	for lo < hi {
		mid := int64(uint64(lo+hi) >> 1)
		v, err := r.at(mid)
		if err != nil {
			return false, err
		}
		switch {
		case v == h:
			return true, nil
		case v < h:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return false, nil
}

type runCursor struct {
	r   *bufio.Reader
	cur uint64
}

type cursorHeap []*runCursor

func (h cursorHeap) Len() int           { return len(h) }
func (h cursorHeap) Less(i, j int) bool { return h[i].cur < h[j].cur }
func (h cursorHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)        { *h = append(*h, x.(*runCursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (c *runCursor) next() (bool, error) {
	var b [8]byte
	if _, err := io.ReadFull(c.r, b[:]); err != nil {
		if err == io.EOF {
			return false, nil
		}
		return false, fmt.Errorf("unique rule: merge runs: %w", err)
	}
	c.cur = binary.BigEndian.Uint64(b[:])
	return true, nil
}

// mergeRuns merges every run into one.
func (s *spillSet) mergeRuns() error {
	f, err := os.CreateTemp(s.dir, "unique-*.run")
	if err != nil {
		return fmt.Errorf("unique rule: merge runs: %w", err)
	}
	os.Remove(f.Name())
	h := cursorHeap{}
	for _, r := range s.runs {
		c := &runCursor{r: bufio.NewReaderSize(io.NewSectionReader(r.f, 0, r.n*8), 32<<10)}
		ok, err := c.next()
		if err != nil {
			f.Close()
			return err
		}
		if ok {
			h = append(h, c)
		}
	}
	heap.Init(&h)
	w := bufio.NewWriterSize(f, 64<<10)
	var n int64
	var b [8]byte
	for len(h) > 0 {
		c := h[0]
		binary.BigEndian.PutUint64(b[:], c.cur)
		w.Write(b[:])
		n++
		ok, err := c.next()
		if err != nil {
			f.Close()
			return err
		}
		if ok {
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("unique rule: merge runs: %w", err)
	}
	for _, r := range s.runs {
		r.f.Close()
	}
	s.runs = []*hashRun{{f: f, n: n}}
	return nil
}

func (s *spillSet) close() {
	for _, r := range s.runs {
		r.f.Close()
	}
	s.runs = nil
	s.mem = nil
}
