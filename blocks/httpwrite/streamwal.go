package httpwrite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/connectplus/connectplus/block"
)

// Stream records (a Kafka source) need the same exactly-once effect, but a
// stream has no lineage that survives a crash: the reader commits a
// partition's offset only past records whose outcome a stored checkpoint
// counts, and after a kill the records past the commit are read again into
// a new window — a new lineage with new sequence numbers, so the lineage's
// write-ahead log could not know them. A stream record is therefore
// identified by its position (consumer group, topic, partition, offset),
// which every re-read keeps, and a request's idempotency key derives from
// its positions.
//
// The log is one file per (consumer group, topic, partition) in the
// block's state directory, which every cluster node reaches
// (`--shared-dir`/state, keyed by organisation, dataflow and block — not by
// node or version; with an S3 shared store rows of the runtime's journal
// instead, streamjournal.go): whichever process the group hands a partition to next
// — the same one restarted, or another node after a rebalance — reads what
// the previous owner logged. A process finds the positions in flight at
// the previous owner's end in doubt (looked up, their requests re-sent as
// logged, or their duplicate answer taken as delivered) and those answered
// with their logged outcome (not sent again).
//
// Several processes may write one partition's log: during a rebalance the
// old owner can still be finishing requests when the new one starts, and a
// stalled node whose session expired keeps running. So every read and
// write of the file holds an flock on "<log>.lock" and first reads what
// other processes appended since (catchUp), and entries carry an owner
// epoch — the consumer group generation the records were polled under
// (classic group protocol: one owner per partition per generation, and
// generations only grow while the group exists). A process marks the log
// with its epoch when it takes the partition; once it has read an entry of
// a higher epoch written during its tenure, it is fenced: it sends nothing
// more of the partition (errPartitionMoved). Only entries written while a
// process owns the partition fence it, not the history it loads: a group
// deleted and created again starts its generations anew, and its first
// owner must not be fenced by a dead one.
//
// Requests to a destination without a lookup (Neo, webhooks, custom APIs)
// are logged with their URL and body. A process that takes a partition over
// re-sends each such request still in doubt exactly as logged — same
// records, same body, same idempotency key — before anything of the
// partition is batched again, so a destination honouring the key applies it
// once whatever the new batches look like; its answer settles the
// records, which are then not sent again when they are read.
//
// The log lasts as long as the stream. It is compacted when a process opens
// it and whenever it outgrew streamCompactBytes: answers older than
// streamAnswerKeep are dropped (by then their offsets are committed: the
// reader commits within a checkpoint interval and a commit round trip), and
// so are entries whose request was answered; requests never answered stay
// for streamDoubtKeep.

// Record attributes the Kafka source sets (blocks/kafka), and the unit
// attributes naming the consumer group and its generation.
const (
	attrStreamTopic      = "kafka.topic"
	attrStreamPartition  = "kafka.partition"
	attrStreamOffset     = "kafka.offset"
	attrStreamGroup      = "kafka.group"
	attrStreamGeneration = "kafka.generation"
)

const (
	streamCompactBytes = 16 << 20
	streamAnswerKeep   = 15 * time.Minute
	streamDoubtKeep    = 7 * 24 * time.Hour
)

// errPartitionMoved is the outcome of a request a fenced process did not
// send.
var errPartitionMoved = errors.New("not sent: another consumer took this record's partition over (consumer group rebalance); it delivers the record")

// streamGroup returns the consumer group of a unit read from a stream.
func streamGroup(u *block.Unit) (string, bool) {
	g := u.Attrs[attrStreamGroup]
	if g == "" || u.Batch == nil || len(u.Batch.Records) == 0 || u.Batch.Records[0].Attrs[attrStreamOffset] == "" {
		return "", false
	}
	return g, true
}

// streamPart is the partition a stream record was read from, and the
// epoch (group generation) it was read under.
type streamPart struct {
	group, topic, partition string
	epoch                   int64
}

func streamPartOf(u *block.Unit, r *block.Record) (streamPart, bool) {
	g := u.Attrs[attrStreamGroup]
	if g == "" || r == nil || r.Attrs[attrStreamOffset] == "" {
		return streamPart{}, false
	}
	ep, _ := strconv.ParseInt(u.Attrs[attrStreamGeneration], 10, 64)
	return streamPart{group: g, topic: r.Attrs[attrStreamTopic], partition: r.Attrs[attrStreamPartition], epoch: ep}, true
}

func (p streamPart) id() string {
	return "stream\x00" + p.group + "\x00" + p.topic + "\x00" + p.partition
}

// walID is what the write-ahead log knows a record by: its sequence
// number, or for a stream record its position (a 63-bit hash; a collision
// between two positions of one group is vanishingly unlikely).
func walID(r *block.Record) int64 {
	off := r.Attrs[attrStreamOffset]
	if off == "" {
		return r.Seq
	}
	h := fnv.New64a()
	h.Write([]byte(r.Attrs[attrStreamTopic]))
	h.Write([]byte{0})
	h.Write([]byte(r.Attrs[attrStreamPartition]))
	h.Write([]byte{0})
	h.Write([]byte(off))
	return int64(h.Sum64() &^ (1 << 63))
}

// streamEntry is a line of a partition's log: a walEntry (answers are
// written by appendWALEntry and decode here too) plus the owner epoch and,
// for a request to a destination without a lookup, what it sent. An entry
// without positions is an owner's mark.
type streamEntry struct {
	Key     string       `json:"k"`
	Seqs    []int64      `json:"s"`
	Answers []walOutcome `json:"a,omitempty"`
	At      int64        `json:"t,omitempty"`
	Epoch   int64        `json:"e,omitempty"`
	// URL and Body are the request as sent; Groups the number of
	// positions of each element of it (bulk), whose outcomes its answer
	// gives in order.
	URL    string `json:"u,omitempty"`
	Body   []byte `json:"b,omitempty"`
	Groups []int  `json:"g,omitempty"`
}

// streamLog is what a partition's log adds to its walFile. Fields are
// guarded by the walFile's mu, except lock and ino, which only the
// round's leader (or an exclusive caller) uses.
type streamLog struct {
	path string
	lock *os.File
	ino  uint64
	// epoch is this process's: the highest generation of the partition's
	// units it saw; fence the highest epoch of an entry another process
	// wrote while this one owned the partition, which began at since (Unix
	// seconds, when it marked the log).
	epoch, fence, since int64
	compactAt           int64
	// replays are logged requests with a body and no answer yet, to be
	// re-sent as logged before anything else of the partition.
	replays  []streamEntry
	replayMu sync.Mutex
	// j, when set, keeps the log as rows of the runtime's journal instead
	// of the file (streamjournal.go): jname is its name there, after the
	// id of the last entry read, reclaim says the last take-over was
	// refused (a lower epoch than the log's owner: the log is taken once
	// its owner has been silent for streamReclaim), grown the bytes read
	// and written since the last compaction.
	j       block.Journal
	jname   string
	after   int64
	reclaim bool
	grown   int64
}

// openStream returns the log of a stream record's partition, loading what
// previous owners left in flight or answered, and takes the partition
// over for p's epoch when that is newer than what this process had.
func (w *wal) openStream(p streamPart) (*walFile, error) {
	id := p.id()
	w.mu.Lock()
	wf, ok := w.files[id]
	if !ok {
		wf = &walFile{inDoubt: map[int64]string{}, answered: map[int64]walOutcome{}, st: &streamLog{path: w.path(id)}}
		wf.flushed = sync.NewCond(&wf.mu)
		w.files[id] = wf
		if w.journal != nil {
			wf.err = wf.openStreamJournal(w.journal, id, p.epoch)
			if wf.err != nil {
				// A database error can pass (unlike a file log's, which
				// stays): the partition's next unit opens the log again.
				delete(w.files, id)
			}
		} else {
			wf.err = wf.openStreamFile(w.dir, w.path("stream\x00"+p.group), p.epoch)
		}
	}
	w.mu.Unlock()
	if wf.err != nil {
		return wf, wf.err
	}
	return wf, wf.raiseEpoch(p.epoch)
}

// openStreamFile opens (creating) a partition's log and its lock, compacts
// it, loads it and writes this process's mark. legacy is the log of
// earlier versions (one per consumer group, all partitions): what it holds
// is loaded as well, read-only.
func (wf *walFile) openStreamFile(dir, legacy string, epoch int64) error {
	st := wf.st
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	lock, err := os.OpenFile(st.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	st.lock = lock
	if err := flock(lock, syscall.LOCK_EX); err != nil {
		return err
	}
	defer flock(lock, syscall.LOCK_UN)
	if fi, err := os.Stat(legacy); err == nil && time.Since(fi.ModTime()) > streamDoubtKeep {
		_ = os.Remove(legacy) // nothing in it can be asked about any more
	} else if _, _, err := loadInDoubt(legacy, nil, wf.inDoubt, wf.answered); err != nil {
		return err
	}
	for s := range wf.answered {
		delete(wf.inDoubt, s)
	}
	if _, err := compactStream(st.path, time.Now()); err != nil {
		return err
	}
	f, err := os.OpenFile(st.path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("write-ahead log: %w", err)
	}
	end, torn := wf.loadStream(b, never)
	if err := f.Truncate(end); err != nil {
		f.Close()
		return fmt.Errorf("write-ahead log: %w", err)
	}
	wf.f, wf.off, wf.size, wf.torn = f, end, end, torn
	if st.ino, err = inode(f); err != nil {
		return err
	}
	st.compactAt = max(streamCompactBytes, 2*end)
	st.epoch, st.since = epoch, time.Now().Unix()
	return wf.put(markEntry(epoch), false)
}

// raiseEpoch takes the partition over again when this process polled its
// records under a newer generation than before (it owned the partition,
// lost it and got it back): what the owners in between logged is read
// before any of its records is resolved, and the log is marked.
func (wf *walFile) raiseEpoch(epoch int64) error {
	wf.mu.Lock()
	if epoch <= wf.st.epoch {
		wf.mu.Unlock()
		return nil
	}
	defer wf.mu.Unlock()
	if wf.st.j != nil {
		return wf.exclusive(func() error { return wf.takeJournal(epoch) })
	}
	return wf.exclusive(func() error {
		st := wf.st
		if err := flock(st.lock, syscall.LOCK_EX); err != nil {
			return err
		}
		defer flock(st.lock, syscall.LOCK_UN)
		if err := wf.catchUp(); err != nil {
			return err
		}
		wf.mu.Lock()
		st.epoch = max(st.epoch, epoch)
		// The entries read so far were written while this process did
		// not own the partition: they do not fence it.
		st.fence, st.since = 0, time.Now().Unix()
		wf.mu.Unlock()
		return wf.put(markEntry(epoch), false)
	})
}

// exclusive runs fn as the log's leader (no round is written meanwhile).
// Called with mu held; mu is released while fn runs.
func (wf *walFile) exclusive(fn func() error) error {
	for wf.leading {
		wf.flushed.Wait()
	}
	wf.leading = true
	wf.mu.Unlock()
	err := fn()
	wf.mu.Lock()
	wf.leading = false
	wf.flushed.Broadcast()
	return err
}

func markEntry(epoch int64) []byte {
	b, _ := json.Marshal(streamEntry{Epoch: epoch, At: time.Now().Unix()})
	return append(b, '\n')
}

// never is loadStream's since for history: no entry fences.
const never = int64(1) << 62

// loadStream reads entries (up to the first NUL: the preallocated zeros)
// into the in-doubt and answered sets, and returns where they end and
// whether the last line is torn. Entries written by another process at
// since or later (catchUp: 0 for what it appended, the tenure's start when
// it rewrote the file) fence this one when their epoch is higher.
func (wf *walFile) loadStream(b []byte, since int64) (end int64, torn bool) {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	st := wf.st
	wf.mu.Lock()
	defer wf.mu.Unlock()
	for line := range bytes.Lines(b) {
		var e streamEntry
		if json.Unmarshal(line, &e) != nil {
			continue // torn: never synced, its request never left
		}
		if e.At >= since && e.Epoch > st.fence {
			st.fence = e.Epoch
		}
		if e.Answers != nil {
			// Nothing a stream's log holds is acknowledged (a record whose
			// offset was committed is never read again); a position
			// answered after it was logged is settled.
			for j, s := range e.Seqs {
				if j < len(e.Answers) {
					wf.answered[s] = e.Answers[j]
				}
				delete(wf.inDoubt, s)
			}
			continue
		}
		for _, s := range e.Seqs {
			if _, ok := wf.answered[s]; !ok {
				wf.inDoubt[s] = e.Key
			}
		}
		if e.Body != nil {
			st.replays = append(st.replays, e)
		}
	}
	return int64(len(b)), len(b) > 0 && b[len(b)-1] != '\n'
}

// catchUp reads what other processes appended to the log since this one
// last wrote it, or all of it when another process compacted it (a new
// file renamed into place). The caller holds the flock and leads.
func (wf *walFile) catchUp() error {
	st := wf.st
	fi, err := os.Stat(st.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	if err != nil || fileIno(fi) != st.ino {
		f, err := os.OpenFile(st.path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return fmt.Errorf("write-ahead log: %w", err)
		}
		b, err := io.ReadAll(f)
		if err == nil {
			st.ino, err = inode(f)
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("write-ahead log: %w", err)
		}
		wf.f.Close()
		wf.f = f
		wf.mu.Lock()
		since := st.since
		wf.mu.Unlock()
		wf.off, wf.torn = wf.loadStream(b, since)
		wf.size = int64(len(b))
		return nil
	}
	wf.size = fi.Size()
	if fi.Size() <= wf.off {
		return nil
	}
	var first [1]byte
	if _, err := wf.f.ReadAt(first[:], wf.off); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	if first[0] == 0 {
		return nil // only zeros past the end: nobody else wrote
	}
	b := make([]byte, fi.Size()-wf.off)
	n, err := wf.f.ReadAt(b, wf.off)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	end, torn := wf.loadStream(b[:n], 0)
	wf.off += end
	wf.torn = torn
	return nil
}

// streamRound writes one round of a stream's log (writeRound, wal.go):
// under the lock, after reading what others wrote; a fenced process writes
// only the answers of the round (they settle records for the new owner)
// and its requests get errPartitionMoved.
func (wf *walFile) streamRound(b []byte, sync bool) error {
	st := wf.st
	if st.j != nil {
		return wf.streamJournalRound(b)
	}
	if err := flock(st.lock, syscall.LOCK_EX); err != nil {
		return err
	}
	defer flock(st.lock, syscall.LOCK_UN)
	if err := wf.catchUp(); err != nil {
		return err
	}
	wf.mu.Lock()
	fenced := st.fence > st.epoch
	wf.mu.Unlock()
	if fenced {
		if a := answersOnly(b); len(a) > 0 {
			if err := wf.put(a, false); err != nil {
				return err
			}
		}
		return errPartitionMoved
	}
	if err := wf.put(b, sync); err != nil {
		return err
	}
	if wf.off >= st.compactAt {
		return wf.compact()
	}
	return nil
}

// put writes entries at the log's end (growing it in synced chunks of
// zeros, see writeRound) and syncs them when sync is set. The caller leads.
func (wf *walFile) put(b []byte, sync bool) error {
	if wf.torn {
		b = append([]byte{'\n'}, b...)
	}
	if end := wf.off + int64(len(b)); end > wf.size {
		if err := wf.grow(end); err != nil {
			return fmt.Errorf("write-ahead log: %w", err)
		}
	}
	if _, err := wf.f.WriteAt(b, wf.off); err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	wf.off += int64(len(b))
	wf.torn = false
	if sync {
		if err := datasync(wf.f); err != nil {
			return fmt.Errorf("write-ahead log: %w", err)
		}
	}
	return nil
}

// answersOnly keeps the answer entries of a round.
func answersOnly(b []byte) []byte {
	var out []byte
	for line := range bytes.Lines(b) {
		var e streamEntry
		if json.Unmarshal(line, &e) == nil && e.Answers != nil {
			out = append(out, line...)
		}
	}
	return out
}

// recordStream makes a stream request's entry durable before it is sent:
// its positions, this process's epoch and, when url is set, the request
// itself (groups: positions per element).
func (wf *walFile) recordStream(key string, seqs []int64, groups []int, url string, body []byte) error {
	wf.mu.Lock()
	defer wf.mu.Unlock()
	e := streamEntry{Key: key, Seqs: seqs, At: time.Now().Unix(), Epoch: wf.st.epoch}
	if url != "" {
		e.URL, e.Body, e.Groups = url, body, groups
		if e.Body == nil {
			e.Body = []byte{}
		}
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	wf.pending = append(append(wf.pending, line...), '\n')
	wf.next++
	n := wf.next
	wf.lastRec, wf.pendingRec = n, true
	return wf.await(n, true)
}

// stamp is the time written into an entry: a stream's log only.
func (wf *walFile) stamp() int64 {
	if wf.st == nil {
		return 0
	}
	return time.Now().Unix()
}

// compact rewrites a stream's log once it outgrew compactAt. Only the
// leader calls it, holding the flock (from streamRound).
func (wf *walFile) compact() error {
	st := wf.st
	if err := wf.f.Close(); err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	size, err := compactStream(st.path, time.Now())
	if err != nil {
		return err
	}
	f, err := os.OpenFile(st.path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	wf.f, wf.off, wf.size, wf.torn = f, size, size, false
	if st.ino, err = inode(f); err != nil {
		return err
	}
	st.compactAt = max(streamCompactBytes, 2*size)
	return nil
}

// settle records the outcomes a re-sent request got: its records are no
// longer in doubt and take these outcomes when they are read again.
func (wf *walFile) settle(groups [][]int64, outs []block.Outcome) {
	wf.mu.Lock()
	defer wf.mu.Unlock()
	for i, ss := range groups {
		o := outs[i]
		for _, s := range ss {
			wf.answered[s] = walOutcome{Status: o.Status, Code: o.Code, Message: o.Message, EntityID: o.EntityID}
			delete(wf.inDoubt, s)
		}
	}
}

// compactStream rewrites a stream's log without what can no longer be
// asked about (see above) and returns its new size. The highest owner
// epoch stays, as a mark of its own. The rewrite is synced and renamed
// into place, so a crash leaves the old or the new file.
func compactStream(p string, now time.Time) (int64, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("write-ahead log: %w", err)
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i] // the preallocated zeros (wal.go)
	}
	var entries []streamEntry
	var epoch, epochAt int64
	for line := range bytes.Lines(b) {
		var e streamEntry
		if json.Unmarshal(line, &e) != nil {
			continue // torn: never synced, its request never left
		}
		if e.Epoch >= epoch {
			epoch, epochAt = e.Epoch, e.At
		}
		entries = append(entries, e)
	}
	var out []byte
	if epoch > 0 {
		m, _ := json.Marshal(streamEntry{Epoch: epoch, At: epochAt})
		out = append(append(out, m...), '\n')
	}
	keep := streamKeep(entries, now)
	for i, e := range entries {
		if !keep[i] {
			continue
		}
		if e.Answers != nil {
			out = appendWALEntry(out, e.Key, e.Seqs, e.Answers, e.At)
			continue
		}
		line, err := json.Marshal(e)
		if err != nil {
			return 0, fmt.Errorf("write-ahead log: %w", err)
		}
		out = append(append(out, line...), '\n')
	}
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("write-ahead log: %w", err)
	}
	if _, err := f.Write(out); err != nil {
		f.Close()
		return 0, fmt.Errorf("write-ahead log: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, fmt.Errorf("write-ahead log: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("write-ahead log: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return 0, fmt.Errorf("write-ahead log: %w", err)
	}
	if d, err := os.Open(filepath.Dir(p)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return int64(len(out)), nil
}

// streamKeep says which entries of a stream's log compaction keeps:
// requests never answered after they were sent, for streamDoubtKeep, and
// answers for streamAnswerKeep. Marks (no positions) go: the highest
// epoch is kept apart (a mark of its own in a file, the owner row in a
// journal).
func streamKeep(entries []streamEntry, now time.Time) []bool {
	lastAnswer := map[int64]int{}
	for i, e := range entries {
		if e.Answers != nil {
			for _, s := range e.Seqs {
				lastAnswer[s] = i
			}
		}
	}
	keep := make([]bool, len(entries))
	for i, e := range entries {
		if len(e.Seqs) == 0 {
			continue
		}
		age := now.Sub(time.Unix(e.At, 0))
		if e.Answers != nil {
			keep[i] = age < streamAnswerKeep
			continue
		}
		if age >= streamDoubtKeep {
			continue
		}
		for _, s := range e.Seqs {
			if j, ok := lastAnswer[s]; !ok || j < i {
				keep[i] = true // never answered after it was sent
				break
			}
		}
	}
	return keep
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			if err != nil {
				return fmt.Errorf("write-ahead log: lock %s: %w", f.Name(), err)
			}
			return nil
		}
	}
}

func inode(f *os.File) (uint64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("write-ahead log: %w", err)
	}
	return fileIno(fi), nil
}

func fileIno(fi os.FileInfo) uint64 {
	if s, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(s.Ino)
	}
	return 0
}

// logsBodies says whether requests to this endpoint are logged with their
// body, to be re-sent as logged: where no lookup can tell whether an
// in-doubt request was applied (streams only).
func (w *writer) logsBodies() bool { return w.rule == nil || w.rule.query == nil }

// replayStream re-sends, exactly as logged and with their idempotency
// key, the requests of a partition that were in flight when their process
// ended, one at a time and before anything else of the partition is sent.
// Their answers settle their records (logged, as any answer).
func (w *writer) replayStream(ctx context.Context, u *block.Unit, wf *walFile) error {
	st := wf.st
	st.replayMu.Lock()
	defer st.replayMu.Unlock()
	for {
		wf.mu.Lock()
		var e streamEntry
		found := false
		for len(st.replays) > 0 && !found {
			e = st.replays[0]
			st.replays = st.replays[1:]
			for _, s := range e.Seqs {
				if _, ok := wf.inDoubt[s]; ok {
					found = true
					break
				}
			}
		}
		wf.mu.Unlock()
		if !found {
			return nil
		}
		if err := w.resend(ctx, u, wf, e); err != nil {
			wf.mu.Lock()
			st.replays = append([]streamEntry{e}, st.replays...)
			wf.mu.Unlock()
			return err
		}
	}
}

// resend sends one logged request again and settles its records.
func (w *writer) resend(ctx context.Context, u *block.Unit, wf *walFile, e streamEntry) error {
	body := e.Body
	if !w.s.sendBody {
		body = nil
	}
	req, err := w.newRequest(u, bulkLookup{u}, nil, e.Key, body)
	if err != nil {
		// Headers evaluate against the unit being processed; one that
		// cannot be evaluated there is left out, not the re-send.
		h := http.Header{"Accept": jsonType, RequestIDHeader: {e.Key}}
		if body != nil {
			h["Content-Type"] = jsonType
		}
		req = &request{method: w.s.method, header: h, body: body, id: e.Key}
	}
	req.url = e.URL
	if w.idemHeader != "" {
		req.header[w.idemHeader] = []string{e.Key}
	}
	groups := make([][]int64, 0, len(e.Groups))
	at := 0
	for _, n := range e.Groups {
		if n < 0 || at+n > len(e.Seqs) {
			break
		}
		groups = append(groups, e.Seqs[at:at+n])
		at += n
	}
	if at != len(e.Seqs) || len(groups) == 0 {
		groups = [][]int64{e.Seqs}
	}
	started := time.Now()
	res, err := w.d.send(ctx, req)
	if err != nil {
		return err
	}
	defer res.release()
	w.recordCall(u, req, &res, started, 0, len(e.Seqs))
	var outs []block.Outcome
	var whole block.Outcome
	if w.s.bulk {
		outs, whole = w.bulkOutcomes(&res, len(groups))
	} else {
		whole = w.answerOutcome(&res)
	}
	lo := make([]block.Outcome, len(groups))
	for j := range groups {
		o := whole
		if outs != nil {
			o = outs[j]
		}
		w.duplicateInDoubt(&o)
		lo[j] = o
	}
	all := make([]int64, 0, len(e.Seqs))
	for _, g := range groups {
		all = append(all, g...)
	}
	w.logAnswer(wf, e.Key, all, groups, lo)
	wf.settle(groups, lo)
	w.replays.Add(1)
	w.log.Info("write-ahead log: in-doubt stream request re-sent as logged", "key", e.Key, "records", len(e.Seqs), "status", res.status)
	return nil
}
