package kafka

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/engine"
)

// TestRebalanceTwoConsumers: two dataflow deployments in one consumer
// group share a topic. The first is slow; when the second joins, the
// partitions taken from the first are revoked with records of them still
// in flight there (the rebalance wait is shorter than the destination), so
// they are abandoned, not committed; the first is then killed outright.
// Every message is delivered (the second reads the abandoned ones again)
// and the group's committed offsets end at the end of every partition.
func TestRebalanceTwoConsumers(t *testing.T) {
	_, addr := cluster(t)
	topics(t, addr, 6, "rb")
	prod := client(t, addr)
	const n = 3000
	produce(t, prod, numbered("rb", 0, n/2)...)

	extra := map[string]any{"groupId": "rbgroup", "revocationWait": "100ms", "batchSize": 20}
	slow := newSink("rbA", &sink{delay: 150 * time.Millisecond})
	a := startFlow(t, streamDoc("rbA", addr, "rb", extra), engine.Options{Logger: testLogger(t)})
	waitFor(t, 20*time.Second, "A delivering", func() bool { return slow.distinct() >= 100 })

	fast := newSink("rbB", &sink{})
	b := startFlow(t, streamDoc("rbB", addr, "rb", extra), engine.Options{})
	waitFor(t, 20*time.Second, "B receiving after the rebalance", func() bool { return fast.distinct() >= 100 })
	produce(t, prod, numbered("rb", n/2, n)...)
	a.kill()

	all := func() map[string]int {
		m := map[string]int{}
		for _, s := range []*sink{slow, fast} {
			s.mu.Lock()
			for k, v := range s.got {
				m[k] += v
			}
			s.mu.Unlock()
		}
		return m
	}
	waitFor(t, 60*time.Second, "every message delivered once A is gone", func() bool { return len(all()) >= n })
	waitFor(t, 20*time.Second, "B's commits reaching the end", func() bool {
		got, end := committed(t, addr, "rbgroup"), endOffsets(t, addr, "rb")
		for p, o := range end {
			if got[p] != o {
				return false
			}
		}
		return true
	})
	b.stop(t)
	m := all()
	keys := map[string]bool{}
	for id := range m {
		k, _, _ := strings.Cut(id, "_")
		keys[k] = true
	}
	for i := 0; i < n; i++ {
		if !keys[fmt.Sprintf("k%d", i)] {
			t.Errorf("message %d never delivered", i)
		}
	}
	dups := 0
	for _, v := range m {
		dups += v - 1
	}
	t.Logf("rebalance: %d messages, %d distinct delivered (A %d, B %d), %d duplicates", n, len(m), slow.distinct(), fast.distinct(), dups)
	if len(m) != n {
		t.Errorf("%d distinct messages delivered, want %d", len(m), n)
	}
}

// TestPauseKeepsGroupStopLeaves: Pause (the flow drains) closes the open
// window and stops fetching while the member stays in its group; Resume
// fetches again; Stop leaves the group.
func TestPauseKeepsGroupStopLeaves(t *testing.T) {
	_, addr := cluster(t)
	topics(t, addr, 2, "pz")
	prod := client(t, addr)
	produce(t, prod, numbered("pz", 0, 100)...)
	s := newSink("pz", &sink{})
	r := startFlow(t, streamDoc("pz", addr, "pz", map[string]any{"groupId": "pzg"}), engine.Options{})
	waitFor(t, 20*time.Second, "the first 100", func() bool { return s.distinct() == 100 })

	r.f.Drain()
	<-r.done
	if err := r.f.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	produce(t, prod, numbered("pz", 100, 200)...)
	time.Sleep(1500 * time.Millisecond) // nothing may arrive while paused
	if got := s.distinct(); got != 100 {
		t.Fatalf("%d delivered while paused, want 100", got)
	}
	if m := groupMembers(t, addr, "pzg"); m != 1 {
		t.Fatalf("paused: %d group members, want 1 (Pause keeps the group)", m)
	}
	r.f.Resume()
	r.done = make(chan struct{})
	go func() { defer close(r.done); r.f.PollStream(t.Context(), 50*time.Millisecond) }()
	waitFor(t, 20*time.Second, "the next 100 after Resume", func() bool { return s.distinct() == 200 })
	r.kill()
	waitFor(t, 10*time.Second, "the member leaving at Stop", func() bool { return groupMembers(t, addr, "pzg") == 0 })
	if d := s.dups(); d != 0 {
		t.Errorf("%d duplicates across pause and resume", d)
	}
}

// TestBackPressurePausesFetching: while the destination takes nothing, the
// source hands on no more than the engine's queues hold — the rest of the
// topic stays in Kafka, not in memory — and nothing is committed past what
// ended; once the destination moves, everything arrives.
func TestBackPressurePausesFetching(t *testing.T) {
	_, addr := cluster(t)
	topics(t, addr, 3, "bp")
	prod := client(t, addr)
	const n = 20000
	produce(t, prod, numbered("bp", 0, n)...)
	gate := make(chan struct{})
	s := newSink("bp", &sink{gate: gate})
	r := startFlow(t, streamDoc("bp", addr, "bp", map[string]any{"batchSize": 50}), engine.Options{QueueSize: 4})
	handed := func() int64 { return blockDone(r.f, "read") }
	waitFor(t, 20*time.Second, "the first unit", func() bool { return handed() > 0 })
	// Give the source every chance to run ahead.
	time.Sleep(time.Second)
	// In the destination's queue (4 units), in its Process (1), and one
	// unit blocked in the source's Emit: 6 units of 50.
	if h := handed(); h > 6*50 {
		t.Fatalf("the source handed on %d messages while the destination took none, more than its queues hold (300)", h)
	}
	for p, o := range committed(t, addr, "bp") {
		if o > 0 {
			t.Fatalf("partition %d committed to %d before anything ended", p, o)
		}
	}
	close(gate)
	waitFor(t, 60*time.Second, "every message once the destination moves", func() bool { return s.distinct() == n })
	r.stop(t)
}
