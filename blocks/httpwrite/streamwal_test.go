package httpwrite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
)

// TestCompactStream: a stream's log keeps what a restart may still ask
// about — requests never answered (for a week) and recent answers — and
// drops the rest; a torn last line goes too.
func TestCompactStream(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	at := func(d time.Duration) int64 { return now.Add(-d).Unix() }
	entries := []walEntry{
		{Key: "a", Seqs: []int64{1, 2}, At: at(time.Hour)}, // answered below: dropped
		{Key: "a", Seqs: []int64{1, 2}, Answers: []walOutcome{{Status: block.Delivered}, {Status: block.Delivered}}, At: at(time.Hour)}, // old answer: dropped
		{Key: "b", Seqs: []int64{3}, At: at(time.Minute)},                                                           // in flight: kept
		{Key: "c", Seqs: []int64{4}, At: at(8 * 24 * time.Hour)},                                                    // in doubt a week ago: dropped
		{Key: "d", Seqs: []int64{5}, At: at(time.Minute)},                                                           // answered below: dropped
		{Key: "d", Seqs: []int64{5}, Answers: []walOutcome{{Status: block.Failed, Code: 400}}, At: at(time.Minute)}, // recent answer: kept
	}
	p := filepath.Join(t.TempDir(), "s.log")
	var b []byte
	for _, e := range entries {
		line, _ := json.Marshal(e)
		b = append(append(b, line...), '\n')
	}
	b = append(b, `{"k":"torn","s":[9`...)
	b = append(b, make([]byte, 100)...) // the preallocated zeros
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	size, err := compactStream(p, now)
	if err != nil {
		t.Fatal(err)
	}
	inDoubt, answered := map[int64]string{}, map[int64]walOutcome{}
	if _, _, err := loadInDoubt(p, nil, inDoubt, answered); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if st.Size() != size || len(inDoubt) != 1 || inDoubt[3] != "b" || len(answered) != 1 || answered[5].Code != 400 {
		t.Fatalf("after compaction (%d bytes): in doubt %v, answered %v", size, inDoubt, answered)
	}
}

// TestWalIDStreamPosition: a stream record is known by its position, the
// same in any window and under any sequence number; a file's by its number.
func TestWalIDStreamPosition(t *testing.T) {
	pos := func(seq int64, off string) *block.Record {
		return &block.Record{Seq: seq, Attrs: block.Attributes{attrStreamTopic: "t", attrStreamPartition: "1", attrStreamOffset: off}}
	}
	if walID(pos(1, "7")) != walID(pos(900, "7")) || walID(pos(1, "7")) == walID(pos(1, "8")) || walID(pos(1, "7")) < 0 {
		t.Fatal("stream positions do not identify records")
	}
	if walID(&block.Record{Seq: 42}) != 42 {
		t.Fatal("a file record is not known by its sequence number")
	}
}

// streamUnit is a unit of Kafka messages of one group, read under the
// given generation: each (partition, offset) pair one record {"o":offset}.
func streamUnit(t *testing.T, gen int, pos ...[2]int) *block.Unit {
	t.Helper()
	var docs []string
	for _, p := range pos {
		docs = append(docs, fmt.Sprintf(`{"p":%d,"o":%d}`, p[0], p[1]))
	}
	b := objBatch(t, docs...)
	for i, p := range pos {
		b.Records[i].Attrs = block.Attributes{attrStreamTopic: "events", attrStreamPartition: strconv.Itoa(p[0]), attrStreamOffset: strconv.Itoa(p[1])}
	}
	return &block.Unit{Attrs: block.Attributes{attrStreamGroup: "g", attrStreamGeneration: strconv.Itoa(gen), "lineage.id": fmt.Sprintf("window-%d", gen)}, Batch: b}
}

func posRecord(p, off int) *block.Record {
	return &block.Record{Attrs: block.Attributes{attrStreamTopic: "events", attrStreamPartition: strconv.Itoa(p), attrStreamOffset: strconv.Itoa(off)}}
}

// Two processes on one partition's log (two wal instances on one state
// directory, as two cluster nodes on --shared-dir): the one that takes the
// partition over under a newer generation finds what the other left in
// doubt, and the older one, still running, is fenced — its next request is
// not sent — while its answers still reach the log for the new owner.
func TestStreamLogTakeOverFencesOldOwner(t *testing.T) {
	dir := t.TempDir()
	a, b := newWAL(dir), newWAL(dir)
	defer a.close()
	defer b.close()
	part := streamPart{group: "g", topic: "events", partition: "3"}
	ids := []int64{walID(posRecord(3, 10)), walID(posRecord(3, 11))}
	pa := part
	pa.epoch = 5
	wa, err := a.openStream(pa)
	if err != nil {
		t.Fatal(err)
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
	// The new owner reads the answer at its next round.
	if err := wb.recordStream("K3", []int64{walID(posRecord(3, 13))}, []int{1}, "", nil); err != nil {
		t.Fatal(err)
	}
	if o, ok := wb.logged(ids[1]); !ok || o.Code != 200 {
		t.Fatalf("the old owner's answer did not reach the new owner: %+v %v", o, ok)
	}
	if _, ok := wb.doubt(walID(posRecord(3, 12))); ok {
		t.Fatal("the refused request is in doubt")
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
}

// A group created again starts its generations anew: a log whose history
// holds a higher epoch of owners long gone does not fence the new owner,
// and neither does a compaction another process does meanwhile.
func TestStreamLogHistoryDoesNotFence(t *testing.T) {
	dir := t.TempDir()
	old := newWAL(dir)
	part := streamPart{group: "g", topic: "events", partition: "0", epoch: 40}
	wo, err := old.openStream(part)
	if err != nil {
		t.Fatal(err)
	}
	if err := wo.recordStream("K1", []int64{walID(posRecord(0, 1))}, []int{1}, "", nil); err != nil {
		t.Fatal(err)
	}
	old.close()
	// Entries of the old owner written a second ago: this process's
	// tenure starts now.
	time.Sleep(1100 * time.Millisecond)
	w := newWAL(dir)
	defer w.close()
	part.epoch = 1
	wf, err := w.openStream(part)
	if err != nil {
		t.Fatal(err)
	}
	if err := wf.recordStream("K2", []int64{walID(posRecord(0, 2))}, []int{1}, "", nil); err != nil {
		t.Fatalf("fenced by history: %v", err)
	}
	// Another process opening the log compacts it (a new file): this one
	// reads it all again and is still not fenced by the old epoch.
	other := newWAL(dir)
	if _, err := other.openStream(streamPart{group: "g", topic: "events", partition: "0", epoch: 1}); err != nil {
		t.Fatal(err)
	}
	other.close()
	if err := wf.recordStream("K3", []int64{walID(posRecord(0, 3))}, []int{1}, "", nil); err != nil {
		t.Fatalf("fenced after another process compacted: %v", err)
	}
}

// A request to a destination without a lookup that was in flight when its
// process died is sent again exactly as logged — same body, same
// idempotency key — before anything else of its partition, however the
// messages are batched now; its answer settles the records, which are not
// sent again in the new batch, and other partitions' records go in
// requests of their own.
func TestStreamInDoubtRequestResentAsLogged(t *testing.T) {
	rc, ts := newRecorder(t, func(int, *http.Request, []byte) (int, http.Header, string) { return 202, nil, `` })
	dir := t.TempDir()
	env := func() *block.Env { return testEnv(func(e *block.Env) { e.StateDir = dir }) }
	values := map[string]string{"webhookEndpoint": ts.URL + "/hooks/in", "retryBackoff": "5ms"}
	// The first process logs a request of messages 0/10..12 and dies
	// before it leaves (the destination never saw it).
	first := build(t, WebhookSpec, values, env())
	u := streamUnit(t, 3, [2]int{0, 10}, [2]int{0, 11}, [2]int{0, 12})
	wf, err := first.walFor(context.Background(), u, &u.Batch.Records[0])
	if err != nil {
		t.Fatal(err)
	}
	seqs := unitSeqs(u.Batch.Records)
	req, err := first.newRequest(u, bulkLookup{u}, nil, "id", []byte(`[{"p":0,"o":10},{"p":0,"o":11},{"p":0,"o":12}]`))
	if err != nil {
		t.Fatal(err)
	}
	req.body = []byte(`[{"p":0,"o":10},{"p":0,"o":11},{"p":0,"o":12}]`)
	key, err := first.writeAhead(u, wf, req, seqs, []int{1, 1, 1}, -1)
	if err != nil || req.ahead() != nil {
		t.Fatalf("write ahead: %v", err)
	}
	first.Close()

	// The next owner reads the messages again batched otherwise: 0/11..13
	// and 1/5 in one unit.
	next := build(t, WebhookSpec, values, env())
	u2 := streamUnit(t, 4, [2]int{0, 11}, [2]int{1, 5}, [2]int{0, 12}, [2]int{0, 13})
	out := process(t, next, u2)
	reqs := rc.all()
	if len(reqs) != 3 {
		t.Fatalf("%d requests: %+v", len(reqs), reqs)
	}
	if reqs[0].body != `[{"p":0,"o":10},{"p":0,"o":11},{"p":0,"o":12}]` || reqs[0].header.Get("Idempotency-Key") != key || reqs[0].url != "/hooks/in" {
		t.Fatalf("re-sent request %+v, want the logged one with key %s", reqs[0], key)
	}
	bodies := map[string]bool{reqs[1].body: true, reqs[2].body: true}
	if !bodies[`[{"p":0,"o":13}]`] || !bodies[`[{"p":1,"o":5}]`] {
		t.Fatalf("new requests %q, %q: want 0/13 and 1/5 apart", reqs[1].body, reqs[2].body)
	}
	ok := out.records(block.RelSuccess)
	if len(ok) != 4 || next.replays.Load() != 1 {
		t.Fatalf("%d delivered, %d replays; failed %+v", len(ok), next.replays.Load(), out.records(block.RelFailure))
	}
	for _, r := range ok {
		if r.Outcome.Code != 202 {
			t.Fatalf("outcome %+v", r.Outcome)
		}
	}
	// A third process finds nothing left to re-send.
	third := build(t, WebhookSpec, values, env())
	process(t, third, streamUnit(t, 5, [2]int{0, 14}))
	if n := len(rc.all()); n != 4 || third.replays.Load() != 0 {
		t.Fatalf("%d requests after the third process, %d replays", n, third.replays.Load())
	}
}

// Two processes writing one partition's log at once — the old owner's
// workers still sending while the new owner takes over and sends — never
// interleave or overwrite each other's entries: every entry either
// process was told is durable is in the file, whole, and once the new
// owner's mark is in, the old owner's requests are refused.
func TestStreamLogConcurrentOwners(t *testing.T) {
	dir := t.TempDir()
	a, b := newWAL(dir), newWAL(dir)
	defer a.close()
	defer b.close()
	part := streamPart{group: "g", topic: "events", partition: "1", epoch: 1}
	wa, err := a.openStream(part)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	durable := map[string]bool{}
	refusedAfter := 0
	var wg sync.WaitGroup
	var taken atomic.Bool
	for g := range 4 {
		wg.Go(func() {
			for j := range 100 {
				key := fmt.Sprintf("a-%d-%d", g, j)
				err := wa.recordStream(key, []int64{int64(g*1000 + j)}, []int{1}, "http://x", []byte(`{"x":1}`))
				mu.Lock()
				switch {
				case err == nil:
					durable[key] = true
				case errors.Is(err, errPartitionMoved) && taken.Load():
					refusedAfter++
				default:
					t.Errorf("%s: %v", key, err)
				}
				mu.Unlock()
			}
		})
	}
	// The take-over comes while the old owner is busy.
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
				durable[key] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// The old owner's next request after the take-over is refused.
	if err := wa.recordStream("a-late", []int64{9}, []int{1}, "", nil); !errors.Is(err, errPartitionMoved) {
		t.Fatalf("old owner after the take-over: %v", err)
	}
	raw, err := os.ReadFile(wa.st.path)
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.IndexByte(raw, 0); i >= 0 {
		raw = raw[:i]
	}
	found := map[string]bool{}
	for line := range bytes.Lines(raw) {
		var e streamEntry
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("a broken line %q: %v", line, err)
		}
		if found[e.Key] && e.Key != "" {
			t.Fatalf("%s written twice", e.Key)
		}
		found[e.Key] = true
	}
	for k := range durable {
		if !found[k] {
			t.Fatalf("%s was durable but is not in the log", k)
		}
	}
	t.Logf("%d entries durable, %d old-owner requests refused after the take-over", len(durable), refusedAfter)
}
