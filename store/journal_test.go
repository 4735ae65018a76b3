package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
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

// TestJournalRound: the owner check of a shared log. A round of a higher
// epoch takes the log; a lower epoch's entry is then refused (its
// fallback appended instead) even though it reads what was written; a
// lower epoch asking to take the log over gets it only once the owner
// has not written for the reclaim age; rounds return what others appended
// after the caller's last id; Delete drops entries by id.
func TestJournalRound(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		j := s.Journal()
		const log = "f/b/stream"
		r, err := j.Round(ctx, log, block.JournalRound{Epoch: 5, Entry: []byte("a1")})
		if err != nil || r.Fenced || r.ID == 0 || len(r.Entries) != 0 || r.Owner != 5 {
			t.Fatalf("first round: %+v %v", r, err)
		}
		a := r.ID
		// The new owner takes the log (no entry) and reads a1.
		r, err = j.Round(ctx, log, block.JournalRound{Epoch: 6, Take: true})
		if err != nil || r.Fenced || r.ID != 0 || len(r.Entries) != 1 || string(r.Entries[0].Entry) != "a1" || r.Owner != 6 {
			t.Fatalf("take-over: %+v %v", r, err)
		}
		// The old owner is refused; its fallback (answers) goes in.
		r, err = j.Round(ctx, log, block.JournalRound{After: a, Epoch: 5, Entry: []byte("a2"), Fenced: []byte("a2-answers")})
		if err != nil || !r.Fenced || r.Owner != 6 || r.ID == 0 || len(r.Entries) != 0 {
			t.Fatalf("old owner's round: %+v %v", r, err)
		}
		// ... and so is its take-over while the owner is writing.
		if r, err = j.Round(ctx, log, block.JournalRound{Epoch: 5, Take: true, Reclaim: time.Hour, Entry: []byte("a3")}); err != nil || !r.Fenced {
			t.Fatalf("old owner taking over a busy log: %+v %v", r, err)
		}
		r, err = j.Round(ctx, log, block.JournalRound{After: a, Epoch: 6, Entry: []byte("b1")})
		if err != nil || r.Fenced || len(r.Entries) != 1 || string(r.Entries[0].Entry) != "a2-answers" {
			t.Fatalf("new owner's round: %+v %v", r, err)
		}
		// A group created again (epoch 1): reclaimed once the owner has
		// been silent for the reclaim age.
		time.Sleep(30 * time.Millisecond)
		if r, err = j.Round(ctx, log, block.JournalRound{Epoch: 1, Take: true, Reclaim: 20 * time.Millisecond}); err != nil || r.Fenced || r.Owner != 1 {
			t.Fatalf("reclaim: %+v %v", r, err)
		}
		all, err := j.Round(ctx, log, block.JournalRound{})
		if err != nil || len(all.Entries) != 3 {
			t.Fatalf("read all: %+v %v", all, err)
		}
		if err := j.Delete(ctx, log, []int64{all.Entries[0].ID, all.Entries[1].ID}); err != nil {
			t.Fatal(err)
		}
		if got, _ := j.Read(ctx, log); len(got) != 1 || string(got[0]) != "b1" {
			t.Fatalf("after delete: %q", got)
		}
		if err := j.Remove(ctx, log); err != nil {
			t.Fatal(err)
		}
		// Removed with its owner: any epoch may write again.
		if r, err = j.Round(ctx, log, block.JournalRound{Epoch: 1, Entry: []byte("c")}); err != nil || r.Fenced {
			t.Fatalf("after remove: %+v %v", r, err)
		}
	})
}
