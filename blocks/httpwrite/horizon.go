package httpwrite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/connectplus/connectplus/jsonv"
)

// The send horizon keeps syncs off the request path of a lineage's file
// log. A request appends its record entry (sequence numbers and key) right
// before it leaves, with a plain write: a killed process's writes survive in
// the page cache, so on the same boot the entries are exactly the requests
// that may have left. What a power loss (or a resume on another machine)
// may take is covered by the horizon instead: a separate small file where
// the block durably records "requests may carry records up to sequence H",
// well ahead of sending. A request waits only when its highest sequence
// number is above the synced horizon; a background goroutine moves the
// horizon on when the units queued for the block or the requests leaving
// come within half the lookahead of it, so in steady state no request waits
// for a sync. After a reboot every record up to the highest horizon synced
// by a process of another boot that the checkpoint does not acknowledge
// is in doubt unless its answer survived in the log: a superset of what
// may have been sent (resolved by lookups, as any in-doubt record).
//
// Its lines are {"b":<boot id>,"h":<sequence>}, appended with one synced
// write each (pwritev2 RWF_DSYNC) over preallocated zeros, so a torn or
// lost line leaves the previous ones readable.

// walHorizonExt names the horizon file beside its log.
const walHorizonExt = ".horizon"

// The lookahead, in sequence numbers, is sized from the records a unit
// carries (the most seen, r) and how many units the block holds at once
// (slots: concurrency plus the engine's input queue of 4): at least
// walHorizonMin×slots units' worth, so the queued units and those in flight
// are covered with room to spare, and at most walHorizonMax×slots units'
// worth (256 for the default concurrency of 4: ~18,000 records of the
// flagship job), which bounds what a power loss adds to the in-doubt set.
// In between it follows the rate at which sequence numbers are sent, so
// that a sync is needed about every walHorizonPeriod: a slow (rate-limited)
// flow keeps a small horizon, a fast one syncs ~20 times a second, or once
// per 16×slots units at the cap (the flagship job: ~110 syncs per 1M rows,
// against one per eight requests before).
const (
	walHorizonMin    = 2
	walHorizonMax    = 32
	walHorizonPeriod = 50 * time.Millisecond
	// walSlotsDefault is the block's default concurrency (4) plus the
	// engine's input queue (4).
	walSlotsDefault = 8
)

// horizon is a log's send horizon. Its fields are guarded by the walFile's
// mu, except those of the writer (f, off, size, torn, noDsync), which only
// the running goroutine (horizonLoop) uses.
type horizon struct {
	f             *os.File
	boot          string
	off, size     int64
	torn, noDsync bool
	slots         int
	// durable is the highest horizon synced (once synced); want is the
	// highest asked for (once asked), ahead the lookahead it was set with.
	durable, want, ahead int64
	synced, asked        bool
	// running says the goroutine writing the horizon runs; err is why its
	// last write failed (requests waiting for it get it).
	running bool
	err     error
	// units is the most records a unit carried; lastSeq and lastAt are the
	// sequence number and time of the last move, for the rate.
	units   int
	lastSeq int64
	lastAt  time.Time
	// syncs counts synced writes, waits the requests that waited for one.
	syncs, waits int
	// write makes horizon h durable (writeLine; tests slow it down).
	write func(h int64) error
}

func newHorizon(f *os.File, boot string, off int64, torn bool, slots int) *horizon {
	hz := &horizon{f: f, boot: boot, off: off, size: off, torn: torn, slots: max(slots, 1)}
	hz.write = hz.writeLine
	return hz
}

// cover makes sure the synced horizon will reach seq, the highest sequence
// number of a unit carrying recs records, moving it on in the background
// when seq comes within half the lookahead of what was asked; with wait it
// returns once the synced horizon covers seq (or its write failed). Called
// with wf.mu held; mu is released while waiting.
func (wf *walFile) cover(seq int64, recs int, wait bool) error {
	hz := wf.hz
	hz.units = max(hz.units, recs, 1)
	if !hz.asked || seq > hz.want-hz.ahead/2 {
		now := time.Now()
		hz.ahead = hz.lookahead(seq, now)
		want := seq + hz.ahead
		if hz.asked {
			want = max(want, hz.want)
		}
		hz.want, hz.asked, hz.lastSeq, hz.lastAt = want, true, seq, now
		wf.runHorizon()
	}
	if !wait || hz.covers(seq) {
		return nil
	}
	hz.waits++
	for !hz.covers(seq) {
		if !hz.running {
			if hz.err != nil {
				return hz.err
			}
			// Asked again after a failed write, maybe for less than seq.
			if !hz.asked || hz.want < seq {
				hz.want, hz.asked = seq, true
			}
			wf.runHorizon()
		}
		wf.flushed.Wait()
	}
	return nil
}

// covers reports whether the synced horizon covers seq.
func (hz *horizon) covers(seq int64) bool { return hz.synced && seq <= hz.durable }

// lookahead is the next move's lookahead (see walHorizonMin). It at most
// doubles from one move to the next: the units queued when a lineage
// starts arrive in a burst, and a rate taken from them would set the cap's
// lookahead for a flow the destination's rate limit keeps slow.
func (hz *horizon) lookahead(seq int64, now time.Time) int64 {
	unit := int64(hz.units) * int64(hz.slots)
	lo, hi := walHorizonMin*unit, walHorizonMax*unit
	ahead := lo
	if dt := now.Sub(hz.lastAt); hz.asked && dt > 0 && seq > hz.lastSeq {
		// Twice what is sent in a period: the next move comes at half.
		rate := float64(seq-hz.lastSeq) / dt.Seconds()
		ahead = int64(min(2*rate*walHorizonPeriod.Seconds(), float64(hi)))
		ahead = min(ahead, 2*hz.ahead)
	}
	return min(max(ahead, lo), hi)
}

// runHorizon starts the goroutine that writes the horizon, unless it runs.
// Called with wf.mu held.
func (wf *walFile) runHorizon() {
	hz := wf.hz
	if hz.running {
		return
	}
	hz.running, hz.err = true, nil
	go wf.horizonLoop()
}

// horizonLoop writes the horizon until what was asked is durable, then
// stops; a failed write stops it too, and the next request asks again.
func (wf *walFile) horizonLoop() {
	hz := wf.hz
	wf.mu.Lock()
	defer wf.mu.Unlock()
	for !hz.covers(hz.want) {
		want, write := hz.want, hz.write
		wf.mu.Unlock()
		err := write(want)
		wf.mu.Lock()
		hz.syncs++
		if err != nil {
			// The requests waiting get err; the next one asks again.
			hz.err, hz.asked = err, false
			break
		}
		hz.durable, hz.synced = want, true
		wf.flushed.Broadcast()
	}
	hz.running = false
	wf.flushed.Broadcast()
}

// writeLine appends horizon h's line and syncs it: one pwritev2 with
// RWF_DSYNC over preallocated zeros (their sync done once per chunk, so
// this one flushes a data block only), or a write and an fdatasync where
// that call is missing. Only horizonLoop calls it.
func (hz *horizon) writeLine(h int64) error {
	var buf [96]byte
	b := buf[:0]
	if hz.torn {
		b = append(b, '\n')
	}
	b = append(b, `{"b":`...)
	b = jsonv.AppendString(b, hz.boot)
	b = append(b, `,"h":`...)
	b = strconv.AppendInt(b, h, 10)
	b = append(b, '}', '\n')
	if end := hz.off + int64(len(b)); end > hz.size {
		size := max(end, hz.size+min(max(hz.size, walChunkMin), walChunkMax))
		if err := writeZeros(hz.f, hz.size, size); err != nil {
			return fmt.Errorf("write-ahead log: horizon: %w", err)
		}
		hz.size = size
	}
	if !hz.noDsync {
		ok, err := writeSynced(hz.f, hz.off, b)
		if err != nil {
			return fmt.Errorf("write-ahead log: horizon: %w", err)
		}
		hz.noDsync = !ok
		if ok {
			hz.off += int64(len(b))
			hz.torn = false
			return nil
		}
	}
	if _, err := hz.f.WriteAt(b, hz.off); err != nil {
		return fmt.Errorf("write-ahead log: horizon: %w", err)
	}
	if err := datasync(hz.f); err != nil {
		return fmt.Errorf("write-ahead log: horizon: %w", err)
	}
	hz.off += int64(len(b))
	hz.torn = false
	return nil
}

// writeZeros writes zeros over [from, to) of f and syncs it (size and
// extents change), so later synced writes there flush data blocks only.
// Zeros are written, not fallocated: ext4 marks fallocated extents
// unwritten, and writing into one changes metadata again.
func writeZeros(f *os.File, from, to int64) error {
	zeros := make([]byte, min(to-from, 1<<20))
	for at := from; at < to; {
		n := min(int64(len(zeros)), to-at)
		if _, err := f.WriteAt(zeros[:n], at); err != nil {
			return err
		}
		at += n
	}
	return f.Sync()
}

// loadHorizon reads a horizon file: the highest horizon written by a
// process of another boot than boot ("": every line counts), whether there
// is one, where the lines end (after the last byte that is not NUL) and
// whether the last is torn. Lines of this boot are a killed process's, whose
// record entries all survived: they add nothing. What does not parse (a
// torn line, pieces between zeros) is skipped; a torn line was never
// synced, so no request relied on it.
func loadHorizon(p, boot string) (h int64, ok bool, end int64, torn bool, err error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, 0, false, nil
	}
	if err != nil {
		return 0, false, 0, false, fmt.Errorf("write-ahead log: %w", err)
	}
	b = bytes.TrimRight(b, "\x00")
	for line := range walLines(b) {
		var e struct {
			Boot string `json:"b"`
			H    *int64 `json:"h"`
		}
		if json.Unmarshal(line, &e) != nil || e.H == nil || boot != "" && e.Boot == boot {
			continue
		}
		if !ok || *e.H > h {
			h, ok = *e.H, true
		}
	}
	return h, ok, int64(len(b)), len(b) > 0 && b[len(b)-1] != '\n', nil
}

// sendLine logs a request's record entry right before it leaves (no sync),
// once the synced horizon covers its records (recs: its unit's record
// count, which sizes the lookahead).
func (wf *walFile) sendLine(key string, seqs []int64, recs int) error {
	wf.mu.Lock()
	defer wf.mu.Unlock()
	if len(seqs) > 0 {
		if err := wf.cover(maxSeq(seqs), recs, true); err != nil {
			return err
		}
	}
	return wf.await(wf.addLine(key, seqs), false)
}

// intend tells the horizon about a unit queued for the block (Prepare): its
// highest sequence number may move the horizon on before its request asks.
func (wf *walFile) intend(seqs []int64) {
	if len(seqs) == 0 {
		return
	}
	wf.mu.Lock()
	defer wf.mu.Unlock()
	_ = wf.cover(maxSeq(seqs), len(seqs), false)
}

// addLine appends a record entry that needs no sync to pending and returns
// its number. Called with mu.
func (wf *walFile) addLine(key string, seqs []int64) uint64 {
	wf.pending = appendWALEntry(wf.pending, key, seqs, nil, 0)
	wf.next++
	return wf.next
}

func maxSeq(seqs []int64) int64 {
	m := seqs[0]
	for _, s := range seqs[1:] {
		m = max(m, s)
	}
	return m
}
