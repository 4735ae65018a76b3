// Package scheduler makes the server run every Live dataflow of every
// organisation by itself: schedules (Quartz cron, in the organisation's time
// zone), deployments of Live versions (the old version finishes its
// in-flight files before the new one takes over), pause/stop/start, run
// records and crash-safe claims and checkpoints kept in the store.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/fsroot"
	"github.com/connectplus/connectplus/quartz"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/secrets/redact"
	"github.com/connectplus/connectplus/sharedstore"
)

// DefaultCron is the cron_trigger block's default schedule.
const DefaultCron = "0 0/5 * * * ?"

// Options configure a Manager.
type Options struct {
	Repo     runstate.Repo
	Registry *block.Registry
	Logger   *slog.Logger
	Clock    Clock
	// DataDir holds work directories and kept result files.
	DataDir string
	// Owner identifies this process's claims. It must be stable across
	// restarts of the same server (derived from the data directory), so a
	// restarted server resumes the files it had claimed.
	Owner string
	// Retention is how long run records and result files are kept (30 days).
	Retention time.Duration
	// ReloadInterval is how often Live deployments are re-read (10 s).
	ReloadInterval time.Duration
	// DrainTimeout bounds graceful shutdown: in-flight files get this long
	// to finish before they are stopped and released (1 min).
	DrainTimeout time.Duration
	// BlockOptions are passed to every block (e.g. stabilityWait).
	BlockOptions map[string]string
	// LocalPaths returns the local-path policy of an organisation's
	// dataflows (its files root; the data directory forbidden). nil leaves
	// local paths unconfined (tests).
	LocalPaths func(orgID string) (*fsroot.Policy, error)
	// Sandbox points API destinations at an API sandbox (demo mode).
	Sandbox string
	// MaxFilesPerFlow bounds files in flight per dataflow (2).
	MaxFilesPerFlow int
	// Redactor removes decrypted secret values from the deployment errors
	// the status shows (nil: none).
	Redactor *redact.Redactor
	// Metrics, when set, also receives every deployment's lineage events
	// and the API calls its blocks make (the observability recorder).
	Metrics MetricsSink
	// Dispatcher decides where polls and files run (nil: LocalDispatcher,
	// everything in this process).
	Dispatcher Dispatcher
	// SharedDir, when set, holds what every node of a cluster must reach:
	// the lineages' result spools and block state that checkpoints refer
	// to, and the kept result files (default: the data directory).
	SharedDir string
	// Shared is the shared store configured once (--shared-store s3://…
	// or --shared-dir); nil: a directory store on SharedDir. On S3 the
	// result spools are kept there as segments (their working copies and
	// block state stay in DataDir) and kept result files are uploaded.
	Shared sharedstore.Store
	// Journal keeps the blocks' logs that every node must read (the API
	// destinations' write-ahead logs) when the shared store is S3; nil:
	// they are files in the block state directory.
	Journal block.Journal
	// Node is the cluster node name recorded on the runs this process
	// works (empty on one server).
	Node string
	// ReconSyncRecords: a reconciliation report with at most this many
	// records is stored before its block goes on; a larger one is visible
	// at once (status saving, final totals) and its records are stored in
	// the background (default 10,000; a 1M-record report takes ~20 s on
	// SQLite).
	ReconSyncRecords int64
}

// TakeOverRepo is implemented by stores that let the node a file job is
// handed to take the file's claim over (store.Store).
type TakeOverRepo interface {
	TakeOverItem(ctx context.Context, flowKey, itemKey, owner string) (checkpoint []byte, ok bool, err error)
}

// MetricsSink is what the runtime reports to observability. Every method
// must be quick and must not block.
type MetricsSink interface {
	LineageStarted(d runstate.Deployment, resumed bool)
	Progress(d runstate.Deployment, bytes int64)
	LineageDone(d runstate.Deployment, r engine.LineageResult)
	// Calls is handed to the deployment's blocks (block.Env.Calls).
	Calls(d runstate.Deployment) block.CallRecorder
}

// Manager runs Live dataflows. It implements runstate.Controller.
type Manager struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	runners map[string]*runner // by Deployment.Key
	ctx     context.Context
	wake    chan struct{}
	bg      sync.WaitGroup
	metrics *metrics
}

type runner struct {
	m    *Manager
	dep  runstate.Deployment
	cron *quartz.Cron
	loc  *time.Location

	flow      *engine.Flow
	status    string
	busy      bool // a run (poll + its files) is in progress
	pending   bool // a tick arrived while busy: run once more after
	switching bool // an older version is draining
	next      time.Time
	lastPoll  *time.Time
	draining  []int
	removed   bool
	// released is closed once a stopped flow has released its in-flight
	// files (checkpoints saved, claims released, runs marked Stopped).
	released chan struct{}

	// Deployments (compile, then connect every block) run in the
	// background: connecting to a server that does not answer can take the
	// connect timeout, and no control call may wait for that.
	deploying bool
	deployErr string // the last deployment's failure, retried on reload
	// gen is bumped by every deployment started and by whatever makes one
	// in progress obsolete (stop, a new version, removal): a deployment
	// that finds the generation moved on discards its flow.
	gen int
	// switches counts version switches; switchDone is closed when the
	// latest one has waited for the older versions to finish.
	switches   int
	switchDone chan struct{}
}

// New returns a Manager; call Run to start it.
func New(opts Options) (*Manager, error) {
	if opts.Repo == nil || opts.Registry == nil {
		return nil, errors.New("runtime: Repo and Registry are required")
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Retention <= 0 {
		opts.Retention = 30 * 24 * time.Hour
	}
	if opts.ReloadInterval <= 0 {
		opts.ReloadInterval = 10 * time.Second
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = time.Minute
	}
	if opts.MaxFilesPerFlow <= 0 {
		opts.MaxFilesPerFlow = 2
	}
	if opts.Owner == "" {
		h, _ := os.Hostname()
		opts.Owner = h + ":" + opts.DataDir
	}
	if opts.Dispatcher == nil {
		opts.Dispatcher = &LocalDispatcher{}
	}
	if opts.SharedDir == "" {
		opts.SharedDir = opts.DataDir
	}
	if opts.ReconSyncRecords <= 0 {
		opts.ReconSyncRecords = 10000
	}
	if opts.Shared == nil {
		st, err := sharedstore.OpenDir(opts.SharedDir)
		if err != nil {
			return nil, fmt.Errorf("runtime: %w", err)
		}
		opts.Shared = st
	} else if dir := opts.Shared.Dir(); dir != "" {
		opts.SharedDir = dir
	}
	if opts.Dispatcher.Shared() {
		if _, ok := opts.Repo.(TakeOverRepo); !ok {
			return nil, errors.New("runtime: a shared dispatcher needs a store that can take claims over")
		}
	}
	return &Manager{opts: opts, log: opts.Logger, runners: map[string]*runner{}, wake: make(chan struct{}, 1), metrics: newMetrics()}, nil
}

// Run schedules and runs flows until ctx ends, then drains in-flight files
// (up to DrainTimeout) and releases the rest with their checkpoints.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	m.ctx = ctx
	m.mu.Unlock()
	disp := m.opts.Dispatcher
	if !disp.Shared() {
		// Runs left Running by this server's previous process. In a
		// cluster another node may be running them: a file whose node
		// died is resumed by the job River hands to another node.
		m.markInterrupted(ctx)
	}
	// Reconciliation reports whose records were still being stored when
	// this node's previous process stopped.
	m.resumePendingReports()
	if err := m.reload(ctx); err != nil {
		m.log.Error("loading live dataflows", "err", err)
	}
	if err := disp.Start(ctx, m); err != nil {
		return fmt.Errorf("runtime: dispatcher: %w", err)
	}
	lastReload := m.opts.Clock.Now()
	lastPurge := time.Time{}
	for {
		now := m.opts.Clock.Now()
		// A cluster's leader purges (a periodic job) and fires schedules.
		if now.Sub(lastPurge) >= time.Hour && !disp.FiresSchedules() {
			m.purge(ctx, now)
			lastPurge = now
		}
		if now.Sub(lastReload) >= m.opts.ReloadInterval {
			if err := m.reload(ctx); err != nil {
				m.log.Error("reloading live dataflows", "err", err)
			}
			lastReload = now
		}
		wait := m.opts.ReloadInterval - now.Sub(lastReload)
		var due []string
		m.mu.Lock()
		for k, r := range m.runners {
			if disp.FiresSchedules() {
				break
			}
			if !r.next.After(now) {
				if r.status == runstate.StatusActive {
					due = append(due, k)
				}
				r.next = r.nextFire(now)
			}
			if d := r.next.Sub(now); d < wait {
				wait = d
			}
		}
		m.mu.Unlock()
		for _, k := range due {
			if err := disp.Poll(ctx, k, false); err != nil && ctx.Err() == nil {
				m.log.Error("dispatching a scheduled poll", "flow", k, "err", err)
			}
		}
		if wait < 0 {
			wait = 0
		}
		select {
		case <-ctx.Done():
			m.shutdown()
			return nil
		case <-m.wake:
		case <-m.opts.Clock.After(wait):
		}
	}
}

func (r *runner) nextFire(after time.Time) time.Time {
	n, err := r.cron.Next(after.In(r.loc))
	if err != nil {
		return after.Add(100 * 365 * 24 * time.Hour)
	}
	return n
}

// markInterrupted flags runs left "Running" by a previous process: they are
// resumed (same lineage ID) when their file is claimed again.
func (m *Manager) markInterrupted(ctx context.Context) {
	runs, err := m.opts.Repo.ListRuns(ctx, runstate.RunFilter{Status: runstate.RunRunning, Limit: 10000})
	if err != nil {
		m.log.Error("listing unfinished runs", "err", err)
		return
	}
	for _, r := range runs {
		r.Status = runstate.RunInterrupted
		r.Error = "the server stopped while this file was in flight; it resumes after its last acknowledged record"
		if err := m.opts.Repo.UpsertRun(ctx, r); err != nil {
			m.log.Error("marking run interrupted", "run", r.ID, "err", err)
		}
	}
}

// reload reconciles runners with the store's Live deployments.
func (m *Manager) reload(ctx context.Context) error {
	deps, err := m.opts.Repo.LiveDeployments(ctx)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range deps {
		seen[d.Key()] = true
		r, ok := m.runners[d.Key()]
		if !ok {
			r, err = m.newRunner(d)
			if err != nil {
				m.log.Error("deploying dataflow", "flow", d.FlowName, "version", d.Version, "err", err)
				continue
			}
			m.runners[d.Key()] = r
			if r.status != runstate.StatusStopped {
				m.deployLocked(r)
			}
			// Ticks missed while the server was down run once, now (or
			// as soon as the deployment is ready).
			r.next = m.opts.Clock.Now()
			continue
		}
		if d.VersionID != r.dep.VersionID || d.ConfigRevision != r.dep.ConfigRevision || d.Document == nil && false {
			m.redeployLocked(r, d)
		}
		if d.Status != r.dep.Status && !r.switching {
			m.applyStatusLocked(r, d.Status)
		}
		r.dep.Status = d.Status
		if r.deployErr != "" && r.flow == nil && !r.deploying && !r.switching && r.status != runstate.StatusStopped {
			m.deployLocked(r) // retry a failed deployment
		}
	}
	for k, r := range m.runners {
		if !seen[k] {
			// No longer Live (deactivated or replaced by nothing): drain.
			r.removed = true
			r.gen++
			delete(m.runners, k)
			if r.flow != nil {
				old := r.flow
				r.flow = nil
				old.Drain()
				m.bg.Add(1)
				go func() {
					defer m.bg.Done()
					_ = old.WaitIdle(m.ctx)
					old.Close()
				}()
			}
		}
	}
	return nil
}

func (m *Manager) newRunner(d runstate.Deployment) (*runner, error) {
	loc := time.UTC
	if d.TimeZone != "" {
		l, err := time.LoadLocation(d.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("time zone %q: %w", d.TimeZone, err)
		}
		loc = l
	}
	r := &runner{m: m, dep: d, loc: loc, status: d.Status}
	if r.status == "" {
		r.status = runstate.StatusActive
	}
	doc, err := dataflow.Parse(d.Document, d.FlowName)
	if err != nil {
		return nil, err
	}
	cr, err := quartz.Parse(cronOf(doc))
	if err != nil {
		return nil, err
	}
	r.cron = cr
	return r, nil
}

// cronOf finds a dataflow's schedule: a cron_trigger block, the document's
// trigger (cron or preset), or the Connect+ default every 5 minutes.
func cronOf(doc *dataflow.Document) string {
	for _, b := range doc.Blocks {
		if b.Type == "cron_trigger" {
			if v, ok := b.Config["CronTrigger"].(string); ok && strings.TrimSpace(v) != "" {
				return v
			}
			return DefaultCron
		}
	}
	if doc.Trigger != nil {
		if doc.Trigger.Cron != "" {
			return doc.Trigger.Cron
		}
		if doc.Trigger.Preset != "" {
			if c, err := quartz.PresetCron(doc.Trigger.Preset); err == nil {
				return c
			}
		}
	}
	return DefaultCron
}

type orgResolver struct {
	ctx  context.Context
	repo runstate.Repo
	org  string
}

func (r orgResolver) Resolve(name string) (string, error) {
	return r.repo.ResolveConfig(r.ctx, r.org, name)
}

// IsSecret implements block.SecretResolver when the repository can tell
// (runstate.ConfigSecrecy): a NiFi parameter reference to a secret is then
// a compile error. A repository that cannot tell has no secrets.
func (r orgResolver) IsSecret(name string) (bool, error) {
	if s, ok := r.repo.(runstate.ConfigSecrecy); ok {
		return s.ConfigIsSecret(r.ctx, r.org, name)
	}
	return false, nil
}

func (m *Manager) compile(d runstate.Deployment, doc *dataflow.Document, loc *time.Location) (*engine.Flow, error) {
	safe := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '/' || r == '\\' || r == '.' {
				return '_'
			}
			return r
		}, s)
	}
	var paths *fsroot.Policy
	if m.opts.LocalPaths != nil {
		var err error
		if paths, err = m.opts.LocalPaths(d.OrgID); err != nil {
			return nil, fmt.Errorf("local-path policy: %w", err)
		}
	}
	work := filepath.Join(m.opts.DataDir, "work", safe(d.OrgID), safe(d.FlowID), fmt.Sprintf("v%d", d.Version))
	if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, err
	}
	var calls block.CallRecorder
	if m.opts.Metrics != nil {
		calls = m.opts.Metrics.Calls(d)
	}
	// A shared directory holds the spools and block state in place; on S3
	// the spools go to the store as segments and their working copies,
	// like the block state, stay in this node's data directory.
	stateDir := filepath.Join(m.opts.SharedDir, "state")
	var spools block.ObjectStore
	var journal block.Journal
	if m.opts.Shared.Dir() == "" {
		stateDir, spools, journal = filepath.Join(m.opts.DataDir, "state"), m.opts.Shared, m.opts.Journal
	}
	var cpr engine.Checkpointer = &repoCheckpointer{repo: m.opts.Repo, owner: m.opts.Owner}
	if m.opts.Dispatcher.Shared() {
		cpr = &repoCheckpointer{repo: m.opts.Repo, owner: m.opts.Owner, takeOver: m.opts.Repo.(TakeOverRepo)}
	}
	var fence func(context.Context) error
	if fd, ok := m.opts.Dispatcher.(Fencer); ok {
		fence = fd.Fence
	}
	f, err := engine.Compile(doc, engine.Options{
		Registry:     m.opts.Registry,
		Resolver:     orgResolver{ctx: m.ctx, repo: m.opts.Repo, org: d.OrgID},
		Checkpointer: cpr,
		WorkDir:      work,
		// Result spools are referred to by checkpoints in the store, which
		// any later version of the flow may resume: they live outside the
		// per-version work directory.
		StateDir:     stateDir,
		Spools:       spools,
		Journal:      journal,
		Fence:        fence,
		Logger:       m.log.With("org", d.OrgID, "flow", d.FlowName, "version", d.Version),
		Compiler:     exprs.NewStep(exprs.Options{Location: loc, Now: m.opts.Clock.Now}),
		Now:          m.opts.Clock.Now,
		Sandbox:      m.opts.Sandbox,
		FlowKey:      d.Key(),
		MaxLineages:  m.opts.MaxFilesPerFlow,
		BlockOptions: m.blockOptions(),
		LocalPaths:   paths,
		KeepResult:   m.keepResult(d),
		Observer:     &runObserver{m: m, dep: d},
		Redact:       m.opts.Redactor.String,
		Calls:        calls,
		Reports:      m.reportsFor(d),
		Ledger:       m.ledgerFor(d),
	})
	if err != nil {
		return nil, err
	}
	if err := f.Start(m.ctx); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// redeployLocked switches a runner to a new Live version (or re-resolved
// configurations): the old flow picks no new files and finishes its
// in-flight ones; then the new one is deployed.
func (m *Manager) redeployLocked(r *runner, d runstate.Deployment) {
	doc, err := dataflow.Parse(d.Document, d.FlowName)
	if err != nil {
		m.log.Error("new live version does not parse", "flow", d.FlowName, "version", d.Version, "err", err)
		return
	}
	cr, err := quartz.Parse(cronOf(doc))
	if err != nil {
		m.log.Error("new live version has a bad schedule", "flow", d.FlowName, "err", err)
		return
	}
	old := r.flow
	oldVersion := r.dep.Version
	// A switch still waiting for older versions is waited for too, so no
	// two versions ever pick files at once.
	prev := r.switchDone
	done := make(chan struct{})
	r.switches++
	sw := r.switches
	r.dep, r.cron, r.flow, r.switching, r.switchDone = d, cr, nil, true, done
	// A deployment in progress is of an older version: discard it.
	r.gen++
	r.deploying, r.deployErr = false, ""
	if old != nil {
		old.Drain()
		r.draining = append(r.draining, oldVersion)
	}
	m.log.Info("switching live version", "flow", d.FlowName, "from", oldVersion, "to", d.Version)
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		defer close(done)
		if prev != nil {
			<-prev
		}
		if old != nil {
			_ = old.WaitIdle(m.ctx)
			old.Close()
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if sw != r.switches {
			return // a newer switch waits for this one and deploys
		}
		r.switching = false
		r.draining = nil
		r.switchDone = nil
		if r.status != runstate.StatusStopped && !r.removed && m.ctx.Err() == nil {
			m.deployLocked(r)
		}
	}()
}

// deployLocked compiles and starts r's Live version in the background. The
// runner has no flow meanwhile: ticks and run-now wait as pending, Pause
// and Stop only change the status the new flow starts in, and the status
// shows the deployment as Deploying, then Deployed or Failed.
func (m *Manager) deployLocked(r *runner) {
	r.gen++
	gen, dep, loc, released := r.gen, r.dep, r.loc, r.released
	r.deploying, r.deployErr = true, ""
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		if released != nil {
			// A stopped flow releases its files before a new one claims them.
			select {
			case <-released:
			case <-m.ctx.Done():
			}
		}
		var f *engine.Flow
		doc, err := dataflow.Parse(dep.Document, dep.FlowName)
		if err == nil {
			f, err = m.compile(dep, doc, loc)
		}
		m.mu.Lock()
		if gen != r.gen || r.removed || m.ctx.Err() != nil {
			m.mu.Unlock()
			// Obsolete: stopped, replaced or shut down meanwhile.
			if f != nil {
				f.Stop()
				f.Close()
			}
			return
		}
		defer m.mu.Unlock()
		r.deploying = false
		if err != nil {
			r.deployErr = m.opts.Redactor.String(err.Error())
			m.log.Error("deploying dataflow", "flow", dep.FlowName, "version", dep.Version, "err", err)
			return
		}
		r.flow = f
		if r.status == runstate.StatusPaused {
			f.Drain()
		}
		// A stream starts consuming as soon as it is deployed.
		if (r.pending || f.Streaming()) && r.status == runstate.StatusActive {
			r.pending = false
			m.triggerLocked(r, true)
		}
	}()
}

// triggerLocked starts a run unless one is in progress, in which case the
// tick is coalesced into one more run afterwards.
func (m *Manager) triggerLocked(r *runner, force bool) {
	if r.status != runstate.StatusActive && !force {
		return
	}
	if r.status != runstate.StatusActive {
		return
	}
	if r.busy || r.switching || r.flow == nil {
		r.pending = true
		return
	}
	r.busy = true
	f := r.flow
	now := m.opts.Clock.Now()
	r.lastPoll = &now
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		for {
			if f.Streaming() {
				// A stream runs continuously, window after window, until
				// it is paused, stopped or replaced; ticks do not apply.
				f.PollStream(m.ctx, time.Second)
			} else {
				if _, err := f.Poll(m.ctx); err != nil && m.ctx.Err() == nil {
					m.log.Warn("polling sources", "flow", r.dep.FlowName, "err", err)
				}
				_ = f.WaitIdle(m.ctx)
			}
			m.mu.Lock()
			again := r.pending && r.flow == f && r.status == runstate.StatusActive && m.ctx.Err() == nil
			if !again {
				r.busy = false
				// A tick that arrived for a replacement flow (after Stop and
				// Start) runs on that flow now.
				if r.pending && r.flow != nil && r.flow != f && m.ctx.Err() == nil {
					r.pending = false
					m.triggerLocked(r, false)
				}
				m.mu.Unlock()
				return
			}
			r.pending = false
			m.mu.Unlock()
		}
	}()
}

func (m *Manager) applyStatusLocked(r *runner, status string) {
	switch status {
	case runstate.StatusPaused:
		if r.flow != nil {
			r.flow.Drain()
		}
	case runstate.StatusStopped:
		// A deployment in progress would start a flow Stop just stopped.
		r.gen++
		r.deploying, r.deployErr = false, ""
		if r.flow != nil {
			f := r.flow
			r.flow = nil
			f.Stop()
			released := make(chan struct{})
			r.released = released
			dep := r.dep
			m.bg.Add(1)
			go func() {
				defer m.bg.Done()
				defer close(released)
				f.Close()
				m.markStopped(dep)
			}()
		}
	case runstate.StatusActive:
		if r.flow == nil && !r.switching && !r.deploying {
			r.status = status
			m.deployLocked(r)
		} else if r.flow != nil {
			r.flow.Resume()
			if r.flow.Streaming() {
				// A resumed stream fetches again now, not at a tick.
				r.status = status
				m.triggerLocked(r, true)
			}
		}
	}
	r.status = status
}

func (m *Manager) shutdown() {
	m.mu.Lock()
	var flows []*engine.Flow
	for _, r := range m.runners {
		if r.flow != nil {
			r.flow.Drain()
			flows = append(flows, r.flow)
		}
	}
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), m.opts.DrainTimeout)
	defer cancel()
	// No new jobs; the files in progress get the drain timeout to finish.
	m.opts.Dispatcher.Drain(ctx)
	for _, f := range flows {
		_ = f.WaitIdle(ctx)
	}
	// The rest are handed back with their checkpoints (a cluster's file
	// job goes back to the queue for another node).
	for _, f := range flows {
		f.Stop()
		f.Close()
	}
	closeCtx, done := context.WithTimeout(context.Background(), 30*time.Second)
	defer done()
	m.opts.Dispatcher.Close(closeCtx)
	m.bg.Wait()
}

// purge deletes run records and kept result files past retention.
func (m *Manager) purge(ctx context.Context, now time.Time) {
	cut := now.Add(-m.opts.Retention)
	if n, err := m.opts.Repo.PurgeRuns(ctx, cut); err != nil {
		m.log.Error("purging runs", "err", err)
	} else if n > 0 {
		m.log.Info("purged runs", "count", n, "before", cut)
	}
	if n, err := m.opts.Shared.DeleteOlder(ctx, "results/", cut.Unix()); err != nil {
		m.log.Error("purging result files", "store", m.opts.Shared.Describe(), "err", err)
	} else if n > 0 {
		m.log.Info("purged result files", "count", n, "before", cut)
	}
	// Spool segments of files that never finish (their dataflow deleted,
	// the run abandoned): a file completing deletes its own, so a lineage
	// whose newest segment is older than the retention has not checkpointed
	// for that long. All of a lineage goes or none: a long file still
	// running keeps its first segments.
	if g, n, err := m.opts.Shared.DeleteStale(ctx, "spools/", cut.Unix()); err != nil {
		m.log.Error("purging abandoned result spool segments", "store", m.opts.Shared.Describe(), "err", err)
	} else if n > 0 {
		m.log.Info("purged the result spool segments of abandoned files", "lineages", g, "segments", n, "before", cut)
	}
}

// keepResult keeps a deployment's result files on the shared store, as
// results/<org>/<dataflow>/<lineage>_<name> (a directory store: the same
// path as before the store existed).
func (m *Manager) keepResult(d runstate.Deployment) func(ctx context.Context, name string, open func() (io.ReadCloser, error)) (string, error) {
	return func(ctx context.Context, name string, open func() (io.ReadCloser, error)) (string, error) {
		key := "results/" + safeSegment(d.OrgID) + "/" + safeSegment(d.FlowID) + "/" + strings.ReplaceAll(name, "/", "_")
		rc, err := open()
		if err != nil {
			return "", err
		}
		defer rc.Close()
		if err := putObject(ctx, m.opts.Shared, key, rc); err != nil {
			return "", err
		}
		return m.opts.Shared.Ref(key), nil
	}
}

// putObject streams r into a new object of the store.
func putObject(ctx context.Context, st sharedstore.Store, key string, r io.Reader) error {
	w, err := st.Create(ctx, key)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Abort()
		return fmt.Errorf("writing %s to %s: %w", key, st.Describe(), err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("writing %s to %s: %w", key, st.Describe(), err)
	}
	return nil
}

func (m *Manager) runner(orgID, flowID string) (*runner, error) {
	r, ok := m.runners[orgID+"/"+flowID]
	if !ok {
		return nil, fmt.Errorf("dataflow %s has no Live version running: %w", flowID, runstate.ErrNotFound)
	}
	return r, nil
}

func (m *Manager) setStatus(ctx context.Context, orgID, flowID, status string) error {
	m.mu.Lock()
	r, err := m.runner(orgID, flowID)
	var released chan struct{}
	if err == nil {
		m.applyStatusLocked(r, status)
		r.dep.Status = status
		released = r.released
	}
	m.mu.Unlock()
	if err != nil {
		return err
	}
	// Stop returns once in-flight files are released with their
	// checkpoints, so a Start that follows cannot claim a file the stopped
	// flow has not let go of yet (it would resume from an older checkpoint).
	if released != nil {
		select {
		case <-released:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := m.opts.Repo.SetFlowStatus(ctx, orgID, flowID, status); err != nil {
		return err
	}
	m.opts.Dispatcher.Changed(ctx)
	return nil
}

// markStopped records that Stop released the files a deployment had in
// flight: their runs stay Stopped until the file is picked up again, when
// the same run resumes after its last acknowledged record.
func (m *Manager) markStopped(d runstate.Deployment) {
	ctx := context.WithoutCancel(m.ctx)
	runs, err := m.opts.Repo.ListRuns(ctx, runstate.RunFilter{OrgID: d.OrgID, FlowID: d.FlowID, Status: runstate.RunRunning, Limit: 10000})
	if err != nil {
		m.log.Error("listing stopped runs", "flow", d.FlowName, "err", err)
		return
	}
	for _, r := range runs {
		if r.VersionID != d.VersionID {
			continue // an older version still finishing its files
		}
		r.Status = runstate.RunStopped
		r.Error = "the dataflow was stopped while this file was in flight; it resumes after its last acknowledged record when the dataflow is started"
		if err := m.opts.Repo.UpsertRun(ctx, r); err != nil {
			m.log.Error("marking run stopped", "run", r.ID, "err", err)
		}
	}
}

// Pause implements runstate.Controller.
func (m *Manager) Pause(ctx context.Context, orgID, flowID string) error {
	return m.setStatus(ctx, orgID, flowID, runstate.StatusPaused)
}

// Stop implements runstate.Controller.
func (m *Manager) Stop(ctx context.Context, orgID, flowID string) error {
	return m.setStatus(ctx, orgID, flowID, runstate.StatusStopped)
}

// Start implements runstate.Controller.
func (m *Manager) Start(ctx context.Context, orgID, flowID string) error {
	return m.setStatus(ctx, orgID, flowID, runstate.StatusActive)
}

// RunNow implements runstate.Controller.
func (m *Manager) RunNow(ctx context.Context, orgID, flowID string) error {
	m.mu.Lock()
	r, err := m.runner(orgID, flowID)
	if err != nil {
		m.mu.Unlock()
		return err
	}
	if r.status != runstate.StatusActive {
		m.mu.Unlock()
		return fmt.Errorf("dataflow is %s: start it first", r.status)
	}
	if r.flow == nil && !r.deploying && !r.switching {
		m.deployLocked(r) // the last deployment failed: try again now
	}
	key := r.dep.Key()
	m.mu.Unlock()
	return m.opts.Dispatcher.Poll(ctx, key, true)
}

// Status implements runstate.Controller.
func (m *Manager) Status(_ context.Context, orgID, flowID string) (runstate.FlowRuntime, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.runner(orgID, flowID)
	if err != nil {
		return runstate.FlowRuntime{FlowID: flowID, Status: runstate.StatusStopped}, err
	}
	fr := runstate.FlowRuntime{FlowID: flowID, Status: r.status, LiveVersion: r.dep.Version, LastPoll: r.lastPoll, Draining: append([]int(nil), r.draining...)}
	switch {
	case r.flow != nil:
		fr.InFlight = r.flow.Active()
		fr.Deployment = runstate.DeployReady
	case r.deploying || r.switching:
		fr.Deployment = runstate.DeployPending
	case r.deployErr != "":
		fr.Deployment, fr.DeployError = runstate.DeployFailed, r.deployErr
	}
	if !r.next.IsZero() {
		n := r.next
		fr.NextRun = &n
	}
	return fr, nil
}

// Reload implements runstate.Controller.
func (m *Manager) Reload(ctx context.Context) error {
	err := m.reload(ctx)
	m.opts.Dispatcher.Changed(ctx)
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return err
}

// Flows lists the deployments being run, sorted by key (for tests and status pages).
func (m *Manager) Flows() []runstate.FlowRuntime {
	m.mu.Lock()
	keys := make([]string, 0, len(m.runners))
	for k := range m.runners {
		keys = append(keys, k)
	}
	m.mu.Unlock()
	sort.Strings(keys)
	out := make([]runstate.FlowRuntime, 0, len(keys))
	for _, k := range keys {
		org, flow, _ := strings.Cut(k, "/")
		if fr, err := m.Status(context.Background(), org, flow); err == nil {
			out = append(out, fr)
		}
	}
	return out
}

// blockOptions are the options every block gets: the configured ones and,
// on a cluster node, the node's name (block.OptNode).
func (m *Manager) blockOptions() map[string]string {
	if m.opts.Node == "" || !m.opts.Dispatcher.Shared() {
		return m.opts.BlockOptions
	}
	opts := maps.Clone(m.opts.BlockOptions)
	if opts == nil {
		opts = map[string]string{}
	}
	opts[block.OptNode] = m.opts.Node
	return opts
}
