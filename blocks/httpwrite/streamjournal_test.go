package httpwrite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/store"
)

// nodeJournals opens n stores on one real PostgreSQL database — n cluster
// nodes, each with its own connection pool — and returns their journals.
func nodeJournals(t *testing.T, n int) []block.Journal {
	t.Helper()
	dsn := testenv.Postgres(t).DSN
	var out []block.Journal
	for range n {
		s, err := store.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out = append(out, s.Journal())
	}
	return out
}

// nodeWAL is one node's log: its own (empty) state directory, the shared
// journal.
func nodeWAL(t *testing.T, j block.Journal) *wal {
	w := newWALFor(&block.Env{StateDir: t.TempDir(), Journal: j})
	t.Cleanup(w.close)
	return w
}

// Two nodes on one partition's log in PostgreSQL (S3 shared store: no
// shared directory): the node that takes the partition over under a newer
// generation finds what the other left in doubt, with its logged body; the
// old owner — a zombie still sending — is refused from then on, while its
// answers reach the new owner; an old owner that opens the log only after
// the take-over (its first unit of the partition was still queued) is
// refused too; a process getting the partition back reads what the other
// logged meanwhile and fences it in turn.
func TestStreamJournalTakeOverFencesOldOwner(t *testing.T) {
	js := nodeJournals(t, 3)
	a, b := nodeWAL(t, js[0]), nodeWAL(t, js[1])
	part := streamPart{group: "g", topic: "events", partition: "3"}
	ids := []int64{walID(posRecord(3, 10)), walID(posRecord(3, 11))}
	pa := part
	pa.epoch = 5
	wa, err := a.openStream(pa)
	if err != nil {
		t.Fatal(err)
	}
	if wa.f != nil || wa.st.j == nil {
		t.Fatal("the partition's log is a file, not the journal")
	}
	if err := wa.recordStream("K1", ids, []int{1, 1}, "http://x/hook", []byte(`[{"o":10},{"o":11}]`)); err != nil {
		t.Fatal(err)
	}
	pb := part
	pb.epoch = 7
	wb, err := b.openStream(pb)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := wb.doubt(ids[0]); !ok || k != "K1" || len(wb.st.replays) != 1 || string(wb.st.replays[0].Body) != `[{"o":10},{"o":11}]` {
		t.Fatalf("the new owner's view: doubt %q %v, replays %+v", k, ok, wb.st.replays)
	}
	// The old owner's next request is refused; its answer to K1 is kept.
	if err := wa.recordStream("K2", []int64{walID(posRecord(3, 12))}, []int{1}, "", nil); !errors.Is(err, errPartitionMoved) {
		t.Fatalf("old owner's request after the take-over: %v", err)
	}
	if err := wa.answer("K1", ids, []walOutcome{{Status: block.Delivered, Code: 200}, {Status: block.Delivered, Code: 200}}); !errors.Is(err, errPartitionMoved) {
		t.Fatalf("old owner's answer: %v", err)
	}
	if wa.st.fence != 7 {
		t.Fatalf("old owner's fence %d, want 7", wa.st.fence)
	}
	// The new owner reads the answer at its next round; the refused
	// request was never logged.
	if err := wb.recordStream("K3", []int64{walID(posRecord(3, 13))}, []int{1}, "", nil); err != nil {
		t.Fatal(err)
	}
	if o, ok := wb.logged(ids[1]); !ok || o.Code != 200 {
		t.Fatalf("the old owner's answer did not reach the new owner: %+v %v", o, ok)
	}
	if _, ok := wb.doubt(walID(posRecord(3, 12))); ok {
		t.Fatal("the refused request is in doubt")
	}
	// A third node still on generation 6 opens the log only now: refused.
	z := nodeWAL(t, js[2])
	pz := part
	pz.epoch = 6
	wz, err := z.openStream(pz)
	if err != nil {
		t.Fatal(err)
	}
	if err := wz.recordStream("Z1", []int64{walID(posRecord(3, 20))}, []int{1}, "", nil); !errors.Is(err, errPartitionMoved) {
		t.Fatalf("an old generation opening the log after the take-over: %v", err)
	}
	// Getting the partition back under a newer generation, the first
	// process reads what the other logged before it resolves anything.
	pa.epoch = 9
	if wa, err = a.openStream(pa); err != nil {
		t.Fatal(err)
	}
	if k, ok := wa.doubt(walID(posRecord(3, 13))); !ok || k != "K3" {
		t.Fatalf("after getting the partition back: %q %v", k, ok)
	}
	if err := wa.recordStream("K4", []int64{walID(posRecord(3, 14))}, []int{1}, "", nil); err != nil {
		t.Fatalf("owner again: %v", err)
	}
	if err := wb.recordStream("K5", []int64{walID(posRecord(3, 15))}, []int{1}, "", nil); !errors.Is(err, errPartitionMoved) {
		t.Fatalf("the second process, now the old owner: %v", err)
	}
	// What the log holds: every entry a process was told is durable, and
	// none of the refused ones.
	rows, err := js[0].Read(context.Background(), wa.st.jname)
	if err != nil {
		t.Fatal(err)
	}
	keys := journalKeys(t, rows)
	// K1's request was answered (by the old owner): the third node's
	// opening compacted it away.
	for _, k := range []string{"K3", "K4"} {
		if keys[k] != 1 {
			t.Fatalf("%s logged %d times: %v", k, keys[k], keys)
		}
	}
	for _, k := range []string{"K2", "K5", "Z1"} {
		if keys[k] != 0 {
			t.Fatalf("refused %s is in the log", k)
		}
	}
}

// journalKeys counts the request entries (not answers) per key in a
// journal's rows.
func journalKeys(t *testing.T, rows [][]byte) map[string]int {
	t.Helper()
	keys := map[string]int{}
	for _, r := range rows {
		for _, line := range splitLines(r) {
			var e streamEntry
			if err := json.Unmarshal(line, &e); err != nil {
				t.Fatalf("a broken entry %q: %v", line, err)
			}
			if e.Answers == nil && len(e.Seqs) > 0 {
				keys[e.Key]++
			}
		}
	}
	return keys
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		if i < len(b) {
			i++
		}
		out = append(out, b[:i])
		b = b[i:]
	}
	return out
}

// Two nodes writing one partition's log at once — the old owner's workers
// still sending while the new owner takes over and sends — interleave by
// whole rounds: every entry either node was told is durable is in the
// journal once, whole; the new owner, at its next round, knows every
// request the old owner logged (in doubt: it may have been sent), which is
// what makes a re-send exact; once the take-over committed, every request
// of the old owner is refused.
func TestStreamJournalConcurrentOwners(t *testing.T) {
	js := nodeJournals(t, 2)
	a, b := nodeWAL(t, js[0]), nodeWAL(t, js[1])
	part := streamPart{group: "g", topic: "events", partition: "1", epoch: 1}
	wa, err := a.openStream(part)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	durable := map[string]int64{}
	var refusedAfter, acceptedAfter int
	var wg sync.WaitGroup
	var taken atomic.Bool
	for g := range 4 {
		wg.Go(func() {
			for j := range 100 {
				key := fmt.Sprintf("a-%d-%d", g, j)
				seq := int64(g*1000 + j)
				after := taken.Load()
				err := wa.recordStream(key, []int64{seq}, []int{1}, "http://x", []byte(`{"x":1}`))
				mu.Lock()
				switch {
				case err == nil:
					durable[key] = seq
					if after {
						acceptedAfter++
					}
				case errors.Is(err, errPartitionMoved) && taken.Load():
					refusedAfter++
				default:
					t.Errorf("%s: %v", key, err)
				}
				mu.Unlock()
			}
		})
	}
	for {
		mu.Lock()
		n := len(durable)
		mu.Unlock()
		if n >= 100 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	part.epoch = 2
	taken.Store(true)
	wb, err := b.openStream(part)
	if err != nil {
		t.Fatal(err)
	}
	for g := range 2 {
		wg.Go(func() {
			for j := range 100 {
				key := fmt.Sprintf("b-%d-%d", g, j)
				if err := wb.recordStream(key, []int64{int64(100000 + g*1000 + j)}, []int{1}, "", nil); err != nil {
					t.Errorf("%s: %v", key, err)
					return
				}
				mu.Lock()
				durable[key] = int64(100000 + g*1000 + j)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := wa.recordStream("a-late", []int64{9}, []int{1}, "", nil); !errors.Is(err, errPartitionMoved) {
		t.Fatalf("old owner after the take-over: %v", err)
	}
	// One more round of the new owner reads the rest.
	if err := wb.recordStream("b-last", []int64{200000}, []int{1}, "", nil); err != nil {
		t.Fatal(err)
	}
	rows, err := js[1].Read(context.Background(), wb.st.jname)
	if err != nil {
		t.Fatal(err)
	}
	keys := journalKeys(t, rows)
	for k, seq := range durable {
		if keys[k] != 1 {
			t.Fatalf("%s was durable but is in the journal %d times", k, keys[k])
		}
		if k[0] == 'a' {
			if got, ok := wb.doubt(seq); !ok || got != k {
				t.Fatalf("the new owner does not hold %s (durable on the old owner) in doubt: %q %v", k, got, ok)
			}
		}
	}
	for k := range keys {
		if _, ok := durable[k]; !ok && k != "b-last" {
			t.Fatalf("%s is in the journal but its caller was refused", k)
		}
	}
	t.Logf("%d entries durable, %d old-owner requests refused after the take-over began (%d accepted while it was under way)", len(durable), refusedAfter, acceptedAfter)
}

// Compaction of a partition's journal when a node opens it: rows whose
// requests were answered and whose answers are older than 15 minutes go,
// and so do requests in doubt for more than a week; a request still in
// flight and a recent answer stay, and are what the node loads.
func TestStreamJournalCompaction(t *testing.T) {
	js := nodeJournals(t, 1)
	j := js[0]
	part := streamPart{group: "g", topic: "events", partition: "0", epoch: 3}
	name := streamJournalName(part.id())
	now := time.Now()
	at := func(d time.Duration) int64 { return now.Add(-d).Unix() }
	rows := [][]streamEntry{
		{{Key: "a", Seqs: []int64{1, 2}, At: at(time.Hour)}, {Key: "b", Seqs: []int64{3}, At: at(time.Hour)}},                             // b in flight: kept, a with it
		{{Key: "a", Seqs: []int64{1, 2}, Answers: []walOutcome{{Status: block.Delivered}, {Status: block.Delivered}}, At: at(time.Hour)}}, // old answer, kept for a's request above
		{{Key: "x", Seqs: []int64{8}, At: at(time.Hour)}},                                                                                 // answered below: dropped
		{{Key: "x", Seqs: []int64{8}, Answers: []walOutcome{{Status: block.Delivered}}, At: at(time.Hour)}},                               // old answer: dropped
		{{Key: "c", Seqs: []int64{4}, At: at(8 * 24 * time.Hour)}},                                                                        // in doubt a week ago: dropped
		{{Key: "d", Seqs: []int64{5}, At: at(time.Minute)}},                                                                               // answered below: dropped
		{{Key: "d", Seqs: []int64{5}, Answers: []walOutcome{{Status: block.Failed, Code: 400}}, At: at(time.Minute)}},                     // recent answer: kept
	}
	for _, r := range rows {
		var b []byte
		for _, e := range r {
			line, _ := json.Marshal(e)
			b = append(append(b, line...), '\n')
		}
		if _, err := j.Round(context.Background(), name, block.JournalRound{Epoch: 2, Entry: b}); err != nil {
			t.Fatal(err)
		}
	}
	w := nodeWAL(t, j)
	wf, err := w.openStream(part)
	if err != nil {
		t.Fatal(err)
	}
	left, err := j.Read(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 3 {
		t.Fatalf("%d rows left after compaction, want 3: %q", len(left), left)
	}
	if o, ok := wf.logged(1); !ok || o.Status != block.Delivered {
		t.Fatalf("a's answer, kept with its request: %+v %v", o, ok)
	}
	if k, ok := wf.doubt(3); !ok || k != "b" {
		t.Fatalf("in flight: %q %v", k, ok)
	}
	if o, ok := wf.logged(5); !ok || o.Code != 400 {
		t.Fatalf("recent answer: %+v %v", o, ok)
	}
	for _, s := range []int64{1, 2, 4, 8} {
		if _, ok := wf.doubt(s); ok {
			t.Fatalf("%d in doubt after compaction", s)
		}
	}
	// Compaction by size deletes rows only: the other node's read
	// position stays valid, and what is appended after it is read.
	other := nodeWAL(t, j)
	wo, err := other.openStream(streamPart{group: "g", topic: "events", partition: "0", epoch: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := wf.recordStream("e", []int64{6}, []int{1}, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := wf.compactStreamJournal(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := wo.recordStream("f", []int64{7}, []int{1}, "", nil); err != nil {
		t.Fatal(err)
	}
	if k, ok := wo.doubt(6); !ok || k != "e" {
		t.Fatalf("the other node did not read the entry appended before the compaction: %q %v", k, ok)
	}
}

// A request to a destination without a lookup that was in flight when its
// node died is sent again by the node that takes the partition over —
// another state directory, the log in PostgreSQL — exactly as logged,
// with its idempotency key; its answer settles the records, which are not
// sent again in the new batch.
func TestStreamJournalInDoubtRequestResentAsLogged(t *testing.T) {
	js := nodeJournals(t, 2)
	rc, ts := newRecorder(t, func(int, *http.Request, []byte) (int, http.Header, string) { return 202, nil, `` })
	env := func(j block.Journal) *block.Env {
		dir := t.TempDir()
		return testEnv(func(e *block.Env) { e.StateDir, e.Journal = dir, j })
	}
	values := map[string]string{"webhookEndpoint": ts.URL + "/hooks/in", "retryBackoff": "5ms"}
	first := build(t, WebhookSpec, values, env(js[0]))
	u := streamUnit(t, 3, [2]int{0, 10}, [2]int{0, 11}, [2]int{0, 12})
	wf, err := first.walFor(context.Background(), u, &u.Batch.Records[0])
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`[{"p":0,"o":10},{"p":0,"o":11},{"p":0,"o":12}]`)
	req, err := first.newRequest(u, bulkLookup{u}, nil, "id", body)
	if err != nil {
		t.Fatal(err)
	}
	req.body = body
	key, err := first.writeAhead(u, wf, req, unitSeqs(u.Batch.Records), []int{1, 1, 1}, -1)
	if err != nil || req.ahead() != nil {
		t.Fatalf("write ahead: %v", err)
	}
	// The first node dies before the request leaves.
	next := build(t, WebhookSpec, values, env(js[1]))
	out := process(t, next, streamUnit(t, 4, [2]int{0, 11}, [2]int{0, 12}, [2]int{0, 13}))
	reqs := rc.all()
	if len(reqs) != 2 {
		t.Fatalf("%d requests: %+v", len(reqs), reqs)
	}
	if reqs[0].body != string(body) || reqs[0].header.Get("Idempotency-Key") != key {
		t.Fatalf("re-sent request %+v, want the logged one with key %s", reqs[0], key)
	}
	if reqs[1].body != `[{"p":0,"o":13}]` {
		t.Fatalf("new request %q: want 0/13 only", reqs[1].body)
	}
	if ok := out.records(block.RelSuccess); len(ok) != 3 || next.replays.Load() != 1 {
		t.Fatalf("%d delivered, %d replays", len(ok), next.replays.Load())
	}
	// The first node comes back (the group gives it the partition under
	// a newer generation): nothing is left to re-send.
	third := build(t, WebhookSpec, values, env(js[0]))
	process(t, third, streamUnit(t, 5, [2]int{0, 14}))
	if n := len(rc.all()); n != 3 || third.replays.Load() != 0 {
		t.Fatalf("%d requests after the third process, %d replays", n, third.replays.Load())
	}
}

// BenchmarkStreamJournalRecord is one stream request's entry (20
// positions and a body, as a Neo bulk of the e2e tests) made durable on
// its own in a partition's journal log: one Round — lock the owner row,
// read what others appended, check the epoch, insert (the test PostgreSQL
// runs with fsync off).
//
//	go test -run '^$' -bench BenchmarkStreamJournalRecord ./blocks/httpwrite/
func BenchmarkStreamJournalRecord(b *testing.B) {
	for name, j := range journals(b) {
		b.Run(name, func(b *testing.B) {
			w := newWALFor(&block.Env{StateDir: b.TempDir(), Journal: j})
			defer w.close()
			wf, err := w.openStream(streamPart{group: "bench-" + time.Now().String(), topic: "t", partition: "0", epoch: 1})
			if err != nil {
				b.Fatal(err)
			}
			body := make([]byte, 1200)
			seqs := make([]int64, 20)
			b.ResetTimer()
			for i := range b.N {
				for k := range seqs {
					seqs[k] = int64(i*20 + k)
				}
				if err := wf.recordStream(fmt.Sprint("k", i), seqs, nil, "http://x/neo", body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
