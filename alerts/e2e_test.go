package alerts

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/blocks/all"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/obs"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/sandbox"
	"github.com/connectplus/connectplus/scheduler"
	"github.com/connectplus/connectplus/store"
)

const e2eDoc = `name: customers
blocks:
  - type: file_read
    name: read
    config:
      sourceDirectory: %[1]s/in
      fileRegex: '.*\.csv'
      processedDirectory: %[1]s/processed
      apiErrorFilePath: %[1]s/errors
    relations: [convert]
  - type: convert_csv_to_json
    name: convert
    config:
      groupSize: 1
    relations: [transform]
  - type: jslt_transform
    name: transform
    config:
      transformation: |
        { "profiles": [ { "firstName": .firstname, "lastName": .lastname, "source": "INSTORE",
            "identifiers": [ { "type": "mobile", "value": .mobile } ] } ] }
    relations: [post]
  - type: http_write
    name: post
    config:
      clientKey: {$config: capillary_client_key}
      clientSecret: {$config: capillary_client_secret}
      apiBaseUrl: https://eu.api.capillarytech.com
      oAuthBaseUrl: https://eu.api.capillarytech.com
      apiEndPoint: /v2/customers
      apiMethod: POST
      bulkSupport: "false"
      parseResponse: "true"
      maxRetries: "0"
      concurrency: "4"
      rate: "100000"
      parsePathMap: '{"status_code": "$.status.code", "error_message": "$.status.message"}'
`

func customersCSV(n, offset int) []byte {
	var b strings.Builder
	b.WriteString("firstname,lastname,mobile\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "F%d,L%d,9198%08d\n", i, i, offset+i)
	}
	return []byte(b.String())
}

// End to end with the real runtime: a Live dataflow posts customers to the
// API sandbox, which answers 30 % of requests 5xx. The recorder's metrics
// make the 5XX/Failure default alert open a Critical issue at the first
// evaluation; the email that arrives in mailpit carries the run's counts;
// acknowledging records the user; with the faults removed, a clean file
// and the auto-close period later the issue closes by itself. A No File
// Picked rule fires when nothing arrives for its window, and the P95 the
// API reads from histogram buckets is within one bucket of the P95
// computed from the stored request log.
func TestLiveDataflowAlertsEndToEnd(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newEnv(t, "")
	e.clock.t = time.Now().UTC().Truncate(time.Minute).Add(30 * time.Second)
	dir := t.TempDir()
	for _, d := range []string{"in", "processed", "errors"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sb, ts := sandbox.NewTestServer(sandbox.Config{Faults: sandbox.FaultConfig{Seed: 17, Endpoints: map[string]sandbox.FaultRule{"/v2/customers": {Rate5xx: 0.3, Codes5xx: []int{503},
		LatencyMin: sandbox.Duration(time.Millisecond), LatencyMax: sandbox.Duration(25 * time.Millisecond)}}}})
	t.Cleanup(ts.Close)
	key, secret := sb.Credentials()
	now := e.clock.Now()
	if err := e.st.PutConfig(ctx, &store.Config{ID: store.NewID("cfg"), OrgID: e.org.ID, Name: "capillary_client_key", Value: key, CreatedBy: "alice", UpdatedBy: "alice", ApprovedBy: "bob", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	e.secret("capillary_client_secret", secret)

	mp := testenv.Mailpit(t)
	e.svc.opts.SMTP = SMTPConfig{Host: mp.SMTPHost, Port: mp.SMTPPort, TLS: TLSNone, From: "alerts@connect.example.com"}
	if _, err := e.svc.CreateChannel(ctx, e.admin, ChannelInput{Name: "ops", Kind: KindEmail, AllAlerts: true, Settings: ChannelSettings{To: []string{"ops@example.com"}}}); err != nil {
		t.Fatal(err)
	}
	fl := e.flow("customers")
	v := store.Version{ID: store.NewID("ver"), FlowID: fl.ID, OrgID: e.org.ID, Number: 1, State: "Live", Document: fmt.Sprintf(e2eDoc, dir),
		CreatedBy: "alice", CreatedAt: now.Add(-2 * time.Hour), UpdatedAt: now.Add(-2 * time.Hour), LiveAt: &now}
	if err := e.st.CreateVersion(ctx, v); err != nil {
		t.Fatal(err)
	}

	rec := obs.NewRecorder(obs.Options{Store: e.st, Now: e.clock.Now, OnLineage: e.svc.FileProcessed})
	m, err := scheduler.New(scheduler.Options{Repo: e.st, Registry: all.Registry(), DataDir: filepath.Join(dir, "data"), Sandbox: ts.URL,
		BlockOptions: map[string]string{"file.stabilityWait": "1ms"}, Metrics: rec, ReloadInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	defer func() { cancel(); <-done }()

	runFile := func(name string, rows, offset int) runstate.Run {
		t.Helper()
		p := filepath.Join(dir, "in", name)
		if err := os.WriteFile(p, customersCSV(rows, offset), 0o644); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-time.Minute)
		_ = os.Chtimes(p, old, old)
		deadline := time.Now().Add(60 * time.Second)
		for {
			if err := m.RunNow(ctx, e.org.ID, fl.ID); err != nil && time.Now().After(deadline) {
				t.Fatalf("run now: %v", err)
			}
			runs, _ := e.st.ListRuns(ctx, runstate.RunFilter{OrgID: e.org.ID, FlowID: fl.ID, Limit: 100})
			for _, r := range runs {
				if r.FileName == name && r.Finished != nil {
					if err := rec.Flush(ctx); err != nil {
						t.Fatal(err)
					}
					return r
				}
			}
			if time.Now().After(deadline) {
				st, _ := m.Status(ctx, e.org.ID, fl.ID)
				t.Fatalf("%s did not finish: %+v %+v", name, runs, st)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	first := runFile("customers_1.csv", 200, 0)
	if first.RecordsIn != 200 || first.Failed < 30 || first.Failed > 90 || first.Status != runstate.RunPartial {
		t.Fatalf("first run %+v", first)
	}
	if err := e.svc.EvaluateOnce(ctx); err != nil {
		t.Fatal(err)
	}
	issues, _ := e.svc.ListIssues(ctx, e.admin, store.IssueFilter{RuleID: DefaultRuleID(e.org.ID, "5xx_failure")})
	if len(issues) != 1 || issues[0].Status != store.IssueActive || issues[0].Priority != Critical {
		t.Fatalf("after one evaluation: %+v", issues)
	}
	is := issues[0]
	wantPct := float64(first.Failed) / 2 // of 200 records
	if is.Value < wantPct-0.001 || is.Value > wantPct+0.001 {
		t.Fatalf("issue value %v, want %v%% (%d of 200 failed)", is.Value, wantPct, first.Failed)
	}
	mp.WaitMessages(t, 1, 10*time.Second)
	m1 := mp.Message(t, mp.Search(t, `subject:"5XX / Failure Alert"`)[0].ID)
	for _, want := range []string{"Dataflow: customers", "File: customers_1.csv", "Lineage ID: " + first.ID, "Total Records: 200",
		fmt.Sprintf("Success: %d (%.1f%%)", first.Delivered, float64(first.Delivered)/2), fmt.Sprintf("Failure: %d (%.1f%%)", first.Failed, wantPct),
		fmt.Sprintf("503 server error (5xx, downstream): %d", first.Failed)} {
		if !strings.Contains(m1.Text, want) {
			t.Errorf("alert email lacks %q:\n%s", want, m1.Text)
		}
	}
	if got := sb.Stats().Faults["503"]; got != first.Failed {
		t.Errorf("the sandbox answered %d 503s, the run failed %d records", got, first.Failed)
	}

	ack, err := e.svc.Acknowledge(ctx, control.Actor{UserID: "usr_bob", Username: "bob", OrgID: e.org.ID, Role: control.RoleEditor}, is.ID)
	if err != nil || ack.AcknowledgedBy != "bob" {
		t.Fatalf("ack %+v %v", ack, err)
	}

	// Faults removed: a clean file, the window slides past the failures,
	// and after the auto-close period the issue closes itself.
	if err := sb.SetFaults(sandbox.FaultConfig{Endpoints: map[string]sandbox.FaultRule{"/v2/customers": {LatencyMin: sandbox.Duration(time.Millisecond), LatencyMax: sandbox.Duration(25 * time.Millisecond)}}}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	second := runFile("customers_2.csv", 200, 1000)
	if second.Failed != 0 {
		t.Fatalf("second run %+v", second)
	}
	e.clock.Add(10 * time.Minute)
	if err := e.svc.EvaluateOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if cur, _ := e.svc.GetIssue(ctx, e.admin, is.ID); cur.ClearedAt == nil || cur.Status != store.IssueAcknowledged {
		t.Fatalf("not cleared: %+v", cur)
	}
	e.clock.Add(10 * time.Minute)
	if err := e.svc.EvaluateOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if cur, _ := e.svc.GetIssue(ctx, e.admin, is.ID); cur.Status != store.IssueClosed {
		t.Fatalf("not auto-closed: %+v", cur)
	}

	// P95 from histogram buckets against P95 from the stored calls.
	q := obs.NewQuerier(e.st)
	bc, err := q.Blocks(ctx, e.org.ID, fl.ID, nil, obs.Window{From: now.Add(-time.Hour), To: e.clock.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var p95 *float64
	for _, b := range bc.Blocks {
		if b.Block == "post" && len(b.Endpoints) == 1 && b.Endpoints[0].Calls == 400 {
			p95 = b.Endpoints[0].Latency.P95
		}
	}
	if p95 == nil {
		t.Fatalf("no endpoint with 400 calls: %+v", bc)
	}
	calls, err := e.st.ListRequests(ctx, store.RequestFilter{OrgID: e.org.ID, FlowID: fl.ID})
	if err != nil || len(calls) != 400 {
		t.Fatalf("stored calls %d %v", len(calls), err)
	}
	lat := make([]int64, 0, len(calls))
	for _, c := range calls {
		lat = append(lat, c.LatencyMicros)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	exact := time.Duration(lat[(95*len(lat)+99)/100-1]) * time.Microsecond
	api := time.Duration(*p95 * float64(time.Second))
	if d := store.LatencyBucket(api) - store.LatencyBucket(exact); d < -1 || d > 1 {
		t.Fatalf("P95 %v from buckets, %v from the request log", api, exact)
	}
	t.Logf("P95 from buckets %v, from %d stored calls %v", api, len(lat), exact)

	// No File Picked: a 30-minute rule fires once 30 minutes pass empty.
	nf, err := e.svc.CreateRule(ctx, e.admin, RuleInput{Preset: "no_file_picked", Name: "half-hourly file", FlowID: fl.ID, Definition: Definition{Window: Duration(30 * time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(5 * time.Minute)
	_ = e.svc.EvaluateOnce(ctx)
	if got, _ := e.svc.ListIssues(ctx, e.admin, store.IssueFilter{RuleID: nf.ID}); len(got) != 0 {
		t.Fatalf("fired with files in the window: %+v", got)
	}
	e.clock.Add(10 * time.Minute)
	if err := e.svc.EvaluateOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.svc.ListIssues(ctx, e.admin, store.IssueFilter{RuleID: nf.ID}); len(got) != 1 || got[0].Value != 0 {
		t.Fatalf("no file picked: %+v", got)
	}
}
