package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/quartz"
	"github.com/connectplus/connectplus/runstate"
)

// Fencer is implemented by a Dispatcher whose node can be presumed dead by
// others while it still runs (a cluster node stalled past its lease): its
// blocks call Fence before a request leaves (block.Env.Fence).
type Fencer interface {
	Fence(ctx context.Context) error
}

// Dispatcher decides where the runtime's units of work run: polling a
// dataflow's sources, processing each file found, and the periodic
// maintenance (retention). The default, LocalDispatcher, runs everything in
// this process, as one server always did (SQLite, zero setup). A cluster
// dispatcher (package cluster: River on PostgreSQL) fires schedules on the
// elected leader only and spreads files over every node.
type Dispatcher interface {
	// Start is called once by Manager.Run before any schedule fires; w is
	// the Manager, which does the work the dispatcher hands it.
	Start(ctx context.Context, w Work) error
	// FiresSchedules reports whether the dispatcher fires Quartz schedules
	// itself (from w.Schedules); if not, the Manager's loop fires them
	// through Poll.
	FiresSchedules() bool
	// Poll asks for a poll of a dataflow (a schedule tick, or run-now).
	Poll(ctx context.Context, key string, runNow bool) error
	// Changed tells every other node that deployments or runtime statuses
	// changed in the store, so they re-read them now.
	Changed(ctx context.Context)
	// Drain stops taking new work and waits, up to ctx, for the work in
	// progress to finish.
	Drain(ctx context.Context)
	// Close ends the dispatcher once the flows have stopped.
	Close(ctx context.Context)
	// Shared reports whether other processes work on the same flows: the
	// node a file job is handed to then takes the file's claim over.
	Shared() bool
}

// Work is what a dispatcher asks of the runtime (implemented by Manager).
type Work interface {
	// Schedules lists the Live dataflows' schedules.
	Schedules() []Schedule
	// PollHere polls a dataflow in this process: list its sources and
	// process every file (the local dispatcher's one unit of work).
	PollHere(key string, runNow bool)
	// ListFlow lists a dataflow's eligible files without claiming them.
	ListFlow(ctx context.Context, key string) ([]engine.Listed, error)
	// ProcessFile processes one file of a dataflow here and returns when it
	// is done. ErrRetryLater: not now, give it back (maybe to another
	// node); ErrCancelled: paused or stopped, drop the job (the next poll
	// after Start lists the file again).
	ProcessFile(ctx context.Context, key, source string, it block.Item) error
	// Refresh re-reads deployments and statuses (another node changed them).
	Refresh(ctx context.Context) error
	// Purge deletes run records and result files past retention.
	Purge(ctx context.Context)
}

// Outcomes of ProcessFile that are not failures of the file.
var (
	ErrRetryLater = errors.New("runtime: retry the file later")
	ErrCancelled  = errors.New("runtime: file job cancelled")
)

// Schedule is one Live dataflow's schedule.
type Schedule struct {
	Key      string // Deployment.Key
	OrgID    string
	Cron     *quartz.Cron
	Location *time.Location
	// Active is false while the dataflow is paused or stopped: its ticks
	// pass without a poll.
	Active bool
	// Stream dataflows are consumed continuously, not scheduled.
	Stream bool
}

// Next is the schedule's first fire time after t.
func (s Schedule) Next(t time.Time) time.Time {
	n, err := s.Cron.Next(t.In(s.Location))
	if err != nil {
		return t.Add(100 * 365 * 24 * time.Hour)
	}
	return n
}

// LocalDispatcher runs all work in this process: the Manager's loop fires
// schedules and a poll processes every file it lists.
type LocalDispatcher struct{ w Work }

func (d *LocalDispatcher) Start(_ context.Context, w Work) error { d.w = w; return nil }
func (d *LocalDispatcher) FiresSchedules() bool                  { return false }
func (d *LocalDispatcher) Poll(_ context.Context, key string, runNow bool) error {
	d.w.PollHere(key, runNow)
	return nil
}
func (d *LocalDispatcher) Changed(context.Context) {}
func (d *LocalDispatcher) Drain(context.Context)   {}
func (d *LocalDispatcher) Close(context.Context)   {}
func (d *LocalDispatcher) Shared() bool            { return false }

// Schedules implements Work.
func (m *Manager) Schedules() []Schedule {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Schedule, 0, len(m.runners))
	for k, r := range m.runners {
		s := Schedule{Key: k, OrgID: r.dep.OrgID, Cron: r.cron, Location: r.loc, Active: r.status == runstate.StatusActive}
		if r.flow != nil && r.flow.Streaming() {
			s.Stream = true
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// PollHere implements Work.
func (m *Manager) PollHere(key string, runNow bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.runners[key]; ok {
		m.triggerLocked(r, runNow)
	}
}

// ListFlow implements Work.
func (m *Manager) ListFlow(ctx context.Context, key string) ([]engine.Listed, error) {
	m.mu.Lock()
	r, ok := m.runners[key]
	var f *engine.Flow
	status := ""
	if ok {
		f, status = r.flow, r.status
		now := m.opts.Clock.Now()
		r.lastPoll = &now
	}
	m.mu.Unlock()
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: dataflow %s is not deployed on this node yet", ErrRetryLater, key)
	case status != runstate.StatusActive:
		return nil, nil // paused or stopped: nothing to list
	case f == nil:
		return nil, fmt.Errorf("%w: dataflow %s is still deploying", ErrRetryLater, key)
	case f.Streaming():
		return nil, nil
	}
	return f.List(ctx)
}

// ProcessFile implements Work.
func (m *Manager) ProcessFile(ctx context.Context, key, source string, it block.Item) error {
	m.mu.Lock()
	r, ok := m.runners[key]
	var f *engine.Flow
	status := ""
	if ok {
		f, status = r.flow, r.status
	}
	m.mu.Unlock()
	switch {
	case !ok:
		return fmt.Errorf("%w: dataflow %s is not deployed on this node", ErrRetryLater, key)
	case status == runstate.StatusPaused || status == runstate.StatusStopped:
		return fmt.Errorf("%w: dataflow %s is %s", ErrCancelled, key, status)
	case f == nil:
		return fmt.Errorf("%w: dataflow %s is still deploying", ErrRetryLater, key)
	}
	_, err := f.ProcessItem(ctx, source, it)
	switch {
	case err == nil, errors.Is(err, engine.ErrNotClaimed):
		return nil // done here, or done before
	case errors.Is(err, engine.ErrDraining), errors.Is(err, engine.ErrStopped):
		m.mu.Lock()
		status = runstate.StatusActive
		if r, ok := m.runners[key]; ok {
			status = r.status
		}
		m.mu.Unlock()
		if status != runstate.StatusActive {
			return fmt.Errorf("%w: dataflow %s is %s", ErrCancelled, key, status)
		}
		// A new version taking over, or this node shutting down: the file
		// (with its checkpoint) goes back to the queue.
		return fmt.Errorf("%w: %v", ErrRetryLater, err)
	case errors.Is(err, engine.ErrBusy), ctx.Err() != nil:
		return fmt.Errorf("%w: %v", ErrRetryLater, err)
	}
	return err
}

// Refresh implements Work.
func (m *Manager) Refresh(ctx context.Context) error { return m.reload(ctx) }

// Purge implements Work.
func (m *Manager) Purge(ctx context.Context) { m.purge(ctx, m.opts.Clock.Now()) }
