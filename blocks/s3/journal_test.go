package s3

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/filecore"
	"github.com/connectplus/connectplus/blocks/filecore/filecoretest"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestRecordsFileResumesOnAnotherNodeFromJournal: an S3 destination cannot
// append, so a lineage's records file is a local spool; in a cluster whose
// shared store is S3 (Env.Journal, rows of PostgreSQL) every batch is also
// journalled. Node A writes two acknowledged batches and a third it never
// got acknowledged, and dies; node B, with an empty state directory of its
// own, resumes from A's last acknowledged state: it rebuilds the spool from
// the journal (without A's unacknowledged batch), continues it, and a
// stalled A that wakes up and writes again changes nothing; node C resumes
// B's lineage once more. The published object holds every record once.
func TestRecordsFileResumesOnAnotherNodeFromJournal(t *testing.T) {
	srv := server(t)
	st, err := store.Open(context.Background(), testenv.Postgres(t).DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	j := st.Journal()
	ctx := context.Background()
	node := func() *filecore.Sink {
		env := filecoretest.Env(t, "w")
		env.StateDir, env.Journal = t.TempDir(), j // each node its own state directory
		tm, _ := env.CompileTemplate("${filename}")
		s, err := filecore.NewSink(testPool(srv), filecore.SinkConfig{Dir: "jr", CreateDir: true, Conflict: filecore.ConflictReplace,
			Name: tm, ObjectKeys: true, SpoolDir: filecore.RecordSpoolDir(env), Block: "w"}, env)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	attrs := block.Attributes{block.AttrFilename: "recs.jsonl"}
	batch := func(lin block.Lineage, ids ...string) *block.Unit {
		var rows [][]string
		for _, id := range ids {
			rows = append(rows, []string{id})
		}
		return &block.Unit{Attrs: attrs, Lineage: lin, Batch: filecoretest.Batch([]string{"id"}, rows...)}
	}
	rec := func(ids ...string) string {
		var b strings.Builder
		for _, id := range ids {
			b.WriteString(`{"id":"` + id + `"}` + "\n")
		}
		return b.String()
	}

	a := node()
	outA := &filecoretest.Output{}
	linA := &filecoretest.Lineage{LineageID: "L1"}
	for _, ids := range [][]string{{"1", "2"}, {"3"}} {
		if err := a.Process(ctx, batch(linA, ids...), outA); err != nil {
			t.Fatal(err)
		}
	}
	acked := outA.LastState() // the last state a checkpoint stored
	if err := a.Process(ctx, batch(linA, "4-not-acknowledged"), outA); err != nil {
		t.Fatal(err)
	}
	// A stops answering (SIGSTOP); B resumes from the acknowledged state.
	b := node()
	outB := &filecoretest.Output{}
	linB := &filecoretest.Lineage{LineageID: "L1", IsResumed: true, States: map[string][]byte{"w": acked}}
	if err := b.ResumeLineage(ctx, linB); err != nil {
		t.Fatalf("node B cannot resume the records file: %v", err)
	}
	if err := b.Process(ctx, batch(linB, "4"), outB); err != nil {
		t.Fatal(err)
	}
	// A wakes up and writes on (its acknowledgements are refused by the
	// claim; its journal entries must not count).
	if err := a.Process(ctx, batch(linA, "zombie"), outA); err != nil {
		t.Fatal(err)
	}
	ackedB := outB.LastState()
	var ps struct {
		Offset  int64
		Journal []struct{ W string }
	}
	if err := json.Unmarshal(ackedB, &ps); err != nil || len(ps.Journal) != 2 || ps.Offset != int64(len(rec("1", "2", "3", "4"))) {
		t.Fatalf("node B's acknowledged state %s (%v): want two writers", ackedB, err)
	}
	// B dies too; C resumes and finishes.
	c := node()
	linC := &filecoretest.Lineage{LineageID: "L1", IsResumed: true, States: map[string][]byte{"w": ackedB}}
	if err := c.ResumeLineage(ctx, linC); err != nil {
		t.Fatalf("node C cannot resume the records file: %v", err)
	}
	if err := c.Process(ctx, batch(linC, "5"), &filecoretest.Output{}); err != nil {
		t.Fatal(err)
	}
	if err := c.EndLineage(ctx, "L1", true); err != nil {
		t.Fatal(err)
	}
	got, ok := get(t, srv, "jr/recs.jsonl")
	if want := rec("1", "2", "3", "4", "5"); !ok || string(got) != want {
		t.Fatalf("published records file:\n%s\nwant:\n%s", got, want)
	}
	var logs int
	if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM block_journal WHERE log LIKE 'records/%'`).Scan(&logs); err != nil {
		t.Fatal(err)
	}
	if logs != 0 {
		t.Fatalf("%d journal rows left after the file was published", logs)
	}
}

// TestRecordsFileWithoutJournalFailsOnAnotherNode is the behaviour the
// journal replaces: without it, a node whose state directory does not hold
// the spool refuses to continue the file (never a hole).
func TestRecordsFileWithoutJournalFailsOnAnotherNode(t *testing.T) {
	srv := server(t)
	ctx := context.Background()
	node := func() *filecore.Sink {
		env := filecoretest.Env(t, "w")
		env.StateDir = t.TempDir()
		tm, _ := env.CompileTemplate("${filename}")
		s, err := filecore.NewSink(testPool(srv), filecore.SinkConfig{Dir: "nj", CreateDir: true, Conflict: filecore.ConflictReplace,
			Name: tm, ObjectKeys: true, SpoolDir: filecore.RecordSpoolDir(env), Block: "w"}, env)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a := node()
	out := &filecoretest.Output{}
	u := &block.Unit{Attrs: block.Attributes{block.AttrFilename: "r.jsonl"}, Lineage: &filecoretest.Lineage{LineageID: "L2"},
		Batch: filecoretest.Batch([]string{"id"}, []string{"1"})}
	if err := a.Process(ctx, u, out); err != nil {
		t.Fatal(err)
	}
	b := node()
	lin := &filecoretest.Lineage{LineageID: "L2", IsResumed: true, States: map[string][]byte{"w": out.LastState()}}
	if err := b.ResumeLineage(ctx, lin); err == nil || !strings.Contains(err.Error(), "acknowledged") {
		t.Fatalf("resumed without the spool: %v", err)
	}
}
