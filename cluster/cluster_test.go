package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

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

// Killing the leader: the surviving node is elected within a node lease
// (it resigns the dead leader's term) and the schedule goes on firing from its durable last fire — no
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
	// Within one node lease (2 s, runNode) of the kill: PostgreSQL ends the
	// dead process's presence session at once, so a survivor counts it dead
	// two heartbeat intervals (800 ms) after its last heartbeat, at its
	// next reconcile (400 ms), resigns its term; River re-elects at once
	// (≤ 50 ms) and the new leader fires within a leadership check
	// (200 ms). Before, the lease itself, a reconcile interval and a
	// one-second tick: 2.1 s and more; before that, River's leader TTL.
	const bound = 2 * time.Second
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
	// The first fire after the kill that the new leader made (the dead
	// one may have fired in the instant before the signal landed).
	first := after[0]
	for _, f := range after {
		if f.node != old {
			first = f
			break
		}
	}
	gap, sinceKill := first.at.Sub(before.at), first.at.Sub(killedAt)
	t.Logf("leader %s killed; %s fired %s after the kill, %s after the last fire of %s (bound from the kill: %s); %d fires in all",
		old, newLeader, sinceKill.Round(time.Millisecond), gap.Round(time.Millisecond), old, bound, len(all))
	if sinceKill > bound {
		t.Fatalf("no fire for %s after the leader was killed (bound %s, one lease)", sinceKill, bound)
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

// recordWork records, for the dead-node test, the files it processed.
type recordWork struct {
	files chan string
}

func (recordWork) Schedules() []scheduler.Schedule { return nil }
func (recordWork) PollHere(string, bool)           {}
func (recordWork) ListFlow(context.Context, string) ([]engine.Listed, error) {
	return nil, nil
}
func (w recordWork) ProcessFile(_ context.Context, _, _ string, it block.Item) error {
	w.files <- it.Key
	return nil
}
func (recordWork) Refresh(context.Context) error { return nil }
func (recordWork) Purge(context.Context)         {}

// A node that died while it was River's leader and while it ran a file job
// and a maintenance job (the CI failure: the rescue used to be a unique
// maintenance job itself, and waited for the leader). The survivor, which
// is not the leader when it starts, must within a lease and a reconcile
// interval: get the file job and process it, get the maintenance job and
// run it, and become the leader — not after River's 15 s leader TTL or its
// 1 h stuck-job rescuer.
func TestDeadNodeJobsResumeWithoutLeaderOrMaintenanceJob(t *testing.T) {
	pg := testenv.Postgres(t)
	ctx := context.Background()
	st, err := store.Open(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	conn, err := pgx.Connect(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	const lease = 2 * time.Second
	ran := make(chan string, 4)
	d, err := New(ctx, Options{URL: pg.DSN, Node: "node-a", Lease: lease,
		Tasks: []Task{{Name: "hang", Interval: time.Hour, Run: func(context.Context) error { ran <- "hang"; return nil }}}})
	if err != nil {
		t.Fatal(err)
	}
	// What the dead node left: a file job and the maintenance job, both
	// running on it; its last heartbeat a minute ago; its leadership term
	// still 15 s long.
	file, err := d.client.Insert(ctx, fileArgs{Flow: "org/flow", ItemKey: "k", Org: "org", Item: block.Item{Key: "/in/big.csv", Name: "big.csv"}},
		&river.InsertOpts{Queue: QueueFiles, MaxAttempts: 100})
	if err != nil {
		t.Fatal(err)
	}
	task, err := d.client.Insert(ctx, taskArgs{Task: "hang"}, &river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 1,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: activeStates}})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		fmt.Sprintf(`UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now(), attempted_by = '{node-dead}' WHERE id IN (%d, %d)`, file.Job.ID, task.Job.ID),
		`INSERT INTO cluster_nodes (name, addr, started_at, seen_at) VALUES ('node-dead', '', 0, (extract(epoch FROM now() - interval '1 minute') * 1000000)::bigint)`,
		`INSERT INTO river_leader (leader_id, elected_at, expires_at) VALUES ('node-dead', now(), now() + interval '15 seconds')`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	start := time.Now()
	if err := d.Start(ctx, recordWork{files: make(chan string, 4)}); err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	w := d.work.(recordWork)
	// Lease, a reconcile interval, River's fetch poll, with room for a
	// loaded machine — and well under the dead leader's 15 s term.
	const bound = 8 * time.Second
	timeout := time.After(bound)
	var gotFile, gotTask time.Duration
	for gotFile == 0 || gotTask == 0 {
		select {
		case p := <-w.files:
			if p != "/in/big.csv" {
				t.Fatalf("processed %q", p)
			}
			gotFile = time.Since(start)
		case <-ran:
			gotTask = time.Since(start)
		case <-timeout:
			t.Fatalf("after %s: file job processed after %s, maintenance job run after %s (0: not yet)", bound, gotFile, gotTask)
		}
	}
	var leader string
	for {
		leader, err = d.currentLeader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if leader == "node-a" {
			break
		}
		if time.Since(start) > bound {
			t.Fatalf("leader after %s: %q", bound, leader)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("dead node's file job processed after %s, its maintenance job after %s, node-a leader after %s (lease %s)",
		gotFile.Round(time.Millisecond), gotTask.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), lease)
	var attemptedBy []string
	if err := conn.QueryRow(ctx, `SELECT attempted_by FROM river_job WHERE id = $1`, file.Job.ID).Scan(&attemptedBy); err != nil {
		t.Fatal(err)
	}
	if len(attemptedBy) != 2 || attemptedBy[1] != "node-a" {
		t.Fatalf("file job attempted by %v", attemptedBy)
	}
}

// blockingList is a Work whose listing waits until the test lets it end.
type blockingList struct {
	recordWork
	listing chan struct{} // a listing started
	release chan struct{} // let one listing end
}

func (w blockingList) ListFlow(ctx context.Context, _ string) ([]engine.Listed, error) {
	w.listing <- struct{}{}
	select {
	case <-w.release:
	case <-ctx.Done():
	}
	return nil, nil
}

// A run-now (or tick) while the dataflow's poll runs must not be lost in
// the poll's uniqueness — the running poll may have listed before the new
// file arrived: it polls once more when it ends (as one server does), and
// the two never overlap; more requests meanwhile coalesce into that one.
func TestRunNowDuringARunningPollPollsAgain(t *testing.T) {
	pg := testenv.Postgres(t)
	ctx := context.Background()
	st, err := store.Open(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	d, err := New(ctx, Options{URL: pg.DSN, Node: "node-a", Lease: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := blockingList{recordWork: recordWork{files: make(chan string, 1)}, listing: make(chan struct{}, 4), release: make(chan struct{})}
	if err := d.Start(ctx, w); err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	wait := func(what string) {
		t.Helper()
		select {
		case <-w.listing:
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s", what)
		}
	}
	if err := d.Poll(ctx, "org/flow", true); err != nil {
		t.Fatal(err)
	}
	wait("first listing")
	for range 3 { // run-now three times while it lists
		if err := d.Poll(ctx, "org/flow", true); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-w.listing:
		t.Fatal("a second poll started while the first one ran")
	case <-time.After(700 * time.Millisecond):
	}
	w.release <- struct{}{}
	wait("second listing after the first ended")
	w.release <- struct{}{}
	select {
	case <-w.listing:
		t.Fatal("a third poll: the requests made during one poll coalesce into one more")
	case <-time.After(1500 * time.Millisecond):
	}
}

// notYet is a Work still deploying its dataflow at the first listing.
type notYet struct {
	recordWork
	lists chan time.Time
	n     *atomic.Int32
}

func (w notYet) ListFlow(context.Context, string) ([]engine.Listed, error) {
	w.lists <- time.Now()
	if w.n.Add(1) == 1 {
		return nil, fmt.Errorf("%w: dataflow org/flow is still deploying", scheduler.ErrRetryLater)
	}
	return nil, nil
}

// A poll put off because this node is still deploying the dataflow comes
// back shortly, not a second later: a run-now coalesced with it waits too.
func TestPutOffPollComesBackShortly(t *testing.T) {
	pg := testenv.Postgres(t)
	ctx := context.Background()
	st, err := store.Open(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	d, err := New(ctx, Options{URL: pg.DSN, Node: "node-a", Lease: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := notYet{recordWork: recordWork{files: make(chan string, 1)}, lists: make(chan time.Time, 4), n: new(atomic.Int32)}
	if err := d.Start(ctx, w); err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	if err := d.Poll(ctx, "org/flow", true); err != nil {
		t.Fatal(err)
	}
	var at []time.Time
	timeout := time.After(10 * time.Second)
	for len(at) < 2 {
		select {
		case t0 := <-w.lists:
			at = append(at, t0)
		case <-timeout:
			var state string
			var sched time.Time
			_ = d.pool.QueryRow(ctx, `SELECT state::text, scheduled_at FROM river_job WHERE kind = 'connectplus.poll'`).Scan(&state, &sched)
			t.Fatalf("listings: %v; poll job %s scheduled at %s", at, state, sched)
		}
	}
	gap := at[1].Sub(at[0])
	t.Logf("put-off poll listed again after %s (snooze %s, River fetch poll 500 ms)", gap.Round(time.Millisecond), pollPutOff)
	// The snooze and at most one River fetch poll (500 ms), with room.
	if gap > pollPutOff+700*time.Millisecond {
		t.Fatalf("put-off poll came back after %s", gap)
	}
}

// TestFenceHoldsSendsOfAStalledNode: Fence lets a request leave while the
// node's last heartbeat is recent, holds it while the heartbeat is late
// (until the next one is stored), and holds every request for good once
// the heartbeat loop found the node silent for its lease — that round
// stores no heartbeat, and the server is told (OnFenced).
func TestFenceHoldsSendsOfAStalledNode(t *testing.T) {
	pg := testenv.Postgres(t)
	ctx := context.Background()
	st, err := store.Open(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	var told atomic.Int64
	d, err := New(ctx, Options{URL: pg.DSN, Node: "node-f", Lease: time.Second,
		OnFenced: func(silent time.Duration) { told.Store(int64(silent)) }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.pool.Close()
	d.started = time.Now()
	d.beatOnce(ctx)
	if err := d.Fence(ctx); err != nil {
		t.Fatalf("fresh heartbeat: %v", err)
	}
	// Late (400 ms of a 1 s lease): held until the next heartbeat.
	d.beat.Store(int64(time.Since(d.base) - 400*time.Millisecond))
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err = d.Fence(short)
	cancel()
	if err == nil {
		t.Fatal("a request left while the heartbeat was late")
	}
	done := make(chan error, 1)
	go func() { done <- d.Fence(ctx) }()
	time.Sleep(50 * time.Millisecond)
	d.beatOnce(ctx)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the next heartbeat did not release the held request")
	}
	// Silent for the lease (a stall): fenced for good, no heartbeat stored.
	stale := time.Since(d.base) - 1200*time.Millisecond
	d.beat.Store(int64(stale))
	d.beatOnce(ctx)
	if d.beat.Load() != int64(stale) || time.Duration(told.Load()) < time.Second {
		t.Fatalf("after a stall: heartbeat stored %v, OnFenced told %v", d.beat.Load() != int64(stale), time.Duration(told.Load()))
	}
	d.beatOnce(ctx) // later rounds store nothing either
	short, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := d.Fence(short); err == nil || !strings.Contains(err.Error(), "presumed dead") {
		t.Fatalf("fenced node: %v", err)
	}
	if d.beat.Load() != int64(stale) {
		t.Fatal("a fenced node stored a heartbeat")
	}
	_ = d.presence.Close(ctx)
}
