package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestJournal: entries come back in append order per log, binary-safe;
// Remove drops one log only. It logs what one appended round costs.
func TestJournal(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		j := s.Journal()
		if got, err := j.Read(ctx, "f/b/l1"); err != nil || len(got) != 0 {
			t.Fatalf("missing log: %v %v", got, err)
		}
		for i := 0; i < 5; i++ {
			if err := j.Append(ctx, "f/b/l1", []byte{byte(i), 0, 0xff, '\n'}); err != nil {
				t.Fatal(err)
			}
			if err := j.Append(ctx, "f/b/l2", []byte(fmt.Sprint("other ", i))); err != nil {
				t.Fatal(err)
			}
		}
		got, err := j.Read(ctx, "f/b/l1")
		if err != nil || len(got) != 5 {
			t.Fatalf("read: %d entries, %v", len(got), err)
		}
		for i, e := range got {
			if string(e) != string([]byte{byte(i), 0, 0xff, '\n'}) {
				t.Fatalf("entry %d: %q", i, e)
			}
		}
		if err := j.Remove(ctx, "f/b/l1"); err != nil {
			t.Fatal(err)
		}
		if got, _ := j.Read(ctx, "f/b/l1"); len(got) != 0 {
			t.Fatalf("after remove: %d entries", len(got))
		}
		if got, _ := j.Read(ctx, "f/b/l2"); len(got) != 5 {
			t.Fatalf("the other log: %d entries", len(got))
		}
		// What one group-commit round costs here (logged, not asserted).
		entry := make([]byte, 2200) // ~100 sequence numbers and a key
		start := time.Now()
		const n = 200
		for i := 0; i < n; i++ {
			if err := j.Append(ctx, "f/b/round", entry); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s: %v per appended round (%d rounds of %d bytes)", s.Dialect(), time.Since(start)/n, n, len(entry))
	})
}
