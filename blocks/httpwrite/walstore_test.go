package httpwrite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/store"
)

// journals are the real stores the journal tests run on.
func journals(t testing.TB) map[string]block.Journal {
	t.Helper()
	out := map[string]block.Journal{}
	for name, url := range map[string]string{
		"sqlite":   "sqlite://" + filepath.Join(t.TempDir(), "db.sqlite"),
		"postgres": testenv.Postgres(t).DSN,
	} {
		s, err := store.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[name] = s.Journal()
	}
	return out
}

// TestWALJournalResume: with a journal, the log of a lineage written on
// one node (its own state directory) is read by another node (another
// state directory): every logged record not acknowledged is in doubt,
// answered ones are settled, later rounds continue the same log, and the
// lineage's end removes it.
func TestWALJournalResume(t *testing.T) {
	for name, j := range journals(t) {
		t.Run(name, func(t *testing.T) {
			l := walLineage{id: "journal-" + name}
			w := newWALFor(&block.Env{StateDir: t.TempDir(), Journal: j})
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
			w.close() // the node dies; its state directory goes with it

			w2 := newWALFor(&block.Env{StateDir: t.TempDir(), Journal: j})
			wf2, err := w2.open(l)
			if err != nil {
				t.Fatal(err)
			}
			if len(wf2.inDoubt) != 9 || len(wf2.answered) != 3 {
				t.Fatalf("resumed on another node: %d in doubt, %d answered; want 9 and 3", len(wf2.inDoubt), len(wf2.answered))
			}
			for _, i := range []int{1, 2} {
				for _, s := range l.seqs(i) {
					if wf2.inDoubt[s] != l.key(i) {
						t.Fatalf("entry %d record %d: key %q", i, s, wf2.inDoubt[s])
					}
				}
			}
			if err := wf2.record(l.key(3), l.seqs(3)); err != nil {
				t.Fatal(err)
			}
			w2.close()
			w3 := newWALFor(&block.Env{StateDir: t.TempDir(), Journal: j})
			wf3, err := w3.open(l)
			if err != nil {
				t.Fatal(err)
			}
			if len(wf3.inDoubt) != 12 {
				t.Fatalf("third node: %d in doubt, want 12", len(wf3.inDoubt))
			}
			if err := w3.end(l.id); err != nil {
				t.Fatal(err)
			}
			if rounds, err := j.Read(context.Background(), journalName(l.id)); err != nil || len(rounds) != 0 {
				t.Fatalf("log kept after the lineage's end: %d rounds, %v", len(rounds), err)
			}
		})
	}
}

// A round the journal refuses reaches the callers whose entries it carried.
func TestWALJournalWriteError(t *testing.T) {
	s, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	w := newWALFor(&block.Env{StateDir: t.TempDir(), Journal: s.Journal()})
	wf, err := w.open(freshLineage{walLineage{id: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := wf.record("k", []int64{1}); err == nil {
		t.Fatal("record on a closed journal: no error")
	}
}

// BenchmarkWALJournalRecord is one request's entry made durable on its
// own in the journal: one INSERT per round (the test PostgreSQL runs with
// fsync off: a production commit adds one WAL flush of its disk).
//
//	go test -run '^$' -bench BenchmarkWALJournalRecord ./blocks/httpwrite/
func BenchmarkWALJournalRecord(b *testing.B) {
	for name, j := range journals(b) {
		b.Run(name, func(b *testing.B) {
			w := newWALFor(&block.Env{StateDir: b.TempDir(), Journal: j})
			defer w.close()
			l := walLineage{id: "bench-" + name + time.Now().String()}
			wf, err := w.open(freshLineage{l})
			if err != nil {
				b.Fatal(err)
			}
			seqs := make([]int64, 70)
			b.ResetTimer()
			for i := range b.N {
				for k := range seqs {
					seqs[k] = int64(i*70 + k)
				}
				if err := wf.record(l.key(i), seqs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
