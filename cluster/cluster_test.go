package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/quartz"
	"github.com/connectplus/connectplus/scheduler"
	"github.com/connectplus/connectplus/store"
)

// A node of the leader test runs in a child process of this test binary, so
// the test can SIGKILL it: no graceful resignation, as when a machine dies.
const (
	envNode = "CLUSTER_TEST_NODE"
	envDSN  = "CLUSTER_TEST_DSN"
)

func TestMain(m *testing.M) {
	if name := os.Getenv(envNode); name != "" {
		os.Exit(runNode(name, os.Getenv(envDSN)))
	}
	testenv.Main(m)
}

// everySecond is a per-second schedule: the product refuses schedules
// under 5 minutes (quartz.Check), but the dispatcher fires whatever cron it
// is given, which lets the test see many fires in seconds.
type everySecond struct{ cron *quartz.Cron }

func (w everySecond) Schedules() []scheduler.Schedule {
	return []scheduler.Schedule{{Key: "org/flow", OrgID: "org", Cron: w.cron, Location: time.UTC, Active: true}}
}
func (everySecond) PollHere(string, bool) {}
func (everySecond) ListFlow(context.Context, string) ([]engine.Listed, error) {
	return nil, nil
}
func (everySecond) ProcessFile(context.Context, string, string, block.Item) error { return nil }
func (everySecond) Refresh(context.Context) error                                 { return nil }
func (everySecond) Purge(context.Context)                                         {}

func runNode(name, dsn string) int {
	cr, err := quartz.Parse("* * * * * ?")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	d, err := New(ctx, Options{URL: dsn, Node: name, Lease: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := d.Start(ctx, everySecond{cron: cr}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	select {} // until killed
}

type fire struct {
	at   time.Time
	node string
}

// pollFires lists the poll jobs the schedule enqueued, oldest first, with
// the node that worked each.
func pollFires(t *testing.T, conn *pgx.Conn) []fire {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT created_at, coalesce(attempted_by[1], '') FROM river_job
		WHERE kind = 'connectplus.poll' ORDER BY created_at`)
	if err != nil {
		t.Fatal(err)
	}
	var out []fire
	for rows.Next() {
		var f fire
		if err := rows.Scan(&f.at, &f.node); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// Killing the leader: the surviving node is elected within River's leader
// lease and the schedule goes on firing from its durable last fire — no
// second of the schedule fires twice, and none is skipped but the ones
// that passed while there was no leader (they coalesce into one fire).
func TestLeaderKillSchedulesContinueWithoutDoubleFire(t *testing.T) {
	pg := testenv.Postgres(t)
	ctx := context.Background()
	st, err := store.Open(ctx, pg.DSN) // our migrations and River's
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	conn, err := pgx.Connect(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	procs := map[string]*exec.Cmd{}
	for _, name := range []string{"node-a", "node-b"} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envNode+"="+name, envDSN+"="+pg.DSN)
		cmd.Stderr = os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[name] = cmd
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
	leader := func() string {
		var id string
		err := conn.QueryRow(ctx, `SELECT leader_id FROM river_leader WHERE expires_at > now()`).Scan(&id)
		if err != nil {
			return ""
		}
		return id
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(pollFires(t, conn)) < 3 || leader() == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no leader firing: leader %q, fires %d", leader(), len(pollFires(t, conn)))
		}
		time.Sleep(100 * time.Millisecond)
	}
	old := leader()
	killedAt := time.Now()
	if err := procs[old].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = procs[old].Wait()
	// River's leader lease: ElectInterval 5 s + 10 s padding, then the next
	// election round (5 s ± 1 s) and our one-second tick.
	const bound = 22 * time.Second
	var after []fire
	deadline = time.Now().Add(bound + 10*time.Second)
	for {
		after = after[:0]
		for _, f := range pollFires(t, conn) {
			if f.at.After(killedAt) {
				after = append(after, f)
			}
		}
		if len(after) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedules stopped after the leader %s was killed: %d fires since", old, len(after))
		}
		time.Sleep(100 * time.Millisecond)
	}
	newLeader := leader()
	if newLeader == "" || newLeader == old {
		t.Fatalf("leader after the kill: %q (was %q)", newLeader, old)
	}
	all := pollFires(t, conn)
	var before fire
	for _, f := range all {
		if !f.at.After(killedAt) {
			before = f
		}
	}
	gap := after[0].at.Sub(before.at)
	t.Logf("leader %s killed; %s fired %s after the last fire of %s (bound %s); %d fires in all", old, newLeader, gap.Round(time.Millisecond), old, bound, len(all))
	if gap > bound {
		t.Fatalf("no fire for %s after the leader died (bound %s)", gap, bound)
	}
	// No doubled fire: every second of the schedule fired at most once.
	seen := map[int64]bool{}
	var secs []string
	for _, f := range all {
		s := f.at.Unix()
		secs = append(secs, fmt.Sprintf("%d@%s", s%100, f.node))
		if seen[s] {
			t.Fatalf("two fires in second %d: %s", s, strings.Join(secs, " "))
		}
		seen[s] = true
	}
	var fires int64
	if err := conn.QueryRow(ctx, `SELECT fires FROM cluster_schedule WHERE flow_key = 'org/flow'`).Scan(&fires); err != nil {
		t.Fatal(err)
	}
	// Fires recorded = polls enqueued (none coalesced: each poll is quick).
	if int(fires)+1 < len(all) {
		t.Fatalf("cluster_schedule counts %d fires, river_job has %d polls", fires, len(all))
	}
}
