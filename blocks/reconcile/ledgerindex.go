package reconcile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"os"
	"sort"

	"github.com/connectplus/connectplus/format/extsort"
)

// The ledger's index lives on disk so that memory stays flat in the number
// of delivered rows (it used to be a map: ~100 bytes a row in memory). The
// delivered rows are sorted by lookup key with format/extsort (a bounded
// buffer, spilled runs merged) into one file of fixed-size blocks; memory
// keeps only each block's first key and offset (one entry per ~4 KiB of
// index, i.e. per ~50 rows). A lookup binary-searches those keys and reads
// the one or two blocks that can hold the key (ReadAt: the page cache does
// the caching). Stable sorting keeps a key's rows in ledger order (oldest
// run first), as the map did.

// ledgerBlockSize is the target size of an index block: the bytes a
// lookup reads, against the memory the block directory takes (~40 bytes a
// block).
const ledgerBlockSize = 4 << 10

// defaultLedgerMem bounds the sort buffer while the index is built. 4 MiB
// keeps a reconciliation against a 1M-row ledger at the RSS of one against
// the sandbox (68 MB; 16 MiB gave 161 MB through the arena's growth and the
// GC's headroom), at the cost of more, smaller runs to merge (18 at 1M
// rows, well within one pass of extsort's 64-way merge).
const defaultLedgerMem = 4 << 20

// ledgerBuilder collects delivered rows: a record is
// uvarint(len key) key uvarint(len id) id, then per mapped field a
// presence byte (0: the result file had no such column) and
// uvarint(len value) value.
type ledgerBuilder struct {
	dir    string
	names  []string // the mapped fields' names, in Mapping order
	sorter *extsort.Sorter
	buf    []byte
}

func newLedgerBuilder(dir string, names []string, mem int64) (*ledgerBuilder, error) {
	if mem <= 0 {
		mem = defaultLedgerMem
	}
	s, err := extsort.New(extsort.Options{MemLimit: mem, TempDir: dir, Key: ledgerKey})
	if err != nil {
		return nil, err
	}
	return &ledgerBuilder{dir: dir, names: names, sorter: s}, nil
}

// ledgerKey returns a record's key (a sub-slice, as extsort asks).
func ledgerKey(rec []byte) []byte {
	n, w := binary.Uvarint(rec)
	if w <= 0 || uint64(len(rec)-w) < n {
		return nil
	}
	return rec[w : w+int(n)]
}

func (b *ledgerBuilder) add(key, id string, cols []int, vals []string) error {
	buf := b.buf[:0]
	buf = binary.AppendUvarint(buf, uint64(len(key)))
	buf = append(buf, key...)
	buf = binary.AppendUvarint(buf, uint64(len(id)))
	buf = append(buf, id...)
	for i, ci := range cols {
		if ci < 0 {
			buf = append(buf, 0)
			continue
		}
		buf = append(buf, 1)
		buf = binary.AppendUvarint(buf, uint64(len(vals[i])))
		buf = append(buf, vals[i]...)
	}
	b.buf = buf
	return b.sorter.Add(buf)
}

func (b *ledgerBuilder) abort() { b.sorter.Close() }

// finish writes the sorted records into the block file. The file is
// unlinked as soon as it is open: nothing is left behind, even after a
// crash.
func (b *ledgerBuilder) finish() (*ledgerIndex, error) {
	defer b.sorter.Close()
	it, err := b.sorter.Sort()
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(b.dir, "ledger-*.idx")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	idx := &ledgerIndex{f: f, fields: len(b.names), names: b.names}
	w := bufio.NewWriterSize(f, 256<<10)
	var off, blockStart int64
	for it.Next() {
		rec := it.Record()
		// A new block when this record would overflow the current one; a
		// record larger than a block gets a block of its own.
		if len(idx.firsts) == 0 || (off-blockStart > 0 && off-blockStart+int64(len(rec)) > ledgerBlockSize) {
			if len(idx.firsts) > 0 {
				blockStart = off
			}
			idx.firsts = append(idx.firsts, string(ledgerKey(rec)))
			idx.offs = append(idx.offs, off)
		}
		if _, err := w.Write(rec); err != nil {
			f.Close()
			return nil, err
		}
		off += int64(len(rec))
	}
	if err := it.Err(); err != nil {
		f.Close()
		return nil, err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return nil, err
	}
	idx.offs = append(idx.offs, off)
	idx.size = off
	return idx, nil
}

// ledgerIndex is the sorted block file and its block directory.
type ledgerIndex struct {
	f      *os.File
	fields int
	firsts []string // first key of each block
	offs   []int64  // block start offsets, then the file's end
	size   int64
	buf    []byte
	names  []string // the mapped fields' names, in Mapping order
}

// Blocks reports how many blocks the index has (tests).
func (x *ledgerIndex) blocks() int {
	if x == nil {
		return 0
	}
	return len(x.firsts)
}

func (x *ledgerIndex) Close() error {
	if x == nil || x.f == nil {
		return nil
	}
	err := x.f.Close()
	x.f = nil
	return err
}

// lookup returns the candidates of key in ledger order.
func (x *ledgerIndex) lookup(key string) ([]candidate, error) {
	if x == nil || len(x.firsts) == 0 {
		return nil, nil
	}
	// The first block whose first key is >= key; key's rows may start in
	// the block before it.
	i := sort.SearchStrings(x.firsts, key)
	start := max(i-1, 0)
	var out []candidate
	for b := start; b < len(x.firsts); b++ {
		if b > start && x.firsts[b] > key {
			break
		}
		n := x.offs[b+1] - x.offs[b]
		if int64(cap(x.buf)) < n {
			x.buf = make([]byte, n)
		}
		buf := x.buf[:n]
		if _, err := x.f.ReadAt(buf, x.offs[b]); err != nil {
			return nil, err
		}
		past, err := x.scan(buf, key, &out)
		if err != nil {
			return nil, err
		}
		if past {
			break
		}
	}
	return out, nil
}

var errLedgerCorrupt = errors.New("corrupt block")

// scan appends the block's records with key; past reports that a greater
// key was met (no later block can hold key).
func (x *ledgerIndex) scan(buf []byte, key string, out *[]candidate) (past bool, err error) {
	for len(buf) > 0 {
		k, rest, ok := cutField(buf)
		if !ok {
			return false, errLedgerCorrupt
		}
		c := string(k)
		switch {
		case c > key:
			return true, nil
		case c < key:
			// skip the record
			if rest, ok = skipRecord(rest, x.fields); !ok {
				return false, errLedgerCorrupt
			}
			buf = rest
			continue
		}
		id, rest, ok := cutField(rest)
		if !ok {
			return false, errLedgerCorrupt
		}
		cand := candidate{ID: string(id), Attrs: make(map[string]string, x.fields)}
		for i := 0; i < x.fields; i++ {
			if len(rest) == 0 {
				return false, errLedgerCorrupt
			}
			present := rest[0] == 1
			rest = rest[1:]
			if !present {
				continue
			}
			var v []byte
			if v, rest, ok = cutField(rest); !ok {
				return false, errLedgerCorrupt
			}
			cand.Attrs[x.names[i]] = string(v)
		}
		*out = append(*out, cand)
		buf = rest
	}
	return false, nil
}

func cutField(b []byte) (field, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return nil, nil, false
	}
	return b[w : w+int(n)], b[w+int(n):], true
}

func skipRecord(b []byte, fields int) ([]byte, bool) {
	var ok bool
	if _, b, ok = cutField(b); !ok { // id
		return nil, false
	}
	for i := 0; i < fields; i++ {
		if len(b) == 0 {
			return nil, false
		}
		present := b[0] == 1
		b = b[1:]
		if present {
			if _, b, ok = cutField(b); !ok {
				return nil, false
			}
		}
	}
	return b, true
}
