package reconcile

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/filecore/filecoretest"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// journals are the real stores the journal tests run on.
func journals(t *testing.T) map[string]block.Journal {
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

// TestResumeOnAnotherNodeFromJournal: with a journal (a cluster whose
// shared store is S3) the verdicts a node decided before it died are read
// by the node that resumes the file, whose state directory is its own and
// empty: it replays them and asks the destination only for the rest. A
// former holder presumed dead that appends again (rows already numbered)
// does not shift the rows. The lineage's end removes the log.
func TestResumeOnAnotherNodeFromJournal(t *testing.T) {
	_, url := seedTxns(t)
	cfg := baseCfg(ModeSandbox, url)
	cfg["batchSize"] = "2"
	first, err := reconcileFile(t, DiffTool, cfg, filecoretest.Env(t, "r"), nil, "txns.csv", txnFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(first.out), "\n")[1:]
	for name, j := range journals(t) {
		t.Run(name, func(t *testing.T) {
			// Node A decides two batches (4 rows) and dies.
			dead, err := openState(&block.Env{StateDir: t.TempDir(), Journal: j}, "lin-j", false)
			if err != nil {
				t.Fatal(err)
			}
			for i, l := range lines[:4] {
				dead.save(verdict{Status: l[len(l)-1]})
				if i%2 == 1 {
					if err := dead.checkpoint(); err != nil {
						t.Fatal(err)
					}
				}
			}
			// A stalled former holder, still running, appends rows 0-1
			// again with other verdicts: the first verdict of a row wins.
			zombie := &state{jr: j, jlog: journalLogName("lin-j")}
			zombie.save(verdict{Status: 'X'})
			zombie.save(verdict{Status: 'X'})
			if err := zombie.checkpoint(); err != nil {
				t.Fatal(err)
			}

			env := filecoretest.Env(t, "r")
			env.StateDir, env.Journal = t.TempDir(), j // node B: its own empty state directory
			lin := &filecoretest.Lineage{LineageID: "lin-j", IsResumed: true}
			r, err := reconcileFile(t, DiffTool, cfg, env, lin, "txns.csv", txnFile)
			if err != nil {
				t.Fatal(err)
			}
			if r.report.Resumed != 4 || r.report.Requests != 1 || r.out != first.out {
				t.Fatalf("resumed %d rows with %d requests; output\n%s", r.report.Resumed, r.report.Requests, r.out)
			}
			left, err := j.Read(context.Background(), journalLogName("lin-j"))
			if err != nil || len(left) != 0 {
				t.Fatalf("log left behind: %d entries, %v", len(left), err)
			}
		})
	}
}

// TestFreshLineageDropsLeftOverJournal: a lineage that is not resumed
// starts with no saved verdicts even if a log of its id is left over.
func TestFreshLineageDropsLeftOverJournal(t *testing.T) {
	for name, j := range journals(t) {
		t.Run(name, func(t *testing.T) {
			old, _ := openState(&block.Env{Journal: j}, "lin-f", false)
			old.save(verdict{Status: '1'})
			if err := old.checkpoint(); err != nil {
				t.Fatal(err)
			}
			st, err := openState(&block.Env{Journal: j}, "lin-f", false)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := st.next(); ok {
				t.Fatal("a fresh lineage replayed a left-over verdict")
			}
			if left, _ := j.Read(context.Background(), journalLogName("lin-f")); len(left) != 0 {
				t.Fatalf("left-over log kept: %d entries", len(left))
			}
		})
	}
}
