package httpwrite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
	"github.com/connectplus/connectplus/lang/jsonpath"
)

// http_read is the pull-from-API source (spec §2.4.18 Invoke-Neo-Iteratively,
// template §3.2.18 "Pull data from API"). Each scheduled run is one pull:
// it calls the API page after page until the pagination says the data ends
// (or the end condition holds), extracts the records of every page with a
// JSONPath, and hands them on as one JSON file (an array of the records),
// e.g. to json_to_csv_converter and s3_write. The HTTP machinery is
// http_write's: OAuth and the other auth types, the shared rate limiter,
// retries with backoff, and Retry-After on yielding codes.
//
// Durability. Everything a pull needs to continue lives in the block's
// state directory (Env.StateDir, one per dataflow and block, lasting as
// long as its checkpoints): the pull in progress (which page comes next,
// the cursor, the highest watermark seen) and each fetched page, written
// before the progress that names it. A process killed in the middle of
// the pagination resumes at the first page it had not stored; a pull that
// fails (the API down after every retry) is offered again on the next run
// and continues the same way. The watermark (e.g. the largest updatedAt
// seen) advances only when a pull completes, so a scheduled run fetches
// only what changed since the last complete one. In a cluster whose shared
// store is S3 the state directory is the node's own: the same state is kept
// as objects of the block's part of the store (Env.Objects, readstate.go),
// so a pull rescued on another node continues there and every node pulls
// from one watermark.

// Pagination types.
const (
	pageNone   = "none"
	pageNumber = "page"
	pageOffset = "offset"
	pageCursor = "cursor"
	pageLink   = "link"
)

// Attributes a pull sets on its file and offers to expressions.
const (
	AttrPullID        = "pull.id"
	AttrPullStarted   = "pull.started"
	AttrPullIteration = "pull.iteration"
	AttrPullPage      = "pull.page"
	AttrPullOffset    = "pull.offset"
	AttrPullLimit     = "pull.limit"
	AttrPullCursor    = "pull.cursor"
	AttrPullWatermark = "pull.watermark"
	AttrPullPages     = "pull.pages"
	AttrRecordCount   = "record.count"
	// AttrResponseRecords is the number of records on the page just
	// fetched, for the end condition; response.<field> attributes carry
	// the answer's scalar fields (nested objects joined with dots).
	AttrResponseRecords = "response.records"
	AttrResponseStatus  = "http.status.code"
)

// ReadSpec is http_read.
var ReadSpec = &block.Spec{
	Type: "http_read", Label: "Pull from API", Class: block.ClassSource, Category: "Source",
	LegacyTypes: []string{"neo_transformer_iteration", "invoke_neo_iteratively"},
	Description: "Pulls records from an HTTP API (a Neo dataflow at /x/neo/<name>, Capillary or a third party) on the dataflow's schedule: GET or POST, with http_write's authentication, rate limit and retries (Retry-After honoured). " +
		"Pagination by page number, offset/limit, a cursor read from each answer with a JSONPath, the Link header (rel=\"next\"), or none; an End Condition (NiFi EL over response.<field>, response.records and the pull.* attributes) can end any of them, and with pagination none repeats the call until it holds (Gen-1 \"API Iteration End Condition\"). " +
		"Records are selected from each answer with Records Path; the run's records leave as one JSON array file. Incremental pulls: the largest value of Incremental Field seen in a completed pull is sent as Incremental Parameter on the next one, so each run fetches only new data. " +
		"Progress is stored page by page in the dataflow's state: a run killed mid-pagination, or failed after its retries, continues at the next page it had not stored.",
	Input:  block.KindNone,
	Output: block.KindFile,
	Fields: []block.Field{
		fClientKey, fClientSecret,
		{Key: "apiEndPoint", Label: "API Endpoint", Type: block.TypeString, Required: true, SupportsExpressions: true,
			Aliases: []string{"Enter url", "enterUrl"}, Example: "/x/neo/customer_feedback",
			Description: "Path relative to the API Base URL (or a full URL), e.g. /x/neo/<neo_dataflow_name> or /v2/customers/feedback. NiFi expressions see the pull.* attributes (pull.page, pull.offset, pull.cursor, pull.watermark, pull.iteration). Query Parameters and the pagination parameters are appended."},
		{Key: "apiMethod", Label: "API Method", Type: block.TypeEnum, Required: true, Default: "GET", Enum: []string{"GET", "POST"},
			Aliases:     []string{"NEO API METHOD", "neoApiMethod"},
			Description: "GET, or POST with the Request Body (Neo's iteration API takes POST without body parameters)."},
		{Key: "queryParameters", Label: "Query Parameters", Type: block.TypeJSON, Lang: block.LangNiFiJSON,
			Example:     `{"source": "INSTORE", "status": "ACTIVE"}`,
			Description: "JSON object of query parameters sent on every page; string values may hold NiFi expressions over the pull.* attributes."},
		{Key: "requestBody", Label: "Request Body", Type: block.TypeJSON, Lang: block.LangNiFiJSON, Advanced: true,
			Description: "JSON object sent as the POST body; string values may hold NiFi expressions. With Pagination Parameters In = body the paging parameters are added to it."},
		{Key: "paginationType", Label: "Pagination", Type: block.TypeEnum, Default: pageNone, Enum: []string{pageNone, pageNumber, pageOffset, pageCursor, pageLink},
			Description: "none: one call (repeated while the End Condition is false, when one is set); page: page number and size parameters; offset: offset and limit; cursor: the next cursor read from each answer with Cursor Path; link: follow the Link header's rel=\"next\" URL. page and offset end at a page with fewer records than Page Size, cursor at an answer without a cursor, link without a next link."},
		{Key: "pageSize", Label: "Page Size", Type: block.TypeInt, Default: "100", Min: block.Bound(1), Max: block.Bound(100000),
			Description: "Records asked for per page (the size / limit parameter)."},
		{Key: "pageParam", Label: "Page Parameter", Type: block.TypeString, Default: "page", Advanced: true},
		{Key: "pageStart", Label: "First Page", Type: block.TypeInt, Default: "1", Min: block.Bound(0), Advanced: true,
			Description: "Number of the first page: 1 for most APIs, 0 for zero-based ones."},
		{Key: "pageSizeParam", Label: "Page Size Parameter", Type: block.TypeString, Default: "size", Advanced: true,
			Description: "Parameter carrying Page Size for page pagination (and for link pagination's first call); empty: not sent."},
		{Key: "offsetParam", Label: "Offset Parameter", Type: block.TypeString, Default: "offset", Advanced: true},
		{Key: "limitParam", Label: "Limit Parameter", Type: block.TypeString, Default: "limit", Advanced: true,
			Description: "Parameter carrying Page Size for offset and cursor pagination; empty: not sent."},
		{Key: "cursorPath", Label: "Cursor Path", Type: block.TypeString, Example: "$.meta.nextCursor",
			Description: "JSONPath to the next cursor in each answer (cursor pagination); a missing, null or empty cursor ends the pull."},
		{Key: "cursorParam", Label: "Cursor Parameter", Type: block.TypeString, Default: "cursor", Advanced: true},
		{Key: "paramsIn", Label: "Pagination Parameters In", Type: block.TypeEnum, Default: "query", Enum: []string{"query", "body"}, Advanced: true,
			Description: "Where page/offset/limit/cursor and the incremental parameter go: the query string, or the POST body."},
		{Key: "recordsPath", Label: "Records Path", Type: block.TypeString, Default: "$",
			Example:     "$.data[*]",
			Description: "JSONPath selecting the records of an answer, e.g. $.data[*] or $.response.customers.*. $ over an array answer takes its elements; over an object, the object itself."},
		{Key: "splitResponse", Label: "Split Response", Type: block.TypeBool, Default: "true", Aliases: []string{"Split Response"},
			Description: "true: every element Records Path selects is a record; false: the selection of each answer is one record."},
		{Key: "endCondition", Label: "API Iteration End Condition", Type: block.TypeString, Lang: block.LangNiFiCondition,
			Aliases: []string{"API Iteration End Condition", "apiIterationEndCondition"}, Example: "${response.hasMore:equals('false')}",
			Description: "NiFi EL condition evaluated after each answer; true ends the pull (that answer's records included). It sees response.<field> (the answer's scalar fields, nested with dots: response.meta.total), response.records (records on this page), http.status.code and pull.*."},
		{Key: "maxPages", Label: "Max Pages", Type: block.TypeInt, Default: "10000", Min: block.Bound(1), Advanced: true,
			Description: "Upper bound of calls per pull; reaching it fails the pull (its watermark does not advance) rather than truncating silently."},
		{Key: "incrementalField", Label: "Incremental Field", Type: block.TypeString, Example: "$.updatedAt",
			Description: "JSONPath into each record whose largest value (numbers numerically, RFC 3339 times by time, else text) becomes the watermark once the pull completes."},
		{Key: "incrementalParam", Label: "Incremental Parameter", Type: block.TypeString, Example: "updatedSince",
			Description: "Parameter carrying the watermark of the last completed pull, e.g. updatedSince; not sent while there is no watermark."},
		{Key: "initialWatermark", Label: "Initial Watermark", Type: block.TypeString, Example: "2026-01-01T00:00:00Z",
			Description: "Watermark of the very first pull (empty: the first pull fetches everything)."},
		{Key: "outputFileName", Label: "Output Filename", Type: block.TypeString, Default: "api_pull_${pull.started}.json", SupportsExpressions: true,
			Description: "Name of the JSON file a pull produces (the filename attribute downstream); NiFi EL over pull.id and pull.started (yyyyMMddHHmmss)."},
		fAPIBaseURL, fOAuthBaseURL,
		withAlias(fMaxRetries, "Max retries"), fRecoverable, fYielding, fAdditionalHeaders, fRate, fPeriod, fTimeUnit,
		fConnectTimeout, fResponseTimeout, withDefault(fAuthType, "oauth"), fBearerToken,
		fYieldRetries, fRetryBackoff, fMaxRetryBackoff,
	},
	Check: checkRead,
	New:   newReader,
}

func withAlias(f block.Field, aliases ...string) block.Field {
	f.Aliases = append(append([]string(nil), f.Aliases...), aliases...)
	return f
}

func withDefault(f block.Field, def string) block.Field {
	f.Default = def
	return f
}

func checkRead(c *block.Config) []block.Problem {
	probs := checkAuth(c)
	typ := c.String("paginationType")
	if typ == pageCursor && strings.TrimSpace(c.String("cursorPath")) == "" {
		probs = append(probs, block.Problem{Path: "cursorPath", Message: "cursor pagination needs a Cursor Path (e.g. $.meta.nextCursor)"})
	}
	for _, k := range []string{"recordsPath", "cursorPath", "incrementalField"} {
		if v := strings.TrimSpace(c.String(k)); v != "" {
			if _, err := jsonpath.CompileMulti(v); err != nil {
				probs = append(probs, block.Problem{Path: k, Message: err.Error()})
			}
		}
	}
	if (c.String("incrementalField") == "") != (c.String("incrementalParam") == "") {
		probs = append(probs, block.Problem{Path: "incrementalParam", Message: "Incremental Field and Incremental Parameter go together: the watermark read from the one is sent as the other"})
	}
	if c.String("paramsIn") == "body" && c.String("apiMethod") != http.MethodPost {
		probs = append(probs, block.Problem{Path: "paramsIn", Message: "pagination parameters in the body need API Method POST"})
	}
	return probs
}

// readConfig is http_read's parsed configuration beyond the HTTP settings.
type readConfig struct {
	pagination    string
	pageSize      int
	pageParam     string
	pageStart     int
	pageSizeParam string
	offsetParam   string
	limitParam    string
	cursorParam   string
	cursorPath    *jsonpath.Path
	inBody        bool
	records       *jsonpath.Path
	recordsRoot   bool
	split         bool
	end           block.Expr
	maxPages      int
	incField      *jsonpath.Path
	incParam      string
	initial       string
	query         []param
	body          []param
	fileName      *block.Template
}

// param is one query parameter or body member: a compiled string value,
// or a constant JSON value.
type param struct {
	name  string
	expr  block.Expr
	value any
}

func compileParams(c *block.Config, key string) ([]param, error) {
	src := strings.TrimSpace(c.String(key))
	if src == "" || src == "null" {
		return nil, nil
	}
	v, err := jsonv.ParseString(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	o, ok := v.(*jsonv.Object)
	if !ok {
		return nil, fmt.Errorf("%s must be a JSON object", key)
	}
	exprs, _ := c.Compiled(key).(map[string]block.Expr)
	out := make([]param, 0, o.Len())
	for _, m := range o.Members {
		p := param{name: m.Key, value: m.Value}
		if _, isStr := m.Value.(string); isStr {
			x, ok := exprs[m.Key]
			if !ok {
				return nil, fmt.Errorf("%s: %q was not compiled (build blocks from Spec.CompileConfig)", key, m.Key)
			}
			p.expr = x
		}
		out = append(out, p)
	}
	return out, nil
}

func (p param) eval(attrs block.Attributes) (any, error) {
	if p.expr == nil {
		return p.value, nil
	}
	s, err := p.expr.EvalString(attrs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.name, err)
	}
	return s, nil
}

// reader is an http_read instance.
type reader struct {
	name  string
	s     *settings
	d     *destination
	rc    readConfig
	env   *block.Env
	state *pullStore
	mu    sync.Mutex // List, Open and Finish of one instance never overlap
}

func newReader(c *block.Config, env *block.Env) (block.Block, error) {
	s := &settings{typ: "http_read"}
	var errs []error
	s.method = c.String("apiMethod")
	s.sendBody = s.method == http.MethodPost
	var err error
	if s.recoverable, err = parseCodes("recoverableErrorCodes", c.List("recoverableErrorCodes")); err != nil {
		errs = append(errs, err)
	}
	if s.yielding, err = parseCodes("yieldingErrorCodes", c.List("yieldingErrorCodes")); err != nil {
		errs = append(errs, err)
	}
	s.maxRetries = c.Int("maxRetries", 3)
	errs = append(errs, s.tuning(c, "connectTimeout", "responseTimeout"), s.authFrom(c, env, c.String("authType")))
	s.concurrency = 1 // one pull calls one page at a time
	s.perSecond = perSecond(c.Int("rate", 1000), c.Int("period", 1), c.String("timeUnit"))
	base := resolvePlaceholders(c.String("apiBaseUrl"), env)
	oauth := resolvePlaceholders(c.String("oAuthBaseUrl"), env)
	if env.Sandbox != "" {
		base, oauth = env.Sandbox, env.Sandbox
	}
	errs = append(errs, checkBaseURL("apiBaseUrl", base))
	if s.auth == authOAuth {
		errs = append(errs, checkBaseURL("oAuthBaseUrl", oauth))
	}
	s.tokenURL = tokenURLFor(oauth)
	s.sandbox = env.Sandbox
	errs = append(errs, s.templates(c, env, base, "apiEndPoint"))

	rc := readConfig{
		pagination: c.String("paginationType"), pageSize: c.Int("pageSize", 100), pageParam: c.String("pageParam"),
		pageStart: c.Int("pageStart", 1), pageSizeParam: c.String("pageSizeParam"), offsetParam: c.String("offsetParam"),
		limitParam: c.String("limitParam"), cursorParam: c.String("cursorParam"), inBody: c.String("paramsIn") == "body",
		split: c.Bool("splitResponse"), maxPages: c.Int("maxPages", 10000), incParam: c.String("incrementalParam"),
		initial: c.String("initialWatermark"),
	}
	recPath := strings.TrimSpace(c.String("recordsPath"))
	if recPath == "" {
		recPath = "$"
	}
	rc.recordsRoot = recPath == "$"
	if rc.records, err = jsonpath.CompileMulti(recPath); err != nil {
		errs = append(errs, fmt.Errorf("recordsPath: %w", err))
	}
	if p := strings.TrimSpace(c.String("cursorPath")); p != "" {
		if rc.cursorPath, err = jsonpath.CompileMulti(p); err != nil {
			errs = append(errs, fmt.Errorf("cursorPath: %w", err))
		}
	}
	if p := strings.TrimSpace(c.String("incrementalField")); p != "" {
		if rc.incField, err = jsonpath.CompileMulti(p); err != nil {
			errs = append(errs, fmt.Errorf("incrementalField: %w", err))
		}
	}
	if c.Has("endCondition") && strings.TrimSpace(c.String("endCondition")) != "" {
		if rc.end, err = c.Expr("endCondition"); err != nil {
			errs = append(errs, err)
		}
	}
	if rc.query, err = compileParams(c, "queryParameters"); err != nil {
		errs = append(errs, err)
	}
	if rc.body, err = compileParams(c, "requestBody"); err != nil {
		errs = append(errs, err)
	}
	if rc.fileName, err = env.CompileTemplate(c.String("outputFileName")); err != nil {
		errs = append(errs, fmt.Errorf("outputFileName: %w", err))
	}
	dir := env.StateDir
	if dir == "" {
		dir = env.WorkDir
	}
	if dir == "" {
		errs = append(errs, errors.New("http_read needs a state directory to keep its progress and watermark"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &reader{name: env.Block, s: s, d: newDestination(s, env.Log(), env.Clock, env.Fence), rc: rc, env: env, state: &pullStore{dir: dir, obj: env.Objects}}, nil
}

// Close releases idle connections.
func (r *reader) Close() error {
	r.d.close()
	return nil
}

func (r *reader) item(p *pull) block.Item {
	return block.Item{
		Key:     "http_read/" + r.name + "/pull-" + strconv.FormatInt(p.ID, 10) + "-" + strconv.Itoa(p.Attempt),
		Name:    p.Name,
		Size:    0,
		ModTime: p.Started,
	}
}

// List offers the pull in progress, or starts the next one: each poll of
// the schedule is one pull.
func (r *reader) List(ctx context.Context) ([]block.Item, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.state.current()
	if err != nil {
		return nil, err
	}
	if p == nil {
		wm, err := r.state.watermark()
		if err != nil {
			return nil, err
		}
		p = &pull{ID: wm.LastPull + 1, Started: r.env.Clock().UTC().Truncate(time.Second), Watermark: wm.Value}
		if !wm.Set {
			p.Watermark = r.rc.initial
		}
		p.Page = int64(r.rc.pageStart)
		attrs := block.Attributes{AttrPullID: strconv.FormatInt(p.ID, 10), AttrPullStarted: p.Started.Format("20060102150405")}
		if p.Name, err = r.rc.fileName.Eval(attrs); err != nil {
			return nil, fmt.Errorf("outputFileName: %w", err)
		}
		if p.Name == "" {
			p.Name = "api_pull_" + attrs[AttrPullStarted] + ".json"
		}
		if err := r.state.saveCurrent(p); err != nil {
			return nil, err
		}
	}
	return []block.Item{r.item(p)}, nil
}

// Open fetches the pages the pull has not stored yet and returns the
// pull's records as one JSON array file.
func (r *reader) Open(ctx context.Context, it block.Item) (*block.Unit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.state.current()
	if err != nil {
		return nil, err
	}
	if p == nil || r.item(p).Key != it.Key {
		return nil, fmt.Errorf("pull %s is no longer in progress", it.Key)
	}
	for !p.Done {
		if err := r.fetchPage(ctx, p); err != nil {
			return nil, err
		}
	}
	attrs := block.Attributes{
		block.AttrFilename: p.Name, block.AttrMimeType: "application/json",
		AttrPullID: strconv.FormatInt(p.ID, 10), AttrPullStarted: p.Started.Format("20060102150405"),
		AttrPullPages: strconv.Itoa(p.Pages), AttrRecordCount: strconv.FormatInt(p.Records, 10),
		AttrPullWatermark: p.Watermark,
	}
	f := block.NewFile(p.Name, -1, func(context.Context) (io.ReadCloser, error) { return r.state.open(p) })
	f.ModTime = p.Started
	return &block.Unit{Attrs: attrs, File: f}, nil
}

// Finish advances the watermark when the pull completed; a failed pull
// stays in progress for the next run (as a new attempt), keeping its pages.
func (r *reader) Finish(ctx context.Context, it block.Item, c *block.Completion) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.state.current()
	if err != nil || p == nil || r.item(p).Key != it.Key {
		return err
	}
	if c != nil && c.Err != nil {
		p.Attempt++
		r.env.Log().Warn("pull failed; the next run continues it", "pull", p.ID, "pages", p.Pages, "err", c.Err)
		return r.state.saveCurrent(p)
	}
	wm := watermark{Value: p.Watermark, Set: p.Watermark != "", LastPull: p.ID}
	if p.MaxSeen != "" {
		wm.Value, wm.Set = p.MaxSeen, true
	}
	if err := r.state.saveWatermark(wm); err != nil {
		return err
	}
	return r.state.finish(p)
}

// attrs are the pull.* attributes of the next call.
func (r *reader) attrs(p *pull) block.Attributes {
	return block.Attributes{
		AttrPullID: strconv.FormatInt(p.ID, 10), AttrPullStarted: p.Started.Format("20060102150405"),
		AttrPullIteration: strconv.Itoa(p.Pages + 1), AttrPullPage: strconv.FormatInt(p.Page, 10),
		AttrPullOffset: strconv.FormatInt(p.Offset, 10), AttrPullLimit: strconv.Itoa(r.rc.pageSize),
		AttrPullCursor: p.Cursor, AttrPullWatermark: p.Watermark,
	}
}

// pagingParams are the parameters the pagination type adds to a call.
func (r *reader) pagingParams(p *pull) [][2]string {
	var out [][2]string
	add := func(k, v string) {
		if k != "" {
			out = append(out, [2]string{k, v})
		}
	}
	size := strconv.Itoa(r.rc.pageSize)
	switch r.rc.pagination {
	case pageNumber:
		add(r.rc.pageParam, strconv.FormatInt(p.Page, 10))
		add(r.rc.pageSizeParam, size)
	case pageOffset:
		add(r.rc.offsetParam, strconv.FormatInt(p.Offset, 10))
		add(r.rc.limitParam, size)
	case pageCursor:
		if p.Cursor != "" {
			add(r.rc.cursorParam, p.Cursor)
		}
		add(r.rc.limitParam, size)
	case pageLink:
		if p.Pages == 0 {
			add(r.rc.pageSizeParam, size)
		}
	}
	if r.rc.incParam != "" && p.Watermark != "" {
		add(r.rc.incParam, p.Watermark)
	}
	return out
}

// buildRequest builds the next call of p.
func (r *reader) buildRequest(p *pull) (*request, error) {
	attrs := r.attrs(p)
	var target string
	paging := r.pagingParams(p)
	if r.rc.pagination == pageLink && p.NextURL != "" {
		// The server's next link already carries every parameter.
		target = p.NextURL
		paging = nil
	} else {
		u, err := r.s.endpoint.eval(attrs)
		if err != nil {
			return nil, fmt.Errorf("apiEndPoint: %w", err)
		}
		var q [][2]string
		for _, prm := range r.rc.query {
			v, err := prm.eval(attrs)
			if err != nil {
				return nil, fmt.Errorf("queryParameters.%w", err)
			}
			q = append(q, [2]string{prm.name, block.ScalarString(v)})
		}
		if !r.rc.inBody {
			q = append(q, paging...)
		}
		target = withQuery(u, q)
	}
	if r.s.sandbox != "" {
		rebased, err := rebase(target, r.s.sandbox)
		if err != nil {
			return nil, err
		}
		target = rebased
	}
	req := &request{method: r.s.method, url: target, header: http.Header{"Accept": {"application/json"}},
		id: "pull-" + strconv.FormatInt(p.ID, 10) + "-" + strconv.Itoa(p.Pages+1)}
	for _, h := range r.s.headers {
		v, err := h.value.eval(attrs, nil)
		if err != nil {
			return nil, fmt.Errorf("additionalHeaders %q: %w", h.name, err)
		}
		if validHeaderValue(v) {
			req.header[h.name] = []string{v}
		}
	}
	req.header.Set(RequestIDHeader, req.id)
	if r.s.sendBody {
		body := jsonv.NewObject(len(r.rc.body) + len(paging))
		for _, prm := range r.rc.body {
			v, err := prm.eval(attrs)
			if err != nil {
				return nil, fmt.Errorf("requestBody.%w", err)
			}
			body.Set(prm.name, v)
		}
		if r.rc.inBody {
			for _, kv := range paging {
				body.Set(kv[0], kv[1])
			}
		}
		req.body = jsonv.Marshal(body)
		req.header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// withQuery appends parameters to a URL, replacing ones of the same name.
func withQuery(raw string, params [][2]string) string {
	if len(params) == 0 {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	for _, kv := range params {
		q.Set(kv[0], kv[1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// fetchPage calls the API once, stores the page's records, then the
// progress that includes them.
func (r *reader) fetchPage(ctx context.Context, p *pull) error {
	if p.Pages >= r.rc.maxPages {
		return fmt.Errorf("the pull reached Max Pages (%d) before the data ended: raise maxPages or check the pagination settings", r.rc.maxPages)
	}
	req, err := r.buildRequest(p)
	if err != nil {
		return err
	}
	res, err := r.d.send(ctx, req)
	defer res.release()
	if err != nil {
		return err
	}
	if res.err != nil {
		return fmt.Errorf("page %d: %w", p.Pages+1, res.err)
	}
	if res.status/100 != 2 {
		msg := shortBody(res.bytes(), res.status)
		if res.exhausted {
			msg += " (after " + strconv.Itoa(res.attempts) + " attempts)"
		}
		return fmt.Errorf("page %d: %s", p.Pages+1, msg)
	}
	var answer any
	if b := res.bytes(); len(strings.TrimSpace(string(b))) > 0 {
		if answer, err = jsonv.Parse(b); err != nil {
			return fmt.Errorf("page %d: the answer is not JSON: %w", p.Pages+1, err)
		}
	}
	recs := r.records(answer)
	count := len(recs)
	if !r.rc.split && count > 0 {
		if count == 1 {
			recs = []any{recs[0]}
		} else {
			recs = []any{recs}
		}
	}
	lines := make([][]byte, len(recs))
	for i, rec := range recs {
		lines[i] = jsonv.Marshal(rec)
		if r.rc.incField != nil {
			if v, ok := r.rc.incField.First(rec); ok && v != nil {
				if s := block.ScalarString(v); s != "" && laterWatermark(s, p.MaxSeen) {
					p.MaxSeen = s
				}
			}
		}
	}
	next := *p
	next.LastURL = req.url
	next.Pages++
	next.Records += int64(len(recs))
	next.Page++
	next.Offset += int64(r.rc.pageSize)
	done, err := r.ended(&next, answer, count, res)
	if err != nil {
		return err
	}
	next.Done = done
	if err := r.state.savePage(p, next.Pages, lines); err != nil {
		return err
	}
	if err := r.state.saveCurrent(&next); err != nil {
		return err
	}
	*p = next
	return nil
}

// ended decides whether the answer just fetched was the last one, and
// moves the cursor or next link of p.
func (r *reader) ended(p *pull, answer any, count int, res result) (bool, error) {
	if r.rc.end != nil {
		attrs := r.attrs(p)
		attrs[AttrResponseRecords] = strconv.Itoa(count)
		attrs[AttrResponseStatus] = strconv.Itoa(res.status)
		flatten(attrs, "response", answer, 0)
		stop, err := r.rc.end.EvalBool(attrs)
		if err != nil {
			return false, fmt.Errorf("endCondition: %w", err)
		}
		if stop {
			return true, nil
		}
	}
	switch r.rc.pagination {
	case pageNone:
		return r.rc.end == nil, nil
	case pageNumber, pageOffset:
		return count < r.rc.pageSize, nil
	case pageCursor:
		p.Cursor = ""
		if v, ok := r.rc.cursorPath.First(answer); ok && v != nil {
			p.Cursor = block.ScalarString(v)
		}
		return p.Cursor == "", nil
	case pageLink:
		p.NextURL = nextLink(res.header, p.LastURL)
		return p.NextURL == "", nil
	}
	return true, nil
}

// records applies Records Path: $ over an array answer selects its elements.
func (r *reader) records(answer any) []any {
	if answer == nil {
		return nil
	}
	if r.rc.recordsRoot {
		if arr, ok := answer.([]any); ok {
			return arr
		}
		return []any{answer}
	}
	return r.rc.records.Query(answer)
}

// flatten sets prefix.key attributes for the scalar fields of v (objects
// nested up to a few levels; arrays give their length as prefix.key.length).
func flatten(attrs block.Attributes, prefix string, v any, depth int) {
	switch x := v.(type) {
	case *jsonv.Object:
		if depth > 4 {
			return
		}
		for _, m := range x.Members {
			flatten(attrs, prefix+"."+m.Key, m.Value, depth+1)
		}
	case []any:
		attrs[prefix+".length"] = strconv.Itoa(len(x))
	case nil:
		if depth > 0 {
			attrs[prefix] = "null"
		}
	default:
		attrs[prefix] = block.ScalarString(x)
	}
}

// nextLink returns the rel="next" target of a Link header, resolved
// against the URL that was called.
func nextLink(h http.Header, base string) string {
	for _, v := range h.Values("Link") {
		for _, part := range splitLinks(v) {
			target, params, ok := strings.Cut(part, ";")
			if !ok {
				continue
			}
			target = strings.TrimSpace(target)
			if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for _, prm := range strings.Split(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(prm), "=")
				if !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(val), `"`)) {
					if strings.EqualFold(rel, "next") {
						return resolveRef(base, target[1:len(target)-1])
					}
				}
			}
		}
	}
	return ""
}

// splitLinks splits a Link header at the commas between links (not those
// inside <…>).
func splitLinks(v string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '<':
			depth++
		case '>':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

func resolveRef(base, ref string) string {
	b, err := url.Parse(base)
	if err != nil {
		return ref
	}
	u, err := b.Parse(ref)
	if err != nil {
		return ref
	}
	return u.String()
}

// laterWatermark reports whether a is later than b: numbers compare
// numerically, RFC 3339 times as times, anything else as text.
func laterWatermark(a, b string) bool {
	if b == "" {
		return true
	}
	if x, err := strconv.ParseFloat(a, 64); err == nil {
		if y, err := strconv.ParseFloat(b, 64); err == nil {
			return x > y
		}
	}
	if x, err := time.Parse(time.RFC3339Nano, a); err == nil {
		if y, err := time.Parse(time.RFC3339Nano, b); err == nil {
			return x.After(y)
		}
	}
	return a > b
}
