package tools

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/runstate"
)

// RunSummary is one run (one source file through one Live version).
type RunSummary struct {
	RunID      string     `json:"runId"`
	FlowID     string     `json:"flowId"`
	FlowName   string     `json:"flowName"`
	Version    int        `json:"version"`
	FileName   string     `json:"fileName"`
	Status     string     `json:"status"`
	Error      string     `json:"error,omitempty"`
	Started    time.Time  `json:"started"`
	Finished   *time.Time `json:"finished,omitempty"`
	RecordsIn  int64      `json:"recordsIn"`
	Delivered  int64      `json:"delivered"`
	Filtered   int64      `json:"filtered"`
	Failed     int64      `json:"failed"`
	ResultName string     `json:"resultName,omitempty"`
}

func (h *handlers) runSummary(r runstate.Run) RunSummary {
	return RunSummary{RunID: r.ID, FlowID: r.FlowID, FlowName: r.FlowName, Version: r.Version, FileName: r.FileName, Status: r.Status,
		Error: h.t.d.Redactor.String(r.Error), Started: r.Started, Finished: r.Finished, RecordsIn: r.RecordsIn, Delivered: r.Delivered,
		Filtered: r.Filtered, Failed: r.Failed, ResultName: r.ResultName}
}

// ListRunsIn filters runs.
type ListRunsIn struct {
	FlowID string `json:"flowId,omitempty"`
	Status string `json:"status,omitempty" jsonschema:"run status, e.g. Success, Partial, Failed, Running"`
	Since  string `json:"since,omitempty" jsonschema:"RFC 3339 time"`
	Limit  int    `json:"limit,omitempty" jsonschema:"at most this many, newest first (default 20, at most 200)"`
}

// ListRunsOut lists runs.
type ListRunsOut struct {
	Runs []RunSummary `json:"runs"`
	More bool         `json:"more"`
}

func (h *handlers) listRuns(ctx context.Context, _ *mcp.CallToolRequest, in ListRunsIn) (*mcp.CallToolResult, ListRunsOut, error) {
	out := ListRunsOut{Runs: []RunSummary{}}
	a, err := h.actor(ctx)
	if err != nil {
		return nil, out, err
	}
	f := runstate.RunFilter{FlowID: in.FlowID, Status: in.Status, Limit: in.Limit}
	if f.Limit <= 0 {
		f.Limit = 20
	}
	f.Limit = min(f.Limit, 200)
	if in.Since != "" {
		if f.Since, err = time.Parse(time.RFC3339, in.Since); err != nil {
			return nil, out, userErr("since must be an RFC 3339 time (2024-03-15T00:00:00Z)")
		}
	}
	page, err := h.t.d.Service.ListRuns(ctx, a, f)
	if err != nil {
		return nil, out, h.fail(err)
	}
	for _, r := range page.Items {
		out.Runs = append(out.Runs, h.runSummary(r))
	}
	out.More = page.Next != ""
	return nil, out, nil
}

// RunIn names a run.
type RunIn struct {
	RunID string `json:"runId"`
}

// FailureGroup is the failed (or filtered) records of a run sharing one
// reason.
type FailureGroup struct {
	StatusCode string  `json:"statusCode,omitempty"`
	Reason     string  `json:"reason"`
	Count      int     `json:"count"`
	Lines      []int64 `json:"lines" jsonschema:"source line numbers of the first few"`
}

// ExplainRunOut is a run's counts and its failure reasons grouped.
type ExplainRunOut struct {
	Run         RunSummary       `json:"run"`
	StatusCodes map[string]int64 `json:"statusCodes,omitempty"`
	Failures    []FailureGroup   `json:"failures" jsonschema:"grouped by status code and reason, most frequent first"`
	// Blocks are the per-block counters of the run.
	Blocks any `json:"blocks,omitempty" jsonschema:"per-block counters of the run"`
	// ResultRows is how many rows the result file has (-1: no result file).
	ResultRows  int    `json:"resultRows"`
	Explanation string `json:"explanation"`
}

// maxGroups bounds the failure groups reported.
const maxGroups = 50

func (h *handlers) explainRun(ctx context.Context, _ *mcp.CallToolRequest, in RunIn) (*mcp.CallToolResult, ExplainRunOut, error) {
	out := ExplainRunOut{Failures: []FailureGroup{}, ResultRows: -1}
	a, err := h.actor(ctx)
	if err != nil {
		return nil, out, err
	}
	r, err := h.t.d.Service.GetRun(ctx, a, in.RunID)
	if err != nil {
		return nil, out, h.fail(err)
	}
	out.Run, out.StatusCodes = h.runSummary(r), r.StatusCodes
	if len(r.BlockStats) > 0 {
		var v any
		if json.Unmarshal(r.BlockStats, &v) == nil {
			out.Blocks = v
		}
	}
	groups := map[[2]string]*FailureGroup{}
	rows, err := h.t.eachResultRow(ctx, r, func(_ []string, row map[string]string) bool {
		reason := row["error_message"]
		if reason == "" {
			return true
		}
		k := [2]string{row["status_code"], reason}
		g := groups[k]
		if g == nil {
			if len(groups) >= maxGroups {
				k = [2]string{"", "(other reasons)"}
				if g = groups[k]; g == nil {
					g = &FailureGroup{Reason: k[1], Lines: []int64{}}
					groups[k] = g
				}
			} else {
				g = &FailureGroup{StatusCode: k[0], Reason: h.t.d.Redactor.String(reason), Lines: []int64{}}
				groups[k] = g
			}
		}
		g.Count++
		if len(g.Lines) < 5 {
			var n int64
			if _, err := fmt.Sscan(row["line_number"], &n); err == nil {
				g.Lines = append(g.Lines, n)
			}
		}
		return true
	})
	switch {
	case err == nil:
		out.ResultRows = rows
	case errors.Is(err, errNoResult):
	default:
		return nil, out, h.fail(err)
	}
	for _, g := range groups {
		out.Failures = append(out.Failures, *g)
	}
	sort.Slice(out.Failures, func(i, j int) bool {
		if out.Failures[i].Count != out.Failures[j].Count {
			return out.Failures[i].Count > out.Failures[j].Count
		}
		return out.Failures[i].Reason < out.Failures[j].Reason
	})
	out.Explanation = explainText(out)
	return nil, out, nil
}

func explainText(o ExplainRunOut) string {
	r := o.Run
	var b strings.Builder
	fmt.Fprintf(&b, "Run of %q version %d on %s: %s. %d records in, %d delivered, %d filtered, %d failed.",
		r.FlowName, r.Version, r.FileName, r.Status, r.RecordsIn, r.Delivered, r.Filtered, r.Failed)
	if r.Error != "" {
		fmt.Fprintf(&b, " The file failed as a whole: %s.", r.Error)
	}
	for i, g := range o.Failures {
		if i == 5 {
			fmt.Fprintf(&b, " …and %d more reasons.", len(o.Failures)-5)
			break
		}
		code := ""
		if g.StatusCode != "" {
			code = " (status " + g.StatusCode + ")"
		}
		fmt.Fprintf(&b, " %d× %s%s.", g.Count, g.Reason, code)
	}
	if o.ResultRows < 0 {
		b.WriteString(" The run has no result file (yet).")
	}
	return b.String()
}

var errNoResult = errors.New("no result file")

// maxResultBytes bounds how much of a result file a tool reads.
const maxResultBytes = 64 << 20

// eachResultRow calls fn with every row of the run's result file (column →
// value) until fn returns false, and returns the number of rows read.
func (t *Toolset) eachResultRow(ctx context.Context, r runstate.Run, fn func(cols []string, row map[string]string) bool) (int, error) {
	if r.ResultPath == "" {
		return 0, errNoResult
	}
	var f io.ReadCloser
	var err error
	if strings.HasPrefix(r.ResultPath, "s3://") && t.d.OpenResult != nil {
		f, err = t.d.OpenResult(ctx, r.ResultPath)
	} else {
		f, err = os.Open(r.ResultPath)
	}
	if err != nil {
		return 0, errNoResult
	}
	defer f.Close()
	br := bufio.NewReader(io.LimitReader(f, maxResultBytes))
	header, err := br.ReadString('\n')
	if err != nil && header == "" {
		return 0, nil
	}
	cr := csv.NewReader(io.MultiReader(strings.NewReader(header), br))
	cr.Comma = resultDelimiter(header)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = false
	cols, err := cr.Read()
	if err != nil {
		return 0, fmt.Errorf("result file header: %w", err)
	}
	n := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("result file row %d: %w", n+1, err)
		}
		row := make(map[string]string, len(cols))
		for i, c := range cols {
			if i < len(rec) {
				row[c] = rec[i]
			}
		}
		n++
		if !fn(cols, row) {
			return n, nil
		}
	}
}

// resultDelimiter finds the result file's delimiter (the source's): the
// byte before the status_code column the engine always writes.
func resultDelimiter(header string) rune {
	i := strings.Index(header, "status_code")
	switch {
	case i > 0:
		return rune(header[i-1])
	case i == 0 && len(header) > len("status_code"):
		return rune(header[len("status_code")])
	}
	return ','
}

// ResultRowsIn pages through a run's result file.
type ResultRowsIn struct {
	RunID  string `json:"runId"`
	Only   string `json:"only,omitempty" jsonschema:"failed: only rows with an error message; all (default): every row"`
	Offset int    `json:"offset,omitempty" jsonschema:"rows to skip (of those selected)"`
	Limit  int    `json:"limit,omitempty" jsonschema:"rows to return (default 20, at most 200)"`
}

// ResultRowsOut is a page of result rows.
type ResultRowsOut struct {
	Columns []string            `json:"columns"`
	Rows    []map[string]string `json:"rows"`
	// Next is the offset of the next page (0: no more).
	Next int `json:"next,omitempty"`
}

func (h *handlers) getResultRows(ctx context.Context, _ *mcp.CallToolRequest, in ResultRowsIn) (*mcp.CallToolResult, ResultRowsOut, error) {
	out := ResultRowsOut{Columns: []string{}, Rows: []map[string]string{}}
	a, err := h.actor(ctx)
	if err != nil {
		return nil, out, err
	}
	if in.Only != "" && in.Only != "all" && in.Only != "failed" {
		return nil, out, userErr("only must be failed or all")
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 200)
	r, err := h.t.d.Service.GetRun(ctx, a, in.RunID)
	if err != nil {
		return nil, out, h.fail(err)
	}
	seen := 0
	_, err = h.t.eachResultRow(ctx, r, func(cols []string, row map[string]string) bool {
		if len(out.Columns) == 0 {
			out.Columns = append(out.Columns, cols...)
		}
		if in.Only == "failed" && row["error_message"] == "" {
			return true
		}
		seen++
		if seen <= in.Offset {
			return true
		}
		if len(out.Rows) == limit {
			out.Next = in.Offset + limit
			return false
		}
		for k, v := range row {
			row[k] = h.t.d.Redactor.String(v)
		}
		out.Rows = append(out.Rows, row)
		return true
	})
	if errors.Is(err, errNoResult) {
		return nil, out, h.fail(fmt.Errorf("%w: run has no result file", control.ErrNotFound))
	}
	if err != nil {
		return nil, out, h.fail(err)
	}
	return nil, out, nil
}
