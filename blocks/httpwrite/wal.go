package httpwrite

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/connectplus/connectplus/block"
)

// The write-ahead log is what makes "nothing sent twice" exact after a
// crash: before a request leaves, the block appends the record sequence
// numbers it carries and its idempotency key to a per-lineage file and
// fsyncs it. On resume, every logged record the checkpoint does not count
// as acknowledged is in doubt — it may or may not have reached the
// destination — and only those are resolved (lookup, idempotency key,
// duplicate code) instead of sent blindly. Records never logged were never
// sent, so they need no resolution; a record logged whose line is torn was
// not fsynced, so its request never left either.
//
// The file lives in Env.StateDir (it lasts as long as the checkpoints and is
// shared by every process that may resume the lineage) and is removed when
// the lineage ends.

// walEntry is one line of the log: a request about to be sent.
// An answered entry (Answers set, Seqs the records it answers) records the
// outcomes a request got, so a resume settles those records from the log
// without asking the destination again: only requests truly in flight at the
// crash need a lookup. Answers are written without fsync — the page cache
// survives a killed process; after a power loss the records fall back to
// lookups.
type walEntry struct {
	Key     string       `json:"k"`
	Seqs    []int64      `json:"s"`
	Answers []walOutcome `json:"a,omitempty"`
	// At is when the entry was written (Unix seconds); a stream's log
	// drops old entries by it (compactStream).
	At int64 `json:"t,omitempty"`
}

// walOutcome is one record's logged outcome.
type walOutcome struct {
	Status   block.Status `json:"st"`
	Code     int          `json:"c,omitempty"`
	Message  string       `json:"m,omitempty"`
	EntityID string       `json:"id,omitempty"`
}

// wal is the block's write-ahead log, one file per lineage.
type wal struct {
	dir   string
	mu    sync.Mutex
	files map[string]*walFile
}

// walFile is one lineage's log and, after a resume, its in-doubt set.
type walFile struct {
	mu sync.Mutex
	f  *os.File
	// inDoubt maps each in-doubt record to the idempotency key it was sent
	// with; resolved records are removed.
	inDoubt map[int64]string
	// answered are in-doubt records whose answer was logged.
	answered map[int64]walOutcome
	// err is why the log could not be opened (every send fails with it).
	err error
	// stream marks a stream's log (see openStream): entries carry their
	// time, and the file is compacted once it outgrows streamCompactBytes.
	stream    bool
	path      string
	written   int64
	compactAt int64
}

func newWAL(dir string) *wal {
	if dir == "" {
		return nil
	}
	return &wal{dir: filepath.Join(dir, "wal"), files: map[string]*walFile{}}
}

func (w *wal) path(lineage string) string {
	h := sha256.Sum256([]byte(lineage))
	return filepath.Join(w.dir, hex.EncodeToString(h[:12])+".log")
}

// open returns the lineage's log, loading its in-doubt set when the lineage
// was resumed.
func (w *wal) open(l block.Lineage) (*walFile, error) {
	id := l.ID()
	w.mu.Lock()
	defer w.mu.Unlock()
	if f, ok := w.files[id]; ok {
		return f, f.err
	}
	wf := &walFile{inDoubt: map[int64]string{}, answered: map[int64]walOutcome{}}
	w.files[id] = wf
	wf.err = func() error {
		if err := os.MkdirAll(w.dir, 0o700); err != nil {
			return fmt.Errorf("write-ahead log: %w", err)
		}
		p := w.path(id)
		if l.Resumed() {
			if err := loadInDoubt(p, l.Acked, wf.inDoubt, wf.answered); err != nil {
				return err
			}
		}
		flags := os.O_CREATE | os.O_WRONLY | os.O_APPEND
		if !l.Resumed() {
			// A fresh lineage with the same id cannot exist; a left-over
			// file is from a lineage whose end was not recorded.
			flags |= os.O_TRUNC
		}
		f, err := os.OpenFile(p, flags, 0o600)
		if err != nil {
			return fmt.Errorf("write-ahead log: %w", err)
		}
		wf.f = f
		return nil
	}()
	return wf, wf.err
}

// loadInDoubt reads a log and keeps the records the checkpoint does not
// acknowledge. A torn last line (killed while writing) is ignored: it was
// never synced, so its request never left.
func loadInDoubt(p string, acked func(int64) bool, into map[int64]string, answered map[int64]walOutcome) error {
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var e walEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		for j, s := range e.Seqs {
			if acked != nil && acked(s) {
				continue
			}
			if e.Answers != nil {
				if j < len(e.Answers) {
					answered[s] = e.Answers[j]
				}
				continue
			}
			into[s] = e.Key
		}
	}
	return nil
}

// record makes the entry durable before its request is sent.
func (wf *walFile) record(key string, seqs []int64) error {
	e := walEntry{Key: key, Seqs: seqs}
	if wf.stream {
		e.At = time.Now().Unix()
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	wf.mu.Lock()
	defer wf.mu.Unlock()
	if _, err := wf.f.Write(b); err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	if err := wf.f.Sync(); err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	return wf.grewLocked(len(b))
}

// answer logs the outcomes of an answered request (no fsync, see walEntry).
func (wf *walFile) answer(key string, seqs []int64, outs []walOutcome) error {
	e := walEntry{Key: key, Seqs: seqs, Answers: outs}
	if wf.stream {
		e.At = time.Now().Unix()
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	wf.mu.Lock()
	defer wf.mu.Unlock()
	if _, err := wf.f.Write(b); err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	return wf.grewLocked(len(b))
}

// grewLocked compacts a stream's log once it outgrew streamCompactBytes
// (a file's log ends with its lineage; a stream's never does).
func (wf *walFile) grewLocked(n int) error {
	if !wf.stream {
		return nil
	}
	wf.written += int64(n)
	if wf.written < wf.compactAt {
		return nil
	}
	if err := wf.f.Close(); err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	size, err := compactStream(wf.path, time.Now())
	if err != nil {
		return err
	}
	f, err := os.OpenFile(wf.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	wf.f, wf.written, wf.compactAt = f, size, max(streamCompactBytes, 2*size)
	return nil
}

// logged returns the logged answer of an in-doubt record.
func (wf *walFile) logged(seq int64) (walOutcome, bool) {
	wf.mu.Lock()
	defer wf.mu.Unlock()
	o, ok := wf.answered[seq]
	return o, ok
}

// doubt reports whether seq is in doubt and the key it was sent with.
func (wf *walFile) doubt(seq int64) (string, bool) {
	wf.mu.Lock()
	defer wf.mu.Unlock()
	k, ok := wf.inDoubt[seq]
	return k, ok
}

// anyDoubt reports whether any record is still in doubt (cheap fast path).
func (wf *walFile) anyDoubt() bool {
	wf.mu.Lock()
	defer wf.mu.Unlock()
	return len(wf.inDoubt) > 0 || len(wf.answered) > 0
}

func (wf *walFile) resolve(seqs []int64) {
	wf.mu.Lock()
	defer wf.mu.Unlock()
	for _, s := range seqs {
		delete(wf.inDoubt, s)
		delete(wf.answered, s)
	}
}

// end closes and removes a lineage's log: once the lineage ended nothing
// can be in doubt.
func (w *wal) end(lineage string) error {
	w.mu.Lock()
	wf := w.files[lineage]
	delete(w.files, lineage)
	w.mu.Unlock()
	if wf != nil && wf.f != nil {
		wf.f.Close()
	}
	err := os.Remove(w.path(lineage))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func (w *wal) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, wf := range w.files {
		if wf.f != nil {
			wf.f.Close()
		}
		delete(w.files, id)
	}
}

// idempotencyKey is derived from what identifies a request's content across
// processes — lineage, block, the record sequence numbers (source line
// numbers) and the element index — so a re-send of the same records carries
// the same key, and a request for another set of records never does.
func idempotencyKey(lineage, blockName string, seqs []int64, part int) string {
	h := sha256.New()
	h.Write([]byte(lineage))
	h.Write([]byte{0})
	h.Write([]byte(blockName))
	var buf [20]byte
	for _, s := range seqs {
		h.Write([]byte{0})
		h.Write(strconv.AppendInt(buf[:0], s, 10))
	}
	if part >= 0 {
		h.Write([]byte{1})
		h.Write(strconv.AppendInt(buf[:0], int64(part), 10))
	}
	sum := h.Sum(nil)
	first, last := int64(0), int64(0)
	if len(seqs) > 0 {
		first, last = seqs[0], seqs[len(seqs)-1]
	}
	return lineage + "-" + strconv.FormatInt(first, 10) + "-" + strconv.FormatInt(last, 10) + "-" + hex.EncodeToString(sum[:8])
}
