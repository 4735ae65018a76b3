package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/store"
)

// Notice is what every channel says about one event: the issue or file,
// and the spec's alert email facts (§6.6).
type Notice struct {
	Event       string    `json:"event"` // opened, escalated, de-escalated, renotify, acknowledged, closed, test, file
	At          time.Time `json:"at"`
	OrgID       string    `json:"orgId"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Priority    string    `json:"priority,omitempty"`
	Status      string    `json:"status,omitempty"`
	// Rule, metric and the measured value.
	RuleID    string  `json:"ruleId,omitempty"`
	RuleName  string  `json:"ruleName,omitempty"`
	Metric    string  `json:"metric,omitempty"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Unit      string  `json:"unit,omitempty"`
	Window    string  `json:"window,omitempty"`
	IssueID   string  `json:"issueId,omitempty"`
	// AcknowledgedBy and ClosedBy name who acted on the issue.
	AcknowledgedBy string `json:"acknowledgedBy,omitempty"`
	ClosedBy       string `json:"closedBy,omitempty"`
	CloseReason    string `json:"closeReason,omitempty"`
	// The dataflow and its latest run in the window.
	DataflowID  string   `json:"dataflowId,omitempty"`
	Dataflow    string   `json:"dataflow,omitempty"`
	Run         *RunFact `json:"run,omitempty"`
	DataflowURL string   `json:"dataflowUrl,omitempty"`
	IssueURL    string   `json:"issueUrl,omitempty"`
}

// RunFact is a run (one source file) as notifications describe it.
type RunFact struct {
	File      string    `json:"file"`
	LineageID string    `json:"lineageId"`
	Status    string    `json:"status"`
	Started   time.Time `json:"started"`
	// StartedLocal is Started in the organisation's time zone.
	StartedLocal   string  `json:"startedLocal"`
	DurationMillis int64   `json:"durationMillis"`
	AvgMillis      float64 `json:"avgProcessingMillis"` // per record
	Total          int64   `json:"totalRecords"`
	Success        int64   `json:"success"`
	SuccessPct     float64 `json:"successPct"`
	Failure        int64   `json:"failure"`
	FailurePct     float64 `json:"failurePct"`
	RetryExhausted int64   `json:"retryExhausted"`
	RetryPct       float64 `json:"retryExhaustedPct"`
	// FailureDetails count failed records by status code and category.
	FailureDetails []FailureDetail `json:"failureDetails"`
	RunURL         string          `json:"runUrl,omitempty"`
	ErrorFile      string          `json:"errorFile,omitempty"`
	ErrorFileURL   string          `json:"errorFileUrl,omitempty"`
}

// FailureDetail is one line of a run's failure breakdown.
type FailureDetail struct {
	Code     string `json:"code"`
	Category string `json:"category"`
	Count    int64  `json:"count"`
}

func category(code string) string {
	n, err := strconv.Atoi(code)
	switch {
	case err != nil || n == 0:
		return "processing failure (no API answer)"
	case n >= 500:
		return "server error (5xx, downstream)"
	case n >= 400:
		return "client error (4xx, validation)"
	case n >= 300:
		return "redirect (3xx)"
	}
	return "other"
}

func pct1(n, d int64) float64 {
	if d <= 0 {
		return 0
	}
	return float64(int64(float64(n)/float64(d)*1000+0.5)) / 10
}

func (s *Service) link(path string) string {
	if s.opts.BaseURL == "" {
		return ""
	}
	return strings.TrimSuffix(s.opts.BaseURL, "/") + path
}

// runFact describes a run for notifications.
func (s *Service) runFact(ctx context.Context, r runstate.Run) *RunFact {
	f := &RunFact{File: r.FileName, LineageID: r.ID, Status: r.Status, Started: r.Started, Total: r.RecordsIn, Success: r.Delivered,
		Failure: r.Failed, RetryExhausted: r.RetryExhausted, FailureDetails: []FailureDetail{}, ErrorFile: r.ResultName}
	loc := time.UTC
	if o, err := s.st.GetOrg(ctx, r.OrgID); err == nil && o.TimeZone != "" {
		if l, err := time.LoadLocation(o.TimeZone); err == nil {
			loc = l
		}
	}
	f.StartedLocal = r.Started.In(loc).Format("2006-01-02 15:04:05 MST")
	if r.Finished != nil {
		f.DurationMillis = r.Finished.Sub(r.Started).Milliseconds()
	}
	if r.RecordsIn > 0 {
		f.AvgMillis = float64(r.AvgRecordMicros) / 1000
	}
	f.SuccessPct, f.FailurePct, f.RetryPct = pct1(r.Delivered, r.RecordsIn), pct1(r.Failed, r.RecordsIn), pct1(r.RetryExhausted, r.RecordsIn)
	codes := make([]string, 0, len(r.StatusCodes))
	for c := range r.StatusCodes {
		if n, err := strconv.Atoi(c); err == nil && n >= 200 && n < 300 {
			continue // successes
		}
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		f.FailureDetails = append(f.FailureDetails, FailureDetail{Code: c, Category: category(c), Count: r.StatusCodes[c]})
	}
	f.RunURL = s.link("/runs/" + url.PathEscape(r.ID))
	if r.ResultPath != "" {
		f.ErrorFileURL = s.link("/api/v1/runs/" + url.PathEscape(r.ID) + "/result")
	}
	return f
}

// latestRun is the dataflow's most recent finished run (preferring one
// that failed records, since that is what an alert is about).
func (s *Service) latestRun(ctx context.Context, orgID, flowID string, since time.Time) *runstate.Run {
	runs, err := s.st.ListRuns(ctx, runstate.RunFilter{OrgID: orgID, FlowID: flowID, Since: since, Limit: 200})
	if err != nil {
		return nil
	}
	var best *runstate.Run
	for i := range runs {
		r := &runs[i]
		if r.Finished == nil {
			continue
		}
		switch {
		case best == nil:
			best = r
		case (r.Failed > 0) != (best.Failed > 0):
			if r.Failed > 0 {
				best = r
			}
		case r.Started.After(best.Started):
			best = r
		}
	}
	return best
}

func (s *Service) issueNotice(ctx context.Context, r Rule, i *store.AlertIssue, event string) Notice {
	m, _ := MetricByName(r.Metric)
	n := Notice{Event: event, At: s.now(), OrgID: i.OrgID, Title: i.Title, Description: i.Description, Priority: i.Priority, Status: i.Status,
		RuleID: r.ID, RuleName: r.Name, Metric: m.Label, Value: i.Value, Threshold: i.Threshold, Unit: m.Unit, Window: time.Duration(r.Window).String(),
		IssueID: i.ID, AcknowledgedBy: i.AcknowledgedBy, ClosedBy: i.ClosedBy, CloseReason: i.CloseReason, DataflowID: i.FlowID,
		IssueURL: s.link("/alerts/issues/" + url.PathEscape(i.ID))}
	if i.FlowID != "" {
		if f, err := s.st.GetDataflow(ctx, i.OrgID, i.FlowID); err == nil {
			n.Dataflow = f.Name
		}
		n.DataflowURL = s.link("/dataflows/" + url.PathEscape(i.FlowID))
		if run := s.latestRun(ctx, i.OrgID, i.FlowID, i.OpenedAt.Add(-time.Duration(r.Window)-time.Hour)); run != nil {
			n.Run = s.runFact(ctx, *run)
		}
	}
	switch event {
	case "acknowledged":
		n.Title = "[Acknowledged by " + i.AcknowledgedBy + "] " + i.Title
	case "closed":
		n.Title = "[Closed] " + i.Title
	}
	return n
}

// recipients are the channels a rule notifies: its own and the
// organisation's all-alerts channels.
func (s *Service) recipients(ctx context.Context, orgID string, ids []string) ([]store.AlertChannel, error) {
	all, err := s.st.ListAlertChannels(ctx, orgID)
	if err != nil {
		return nil, err
	}
	var out []store.AlertChannel
	for _, c := range all {
		if c.AllAlerts || containsStr(ids, c.ID) {
			out = append(out, c)
		}
	}
	return out, nil
}

func containsStr(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// notifyIssue sends an issue event to its rule's channels and records the
// deliveries; failures are logged, never returned (the issue's state is
// already saved).
func (s *Service) notifyIssue(ctx context.Context, r Rule, i *store.AlertIssue, event string, _ any) {
	chans, err := s.recipients(ctx, i.OrgID, r.Channels)
	if err != nil {
		s.log.Error("alert channels", "issue", i.ID, "err", err)
		return
	}
	if len(chans) == 0 {
		return
	}
	n := s.issueNotice(ctx, r, i, event)
	sent := 0
	for _, c := range chans {
		if s.deliver(ctx, c, n, nil, i.ID) == nil {
			sent++
		}
	}
	if sent == 0 {
		return
	}
	for range 3 {
		cur, err := s.st.GetAlertIssue(ctx, i.OrgID, i.ID)
		if err != nil {
			return
		}
		now := s.now()
		cur.LastNotifiedAt = &now
		cur.Notifications += sent
		if err := s.st.UpdateAlertIssue(ctx, &cur); !errors.Is(err, store.ErrConflict) {
			if err == nil {
				*i = cur
			}
			return
		}
	}
}

// Attachment is a file sent with an email (reports: the CSV).
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// deliver sends n on channel c and records the delivery.
func (s *Service) deliver(ctx context.Context, c store.AlertChannel, n Notice, att *Attachment, issueID string) error {
	_, err := s.deliverCounted(ctx, c, n, att, issueID)
	return err
}

// deliverCounted is deliver that also says how many tries it took (a
// test send shows it).
func (s *Service) deliverCounted(ctx context.Context, c store.AlertChannel, n Notice, att *Attachment, issueID string) (int, error) {
	ch, err := toChannel(c)
	attempts := 0
	if err == nil {
		attempts, err = s.send(ctx, ch, c.OrgID, n, att)
	}
	rec := store.AlertNotification{OrgID: c.OrgID, IssueID: issueID, ChannelID: c.ID, Kind: c.Kind, Event: n.Event, At: s.now(), OK: err == nil, Attempts: attempts}
	if err != nil {
		rec.Error = err.Error()
		s.log.Warn("notification failed", "channel", c.ID, "kind", c.Kind, "event", n.Event, "err", s.opts.Redactor.String(err.Error()))
	}
	if lerr := s.st.AddAlertNotification(ctx, rec); lerr != nil {
		s.log.Error("recording a notification", "err", lerr)
	}
	return attempts, err
}

func (s *Service) secret(ctx context.Context, orgID, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	v, err := s.st.ResolveConfig(ctx, orgID, name)
	if err != nil {
		return "", fmt.Errorf("channel secret: %w", err)
	}
	return v, nil
}

// send delivers on one channel and returns the attempts made.
func (s *Service) send(ctx context.Context, ch Channel, orgID string, n Notice, att *Attachment) (int, error) {
	secret, err := s.secret(ctx, orgID, ch.SecretConfig)
	if err != nil {
		return 0, err
	}
	switch ch.Kind {
	case KindEmail:
		cfg := s.opts.SMTP
		if ch.Settings.SMTPHost != "" {
			cfg = s.channelRelay(ch.Settings, secret)
		} else if ch.Settings.From != "" {
			cfg.From = ch.Settings.From
		}
		msg, err := buildEmail(cfg.From, ch.Settings.To, n, att, s.now())
		if err != nil {
			return 0, err
		}
		return 1, sendMail(ctx, cfg, ch.Settings.To, msg)
	case KindSlack:
		body, err := json.Marshal(slackMessage(n))
		if err != nil {
			return 0, err
		}
		return s.post(ctx, secret, body, nil)
	case KindWebhook:
		payload := struct {
			Notice
			Attachment *webhookAttachment `json:"attachment,omitempty"`
		}{Notice: n}
		if att != nil {
			payload.Attachment = &webhookAttachment{Name: att.Name, ContentType: att.ContentType, Data: string(att.Data)}
		}
		body, err := json.Marshal(payload)
		if err != nil {
			return 0, err
		}
		return s.post(ctx, ch.Settings.URL, body, func(h http.Header, body []byte) {
			ts := strconv.FormatInt(s.now().Unix(), 10)
			h.Set(HeaderTimestamp, ts)
			h.Set(HeaderEvent, n.Event)
			h.Set(HeaderSignature, Sign(secret, ts, body))
		})
	}
	return 0, fmt.Errorf("unknown channel kind %q", ch.Kind)
}

// channelRelay is an email channel's own relay. It keeps the server
// relay's TLS settings (a private CA the operator trusts), with the
// channel's host as the name to verify.
func (s *Service) channelRelay(st ChannelSettings, password string) SMTPConfig {
	cfg := SMTPConfig{Host: st.SMTPHost, Port: st.SMTPPort, TLS: st.TLS, Username: st.Username, Password: password, From: st.From, Timeout: s.opts.SMTP.Timeout}
	if base := s.opts.SMTP.TLSConfig; base != nil {
		cfg.TLSConfig = base.Clone()
		cfg.TLSConfig.ServerName = st.SMTPHost
	}
	return cfg
}

type webhookAttachment struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Data        string `json:"data"`
}

// Webhook headers.
const (
	HeaderSignature = "X-ConnectPlus-Signature"
	HeaderTimestamp = "X-ConnectPlus-Timestamp"
	HeaderEvent     = "X-ConnectPlus-Event"
)

// Sign is the webhook signature: "sha256=" and the hex HMAC-SHA256, keyed
// with the channel's signing key, of the timestamp header, a dot and the
// body. A receiver recomputes it and compares in constant time, and
// rejects old timestamps (replays).
func Sign(key, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// post sends a JSON body with retries and exponential back-off on network
// errors, 429 and 5xx. The URL is a secret for Slack: errors never quote it.
func (s *Service) post(ctx context.Context, target string, body []byte, sign func(http.Header, []byte)) (int, error) {
	var last error
	for attempt := 1; attempt <= s.opts.WebhookAttempts; attempt++ {
		if attempt > 1 {
			wait := s.opts.WebhookBackoff << (attempt - 2)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return attempt - 1, ctx.Err()
			case <-t.C:
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return attempt, errors.New("the channel URL is not valid")
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "connectplus-alerts")
		if sign != nil {
			sign(req.Header, body)
		}
		resp, err := s.http.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // without the URL
			}
			last = fmt.Errorf("attempt %d: %w", attempt, err)
			if errors.Is(err, errPrivateTarget) {
				return attempt, last
			}
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		switch {
		case resp.StatusCode < 300:
			return attempt, nil
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			last = fmt.Errorf("attempt %d: answered %d", attempt, resp.StatusCode)
		default:
			return attempt, fmt.Errorf("answered %d", resp.StatusCode)
		}
	}
	return s.opts.WebhookAttempts, last
}

var errPrivateTarget = errors.New("refusing to connect to a loopback, private or link-local address")

// safeClient is the default HTTP client of notifications: channel URLs are
// set by organisation admins and must not reach the server's own network.
func safeClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if !allowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip := net.ParseIP(host)
			if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() || ip.IsMulticast() {
				return errPrivateTarget
			}
			return nil
		}
	}
	tr := &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: 15 * time.Second, MaxIdleConns: 10, IdleConnTimeout: 30 * time.Second}
	return &http.Client{Transport: tr, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// slackMessage is a Block Kit message: header, the summary, the facts as
// fields, and buttons to the dataflow, the run and the issue.
func slackMessage(n Notice) map[string]any {
	fields := []map[string]any{}
	add := func(k, v string) {
		if v != "" && len(fields) < 10 {
			fields = append(fields, map[string]any{"type": "mrkdwn", "text": "*" + k + "*\n" + slackEscape(v)})
		}
	}
	add("Dataflow", n.Dataflow)
	add("Priority", n.Priority)
	add("Status", n.Status)
	if n.Metric != "" {
		add(n.Metric, formatValue(n.Value)+n.Unit+" (threshold "+formatValue(n.Threshold)+n.Unit+")")
	}
	if r := n.Run; r != nil {
		add("File", r.File)
		add("Lineage ID", r.LineageID)
		add("Run status", r.Status)
		add("Records", fmt.Sprintf("%d total, %d success (%.1f%%), %d failure (%.1f%%), %d retry exhausted (%.1f%%)",
			r.Total, r.Success, r.SuccessPct, r.Failure, r.FailurePct, r.RetryExhausted, r.RetryPct))
		if len(r.FailureDetails) > 0 {
			var b strings.Builder
			for _, d := range r.FailureDetails {
				fmt.Fprintf(&b, "%s %s: %d\n", d.Code, d.Category, d.Count)
			}
			add("Failure details", strings.TrimSpace(b.String()))
		}
	}
	if n.AcknowledgedBy != "" {
		add("Acknowledged by", n.AcknowledgedBy)
	}
	blocks := []map[string]any{
		{"type": "header", "text": map[string]any{"type": "plain_text", "text": truncate(n.Title, 150), "emoji": false}},
		{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": slackEscape(truncate(n.Description, 2900))}},
	}
	if len(fields) > 0 {
		blocks = append(blocks, map[string]any{"type": "section", "fields": fields})
	}
	var buttons []map[string]any
	for _, b := range []struct{ text, url string }{{"View Dataflow in Connect+", n.DataflowURL}, {"View Run", runURL(n)}, {"View Issue", n.IssueURL}} {
		if b.url != "" {
			buttons = append(buttons, map[string]any{"type": "button", "text": map[string]any{"type": "plain_text", "text": b.text}, "url": b.url})
		}
	}
	if len(buttons) > 0 {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": buttons})
	}
	blocks = append(blocks, map[string]any{"type": "context", "elements": []map[string]any{{"type": "mrkdwn", "text": "Connect+ · " + n.Event + " · " + n.At.UTC().Format(time.RFC3339)}}})
	return map[string]any{"text": n.Title, "blocks": blocks}
}

func runURL(n Notice) string {
	if n.Run != nil {
		return n.Run.RunURL
	}
	return ""
}

func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return store.TruncateUTF8(s, n-1) + "…"
}

// TestSend sends a test notification on a channel.
func (s *Service) TestSend(ctx context.Context, orgID, channelID, user string) (store.AlertNotification, error) {
	c, err := s.st.GetAlertChannel(ctx, orgID, channelID)
	if err != nil {
		return store.AlertNotification{}, err
	}
	n := Notice{Event: "test", At: s.now(), OrgID: orgID, Title: "Connect+ test notification", Priority: Warning, Status: "Test",
		Description: "A test of channel " + c.Name + ", sent by " + user + ". No action is needed."}
	attempts, err := s.deliverCounted(ctx, c, n, nil, "")
	rec := store.AlertNotification{ChannelID: c.ID, Kind: c.Kind, Event: "test", At: s.now(), OK: err == nil, Attempts: attempts}
	if err != nil {
		rec.Error = s.opts.Redactor.String(err.Error())
	}
	return rec, nil
}
