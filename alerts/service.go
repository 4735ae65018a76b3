package alerts

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/obs"
	"github.com/connectplus/connectplus/secrets/redact"
	"github.com/connectplus/connectplus/store"
)

// Options configure a Service.
type Options struct {
	Store  *store.Store
	Logger *slog.Logger
	// Now is the clock rules are evaluated by (tests move it).
	Now func() time.Time
	// Owner names this server in evaluation claims.
	Owner string
	// EvalInterval is the evaluation period (1 min): every enabled rule
	// is evaluated once per period, by one server.
	EvalInterval time.Duration
	// BaseURL is the web UI's address, for links in notifications.
	BaseURL string
	// SMTP is the server's mail relay, used by email channels that name
	// none of their own.
	SMTP SMTPConfig
	// Validate counts the validation problems of a dataflow's newest
	// version (the Dataflow Validation rule); nil skips that rule.
	Validate func(ctx context.Context, orgID, flowID string) (int, error)
	// HTTPClient sends Slack and webhook notifications (default: 15 s
	// timeout, and no connections to loopback, private or link-local
	// addresses unless AllowPrivateTargets).
	HTTPClient          *http.Client
	AllowPrivateTargets bool
	// WebhookAttempts and WebhookBackoff: a webhook delivery is tried this
	// many times (5), waiting backoff × 2^n between tries (1 s).
	WebhookAttempts int
	WebhookBackoff  time.Duration
	Redactor        *redact.Redactor
}

// Service manages rules, channels, issues and reports, and evaluates.
type Service struct {
	opts Options
	st   *store.Store
	log  *slog.Logger
	q    *obs.Querier
	http *http.Client

	mu     sync.Mutex
	seeded map[string]bool // organisations whose defaults this process seeded
	files  chan fileEvent
}

// New returns a Service.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.EvalInterval <= 0 {
		opts.EvalInterval = time.Minute
	}
	if opts.WebhookAttempts <= 0 {
		opts.WebhookAttempts = 5
	}
	if opts.WebhookBackoff <= 0 {
		opts.WebhookBackoff = time.Second
	}
	if opts.Owner == "" {
		opts.Owner = store.NewID("node")
	}
	s := &Service{opts: opts, st: opts.Store, log: opts.Logger, q: obs.NewQuerier(opts.Store), seeded: map[string]bool{}, files: make(chan fileEvent, 1000)}
	s.http = opts.HTTPClient
	if s.http == nil {
		s.http = safeClient(opts.AllowPrivateTargets)
	}
	return s
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

func invalid(path, format string, a ...any) error {
	msg := fmt.Sprintf(format, a...)
	return &control.ValidationError{Message: msg, Problems: []dataflow.Problem{{Path: path, Message: msg}}}
}

// ---- rules ----

// RuleInput creates or replaces a rule. On update, Platform, Metric and
// FlowID may be left empty; given, they must equal the rule's (they are
// immutable after creation).
type RuleInput struct {
	Name string `json:"name"`
	// Preset starts from a preset's metric and definition; fields given
	// here override it.
	Preset   string `json:"preset,omitempty"`
	Platform string `json:"platform,omitempty"`
	Metric   string `json:"metric,omitempty"`
	FlowID   string `json:"flowId,omitempty"`
	// Endpoint limits a call metric to one API endpoint (see
	// GET /alert-endpoints for the ones called in the last 7 days).
	Endpoint string `json:"endpoint,omitempty"`
	Enabled  *bool  `json:"enabled,omitempty"`
	Definition
	Revision int64 `json:"revision,omitempty"`
}

func toRule(r store.AlertRule) (Rule, error) {
	out := Rule{ID: r.ID, Name: r.Name, Preset: r.Preset, Platform: r.Platform, Metric: r.Metric, FlowID: r.FlowID, Endpoint: r.Endpoint, Enabled: r.Enabled,
		Revision: r.Revision, CreatedBy: r.CreatedBy, UpdatedBy: r.UpdatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if err := json.Unmarshal(r.Definition, &out.Definition); err != nil {
		return out, fmt.Errorf("alerts: rule %s definition: %w", r.ID, err)
	}
	if out.Channels == nil {
		out.Channels = []string{}
	}
	out.Scope = ScopeOrganization
	if r.FlowID != "" {
		out.Scope = ScopeDataflow
	}
	if p, ok := PresetByKey(r.Preset); ok && p.Default && r.ID == DefaultRuleID(r.OrgID, p.Key) {
		out.Default = true
	}
	out.DefaultTitle, out.DefaultDescription = DefaultTitle(r.Metric), DefaultDescription(r.Metric)
	return out, nil
}

func (s *Service) checkDefinition(ctx context.Context, orgID, metric string, d *Definition) error {
	m, ok := MetricByName(metric)
	if !ok {
		return invalid("metric", "unknown metric %q", metric)
	}
	if d.Comparator == "" {
		d.Comparator = m.Comparator
	}
	if !slices.Contains(Comparators, d.Comparator) {
		return invalid("comparator", "comparator must be one of %s", strings.Join(Comparators, " "))
	}
	if d.Warning == nil && d.Critical == nil {
		return invalid("critical", "give a Warning or a Critical threshold (or both)")
	}
	if d.Warning != nil && d.Critical != nil {
		w, c := *d.Warning, *d.Critical
		// The Critical threshold is the further one in the violation's
		// direction: a value past it is past the Warning one too.
		if strings.HasPrefix(d.Comparator, ">") && c < w || strings.HasPrefix(d.Comparator, "<") && c > w {
			return invalid("critical", "the Critical threshold must be at least as severe as the Warning one (%s %s)", d.Comparator, formatValue(w))
		}
	}
	for _, t := range []*float64{d.Warning, d.Critical} {
		if t != nil && m.Unit == "%" && (*t < 0 || *t > 100) {
			return invalid("critical", "a percentage threshold is between 0 and 100")
		}
	}
	w := time.Duration(d.Window)
	if w < time.Minute || w > obs.MaxWindow || w%time.Minute != 0 {
		return invalid("window", "the window is whole minutes between 1m and 720h")
	}
	if d.MinVolume < 0 {
		return invalid("minVolume", "minVolume cannot be negative")
	}
	if d.RenotifyEvery < 0 || d.AutoCloseAfter < 0 {
		return invalid("renotifyEvery", "intervals cannot be negative")
	}
	if d.AutoCloseAfter == 0 {
		d.AutoCloseAfter = Duration(DefaultAutoClose)
	}
	if len(d.Title) > 200 || len(d.Description) > 2000 {
		return invalid("title", "the title is at most 200 characters and the description 2000")
	}
	if d.Channels == nil {
		d.Channels = []string{}
	}
	seen := map[string]bool{}
	for _, id := range d.Channels {
		if seen[id] {
			return invalid("channels", "channel %s is listed twice", id)
		}
		seen[id] = true
		if _, err := s.st.GetAlertChannel(ctx, orgID, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return invalid("channels", "no channel %s in this organisation", id)
			}
			return err
		}
	}
	return nil
}

// ListRules lists the organisation's rules (seeding its defaults first).
func (s *Service) ListRules(ctx context.Context, a control.Actor) ([]Rule, error) {
	if err := s.seedOrg(ctx, a.OrgID); err != nil {
		return nil, err
	}
	rows, err := s.st.ListAlertRules(ctx, a.OrgID, false)
	if err != nil {
		return nil, err
	}
	out := make([]Rule, 0, len(rows))
	for _, r := range rows {
		v, err := toRule(r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// GetRule reads a rule.
func (s *Service) GetRule(ctx context.Context, a control.Actor, id string) (Rule, error) {
	r, err := s.st.GetAlertRule(ctx, a.OrgID, id)
	if err != nil {
		return Rule{}, err
	}
	return toRule(r)
}

// CreateRule creates a rule (from a preset, or from scratch).
func (s *Service) CreateRule(ctx context.Context, a control.Actor, in RuleInput) (Rule, error) {
	if p := in.Preset; p != "" {
		pr, ok := PresetByKey(p)
		if !ok {
			return Rule{}, invalid("preset", "unknown preset %q", p)
		}
		if in.Metric == "" {
			in.Metric = pr.Metric
		}
		d := pr.Definition
		if in.Comparator != "" {
			d.Comparator = in.Comparator
		}
		if in.Warning != nil || in.Critical != nil {
			d.Warning, d.Critical = in.Warning, in.Critical
		}
		if in.Window != 0 {
			d.Window = in.Window
		}
		d.MinVolume, d.Title, d.Description, d.Channels, d.RenotifyEvery, d.AutoCloseAfter = in.MinVolume, in.Title, in.Description, in.Channels, in.RenotifyEvery, in.AutoCloseAfter
		in.Definition = d
		if in.Name == "" {
			in.Name = pr.Name
		}
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 120 {
		return Rule{}, invalid("name", "a rule needs a name of at most 120 characters")
	}
	if in.Platform == "" {
		in.Platform = PlatformDataflow
	}
	if in.Platform != PlatformDataflow {
		return Rule{}, invalid("platform", "the platform is %q (Connect+ dataflows)", PlatformDataflow)
	}
	if in.FlowID != "" {
		if _, err := s.st.GetDataflow(ctx, a.OrgID, in.FlowID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return Rule{}, invalid("flowId", "no dataflow %s in this organisation", in.FlowID)
			}
			return Rule{}, err
		}
	}
	if err := s.checkDefinition(ctx, a.OrgID, in.Metric, &in.Definition); err != nil {
		return Rule{}, err
	}
	if in.Endpoint = strings.TrimSpace(in.Endpoint); in.Endpoint != "" {
		if m, _ := MetricByName(in.Metric); !m.PerEndpoint {
			return Rule{}, invalid("endpoint", "%s is not measured from API calls: it cannot be filtered by API", m.Label)
		}
		if len(in.Endpoint) > 1000 || in.Endpoint == store.AllFlows {
			return Rule{}, invalid("endpoint", "an API filter is one endpoint as GET /alert-endpoints lists it (method and URL)")
		}
	}
	def, err := json.Marshal(in.Definition)
	if err != nil {
		return Rule{}, err
	}
	now := s.now()
	r := store.AlertRule{ID: store.NewID("alr"), OrgID: a.OrgID, Name: in.Name, Preset: in.Preset, Platform: in.Platform, Metric: in.Metric,
		FlowID: in.FlowID, Endpoint: in.Endpoint, Enabled: in.Enabled == nil || *in.Enabled, Definition: def, CreatedBy: a.Username, UpdatedBy: a.Username, CreatedAt: now, UpdatedAt: now}
	err = s.st.Tx(ctx, func(q *store.Queries) error {
		if err := q.CreateAlertRule(ctx, r); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return fmt.Errorf("%w: a rule named %q exists", store.ErrDuplicate, in.Name)
			}
			return err
		}
		return s.auditQ(ctx, q, a, "alert_rule.create", "alert_rule", r.ID, r)
	})
	if err != nil {
		return Rule{}, err
	}
	r.Revision = 1
	return toRule(r)
}

func (s *Service) auditQ(ctx context.Context, q *store.Queries, a control.Actor, action, objType, objID string, after any) error {
	var b []byte
	if after != nil {
		var err error
		if b, err = json.Marshal(after); err != nil {
			return err
		}
	}
	actor := a.Username
	if actor == "" {
		actor = "system"
	}
	return q.AppendAudit(ctx, store.AuditEntry{OrgID: a.OrgID, At: s.now(), Actor: actor, Action: action, ObjectType: objType, ObjectID: objID, After: b, RequestID: a.RequestID})
}

// UpdateRule replaces a rule's editable part: name, thresholds, window,
// templates, channels, intervals, enabled. Revision must be the one read.
func (s *Service) UpdateRule(ctx context.Context, a control.Actor, id string, in RuleInput) (Rule, error) {
	cur, err := s.st.GetAlertRule(ctx, a.OrgID, id)
	if err != nil {
		return Rule{}, err
	}
	switch {
	case in.Platform != "" && in.Platform != cur.Platform:
		return Rule{}, invalid("platform", "the platform of a rule cannot change (create a new rule)")
	case in.Metric != "" && in.Metric != cur.Metric:
		return Rule{}, invalid("metric", "the metric of a rule cannot change (create a new rule)")
	case in.FlowID != "" && in.FlowID != cur.FlowID:
		return Rule{}, invalid("flowId", "the scope of a rule cannot change (create a new rule)")
	case in.Endpoint != "" && in.Endpoint != cur.Endpoint:
		return Rule{}, invalid("endpoint", "the API filter of a rule cannot change (create a new rule)")
	case in.Preset != "" && in.Preset != cur.Preset:
		return Rule{}, invalid("preset", "the preset of a rule cannot change")
	case in.Revision == 0:
		return Rule{}, invalid("revision", "give the revision you edited")
	}
	if n := strings.TrimSpace(in.Name); n != "" {
		if len(n) > 120 {
			return Rule{}, invalid("name", "a rule name is at most 120 characters")
		}
		cur.Name = n
	}
	if err := s.checkDefinition(ctx, a.OrgID, cur.Metric, &in.Definition); err != nil {
		return Rule{}, err
	}
	if cur.Definition, err = json.Marshal(in.Definition); err != nil {
		return Rule{}, err
	}
	if in.Enabled != nil {
		cur.Enabled = *in.Enabled
	}
	cur.Revision, cur.UpdatedBy, cur.UpdatedAt = in.Revision, a.Username, s.now()
	err = s.st.Tx(ctx, func(q *store.Queries) error {
		if err := q.UpdateAlertRule(ctx, &cur); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return fmt.Errorf("%w: a rule named %q exists", store.ErrDuplicate, cur.Name)
			}
			return err
		}
		return s.auditQ(ctx, q, a, "alert_rule.update", "alert_rule", cur.ID, cur)
	})
	if err != nil {
		return Rule{}, err
	}
	return toRule(cur)
}

// SetRuleEnabled enables or disables a rule.
func (s *Service) SetRuleEnabled(ctx context.Context, a control.Actor, id string, enabled bool) (Rule, error) {
	for range 3 {
		cur, err := s.st.GetAlertRule(ctx, a.OrgID, id)
		if err != nil {
			return Rule{}, err
		}
		cur.Enabled, cur.UpdatedBy, cur.UpdatedAt = enabled, a.Username, s.now()
		action := "alert_rule.disable"
		if enabled {
			action = "alert_rule.enable"
		}
		err = s.st.Tx(ctx, func(q *store.Queries) error {
			if err := q.UpdateAlertRule(ctx, &cur); err != nil {
				return err
			}
			return s.auditQ(ctx, q, a, action, "alert_rule", cur.ID, nil)
		})
		if errors.Is(err, store.ErrConflict) {
			continue // edited meanwhile: apply to the newer revision
		}
		if err != nil {
			return Rule{}, err
		}
		return toRule(cur)
	}
	return Rule{}, fmt.Errorf("%w: the rule keeps changing; try again", store.ErrConflict)
}

// ResetTemplate restores the metric's default title and description.
func (s *Service) ResetTemplate(ctx context.Context, a control.Actor, id string) (Rule, error) {
	r, err := s.GetRule(ctx, a, id)
	if err != nil {
		return Rule{}, err
	}
	d := r.Definition
	d.Title, d.Description = "", ""
	return s.UpdateRule(ctx, a, id, RuleInput{Definition: d, Revision: r.Revision})
}

// DeleteRule deletes a custom rule. Default rules are disabled instead:
// they would be seeded again.
func (s *Service) DeleteRule(ctx context.Context, a control.Actor, id string) error {
	r, err := s.GetRule(ctx, a, id)
	if err != nil {
		return err
	}
	if r.Default {
		return fmt.Errorf("%w: a default alert cannot be deleted; disable it", store.ErrConflict)
	}
	return s.st.Tx(ctx, func(q *store.Queries) error {
		if err := q.DeleteAlertRule(ctx, a.OrgID, id); err != nil {
			return err
		}
		return s.auditQ(ctx, q, a, "alert_rule.delete", "alert_rule", id, nil)
	})
}

// EndpointWindow is how far back GET /alert-endpoints looks for the APIs a
// rule can be filtered by (spec §6.7: the APIs used in the last 7 days;
// call an API once to make it appear).
const EndpointWindow = 7 * 24 * time.Hour

// Endpoint is an API a dataflow called in the last EndpointWindow.
type Endpoint struct {
	Endpoint string `json:"endpoint"`
	// FlowIDs are the dataflows that called it.
	FlowIDs []string `json:"flowIds"`
	Calls   int64    `json:"calls"`
}

// ListEndpoints lists the API endpoints the organisation's dataflows (or
// one, flowID) called in the last EndpointWindow, most called first.
func (s *Service) ListEndpoints(ctx context.Context, a control.Actor, flowID string) ([]Endpoint, error) {
	now := s.now()
	f := store.MetricFilter{OrgID: a.OrgID, From: now.Add(-EndpointWindow), To: now}
	if flowID != "" {
		if _, err := s.st.GetDataflow(ctx, a.OrgID, flowID); err != nil {
			return nil, err
		}
		f.FlowIDs = []string{flowID}
	}
	rows, err := s.st.SumHTTP(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("alerts: endpoints: %w", err)
	}
	byName := map[string]*Endpoint{}
	for _, r := range rows {
		if r.Endpoint == store.AllFlows || r.Calls == 0 {
			continue
		}
		e := byName[r.Endpoint]
		if e == nil {
			e = &Endpoint{Endpoint: r.Endpoint, FlowIDs: []string{}}
			byName[r.Endpoint] = e
		}
		e.Calls += r.Calls
		if !slices.Contains(e.FlowIDs, r.FlowID) {
			e.FlowIDs = append(e.FlowIDs, r.FlowID)
		}
	}
	out := make([]Endpoint, 0, len(byName))
	for _, e := range byName {
		slices.Sort(e.FlowIDs)
		out = append(out, *e)
	}
	slices.SortFunc(out, func(x, y Endpoint) int {
		if c := cmp.Compare(y.Calls, x.Calls); c != 0 {
			return c
		}
		return strings.Compare(x.Endpoint, y.Endpoint)
	})
	return out, nil
}

// seedOrg makes sure an organisation has its default rules (enabled,
// watching every dataflow, notifying every all-alerts channel).
func (s *Service) seedOrg(ctx context.Context, orgID string) error {
	s.mu.Lock()
	done := s.seeded[orgID]
	s.mu.Unlock()
	if done {
		return nil
	}
	now := s.now()
	for _, p := range Presets {
		if !p.Default {
			continue
		}
		d := p.Definition
		d.Channels = []string{}
		d.AutoCloseAfter = Duration(DefaultAutoClose)
		d.RenotifyEvery = Duration(DefaultRenotify)
		def, err := json.Marshal(d)
		if err != nil {
			return err
		}
		r := store.AlertRule{ID: DefaultRuleID(orgID, p.Key), OrgID: orgID, Name: p.Name, Preset: p.Key, Platform: PlatformDataflow, Metric: p.Metric,
			Enabled: true, Definition: def, CreatedBy: "system", UpdatedBy: "system", CreatedAt: now, UpdatedAt: now}
		if _, err := s.st.EnsureAlertRule(ctx, r); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				continue // a custom rule took the name: keep it
			}
			return fmt.Errorf("alerts: seeding %s: %w", p.Name, err)
		}
	}
	s.mu.Lock()
	s.seeded[orgID] = true
	s.mu.Unlock()
	return nil
}

// ---- channels ----

// Channel kinds.
const (
	KindEmail   = "email"
	KindSlack   = "slack"
	KindWebhook = "webhook"
)

// ChannelSettings are a channel's non-secret settings.
type ChannelSettings struct {
	// To are an email channel's recipients.
	To []string `json:"to,omitempty"`
	// SMTPHost, SMTPPort, TLS ("starttls", "tls" or "none"), Username and
	// From name the email channel's relay; without SMTPHost the server's
	// relay is used. The password is the channel's secret configuration.
	SMTPHost string `json:"smtpHost,omitempty"`
	SMTPPort int    `json:"smtpPort,omitempty"`
	TLS      string `json:"tls,omitempty"`
	Username string `json:"username,omitempty"`
	From     string `json:"from,omitempty"`
	// URL is a generic webhook's address (Slack's is the secret).
	URL string `json:"url,omitempty"`
}

// Channel is a notification channel as the API shows it (its secret never).
type Channel struct {
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Kind     string          `json:"kind"`
	Settings ChannelSettings `json:"settings"`
	// SecretConfig names the Extension Configuration holding the SMTP
	// password, the Slack webhook URL or the webhook signing key.
	SecretConfig string `json:"secretConfig"`
	// AllAlerts: every rule of the organisation notifies this channel
	// (the default rules notify only such channels).
	AllAlerts bool      `json:"allAlerts"`
	Revision  int64     `json:"revision"`
	CreatedBy string    `json:"createdBy"`
	UpdatedBy string    `json:"updatedBy"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// ChannelInput creates or replaces a channel.
type ChannelInput struct {
	Name         string          `json:"name"`
	Kind         string          `json:"kind"`
	Settings     ChannelSettings `json:"settings"`
	SecretConfig string          `json:"secretConfig"`
	AllAlerts    bool            `json:"allAlerts"`
	Revision     int64           `json:"revision,omitempty"`
}

func toChannel(c store.AlertChannel) (Channel, error) {
	out := Channel{ID: c.ID, Name: c.Name, Kind: c.Kind, SecretConfig: c.SecretConfig, AllAlerts: c.AllAlerts, Revision: c.Revision,
		CreatedBy: c.CreatedBy, UpdatedBy: c.UpdatedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if err := json.Unmarshal(c.Settings, &out.Settings); err != nil {
		return out, fmt.Errorf("alerts: channel %s settings: %w", c.ID, err)
	}
	return out, nil
}

func (s *Service) checkChannel(ctx context.Context, orgID string, in *ChannelInput) error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 120 {
		return invalid("name", "a channel needs a name of at most 120 characters")
	}
	st := &in.Settings
	needSecret := false
	switch in.Kind {
	case KindEmail:
		if len(st.To) == 0 || len(st.To) > 50 {
			return invalid("settings.to", "an email channel needs 1 to 50 recipients")
		}
		for _, to := range st.To {
			if _, err := mail.ParseAddress(to); err != nil || strings.ContainsAny(to, "\r\n") {
				return invalid("settings.to", "%q is not an email address", to)
			}
		}
		if st.From != "" {
			if _, err := mail.ParseAddress(st.From); err != nil || strings.ContainsAny(st.From, "\r\n") {
				return invalid("settings.from", "%q is not an email address", st.From)
			}
		}
		if st.SMTPHost != "" {
			if st.SMTPPort <= 0 || st.SMTPPort > 65535 {
				return invalid("settings.smtpPort", "the SMTP port is 1 to 65535")
			}
			if st.TLS == "" {
				st.TLS = TLSStartTLS
			}
			if !slices.Contains([]string{TLSStartTLS, TLSImplicit, TLSNone}, st.TLS) {
				return invalid("settings.tls", "tls is starttls, tls or none")
			}
			if st.From == "" {
				return invalid("settings.from", "an email channel with its own relay needs a From address")
			}
		}
		st.URL = ""
	case KindSlack:
		needSecret = true
		*st = ChannelSettings{}
	case KindWebhook:
		needSecret = true
		u, err := url.Parse(st.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return invalid("settings.url", "the webhook URL is an http(s) URL without credentials (the signing key is the secret configuration)")
		}
		*st = ChannelSettings{URL: st.URL}
	default:
		return invalid("kind", "kind is email, slack or webhook")
	}
	if in.SecretConfig == "" {
		if needSecret {
			return invalid("secretConfig", "name the secret Extension Configuration holding the %s", map[string]string{KindSlack: "Slack incoming webhook URL", KindWebhook: "webhook signing key"}[in.Kind])
		}
		return nil
	}
	cfg, err := s.st.GetConfig(ctx, orgID, in.SecretConfig)
	if errors.Is(err, store.ErrNotFound) {
		return invalid("secretConfig", "no Extension Configuration %q in this organisation", in.SecretConfig)
	}
	if err != nil {
		return err
	}
	if !cfg.IsSecret {
		return invalid("secretConfig", "%q is not a secret Extension Configuration", in.SecretConfig)
	}
	return nil
}

// ListChannels lists the organisation's channels.
func (s *Service) ListChannels(ctx context.Context, a control.Actor) ([]Channel, error) {
	rows, err := s.st.ListAlertChannels(ctx, a.OrgID)
	if err != nil {
		return nil, err
	}
	out := make([]Channel, 0, len(rows))
	for _, r := range rows {
		c, err := toChannel(r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// GetChannel reads a channel.
func (s *Service) GetChannel(ctx context.Context, a control.Actor, id string) (Channel, error) {
	c, err := s.st.GetAlertChannel(ctx, a.OrgID, id)
	if err != nil {
		return Channel{}, err
	}
	return toChannel(c)
}

// CreateChannel creates a channel.
func (s *Service) CreateChannel(ctx context.Context, a control.Actor, in ChannelInput) (Channel, error) {
	if err := s.checkChannel(ctx, a.OrgID, &in); err != nil {
		return Channel{}, err
	}
	set, err := json.Marshal(in.Settings)
	if err != nil {
		return Channel{}, err
	}
	now := s.now()
	c := store.AlertChannel{ID: store.NewID("chn"), OrgID: a.OrgID, Name: in.Name, Kind: in.Kind, Settings: set, SecretConfig: in.SecretConfig,
		AllAlerts: in.AllAlerts, Revision: 1, CreatedBy: a.Username, UpdatedBy: a.Username, CreatedAt: now, UpdatedAt: now}
	err = s.st.Tx(ctx, func(q *store.Queries) error {
		if err := q.CreateAlertChannel(ctx, c); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return fmt.Errorf("%w: a channel named %q exists", store.ErrDuplicate, in.Name)
			}
			return err
		}
		return s.auditQ(ctx, q, a, "alert_channel.create", "alert_channel", c.ID, c)
	})
	if err != nil {
		return Channel{}, err
	}
	return toChannel(c)
}

// UpdateChannel replaces a channel's name, settings, secret and all-alerts
// flag (its kind is fixed).
func (s *Service) UpdateChannel(ctx context.Context, a control.Actor, id string, in ChannelInput) (Channel, error) {
	cur, err := s.st.GetAlertChannel(ctx, a.OrgID, id)
	if err != nil {
		return Channel{}, err
	}
	if in.Kind == "" {
		in.Kind = cur.Kind
	}
	if in.Kind != cur.Kind {
		return Channel{}, invalid("kind", "the kind of a channel cannot change")
	}
	if in.Revision == 0 {
		return Channel{}, invalid("revision", "give the revision you edited")
	}
	if err := s.checkChannel(ctx, a.OrgID, &in); err != nil {
		return Channel{}, err
	}
	if cur.Settings, err = json.Marshal(in.Settings); err != nil {
		return Channel{}, err
	}
	cur.Name, cur.SecretConfig, cur.AllAlerts, cur.Revision, cur.UpdatedBy, cur.UpdatedAt = in.Name, in.SecretConfig, in.AllAlerts, in.Revision, a.Username, s.now()
	err = s.st.Tx(ctx, func(q *store.Queries) error {
		if err := q.UpdateAlertChannel(ctx, &cur); err != nil {
			return err
		}
		return s.auditQ(ctx, q, a, "alert_channel.update", "alert_channel", cur.ID, cur)
	})
	if err != nil {
		return Channel{}, err
	}
	return toChannel(cur)
}

// DeleteChannel deletes a channel no rule or report names.
func (s *Service) DeleteChannel(ctx context.Context, a control.Actor, id string) error {
	rules, err := s.st.ListAlertRules(ctx, a.OrgID, false)
	if err != nil {
		return err
	}
	for _, r := range rules {
		v, err := toRule(r)
		if err != nil {
			return err
		}
		if slices.Contains(v.Channels, id) {
			return fmt.Errorf("%w: rule %q notifies this channel; remove it there first", store.ErrConflict, v.Name)
		}
	}
	reps, err := s.st.ListReportSchedules(ctx, a.OrgID)
	if err != nil {
		return err
	}
	for _, r := range reps {
		v, err := toReport(r)
		if err != nil {
			return err
		}
		if v.ChannelID == id {
			return fmt.Errorf("%w: report %q is sent through this channel", store.ErrConflict, v.Name)
		}
	}
	return s.st.Tx(ctx, func(q *store.Queries) error {
		if err := q.DeleteAlertChannel(ctx, a.OrgID, id); err != nil {
			return err
		}
		return s.auditQ(ctx, q, a, "alert_channel.delete", "alert_channel", id, nil)
	})
}

// ---- issues ----

// IssueView is an issue with its dataflow's name and how long the
// violation has lasted.
type IssueView struct {
	store.AlertIssue
	FlowName string `json:"flowName,omitempty"`
	// ViolationSeconds: from opening to closing (or now).
	ViolationSeconds int64 `json:"violationSeconds"`
}

func (s *Service) view(ctx context.Context, i store.AlertIssue) IssueView {
	v := IssueView{AlertIssue: i}
	if i.FlowID != "" {
		if f, err := s.st.GetDataflow(ctx, i.OrgID, i.FlowID); err == nil {
			v.FlowName = f.Name
		}
	}
	end := s.now()
	if i.ClosedAt != nil {
		end = *i.ClosedAt
	}
	v.ViolationSeconds = int64(end.Sub(i.OpenedAt) / time.Second)
	return v
}

// ListIssues lists issues, newest first.
func (s *Service) ListIssues(ctx context.Context, a control.Actor, f store.IssueFilter) ([]IssueView, error) {
	f.OrgID = a.OrgID
	rows, err := s.st.ListAlertIssues(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]IssueView, 0, len(rows))
	for _, i := range rows {
		out = append(out, s.view(ctx, i))
	}
	return out, nil
}

// GetIssue reads an issue.
func (s *Service) GetIssue(ctx context.Context, a control.Actor, id string) (IssueView, error) {
	i, err := s.st.GetAlertIssue(ctx, a.OrgID, id)
	if err != nil {
		return IssueView{}, err
	}
	return s.view(ctx, i), nil
}

// IssueNotifications lists the deliveries of an issue.
func (s *Service) IssueNotifications(ctx context.Context, a control.Actor, id string) ([]store.AlertNotification, error) {
	if _, err := s.st.GetAlertIssue(ctx, a.OrgID, id); err != nil {
		return nil, err
	}
	return s.st.ListAlertNotifications(ctx, a.OrgID, id, 200)
}

// Acknowledge moves an Active issue to Acknowledged, recording who.
func (s *Service) Acknowledge(ctx context.Context, a control.Actor, id string) (IssueView, error) {
	return s.transition(ctx, a, id, "acknowledged", func(i *store.AlertIssue, now time.Time) error {
		if i.Status != store.IssueActive {
			return fmt.Errorf("%w: the issue is %s", store.ErrConflict, i.Status)
		}
		i.Status, i.AcknowledgedBy, i.AcknowledgedAt = store.IssueAcknowledged, a.Username, &now
		return nil
	})
}

// Close closes an open issue by hand.
func (s *Service) Close(ctx context.Context, a control.Actor, id, reason string) (IssueView, error) {
	if len(reason) > 500 {
		return IssueView{}, invalid("reason", "the reason is at most 500 characters")
	}
	return s.transition(ctx, a, id, "closed", func(i *store.AlertIssue, now time.Time) error {
		if i.Status == store.IssueClosed {
			return fmt.Errorf("%w: the issue is already closed", store.ErrConflict)
		}
		if reason == "" {
			reason = "closed by " + a.Username
		}
		i.Status, i.ClosedBy, i.ClosedAt, i.CloseReason = store.IssueClosed, a.Username, &now, reason
		return nil
	})
}

func (s *Service) transition(ctx context.Context, a control.Actor, id, event string, change func(*store.AlertIssue, time.Time) error) (IssueView, error) {
	for range 3 {
		i, err := s.st.GetAlertIssue(ctx, a.OrgID, id)
		if err != nil {
			return IssueView{}, err
		}
		now := s.now()
		if err := change(&i, now); err != nil {
			return IssueView{}, err
		}
		err = s.st.Tx(ctx, func(q *store.Queries) error {
			if err := q.UpdateAlertIssue(ctx, &i); err != nil {
				return err
			}
			return s.auditQ(ctx, q, a, "alert_issue."+strings.TrimSuffix(event, "d"), "alert_issue", i.ID, map[string]string{"status": i.Status})
		})
		if errors.Is(err, store.ErrConflict) {
			continue // the evaluator updated it meanwhile
		}
		if err != nil {
			return IssueView{}, err
		}
		if r, err := s.st.GetAlertRule(ctx, i.OrgID, i.RuleID); err == nil {
			if rule, err := toRule(r); err == nil {
				s.notifyIssue(ctx, rule, &i, event, nil)
			}
		}
		return s.view(ctx, i), nil
	}
	return IssueView{}, fmt.Errorf("%w: the issue keeps changing; try again", store.ErrConflict)
}
