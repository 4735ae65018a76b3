package templates

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/blocks/kafka"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/sandbox"
)

// SampleClock is the fixed time of every sample run: result file names,
// NiFi now() in output names and dates derived from it are the same on
// every run, so they can be compared with the goldens.
func SampleClock() time.Time { return time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC) }

// RunOptions configure Run.
type RunOptions struct {
	// Registry holds the real blocks (blocks/all).
	Registry *block.Registry
	// TempRoot is where the run's scratch directory is made (default the
	// system temp directory); it is removed when the run ends.
	TempRoot string
	Logger   *slog.Logger
	// Timeout bounds the run (default 2 minutes).
	Timeout time.Duration
}

// Outcome is what running a template on its sample produced, as the files
// that are compared with the goldens (path relative to expected/ →
// content):
//
//   - run.json: each sample file's status and counts;
//   - results/<result file name>: each result file, lineage ids replaced by
//     "<lineage>";
//   - entities.json: what the sandbox holds afterwards, by kind and key,
//     without the ids' and receipt times' noise;
//   - output/<block>/<file>: what each file destination received.
type Outcome struct {
	Files map[string][]byte
}

// FileRun is one sample file's outcome, as recorded in run.json.
type FileRun struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	Error      string `json:"error,omitempty"`
	In         int64  `json:"in"`
	Delivered  int64  `json:"delivered"`
	Filtered   int64  `json:"filtered"`
	Failed     int64  `json:"failed"`
	ResultName string `json:"resultName,omitempty"`
	ResultRows int64  `json:"resultRows"`
}

// Run instantiates t with its defaults and runs it on its sample files: every
// source block reads the samples, every API destination calls one
// in-process sandbox (set up as t.Sandbox says), every file destination
// (SFTP, FTP, S3, local) is captured, and every Extension Configuration is
// a placeholder. API destinations run one request at a time so entity ids
// and the order the sandbox sees bills are the same on every run (the
// template itself keeps its concurrency).
func (c *Catalogue) Run(ctx context.Context, t *Template, opts RunOptions) (*Outcome, error) {
	if opts.Registry == nil {
		return nil, errors.New("templates: Run needs a block registry")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	doc, err := t.Instantiate("", t.SampleRun.Parameters)
	if err != nil {
		return nil, err
	}
	configs := map[string]string{}
	for name, v := range t.SampleRun.Configs {
		if f, ok := strings.CutPrefix(v, "file:"); ok {
			b, err := c.Sample(t, f)
			if err != nil {
				return nil, fmt.Errorf("template %s: sampleRun.configs.%s: %w", t.Name, name, err)
			}
			v = string(b)
		}
		configs[name] = v
	}
	if probs := dataflow.Validate(doc, opts.Registry); len(probs) > 0 {
		return nil, fmt.Errorf("template %s: %w", t.Name, problemsError(probs))
	}
	serialise(doc, opts.Registry)

	sb := sandbox.New(sandbox.Config{ClientKey: runKey, ClientSecret: runKey, StrictCustomers: t.Sandbox.StrictCustomers, Now: SampleClock})
	ts := httptest.NewServer(sb)
	defer ts.Close()
	if err := seed(ctx, ts.URL, sb, t.Sandbox.Seed); err != nil {
		return nil, fmt.Errorf("template %s: sandbox seed: %w", t.Name, err)
	}

	samples := make([]sampleFile, 0, len(t.Samples))
	for _, s := range t.Samples {
		b, err := c.Sample(t, s)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", t.Name, err)
		}
		samples = append(samples, sampleFile{name: s, data: b})
	}
	sink := &capture{files: map[string][]byte{}, results: map[string][]byte{}}
	reg, err := runRegistry(opts.Registry, samples, sink)
	if err != nil {
		return nil, err
	}
	// One file at a time keeps the order the sandbox sees them (entity
	// ids, duplicates across files) the same on every run; a join must
	// hold all the files of its set at once.
	lineages := 1
	for _, typ := range t.Blocks {
		if strings.HasSuffix(typ, "_join") {
			lineages = len(samples)
		}
	}
	runCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	now := SampleClock
	blockOpts := map[string]string{"sandbox.clientKey": runKey, "sandbox.clientSecret": runKey}
	topics := streamTopics(doc, opts.Registry)
	messages := 0
	if len(topics) > 0 {
		kb, n, err := startSampleStream(runCtx, topics, samples)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", t.Name, err)
		}
		defer kb.Close()
		blockOpts[kafka.OptSandboxBroker], messages = kb.Addr(), n
	}
	flow, err := engine.Compile(doc, engine.Options{
		Registry: reg, Resolver: placeholderResolver(configs), Logger: log, TempRoot: opts.TempRoot,
		CompileExpr: exprs.Compiler(time.UTC, now), Now: now, Sandbox: ts.URL,
		FlowKey: "template:" + t.Name, MaxLineages: lineages,
		BlockOptions: blockOpts,
	})
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", t.Name, err)
	}
	defer flow.Close()
	var results []engine.LineageResult
	var runErr error
	if flow.Streaming() {
		var sources []string
		for _, b := range doc.Blocks {
			if s, ok := opts.Registry.Lookup(b.Type); ok && isStream(s) {
				sources = append(sources, b.Name)
			}
		}
		results, runErr = runSampleStream(runCtx, flow, sources, messages)
	} else {
		results, runErr = flow.RunOnce(runCtx)
	}
	if runErr != nil {
		return nil, fmt.Errorf("template %s: run: %w", t.Name, runErr)
	}
	out := &Outcome{Files: map[string][]byte{}}
	runs := make([]FileRun, 0, len(results))
	for _, r := range results {
		runs = append(runs, FileRun{
			Name: r.Item.Name, Status: r.Status, Error: r.Error, In: r.Counts.In, Delivered: r.Counts.Delivered,
			Filtered: r.Counts.Filtered, Failed: r.Counts.Failed, ResultName: r.ResultName, ResultRows: r.ResultRows,
		})
	}
	order := map[string]int{}
	for i, s := range t.Samples {
		order[s] = i
	}
	sort.SliceStable(runs, func(i, j int) bool { return order[runs[i].Name] < order[runs[j].Name] })
	out.Files["run.json"] = jsonFile(runs)
	for name, b := range sink.results {
		out.Files["results/"+name] = NormaliseResult(b)
	}
	for name, b := range sink.files {
		out.Files["output/"+name] = b
	}
	out.Files["entities.json"] = EntitiesGolden(sb.Entities(""))
	return out, nil
}

// runKey is the sandbox's client key and secret.
const runKey = "template-test"

// serialise makes API destinations send one request at a time.
func serialise(doc *dataflow.Document, reg *block.Registry) {
	for i := range doc.Blocks {
		b := &doc.Blocks[i]
		spec, ok := reg.Lookup(b.Type)
		if !ok {
			continue
		}
		if _, has := spec.Field("concurrency"); has {
			if b.Config == nil {
				b.Config = map[string]any{}
			}
			b.Config["concurrency"] = int64(1)
		}
	}
}

func problemsError(probs []dataflow.Problem) error {
	errs := make([]error, len(probs))
	for i, p := range probs {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// placeholderResolver resolves the sample run's test configurations and
// every other Extension Configuration to a placeholder: a sample run never
// reads a real secret.
type placeholderResolver map[string]string

func (p placeholderResolver) Resolve(name string) (string, error) {
	if v, ok := p[name]; ok {
		return v, nil
	}
	return "template-test-" + name, nil
}

// seed sends the setup calls to the sandbox.
func seed(ctx context.Context, base string, sb *sandbox.Server, calls []SeedCall) error {
	tok := sb.IssueToken()
	for _, c := range calls {
		req, err := http.NewRequestWithContext(ctx, c.Method, base+c.Path, strings.NewReader(c.Body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CAP-API-OAUTH-TOKEN", tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var v any
		if resp.StatusCode/100 != 2 || json.Unmarshal(body, &v) != nil || hasErrors(v) {
			return fmt.Errorf("%s %s: %d %s", c.Method, c.Path, resp.StatusCode, body)
		}
	}
	return nil
}

// hasErrors reports whether a sandbox answer holds a non-empty "errors"
// list anywhere (bulk answers carry one per entity).
func hasErrors(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if l, ok := c.([]any); ok && k == "errors" && len(l) > 0 {
				return true
			}
			if hasErrors(c) {
				return true
			}
		}
	case []any:
		for _, c := range x {
			if hasErrors(c) {
				return true
			}
		}
	}
	return false
}

type sampleFile struct {
	name string
	data []byte
}

// capture collects result files and what file destinations write.
type capture struct {
	mu      sync.Mutex
	files   map[string][]byte
	results map[string][]byte
}

func (c *capture) put(m map[string][]byte, name string, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m[name] = b
}

// fileNameFields are the keys file destinations name their output with.
var fileNameFields = []string{"outputFileName", "s3ObjectKey"}

// runRegistry replaces sources by the samples and file destinations by
// captures; everything else runs as shipped.
func runRegistry(reg *block.Registry, samples []sampleFile, sink *capture) (*block.Registry, error) {
	out := block.NewRegistry()
	for _, s := range reg.Specs() {
		spec := *s
		switch {
		case isStream(s):
			// The real block, reading the samples from the sandbox broker.
			spec.New = func(c *block.Config, env *block.Env) (block.Block, error) {
				b, err := s.New(c, env)
				if err != nil {
					return nil, err
				}
				st, ok := b.(block.Stream)
				if !ok {
					return nil, fmt.Errorf("templates: %s outputs records but is not a stream source", s.Type)
				}
				return streamCapture{Stream: st, cap: sink}, nil
			}
		case s.Class == block.ClassSource && s.Output != block.KindNone:
			spec.New = func(c *block.Config, _ *block.Env) (block.Block, error) {
				return &sampleSource{files: samples, cfg: c, cap: sink}, nil
			}
		case s.Category == "Destination" && s.Output == block.KindFile:
			spec.New = func(c *block.Config, env *block.Env) (block.Block, error) {
				name := "${filename}"
				for _, k := range fileNameFields {
					if v := c.String(k); v != "" {
						name = v
					}
				}
				tpl, err := env.CompileTemplate(name)
				if err != nil {
					return nil, err
				}
				_, zips := spec.Field("zipFiles")
				return &captureSink{block: env.Block, name: tpl, zip: zips && c.Bool("zipFiles"), cap: sink}, nil
			}
		}
		if err := out.Register(&spec); err != nil {
			return nil, fmt.Errorf("templates: registry: %w", err)
		}
	}
	return out, nil
}

// sampleSource offers the sample files once, in order.
type sampleSource struct {
	files []sampleFile
	cfg   *block.Config
	cap   *capture
}

func (s *sampleSource) List(context.Context) ([]block.Item, error) {
	items := make([]block.Item, len(s.files))
	for i, f := range s.files {
		// Distinct, increasing times keep the listing order (sources
		// process by modification time, then name).
		items[i] = block.Item{Key: "sample/" + f.name, Name: f.name, Dir: "sample", Size: int64(len(f.data)), ModTime: SampleClock().Add(time.Duration(i-len(s.files)) * time.Minute)}
	}
	return items, nil
}

func (s *sampleSource) Open(_ context.Context, it block.Item) (*block.Unit, error) {
	var data []byte
	for _, f := range s.files {
		if f.name == it.Name {
			data = f.data
		}
	}
	file := block.NewFile(it.Name, int64(len(data)), func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	attrs := block.Attributes{
		block.AttrFilename: it.Name, block.AttrPath: it.Dir, block.AttrAbsPath: it.Key,
		block.AttrFileSize: strconv.Itoa(len(data)),
	}
	if d := s.cfg.String("File Delimiter"); d != "" {
		attrs["file.delimiter"] = d
	}
	if r := s.cfg.String("Report Status Code"); r != "" {
		attrs["report.status.code"] = r
	}
	return &block.Unit{Attrs: attrs, File: file}, nil
}

func (s *sampleSource) Finish(_ context.Context, _ block.Item, c *block.Completion) error {
	if !c.HasResult {
		return nil
	}
	rc, err := c.Result()
	if err != nil {
		return err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	s.cap.put(s.cap.results, c.ResultName, b)
	return nil
}

// captureSink stands in for a file destination: it keeps what the block
// would have written, under the name the block would have given it, and
// passes the unit on as the real block does after writing.
type captureSink struct {
	block string
	name  *block.Template
	// zip: the destination uploads <name>.zip holding the file; the
	// capture keeps the file as output/<block>/<name>.zip/<name>.
	zip bool
	cap *capture
}

func (k *captureSink) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	name, err := k.name.Eval(u.Attrs)
	if err != nil {
		return err
	}
	var b []byte
	switch {
	case u.File != nil:
		rc, err := u.File.Open(ctx)
		if err != nil {
			return err
		}
		b, err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
	case u.Batch != nil:
		for i := range u.Batch.Records {
			b = u.Batch.AppendRecordJSON(b, i)
			b = append(b, '\n')
		}
		out.Ack(u, nil)
	}
	name = path.Clean("/" + name)[1:]
	written := name
	if k.zip {
		written = name + ".zip"
		name = name + ".zip/" + path.Base(name)
	}
	k.cap.put(k.cap.files, path.Join(k.block, name), b)
	if u.File == nil {
		return out.Emit(ctx, block.RelSuccess, u)
	}
	// As the real destination does (filecore's sink), the unit passed on
	// names the file written, so a block after it (Iris reloading the
	// list from the S3 object) sees the destination's key, not the source's.
	d := u.Derive()
	d.File = u.File
	d.Attrs[block.AttrFilename] = path.Base(written)
	d.Attrs[block.AttrPath] = path.Dir(written)
	d.Attrs[block.AttrAbsPath] = written
	out.Ack(u, nil)
	return out.Emit(ctx, block.RelSuccess, d)
}

// NormaliseResult replaces the lineage ids (random per run) of a result
// file, as the goldens keep them.
func NormaliseResult(b []byte) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	if len(lines) == 0 {
		return b
	}
	header := strings.Split(strings.TrimRight(string(lines[0]), "\r\n"), ",")
	col := -1
	for i, h := range header {
		if h == "lineage_id" {
			col = i
		}
	}
	if col < 0 {
		return b
	}
	var out bytes.Buffer
	out.Write(lines[0])
	for _, l := range lines[1:] {
		// lineage_id is the last column and never quoted: cut at the last comma.
		s := string(l)
		eol := s[len(strings.TrimRight(s, "\r\n")):]
		body := strings.TrimRight(s, "\r\n")
		if i := strings.LastIndexByte(body, ','); i >= 0 && col == len(header)-1 {
			body = body[:i+1] + "<lineage>"
		}
		out.WriteString(body + eol)
	}
	return out.Bytes()
}

// entityView is an entity as the goldens keep it.
type entityView struct {
	Kind       string            `json:"kind"`
	Key        string            `json:"key"`
	Endpoint   string            `json:"endpoint"`
	ID         int64             `json:"id"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Body       json.RawMessage   `json:"body"`
}

// EntitiesGolden renders sandbox entities as the goldens' entities.json
// keeps them (receipt times left out).
func EntitiesGolden(es []*sandbox.Entity) []byte {
	views := make([]entityView, 0, len(es))
	for _, e := range es {
		var body bytes.Buffer
		if err := json.Compact(&body, e.Body); err != nil {
			body.Reset()
			body.Write(e.Body)
		}
		views = append(views, entityView{Kind: e.Kind, Key: e.Key, Endpoint: e.Endpoint, ID: e.ID, Attributes: e.Attributes, Body: body.Bytes()})
	}
	return jsonFile(views)
}

func jsonFile(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return []byte(err.Error())
	}
	return append(b, '\n')
}
