package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/obs"
	"github.com/connectplus/connectplus/store"
)

// Observability routes (issue 17): the System Snapshot, the Performance
// tab (series, block-wise counts, error summary) and drill-down from a run
// to its requests. Every figure is the caller's organisation's.
func (s *Server) obsRoutes() []route {
	const tObs = "observability"
	v := RoleViewer
	win := []param{{name: "window", desc: "Go duration ending now, e.g. 1h or 24h (default), at most 720h"},
		{name: "from", desc: "RFC 3339 start of a custom range (instead of window)"}, {name: "to", desc: "RFC 3339 end of a custom range (default now)"}}
	with := func(ps ...param) []param { return append(append([]param(nil), win...), ps...) }
	pFlow := param{name: "flowId", desc: "restrict to one dataflow"}
	pBlock := param{name: "block", desc: "one block's figures"}
	pStep := param{name: "step", desc: "Go duration in whole minutes (default: about 60 points)"}
	return []route{
		{method: "GET", path: Base + "/observability/snapshot", tag: tObs, summary: "System Snapshot: processed units, error %, failed count, top error, P50-P99 latency, RPM over a window",
			role: v, handler: s.obsSnapshot, query: with(pFlow), resp: obs.Snapshot{}, status: 200},
		{method: "GET", path: Base + "/observability/series", tag: tObs, summary: "The organisation's figures per step (home charts)",
			role: v, handler: s.obsSeries, query: with(pFlow, pStep), resp: obs.Series{}, status: 200},
		{method: "GET", path: Base + "/observability/dataflows", tag: tObs, summary: "Per-dataflow input, output, failures, accuracy % and error % over a window (list columns)",
			role: v, handler: s.obsFlows, query: win, resp: []FlowFigures{}, status: 200},
		{method: "GET", path: Base + "/observability/errors", tag: tObs, summary: "Error summary of the organisation: message x block x count, most frequent first",
			role: v, handler: s.obsErrors, query: with(pFlow, pBlock, param{name: "search", desc: "case-insensitive message substring"}, pLimit), resp: obs.ErrorSummary{}, status: 200},
		{method: "GET", path: Base + "/dataflows/{flowID}/performance", tag: tObs, summary: "A dataflow's overall performance: input, output, error, warning, accuracy %, latency",
			role: v, handler: s.flowPerformance, query: win, resp: obs.Snapshot{}, status: 200},
		{method: "GET", path: Base + "/dataflows/{flowID}/performance/series", tag: tObs, summary: "A dataflow's figures per step (one block's with block)",
			role: v, handler: s.flowSeries, query: with(pBlock, pStep), resp: obs.Series{}, status: 200},
		{method: "GET", path: Base + "/dataflows/{flowID}/performance/blocks", tag: tObs, summary: "Block-wise performance: per block input, output, filtered, failed, and its API endpoints (status classes, P50-P99, histogram), in document order",
			role: v, handler: s.flowBlocks, query: win, resp: obs.BlockCounts{}, status: 200},
		{method: "GET", path: Base + "/dataflows/{flowID}/performance/errors", tag: tObs, summary: "A dataflow's error summary (search, block, date range)",
			role: v, handler: s.flowErrors, query: with(pBlock, param{name: "search", desc: "case-insensitive message substring"}, pLimit), resp: obs.ErrorSummary{}, status: 200},
		{method: "GET", path: Base + "/runs/{runID}/requests", tag: tObs, summary: "Drill-down: the API calls a run (lineage) made, oldest first, without bodies",
			role: v, handler: s.runRequests, query: []param{{name: "failed", desc: "true: only calls that failed (no answer or status >= 300)"}, {name: "requestId", desc: "X-CAP-REQUEST-ID"}, pLimit, pCursor},
			resp: RequestPage{}, status: 200},
		{method: "GET", path: Base + "/request-log", tag: tObs, summary: "Find stored API calls by request id (X-CAP-REQUEST-ID)",
			role: v, handler: s.findRequests, query: []param{{name: "requestId", desc: "X-CAP-REQUEST-ID (required)"}}, resp: []store.RequestLog{}, status: 200},
		{method: "GET", path: Base + "/request-log/{callID}", tag: tObs, summary: "One stored API call: request (credentials removed) and response, bodies truncated, secrets redacted",
			role: v, handler: s.getRequest, resp: store.RequestLog{}, status: 200},
	}
}

type (
	// FlowFigures are one dataflow's figures for the list columns.
	FlowFigures struct {
		FlowID      string   `json:"flowId"`
		RecordsIn   int64    `json:"recordsIn"`
		Delivered   int64    `json:"delivered"`
		Failed      int64    `json:"failed"`
		Files       int64    `json:"files"`
		AccuracyPct *float64 `json:"accuracyPct"`
		ErrorPct    *float64 `json:"errorPct"`
	}
	// FlowListItem is a dataflow as the list shows it: with its last run
	// and its figures since midnight in the organisation's time zone
	// (units processed today, error %, accuracy %; absent without
	// observability).
	FlowListItem struct {
		store.Dataflow
		Today *FlowFigures `json:"today,omitempty"`
	}
	// RequestPage is a page of stored calls; next is the cursor of the
	// following page ("" at the end).
	RequestPage struct {
		Items []store.RequestLog `json:"items"`
		Next  string             `json:"next"`
	}
)

var errNoObs = newHTTPError(http.StatusServiceUnavailable, "unavailable", "observability is not enabled on this server")

// obsWindow reads the ?window of an observability read; every such read
// starts here, so it also answers 503 when observability is off.
func (s *Server) obsWindow(r *http.Request) (obs.Window, error) {
	if s.obs == nil {
		return obs.Window{}, errNoObs
	}
	w, err := obs.ParseWindow(r.URL.Query().Get, s.now())
	if err != nil {
		return w, badParam("window", "%s", strings.TrimPrefix(err.Error(), obs.ErrBadWindow.Error()+": "))
	}
	return w, nil
}

// flowScope checks that flowID (when given) is one of the caller's
// organisation's dataflows.
func (s *Server) flowScope(ctx context.Context, a control.Actor, flowID string) ([]string, error) {
	if flowID == "" {
		return nil, nil
	}
	if _, err := s.svc.Store().GetDataflow(ctx, a.OrgID, flowID); err != nil {
		return nil, err
	}
	return []string{flowID}, nil
}

func blockParam(r *http.Request) *string {
	if v, ok := r.URL.Query()["block"]; ok && len(v) > 0 && v[0] != "" {
		return &v[0]
	}
	return nil
}

func (s *Server) obsSnapshot(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.snapshotFor(w, r, a, r.URL.Query().Get("flowId"))
}

func (s *Server) flowPerformance(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.snapshotFor(w, r, a, chi.URLParam(r, "flowID"))
}

func (s *Server) snapshotFor(w http.ResponseWriter, r *http.Request, a control.Actor, flowID string) error {
	win, err := s.obsWindow(r)
	if err != nil {
		return err
	}
	flows, err := s.flowScope(r.Context(), a, flowID)
	if err != nil {
		return err
	}
	snap, err := s.obs.Snapshot(r.Context(), a.OrgID, flows, win)
	return reply(w, http.StatusOK, snap, err)
}

func (s *Server) obsSeries(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.seriesFor(w, r, a, r.URL.Query().Get("flowId"), nil)
}

func (s *Server) flowSeries(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.seriesFor(w, r, a, chi.URLParam(r, "flowID"), blockParam(r))
}

func (s *Server) seriesFor(w http.ResponseWriter, r *http.Request, a control.Actor, flowID string, block *string) error {
	win, err := s.obsWindow(r)
	if err != nil {
		return err
	}
	step, err := obs.ParseStep(r.URL.Query().Get("step"), win)
	if err != nil {
		return badParam("step", "%s", strings.TrimPrefix(err.Error(), obs.ErrBadWindow.Error()+": "))
	}
	flows, err := s.flowScope(r.Context(), a, flowID)
	if err != nil {
		return err
	}
	ser, err := s.obs.Series(r.Context(), a.OrgID, flows, block, win, step)
	return reply(w, http.StatusOK, ser, err)
}

func (s *Server) obsFlows(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	win, err := s.obsWindow(r)
	if err != nil {
		return err
	}
	total := ""
	rows, err := s.svc.Store().SumCounts(r.Context(), store.MetricFilter{OrgID: a.OrgID, Block: &total, From: win.From, To: win.To})
	if err != nil {
		return err
	}
	out := make([]FlowFigures, 0, len(rows))
	for _, c := range rows {
		out = append(out, figuresOf(c))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FlowID < out[j].FlowID })
	writeJSON(w, http.StatusOK, out)
	return nil
}

func figuresOf(c store.CountsRow) FlowFigures {
	f := FlowFigures{FlowID: c.FlowID, RecordsIn: c.RecordsIn, Delivered: c.RecordsOut, Failed: c.Failed, Files: c.Files}
	if c.RecordsIn > 0 {
		acc := float64(c.RecordsOut) / float64(c.RecordsIn) * 100
		e := float64(c.Failed) / float64(c.RecordsIn) * 100
		f.AccuracyPct, f.ErrorPct = &acc, &e
	}
	return f
}

// startOfDay is midnight of now's day in the organisation's time zone (UTC
// when the zone is unknown to this system).
func startOfDay(now time.Time, zone string) time.Time {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		loc = time.UTC
	}
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// todayFigures fills in the list page's figures since midnight (the
// organisation's time zone) with one summing query for the whole page (per
// stored resolution), not one per dataflow. A dataflow with no metrics
// today gets zero figures; without observability the items keep none.
func (s *Server) todayFigures(ctx context.Context, a control.Actor, items []FlowListItem) error {
	if s.obs == nil || len(items) == 0 {
		return nil
	}
	org, err := s.svc.Store().GetOrg(ctx, a.OrgID)
	if err != nil {
		return fmt.Errorf("server: list figures: %w", err)
	}
	now := s.now()
	ids := make([]string, len(items))
	for i := range items {
		ids[i] = items[i].ID
	}
	total := ""
	rows, err := s.svc.Store().SumCounts(ctx, store.MetricFilter{OrgID: a.OrgID, FlowIDs: ids, Block: &total, From: startOfDay(now, org.TimeZone), To: now})
	if err != nil {
		return fmt.Errorf("server: list figures: %w", err)
	}
	by := make(map[string]FlowFigures, len(rows))
	for _, c := range rows {
		by[c.FlowID] = figuresOf(c)
	}
	for i := range items {
		f, ok := by[items[i].ID]
		if !ok {
			f = FlowFigures{FlowID: items[i].ID}
		}
		items[i].Today = &f
	}
	return nil
}

func (s *Server) obsErrors(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.errorsFor(w, r, a, r.URL.Query().Get("flowId"))
}

func (s *Server) flowErrors(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.errorsFor(w, r, a, chi.URLParam(r, "flowID"))
}

func (s *Server) errorsFor(w http.ResponseWriter, r *http.Request, a control.Actor, flowID string) error {
	win, err := s.obsWindow(r)
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", 100, 1000)
	if err != nil {
		return err
	}
	flows, err := s.flowScope(r.Context(), a, flowID)
	if err != nil {
		return err
	}
	es, err := s.obs.Errors(r.Context(), a.OrgID, flows, blockParam(r), r.URL.Query().Get("search"), limit, win)
	return reply(w, http.StatusOK, es, err)
}

func (s *Server) flowBlocks(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	win, err := s.obsWindow(r)
	if err != nil {
		return err
	}
	flowID := chi.URLParam(r, "flowID")
	if _, err := s.flowScope(r.Context(), a, flowID); err != nil {
		return err
	}
	bc, err := s.obs.Blocks(r.Context(), a.OrgID, flowID, s.blockOrder(r.Context(), a.OrgID, flowID), win)
	return reply(w, http.StatusOK, bc, err)
}

// blockOrder is the block names of the dataflow's Live version (else its
// newest version), in document order.
func (s *Server) blockOrder(ctx context.Context, orgID, flowID string) []string {
	v, err := s.svc.Store().VersionInState(ctx, orgID, flowID, "Live")
	if err != nil {
		vs, lerr := s.svc.Store().ListVersions(ctx, orgID, flowID)
		if lerr != nil || len(vs) == 0 {
			return nil
		}
		if v, err = s.svc.Store().GetVersion(ctx, orgID, flowID, vs[0].Number); err != nil {
			return nil
		}
	}
	doc, err := dataflow.Parse([]byte(v.Document), "flow")
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(doc.Blocks))
	for _, b := range doc.Blocks {
		names = append(names, b.Name)
	}
	return names
}

func (s *Server) runRequests(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	if s.obs == nil {
		return errNoObs
	}
	run, err := s.svc.GetRun(r.Context(), a, chi.URLParam(r, "runID"))
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", 100, 1000)
	if err != nil {
		return err
	}
	var after int64
	if c := r.URL.Query().Get("cursor"); c != "" {
		if after, err = strconv.ParseInt(c, 10, 64); err != nil || after < 0 {
			return badParam("cursor", "must be the next value of the previous page")
		}
	}
	failed := r.URL.Query().Get("failed") == "true"
	items, err := s.obs.Requests(r.Context(), a.OrgID, run.ID, r.URL.Query().Get("requestId"), failed, limit+1, after)
	if err != nil {
		return err
	}
	page := RequestPage{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		page.Next = strconv.FormatInt(items[limit-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) findRequests(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	if s.obs == nil {
		return errNoObs
	}
	id := r.URL.Query().Get("requestId")
	if id == "" {
		return badParam("requestId", "is required")
	}
	items, err := s.obs.Requests(r.Context(), a.OrgID, "", id, false, 100, 0)
	return reply(w, http.StatusOK, items, err)
}

func (s *Server) getRequest(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	if s.obs == nil {
		return errNoObs
	}
	rl, err := s.obs.Request(r.Context(), a.OrgID, chi.URLParam(r, "callID"))
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: request", control.ErrNotFound)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rl)
	return nil
}
