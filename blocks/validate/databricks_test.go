package validate

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/sandbox"
)

// jobsDouble is a contract double of the two Databricks Jobs API 2.1
// endpoints the blocks use (documented at the top of databricks.go), not a
// Capillary API. Each run walks through the life-cycle states scripted for
// its job, one per status check.
type jobsDouble struct {
	t      *testing.T
	mu     sync.Mutex
	script map[int64][]runState
	runs   map[int64]*doubleRun
	next   int64
	bodies []map[string]any
	gets   int
	fail   int // GETs to answer 503 before answering normally
}

type doubleRun struct {
	job  int64
	step int
}

func newJobsDouble(t *testing.T) (*jobsDouble, *httptest.Server) {
	d := &jobsDouble{t: t, script: map[int64][]runState{}, runs: map[int64]*doubleRun{}, next: 100}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return d, srv
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (d *jobsDouble) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer dapi-secret" {
		writeJSON(w, 401, map[string]string{"error_code": "UNAUTHENTICATED", "message": "bad token"})
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/2.1/jobs/run-now":
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			writeJSON(w, 400, map[string]string{"error_code": "MALFORMED_REQUEST", "message": err.Error()})
			return
		}
		d.bodies = append(d.bodies, body)
		id, _ := body["job_id"].(float64)
		if _, ok := d.script[int64(id)]; !ok {
			writeJSON(w, 400, map[string]string{"error_code": "INVALID_PARAMETER_VALUE", "message": "Job " + strconv.Itoa(int(id)) + " does not exist."})
			return
		}
		d.next++
		d.runs[d.next] = &doubleRun{job: int64(id)}
		writeJSON(w, 200, map[string]any{"run_id": d.next, "number_in_job": d.next})
	case r.Method == http.MethodGet && r.URL.Path == "/api/2.1/jobs/runs/get":
		d.gets++
		if d.fail > 0 {
			d.fail--
			writeJSON(w, 503, map[string]string{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "try later"})
			return
		}
		id, _ := strconv.ParseInt(r.URL.Query().Get("run_id"), 10, 64)
		run, ok := d.runs[id]
		if !ok {
			writeJSON(w, 400, map[string]string{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Run does not exist."})
			return
		}
		states := d.script[run.job]
		st := states[min(run.step, len(states)-1)]
		run.step++
		writeJSON(w, 200, map[string]any{"run_id": id, "run_page_url": "https://dbc.example/run/" + strconv.FormatInt(id, 10), "state": st})
	default:
		writeJSON(w, 404, map[string]string{"error_code": "ENDPOINT_NOT_FOUND", "message": r.URL.Path})
	}
}

var (
	pending    = runState{LifeCycle: "PENDING"}
	running    = runState{LifeCycle: "RUNNING"}
	succeeded  = runState{LifeCycle: "TERMINATED", Result: "SUCCESS"}
	failedRun  = runState{LifeCycle: "TERMINATED", Result: "FAILED", Message: "Task validate failed: bad rows"}
	internalEr = runState{LifeCycle: "INTERNAL_ERROR", Message: "cluster lost"}
)

func buildJobs(t *testing.T, srvURL string, extra map[string]string) block.Processor {
	t.Helper()
	vals := map[string]string{
		"jobId": "42", "maxRetries": "5", "dataBricksProcessedFilesPath": "/processed/output/",
		"dataBricksToken": "dapi-secret", "dataBricksUrl": srvURL + "/api/2.1/jobs", "pollInterval": "1ms",
	}
	for k, v := range extra {
		vals[k] = v
	}
	c := block.NewConfig(JobsSpec, vals)
	if probs := JobsSpec.Check(c); len(probs) > 0 {
		t.Fatalf("check: %v", probs)
	}
	b, err := JobsSpec.New(c, &block.Env{Block: "Databricks", CompileExpr: exprs.Compiler(nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	return b.(block.Processor)
}

func fileUnit(name, body string) *block.Unit {
	f := block.NewFile(name, int64(len(body)), func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(body)), nil
	})
	return &block.Unit{Attrs: block.Attributes{block.AttrFilename: name, block.AttrLineageID: "lin-1"}, File: f}
}

func TestJobsSuccess(t *testing.T) {
	d, srv := newJobsDouble(t)
	d.script[42] = []runState{pending, running, succeeded}
	d.fail = 1 // a transient 503 costs one check, not the file
	b := buildJobs(t, srv.URL, map[string]string{"jobParameters": `{"env": "${env}"}`})
	u := fileUnit("tx.csv", "a\n1\n")
	u.Attrs["env"] = "prod"
	out := &fakeOut{}
	if err := b.Process(context.Background(), u, out); err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 1 || out.got[0].rel != block.RelSuccess || out.got[0].unit.File != u.File {
		t.Fatalf("%+v", out.got)
	}
	a := out.got[0].unit.Attrs
	if a[AttrRunID] != "101" || a[AttrResultState] != "SUCCESS" || a[AttrRunURL] != "https://dbc.example/run/101" {
		t.Fatalf("attrs %v", a)
	}
	if d.gets != 4 {
		t.Fatalf("status checks %d, want 4", d.gets)
	}
	body := d.bodies[0]
	params, _ := body["notebook_params"].(map[string]any)
	if body["job_id"] != float64(42) || params["filename"] != "tx.csv" || params["processedFilesPath"] != "/processed/output/" || params["env"] != "prod" {
		t.Fatalf("run-now body %v", body)
	}
}

func TestJobsFailures(t *testing.T) {
	d, srv := newJobsDouble(t)
	d.script[42] = []runState{running, failedRun}
	b := buildJobs(t, srv.URL, map[string]string{"parameterStyle": "job_parameters"})
	err := b.Process(context.Background(), fileUnit("tx.csv", ""), &fakeOut{})
	if err == nil || err.Error() != "job 42 run 101 finished with FAILED: Task validate failed: bad rows" {
		t.Fatalf("err %v", err)
	}
	if _, ok := d.bodies[0]["job_parameters"]; !ok {
		t.Fatalf("job_parameters not sent: %v", d.bodies[0])
	}

	d.script[42] = []runState{internalEr}
	if err := b.Process(context.Background(), fileUnit("tx.csv", ""), &fakeOut{}); err == nil || !strings.Contains(err.Error(), "ended INTERNAL_ERROR: cluster lost") {
		t.Fatalf("err %v", err)
	}

	// Retries exhausted: the file is left unprocessed.
	d.script[42] = []runState{running}
	d.gets = 0
	if err := b.Process(context.Background(), fileUnit("tx.csv", ""), &fakeOut{}); err == nil || !strings.Contains(err.Error(), "still RUNNING after 5 status checks") {
		t.Fatalf("err %v", err)
	}
	if d.gets != 5 {
		t.Fatalf("checks %d, want maxRetries=5", d.gets)
	}

	// Unknown job, bad token.
	b7 := buildJobs(t, srv.URL, map[string]string{"jobId": "7"})
	if err := b7.Process(context.Background(), fileUnit("tx.csv", ""), &fakeOut{}); err == nil || !strings.Contains(err.Error(), "INVALID_PARAMETER_VALUE: Job 7 does not exist.") {
		t.Fatalf("err %v", err)
	}
	bt := buildJobs(t, srv.URL, map[string]string{"dataBricksToken": "wrong"})
	if err := bt.Process(context.Background(), fileUnit("tx.csv", ""), &fakeOut{}); err == nil || !strings.Contains(err.Error(), "HTTP 401 UNAUTHENTICATED") {
		t.Fatalf("err %v", err)
	}
}

func TestJobsCancelWhileWaiting(t *testing.T) {
	d, srv := newJobsDouble(t)
	d.script[42] = []runState{running}
	b := buildJobs(t, srv.URL, map[string]string{"pollInterval": "1h"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.Process(ctx, fileUnit("tx.csv", ""), &fakeOut{}); err == nil || ctx.Err() == nil {
		t.Fatalf("err %v", err)
	}
}

func TestJobsConfig(t *testing.T) {
	for _, u := range []string{"https://capillary-scrum.cloud.databricks.com/api/2.1/jobs", "capillary-scrum.cloud.databricks.com"} {
		if got, err := jobsBase(u); err != nil || got != "https://capillary-scrum.cloud.databricks.com/api/2.1/jobs" {
			t.Errorf("%s: %s %v", u, got, err)
		}
	}
	c, probs := JobsSpec.ParseConfig(map[string]any{
		"jobId": "abc", "dataBricksProcessedFilesPath": "/p", "dataBricksUrl": "ftp://x", "dataBricksToken": "inline-secret",
	}, nil)
	_ = c
	paths := map[string]bool{}
	for _, p := range probs {
		paths[p.Path] = true
	}
	if !paths["dataBricksToken"] {
		t.Errorf("inline token accepted: %v", probs)
	}
	c2 := block.NewConfig(JobsSpec, map[string]string{"jobId": "abc", "dataBricksUrl": "ftp://x"})
	probs = JobsSpec.Check(c2)
	if len(probs) != 2 {
		t.Errorf("check: %v", probs)
	}
}

func TestValidationBlock(t *testing.T) {
	// Disabled: pass-through, no API needed.
	c := block.NewConfig(ValidationSpec, nil)
	b, err := ValidationSpec.New(c, &block.Env{})
	if err != nil {
		t.Fatal(err)
	}
	u := fileUnit("Customers.csv", "Customer ID,first-name\n1,A\n")
	out := &fakeOut{}
	if err := b.(block.Processor).Process(context.Background(), u, out); err != nil || out.got[0].unit != u {
		t.Fatalf("disabled: %v %+v", err, out.got)
	}
	if probs := ValidationSpec.Check(block.NewConfig(ValidationSpec, map[string]string{"isEnabled": "true"})); len(probs) != 3 {
		t.Fatalf("enabled without job: %v", probs)
	}

	d, srv := newJobsDouble(t)
	d.script[9] = []runState{running, succeeded}
	c = block.NewConfig(ValidationSpec, map[string]string{
		"isEnabled": "true", "jobId": "9", "dataBricksUrl": srv.URL, "dataBricksToken": "dapi-secret", "pollInterval": "1ms", "databaseName": "eucrm",
	})
	b, err = ValidationSpec.New(c, &block.Env{})
	if err != nil {
		t.Fatal(err)
	}
	out = &fakeOut{}
	if err := b.(block.Processor).Process(context.Background(), u, out); err != nil {
		t.Fatal(err)
	}
	nu := out.got[0].unit
	rc, _ := nu.File.Open(context.Background())
	body, _ := io.ReadAll(rc)
	rc.Close()
	if string(body) != "Customer_ID,first_name\n1,A\n" {
		t.Fatalf("body %q", body)
	}
	params := d.bodies[0]["notebook_params"].(map[string]any)
	if params["inputTable"] != "input_customers_lin1" || params["outputTable"] != "output_customers_lin1" || params["database_name"] != "eucrm" {
		t.Fatalf("params %v", params)
	}
	if nu.Attrs[AttrOutputTable] != "output_customers_lin1" || nu.Attrs[AttrResultState] != "SUCCESS" {
		t.Fatalf("attrs %v", nu.Attrs)
	}
}

// TestJobsUnderSandbox: with env.Sandbox the block calls the sandbox's
// jobs API (never the configured host) and checks at once, not every
// minute; the sandbox's failing job ids fail the file.
func TestJobsUnderSandbox(t *testing.T) {
	sb, ts := sandbox.NewTestServer(sandbox.Config{})
	defer ts.Close()
	for _, c := range []struct {
		job  string
		fail bool
	}{{"42", false}, {"901", true}} {
		cfg := block.NewConfig(JobsSpec, map[string]string{
			"jobId": c.job, "maxRetries": "3", "dataBricksProcessedFilesPath": "/processed/", "dataBricksToken": "dapi-x",
			"dataBricksUrl": "https://capillary-scrum.cloud.databricks.com/api/2.1/jobs",
		})
		b, err := JobsSpec.New(cfg, &block.Env{Block: "Databricks", CompileExpr: exprs.Compiler(nil, nil), Sandbox: ts.URL})
		if err != nil {
			t.Fatal(err)
		}
		out := &fakeOut{}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = b.(block.Processor).Process(ctx, fileUnit("tx.csv", "a\n1\n"), out)
		cancel()
		if c.fail != (err != nil) {
			t.Fatalf("job %s: %v", c.job, err)
		}
	}
	runs := sb.Entities(sandbox.KindDatabricksRun)
	if len(runs) != 2 || runs[0].Attributes["filename"] != "tx.csv" {
		t.Fatalf("runs %+v", runs)
	}
}
