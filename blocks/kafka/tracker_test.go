package kafka

import "testing"

// TestTrackerCommitsOnlyEndedPrefixes: a partition's position moves only
// past a contiguous run of ended records, across windows, and a dropped
// (revoked) partition is never committed again.
func TestTrackerCommitsOnlyEndedPrefixes(t *testing.T) {
	tr := newTracker()
	w1, w2 := &windowTrack{}, &windowTrack{}
	// Window 1: p0 offsets 10,11 and p1 offset 5, interleaved (seq 1..3).
	tr.add(w1, 1, "t", 0, 10, 0)
	tr.add(w1, 2, "t", 1, 5, 0)
	tr.add(w1, 3, "t", 0, 11, 0)
	// Window 2: p0 offset 12 (seq 1).
	tr.add(w2, 1, "t", 0, 12, 0)
	if m := tr.pending(nil); m != nil {
		t.Fatalf("nothing ended, pending %v", m)
	}
	tr.ended(w2, 1) // p0@12 ended, but 10 and 11 have not
	if m := tr.pending(nil); m != nil {
		t.Fatalf("a later window's record must not move p0 past earlier ones: %v", m)
	}
	tr.ended(w1, 2) // p0@10 and p1@5
	m := tr.pending(nil)
	if m["t"][0].Offset != 11 || m["t"][1].Offset != 6 {
		t.Fatalf("pending %v, want p0 11 and p1 6", m)
	}
	tr.committed(m)
	if m := tr.pending(nil); m != nil {
		t.Fatalf("committed positions pending again: %v", m)
	}
	if n := tr.inflight(map[string][]int32{"t": {0}}); n != 1 {
		t.Fatalf("p0 in flight: %d, want 1 (offset 11; 12 ended)", n)
	}
	tr.ended(w1, 3)
	if m := tr.pending(nil); m["t"][0].Offset != 13 {
		t.Fatalf("p0 after 11 ended: %v, want 13 (12 had ended)", m)
	}
	// Revocation: p1 is dropped with a record in flight; it ends later but
	// is never committed by this member.
	tr.add(w2, 2, "t", 1, 6, 0)
	if a := tr.drop(map[string][]int32{"t": {1}}); a != 1 {
		t.Fatalf("abandoned %d, want 1", a)
	}
	tr.ended(w2, 2)
	if m := tr.pending(map[string][]int32{"t": {1}}); m != nil {
		t.Fatalf("a dropped partition is pending: %v", m)
	}
	// Reassigned later: it starts afresh.
	tr.add(w2, 3, "t", 1, 6, 1)
	tr.endAll(w2)
	if m := tr.pending(map[string][]int32{"t": {1}}); m["t"][1].Offset != 7 || m["t"][1].Epoch != 1 {
		t.Fatalf("reassigned p1: %v", m)
	}
}
