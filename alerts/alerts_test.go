package alerts

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/store"
)

// live gives a dataflow a Live version (the evaluator watches Live ones).
func (e *env) live(fl store.Dataflow) {
	e.t.Helper()
	now := e.clock.Now()
	v := store.Version{ID: store.NewID("ver"), FlowID: fl.ID, OrgID: fl.OrgID, Number: 1, State: "Live", Document: "name: " + fl.Name + "\nblocks: []\n",
		CreatedBy: "alice", CreatedAt: now, UpdatedAt: now, LiveAt: &now}
	if err := e.st.CreateVersion(context.Background(), v); err != nil {
		e.t.Fatal(err)
	}
}

// traffic writes a minute of a dataflow's records and calls.
func (e *env) traffic(fl store.Dataflow, at time.Time, in, failed int64) {
	e.t.Helper()
	var h store.HTTPCounts
	for i := int64(0); i < in; i++ {
		status := 200
		if i < failed {
			status = 503
		}
		h.Observe(status, 1, status == 503, 20*time.Millisecond)
	}
	b := store.MetricsBatch{
		Counts: []store.CountsPoint{{MetricKey: store.MetricKey{OrgID: fl.OrgID, FlowID: fl.ID}, At: at,
			C: store.Counts{UnitsIn: 1, RecordsIn: in, RecordsOut: in - failed, Failed: failed, RetryExhausted: failed, Files: 1}}},
		HTTP: []store.HTTPPoint{{MetricKey: store.MetricKey{OrgID: fl.OrgID, FlowID: fl.ID, Block: "post"}, Endpoint: "POST https://api/v2/customers", At: at, H: h}},
	}
	if err := e.st.WriteMetrics(context.Background(), b); err != nil {
		e.t.Fatal(err)
	}
}

// The lifecycle end to end without the runtime: the 5XX/Failure default
// alert opens a Critical issue when 30 % of records fail, notifies every
// all-alerts channel once (email through a real SMTP server with STARTTLS
// and authentication, a signed webhook that failed twice first, a Slack
// Block Kit message), a second server evaluating the same period neither
// opens nor notifies again, acknowledging records the user, and the issue
// closes by itself once the condition has been clear for the auto-close
// period; closed issues stay listed.
func TestIssueLifecycleAndChannels(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "")
	mp := testenv.Mailpit(t, testenv.WithMailpitAuth("mailer", "smtp-pass-123"), testenv.WithMailpitSTARTTLS())
	e.svc.opts.SMTP = SMTPConfig{TLSConfig: mp.TLSConfig()}
	e.secret("smtp_password", "smtp-pass-123")
	e.secret("webhook_key", "whsec-abcdef-123456")
	hook := newReceiver(t, 2)
	slack := newReceiver(t, 0)
	e.secret("slack_url", slack.srv.URL+"/services/T000/B000/XXXX")

	email, err := e.svc.CreateChannel(ctx, e.admin, ChannelInput{Name: "ops mail", Kind: KindEmail, AllAlerts: true, SecretConfig: "smtp_password",
		Settings: ChannelSettings{To: []string{"ops@example.com"}, SMTPHost: mp.SMTPHost, SMTPPort: mp.SMTPPort, TLS: TLSStartTLS, Username: "mailer", From: "Connect+ <alerts@connect.example.com>"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateChannel(ctx, e.admin, ChannelInput{Name: "hook", Kind: KindWebhook, AllAlerts: true, SecretConfig: "webhook_key",
		Settings: ChannelSettings{URL: hook.srv.URL + "/connectplus"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateChannel(ctx, e.admin, ChannelInput{Name: "slack", Kind: KindSlack, AllAlerts: true, SecretConfig: "slack_url"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateChannel(ctx, e.admin, ChannelInput{Name: "bad", Kind: KindSlack, SecretConfig: "smtp"}); err == nil {
		t.Fatal("a channel naming a missing secret was accepted")
	}

	fl := e.flow("Customers")
	e.live(fl)
	e.clock.Add(time.Hour)
	now := e.clock.Now()
	fin := now.Add(-90 * time.Second)
	run := runstate.Run{ID: "lin_abc", OrgID: e.org.ID, FlowID: fl.ID, FlowName: fl.Name, FileName: "customers_0602.csv", Status: runstate.RunPartial,
		Started: now.Add(-3 * time.Minute), Finished: &fin, RecordsIn: 100, Delivered: 70, Failed: 30, RetryExhausted: 30, AvgRecordMicros: 900,
		ResultName: "result_20250602_customers_0602.csv", StatusCodes: map[string]int64{"200": 70, "503": 30}}
	if err := e.st.UpsertRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	e.traffic(fl, now.Add(-2*time.Minute), 100, 30)

	if err := e.svc.EvaluateOnce(ctx); err != nil {
		t.Fatal(err)
	}
	issues, err := e.svc.ListIssues(ctx, e.admin, store.IssueFilter{})
	if err != nil || len(issues) != 1 {
		t.Fatalf("issues %+v %v", issues, err)
	}
	is := issues[0]
	if is.RuleID != DefaultRuleID(e.org.ID, "5xx_failure") || is.Status != store.IssueActive || is.Priority != Critical || is.Value != 30 || is.FlowName != "Customers" ||
		is.Notifications != 3 || !strings.Contains(is.Title, "5XX / Failure Alert") {
		t.Fatalf("issue %+v", is)
	}

	// Email: the spec's fields, read back from the SMTP server.
	msgs := mp.WaitMessages(t, 1, 10*time.Second)
	m := mp.Message(t, msgs[0].ID)
	if m.From.Address != "alerts@connect.example.com" || len(m.To) != 1 || m.To[0].Address != "ops@example.com" || !strings.Contains(m.Subject, "[Critical] 5XX / Failure Alert") {
		t.Fatalf("email envelope %+v", m)
	}
	for _, want := range []string{"Dataflow: Customers", "File: customers_0602.csv", "Lineage ID: lin_abc", "Status: Partial Success", "Started: 2025-06-02 15:27:00 IST",
		"Duration: 1m30s", "Avg. Processing Time: 0.900 ms per record", "Total Records: 100", "Success: 70 (70.0%)", "Failure: 30 (30.0%)",
		"Retry Exhausted: 30 (30.0%)", "Failure Details: 503 server error (5xx, downstream): 30", "View Dataflow in Connect+: https://connect.example.com/dataflows/" + fl.ID,
		"View Run in Dev Console: https://connect.example.com/runs/lin_abc", "Error file: result_20250602_customers_0602.csv", "Priority: Critical"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("email text lacks %q:\n%s", want, m.Text)
		}
	}
	if !strings.Contains(m.HTML, "<th align=\"left\" style=\"border-bottom:1px solid #ddd\">Lineage ID</th>") {
		t.Errorf("email HTML lacks the facts table:\n%s", m.HTML)
	}
	if h := mp.Headers(t, msgs[0].ID); len(h["X-Connectplus-Issue"]) == 0 || h["X-Connectplus-Issue"][0] != is.ID {
		t.Errorf("issue header: %v", h)
	}

	// Webhook: signed, retried after two 503s, the same facts as JSON.
	hr := hook.all()
	if len(hr) != 3 || hr[0].status != 503 || hr[2].status != 200 {
		t.Fatalf("webhook attempts %+v", hr)
	}
	verify(t, "whsec-abcdef-123456", hr[2], e.clock.Now())
	var payload Notice
	if err := json.Unmarshal(hr[2].body, &payload); err != nil || payload.Event != "opened" || payload.IssueID != is.ID || payload.Run == nil ||
		payload.Run.Failure != 30 || payload.Run.FailureDetails[0].Code != "503" || payload.Dataflow != "Customers" {
		t.Fatalf("webhook payload %+v %v", payload, err)
	}
	if hr[2].header.Get(HeaderEvent) != "opened" {
		t.Fatalf("event header %v", hr[2].header)
	}
	// Slack: Block Kit with header, text, fields and buttons.
	sr := slack.all()
	if len(sr) != 1 {
		t.Fatalf("slack posts %d", len(sr))
	}
	var sm struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type     string `json:"type"`
			Text     *struct{ Type, Text string }
			Fields   []struct{ Type, Text string }
			Elements []struct {
				Type string `json:"type"`
				URL  string `json:"url"`
			}
		} `json:"blocks"`
	}
	if err := json.Unmarshal(sr[0].body, &sm); err != nil || len(sm.Blocks) < 4 || sm.Blocks[0].Type != "header" || sm.Blocks[0].Text.Type != "plain_text" ||
		!strings.Contains(sm.Blocks[0].Text.Text, "5XX / Failure Alert") || sm.Blocks[2].Type != "section" || len(sm.Blocks[2].Fields) == 0 {
		t.Fatalf("slack message %s %v", sr[0].body, err)
	}
	foundRun := false
	for _, b := range sm.Blocks {
		for _, el := range b.Elements {
			if el.Type == "button" && el.URL == "https://connect.example.com/runs/lin_abc" {
				foundRun = true
			}
		}
	}
	if !foundRun || !strings.Contains(string(sr[0].body), "*Lineage ID*\\nlin_abc") {
		t.Fatalf("slack message lacks the run: %s", sr[0].body)
	}

	// Another server, same period: nothing new.
	other := New(Options{Store: e.st, Now: e.clock.Now, Owner: "node-b", AllowPrivateTargets: true})
	if err := other.EvaluateOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// Next period, still violating: no re-notification before an hour.
	e.clock.Add(time.Minute)
	if err := other.EvaluateOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(mp.Messages(t)); n != 1 || len(slack.all()) != 1 {
		t.Fatalf("duplicate notifications: %d emails, %d slack posts", n, len(slack.all()))
	}

	ack, err := e.svc.Acknowledge(ctx, control.Actor{UserID: "usr_bob", Username: "bob", OrgID: e.org.ID, Role: control.RoleEditor}, is.ID)
	if err != nil || ack.Status != store.IssueAcknowledged || ack.AcknowledgedBy != "bob" || ack.AcknowledgedAt == nil {
		t.Fatalf("ack %+v %v", ack, err)
	}
	if _, err := e.svc.Acknowledge(ctx, e.admin, is.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second ack: %v", err)
	}
	mp.WaitMessages(t, 2, 10*time.Second)
	if got := mp.Search(t, `subject:"Acknowledged by bob"`); len(got) != 1 {
		t.Fatalf("acknowledgement email: %+v", got)
	}

	// The window slides past the failures: clear, then closed after the
	// auto-close period (10 minutes).
	e.clock.Add(10 * time.Minute)
	if err := e.svc.EvaluateOnce(ctx); err != nil {
		t.Fatal(err)
	}
	cur, _ := e.svc.GetIssue(ctx, e.admin, is.ID)
	if cur.Status != store.IssueAcknowledged || cur.ClearedAt == nil {
		t.Fatalf("after clearing %+v", cur)
	}
	e.clock.Add(9 * time.Minute)
	_ = e.svc.EvaluateOnce(ctx)
	if cur, _ = e.svc.GetIssue(ctx, e.admin, is.ID); cur.Status == store.IssueClosed {
		t.Fatal("closed before the auto-close period")
	}
	e.clock.Add(time.Minute)
	if err := e.svc.EvaluateOnce(ctx); err != nil {
		t.Fatal(err)
	}
	cur, _ = e.svc.GetIssue(ctx, e.admin, is.ID)
	if cur.Status != store.IssueClosed || cur.ClosedBy != "" || !strings.Contains(cur.CloseReason, "clear for 10m") {
		t.Fatalf("auto-close %+v", cur)
	}
	if closed, _ := e.svc.ListIssues(ctx, e.admin, store.IssueFilter{Status: store.IssueClosed}); len(closed) != 1 {
		t.Fatalf("closed issues kept: %+v", closed)
	}
	mp.WaitMessages(t, 3, 10*time.Second)
	notes, _ := e.svc.IssueNotifications(ctx, e.admin, is.ID)
	events := map[string]int{}
	for _, n := range notes {
		if n.ChannelID == email.ID && n.OK {
			events[n.Event]++
		}
	}
	if events["opened"] != 1 || events["acknowledged"] != 1 || events["closed"] != 1 {
		t.Fatalf("email deliveries by event %v", events)
	}
}

// Rules: presets fill in the spec's thresholds, platform and metric are
// immutable, the template resets to the default, defaults cannot be
// deleted (only disabled), and a disabled rule is not evaluated.
func TestRulesAndNoFilePicked(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "")
	fl := e.flow("Orders")
	e.live(fl)
	rules, err := e.svc.ListRules(ctx, e.admin)
	if err != nil || len(rules) != 3 {
		t.Fatalf("default rules %+v %v", rules, err)
	}
	for _, r := range rules {
		if !r.Default || r.Scope != ScopeOrganization || !r.Enabled {
			t.Fatalf("default rule %+v", r)
		}
	}
	if err := e.svc.DeleteRule(ctx, e.admin, rules[0].ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("deleting a default: %v", err)
	}
	pf, err := e.svc.CreateRule(ctx, e.admin, RuleInput{Preset: "partial_failure", FlowID: fl.ID})
	if err != nil || pf.Name != "Partial Failure Alert" || pf.Metric != MetricRetryExhaustion || *pf.Critical != 10 || time.Duration(pf.Window) != 10*time.Minute || pf.Scope != ScopeDataflow {
		t.Fatalf("preset %+v %v", pf, err)
	}
	in := RuleInput{Metric: MetricLatencyP95, Definition: pf.Definition, Revision: pf.Revision}
	if _, err := e.svc.UpdateRule(ctx, e.admin, pf.ID, in); err == nil || !strings.Contains(err.Error(), "metric of a rule cannot change") {
		t.Fatalf("metric change: %v", err)
	}
	in = RuleInput{Platform: "bugsnag", Definition: pf.Definition, Revision: pf.Revision}
	if _, err := e.svc.UpdateRule(ctx, e.admin, pf.ID, in); err == nil {
		t.Fatal("platform change accepted")
	}
	d := pf.Definition
	d.Title, d.Warning = "Retries gone on {{dataflow}}: {{value}}%", f(5)
	up, err := e.svc.UpdateRule(ctx, e.admin, pf.ID, RuleInput{Definition: d, Revision: pf.Revision})
	if err != nil || up.Title == "" || *up.Warning != 5 || up.Revision != 2 {
		t.Fatalf("update %+v %v", up, err)
	}
	if _, err := e.svc.UpdateRule(ctx, e.admin, pf.ID, RuleInput{Definition: d, Revision: pf.Revision}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale revision: %v", err)
	}
	reset, err := e.svc.ResetTemplate(ctx, e.admin, pf.ID)
	if err != nil || reset.Title != "" || reset.DefaultTitle == "" {
		t.Fatalf("reset %+v %v", reset, err)
	}
	d.Warning, d.Critical = f(20), f(10)
	if _, err := e.svc.UpdateRule(ctx, e.admin, pf.ID, RuleInput{Definition: d, Revision: reset.Revision}); err == nil {
		t.Fatal("a Critical threshold milder than the Warning one was accepted")
	}

	// No File Picked: a custom one-hour window on this dataflow fires an
	// hour after it went Live with nothing picked, and clears once a file
	// arrives. The default (24 h) has not fired yet.
	nf, err := e.svc.CreateRule(ctx, e.admin, RuleInput{Preset: "no_file_picked", Name: "Hourly file", FlowID: fl.ID, Definition: Definition{Window: Duration(time.Hour)}})
	if err != nil || *nf.Warning != 1 || nf.Comparator != "<" {
		t.Fatalf("no file rule %+v %v", nf, err)
	}
	e.clock.Add(59 * time.Minute)
	_ = e.svc.EvaluateOnce(ctx)
	if got, _ := e.svc.ListIssues(ctx, e.admin, store.IssueFilter{}); len(got) != 0 {
		t.Fatalf("fired before the window passed: %+v", got)
	}
	e.clock.Add(2 * time.Minute)
	if err := e.svc.EvaluateOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := e.svc.ListIssues(ctx, e.admin, store.IssueFilter{RuleID: nf.ID})
	if len(got) != 1 || got[0].Priority != Warning || got[0].Value != 0 || !strings.Contains(got[0].Title, "no file picked by Orders in 1h0m0s") {
		t.Fatalf("no file picked %+v", got)
	}
	if all, _ := e.svc.ListIssues(ctx, e.admin, store.IssueFilter{}); len(all) != 1 {
		t.Fatalf("other rules fired: %+v", all)
	}
	e.traffic(fl, e.clock.Now().Add(-time.Minute), 5, 0)
	e.clock.Add(time.Minute)
	_ = e.svc.EvaluateOnce(ctx)
	if cur, _ := e.svc.GetIssue(ctx, e.admin, got[0].ID); cur.ClearedAt == nil {
		t.Fatalf("a picked file did not clear the condition: %+v", cur)
	}

	// Disabled rules are not evaluated.
	if _, err := e.svc.SetRuleEnabled(ctx, e.admin, DefaultRuleID(e.org.ID, "no_file_picked"), false); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(48 * time.Hour)
	_ = e.svc.EvaluateOnce(ctx)
	if got, _ := e.svc.ListIssues(ctx, e.admin, store.IssueFilter{RuleID: DefaultRuleID(e.org.ID, "no_file_picked")}); len(got) != 0 {
		t.Fatalf("a disabled rule fired: %+v", got)
	}
}

// Validation: the default rule checks a dataflow 15 minutes after it was
// created and fires while its newest version fails validation.
func TestValidationAlert(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "")
	problems := 2
	e.svc.opts.Validate = func(context.Context, string, string) (int, error) { return problems, nil }
	fl := e.flow("Broken")
	e.clock.Add(14 * time.Minute)
	_ = e.svc.EvaluateOnce(ctx)
	if got, _ := e.svc.ListIssues(ctx, e.admin, store.IssueFilter{}); len(got) != 0 {
		t.Fatalf("validated before 15 minutes: %+v", got)
	}
	e.clock.Add(2 * time.Minute)
	if err := e.svc.EvaluateOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := e.svc.ListIssues(ctx, e.admin, store.IssueFilter{FlowID: fl.ID})
	if len(got) != 1 || got[0].Metric != MetricValidation || got[0].Value != 2 || got[0].Priority != Critical {
		t.Fatalf("validation issue %+v", got)
	}
	closed, err := e.svc.Close(ctx, e.admin, got[0].ID, "fixed the mapping")
	if err != nil || closed.ClosedBy != "alice" || closed.CloseReason != "fixed the mapping" {
		t.Fatalf("manual close %+v %v", closed, err)
	}
}

// A summary report goes out once per period with the CSV attached, and
// after each completed run when asked; file notifications are opt-in.
func TestReportsAndFileNotifications(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "")
	mp := testenv.Mailpit(t)
	e.svc.opts.SMTP = SMTPConfig{Host: mp.SMTPHost, Port: mp.SMTPPort, TLS: TLSNone, From: "reports@connect.example.com"}
	fl := e.flow("Loyalty")
	blocks, _ := json.Marshal([]engine.BlockCounts{{Name: "read", In: 1, Out: 1}, {Name: "post", In: 10, Out: 7, Failed: 3}})
	start := e.clock.Now().Add(10 * time.Minute)
	fin := start.Add(time.Minute)
	if err := e.st.UpsertRun(ctx, runstate.Run{ID: "lin_r1", OrgID: e.org.ID, FlowID: fl.ID, FlowName: fl.Name, FileName: "=cmd.csv", Status: runstate.RunPartial,
		Started: start, Finished: &fin, RecordsIn: 10, Delivered: 7, Failed: 3, BlockStats: blocks}); err != nil {
		t.Fatal(err)
	}
	rep, err := e.svc.CreateReport(ctx, e.admin, ReportInput{Name: "hourly", ReportDefinition: ReportDefinition{Recipients: []string{"lead@example.com"}, Schedule: ScheduleHourly, AfterEachRun: true}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateReport(ctx, e.admin, ReportInput{Name: "x", ReportDefinition: ReportDefinition{Recipients: []string{"lead@example.com"}, Schedule: ScheduleDaily, At: "25:00"}}); err == nil {
		t.Fatal("a bad daily time was accepted")
	}
	// 09:00 → 10:00: the 09:00-10:00 period ends after the report was
	// created, so it is sent once at 10:00, whichever server.
	e.clock.Add(59 * time.Minute)
	if err := e.svc.SendDueReports(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(mp.Messages(t)); n != 0 {
		t.Fatalf("%d reports before the period ended", n)
	}
	e.clock.Add(2 * time.Minute)
	for _, s := range []*Service{e.svc, New(Options{Store: e.st, Now: e.clock.Now, Owner: "node-b", SMTP: e.svc.opts.SMTP})} {
		if err := s.SendDueReports(ctx); err != nil {
			t.Fatal(err)
		}
	}
	msgs := mp.WaitMessages(t, 1, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	if len(mp.Messages(t)) != 1 {
		t.Fatal("the report was sent twice")
	}
	m := mp.Message(t, msgs[0].ID)
	if !strings.Contains(m.Subject, "summary report hourly: 1 file(s)") || len(m.Attachments) != 1 || !strings.Contains(m.Text, "Loyalty · =cmd.csv") ||
		!strings.Contains(m.Text, "(by block: post=3)") {
		t.Fatalf("report %+v", m)
	}
	rows, err := csv.NewReader(strings.NewReader(string(mp.Part(t, m.ID, m.Attachments[0].PartID)))).ReadAll()
	if err != nil || len(rows) != 2 || rows[0][9] != "failure_by_block" || rows[1][1] != "'=cmd.csv" || rows[1][5] != "10" || rows[1][7] != "3" || rows[1][9] != "post=3" {
		t.Fatalf("csv %v %v", rows, err)
	}
	if r, _ := e.svc.GetReport(ctx, e.admin, rep.ID); r.LastSentAt == nil {
		t.Fatal("last sent not recorded")
	}

	// After each run, and the opt-in file notification.
	hook := newReceiver(t, 0)
	e.secret("key", "k-123456789")
	ch, err := e.svc.CreateChannel(ctx, e.admin, ChannelInput{Name: "files", Kind: KindWebhook, SecretConfig: "key", Settings: ChannelSettings{URL: hook.srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	dep := runstate.Deployment{OrgID: e.org.ID, FlowID: fl.ID, FlowName: fl.Name}
	res := engine.LineageResult{ID: "lin_r2", Item: blockItem("b.csv"), Status: engine.StatusSuccess, Started: e.clock.Now(), Finished: e.clock.Now().Add(time.Second),
		Counts: countsOf(4, 4, 0)}
	if err := e.svc.HandleFile(ctx, dep, res); err != nil {
		t.Fatal(err)
	}
	mp.WaitMessages(t, 2, 10*time.Second)
	if len(hook.all()) != 0 {
		t.Fatal("file notification without opting in")
	}
	if _, err := e.svc.SetFileNotifications(ctx, e.admin, fl.ID, FileNotifications{OnSuccess: true, OnPartial: true, Channels: []string{ch.ID}}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.HandleFile(ctx, dep, res); err != nil {
		t.Fatal(err)
	}
	got := hook.all()
	if len(got) != 1 {
		t.Fatalf("file notifications %d", len(got))
	}
	verify(t, "k-123456789", got[0], e.clock.Now())
	var n Notice
	if err := json.Unmarshal(got[0].body, &n); err != nil || n.Event != "file" || n.Run == nil || n.Run.File != "b.csv" || n.Run.Success != 4 {
		t.Fatalf("file notice %+v %v", n, err)
	}
}

// The API filter (spec §6.7 "Filter by APIs"): a dataflow calls two
// endpoints, one healthy and one answering 503 to half its calls. A 5xx
// rule filtered to the healthy one stays quiet, the same rule filtered to
// the failing one (on the dataflow, and on every dataflow of the
// organisation) opens a Critical issue that names the API; retry
// exhaustion filtered by API counts that endpoint's calls. The endpoints
// listed for the picker are the ones called in the last 7 days; the filter
// is only for call metrics and cannot change after creation.
func TestEndpointFilter(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "")
	fl := e.flow("Loyalty")
	other := e.flow("Quiet")
	e.live(fl)
	e.live(other)
	const good, bad = "GET https://api/v2/points/{…}", "POST https://api/v2/transactions"
	write := func(at time.Time) {
		var ok, failing store.HTTPCounts
		for i := 0; i < 10; i++ {
			ok.Observe(200, 1, false, 10*time.Millisecond)
			status := 200
			if i%2 == 0 {
				status = 503
			}
			failing.Observe(status, 3, status == 503, 40*time.Millisecond)
		}
		key := store.MetricKey{OrgID: fl.OrgID, FlowID: fl.ID, Block: "post"}
		b := store.MetricsBatch{
			Counts: []store.CountsPoint{{MetricKey: store.MetricKey{OrgID: fl.OrgID, FlowID: fl.ID}, At: at,
				C: store.Counts{UnitsIn: 1, RecordsIn: 10, RecordsOut: 5, Failed: 5, RetryExhausted: 5, Files: 1}}},
			HTTP: []store.HTTPPoint{{MetricKey: key, Endpoint: good, At: at, H: ok}, {MetricKey: key, Endpoint: bad, At: at, H: failing}},
		}
		if err := e.st.WriteMetrics(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	// An old call, outside the picker's 7 days.
	var old store.HTTPCounts
	old.Observe(200, 1, false, time.Millisecond)
	if err := e.st.WriteMetrics(ctx, store.MetricsBatch{HTTP: []store.HTTPPoint{{MetricKey: store.MetricKey{OrgID: fl.OrgID, FlowID: other.ID, Block: "post"},
		Endpoint: "GET https://retired/api", At: e.clock.Now().Add(-8 * 24 * time.Hour), H: old}}}); err != nil {
		t.Fatal(err)
	}
	write(e.clock.Now().Add(-2 * time.Minute))

	eps, err := e.svc.ListEndpoints(ctx, e.admin, "")
	if err != nil || len(eps) != 2 || eps[0].Calls != 10 || eps[1].Calls != 10 || eps[0].Endpoint != good || eps[1].Endpoint != bad ||
		len(eps[0].FlowIDs) != 1 || eps[0].FlowIDs[0] != fl.ID {
		t.Fatalf("endpoints %+v %v", eps, err)
	}
	if eps, err := e.svc.ListEndpoints(ctx, e.admin, other.ID); err != nil || len(eps) != 0 {
		t.Fatalf("endpoints of a dataflow that called none in 7 days: %+v %v", eps, err)
	}
	if _, err := e.svc.ListEndpoints(ctx, e.admin, "flw_missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("endpoints of a missing dataflow: %v", err)
	}

	def := Definition{Critical: f(20), Window: Duration(10 * time.Minute)}
	if _, err := e.svc.CreateRule(ctx, e.admin, RuleInput{Name: "records", Metric: MetricFailurePct, Endpoint: bad, Definition: def}); err == nil ||
		!strings.Contains(err.Error(), "cannot be filtered by API") {
		t.Fatalf("an API filter on a record metric: %v", err)
	}
	quiet, err := e.svc.CreateRule(ctx, e.admin, RuleInput{Name: "points 5xx", Metric: Metric5xxRate, FlowID: fl.ID, Endpoint: good, Definition: def})
	if err != nil || quiet.Endpoint != good || quiet.Scope != ScopeDataflow {
		t.Fatalf("rule %+v %v", quiet, err)
	}
	loud, err := e.svc.CreateRule(ctx, e.admin, RuleInput{Name: "transactions 5xx", Metric: Metric5xxRate, FlowID: fl.ID, Endpoint: bad, Definition: def})
	if err != nil {
		t.Fatal(err)
	}
	org, err := e.svc.CreateRule(ctx, e.admin, RuleInput{Name: "transactions 5xx anywhere", Metric: Metric5xxRate, Endpoint: bad, Definition: def})
	if err != nil || org.Scope != ScopeOrganization {
		t.Fatalf("org rule %+v %v", org, err)
	}
	retries, err := e.svc.CreateRule(ctx, e.admin, RuleInput{Name: "transactions retries", Metric: MetricRetryExhaustion, FlowID: fl.ID, Endpoint: bad,
		Definition: Definition{Warning: f(40), Critical: f(60), Window: Duration(10 * time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateRule(ctx, e.admin, loud.ID, RuleInput{Endpoint: good, Definition: loud.Definition, Revision: loud.Revision}); err == nil ||
		!strings.Contains(err.Error(), "API filter of a rule cannot change") {
		t.Fatalf("changing the API filter: %v", err)
	}
	got, err := e.svc.GetRule(ctx, e.admin, loud.ID)
	if err != nil || got.Endpoint != bad {
		t.Fatalf("read back %+v %v", got, err)
	}

	if err := e.svc.EvaluateOnce(ctx); err != nil {
		t.Fatal(err)
	}
	byRule := map[string][]IssueView{}
	all, _ := e.svc.ListIssues(ctx, e.admin, store.IssueFilter{})
	for _, i := range all {
		byRule[i.RuleID] = append(byRule[i.RuleID], i)
	}
	if len(byRule[quiet.ID]) != 0 {
		t.Fatalf("the healthy endpoint's rule fired: %+v", byRule[quiet.ID])
	}
	is := byRule[loud.ID]
	if len(is) != 1 || is[0].Priority != Critical || is[0].Value != 50 || is[0].FlowID != fl.ID || !strings.Contains(is[0].Description, "API: "+bad+".") {
		t.Fatalf("the failing endpoint's rule %+v", is)
	}
	if is := byRule[org.ID]; len(is) != 1 || is[0].FlowID != fl.ID || is[0].Value != 50 {
		t.Fatalf("organisation rule with an API filter (only the dataflow that calls it): %+v", is)
	}
	if is := byRule[retries.ID]; len(is) != 1 || is[0].Priority != Warning || is[0].Value != 50 {
		t.Fatalf("retry exhaustion of one endpoint: %+v", is)
	}
}

// Implicit TLS (SMTPS, port 465): an email channel with tls "tls" speaks
// TLS from the first byte, authenticates, and delivers to a real SMTP
// server that refuses anything else; the SMTP password never shows in
// what the test send answers.
func TestEmailImplicitTLS(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "")
	mp := testenv.Mailpit(t, testenv.WithMailpitAuth("mailer", "smtps-pass-456"), testenv.WithMailpitImplicitTLS())
	e.svc.opts.SMTP = SMTPConfig{TLSConfig: mp.TLSConfig()}
	e.secret("smtps_password", "smtps-pass-456")
	ch, err := e.svc.CreateChannel(ctx, e.admin, ChannelInput{Name: "smtps", Kind: KindEmail, SecretConfig: "smtps_password",
		Settings: ChannelSettings{To: []string{"ops@example.com"}, SMTPHost: mp.SMTPHost, SMTPPort: mp.SMTPPort, TLS: TLSImplicit, Username: "mailer", From: "alerts@connect.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	sent, err := e.svc.TestSend(ctx, e.org.ID, ch.ID, "alice")
	if err != nil || !sent.OK || sent.Attempts != 1 {
		t.Fatalf("test send over implicit TLS: %+v %v", sent, err)
	}
	msgs := mp.WaitMessages(t, 1, 10*time.Second)
	if m := mp.Message(t, msgs[0].ID); !strings.Contains(m.Subject, "Connect+ test notification") || !strings.Contains(m.Text, "sent by alice") {
		t.Fatalf("message %q:\n%s", m.Subject, m.Text)
	}

	// A wrong password is refused by the server, and the answer does not
	// quote the one given.
	e.secret("smtps_wrong", "not-the-password-789")
	bad, err := e.svc.CreateChannel(ctx, e.admin, ChannelInput{Name: "smtps wrong", Kind: KindEmail, SecretConfig: "smtps_wrong",
		Settings: ChannelSettings{To: []string{"ops@example.com"}, SMTPHost: mp.SMTPHost, SMTPPort: mp.SMTPPort, TLS: TLSImplicit, Username: "mailer", From: "alerts@connect.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if sent, err := e.svc.TestSend(ctx, e.org.ID, bad.ID, "alice"); err != nil || sent.OK || strings.Contains(sent.Error, "not-the-password-789") {
		t.Fatalf("wrong password: %+v %v", sent, err)
	}
}
