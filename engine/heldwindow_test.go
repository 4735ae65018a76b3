package engine

import (
	"math/rand/v2"
	"testing"
)

// TestHeldWindowOrder puts rows into the window in a shuffled order, with
// the ring wrapping and growing, and checks they come out once each, in
// sequence order, with the count of held entries kept.
func TestHeldWindowOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	w := &heldWindow{next: 1}
	const total = 5000
	var pending []int64
	var out []int64
	seq := int64(1)
	for seq <= total || len(pending) > 0 {
		// Arrivals run ahead of the window by up to 300 sequence numbers.
		for seq <= total && len(pending) < 300 {
			pending = append(pending, seq)
			seq++
		}
		i := r.IntN(len(pending))
		s := pending[i]
		pending = append(pending[:i], pending[i+1:]...)
		if s == w.next {
			out = append(out, s)
			w.advance()
		} else {
			w.put(s, heldEntry{rec: spoolRec{seq: s, line: s + 1}})
		}
		for e := w.first(); e != nil; e = w.first() {
			if e.rec.seq != w.next {
				t.Fatalf("entry %d at window head %d", e.rec.seq, w.next)
			}
			out = append(out, e.rec.seq)
			w.advance()
		}
		held := 0
		w.each(func(seq int64, e *heldEntry) {
			if e.rec.seq != seq {
				t.Fatalf("each: entry %d reported as %d", e.rec.seq, seq)
			}
			held++
		})
		if held != w.n {
			t.Fatalf("window counts %d entries, holds %d", w.n, held)
		}
	}
	if len(out) != total || w.n != 0 {
		t.Fatalf("wrote %d rows, %d still held", len(out), w.n)
	}
	for i, s := range out {
		if s != int64(i+1) {
			t.Fatalf("row %d is seq %d", i, s)
		}
	}
}
