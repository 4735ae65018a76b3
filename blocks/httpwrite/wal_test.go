package httpwrite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
)

// walLineage is a resumed lineage that acknowledged nothing.
type walLineage struct{ id string }

func (l walLineage) ID() string          { return l.id }
func (l walLineage) Acked(int64) bool    { return false }
func (l walLineage) State(string) []byte { return nil }
func (l walLineage) Resumed() bool       { return true }
func (l walLineage) seqs(i int) []int64  { return []int64{int64(3 * i), int64(3*i + 1), int64(3*i + 2)} }
func (l walLineage) key(i int) string    { return fmt.Sprintf("%s-<%d>&\"é\u2028", l.id, i) }
func (l walLineage) outcome(i int) walOutcome {
	return walOutcome{Status: block.Status(i % 4), Code: i % 3 * 600, Message: fmt.Sprintf("m\n%d<", i%2), EntityID: fmt.Sprint(i % 5)}
}

// The hand-written encoder writes what json.Marshal(walEntry) writes,
// up to escaping: both decode to the same entry.
func TestWALEntryEncoding(t *testing.T) {
	l := walLineage{id: "L"}
	for _, e := range []walEntry{
		{Key: l.key(1), Seqs: l.seqs(1)},
		{Key: "k", Seqs: nil},
		{Key: "k", Seqs: []int64{}},
		{Key: l.key(2), Seqs: l.seqs(2), Answers: []walOutcome{l.outcome(0), l.outcome(1), l.outcome(2), {}}},
		{Key: "k\x00\xff", Seqs: []int64{-1, 1 << 62}, Answers: []walOutcome{}},
		{Key: "stream", Seqs: []int64{1 << 62}, At: 1_800_000_000},
	} {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got := appendWALEntry(nil, e.Key, e.Seqs, e.Answers, e.At)
		if bytes.IndexByte(got, 0) >= 0 {
			t.Fatalf("%q: a NUL byte would end the log early", got)
		}
		if got[len(got)-1] != '\n' {
			t.Fatalf("%s: no newline", got)
		}
		var a, b walEntry
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		if err := json.Unmarshal(want, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s decodes to %+v, json.Marshal's %s to %+v", got, a, want, b)
		}
	}
}

// Concurrent records and answers, group-committed, all reach the log intact
// and in a consistent order: every answer after its request's record.
func TestWALGroupCommit(t *testing.T) {
	dir := t.TempDir()
	w := syncedWAL(dir)
	l := walLineage{id: "lineage-1"}
	wf, err := w.open(freshLineage{l})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 200
	var wg sync.WaitGroup
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				i := g*each + j
				if err := wf.record(l.key(i), l.seqs(i)); err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					o := l.outcome(i)
					if err := wf.answer(l.key(i), l.seqs(i), []walOutcome{o, o, o}); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	w.close()

	inDoubt, answered := map[int64]string{}, map[int64]walOutcome{}
	end, torn, err := loadInDoubt(w.path(l.id), l.Acked, inDoubt, answered)
	if err != nil || torn {
		t.Fatal(err, torn)
	}
	for i := range workers * each {
		for _, s := range l.seqs(i) {
			if inDoubt[s] != l.key(i) {
				t.Fatalf("record %d: key %q, want %q", s, inDoubt[s], l.key(i))
			}
			o, ok := answered[s]
			if i%2 == 0 && (!ok || o != l.outcome(i)) {
				t.Fatalf("record %d: answer %+v %v, want %+v", s, o, ok, l.outcome(i))
			}
			if i%2 == 1 && ok {
				t.Fatalf("record %d: unexpected answer %+v", s, o)
			}
		}
	}
	// Order: each answer line comes after the line recording its request.
	b, err := os.ReadFile(w.path(l.id))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) <= end || bytes.IndexByte(b, 0) != int(end) || len(bytes.Trim(b[end:], "\x00")) != 0 {
		t.Fatalf("log of %d bytes, entries end at %d: want preallocated zeros after them", len(b), end)
	}
	b = b[:end]
	recorded := map[string]bool{}
	lines := 0
	for line := range bytes.Lines(b) {
		lines++
		var e walEntry
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("line %d %q: %v", lines, line, err)
		}
		if e.Boot != "" {
			if lines != 1 {
				t.Fatalf("line %d: a boot line after entries", lines)
			}
			lines--
			continue
		}
		if e.Answers == nil {
			recorded[e.Key] = true
		} else if !recorded[e.Key] {
			t.Fatalf("line %d: answer of %q before its record", lines, e.Key)
		}
	}
	if want := workers*each + workers*each/2; lines != want {
		t.Fatalf("%d lines, want %d", lines, want)
	}
}

// syncedWAL is a log whose record entries are synced before their request
// leaves, in rounds, as where the boot id is unknown (no send horizon).
func syncedWAL(dir string) *wal {
	w := newWAL(dir)
	w.boot = ""
	return w
}

// freshLineage is l not resumed (the log is created, not loaded).
type freshLineage struct{ walLineage }

func (freshLineage) Resumed() bool { return false }

// A failed write reaches the caller whose entry it carried.
func TestWALWriteError(t *testing.T) {
	w := syncedWAL(t.TempDir())
	wf, err := w.open(freshLineage{walLineage{id: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	wf.f.Close()
	if err := wf.record("k", []int64{1}); err == nil {
		t.Fatal("record on a closed log: no error")
	}
	if err := wf.answer("k", []int64{1}, []walOutcome{{}}); err == nil {
		t.Fatal("answer on a closed log: no error")
	}
}

// A resumed log continues after its entries: the preallocated zeros and a
// torn last line are dropped, and the next entry is not glued to the torn
// line.
func TestWALResume(t *testing.T) {
	dir := t.TempDir()
	l := walLineage{id: "resumed"}
	w := syncedWAL(dir)
	wf, err := w.open(freshLineage{l})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := wf.record(l.key(i), l.seqs(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := wf.answer(l.key(0), l.seqs(0), []walOutcome{l.outcome(0), l.outcome(0), l.outcome(0)}); err != nil {
		t.Fatal(err)
	}
	// A power loss while writing entry 3: half a line, then zeros.
	half := appendWALEntry(nil, l.key(3), l.seqs(3), nil, 0)
	if _, err := wf.f.WriteAt(half[:len(half)/2], wf.off); err != nil {
		t.Fatal(err)
	}
	w.close()

	w2 := syncedWAL(dir)
	wf2, err := w2.open(l)
	if err != nil {
		t.Fatal(err)
	}
	if len(wf2.inDoubt) != 9 || len(wf2.answered) != 3 {
		t.Fatalf("resumed: %d in doubt, %d answered; want 9 (entries 0–2) and 3 (entry 0)", len(wf2.inDoubt), len(wf2.answered))
	}
	if !wf2.torn {
		t.Fatal("the torn line was not noticed")
	}
	if err := wf2.record(l.key(4), l.seqs(4)); err != nil {
		t.Fatal(err)
	}
	w2.close()
	inDoubt, answered := map[int64]string{}, map[int64]walOutcome{}
	if _, torn, err := loadInDoubt(w.path(l.id), l.Acked, inDoubt, answered); err != nil || torn {
		t.Fatal(err, torn)
	}
	for _, i := range []int{0, 1, 2, 4} {
		for _, s := range l.seqs(i) {
			if inDoubt[s] != l.key(i) {
				t.Fatalf("entry %d record %d: key %q", i, s, inDoubt[s])
			}
		}
	}
	if _, ok := inDoubt[l.seqs(3)[0]]; ok {
		t.Fatal("the torn entry was loaded")
	}
	if err := w2.end(l.id); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(w.path(l.id)); !os.IsNotExist(err) {
		t.Fatalf("log not removed at the lineage's end: %v", err)
	}
}

// BenchmarkWALRecord is one request's entry made durable on its own (a
// round of one write and one data sync): what the log costs a request that
// no other request shares a round with, on the disk the test directory is on.
// benchWAL opens a fresh lineage's log in a temporary directory, closed
// when the benchmark ends.
func benchWAL(b *testing.B) (*walFile, walLineage) {
	b.Helper()
	w := syncedWAL(b.TempDir())
	b.Cleanup(w.close)
	l := walLineage{id: "bench"}
	wf, err := w.open(freshLineage{l})
	if err != nil {
		b.Fatal(err)
	}
	return wf, l
}

func BenchmarkWALRecord(b *testing.B) {
	wf, l := benchWAL(b)
	seqs := make([]int64, 70)
	b.ResetTimer()
	for i := range b.N {
		for j := range seqs {
			seqs[j] = int64(i*70 + j)
		}
		if err := wf.record(l.key(i), seqs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWALAnnounced is requests whose entries were announced when
// their units were queued, 8 at a time (Prepare): one round makes the
// queued ones durable, so a sync costs an eighth per request.
func BenchmarkWALAnnounced(b *testing.B) {
	wf, l := benchWAL(b)
	seqs := make([]int64, 70)
	b.ResetTimer()
	for i := 0; i < b.N; i += 8 {
		var keys [8]string
		for k := range keys {
			keys[k] = l.key(i + k)
			wf.announce(keys[k], seqs)
		}
		for _, k := range keys {
			n, ok := wf.take(k)
			if !ok {
				b.Fatal("announced entry not found")
			}
			if err := wf.awaitDurable(n); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkWALSendLine is one request's record entry under a send horizon
// (a plain write right before it leaves; the horizon is moved on in the
// background, units of 70 records 100 sequence numbers apart): what the
// flagship job's requests pay instead of a synced round and a sent marker.
func BenchmarkWALSendLine(b *testing.B) {
	w := newWAL(b.TempDir())
	b.Cleanup(w.close)
	l := walLineage{id: "bench"}
	wf, err := w.open(freshLineage{l})
	if err != nil {
		b.Fatal(err)
	}
	if wf.hz == nil {
		b.Fatal("no send horizon (no boot id?)")
	}
	seqs := make([]int64, 70)
	b.ResetTimer()
	for i := range b.N {
		for j := range seqs {
			seqs[j] = int64(i*100 + j)
		}
		if err := wf.sendLine(l.key(i), seqs, len(seqs)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	wf.mu.Lock()
	b.ReportMetric(float64(wf.hz.syncs)/float64(b.N), "syncs/op")
	b.ReportMetric(float64(wf.hz.waits)/float64(b.N), "waits/op")
	wf.mu.Unlock()
}

// BenchmarkWALAnswer is one request's answer of 70 outcomes logged (no
// sync, no other caller leading a round).
func BenchmarkWALAnswer(b *testing.B) {
	wf, l := benchWAL(b)
	seqs := make([]int64, 70)
	outs := make([]walOutcome, 70)
	for j := range outs {
		outs[j] = walOutcome{Status: block.Delivered, Code: 200, EntityID: fmt.Sprint(1_000_000 + j)}
	}
	b.ResetTimer()
	for i := range b.N {
		for j := range seqs {
			seqs[j] = int64(i*70 + j)
		}
		if err := wf.answer(l.key(i), seqs, outs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWALFlagship is the flagship job's pattern per request: entries
// announced 8 at a time when queued, each request awaiting its entry, then
// its answer of 70 outcomes logged (no sync). A round's sync then has the
// answers logged since the last one to flush as well, unless it syncs its
// own bytes only (writeSynced).
func BenchmarkWALFlagship(b *testing.B) {
	wf, l := benchWAL(b)
	outs := make([]walOutcome, 70)
	for j := range outs {
		outs[j] = walOutcome{Status: block.Delivered, Code: 200, EntityID: fmt.Sprint(1_000_000 + j)}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i += 8 {
		var keys [8]string
		var seqs [8][]int64
		for k := range keys {
			keys[k] = l.key(i + k)
			seqs[k] = make([]int64, 70)
			for j := range seqs[k] {
				seqs[k][j] = int64((i+k)*70 + j)
			}
			wf.announce(keys[k], seqs[k])
		}
		for k, key := range keys {
			n, ok := wf.take(key)
			if !ok {
				b.Fatal("announced entry not found")
			}
			if err := wf.awaitDurable(n); err != nil {
				b.Fatal(err)
			}
			if err := wf.answer(key, seqs[k], outs); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// Entries announced when their units were queued are made durable by the
// first request's round, together: the others find theirs durable and do
// not sync again; a resume finds every announced entry in doubt (logged,
// maybe never sent) and a request's key finds its entry once.
func TestWALAnnounce(t *testing.T) {
	dir := t.TempDir()
	l := walLineage{id: "announced"}
	w := syncedWAL(dir)
	wf, err := w.open(freshLineage{l})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		wf.announce(l.key(i), l.seqs(i))
	}
	n0, ok := wf.take(l.key(0))
	if !ok {
		t.Fatal("announced entry 0 not found")
	}
	if _, ok := wf.take(l.key(0)); ok {
		t.Fatal("an announced entry was found twice")
	}
	if err := wf.awaitDurable(n0); err != nil {
		t.Fatal(err)
	}
	off := wf.off
	for i := 1; i < 3; i++ {
		n, ok := wf.take(l.key(i))
		if !ok {
			t.Fatalf("announced entry %d not found", i)
		}
		if err := wf.awaitDurable(n); err != nil {
			t.Fatal(err)
		}
	}
	if wf.off != off {
		t.Fatalf("entries 1 and 2 were written again (log end %d, was %d)", wf.off, off)
	}
	// Entry 3 is announced but its request never built: still logged by
	// the next round.
	wf.announce(l.key(3), l.seqs(3))
	if err := wf.record(l.key(4), l.seqs(4)); err != nil {
		t.Fatal(err)
	}
	w.close()
	inDoubt, answered := map[int64]string{}, map[int64]walOutcome{}
	if _, _, err := loadInDoubt(w.path(l.id), l.Acked, inDoubt, answered); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		for _, s := range l.seqs(i) {
			if inDoubt[s] != l.key(i) {
				t.Fatalf("entry %d record %d: key %q", i, s, inDoubt[s])
			}
		}
	}
}

// A round that fails fails every entry it carried, announced ones included,
// and later rounds go on.
func TestWALAnnouncedWriteError(t *testing.T) {
	w := syncedWAL(t.TempDir())
	wf, err := w.open(freshLineage{walLineage{id: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	good := wf.f
	bad, err := os.Open(os.DevNull) // read-only: writes fail
	if err != nil {
		t.Fatal(err)
	}
	wf.f = bad
	wf.announce("a", []int64{1})
	wf.announce("b", []int64{2})
	na, _ := wf.take("a")
	nb, _ := wf.take("b")
	if err := wf.awaitDurable(na); err == nil {
		t.Fatal("a failed round: no error")
	}
	wf.f = good
	bad.Close()
	if err := wf.awaitDurable(nb); err == nil {
		t.Fatal("an entry of a failed round: no error")
	}
	if err := wf.record("c", []int64{3}); err != nil {
		t.Fatalf("the round after a failed one: %v", err)
	}
	w.close()
}

// Once walAheadRound entries are announced a background round syncs them
// before their requests ask; requests then await entries already durable
// or being synced, and the log holds each once.
func TestWALAnnounceBackgroundRound(t *testing.T) {
	w := syncedWAL(t.TempDir())
	l := walLineage{id: "ahead"}
	wf, err := w.open(freshLineage{l})
	if err != nil {
		t.Fatal(err)
	}
	const n = 3*walAheadRound + 1
	for i := range n {
		wf.announce(l.key(i), l.seqs(i))
	}
	for i := range n {
		k, ok := wf.take(l.key(i))
		if !ok {
			t.Fatalf("entry %d not announced", i)
		}
		if err := wf.awaitDurable(k); err != nil {
			t.Fatal(err)
		}
	}
	wf.mu.Lock()
	leading, durable, last := wf.leading, wf.durable, wf.lastRec
	wf.mu.Unlock()
	if durable < last {
		t.Fatalf("durable %d < last record %d (leading %v)", durable, last, leading)
	}
	w.close()
	inDoubt, answered := map[int64]string{}, map[int64]walOutcome{}
	if _, _, err := loadInDoubt(w.path(l.id), l.Acked, inDoubt, answered); err != nil {
		t.Fatal(err)
	}
	if len(inDoubt) != 3*n {
		t.Fatalf("%d records logged, want %d", len(inDoubt), 3*n)
	}
}

// horizonWAL opens a fresh lineage's log under a send horizon (this boot's
// id known, as on Linux).
func horizonWAL(t *testing.T, dir string, l walLineage) (*wal, *walFile) {
	t.Helper()
	w := newWAL(dir)
	if w.boot == "" {
		t.Fatal("no boot id (/proc/sys/kernel/random/boot_id): the send horizon cannot be checked")
	}
	wf, err := w.open(freshLineage{l})
	if err != nil {
		t.Fatal(err)
	}
	if wf.hz == nil {
		t.Fatal("no send horizon")
	}
	return w, wf
}

// unitSeqsAt are the records of unit i of a horizon test: 70 of every 100
// sequence numbers (the rest filtered out before the block).
func unitSeqsAt(i int) []int64 {
	s := make([]int64, 70)
	for j := range s {
		s[j] = int64(100*i + 1 + j)
	}
	return s
}

// Under a send horizon a request's entry is written when it leaves, so a
// kill on the same boot leaves exactly the requests that left in doubt —
// not those only queued, not those answered — and no horizon range; after
// a reboot (another boot's horizon) every record up to the synced horizon
// the checkpoint does not acknowledge is in doubt, even with every record
// entry lost, and no record past it.
func TestWALHorizonInDoubt(t *testing.T) {
	dir := t.TempDir()
	l := walLineage{id: "horizon"}
	w, wf := horizonWAL(t, dir, l)
	for i := range 4 {
		wf.intend(unitSeqsAt(i)) // queued for the block
	}
	for i := range 2 { // units 0 and 1 leave; 2 and 3 stay queued
		if err := wf.sendLine(l.key(i), unitSeqsAt(i), 70); err != nil {
			t.Fatal(err)
		}
	}
	outs := make([]walOutcome, 70)
	for j := range outs {
		outs[j] = l.outcome(j)
	}
	if err := wf.answer(l.key(0), unitSeqsAt(0), outs); err != nil {
		t.Fatal(err)
	}
	wf.mu.Lock()
	horizon, sent := wf.hz.durable, unitSeqsAt(1)[69]
	wf.mu.Unlock()
	if horizon < unitSeqsAt(3)[69] {
		t.Fatalf("synced horizon %d below the queued units (up to %d)", horizon, unitSeqsAt(3)[69])
	}
	if limit := unitSeqsAt(3)[69] + walHorizonMax*int64(w.slots)*70; horizon > limit {
		t.Fatalf("synced horizon %d past its bound %d", horizon, limit)
	}
	w.close() // killed: every write is in the page cache

	// Same boot: exactly unit 1 in doubt; unit 0 settled by its answer.
	w2 := newWAL(dir)
	wf2, err := w2.open(l)
	if err != nil {
		t.Fatal(err)
	}
	if wf2.hasRange {
		t.Fatal("same boot: a horizon range")
	}
	for i := range 4 {
		for _, s := range unitSeqsAt(i) {
			_, in := wf2.doubt(s)
			o, answered := wf2.logged(s)
			switch {
			case i == 0 && (!answered || o != outs[s-1]):
				t.Fatalf("same boot: record %d: answer %+v %v, want %+v", s, o, answered, outs[s-1])
			case i == 1 && (!in || answered):
				t.Fatalf("same boot: record %d of the request that left: in doubt %v, answered %v", s, in, answered)
			case i >= 2 && (in || answered):
				t.Fatalf("same boot: record %d of a unit only queued: in doubt %v, answered %v", s, in, answered)
			}
		}
	}
	w2.close()

	// Another boot, and a power loss took every record entry: the horizon
	// file alone says what may have left.
	p := w.path(l.id)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	acked := ackedBelow{walLineage: l, below: 10}
	w3 := newWAL(dir)
	w3.boot = "another-boot"
	wf3, err := w3.open(acked)
	if err != nil {
		t.Fatal(err)
	}
	if !wf3.hasRange || wf3.doubtTo != horizon {
		t.Fatalf("another boot: range %v up to %d, want the synced horizon %d", wf3.hasRange, wf3.doubtTo, horizon)
	}
	for _, s := range []int64{1, 9} {
		if _, in := wf3.doubt(s); in {
			t.Fatalf("another boot: record %d acknowledged by the checkpoint is in doubt", s)
		}
	}
	for _, s := range []int64{10, sent, unitSeqsAt(3)[0], horizon} {
		if _, in := wf3.doubt(s); !in {
			t.Fatalf("another boot: record %d (up to the horizon %d) not in doubt", s, horizon)
		}
	}
	if _, in := wf3.doubt(horizon + 1); in {
		t.Fatalf("another boot: record %d past the horizon in doubt", horizon+1)
	}
	if !wf3.anyDoubt() {
		t.Fatal("another boot: anyDoubt false")
	}
	wf3.resolve([]int64{sent})
	if _, in := wf3.doubt(sent); in {
		t.Fatal("another boot: a resolved record still in doubt")
	}
	// The resumed process's own horizon (this boot: "another-boot") adds
	// nothing to a later resume on that boot; the earlier one stays.
	if err := wf3.sendLine("k", []int64{horizon + 5}, 1); err != nil {
		t.Fatal(err)
	}
	w3.close()
	h, ok, _, _, err := loadHorizon(p+walHorizonExt, "another-boot")
	if err != nil || !ok || h != horizon {
		t.Fatalf("horizon of the other boots: %d %v %v, want %d", h, ok, err, horizon)
	}
	if err := w3.end(l.id); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{p, p + walHorizonExt} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Fatalf("%s not removed at the lineage's end: %v", f, err)
		}
	}
}

// ackedBelow is a resumed lineage whose checkpoint acknowledged every
// record below below.
type ackedBelow struct {
	walLineage
	below int64
}

func (l ackedBelow) Acked(s int64) bool { return s < l.below }

// In steady state no request waits for a sync: the units queued ahead of
// the block move the horizon on in the background, far enough that
// sending does not catch up with a sync even on a slow disk (each sync
// made to take 2 ms here, each request 100 µs or more), and the horizon
// is synced far less often than once per request.
func TestWALHorizonNoWaitInSteadyState(t *testing.T) {
	l := walLineage{id: "steady"}
	w, wf := horizonWAL(t, t.TempDir(), l)
	defer w.close()
	write := wf.hz.write
	wf.hz.write = func(h int64) error {
		time.Sleep(2 * time.Millisecond)
		return write(h)
	}
	const units, queued, warm = 2000, 8, 100
	for i := range queued {
		wf.intend(unitSeqsAt(i))
	}
	waits := 0
	for i := range units {
		if i == warm {
			wf.mu.Lock()
			waits = wf.hz.waits
			wf.mu.Unlock()
		}
		if err := wf.sendLine(l.key(i), unitSeqsAt(i), 70); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Microsecond) // the request in flight
		wf.intend(unitSeqsAt(i + queued))  // the next unit queued
	}
	wf.mu.Lock()
	defer wf.mu.Unlock()
	t.Logf("%d requests: %d horizon syncs, %d waits (%d in the first %d)", units, wf.hz.syncs, wf.hz.waits, waits, warm)
	if wf.hz.waits != waits {
		t.Fatalf("%d requests waited for a sync after the first %d", wf.hz.waits-waits, warm)
	}
	// The lookahead's floor (walHorizonMin × slots units) moves the
	// horizon at most once per slots units however slow the requests; at
	// this pace the rate makes it ~40 moves.
	if limit := units/w.slots + 1; wf.hz.syncs > limit {
		t.Fatalf("%d horizon syncs for %d requests, want at most %d", wf.hz.syncs, units, limit)
	}
}

// A slow flow (a destination's rate limit: here a request every 20 ms)
// keeps the horizon near the lookahead's floor, though the units queued
// when the lineage starts arrive in a burst: what a power loss adds to the
// in-doubt set stays small.
func TestWALHorizonSlowFlowStaysNearFloor(t *testing.T) {
	l := walLineage{id: "slow"}
	w, wf := horizonWAL(t, t.TempDir(), l)
	defer w.close()
	const queued = 8
	for i := range queued {
		wf.intend(unitSeqsAt(i))
	}
	for i := range 40 {
		if err := wf.sendLine(l.key(i), unitSeqsAt(i), 70); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		wf.intend(unitSeqsAt(i + queued))
	}
	wf.mu.Lock()
	defer wf.mu.Unlock()
	floor := walHorizonMin * int64(w.slots) * 70
	last := unitSeqsAt(40 + queued - 1)[69]
	if wf.hz.ahead != floor || wf.hz.want > last+2*floor {
		t.Fatalf("slow flow: lookahead %d (floor %d), horizon %d past the last unit queued (want at most %d)", wf.hz.ahead, floor, wf.hz.want-last, 2*floor)
	}
}

// A failed horizon write fails the request waiting for it (it must not
// leave), and the next request asks again.
func TestWALHorizonWriteError(t *testing.T) {
	l := walLineage{id: "hzerr"}
	w, wf := horizonWAL(t, t.TempDir(), l)
	defer w.close()
	write := wf.hz.write
	fail := errors.New("disk gone")
	wf.hz.write = func(int64) error { return fail }
	if err := wf.sendLine("a", []int64{1}, 1); !errors.Is(err, fail) {
		t.Fatalf("request under a failed horizon: %v, want %v", err, fail)
	}
	wf.mu.Lock()
	wf.hz.write = write
	wf.mu.Unlock()
	if err := wf.sendLine("b", []int64{2}, 1); err != nil {
		t.Fatalf("the request after a failed horizon write: %v", err)
	}
	w.close()
	inDoubt, answered := map[int64]string{}, map[int64]walOutcome{}
	if _, _, err := loadLog(w.path(l.id), l.Acked, inDoubt, answered, w.boot, nil); err != nil {
		t.Fatal(err)
	}
	if len(inDoubt) != 1 || inDoubt[2] != "b" {
		t.Fatalf("in doubt %v: want only the request that left", inDoubt)
	}
}

// The horizon file's reader takes the highest horizon of other boots, and
// skips this boot's lines, torn lines and pieces between zeros.
func TestWALLoadHorizon(t *testing.T) {
	var b []byte
	b = append(b, `{"b":"A","h":100}`+"\n"...)
	b = append(b, `{"b":"B","h":900}`+"\n"...) // this boot
	b = append(b, make([]byte, 700)...)        // a lost page
	b = append(b, `"h":5000}`+"\n"...)         // the tail of a line
	b = append(b, `{"b":"A","h":300}`+"\n"...)
	b = append(b, `{"b":"A","h":7`...) // torn
	want := int64(len(b))
	b = append(b, make([]byte, 4096)...)
	p := t.TempDir() + "/log.horizon"
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	h, ok, end, torn, err := loadHorizon(p, "B")
	if err != nil || !ok || h != 300 || end != want || !torn {
		t.Fatalf("got %d %v end %d torn %v err %v; want 300 true end %d torn", h, ok, end, torn, err, want)
	}
	if h, ok, _, _, _ := loadHorizon(p, ""); !ok || h != 900 {
		t.Fatalf("boot unknown: %d %v, want every line: 900", h, ok)
	}
	if _, ok, _, _, err := loadHorizon(p+".missing", "B"); ok || err != nil {
		t.Fatalf("no file: %v %v", ok, err)
	}
}

// A log left by a killed process of an earlier version (entries synced
// when queued, sent markers in .sent, boot lines without a format) still
// loads as it did: on the same boot an entry without a marker never left;
// under another boot every unanswered entry is in doubt. The process that
// resumes it appends in this version's format after it, and both hold.
func TestWALOldFormatLoads(t *testing.T) {
	dir := t.TempDir()
	l := walLineage{id: "old-format"}
	w := newWAL(dir)
	if w.boot == "" {
		t.Fatal("no boot id (/proc/sys/kernel/random/boot_id): boot sections cannot be checked")
	}
	o := l.outcome(1)
	ans := []walOutcome{o, o, o}
	var b []byte
	b = append(b, `{"k":"","s":null,"b":"old-boot"}`+"\n"...)
	b = appendWALEntry(b, l.key(0), l.seqs(0), nil, 0)
	b = appendWALEntry(b, l.key(1), l.seqs(1), nil, 0)
	b = appendWALEntry(b, l.key(0), l.seqs(0), ans, 0)
	b = append(b, `{"k":"","s":null,"b":`+strconv.Quote(w.boot)+`}`+"\n"...)
	b = appendWALEntry(b, l.key(2), l.seqs(2), nil, 0) // left (marker)
	b = appendWALEntry(b, l.key(3), l.seqs(3), nil, 0) // only queued
	b = appendWALEntry(b, l.key(4), l.seqs(4), nil, 0) // left, answered
	b = appendWALEntry(b, l.key(4), l.seqs(4), ans, 0)
	b = append(b, make([]byte, 1<<16)...) // preallocated
	p := w.path(l.id)
	if err := os.MkdirAll(w.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p+".sent", []byte(l.key(2)+"\n"+l.key(4)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	check := func(wf *walFile, what string, want map[int]bool) {
		t.Helper()
		for i := range 6 {
			for _, s := range l.seqs(i) {
				if _, in := wf.doubt(s); in != want[i] {
					t.Fatalf("%s: entry %d record %d in doubt %v, want %v", what, i, s, in, want[i])
				}
			}
		}
		for _, i := range []int{0, 4} {
			if got, ok := wf.logged(l.seqs(i)[0]); !ok || got != o {
				t.Fatalf("%s: entry %d's answer %+v %v", what, i, got, ok)
			}
		}
	}
	wf, err := w.open(l)
	if err != nil {
		t.Fatal(err)
	}
	// Answered entries are in doubt too (their logged outcome settles them).
	check(wf, "same boot", map[int]bool{0: true, 1: true, 2: true, 4: true})
	if err := wf.sendLine(l.key(5), l.seqs(5), 3); err != nil {
		t.Fatal(err)
	}
	w.close()
	w2 := newWAL(dir)
	wf2, err := w2.open(l)
	if err != nil {
		t.Fatal(err)
	}
	check(wf2, "same boot, resumed twice", map[int]bool{0: true, 1: true, 2: true, 4: true, 5: true})
	w2.close()
	w3 := newWAL(dir)
	w3.boot = "another-boot"
	wf3, err := w3.open(l)
	if err != nil {
		t.Fatal(err)
	}
	check(wf3, "another boot", map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true, 5: true})
	if err := w3.end(l.id); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{p, p + ".sent", p + walHorizonExt} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Fatalf("%s not removed at the lineage's end: %v", f, err)
		}
	}
}

// A round syncs its own bytes only (writeSynced), so after a power loss the
// answers written before it may be zeros, or the tail of one sharing a page
// with the round: the loader skips both and still finds every record entry
// after them, and where the entries end.
func TestWALLoadSkipsZeros(t *testing.T) {
	l := walLineage{id: "gaps"}
	o := l.outcome(1)
	ans := appendWALEntry(nil, l.key(1), l.seqs(1), []walOutcome{o, o, o}, 0)
	var b []byte
	b = appendWALEntry(b, l.key(0), l.seqs(0), nil, 0)
	b = appendWALEntry(b, l.key(1), l.seqs(1), nil, 0)
	b = append(b, make([]byte, 5000)...) // an answer's lost page
	b = append(b, ans[len(ans)/2:]...)   // the tail of another
	b = appendWALEntry(b, l.key(2), l.seqs(2), nil, 0)
	b = append(b, make([]byte, 3)...)  // a torn answer: zeros in a line
	b = append(b, ans[:len(ans)/3]...) // …and its beginning
	b = append(b, 0, 0)
	b = append(b, ans[len(ans)/3:len(ans)-1]...) // …and its end, no newline
	b = append(b, '\n')
	b = appendWALEntry(b, l.key(3), l.seqs(3), nil, 0)
	want := int64(len(b))
	b = append(b, make([]byte, 1<<16)...) // preallocated
	p := t.TempDir() + "/log"
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	inDoubt, answered := map[int64]string{}, map[int64]walOutcome{}
	end, torn, err := loadInDoubt(p, l.Acked, inDoubt, answered)
	if err != nil || torn || end != want {
		t.Fatalf("end %d torn %v err %v; want end %d, not torn", end, torn, err, want)
	}
	for i := range 4 {
		for _, s := range l.seqs(i) {
			if inDoubt[s] != l.key(i) {
				t.Fatalf("entry %d record %d: key %q", i, s, inDoubt[s])
			}
		}
	}
	if len(inDoubt) != 12 || len(answered) != 0 {
		t.Fatalf("%d in doubt, %d answered; want 12, 0 (no answer whole)", len(inDoubt), len(answered))
	}
}

// Entries announced and written by an answer's round (no sync) are written
// again by the next synced round with its own entries, in place: the log
// holds every line once, in order, and nothing is left to cover.
func TestWALUnsyncedRecordsSyncedAgain(t *testing.T) {
	dir := t.TempDir()
	l := walLineage{id: "again"}
	w := syncedWAL(dir)
	wf, err := w.open(freshLineage{l})
	if err != nil {
		t.Fatal(err)
	}
	if err := wf.record(l.key(0), l.seqs(0)); err != nil {
		t.Fatal(err)
	}
	wf.announce(l.key(1), l.seqs(1))
	o := l.outcome(0)
	if err := wf.answer(l.key(0), l.seqs(0), []walOutcome{o, o, o}); err != nil {
		t.Fatal(err)
	}
	if wf.unsyncedAt < 0 || wf.durable >= wf.lastRec {
		t.Fatalf("the answer's round did not leave entry 1 written and unsynced (at %d, durable %d, last record %d)", wf.unsyncedAt, wf.durable, wf.lastRec)
	}
	o1 := l.outcome(1)
	if err := wf.answer(l.key(1)+"x", l.seqs(5), []walOutcome{o1, o1, o1}); err != nil {
		t.Fatal(err)
	}
	wf.announce(l.key(2), l.seqs(2))
	n, ok := wf.take(l.key(2))
	if !ok {
		t.Fatal("announced entry 2 not found")
	}
	if err := wf.awaitDurable(n); err != nil {
		t.Fatal(err)
	}
	if wf.unsyncedAt >= 0 || len(wf.unsynced) != 0 || wf.durable != wf.next {
		t.Fatalf("after a synced round: unsynced at %d (%d bytes), durable %d of %d", wf.unsyncedAt, len(wf.unsynced), wf.durable, wf.next)
	}
	w.close()
	b, err := os.ReadFile(w.path(l.id))
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.TrimRight(b, "\x00")
	var keys []string
	for line := range bytes.Lines(b) {
		var e walEntry
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if e.Boot != "" {
			continue
		}
		k := e.Key
		if e.Answers != nil {
			k = "answer " + k
		}
		keys = append(keys, k)
	}
	want := []string{l.key(0), l.key(1), "answer " + l.key(0), "answer " + l.key(1) + "x", l.key(2)}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("log lines %q, want %q", keys, want)
	}
}
