package httpwrite

import (
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

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
)

// The write-ahead log is what makes "nothing sent twice" exact after a
// crash: before a request leaves, the block appends the record sequence
// numbers it carries and its idempotency key to a per-lineage file. On
// resume, every logged record the checkpoint does not count as
// acknowledged is in doubt — it may or may not have reached the
// destination — and only those are resolved (lookup, idempotency key,
// duplicate code) instead of sent blindly. Records never logged were never
// sent, so they need no resolution. Where the boot id is known the line is
// a plain write, exact after a kill (the page cache keeps it), and a synced
// send horizon covers what a power loss may take (horizon.go); elsewhere,
// and in a journal, the line is durable before the request leaves (rounds,
// below), and a torn line was not synced, so its request never left.
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
	// At is when the entry was written (Unix seconds), in a stream's log
	// only: compactStream drops old entries by it.
	At int64 `json:"t,omitempty"`
	// Boot, on a line of its own, is the boot id of the process that
	// writes the entries after it (see walFile.hz and loadLog).
	Boot string `json:"b,omitempty"`
	// V, on a boot line, is the format of the entries after it: 2 (this
	// version) writes a record entry right before its request leaves,
	// without a sync, under a synced send horizon (horizon.go); absent
	// (earlier versions) wrote it synced when its unit was queued and a
	// sent marker before it left.
	V int `json:"v,omitempty"`
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
	dir string
	// boot is this boot's id (bootID); "" where unknown: record entries
	// are then synced before their request leaves (rounds) instead of
	// riding under a send horizon, since nothing could tell a killed
	// process's log from one a power loss cut short.
	boot string
	// slots is how many units the block holds at once, queued or in
	// flight (its concurrency plus the engine's input queue): it sizes the
	// send horizon's lookahead (horizon.go).
	slots int
	// journal, when set, keeps the lineages' logs instead of files
	// (walstore.go).
	journal block.Journal
	mu      sync.Mutex
	files   map[string]*walFile
}

// walFile is one lineage's log and, after a resume, its in-doubt set.
//
// Entries are numbered in the order they join the pending buffer, and
// written in rounds: one caller at a time (the "leader") writes everything
// pending with one write and, when it holds a record entry not yet durable,
// one data sync, while entries that arrive meanwhile gather for the next
// round. A request waits only until the round that covers its own entry is
// synced (await): an entry an earlier round already covered costs it
// nothing. Entries can be logged before their request is ready to leave
// (announce, from the engine's Prepare when a unit is queued for the
// block), so one round covers every request queued at the time — the
// in-doubt set stays exact: logged and unanswered, some possibly never
// sent (a lookup then says "not found" and the record is sent). On this
// kind of disk a sync costs ~0.4–2 ms; the flagship job's 10,000 requests
// per 1M rows took 5,800 of them when each request logged itself just
// before leaving. Rounds also overwrite preallocated zeros rather than
// append, so their sync flushes data blocks only (no journal commit for a
// new size), and on Linux a round is one pwritev2 with RWF_DSYNC that syncs
// the round's own bytes (writeRound). Under a send horizon (hz) the same
// rounds write record entries and answers without any sync, and only the
// horizon is synced, by its own goroutine.
type walFile struct {
	mu sync.Mutex
	f  *os.File
	// flushed is signalled (with mu) when a leader finishes a round.
	flushed *sync.Cond
	// pending holds encoded entries not yet written; spare is the other
	// buffer of the pair, reused by the next round.
	pending, spare []byte
	// next is the number of the last entry appended (the first is 1),
	// lastRec that of the last record entry; written is the last entry
	// written, durable the last one such that every record entry up to it
	// is synced (or lost).
	next, lastRec, written, durable uint64
	// pendingRec says pending holds a record entry; ahead counts the
	// entries announced since the last round was taken.
	pendingRec bool
	ahead      int
	// leading says a caller is writing a round (with mu released).
	leading bool
	// lost are entries whose round failed, with the error their callers get.
	lost []walLost
	// announced are record entries logged ahead of their request, by
	// idempotency key: the request awaits the entry instead of logging it.
	announced map[string]uint64
	// off is where the next round is written; size is how far the file is
	// preallocated (zeros written and synced), see writeRound.
	off, size int64
	// unsynced holds what rounds without a sync wrote from unsyncedAt on,
	// once one of them carried a record entry (an answer's round writes the
	// entries announced meanwhile): the next synced round writes it again
	// with its own entries, so its one synced write covers every record
	// entry not durable yet. Only the leader uses them; unsyncedAt < 0:
	// nothing to cover.
	unsynced   []byte
	unsyncedAt int64
	// noDsync says the kernel refused writeSynced's one-call synced write:
	// rounds write and sync in two calls from then on (leader only).
	noDsync bool
	// torn says the log loaded at a resume ends in a torn line: the next
	// round starts with a newline so its first entry is not glued to it.
	torn bool
	// inDoubt maps each in-doubt record to the idempotency key it was sent
	// with; resolved records are removed.
	inDoubt map[int64]string
	// answered are in-doubt records whose answer was logged.
	answered map[int64]walOutcome
	// hz is the log's send horizon (horizon.go): set on a lineage's file
	// log where the boot id is known. Record entries are then written (no
	// sync) right before their request leaves, and only the horizon is
	// synced; nil: record entries are made durable in rounds before their
	// request leaves.
	hz *horizon
	// doubtTo, when hasRange, is the highest send horizon a process of
	// another boot synced (loadHorizon): every record up to it that the
	// checkpoint does not acknowledge (acked) is in doubt, except those
	// resolved since (cleared). It covers the record entries a power loss
	// may have taken with it.
	doubtTo  int64
	hasRange bool
	acked    func(int64) bool
	cleared  map[int64]bool
	// err is why the log could not be opened (every send fails with it).
	err error
	// st is set on a stream partition's log (streamwal.go): entries carry
	// their time, rounds are written under a lock shared with other
	// processes, and the leader compacts the file.
	st *streamLog
	// jr is the log's journal backend (walstore.go); nil: the file f.
	jr *journalLog
}

// walLost is a range of entries (from, to] whose round failed.
type walLost struct {
	from, to uint64
	err      error
}

func newWAL(dir string) *wal {
	if dir == "" {
		return nil
	}
	return &wal{dir: filepath.Join(dir, "wal"), boot: bootID(), slots: walSlotsDefault, files: map[string]*walFile{}}
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
	wf := &walFile{inDoubt: map[int64]string{}, answered: map[int64]walOutcome{}, unsyncedAt: -1}
	wf.flushed = sync.NewCond(&wf.mu)
	w.files[id] = wf
	wf.err = func() error {
		if w.journal != nil {
			return w.openJournal(wf, l)
		}
		if err := os.MkdirAll(w.dir, 0o700); err != nil {
			return fmt.Errorf("write-ahead log: %w", err)
		}
		p := w.path(id)
		boot := w.boot
		flags := os.O_CREATE | os.O_RDWR
		var hzEnd int64
		var hzTorn bool
		if l.Resumed() {
			// Sent markers: only logs of earlier versions have them.
			sent, err := loadSent(p + ".sent")
			if err != nil {
				return err
			}
			to, ok, end, torn, err := loadHorizon(p+walHorizonExt, boot)
			if err != nil {
				return err
			}
			hzEnd, hzTorn = end, torn
			if ok {
				wf.doubtTo, wf.hasRange, wf.acked, wf.cleared = to, true, l.Acked, map[int64]bool{}
			}
			end, torn, err = loadLog(p, l.Acked, wf.inDoubt, wf.answered, boot, sent)
			if err != nil {
				return err
			}
			wf.off, wf.size, wf.torn = end, end, torn
		} else {
			// A fresh lineage with the same id cannot exist; a left-over
			// file is from a lineage whose end was not recorded.
			flags |= os.O_TRUNC
			for _, old := range []string{p + ".sent", p + walHorizonExt} {
				if err := os.Remove(old); err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("write-ahead log: %w", err)
				}
			}
		}
		f, err := os.OpenFile(p, flags, 0o600)
		if err != nil {
			return fmt.Errorf("write-ahead log: %w", err)
		}
		// Drop what lies past the loaded entries (an earlier version's or a
		// synced log's preallocated zeros, anything torn beyond them) so later
		// rounds write right after them.
		if err := f.Truncate(wf.off); err != nil {
			f.Close()
			return fmt.Errorf("write-ahead log: %w", err)
		}
		wf.f = f
		if boot != "" {
			hf, err := os.OpenFile(p+walHorizonExt, flags, 0o600)
			if err == nil {
				err = hf.Truncate(hzEnd)
				if err != nil {
					hf.Close()
				}
			}
			if err != nil {
				f.Close()
				return fmt.Errorf("write-ahead log: %w", err)
			}
			wf.hz = newHorizon(hf, boot, hzEnd, hzTorn, w.slots)
			// The entries this process logs follow its boot line; it is
			// written with (before) the first of them.
			wf.pending = appendBootEntry(wf.pending, boot)
		}
		return nil
	}()
	return wf, wf.err
}

// bootID identifies this boot of the machine (Linux), "" where unknown.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return string(bytes.TrimSpace(b))
}

// loadSent reads the sent-marker file an earlier version kept beside a
// log: the keys of requests that left.
func loadSent(p string) (map[string]bool, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("write-ahead log: %w", err)
	}
	sent := map[string]bool{}
	for line := range bytes.Lines(b) {
		if k := bytes.TrimSuffix(line, []byte{'\n'}); len(k) > 0 {
			sent[string(k)] = true
		}
	}
	return sent, nil
}

// loadInDoubt reads a log and keeps the records the checkpoint does not
// acknowledge. It returns where the entries end: after the last byte that
// is not NUL (a synced log is preallocated with zeros, and no entry holds a
// NUL byte; torn reports a last line without its newline). A NUL also ends
// a line: after a power loss, entries written without a sync may have left
// zeros, or a page's tail of a line, before entries synced later on their
// own (writeSynced); such pieces are not entries and are skipped. A torn
// last line (cut off by a power loss while writing) is ignored: were it a
// synced record entry, its request never left; were it an unsynced one,
// the send horizon covers its records (loadHorizon).
func loadInDoubt(p string, acked func(int64) bool, into map[int64]string, answered map[int64]walOutcome) (end int64, torn bool, err error) {
	return loadLog(p, acked, into, answered, "", nil)
}

// loadLog is loadInDoubt knowing this boot's id (boot; "" knows none) and
// an earlier version's sent markers (sent). Entries after a boot line of
// this boot were written by a process that was killed, not cut short by a
// power loss, so every write it made is there: in this version's format
// (V 2) a record entry is written right before its request leaves, so the
// entries are exactly the requests that may have left; in the earlier one
// a record entry was logged when its unit was queued, and one without a
// sent marker never left. Entries under another boot's line (or none) are
// all in doubt, and loadHorizon adds what their lost writes may hide.
func loadLog(p string, acked func(int64) bool, into map[int64]string, answered map[int64]walOutcome, boot string, sent map[string]bool) (end int64, torn bool, err error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("write-ahead log: %w", err)
	}
	end, torn = parseInDoubt(b, acked, into, answered, boot, sent)
	return end, torn, nil
}

// parseInDoubt is loadInDoubt on the log's bytes (a file's, or a
// journal's rounds joined).
// boot and sent are loadLog's (a journal has no boot lines: "", nil).
func parseInDoubt(b []byte, acked func(int64) bool, into map[int64]string, answered map[int64]walOutcome, boot string, sent map[string]bool) (end int64, torn bool) {
	b = bytes.TrimRight(b, "\x00")
	section, v := "", 0
	for line := range walLines(b) {
		var e walEntry
		if json.Unmarshal(line, &e) != nil {
			continue
		}
		if e.Boot != "" {
			section, v = e.Boot, e.V
			continue
		}
		if e.Answers == nil && boot != "" && section == boot && v < 2 && !sent[e.Key] {
			continue // an earlier version's entry, logged when queued, never sent
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
	return int64(len(b)), len(b) > 0 && b[len(b)-1] != '\n'
}

// walLines are a log's lines, a NUL ending one as a newline does (see
// loadInDoubt); runs of NULs yield nothing.
func walLines(b []byte) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for line := range bytes.Lines(b) {
			if bytes.IndexByte(line, 0) < 0 {
				if !yield(line) {
					return
				}
				continue
			}
			for piece := range bytes.SplitSeq(line, []byte{0}) {
				if len(piece) > 0 && !yield(piece) {
					return
				}
			}
		}
	}
}

// record makes the entry durable before its request is sent.
func (wf *walFile) record(key string, seqs []int64) error {
	wf.mu.Lock()
	defer wf.mu.Unlock()
	return wf.await(wf.add(key, seqs, nil), true)
}

// announce logs a record entry ahead of its request (written with the next
// round, whoever leads it) and keeps its number under key for the request:
// see take.
func (wf *walFile) announce(key string, seqs []int64) {
	wf.mu.Lock()
	defer wf.mu.Unlock()
	if wf.announced == nil {
		wf.announced = map[string]uint64{}
	}
	n := wf.add(key, seqs, nil)
	wf.announced[key] = n
	wf.ahead++
	if wf.ahead >= walAheadRound && !wf.leading {
		// Enough queued requests for a round: sync them now, in the
		// background, so the requests find their entries durable rather
		// than wait for a sync each time the workers pass the last round.
		// The round's outcome reaches the requests through await (lost).
		wf.leading = true
		go wf.background()
	}
}

// background leads rounds until the announced entries are durable.
func (wf *walFile) background() {
	wf.mu.Lock()
	defer wf.mu.Unlock()
	wf.leading = false
	_ = wf.await(wf.lastRec, true)
	// Callers that waited for the hand-over above wake up even when no
	// round was needed.
	wf.flushed.Broadcast()
}

// walAheadRound is how many announced entries start a round from announce:
// half of what is queued ahead of the block's workers by default (input
// queue 4 + concurrency 4), so a round is done before the workers reach
// its entries unless a sync takes longer than four requests.
const walAheadRound = 4

// take returns the number of the entry announced under key, if any, and
// forgets it: the request carrying exactly those records awaits it.
func (wf *walFile) take(key string) (uint64, bool) {
	wf.mu.Lock()
	defer wf.mu.Unlock()
	n, ok := wf.announced[key]
	if ok {
		delete(wf.announced, key)
	}
	return n, ok
}

// awaitDurable returns once entry n is durable (or its round failed).
func (wf *walFile) awaitDurable(n uint64) error {
	wf.mu.Lock()
	defer wf.mu.Unlock()
	return wf.await(n, true)
}

// answer logs the outcomes of an answered request (no fsync, see walEntry).
// It does not wait for a round another caller is writing: that caller writes
// the entry before it stops leading, or the next round does.
func (wf *walFile) answer(key string, seqs []int64, outs []walOutcome) error {
	wf.mu.Lock()
	defer wf.mu.Unlock()
	n := wf.add(key, seqs, outs)
	if wf.leading {
		return nil
	}
	return wf.await(n, false)
}

// add appends an entry to pending and returns its number. Called with mu.
func (wf *walFile) add(key string, seqs []int64, outs []walOutcome) uint64 {
	wf.pending = appendWALEntry(wf.pending, key, seqs, outs, wf.stamp())
	wf.next++
	if outs == nil {
		wf.lastRec, wf.pendingRec = wf.next, true
	}
	return wf.next
}

// await returns once entry n is written (durable: and every record entry
// up to it synced), leading rounds itself while no other caller does.
// Called with mu held; mu is released during a round's write and sync, so
// entries arriving meanwhile gather for the next round. A leader whose own
// entry is done writes left-over answers (no sync) before it hands over,
// so none stays in memory while records are not pending.
func (wf *walFile) await(n uint64, durable bool) error {
	for {
		if err := wf.lostErr(n); err != nil {
			return err
		}
		if wf.durable >= n || !durable && wf.written >= n {
			return nil
		}
		if wf.leading {
			wf.flushed.Wait()
			continue
		}
		wf.leading = true
		wf.round(durable)
		for len(wf.pending) > 0 && !wf.pendingRec {
			wf.round(false)
		}
		wf.leading = false
		wf.flushed.Broadcast()
	}
}

// round writes everything pending and, when sync is set and a record entry
// written so far is not durable yet, syncs. Called by the leader with mu
// held; released while writing.
func (wf *walFile) round(sync bool) {
	buf, to, from := wf.pending, wf.next, wf.durable
	sync = sync && wf.lastRec > wf.durable
	unsynced := wf.lastRec > wf.durable
	rec := wf.pendingRec
	wf.pending, wf.pendingRec, wf.ahead = wf.spare[:0], false, 0
	wf.mu.Unlock()
	err := wf.writeRound(buf, sync, rec)
	wf.mu.Lock()
	wf.spare = buf[:0]
	wf.written = to
	switch {
	case err != nil:
		// Every entry not durable yet may be lost: its caller gets err.
		wf.lost = append(wf.lost, walLost{from: from, to: to, err: err})
		wf.durable = to
	case sync || !unsynced:
		wf.durable = to
	}
}

// lostErr is the error of the failed round entry n was in, if any.
func (wf *walFile) lostErr(n uint64) error {
	for _, l := range wf.lost {
		if n > l.from && n <= l.to {
			return l.err
		}
	}
	return nil
}

// writeRound writes one round's entries at the log's end and, when sync is
// set, makes them durable (rec: the round carries a record entry). Only the
// leader calls it (wf.off, wf.size and wf.unsynced are its own while it
// leads). The file is grown in chunks of zeros that are written and fsynced
// (size and extents change) ahead of the entries, so a round's own sync
// only has data blocks to flush (no metadata it depends on changed): on
// Linux one pwritev2 with RWF_DSYNC writes the round — after the bytes of
// unsynced rounds that carried record entries, written again — and syncs
// exactly those bytes, leaving the pages of answers (no sync needed) to the
// kernel's writeback; where that call is missing, a write and an fdatasync
// of the file. A failed write leaves off where it was: the next round
// overwrites what it may have written.
func (wf *walFile) writeRound(b []byte, sync, rec bool) error {
	if wf.jr != nil {
		return wf.jr.writeRound(b)
	}
	if wf.st != nil {
		return wf.streamRound(b, sync)
	}
	if len(b) == 0 && !sync {
		return nil
	}
	if wf.torn && len(b) > 0 {
		b = append([]byte{'\n'}, b...)
	}
	if wf.hz != nil {
		// Under a send horizon nothing in this file is synced: plain
		// writes at its end, no preallocation.
		if _, err := wf.f.WriteAt(b, wf.off); err != nil {
			return fmt.Errorf("write-ahead log: %w", err)
		}
		wf.off += int64(len(b))
		wf.torn = false
		return nil
	}
	if end := wf.off + int64(len(b)); end > wf.size {
		if err := wf.grow(end); err != nil {
			return fmt.Errorf("write-ahead log: %w", err)
		}
	}
	if sync {
		at, pre := wf.off, []byte(nil)
		if wf.unsyncedAt >= 0 {
			at, pre = wf.unsyncedAt, wf.unsynced
		}
		if len(pre)+len(b) > 0 && !wf.noDsync {
			ok, err := writeSynced(wf.f, at, pre, b)
			wf.noDsync = !ok && err == nil
			if ok || err != nil {
				wf.unsynced, wf.unsyncedAt = wf.unsynced[:0], -1
			}
			if err != nil {
				return fmt.Errorf("write-ahead log: %w", err)
			}
			if ok {
				wf.off += int64(len(b))
				wf.torn = false
				return nil
			}
		}
	}
	if len(b) > 0 {
		if _, err := wf.f.WriteAt(b, wf.off); err != nil {
			return fmt.Errorf("write-ahead log: %w", err)
		}
		if !sync && (rec || wf.unsyncedAt >= 0) {
			if wf.unsyncedAt < 0 {
				wf.unsyncedAt = wf.off
			}
			wf.unsynced = append(wf.unsynced, b...)
		}
		wf.off += int64(len(b))
		wf.torn = false
	}
	if sync {
		wf.unsynced, wf.unsyncedAt = wf.unsynced[:0], -1
		if err := datasync(wf.f); err != nil {
			return fmt.Errorf("write-ahead log: %w", err)
		}
	}
	return nil
}

// walChunkMin and walChunkMax bound how much the log grows at once: it
// doubles from 64 KiB, so a small file's lineage writes little, up to 8 MiB
// (a 1M-row flagship file logs ~40 MB: ~12 grows).
const walChunkMin, walChunkMax = 64 << 10, 8 << 20

// grow preallocates the file with zeros up to at least end, and syncs it
// (writeZeros).
func (wf *walFile) grow(end int64) error {
	chunk := min(max(wf.size, walChunkMin), walChunkMax)
	size := max(wf.size+chunk, end)
	if err := writeZeros(wf.f, wf.size, size); err != nil {
		return err
	}
	wf.size = size
	return nil
}

// appendBootEntry appends the line naming the boot id of the entries after
// it (walEntry.Boot) and their format (V 2: written under a send horizon).
func appendBootEntry(b []byte, boot string) []byte {
	b = append(b, `{"k":"","s":null,"b":`...)
	b = jsonv.AppendString(b, boot)
	return append(b, `,"v":2}`+"\n"...)
}

// appendWALEntry appends one log line: what json.Marshal(walEntry) gives
// (and loadInDoubt decodes), without reflection on the request path.
func appendWALEntry(b []byte, key string, seqs []int64, outs []walOutcome, at int64) []byte {
	b = append(b, `{"k":`...)
	b = jsonv.AppendString(b, key)
	b = append(b, `,"s":`...)
	if seqs == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range seqs {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, s, 10)
		}
		b = append(b, ']')
	}
	if len(outs) > 0 {
		b = append(b, `,"a":[`...)
		for i, o := range outs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"st":`...)
			b = strconv.AppendUint(b, uint64(o.Status), 10)
			if o.Code != 0 {
				b = append(b, `,"c":`...)
				b = strconv.AppendInt(b, int64(o.Code), 10)
			}
			if o.Message != "" {
				b = append(b, `,"m":`...)
				b = jsonv.AppendString(b, o.Message)
			}
			if o.EntityID != "" {
				b = append(b, `,"id":`...)
				b = jsonv.AppendString(b, o.EntityID)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if at != 0 {
		b = append(b, `,"t":`...)
		b = strconv.AppendInt(b, at, 10)
	}
	return append(b, '}', '\n')
}

// logged returns the logged answer of an in-doubt record.
func (wf *walFile) logged(seq int64) (walOutcome, bool) {
	wf.mu.Lock()
	defer wf.mu.Unlock()
	o, ok := wf.answered[seq]
	return o, ok
}

// doubt reports whether seq is in doubt and the key it was sent with ("":
// unknown, the record is in doubt by the send horizon of another boot).
func (wf *walFile) doubt(seq int64) (string, bool) {
	wf.mu.Lock()
	defer wf.mu.Unlock()
	if k, ok := wf.inDoubt[seq]; ok {
		return k, true
	}
	if wf.hasRange && seq <= wf.doubtTo && !wf.cleared[seq] && (wf.acked == nil || !wf.acked(seq)) {
		return "", true
	}
	return "", false
}

// anyDoubt reports whether any record is still in doubt (cheap fast path).
// A horizon's range stays until the lineage ends: the records in it that
// never reach the block (filtered out before it) are never resolved.
func (wf *walFile) anyDoubt() bool {
	wf.mu.Lock()
	defer wf.mu.Unlock()
	return len(wf.inDoubt) > 0 || len(wf.answered) > 0 || wf.hasRange
}

func (wf *walFile) resolve(seqs []int64) {
	wf.mu.Lock()
	defer wf.mu.Unlock()
	for _, s := range seqs {
		delete(wf.inDoubt, s)
		delete(wf.answered, s)
		if wf.hasRange && s <= wf.doubtTo {
			wf.cleared[s] = true
		}
	}
}

// end closes and removes a lineage's log: once the lineage ended nothing
// can be in doubt.
func (w *wal) end(lineage string) error {
	w.mu.Lock()
	wf := w.files[lineage]
	delete(w.files, lineage)
	w.mu.Unlock()
	if w.journal != nil {
		return w.endJournal(lineage)
	}
	if wf != nil && wf.f != nil {
		wf.f.Close()
	}
	if wf != nil && wf.hz != nil {
		wf.hz.f.Close()
	}
	for _, p := range []string{w.path(lineage) + ".sent", w.path(lineage) + walHorizonExt} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
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
		if wf.hz != nil {
			wf.hz.f.Close()
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
