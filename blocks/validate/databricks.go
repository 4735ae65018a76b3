package validate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/connectplus/connectplus/block"
)

// Databricks Jobs API 2.1, the part these blocks use:
//
//	POST {base}/run-now        {"job_id": 123, "notebook_params": {...}} or {"job_id": 123, "job_parameters": {...}}
//	                           → {"run_id": 456, "number_in_job": 7}
//	GET  {base}/runs/get?run_id=456
//	                           → {"run_id": 456, "run_page_url": "…",
//	                              "state": {"life_cycle_state": "RUNNING", "result_state": "SUCCESS", "state_message": "…"}}
//
// with base = https://<host>/api/2.1/jobs and "Authorization: Bearer <token>".
// A run has finished when life_cycle_state is TERMINATED, SKIPPED or
// INTERNAL_ERROR; it succeeded when it is TERMINATED with result_state
// SUCCESS. Errors are {"error_code": "…", "message": "…"}.

// Attributes set on units that passed a Databricks job.
const (
	AttrRunID       = "databricks.run.id"
	AttrRunURL      = "databricks.run.page.url"
	AttrResultState = "databricks.result.state"
	AttrInputTable  = "databricks.input.table"
	AttrOutputTable = "databricks.output.table"
)

// DefaultPollInterval is how often a run's state is checked: "every minute"
// (spec §2.4.14).
const DefaultPollInterval = time.Minute

// sandboxPollInterval bounds the status-check interval under a sandbox.
const sandboxPollInterval = 20 * time.Millisecond

type runState struct {
	LifeCycle string `json:"life_cycle_state"`
	Result    string `json:"result_state"`
	Message   string `json:"state_message"`
}

type runInfo struct {
	RunID      int64    `json:"run_id"`
	RunPageURL string   `json:"run_page_url"`
	State      runState `json:"state"`
}

type jobsClient struct {
	base     string // …/api/2.1/jobs
	token    string
	http     *http.Client
	interval time.Duration
	maxPolls int
	jobParam bool // send job_parameters instead of notebook_params
}

// jobsBase turns the configured URL into the jobs API base: the documented
// form https://host/api/2.1/jobs is used as is; a bare host gets the path.
func jobsBase(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("the Databricks URL is empty")
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("invalid Databricks URL %q", raw)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", fmt.Errorf("the Databricks URL must be http(s), got %q", raw)
	}
	p := strings.TrimRight(u.Path, "/")
	if p == "" {
		p = "/api/2.1/jobs"
	}
	u.Path, u.RawQuery, u.Fragment = p, "", ""
	return u.String(), nil
}

type apiError struct {
	Status int
	Code   string `json:"error_code"`
	Msg    string `json:"message"`
}

func (e *apiError) Error() string {
	if e.Code != "" || e.Msg != "" {
		return fmt.Sprintf("Databricks API: HTTP %d %s: %s", e.Status, e.Code, e.Msg)
	}
	return fmt.Sprintf("Databricks API: HTTP %d", e.Status)
}

func (c *jobsClient) call(ctx context.Context, method, path string, body any, dst any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("Databricks API %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("Databricks API %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &apiError{Status: resp.StatusCode}
		_ = json.Unmarshal(b, e)
		return e
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("Databricks API %s %s: unreadable response: %w", method, path, err)
	}
	return nil
}

// transient reports errors worth another status check.
func transient(err error) bool {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status == http.StatusTooManyRequests || ae.Status >= 500
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// runAndWait triggers the job and checks its state every interval, at most
// maxPolls times.
func (c *jobsClient) runAndWait(ctx context.Context, jobID int64, params map[string]string) (runInfo, error) {
	body := map[string]any{"job_id": jobID}
	if len(params) > 0 {
		if c.jobParam {
			body["job_parameters"] = params
		} else {
			body["notebook_params"] = params
		}
	}
	var started struct {
		RunID int64 `json:"run_id"`
	}
	if err := c.call(ctx, http.MethodPost, "/run-now", body, &started); err != nil {
		return runInfo{}, fmt.Errorf("trigger job %d: %w", jobID, err)
	}
	if started.RunID == 0 {
		return runInfo{}, fmt.Errorf("trigger job %d: the response has no run_id", jobID)
	}
	var last runInfo
	var lastErr error
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for poll := 1; poll <= c.maxPolls; poll++ {
		t.Reset(c.interval)
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-t.C:
		}
		var ri runInfo
		if err := c.call(ctx, http.MethodGet, "/runs/get?run_id="+strconv.FormatInt(started.RunID, 10), nil, &ri); err != nil {
			if !transient(err) {
				return last, fmt.Errorf("job %d run %d: %w", jobID, started.RunID, err)
			}
			lastErr = err
			continue
		}
		ri.RunID = started.RunID
		last = ri
		switch ri.State.LifeCycle {
		case "TERMINATED":
			if ri.State.Result == "SUCCESS" {
				return ri, nil
			}
			return ri, fmt.Errorf("job %d run %d finished with %s: %s", jobID, ri.RunID, ri.State.Result, ri.State.Message)
		case "SKIPPED", "INTERNAL_ERROR":
			return ri, fmt.Errorf("job %d run %d ended %s: %s", jobID, ri.RunID, ri.State.LifeCycle, ri.State.Message)
		}
	}
	if last.State.LifeCycle == "" && lastErr != nil {
		return last, fmt.Errorf("job %d run %d: status unknown after %d checks: %w", jobID, started.RunID, c.maxPolls, lastErr)
	}
	return last, fmt.Errorf("job %d run %d still %s after %d status checks every %s: the file is left unprocessed", jobID, started.RunID, last.State.LifeCycle, c.maxPolls, c.interval)
}

func setRunAttrs(u *block.Unit, ri runInfo) {
	u.Attrs[AttrRunID] = strconv.FormatInt(ri.RunID, 10)
	u.Attrs[AttrResultState] = ri.State.Result
	if ri.RunPageURL != "" {
		u.Attrs[AttrRunURL] = ri.RunPageURL
	}
}

func parseJobID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("the Databricks job ID must be a positive integer, got %q", s)
	}
	return id, nil
}

func newJobsClient(c *block.Config, env *block.Env, urlKey, tokenKey string) (*jobsClient, error) {
	base, err := jobsBase(c.String(urlKey))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", urlKey, err)
	}
	interval := c.Duration("pollInterval", DefaultPollInterval)
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	if env != nil && env.Sandbox != "" {
		// Under a sandbox (connectplus run --sandbox, template sample
		// runs) the jobs API is the sandbox's, whose runs end at once: the
		// real host is never called and nobody waits a minute per check.
		u, _ := url.Parse(base)
		base = strings.TrimRight(env.Sandbox, "/") + u.Path
		interval = min(interval, sandboxPollInterval)
	}
	return &jobsClient{
		base: base, token: c.String(tokenKey), interval: interval,
		maxPolls: max(c.Int("maxRetries", 10), 1),
		http:     &http.Client{Timeout: 60 * time.Second},
		jobParam: c.String("parameterStyle") == "job_parameters",
	}, nil
}

var commonDatabricksFields = []block.Field{
	{Key: "pollInterval", Label: "Status Check Interval", Type: block.TypeString, Default: "1m", Advanced: true,
		Description: "How often the run's state is checked (Go duration); Connect+ checks every minute."},
	{Key: "parameterStyle", Label: "Parameter Style", Type: block.TypeEnum, Default: "notebook_params", Enum: []string{"notebook_params", "job_parameters"}, Advanced: true,
		Description: "How parameters are passed to run-now: notebook_params (notebook widgets) or job_parameters (job-level parameters)."},
	{Key: "jobParameters", Label: "Job Parameters", Type: block.TypeJSON, Advanced: true, Lang: block.LangNiFiJSON,
		Description: "Extra parameters as a JSON object of strings; values may use NiFi Expression Language over the unit's attributes, e.g. {\"file\": \"${filename}\"}."},
}

// compileParams compiles the jobParameters templates.
func compileParams(c *block.Config, env *block.Env) (map[string]*block.Template, error) {
	raw := map[string]string{}
	if err := c.JSON("jobParameters", &raw); err != nil {
		return nil, err
	}
	out := map[string]*block.Template{}
	for k, v := range raw {
		t, err := env.CompileTemplate(v)
		if err != nil {
			return nil, fmt.Errorf("jobParameters %q: %w", k, err)
		}
		out[k] = t
	}
	return out, nil
}

func evalParams(ts map[string]*block.Template, attrs block.Attributes, into map[string]string) error {
	for k, t := range ts {
		v, err := t.Eval(attrs)
		if err != nil {
			return fmt.Errorf("jobParameters %q: %w", k, err)
		}
		into[k] = v
	}
	return nil
}

// JobsSpec is databricks_job_trigger_and_status_check.
var JobsSpec = &block.Spec{
	Type: "databricks_job_trigger_and_status_check", Label: "Databricks (Jobs)", Class: block.ClassExecutor, Category: "Data Management",
	Deprecated: true, LegacyTypes: []string{"databricks_job_trigger_and_status"},
	Description: "Triggers an existing Databricks job for each unit (POST /api/2.1/jobs/run-now) and waits for it, checking the run every minute " +
		"(GET /api/2.1/jobs/runs/get) up to maxRetries times. The unit continues on success when the run is TERMINATED with result SUCCESS; " +
		"otherwise it fails (a file goes to the error location, unprocessed). Units wait for the previous run (one at a time). " +
		"The job receives filename and processedFilesPath as parameters.",
	Input: block.KindAny, Output: block.KindAny, Concurrency: 1,
	Fields: append([]block.Field{
		{Key: "jobId", Label: "Databricks Job ID", Type: block.TypeString, Required: true, FromConfigs: true,
			Description: "ID of the Databricks job to trigger."},
		{Key: "maxRetries", Label: "Max Retries", Type: block.TypeInt, Required: true, Default: "10", Min: block.Bound(1),
			Description: "How many status checks (one a minute) before the run is given up and the file left unprocessed."},
		{Key: "dataBricksProcessedFilesPath", Label: "Processed Files Path", Type: block.TypeString, Required: true,
			Description: "Where the job writes its output files, e.g. /processed/output/; passed to the job as processedFilesPath."},
		{Key: "dataBricksToken", Label: "Databricks Token", Type: block.TypeString, Required: true, Secret: true, FromConfigs: true,
			Description: "Personal access token (an Extension Configuration marked secret)."},
		{Key: "dataBricksUrl", Label: "Databricks URL", Type: block.TypeString, Required: true, FromConfigs: true,
			Description: "https://${DATABRICKS_HOST}/api/${DATABRICKS_API_VERSION}/jobs, e.g. https://capillary-scrum.cloud.databricks.com/api/2.1/jobs."},
	}, commonDatabricksFields...),
	Check: func(c *block.Config) []block.Problem {
		var probs []block.Problem
		if _, ref := c.Ref("jobId"); !ref {
			if _, err := parseJobID(c.String("jobId")); err != nil {
				probs = append(probs, block.Problem{Path: "jobId", Message: err.Error()})
			}
		}
		if _, ref := c.Ref("dataBricksUrl"); !ref {
			if _, err := jobsBase(c.String("dataBricksUrl")); err != nil {
				probs = append(probs, block.Problem{Path: "dataBricksUrl", Message: err.Error()})
			}
		}
		return probs
	},
	New: newJobs,
}

type jobsBlock struct {
	client *jobsClient
	jobID  int64
	path   string
	params map[string]*block.Template
}

func newJobs(c *block.Config, env *block.Env) (block.Block, error) {
	id, err := parseJobID(c.String("jobId"))
	if err != nil {
		return nil, err
	}
	cl, err := newJobsClient(c, env, "dataBricksUrl", "dataBricksToken")
	if err != nil {
		return nil, err
	}
	ps, err := compileParams(c, env)
	if err != nil {
		return nil, err
	}
	return &jobsBlock{client: cl, jobID: id, path: c.String("dataBricksProcessedFilesPath"), params: ps}, nil
}

func (b *jobsBlock) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	params := map[string]string{"filename": u.Attrs[block.AttrFilename], "processedFilesPath": b.path}
	if err := evalParams(b.params, u.Attrs, params); err != nil {
		return err
	}
	ri, err := b.client.runAndWait(ctx, b.jobID, params)
	if err != nil {
		return err
	}
	nu := u.Derive()
	nu.File, nu.Batch = u.File, u.Batch
	setRunAttrs(nu, ri)
	return out.Emit(ctx, block.RelSuccess, nu)
}

// ValidationSpec is databricks_validation.
var ValidationSpec = &block.Spec{
	Type: "databricks_validation", Label: "Databricks (Validation)", Class: block.ClassExecutor, Category: "Transformation",
	LegacyTypes: []string{"data_validation_block"},
	Description: "Optionally runs a Databricks validation job on each file. Disabled (the default), files pass through unchanged. Enabled, the file's header " +
		"is normalised (spaces and hyphens become underscores: Customer ID → Customer_ID) and the job runs with the widgets inputTable, outputTable and " +
		"database_name (tables named after the file); the file continues when the run succeeds and fails otherwise. " +
		"This block does not load the file into inputTable nor read outputTable back: the job reads and writes those tables itself.",
	Input: block.KindFile, Output: block.KindFile, Concurrency: 1,
	Fields: append([]block.Field{
		{Key: "jobId", Label: "Databricks Job ID", Type: block.TypeString, Default: "", FromConfigs: true,
			Description: "ID of the validation job (a notebook in the org's cluster workspace)."},
		{Key: "isEnabled", Label: "Is Data Validation enabled?", Type: block.TypeBool, Required: true, Default: "false",
			Description: "Unchecked: the block is skipped."},
		{Key: "dataBricksUrl", Label: "Databricks URL", Type: block.TypeString, FromConfigs: true, Advanced: true,
			Description: "Jobs API base, e.g. https://<host>/api/2.1/jobs (required when enabled)."},
		{Key: "dataBricksToken", Label: "Databricks Token", Type: block.TypeString, Secret: true, FromConfigs: true, Advanced: true,
			Description: "Personal access token (required when enabled)."},
		{Key: "databaseName", Label: "Database Name", Type: block.TypeString, Default: "connectplus", Advanced: true,
			Description: "Passed to the job as database_name."},
		{Key: "maxRetries", Label: "Max Retries", Type: block.TypeInt, Default: "10", Advanced: true, Min: block.Bound(1),
			Description: "Status checks before the run is given up."},
	}, commonDatabricksFields...),
	Check: func(c *block.Config) []block.Problem {
		if !c.Bool("isEnabled") {
			return nil
		}
		var probs []block.Problem
		for _, k := range []string{"jobId", "dataBricksUrl", "dataBricksToken"} {
			if _, ref := c.Ref(k); !ref && !c.Has(k) {
				probs = append(probs, block.Problem{Path: k, Message: fmt.Sprintf("%q is required when data validation is enabled", k)})
			}
		}
		if _, ref := c.Ref("jobId"); !ref && c.Has("jobId") {
			if _, err := parseJobID(c.String("jobId")); err != nil {
				probs = append(probs, block.Problem{Path: "jobId", Message: err.Error()})
			}
		}
		return probs
	},
	New: newValidation,
}

type validationBlock struct {
	enabled bool
	client  *jobsClient
	jobID   int64
	db      string
	params  map[string]*block.Template
}

func newValidation(c *block.Config, env *block.Env) (block.Block, error) {
	b := &validationBlock{enabled: c.Bool("isEnabled"), db: c.String("databaseName")}
	if !b.enabled {
		return b, nil
	}
	var err error
	if b.jobID, err = parseJobID(c.String("jobId")); err != nil {
		return nil, err
	}
	if b.client, err = newJobsClient(c, env, "dataBricksUrl", "dataBricksToken"); err != nil {
		return nil, err
	}
	if b.params, err = compileParams(c, env); err != nil {
		return nil, err
	}
	return b, nil
}

var nonIdent = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// tableName derives a Databricks table name from a file name and lineage.
func tableName(prefix, file, lineage string) string {
	base := strings.TrimSuffix(file, "."+lastExt(file))
	s := strings.Trim(nonIdent.ReplaceAllString(strings.ToLower(base), "_"), "_")
	if len(s) > 80 {
		s = s[:80]
	}
	id := nonIdent.ReplaceAllString(lineage, "")
	if len(id) > 16 {
		id = id[:16]
	}
	return strings.Trim(prefix+"_"+s+"_"+id, "_")
}

func lastExt(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i+1:]
	}
	return ""
}

// NormalizeHeaderLine makes a header line usable as Databricks column
// names: spaces and hyphens become underscores.
func NormalizeHeaderLine(line string) string {
	return strings.NewReplacer(" ", "_", "-", "_").Replace(line)
}

func (b *validationBlock) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	if !b.enabled {
		return out.Emit(ctx, block.RelSuccess, u)
	}
	if u.File == nil {
		return errors.New("databricks_validation takes files; it received records")
	}
	lin := u.LineageID()
	name := u.Attrs[block.AttrFilename]
	in, outT := tableName("input", name, lin), tableName("output", name, lin)
	params := map[string]string{"inputTable": in, "outputTable": outT, "database_name": b.db, "filename": name}
	if err := evalParams(b.params, u.Attrs, params); err != nil {
		return err
	}
	ri, err := b.client.runAndWait(ctx, b.jobID, params)
	if err != nil {
		return err
	}
	src := u.File
	nu := u.Derive()
	// Lazy: the header is rewritten while the next block reads the file, so
	// the file is never copied.
	nu.File = block.NewFile(src.Name, -1, func(ctx context.Context) (io.ReadCloser, error) {
		rc, err := src.Open(ctx)
		if err != nil {
			return nil, err
		}
		br := bufio.NewReaderSize(rc, 64<<10)
		head, err := br.ReadString('\n')
		if err != nil && err != io.EOF {
			rc.Close()
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{io.MultiReader(strings.NewReader(NormalizeHeaderLine(head)), br), rc}, nil
	})
	nu.File.ModTime = src.ModTime
	delete(nu.Attrs, block.AttrFileSize)
	nu.Attrs[AttrInputTable], nu.Attrs[AttrOutputTable] = in, outT
	setRunAttrs(nu, ri)
	return out.Emit(ctx, block.RelSuccess, nu)
}
