// Package cluster lets several `connectplus server` processes on one
// PostgreSQL divide the runtime's work with River (riverqueue/river): it is
// the scheduler.Dispatcher of a cluster. Every unit of work is a River job —
// poll a dataflow's sources, process one file, and the leader's periodic
// maintenance (alerts, reports, retention, reconcile). Schedules are fired
// by River's elected leader from durable last-fire times; a node that stops
// heart-beating has its running jobs rescued (River's rescue operation) and
// resumed elsewhere after the file's last acknowledged record; runtime
// controls reach every node through PostgreSQL LISTEN/NOTIFY.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/scheduler"
)

// Queue names: one per kind of work, each with its own per-node concurrency.
const (
	QueuePolls       = "polls"
	QueueFiles       = "files"
	QueueMaintenance = "maintenance"
)

// NotifyChannel carries "deployments or statuses changed" between nodes.
const NotifyChannel = "connectplus_runtime"

// Task is a periodic maintenance task the leader runs as a River job.
type Task struct {
	Name     string
	Interval time.Duration
	Run      func(ctx context.Context) error
}

// Options configure a Dispatcher.
type Options struct {
	// URL is the PostgreSQL database every node shares.
	URL string
	// Node names this process in the cluster (River's client ID, the
	// claims' owner, the node list). It must be unique among live nodes.
	Node string
	// Addr is the node's API address, shown in the cluster status.
	Addr   string
	Logger *slog.Logger
	// FileWorkers is how many files this node processes at once (2).
	FileWorkers int
	// PollWorkers is how many polls this node runs at once (2).
	PollWorkers int
	// OrgMaxFiles bounds the files one organisation has in flight across
	// the cluster (8), so one organisation's backlog cannot take every
	// worker: the others' files keep starting.
	OrgMaxFiles int
	// Lease is how long a node may be silent before it counts as dead and
	// its running jobs are rescued (10 s). Heartbeats are every Lease/5.
	Lease time.Duration
	// Tasks are the leader's periodic maintenance jobs (alerts, reports,
	// retention of metrics); retention of runs and reconcile are added.
	Tasks []Task
	// OnFenced is called once when the node finds it was silent long
	// enough for the others to count it dead (a stall, a lost database):
	// its files have been handed to other nodes. Fence already holds its
	// sends; the server exits, so its supervisor restarts it clean.
	OnFenced func(silent time.Duration)
}

// Dispatcher is the cluster's scheduler.Dispatcher.
type Dispatcher struct {
	opts   Options
	log    *slog.Logger
	pool   *pgxpool.Pool
	client *river.Client[pgx.Tx]
	work   scheduler.Work
	tasks  map[string]Task
	stats  *nodeStats

	mu      sync.Mutex
	leader  bool
	started time.Time
	cancel  context.CancelFunc

	// presence is this node's own connection, tagged with its name
	// (presenceName): PostgreSQL ends its session the moment the process
	// dies, so the others see a killed node gone without waiting for a
	// lease (reconcile). Kept by the heartbeat loop.
	presence *pgx.Conn
	// everPresent: the nodes whose presence session reconcile has seen.
	// Only those are judged by its absence (a connection pooler in front
	// of PostgreSQL hides it; such nodes are judged by the lease alone).
	everPresent map[string]bool
	// lastPass is when the leader last went through the schedules.
	lastPass time.Time

	// beat is when the last heartbeat was stored (monotonic, since base);
	// fenced is closed once the node was silent for long enough that the
	// others may count it dead (Fence).
	base     time.Time
	beat     atomic.Int64
	fenced   chan struct{}
	fenceOne sync.Once
	bg       sync.WaitGroup
}

var _ scheduler.Dispatcher = (*Dispatcher)(nil)

// New connects to PostgreSQL and prepares the River client; Start (called
// by the runtime) starts it. River's schema is applied by store.Open.
func New(ctx context.Context, opts Options) (*Dispatcher, error) {
	if opts.Node == "" || strings.ContainsAny(opts.Node, " \t\n/") {
		return nil, fmt.Errorf("cluster: node name %q: give a name without spaces or slashes (--node-name)", opts.Node)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.FileWorkers = max(opts.FileWorkers, 0)
	if opts.FileWorkers == 0 {
		opts.FileWorkers = 2
	}
	if opts.PollWorkers <= 0 {
		opts.PollWorkers = 2
	}
	if opts.OrgMaxFiles <= 0 {
		opts.OrgMaxFiles = 8
	}
	if opts.Lease <= 0 {
		opts.Lease = 10 * time.Second
	}
	pool, err := pgxpool.New(ctx, opts.URL)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect: %w", err)
	}
	d := &Dispatcher{opts: opts, log: opts.Logger, pool: pool, tasks: map[string]Task{}, stats: newNodeStats(opts.Node), everPresent: map[string]bool{},
		base: time.Now(), fenced: make(chan struct{})}
	workers := river.NewWorkers()
	river.AddWorker(workers, &pollWorker{d: d})
	river.AddWorker(workers, &fileWorker{d: d})
	river.AddWorker(workers, &taskWorker{d: d})
	// Dead-node rescue is not among the maintenance jobs: a job can die
	// with its node, and one left "running" there would block the next
	// (unique) insert of itself — the rescue of the dead would wait for
	// River's stuck-job rescuer (an hour). Every node runs it in its own
	// loop instead (reconcile, in Start).
	tasks := append([]Task{
		{Name: "prune-retention", Interval: time.Hour, Run: func(ctx context.Context) error {
			if d.work != nil {
				d.work.Purge(ctx)
			}
			return nil
		}},
	}, opts.Tasks...)
	var periodic []*river.PeriodicJob
	for _, t := range tasks {
		d.tasks[t.Name] = t
		name := t.Name
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(t.Interval),
			func() (river.JobArgs, *river.InsertOpts) {
				return taskArgs{Task: name}, &river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 1,
					UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: activeStates}}
			}, &river.PeriodicJobOpts{ID: name, RunOnStart: true}))
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		ID:     opts.Node,
		Logger: opts.Logger.With("component", "river"),
		Queues: map[string]river.QueueConfig{
			QueuePolls:       {MaxWorkers: opts.PollWorkers},
			QueueFiles:       {MaxWorkers: opts.FileWorkers},
			QueueMaintenance: {MaxWorkers: 2},
		},
		Workers:      workers,
		PeriodicJobs: periodic,
		// New jobs are announced by River's LISTEN/NOTIFY; the poll interval
		// is only the fallback when a notification is missed.
		FetchPollInterval: 500 * time.Millisecond,
		// File jobs have no timeout (a 650 MB file takes what it takes) and
		// are rescued by liveness (reconcile, on every node), not age; this
		// is the backstop for the short jobs.
		RescueStuckJobsAfter: time.Hour,
		JobTimeout:           10 * time.Minute,
		ErrorHandler:         &errorHandler{log: opts.Logger},
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("cluster: river client: %w", err)
	}
	d.client = client
	return d, nil
}

// activeStates are the states in which a job blocks an identical one:
// a poll already waiting or running coalesces the next tick (no overlap).
var activeStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}

// fileStates add completed: a file version processed once is never enqueued
// again by a later poll (cancelled ones — pause, stop — are, after Start).
var fileStates = append(append([]rivertype.JobState(nil), activeStates...), rivertype.JobStateCompleted)

// Start implements scheduler.Dispatcher: it registers the node, hands back
// the jobs a previous process of this node left running, starts River and
// the node's loops (heartbeat, notifications, the leader's schedules).
func (d *Dispatcher) Start(ctx context.Context, w scheduler.Work) error {
	d.work = w
	d.started = time.Now()
	if err := d.keepPresence(ctx); err != nil {
		return err
	}
	if err := d.heartbeat(ctx); err != nil {
		return err
	}
	// This process runs nothing yet: whatever River thinks this node runs
	// was left by a previous process (a kill): hand it back at once.
	if n, err := d.rescueNodes(ctx, []string{d.opts.Node}); err != nil {
		return err
	} else if n > 0 {
		d.log.Info("handed back the jobs a previous process of this node left running", "jobs", n)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel = cancel
	if err := d.client.Start(runCtx); err != nil {
		cancel()
		return fmt.Errorf("cluster: start river: %w", err)
	}
	d.loop(runCtx, d.opts.Lease/5, d.beatOnce)
	// The leadership is looked at more often than the schedules are gone
	// through (every second), so a new leader fires without waiting for
	// the next second's tick.
	d.loop(runCtx, leaderCheckEvery, d.fireSchedules)
	d.loop(runCtx, reconcileEvery(d.opts.Lease), func(ctx context.Context) {
		if err := d.reconcile(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("reconciling dead nodes", "err", err)
		}
	})
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		d.listen(runCtx)
	}()
	d.log.Info("joined the cluster", "node", d.opts.Node, "file_workers", d.opts.FileWorkers, "lease", d.opts.Lease)
	return nil
}

func (d *Dispatcher) loop(ctx context.Context, every time.Duration, fn func(context.Context)) {
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn(ctx)
			}
		}
	}()
}

// FiresSchedules implements scheduler.Dispatcher: the leader fires them.
func (d *Dispatcher) FiresSchedules() bool { return true }

// Shared implements scheduler.Dispatcher.
func (d *Dispatcher) Shared() bool { return true }

// Poll implements scheduler.Dispatcher: a poll job, coalesced with one
// already waiting or running for the dataflow.
func (d *Dispatcher) Poll(ctx context.Context, key string, runNow bool) error {
	org, _, _ := strings.Cut(key, "/")
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("cluster: enqueue poll of %s: %w", key, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := d.enqueuePoll(ctx, tx, pollArgs{Flow: key, Org: org, RunNow: runNow}); err != nil {
		return fmt.Errorf("cluster: enqueue poll of %s: %w", key, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("cluster: enqueue poll of %s: %w", key, err)
	}
	return nil
}

func pollOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: QueuePolls, MaxAttempts: 40, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: activeStates}}
}

// againKey, in a running poll job's metadata, asks it to poll once more
// when it ends: a tick or run-now came while it ran, and its listing may
// have been made before the new file arrived. (One server's runtime keeps
// the same "pending" poll.) River's uniqueness includes running jobs, so
// the request cannot be a second job until the first one has completed.
const againKey = "connectplus:poll_again"

// enqueuePoll inserts a poll job in tx, coalesced with one that waits;
// with one that runs, it sets that one's againKey instead.
func (d *Dispatcher) enqueuePoll(ctx context.Context, tx pgx.Tx, args pollArgs) error {
	for range 5 {
		res, err := d.client.InsertTx(ctx, tx, args, pollOpts())
		if err != nil {
			return err
		}
		if !res.UniqueSkippedAsDuplicate || res.Job.State != rivertype.JobStateRunning {
			return nil // a new job, or one that has not listed yet
		}
		// The row lock orders this against the job's completion
		// (finishPoll): either the flag is seen there, or the job is
		// completed and the next insert makes a new one.
		tag, err := tx.Exec(ctx, `UPDATE river_job SET metadata = metadata || jsonb_build_object($2::text, true)
			WHERE id = $1 AND state = 'running'`, res.Job.ID, againKey)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
	}
	return fmt.Errorf("poll of %s: the running poll neither took the request nor ended", args.Flow)
}

// Changed implements scheduler.Dispatcher: NOTIFY every node.
func (d *Dispatcher) Changed(ctx context.Context) {
	if _, err := d.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, d.opts.Node); err != nil {
		d.log.Warn("notifying the other nodes; they see the change at their next reload", "err", err)
	}
}

// Drain implements scheduler.Dispatcher: River stops fetching jobs and
// waits for the running ones (up to ctx); the runtime then hands the rest
// back with their checkpoints and Close waits for their jobs to return.
func (d *Dispatcher) Drain(ctx context.Context) {
	d.log.Info("draining: no new jobs", "node", d.opts.Node)
	if err := d.client.Stop(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		d.log.Warn("stopping river", "err", err)
	}
}

// Close implements scheduler.Dispatcher.
func (d *Dispatcher) Close(ctx context.Context) {
	if err := d.client.StopAndCancel(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		d.log.Warn("stopping river", "err", err)
	}
	if d.cancel != nil {
		d.cancel()
	}
	d.bg.Wait()
	// Leaving cleanly: the node is no longer listed as alive.
	cctx, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer done()
	_, _ = d.pool.Exec(cctx, `DELETE FROM cluster_nodes WHERE name = $1`, d.opts.Node)
	if d.presence != nil {
		_ = d.presence.Close(cctx)
	}
	d.pool.Close()
}

// reconcileEvery is how often every node looks for dead nodes: a dead
// node's jobs are available again at most a lease and this long after its
// last heartbeat.
func reconcileEvery(lease time.Duration) time.Duration {
	return min(max(lease/5, 200*time.Millisecond), time.Second)
}

// leaderCheckEvery is how often a node reads who leads: a node elected
// after the leader died fires the schedules that came due at most this long
// after its election.
const leaderCheckEvery = 200 * time.Millisecond

// presencePrefix tags a node's presence session (application_name).
const presencePrefix = "connectplus-node:"

// presenceName is the application_name of node's presence session;
// PostgreSQL keeps 63 bytes of it (a longer name that collides with another
// only makes a dead node look present: it is then judged by the lease).
func presenceName(node string) string {
	n := presencePrefix + node
	if len(n) > 63 {
		n = n[:63]
	}
	return n
}

// keepPresence (re)opens the presence session when it is not open and
// answering. Called from Start and the heartbeat loop only.
func (d *Dispatcher) keepPresence(ctx context.Context) error {
	_, err := d.keepPresenceReport(ctx)
	return err
}

// keepPresenceReport is keepPresence, also saying whether the session had
// been lost (the others may have seen this node gone).
func (d *Dispatcher) keepPresenceReport(ctx context.Context) (lost bool, err error) {
	if d.presence != nil && !d.presence.IsClosed() {
		pctx, cancel := context.WithTimeout(ctx, d.opts.Lease/5)
		err := d.presence.Ping(pctx)
		cancel()
		if err == nil {
			return false, nil
		}
		_ = d.presence.Close(context.WithoutCancel(ctx))
		d.presence = nil
	}
	lost = d.presence == nil && d.beat.Load() > 0
	cfg, err := pgx.ParseConfig(d.opts.URL)
	if err != nil {
		return lost, fmt.Errorf("cluster: presence connection: %w", err)
	}
	cfg.RuntimeParams["application_name"] = presenceName(d.opts.Node)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return lost, fmt.Errorf("cluster: presence connection: %w", err)
	}
	d.presence = conn
	return lost, nil
}

// beatOnce is one round of the heartbeat loop: keep the presence session,
// and store a heartbeat — unless the node was silent for long enough that
// the others may have counted it dead (judged before the heartbeat is
// stored: once it is, Fence would let such a node send again).
func (d *Dispatcher) beatOnce(ctx context.Context) {
	silent := time.Since(d.base) - time.Duration(d.beat.Load())
	reopened, err := d.keepPresenceReport(ctx)
	if err != nil && ctx.Err() == nil {
		d.log.Warn("presence connection; the others judge this node by its heartbeats", "err", err)
	}
	if silent >= d.opts.Lease || reopened && silent >= 2*d.opts.Lease/5 {
		d.fence(silent)
		return
	}
	if err := d.heartbeat(ctx); err != nil && ctx.Err() == nil {
		d.log.Warn("heartbeat", "err", err)
	}
}

// fenceAfter is how long after its last stored heartbeat a node stops
// sending until the next one is stored: before two heartbeat intervals,
// the soonest the others count it dead (its presence gone), with a
// heartbeat's latency to spare.
func (d *Dispatcher) fenceAfter() time.Duration { return 3 * d.opts.Lease / 10 }

// Fence implements scheduler.Fencer: it returns at once while this node's
// last heartbeat is recent; otherwise it waits for the next one, and
// forever once the node was silent for long enough that the others may
// have counted it dead and handed its files out (then its late sends are
// another node's to make, and its late checkpoints are refused by the
// claims).
func (d *Dispatcher) Fence(ctx context.Context) error {
	for {
		select {
		case <-d.fenced:
			<-ctx.Done()
			return fmt.Errorf("this node was presumed dead by the cluster: %w", ctx.Err())
		default:
		}
		if time.Since(d.base)-time.Duration(d.beat.Load()) < d.fenceAfter() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.fenced:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// fence marks the node presumed dead, once.
func (d *Dispatcher) fence(silent time.Duration) {
	d.fenceOne.Do(func() {
		close(d.fenced)
		d.log.Error("this node was silent for longer than the others wait: they count it dead and have its files; it sends nothing more",
			"node", d.opts.Node, "silent", silent.Round(time.Millisecond), "lease", d.opts.Lease)
		if d.opts.OnFenced != nil {
			d.opts.OnFenced(silent)
		}
	})
}

// dbNow is PostgreSQL's clock in Unix microseconds: heartbeats are written
// and judged by one clock, so a node whose clock runs behind is not taken
// for dead (nor a dead one for alive).
const dbNow = `(extract(epoch FROM clock_timestamp()) * 1000000)::bigint`

func (d *Dispatcher) heartbeat(ctx context.Context) error {
	_, err := d.pool.Exec(ctx, `INSERT INTO cluster_nodes (name, addr, started_at, seen_at) VALUES ($1, $2, $3, `+dbNow+`)
		ON CONFLICT (name) DO UPDATE SET addr = EXCLUDED.addr, seen_at = EXCLUDED.seen_at,
			started_at = CASE WHEN cluster_nodes.started_at < $3 THEN $3 ELSE cluster_nodes.started_at END`,
		d.opts.Node, d.opts.Addr, d.started.UnixMicro())
	if err != nil {
		return fmt.Errorf("cluster: heartbeat: %w", err)
	}
	d.beat.Store(int64(time.Since(d.base)))
	return nil
}

// isLeader asks River who its elected leader is.
func (d *Dispatcher) currentLeader(ctx context.Context) (string, error) {
	l, err := d.client.Driver().GetExecutor().LeaderGetElectedLeader(ctx, &riverdriver.LeaderGetElectedLeaderParams{})
	if err != nil {
		if errors.Is(err, rivertype.ErrNotFound) || errors.Is(err, pgx.ErrNoRows) {
			return "", nil
		}
		return "", err
	}
	if l.ExpiresAt.Before(time.Now()) {
		return "", nil
	}
	return l.LeaderID, nil
}

// fireSchedules runs every second on every node and does work only on the
// leader: for each Live dataflow whose next fire (after its durable last
// fire) has come, it records the fire and enqueues the poll in one
// transaction, under a row lock — two nodes that both think they lead for a
// moment cannot both fire, and a fire missed while there was no leader runs
// once as soon as there is one (ticks are coalesced, as on one server).
func (d *Dispatcher) fireSchedules(ctx context.Context) {
	leader, err := d.currentLeader(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("reading the leader", "err", err)
		}
		return
	}
	d.mu.Lock()
	was := d.leader
	d.leader = leader == d.opts.Node
	is := d.leader
	d.mu.Unlock()
	d.stats.setLeader(is)
	if is != was {
		d.log.Info("leadership", "node", d.opts.Node, "leader", is)
	}
	if !is || d.work == nil {
		return
	}
	now := time.Now()
	if is == was && now.Sub(d.lastPass) < time.Second {
		return // the schedules' granularity is a second
	}
	d.lastPass = now
	for _, s := range d.work.Schedules() {
		if s.Stream || s.Cron == nil {
			continue
		}
		if err := d.fireOne(ctx, s, now); err != nil && ctx.Err() == nil {
			d.log.Error("firing a schedule", "flow", s.Key, "err", err)
		}
	}
}

func (d *Dispatcher) fireOne(ctx context.Context, s scheduler.Schedule, now time.Time) error {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var last int64
	err = tx.QueryRow(ctx, `SELECT last_fire FROM cluster_schedule WHERE flow_key = $1 FOR UPDATE`, s.Key).Scan(&last)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// First sight of this dataflow: poll now, as one server does at
		// deployment.
		if _, err := tx.Exec(ctx, `INSERT INTO cluster_schedule (flow_key, last_fire, fires) VALUES ($1, $2, 0) ON CONFLICT (flow_key) DO NOTHING`, s.Key, now.UnixMicro()); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT last_fire FROM cluster_schedule WHERE flow_key = $1 FOR UPDATE`, s.Key).Scan(&last); err != nil {
			return err
		}
		if last != now.UnixMicro() {
			return nil // another node inserted it first
		}
	case err != nil:
		return err
	default:
		if s.Next(time.UnixMicro(last)).After(now) {
			return nil
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE cluster_schedule SET last_fire = $2, fires = fires + 1 WHERE flow_key = $1`, s.Key, now.UnixMicro()); err != nil {
		return err
	}
	if s.Active {
		if err := d.enqueuePoll(ctx, tx, pollArgs{Flow: s.Key, Org: s.OrgID}); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	d.stats.fired()
	return nil
}

// listen LISTENs on NotifyChannel and refreshes the runtime when another
// node changed deployments or statuses. A dropped connection is re-made;
// the runtime's periodic reload covers the gap.
func (d *Dispatcher) listen(ctx context.Context) {
	for ctx.Err() == nil {
		err := d.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		d.log.Warn("listening for runtime changes; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (d *Dispatcher) listenOnce(ctx context.Context) error {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `LISTEN `+NotifyChannel); err != nil {
		return err
	}
	// Changes made while this node was not listening.
	if err := d.work.Refresh(ctx); err != nil {
		d.log.Warn("refreshing the runtime", "err", err)
	}
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload == d.opts.Node {
			continue
		}
		if err := d.work.Refresh(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("refreshing the runtime", "err", err)
		}
	}
}

// reconcile runs on every node, every reconcileEvery: the running jobs of
// nodes that stopped heart-beating for a lease go back to the queue through
// River's rescue operation (the one its stuck-job rescuer uses), available
// at once; a dead node that was River's leader is resigned on its behalf, so
// the next leader is elected now rather than when its lease runs out; nodes
// gone for a day are forgotten. It does not depend on the leader, nor on a
// River job (either may have died with the node).
func (d *Dispatcher) reconcile(ctx context.Context) error {
	// Dead: silent for a lease (a stalled or cut-off node, whose session
	// may still be open) — or, for a node whose presence session was seen
	// before, that session gone (PostgreSQL ends it when the process dies)
	// and two heartbeats missed (a live node whose presence connection
	// dropped keeps heart-beating, and re-opens it). A SIGKILLed node is so
	// rescued two heartbeat intervals after its last heartbeat, not a lease.
	rows, err := d.pool.Query(ctx, `SELECT n.name, n.seen_at < `+dbNow+` - $1, n.seen_at < `+dbNow+` - $3,
			EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = current_database()
				AND a.application_name = left($4 || n.name, 63))
		FROM cluster_nodes n WHERE n.name <> $2`,
		d.opts.Lease.Microseconds(), d.opts.Node, (2 * d.opts.Lease / 5).Microseconds(), presencePrefix)
	if err != nil {
		return fmt.Errorf("cluster: listing dead nodes: %w", err)
	}
	type nodeRow struct {
		Name         string
		Silent, Late bool
		Present      bool
	}
	nodes, err := pgx.CollectRows(rows, pgx.RowToStructByPos[nodeRow])
	if err != nil {
		return fmt.Errorf("cluster: listing dead nodes: %w", err)
	}
	var dead []string
	for _, n := range nodes {
		gone := !n.Present && n.Late && d.everPresent[n.Name]
		if n.Silent || gone {
			dead = append(dead, n.Name)
		}
		if n.Present {
			d.everPresent[n.Name] = true
		}
	}
	if len(dead) > 0 {
		n, err := d.rescueNodes(ctx, dead)
		if err != nil {
			return err
		}
		if n > 0 {
			d.log.Warn("rescued the jobs of dead nodes", "nodes", dead, "jobs", n, "node", d.opts.Node)
		}
		if err := d.resignDeadLeader(ctx, dead); err != nil {
			return err
		}
	}
	if _, err := d.pool.Exec(ctx, `DELETE FROM cluster_nodes WHERE seen_at < `+dbNow+` - $1`, (24 * time.Hour).Microseconds()); err != nil {
		return fmt.Errorf("cluster: forgetting old nodes: %w", err)
	}
	return nil
}

// leadershipTopic is River's notification topic for leadership changes
// (its internal notifier.NotificationTopicLeadership): a "resigned" on it
// wakes every elector to bid at once.
const leadershipTopic = "river_leadership"

// resignDeadLeader ends the term of a leader that is among the dead nodes,
// with River's own resignation (delete + NOTIFY), as the leader would have
// done had it shut down cleanly. Without it the survivors wait for the
// term to expire (River's leader TTL, 15 s) and one more election round.
func (d *Dispatcher) resignDeadLeader(ctx context.Context, dead []string) error {
	exec := d.client.Driver().GetExecutor()
	l, err := exec.LeaderGetElectedLeader(ctx, &riverdriver.LeaderGetElectedLeaderParams{})
	if err != nil {
		if errors.Is(err, rivertype.ErrNotFound) || errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return fmt.Errorf("cluster: reading the leader: %w", err)
	}
	isDead := false
	for _, n := range dead {
		isDead = isDead || n == l.LeaderID
	}
	if !isDead {
		return nil
	}
	ok, err := exec.LeaderResign(ctx, &riverdriver.LeaderResignParams{ElectedAt: l.ElectedAt, LeaderID: l.LeaderID, LeadershipTopic: leadershipTopic})
	if err != nil {
		return fmt.Errorf("cluster: resigning dead leader %s: %w", l.LeaderID, err)
	}
	if ok {
		d.log.Warn("the leader stopped answering; resigned its leadership for it", "leader", l.LeaderID, "node", d.opts.Node)
	}
	return nil
}

// rescueNodes makes the running jobs last attempted by nodes available
// again now (discarded once out of attempts, as River's rescuer does). The
// rows are locked first (SKIP LOCKED): two nodes rescuing at once, or a
// node fetching a rescued job meanwhile, never see one job twice.
func (d *Dispatcher) rescueNodes(ctx context.Context, nodes []string) (int, error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("cluster: rescuing jobs: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	rows, err := tx.Query(ctx, `SELECT id, attempt, max_attempts FROM river_job
		WHERE state = 'running' AND attempted_by[array_length(attempted_by, 1)] = ANY($1)
		FOR UPDATE SKIP LOCKED`, nodes)
	if err != nil {
		return 0, fmt.Errorf("cluster: listing jobs of dead nodes: %w", err)
	}
	type row struct {
		ID          int64
		Attempt     int
		MaxAttempts int
	}
	jobs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		return 0, fmt.Errorf("cluster: listing jobs of dead nodes: %w", err)
	}
	if len(jobs) == 0 {
		return 0, nil
	}
	now := time.Now().UTC()
	// The horizon only has to admit every locked row: they are ours.
	p := &riverdriver.JobRescueManyParams{StuckHorizon: now.Add(time.Hour)}
	for _, j := range jobs {
		e := fmt.Sprintf(`{"at":%q,"attempt":%d,"error":"the node running this job stopped answering; rescued for another node","trace":""}`, now.Format(time.RFC3339Nano), j.Attempt)
		p.ID = append(p.ID, j.ID)
		p.Error = append(p.Error, []byte(e))
		p.ScheduledAt = append(p.ScheduledAt, now)
		if j.Attempt >= j.MaxAttempts {
			p.FinalizedAt = append(p.FinalizedAt, &now)
			p.State = append(p.State, string(rivertype.JobStateDiscarded))
			continue
		}
		// Available, not retryable: retryable jobs become available only
		// through River's scheduler, which runs on the leader — and the
		// leader may be the node that died.
		p.FinalizedAt = append(p.FinalizedAt, nil)
		p.State = append(p.State, string(rivertype.JobStateAvailable))
	}
	if _, err := d.client.Driver().UnwrapExecutor(tx).JobRescueMany(ctx, p); err != nil {
		return 0, fmt.Errorf("cluster: rescuing jobs: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("cluster: rescuing jobs: %w", err)
	}
	d.stats.rescued(len(jobs))
	return len(jobs), nil
}

// pollArgs: poll a dataflow's sources and enqueue one file job per item.
type pollArgs struct {
	Flow   string `json:"flow" river:"unique"`
	Org    string `json:"org"`
	RunNow bool   `json:"runNow,omitempty"`
}

func (pollArgs) Kind() string { return "connectplus.poll" }

// fileArgs: process one file version. Unique by dataflow and item version
// (path, size, modification time), so two polls never enqueue it twice.
type fileArgs struct {
	Flow    string     `json:"flow" river:"unique"`
	ItemKey string     `json:"itemKey" river:"unique"`
	Org     string     `json:"org"`
	Source  string     `json:"source"`
	Item    block.Item `json:"item"`
	Version int        `json:"version,omitempty"`
}

func (fileArgs) Kind() string { return "connectplus.file" }

// taskArgs: one run of a periodic maintenance task.
type taskArgs struct {
	Task string `json:"task" river:"unique"`
}

func (taskArgs) Kind() string { return "connectplus.maintenance" }

// pollPutOff is how long a poll waits for a node still deploying its
// dataflow.
const pollPutOff = 200 * time.Millisecond

type pollWorker struct {
	river.WorkerDefaults[pollArgs]
	d *Dispatcher
}

func (w *pollWorker) Work(ctx context.Context, job *river.Job[pollArgs]) error {
	d := w.d
	items, err := d.work.ListFlow(ctx, job.Args.Flow)
	if errors.Is(err, scheduler.ErrRetryLater) {
		if job.Attempt > 30 {
			return river.JobCancel(err)
		}
		d.log.Info("poll put off", "flow", job.Args.Flow, "reason", err.Error(), "node", d.opts.Node)
		// Typically this node is still deploying the dataflow (a
		// first-sight poll comes as soon as the leader has deployed it):
		// back shortly. River makes a short snooze available at once, due
		// at its time — and a run-now meanwhile coalesces with this job,
		// so a long snooze would delay the run-now too (it was 1 s, and
		// that second showed in the backlog benchmark).
		return river.JobSnooze(pollPutOff)
	}
	if err != nil {
		d.stats.job("poll", "error")
		return err
	}
	fresh := 0
	if len(items) > 0 {
		params := make([]river.InsertManyParams, 0, len(items))
		for _, it := range items {
			params = append(params, river.InsertManyParams{
				Args: fileArgs{Flow: job.Args.Flow, ItemKey: engine.ItemKey(it.Item), Org: job.Args.Org, Source: it.Source, Item: it.Item},
				InsertOpts: &river.InsertOpts{Queue: QueueFiles, MaxAttempts: 100,
					UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: fileStates}},
			})
		}
		res, err := d.client.InsertMany(ctx, params)
		if err != nil {
			return fmt.Errorf("enqueue files of %s: %w", job.Args.Flow, err)
		}
		for _, r := range res {
			if !r.UniqueSkippedAsDuplicate {
				fresh++
			}
		}
	}
	d.log.Info("polled", "flow", job.Args.Flow, "listed", len(items), "enqueued", fresh, "node", d.opts.Node, "job", job.ID,
		"waited", time.Since(job.CreatedAt).Round(time.Millisecond).String())
	if err := d.finishPoll(ctx, job); err != nil {
		return fmt.Errorf("completing the poll of %s: %w", job.Args.Flow, err)
	}
	d.stats.job("poll", "done")
	return nil
}

// finishPoll completes a poll job in a transaction that holds its row, so
// a request to poll again (enqueuePoll) is either seen here — and the next
// poll inserted in the same transaction — or made after the completion,
// as a new job.
func (d *Dispatcher) finishPoll(ctx context.Context, job *river.Job[pollArgs]) error {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var again bool
	if err := tx.QueryRow(ctx, `SELECT coalesce((metadata->>$2)::boolean, false) FROM river_job WHERE id = $1 FOR UPDATE`,
		job.ID, againKey).Scan(&again); err != nil {
		return err
	}
	if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
		return err
	}
	if again {
		if _, err := d.client.InsertTx(ctx, tx, pollArgs{Flow: job.Args.Flow, Org: job.Args.Org, RunNow: true}, pollOpts()); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

type fileWorker struct {
	river.WorkerDefaults[fileArgs]
	d *Dispatcher
}

// Timeout: none; a node that dies is detected by its heartbeat instead.
func (w *fileWorker) Timeout(*river.Job[fileArgs]) time.Duration { return -1 }

func (w *fileWorker) Work(ctx context.Context, job *river.Job[fileArgs]) error {
	d := w.d
	// Fair share: the organisation's oldest OrgMaxFiles running file jobs
	// proceed; a younger one steps back briefly and lets another
	// organisation's file take the worker.
	var ahead int
	if err := d.pool.QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'connectplus.file' AND state = 'running'
			AND args->>'org' = $1 AND id < $2`, job.Args.Org, job.ID).Scan(&ahead); err != nil {
		return fmt.Errorf("fair share of %s: %w", job.Args.Org, err)
	}
	if ahead >= d.opts.OrgMaxFiles {
		d.stats.job("file", "deferred")
		return river.JobSnooze(time.Second)
	}
	d.stats.running(1)
	defer d.stats.running(-1)
	err := d.work.ProcessFile(ctx, job.Args.Flow, job.Args.Source, job.Args.Item)
	switch {
	case err == nil:
		d.stats.job("file", "done")
		return nil
	case errors.Is(err, scheduler.ErrCancelled):
		d.stats.job("file", "cancelled")
		return river.JobCancel(err)
	case errors.Is(err, scheduler.ErrRetryLater):
		d.stats.job("file", "handed_back")
		return river.JobSnooze(time.Second)
	}
	d.stats.job("file", "error")
	return err
}

type taskWorker struct {
	river.WorkerDefaults[taskArgs]
	d *Dispatcher
}

func (w *taskWorker) Work(ctx context.Context, job *river.Job[taskArgs]) error {
	t, ok := w.d.tasks[job.Args.Task]
	if !ok {
		return river.JobCancel(fmt.Errorf("unknown maintenance task %q", job.Args.Task))
	}
	if err := t.Run(ctx); err != nil {
		w.d.stats.job(t.Name, "error")
		return err
	}
	w.d.stats.job(t.Name, "done")
	return nil
}

type errorHandler struct{ log *slog.Logger }

func (h *errorHandler) HandleError(_ context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	h.log.Error("job failed", "kind", job.Kind, "job", job.ID, "attempt", job.Attempt, "err", err)
	return nil
}

func (h *errorHandler) HandlePanic(_ context.Context, job *rivertype.JobRow, v any, trace string) *river.ErrorHandlerResult {
	h.log.Error("job panicked", "kind", job.Kind, "job", job.ID, "panic", fmt.Sprint(v), "trace", trace)
	return nil
}

// Status implements runstate.ClusterReporter: the nodes, the leader, queue
// depths and the jobs running on each node, read from PostgreSQL.
func (d *Dispatcher) Status(ctx context.Context) (runstate.ClusterStatus, error) {
	st := runstate.ClusterStatus{Mode: "cluster", Node: d.opts.Node, LeaseSeconds: d.opts.Lease.Seconds()}
	leader, err := d.currentLeader(ctx)
	if err != nil {
		return st, fmt.Errorf("cluster: leader: %w", err)
	}
	st.Leader = leader
	running := map[string]int{}
	rows, err := d.pool.Query(ctx, `SELECT attempted_by[array_length(attempted_by, 1)], COUNT(*) FROM river_job
		WHERE state = 'running' GROUP BY 1`)
	if err != nil {
		return st, fmt.Errorf("cluster: running jobs: %w", err)
	}
	for rows.Next() {
		var n string
		var c int
		if err := rows.Scan(&n, &c); err != nil {
			rows.Close()
			return st, err
		}
		running[n] = c
	}
	rows.Close()
	// Alive by PostgreSQL's clock, as reconcile judges it.
	rows, err = d.pool.Query(ctx, `SELECT name, addr, started_at, seen_at, seen_at >= `+dbNow+` - $1 FROM cluster_nodes ORDER BY name`,
		d.opts.Lease.Microseconds())
	if err != nil {
		return st, fmt.Errorf("cluster: nodes: %w", err)
	}
	for rows.Next() {
		var n runstate.ClusterNode
		var started, seen int64
		if err := rows.Scan(&n.Name, &n.Addr, &started, &seen, &n.Alive); err != nil {
			rows.Close()
			return st, err
		}
		n.StartedAt, n.SeenAt = time.UnixMicro(started).UTC(), time.UnixMicro(seen).UTC()
		n.Leader = n.Name == leader
		n.RunningJobs = running[n.Name]
		st.Nodes = append(st.Nodes, n)
	}
	rows.Close()
	rows, err = d.pool.Query(ctx, `SELECT queue, state::text, COUNT(*) FROM river_job
		WHERE state IN ('available', 'running', 'scheduled', 'retryable', 'pending') GROUP BY 1, 2 ORDER BY 1`)
	if err != nil {
		return st, fmt.Errorf("cluster: queues: %w", err)
	}
	defer rows.Close()
	byQueue := map[string]*runstate.ClusterQueue{}
	for _, q := range []string{QueueFiles, QueueMaintenance, QueuePolls} {
		byQueue[q] = &runstate.ClusterQueue{Name: q}
	}
	for rows.Next() {
		var q, state string
		var c int
		if err := rows.Scan(&q, &state, &c); err != nil {
			return st, err
		}
		cq := byQueue[q]
		if cq == nil {
			cq = &runstate.ClusterQueue{Name: q}
			byQueue[q] = cq
		}
		switch state {
		case "available", "pending":
			cq.Available += c
		case "running":
			cq.Running += c
		case "scheduled", "retryable":
			cq.Scheduled += c
		}
	}
	for _, q := range []string{QueueFiles, QueueMaintenance, QueuePolls} {
		st.Queues = append(st.Queues, *byQueue[q])
		d.stats.depth(q, byQueue[q].Available)
	}
	return st, rows.Err()
}
