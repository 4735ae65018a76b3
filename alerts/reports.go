package alerts

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/store"
)

// Report schedules.
const (
	ScheduleHourly   = "hourly"
	ScheduleDaily    = "daily"
	ScheduleInterval = "interval"
)

// ReportDefinition is a summary report's recipients and schedule.
type ReportDefinition struct {
	Recipients []string `json:"recipients"`
	// ChannelID, when set, is an email channel whose relay sends the
	// report (else the server's relay).
	ChannelID string `json:"channelId,omitempty"`
	// Schedule is hourly, daily (at At, "HH:MM" in the organisation's
	// time zone) or interval (every Every).
	Schedule string   `json:"schedule"`
	At       string   `json:"at,omitempty"`
	Every    Duration `json:"every,omitempty"`
	// AfterEachRun also sends the summary of each completed run.
	AfterEachRun bool `json:"afterEachRun"`
}

// Report is a scheduled summary report as the API shows it.
type Report struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	FlowID  string `json:"flowId"` // "" every dataflow of the organisation
	Enabled bool   `json:"enabled"`
	ReportDefinition
	LastSentAt *time.Time `json:"lastSentAt,omitempty"`
	Revision   int64      `json:"revision"`
	CreatedBy  string     `json:"createdBy"`
	UpdatedBy  string     `json:"updatedBy"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
}

// ReportInput creates or replaces a report.
type ReportInput struct {
	Name    string `json:"name"`
	FlowID  string `json:"flowId,omitempty"`
	Enabled *bool  `json:"enabled,omitempty"`
	ReportDefinition
	Revision int64 `json:"revision,omitempty"`
}

func toReport(r store.ReportSchedule) (Report, error) {
	out := Report{ID: r.ID, Name: r.Name, FlowID: r.FlowID, Enabled: r.Enabled, LastSentAt: r.LastSentAt, Revision: r.Revision,
		CreatedBy: r.CreatedBy, UpdatedBy: r.UpdatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if err := json.Unmarshal(r.Definition, &out.ReportDefinition); err != nil {
		return out, fmt.Errorf("alerts: report %s definition: %w", r.ID, err)
	}
	return out, nil
}

func (s *Service) checkReport(ctx context.Context, orgID string, in *ReportInput) error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 120 {
		return invalid("name", "a report needs a name of at most 120 characters")
	}
	if len(in.Recipients) == 0 || len(in.Recipients) > 50 {
		return invalid("recipients", "a report needs 1 to 50 recipients")
	}
	for _, r := range in.Recipients {
		if _, err := mail.ParseAddress(r); err != nil || strings.ContainsAny(r, "\r\n") {
			return invalid("recipients", "%q is not an email address", r)
		}
	}
	switch in.Schedule {
	case ScheduleHourly:
		in.At, in.Every = "", 0
	case ScheduleDaily:
		if _, err := time.Parse("15:04", in.At); err != nil {
			return invalid("at", "a daily report names its time as HH:MM")
		}
		in.Every = 0
	case ScheduleInterval:
		if e := time.Duration(in.Every); e < 15*time.Minute || e > 7*24*time.Hour || e%time.Minute != 0 {
			return invalid("every", "the interval is whole minutes between 15m and 168h")
		}
		in.At = ""
	default:
		return invalid("schedule", "schedule is hourly, daily or interval")
	}
	if in.FlowID != "" {
		if _, err := s.st.GetDataflow(ctx, orgID, in.FlowID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return invalid("flowId", "no dataflow %s in this organisation", in.FlowID)
			}
			return err
		}
	}
	if in.ChannelID != "" {
		c, err := s.st.GetAlertChannel(ctx, orgID, in.ChannelID)
		if errors.Is(err, store.ErrNotFound) || err == nil && c.Kind != KindEmail {
			return invalid("channelId", "channelId names one of the organisation's email channels")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ListReports lists the organisation's report schedules.
func (s *Service) ListReports(ctx context.Context, a control.Actor) ([]Report, error) {
	rows, err := s.st.ListReportSchedules(ctx, a.OrgID)
	if err != nil {
		return nil, err
	}
	out := make([]Report, 0, len(rows))
	for _, r := range rows {
		v, err := toReport(r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// GetReport reads a report schedule.
func (s *Service) GetReport(ctx context.Context, a control.Actor, id string) (Report, error) {
	r, err := s.st.GetReportSchedule(ctx, a.OrgID, id)
	if err != nil {
		return Report{}, err
	}
	return toReport(r)
}

// CreateReport creates a report schedule.
func (s *Service) CreateReport(ctx context.Context, a control.Actor, in ReportInput) (Report, error) {
	if err := s.checkReport(ctx, a.OrgID, &in); err != nil {
		return Report{}, err
	}
	def, err := json.Marshal(in.ReportDefinition)
	if err != nil {
		return Report{}, err
	}
	now := s.now()
	r := store.ReportSchedule{ID: store.NewID("rep"), OrgID: a.OrgID, Name: in.Name, FlowID: in.FlowID, Enabled: in.Enabled == nil || *in.Enabled,
		Definition: def, Revision: 1, CreatedBy: a.Username, UpdatedBy: a.Username, CreatedAt: now, UpdatedAt: now}
	err = s.st.Tx(ctx, func(q *store.Queries) error {
		if err := q.CreateReportSchedule(ctx, r); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return fmt.Errorf("%w: a report named %q exists", store.ErrDuplicate, in.Name)
			}
			return err
		}
		return s.auditQ(ctx, q, a, "report.create", "report", r.ID, r)
	})
	if err != nil {
		return Report{}, err
	}
	return toReport(r)
}

// UpdateReport replaces a report schedule.
func (s *Service) UpdateReport(ctx context.Context, a control.Actor, id string, in ReportInput) (Report, error) {
	cur, err := s.st.GetReportSchedule(ctx, a.OrgID, id)
	if err != nil {
		return Report{}, err
	}
	if in.Revision == 0 {
		return Report{}, invalid("revision", "give the revision you edited")
	}
	if err := s.checkReport(ctx, a.OrgID, &in); err != nil {
		return Report{}, err
	}
	if cur.Definition, err = json.Marshal(in.ReportDefinition); err != nil {
		return Report{}, err
	}
	cur.Name, cur.FlowID, cur.Revision, cur.UpdatedBy, cur.UpdatedAt = in.Name, in.FlowID, in.Revision, a.Username, s.now()
	if in.Enabled != nil {
		cur.Enabled = *in.Enabled
	}
	err = s.st.Tx(ctx, func(q *store.Queries) error {
		if err := q.UpdateReportSchedule(ctx, &cur); err != nil {
			return err
		}
		return s.auditQ(ctx, q, a, "report.update", "report", cur.ID, cur)
	})
	if err != nil {
		return Report{}, err
	}
	return toReport(cur)
}

// DeleteReport deletes a report schedule.
func (s *Service) DeleteReport(ctx context.Context, a control.Actor, id string) error {
	return s.st.Tx(ctx, func(q *store.Queries) error {
		if err := q.DeleteReportSchedule(ctx, a.OrgID, id); err != nil {
			return err
		}
		return s.auditQ(ctx, q, a, "report.delete", "report", id, nil)
	})
}

// period is the report's latest due period [from, to) at now; ok is false
// before the first one.
func (s *Service) period(ctx context.Context, r Report, orgID string, now time.Time) (from, to time.Time, ok bool) {
	switch r.Schedule {
	case ScheduleHourly:
		to = now.Truncate(time.Hour)
		from = to.Add(-time.Hour)
	case ScheduleInterval:
		e := time.Duration(r.Every)
		to = time.Unix(now.Unix()/int64(e/time.Second)*int64(e/time.Second), 0).UTC()
		from = to.Add(-e)
	case ScheduleDaily:
		loc := time.UTC
		if o, err := s.st.GetOrg(ctx, orgID); err == nil && o.TimeZone != "" {
			if l, err := time.LoadLocation(o.TimeZone); err == nil {
				loc = l
			}
		}
		at, _ := time.Parse("15:04", r.At)
		local := now.In(loc)
		to = time.Date(local.Year(), local.Month(), local.Day(), at.Hour(), at.Minute(), 0, 0, loc)
		if to.After(now) {
			to = to.AddDate(0, 0, -1)
		}
		from = to.AddDate(0, 0, -1)
		to, from = to.UTC(), from.UTC()
	default:
		return from, to, false
	}
	// No report for a period that ended before the schedule existed.
	return from, to, to.After(r.CreatedAt)
}

// SendDueReports sends every enabled report whose period has ended and
// was not sent yet (claimed once across servers).
func (s *Service) SendDueReports(ctx context.Context) error {
	rows, err := s.st.ListReportSchedules(ctx, "")
	if err != nil {
		return err
	}
	now := s.now()
	var errs []error
	for _, row := range rows {
		if !row.Enabled {
			continue
		}
		r, err := toReport(row)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		from, to, ok := s.period(ctx, r, row.OrgID, now)
		if !ok {
			continue
		}
		claimed, err := s.st.ClaimSlot(ctx, "report", r.ID, to.Unix(), s.opts.Owner, now)
		if err != nil || !claimed {
			if err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if err := s.sendReport(ctx, row.OrgID, r, from, to, nil); err != nil {
			errs = append(errs, fmt.Errorf("report %s: %w", r.ID, err))
		}
	}
	return errors.Join(errs...)
}

// SendReportNow sends a report's summary of the last period at once.
func (s *Service) SendReportNow(ctx context.Context, a control.Actor, id string) error {
	r, err := s.GetReport(ctx, a, id)
	if err != nil {
		return err
	}
	from, to, _ := s.period(ctx, r, a.OrgID, s.now())
	if r.Schedule == ScheduleDaily || to.IsZero() {
		to = s.now()
		from = to.Add(-24 * time.Hour)
	}
	return s.sendReport(ctx, a.OrgID, r, from, to, nil)
}

// reportRow is one file of a report.
type reportRow struct {
	Flow, File, LineageID, Status string
	Started                       time.Time
	Total, Success, Failure, Exh  int64
	ByBlock                       map[string]int64
}

func runRow(flowName string, r runstate.Run) reportRow {
	row := reportRow{Flow: flowName, File: r.FileName, LineageID: r.ID, Status: r.Status, Started: r.Started, Total: r.RecordsIn,
		Success: r.Delivered, Failure: r.Failed, Exh: r.RetryExhausted, ByBlock: map[string]int64{}}
	var blocks []engine.BlockCounts
	if len(r.BlockStats) > 0 && json.Unmarshal(r.BlockStats, &blocks) == nil {
		for _, b := range blocks {
			if b.Failed > 0 {
				row.ByBlock[b.Name] += b.Failed
			}
		}
	}
	return row
}

func byBlock(m map[string]int64) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, k := range names {
		parts = append(parts, k+"="+strconv.FormatInt(m[k], 10))
	}
	return strings.Join(parts, "; ")
}

// csvCell keeps a cell from being read as a formula by a spreadsheet.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func reportCSV(rows []reportRow) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write([]string{"dataflow", "file", "lineage_id", "ingestion_time", "status", "total_records", "success", "failure", "retry_exhausted", "failure_by_block"}); err != nil {
		return nil, err
	}
	for _, r := range rows {
		if err := w.Write([]string{csvCell(r.Flow), csvCell(r.File), r.LineageID, r.Started.UTC().Format(time.RFC3339), r.Status,
			strconv.FormatInt(r.Total, 10), strconv.FormatInt(r.Success, 10), strconv.FormatInt(r.Failure, 10), strconv.FormatInt(r.Exh, 10), csvCell(byBlock(r.ByBlock))}); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

// sendReport mails the summary of [from, to) — or of the given rows (one
// completed run) — with the CSV attached.
func (s *Service) sendReport(ctx context.Context, orgID string, r Report, from, to time.Time, rows []reportRow) error {
	if rows == nil {
		names := map[string]string{}
		runs, err := s.st.ListRuns(ctx, runstate.RunFilter{OrgID: orgID, FlowID: r.FlowID, Since: from, Until: to, Limit: 10000})
		if err != nil {
			return err
		}
		rows = []reportRow{}
		for _, run := range runs {
			if run.Finished == nil {
				continue
			}
			name, ok := names[run.FlowID]
			if !ok {
				name = run.FlowName
				if f, err := s.st.GetDataflow(ctx, orgID, run.FlowID); err == nil {
					name = f.Name
				}
				names[run.FlowID] = name
			}
			rows = append(rows, runRow(name, run))
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].Started.Before(rows[j].Started) })
	}
	data, err := reportCSV(rows)
	if err != nil {
		return err
	}
	var tot, ok, fail, exh int64
	var text strings.Builder
	for _, row := range rows {
		tot, ok, fail, exh = tot+row.Total, ok+row.Success, fail+row.Failure, exh+row.Exh
		fmt.Fprintf(&text, "%s · %s · ingested %s · %s: %d records, %d success, %d failure", row.Flow, row.File, row.Started.UTC().Format(time.RFC3339), row.Status, row.Total, row.Success, row.Failure)
		if len(row.ByBlock) > 0 {
			fmt.Fprintf(&text, " (by block: %s)", byBlock(row.ByBlock))
		}
		text.WriteString("\n")
	}
	n := Notice{Event: "report", At: s.now(), OrgID: orgID, Title: fmt.Sprintf("Connect+ summary report %s: %d file(s)", r.Name, len(rows)),
		Description: fmt.Sprintf("From %s to %s: %d files, %d records, %d success (%.1f%%), %d failure (%.1f%%), %d retry exhausted.",
			from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), len(rows), tot, ok, pct1(ok, tot), fail, pct1(fail, tot), exh)}
	cfg := s.opts.SMTP
	if r.ChannelID != "" {
		c, err := s.st.GetAlertChannel(ctx, orgID, r.ChannelID)
		if err != nil {
			return err
		}
		ch, err := toChannel(c)
		if err != nil {
			return err
		}
		if ch.Settings.SMTPHost != "" {
			pw, err := s.secret(ctx, orgID, ch.SecretConfig)
			if err != nil {
				return err
			}
			cfg = s.channelRelay(ch.Settings, pw)
		}
	}
	body := n.Description + "\n\n--\n" + text.String()
	msg, err := buildMessage(cfg.From, r.Recipients, n.Title, n, body, &Attachment{Name: "connectplus-report-" + to.UTC().Format("20060102-1504") + ".csv", ContentType: "text/csv; charset=utf-8", Data: data}, s.now())
	if err != nil {
		return err
	}
	err = sendMail(ctx, cfg, r.Recipients, msg)
	rec := store.AlertNotification{OrgID: orgID, ChannelID: r.ChannelID, Kind: KindEmail, Event: "report", At: s.now(), OK: err == nil, Attempts: 1}
	if err != nil {
		rec.Error = err.Error()
	}
	if lerr := s.st.AddAlertNotification(ctx, rec); lerr != nil {
		s.log.Error("recording a report delivery", "err", lerr)
	}
	if err != nil {
		return err
	}
	return s.st.MarkReportSent(ctx, r.ID, s.now())
}

// ---- per-file notifications ----

// FileNotifications is a dataflow's opt-in notification after each file.
type FileNotifications struct {
	FlowID    string    `json:"flowId"`
	OnSuccess bool      `json:"onSuccess"`
	OnPartial bool      `json:"onPartial"`
	OnFailure bool      `json:"onFailure"`
	Channels  []string  `json:"channels"`
	UpdatedBy string    `json:"updatedBy,omitempty"`
	UpdatedAt time.Time `json:"updatedAt,omitempty"`
}

// GetFileNotifications reads a dataflow's file notifications (all off
// when never set).
func (s *Service) GetFileNotifications(ctx context.Context, a control.Actor, flowID string) (FileNotifications, error) {
	if _, err := s.st.GetDataflow(ctx, a.OrgID, flowID); err != nil {
		return FileNotifications{}, err
	}
	return s.fileNotifications(ctx, a.OrgID, flowID)
}

func (s *Service) fileNotifications(ctx context.Context, orgID, flowID string) (FileNotifications, error) {
	out := FileNotifications{FlowID: flowID, Channels: []string{}}
	n, err := s.st.GetFlowNotifications(ctx, orgID, flowID)
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(n.Definition, &out); err != nil {
		return out, err
	}
	out.FlowID, out.UpdatedBy, out.UpdatedAt = flowID, n.UpdatedBy, n.UpdatedAt
	return out, nil
}

// SetFileNotifications sets a dataflow's file notifications.
func (s *Service) SetFileNotifications(ctx context.Context, a control.Actor, flowID string, in FileNotifications) (FileNotifications, error) {
	if _, err := s.st.GetDataflow(ctx, a.OrgID, flowID); err != nil {
		return FileNotifications{}, err
	}
	if in.Channels == nil {
		in.Channels = []string{}
	}
	for _, id := range in.Channels {
		if _, err := s.st.GetAlertChannel(ctx, a.OrgID, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return FileNotifications{}, invalid("channels", "no channel %s in this organisation", id)
			}
			return FileNotifications{}, err
		}
	}
	if (in.OnSuccess || in.OnPartial || in.OnFailure) && len(in.Channels) == 0 {
		return FileNotifications{}, invalid("channels", "name the channels the file notifications go to")
	}
	def, err := json.Marshal(FileNotifications{OnSuccess: in.OnSuccess, OnPartial: in.OnPartial, OnFailure: in.OnFailure, Channels: in.Channels})
	if err != nil {
		return FileNotifications{}, err
	}
	err = s.st.Tx(ctx, func(q *store.Queries) error {
		if err := q.PutFlowNotifications(ctx, store.FlowNotifications{OrgID: a.OrgID, FlowID: flowID, Definition: def, UpdatedBy: a.Username, UpdatedAt: s.now()}); err != nil {
			return err
		}
		return s.auditQ(ctx, q, a, "file_notifications.set", "dataflow", flowID, in)
	})
	if err != nil {
		return FileNotifications{}, err
	}
	return s.fileNotifications(ctx, a.OrgID, flowID)
}

// fileEvent is a completed source file waiting for its notifications.
type fileEvent struct {
	dep runstate.Deployment
	res engine.LineageResult
}

// FileProcessed queues a completed file for its notifications (file
// notifications, after-each-run reports). It never blocks the runtime: a
// full queue drops the event with a warning.
func (s *Service) FileProcessed(d runstate.Deployment, res engine.LineageResult) {
	select {
	case s.files <- fileEvent{d, res}:
	default:
		s.log.Warn("file notification queue full; dropped", "flow", d.FlowID, "run", res.ID)
	}
}

func (s *Service) fileWorker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-s.files:
			if err := s.HandleFile(ctx, ev.dep, ev.res); err != nil && ctx.Err() == nil {
				s.log.Warn("file notifications", "run", ev.res.ID, "err", err)
			}
		}
	}
}

// HandleFile sends a completed file's notifications now.
func (s *Service) HandleFile(ctx context.Context, d runstate.Deployment, res engine.LineageResult) error {
	run := runstate.Run{ID: res.ID, OrgID: d.OrgID, FlowID: d.FlowID, FlowName: d.FlowName, FileName: res.Item.Name, Status: res.Status,
		Started: res.Started, RecordsIn: res.Counts.In, Delivered: res.Counts.Delivered, Filtered: res.Counts.Filtered, Failed: res.Counts.Failed,
		RetryExhausted: res.Counts.RetryExhausted, ResultName: res.ResultName, ResultPath: res.ResultPath, StatusCodes: map[string]int64{}}
	fin := res.Finished
	run.Finished = &fin
	if res.Counts.In > 0 {
		run.AvgRecordMicros = fin.Sub(res.Started).Microseconds() / res.Counts.In
	}
	for c, n := range res.StatusCodes {
		run.StatusCodes[strconv.Itoa(c)] = n
	}
	if b, err := json.Marshal(res.Blocks); err == nil {
		run.BlockStats = b
	}
	var errs []error
	fn, err := s.fileNotifications(ctx, d.OrgID, d.FlowID)
	if err != nil {
		errs = append(errs, err)
	}
	want := res.Status == engine.StatusSuccess && fn.OnSuccess || res.Status == engine.StatusPartial && fn.OnPartial || res.Status == engine.StatusFailure && fn.OnFailure
	if want && len(fn.Channels) > 0 {
		f := s.runFact(ctx, run)
		n := Notice{Event: "file", At: s.now(), OrgID: d.OrgID, Status: res.Status, Dataflow: d.FlowName, DataflowID: d.FlowID, Run: f,
			DataflowURL: s.link("/dataflows/" + d.FlowID),
			Title:       fmt.Sprintf("%s: %s processed (%s)", d.FlowName, res.Item.Name, res.Status),
			Description: fmt.Sprintf("%d records: %d success, %d failure, %d retry exhausted.", res.Counts.In, res.Counts.Delivered, res.Counts.Failed, res.Counts.RetryExhausted)}
		chans, err := s.st.ListAlertChannels(ctx, d.OrgID)
		if err != nil {
			errs = append(errs, err)
		}
		for _, c := range chans {
			if containsStr(fn.Channels, c.ID) {
				if err := s.deliver(ctx, c, n, nil, ""); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	reps, err := s.st.ListReportSchedules(ctx, d.OrgID)
	if err != nil {
		errs = append(errs, err)
	}
	for _, row := range reps {
		r, err := toReport(row)
		if err != nil || !r.Enabled || !r.AfterEachRun || (r.FlowID != "" && r.FlowID != d.FlowID) {
			continue
		}
		if err := s.sendReport(ctx, d.OrgID, r, res.Started, res.Finished, []reportRow{runRow(d.FlowName, run)}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
