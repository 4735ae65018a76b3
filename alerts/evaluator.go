package alerts

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/connectplus/connectplus/obs"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/store"
)

// Run evaluates every EvalInterval (measured on the wall clock) and sends
// due summary reports until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.EvalInterval)
	defer t.Stop()
	go s.fileWorker(ctx)
	lastPrune := time.Time{}
	for {
		if err := s.EvaluateOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("evaluating alerts", "err", err)
		}
		if err := s.SendDueReports(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("sending reports", "err", err)
		}
		if now := s.now(); now.Sub(lastPrune) >= time.Hour {
			if _, err := s.st.PruneSlots(ctx, now.Add(-48*time.Hour)); err != nil && ctx.Err() == nil {
				s.log.Error("pruning evaluation slots", "err", err)
			}
			lastPrune = now
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// target is one dataflow a rule is evaluated for.
type target struct {
	orgID, flowID, name string
	dep                 *runstate.Deployment // nil: not Live
	created             time.Time
}

// measurement is a metric's value for one target over the window; ok is
// false when there is not enough data for it to mean anything.
type measurement struct {
	value float64
	ok    bool
}

// windowData caches one organisation's sums over one window for every rule
// evaluated with it.
type windowData struct {
	counts map[string]store.Counts
	http   map[string]store.HTTPCounts
	// endpoint holds the calls per dataflow and endpoint, for rules with
	// an API filter.
	endpoint map[[2]string]store.HTTPCounts
}

type evalState struct {
	now     time.Time
	windows map[string]*windowData // org + window
}

func (s *Service) windowSums(ctx context.Context, es *evalState, orgID string, w time.Duration) (*windowData, error) {
	key := orgID + "/" + w.String()
	if d := es.windows[key]; d != nil {
		return d, nil
	}
	from, to := es.now.Add(-w), es.now
	total := ""
	rows, err := s.st.SumCounts(ctx, store.MetricFilter{OrgID: orgID, Block: &total, From: from, To: to})
	if err != nil {
		return nil, err
	}
	d := &windowData{counts: map[string]store.Counts{}, http: map[string]store.HTTPCounts{}, endpoint: map[[2]string]store.HTTPCounts{}}
	for _, r := range rows {
		d.counts[r.FlowID] = r.Counts
	}
	hs, err := s.st.SumHTTP(ctx, store.MetricFilter{OrgID: orgID, From: from, To: to})
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		acc := d.http[h.FlowID]
		acc.Add(h.HTTPCounts)
		d.http[h.FlowID] = acc
		k := [2]string{h.FlowID, h.Endpoint}
		ep := d.endpoint[k]
		ep.Add(h.HTTPCounts)
		d.endpoint[k] = ep
	}
	es.windows[key] = d
	return d, nil
}

func ratio(n, d, minVolume int64) measurement {
	if d <= 0 || d < minVolume {
		return measurement{}
	}
	return measurement{value: float64(n) / float64(d) * 100, ok: true}
}

func (s *Service) measure(ctx context.Context, es *evalState, r Rule, t target) (measurement, error) {
	w := time.Duration(r.Window)
	minVol := max(r.MinVolume, 1)
	switch r.Metric {
	case MetricValidation:
		if s.opts.Validate == nil || es.now.Sub(t.created) < w {
			return measurement{}, nil
		}
		n, err := s.opts.Validate(ctx, t.orgID, t.flowID)
		if err != nil {
			return measurement{}, err
		}
		return measurement{value: float64(n), ok: true}, nil
	case MetricRunFailurePct:
		runs, err := s.st.ListRuns(ctx, runstate.RunFilter{OrgID: t.orgID, FlowID: t.flowID, Since: es.now.Add(-w - 24*time.Hour), Limit: 500})
		if err != nil {
			return measurement{}, err
		}
		var m measurement
		for _, run := range runs {
			if run.Finished == nil || run.Finished.Before(es.now.Add(-w)) || run.RecordsIn < minVol {
				continue
			}
			if v := float64(run.Failed) / float64(run.RecordsIn) * 100; !m.ok || v > m.value {
				m = measurement{value: v, ok: true}
			}
		}
		return m, nil
	}
	d, err := s.windowSums(ctx, es, t.orgID, w)
	if err != nil {
		return measurement{}, err
	}
	c, h := d.counts[t.flowID], d.http[t.flowID]
	if r.Endpoint != "" {
		// An API filter: only that endpoint's calls count (the rule was
		// only accepted for call metrics).
		h = d.endpoint[[2]string{t.flowID, r.Endpoint}]
		if r.Metric == MetricRetryExhaustion {
			return ratio(h.Exhausted, h.Calls, minVol), nil
		}
	}
	switch r.Metric {
	case MetricErrorRate:
		return ratio(h.S4xx+h.S5xx+h.NoAnswer, h.Calls, minVol), nil
	case Metric4xxRate:
		return ratio(h.S4xx, h.Calls, minVol), nil
	case Metric5xxRate:
		return ratio(h.S5xx, h.Calls, minVol), nil
	case MetricFailurePct:
		return ratio(c.Failed, c.RecordsIn, minVol), nil
	case Metric5xxFailure:
		a, b := ratio(c.Failed, c.RecordsIn, minVol), ratio(h.S5xx, h.Calls, minVol)
		switch {
		case a.ok && b.ok:
			return measurement{value: math.Max(a.value, b.value), ok: true}, nil
		case a.ok:
			return a, nil
		}
		return b, nil
	case MetricRetryExhaustion:
		return ratio(c.RetryExhausted, c.RecordsIn, minVol), nil
	case MetricLatencyP90, MetricLatencyP95:
		q := 0.90
		if r.Metric == MetricLatencyP95 {
			q = 0.95
		}
		if h.Calls < minVol {
			return measurement{}, nil
		}
		v, ok := obs.Quantile(h.Hist, q)
		return measurement{value: v.Seconds(), ok: ok}, nil
	case MetricThroughput:
		if t.dep == nil || t.dep.Status != runstate.StatusActive {
			return measurement{}, nil
		}
		return measurement{value: float64(c.RecordsIn) / w.Minutes(), ok: true}, nil
	case MetricNoFilePicked:
		// Only an Active dataflow that has been Live for the whole window
		// is expected to have picked something.
		if t.dep == nil || t.dep.Status != runstate.StatusActive || es.now.Sub(t.dep.UpdatedAt) < w {
			return measurement{}, nil
		}
		return measurement{value: float64(c.UnitsIn), ok: true}, nil
	}
	return measurement{}, fmt.Errorf("alerts: metric %q cannot be measured", r.Metric)
}

// severity returns the priority and threshold a value violates ("" when none).
func severity(r Rule, v float64) (string, float64) {
	if r.Critical != nil && compare(v, r.Comparator, *r.Critical) {
		return Critical, *r.Critical
	}
	if r.Warning != nil && compare(v, r.Comparator, *r.Warning) {
		return Warning, *r.Warning
	}
	return "", 0
}

// EvaluateOnce evaluates every enabled rule of every organisation for the
// current period. A rule is evaluated by the one server that claims its
// period's slot, so several servers neither double-count nor notify twice.
func (s *Service) EvaluateOnce(ctx context.Context) error {
	es := &evalState{now: s.now(), windows: map[string]*windowData{}}
	orgs, err := s.st.ListOrgs(ctx)
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	for _, o := range orgs {
		if err := s.seedOrg(ctx, o.ID); err != nil {
			return err
		}
	}
	rules, err := s.st.ListAlertRules(ctx, "", true)
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	deps, err := s.st.LiveDeployments(ctx)
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	live := map[string][]runstate.Deployment{}
	for _, d := range deps {
		live[d.OrgID] = append(live[d.OrgID], d)
	}
	slot := es.now.Unix() / int64(s.opts.EvalInterval/time.Second)
	var errs []error
	for _, row := range rules {
		r, err := toRule(row)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ok, err := s.st.ClaimSlot(ctx, "eval", r.ID, slot, s.opts.Owner, es.now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue // another server evaluates this period
		}
		targets, err := s.targets(ctx, row.OrgID, r, live[row.OrgID])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, t := range targets {
			m, err := s.measure(ctx, es, r, t)
			if err != nil {
				errs = append(errs, fmt.Errorf("rule %s, dataflow %s: %w", r.ID, t.flowID, err))
				continue
			}
			sev, thr := "", 0.0
			if m.ok {
				sev, thr = severity(r, m.value)
			}
			if err := s.apply(ctx, row.OrgID, r, t, m.value, sev, thr, es.now); err != nil {
				errs = append(errs, fmt.Errorf("rule %s, dataflow %s: %w", r.ID, t.flowID, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Service) targets(ctx context.Context, orgID string, r Rule, live []runstate.Deployment) ([]target, error) {
	if r.Metric == MetricValidation {
		active := false
		flows, _, err := s.st.ListDataflows(ctx, store.FlowFilter{OrgID: orgID, Deactivated: &active, Limit: 10000})
		if err != nil {
			return nil, err
		}
		var out []target
		for _, f := range flows {
			if r.FlowID == "" || r.FlowID == f.ID {
				out = append(out, target{orgID: orgID, flowID: f.ID, name: f.Name, created: f.CreatedAt})
			}
		}
		return out, nil
	}
	var out []target
	for i := range live {
		d := &live[i]
		if r.FlowID == "" || r.FlowID == d.FlowID {
			out = append(out, target{orgID: orgID, flowID: d.FlowID, name: d.FlowName, dep: d})
		}
	}
	return out, nil
}

func (s *Service) renderIssue(r Rule, i *store.AlertIssue, flowName string) {
	m, _ := MetricByName(r.Metric)
	unit := m.Unit
	if unit != "%" {
		unit = " " + unit
	}
	vars := map[string]string{
		"rule": r.Name, "dataflow": flowName, "metric": m.Label, "value": formatValue(i.Value), "threshold": formatValue(i.Threshold),
		"priority": i.Priority, "window": time.Duration(r.Window).String(), "unit": unit, "endpoint": "every API",
	}
	if r.Endpoint != "" {
		vars["endpoint"] = r.Endpoint
	}
	title, desc := r.Title, r.Description
	if strings.TrimSpace(title) == "" {
		title = DefaultTitle(r.Metric)
	}
	if strings.TrimSpace(desc) == "" {
		desc = DefaultDescription(r.Metric)
		if r.Endpoint != "" {
			// The default text names the API the rule is filtered by.
			desc += " API: {{endpoint}}."
		}
	}
	i.Title, i.Description = render(title, vars), render(desc, vars)
}

// apply moves the rule's issue for the target through its lifecycle.
func (s *Service) apply(ctx context.Context, orgID string, r Rule, t target, value float64, sev string, thr float64, now time.Time) error {
	open, err := s.st.OpenAlertIssueFor(ctx, r.ID, t.flowID)
	hasOpen := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	switch {
	case sev != "" && !hasOpen:
		i := store.AlertIssue{ID: store.NewID("iss"), OrgID: orgID, RuleID: r.ID, RuleName: r.Name, FlowID: t.flowID, Metric: r.Metric,
			Priority: sev, Status: store.IssueActive, Value: value, Threshold: thr, OpenedAt: now, LastViolationAt: now}
		s.renderIssue(r, &i, t.name)
		if err := s.st.OpenAlertIssue(ctx, i); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return nil // opened by another server
			}
			return err
		}
		i.Revision = 1
		s.notifyIssue(ctx, r, &i, "opened", nil)
	case sev != "":
		event := ""
		switch {
		case sev != open.Priority && sev == Critical:
			event = "escalated"
		case sev != open.Priority:
			event = "de-escalated"
		case open.Status == store.IssueActive && r.RenotifyEvery > 0 && open.LastNotifiedAt != nil && now.Sub(*open.LastNotifiedAt) >= time.Duration(r.RenotifyEvery):
			event = "renotify"
		}
		open.Priority, open.Value, open.Threshold, open.LastViolationAt, open.ClearedAt = sev, value, thr, now, nil
		s.renderIssue(r, &open, t.name)
		if err := s.st.UpdateAlertIssue(ctx, &open); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil // acknowledged or closed meanwhile: next period
			}
			return err
		}
		if event != "" {
			s.notifyIssue(ctx, r, &open, event, nil)
		}
	case hasOpen:
		event := ""
		switch {
		case open.ClearedAt == nil:
			open.ClearedAt = &now
		case now.Sub(*open.ClearedAt) >= time.Duration(r.AutoCloseAfter):
			open.Status, open.ClosedAt = store.IssueClosed, &now
			open.CloseReason = fmt.Sprintf("the condition was clear for %s", time.Duration(r.AutoCloseAfter))
			event = "closed"
		default:
			return nil
		}
		if err := s.st.UpdateAlertIssue(ctx, &open); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil
			}
			return err
		}
		if event != "" {
			s.notifyIssue(ctx, r, &open, event, nil)
		}
	}
	return nil
}

// RunFileNotifications sends the per-file notifications of this process's
// runs until ctx ends. In a cluster every node runs it for the files it
// processed, while evaluation and reports run as the leader's jobs
// (EvaluateOnce, SendDueReports, PruneSlots) instead of Run.
func (s *Service) RunFileNotifications(ctx context.Context) { s.fileWorker(ctx) }
