package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/store"
)

// MaxSummaryWindow is the longest performance window (Connect+ §6.2).
const MaxSummaryWindow = 30 * 24 * time.Hour

// Runtime operations.
const (
	OpPause  = "pause"
	OpStop   = "stop"
	OpStart  = "start"
	OpRunNow = "run-now"
)

// Operate pauses, stops, starts or triggers a dataflow through the runtime
// (editors), records the resulting status and audits the change.
func (s *Service) Operate(ctx context.Context, a Actor, flowID, op string) (runstate.FlowRuntime, error) {
	if err := a.require(RoleEditor); err != nil {
		return runstate.FlowRuntime{}, err
	}
	f, err := s.st.GetDataflow(ctx, a.OrgID, flowID)
	if err != nil {
		return runstate.FlowRuntime{}, err
	}
	var status string
	switch op {
	case OpPause:
		err, status = s.ctl.Pause(ctx, a.OrgID, flowID), runstate.StatusPaused
	case OpStop:
		err, status = s.ctl.Stop(ctx, a.OrgID, flowID), runstate.StatusStopped
	case OpStart:
		err, status = s.ctl.Start(ctx, a.OrgID, flowID), runstate.StatusActive
	case OpRunNow:
		if f.Deactivated {
			return runstate.FlowRuntime{}, conflict("the dataflow is deactivated")
		}
		if f.Status != "" && f.Status != runstate.StatusActive {
			return runstate.FlowRuntime{}, conflict("the dataflow is %s: start it first", f.Status)
		}
		err = s.ctl.RunNow(ctx, a.OrgID, flowID)
	default:
		return runstate.FlowRuntime{}, invalid("op", "unknown operation %q", op)
	}
	if err != nil {
		if errors.Is(err, runstate.ErrNotFound) {
			return runstate.FlowRuntime{}, conflict("the dataflow is not deployed: make a version Live first")
		}
		return runstate.FlowRuntime{}, fmt.Errorf("runtime %s: %w", op, err)
	}
	err = s.st.Tx(ctx, func(q *store.Queries) error {
		after := map[string]any{"status": f.Status}
		if status != "" {
			if err := q.SetFlowStatus(ctx, a.OrgID, flowID, status); err != nil {
				return err
			}
			after["status"] = status
		}
		return s.audit(ctx, q, a, "dataflow."+op, "dataflow", flowID, map[string]any{"status": f.Status}, after)
	})
	if err != nil {
		return runstate.FlowRuntime{}, err
	}
	return s.Status(ctx, a, flowID)
}

// Status reports the runtime's view of a dataflow, filled in from the store
// when the runtime does not know it.
func (s *Service) Status(ctx context.Context, a Actor, flowID string) (runstate.FlowRuntime, error) {
	if err := a.require(RoleViewer); err != nil {
		return runstate.FlowRuntime{}, err
	}
	f, err := s.st.GetDataflow(ctx, a.OrgID, flowID)
	if err != nil {
		return runstate.FlowRuntime{}, err
	}
	st, err := s.ctl.Status(ctx, a.OrgID, flowID)
	if err != nil && !errors.Is(err, runstate.ErrNotFound) {
		return runstate.FlowRuntime{}, fmt.Errorf("runtime status: %w", err)
	}
	st.FlowID = flowID
	if st.Status == "" {
		st.Status = f.Status
	}
	if st.LiveVersion == 0 {
		st.LiveVersion = f.LiveVersion
	}
	return st, nil
}

// ListRuns lists the organisation's runs.
func (s *Service) ListRuns(ctx context.Context, a Actor, f runstate.RunFilter) (Page[runstate.Run], error) {
	var p Page[runstate.Run]
	if err := a.require(RoleViewer); err != nil {
		return p, err
	}
	f.OrgID = a.OrgID
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	want := f.Limit
	f.Limit++
	runs, err := s.st.ListRuns(ctx, f)
	if err != nil {
		return p, err
	}
	if runs == nil {
		runs = []runstate.Run{}
	}
	return offsetPage(runs, want, f.Offset), nil
}

// GetRun reads one run of the organisation.
func (s *Service) GetRun(ctx context.Context, a Actor, id string) (runstate.Run, error) {
	if err := a.require(RoleViewer); err != nil {
		return runstate.Run{}, err
	}
	return s.st.GetRun(ctx, a.OrgID, id)
}

// Summary aggregates a dataflow's runs over the last window (at most 30
// days). Accuracy is delivered ÷ input × 100 (100 when nothing came in).
func (s *Service) Summary(ctx context.Context, a Actor, flowID string, window time.Duration) (runstate.Summary, error) {
	if err := a.require(RoleViewer); err != nil {
		return runstate.Summary{}, err
	}
	if window <= 0 || window > MaxSummaryWindow {
		return runstate.Summary{}, invalid("window", "window must be between 1s and 720h (30 days)")
	}
	if _, err := s.st.GetDataflow(ctx, a.OrgID, flowID); err != nil {
		return runstate.Summary{}, err
	}
	to := s.clock()
	sum := runstate.Summary{FlowID: flowID, From: to.Add(-window), To: to, ByStatus: map[string]int{}, StatusCodes: map[string]int64{}}
	const page = 1000
	for off := 0; ; off += page {
		runs, err := s.st.ListRuns(ctx, runstate.RunFilter{OrgID: a.OrgID, FlowID: flowID, Since: sum.From, Until: to.Add(time.Microsecond), Limit: page, Offset: off})
		if err != nil {
			return sum, err
		}
		for _, r := range runs {
			sum.Runs++
			sum.RecordsIn += r.RecordsIn
			sum.Delivered += r.Delivered
			sum.Filtered += r.Filtered
			sum.Failed += r.Failed
			sum.RetryExhausted += r.RetryExhausted
			sum.ByStatus[r.Status]++
			for c, n := range r.StatusCodes {
				sum.StatusCodes[c] += n
			}
		}
		if len(runs) < page {
			break
		}
	}
	sum.AccuracyPct = 100
	if sum.RecordsIn > 0 {
		sum.AccuracyPct = float64(sum.Delivered) / float64(sum.RecordsIn) * 100
	}
	return sum, nil
}

// ListAudit returns one page of the organisation's audit log (admins).
func (s *Service) ListAudit(ctx context.Context, a Actor, f store.AuditFilter) (Page[store.AuditEntry], error) {
	var p Page[store.AuditEntry]
	if err := a.require(RoleAdmin); err != nil {
		return p, err
	}
	f.OrgID = a.OrgID
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	items, more, err := s.st.ListAudit(ctx, f)
	if err != nil {
		return p, err
	}
	if items == nil {
		items = []store.AuditEntry{}
	}
	p.Items = items
	if more {
		p.Next = fmt.Sprint(items[len(items)-1].Seq)
	}
	return p, nil
}

// EachAudit streams every matching audit entry, newest first (export).
func (s *Service) EachAudit(ctx context.Context, a Actor, f store.AuditFilter, fn func(store.AuditEntry) error) error {
	if err := a.require(RoleAdmin); err != nil {
		return err
	}
	f.OrgID = a.OrgID
	f.Limit = 1000
	for {
		items, more, err := s.st.ListAudit(ctx, f)
		if err != nil {
			return err
		}
		for _, e := range items {
			if err := fn(e); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
		f.BeforeSeq = items[len(items)-1].Seq
	}
}
