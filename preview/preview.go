// Package preview runs a dataflow document on a sample file with every
// destination replaced — API destinations by an in-process Capillary API
// sandbox, file destinations by a capture — and reports what each block
// received and emitted. It is the live data preview of the web UI (POST
// /api/v1/preview); it never reaches a real destination, reads no real
// secret and leaves nothing behind.
package preview

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/sandbox"
)

// Limits of one preview run.
const (
	DefaultMaxRecords = 20
	MaxMaxRecords     = 200
	// MaxSampleBytes is the largest sample accepted.
	MaxSampleBytes = 5 << 20
	// DefaultTimeout bounds a run; a preview that takes longer is cut off
	// and reports what it saw.
	DefaultTimeout = 20 * time.Second
	// maxText bounds the text kept of one file unit or request body.
	maxText = 64 << 10
	// maxRequests bounds the requests kept per API block.
	maxRequests = 20
)

// ErrSampleTooLarge is returned for a sample over MaxSampleBytes.
var ErrSampleTooLarge = fmt.Errorf("the sample is larger than %d bytes", MaxSampleBytes)

// Request is one preview.
type Request struct {
	Doc      *dataflow.Document
	Registry *block.Registry
	// Sample is the file every source block reads; SampleName its name.
	Sample     []byte
	SampleName string
	// MaxRecords is how many data records of the sample are used (default
	// DefaultMaxRecords, at most MaxMaxRecords); a text sample is cut after
	// them, and each block shows at most this many records per direction.
	MaxRecords  int
	Timeout     time.Duration
	CompileExpr func(string) (block.Expr, error)
	// TempRoot is where the run's scratch directory is made (default
	// os.TempDir()); it is removed when the run ends.
	TempRoot string
	Logger   *slog.Logger
}

// Result is what the preview saw.
type Result struct {
	Blocks []BlockView `json:"blocks"`
	// Warnings say what the preview replaced or could not do.
	Warnings []string `json:"warnings"`
	// Truncated: the sample was cut to MaxRecords records.
	Truncated bool `json:"truncated"`
	// TimedOut: the run hit its time limit.
	TimedOut bool           `json:"timedOut,omitempty"`
	Files    []FileView     `json:"files"`
	Elapsed  float64        `json:"elapsedSeconds"`
	Counts   block.Outcomes `json:"counts"`
}

// FileView is one processed sample file: its status and result file.
type FileView struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// Result is the start of the result file the run would write.
	Result     string `json:"result,omitempty"`
	ResultName string `json:"resultName,omitempty"`
}

// BlockView is one block's traffic.
type BlockView struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Replaced says how the preview stood in for the block ("" when it ran
	// as configured, "sample" for sources, "sandbox" for API destinations,
	// "capture" for file destinations, "skipped" for external services).
	Replaced string `json:"replaced,omitempty"`
	In       []Unit `json:"in"`
	// Out maps relation → units emitted on it.
	Out      map[string][]Unit `json:"out"`
	Failed   []Failure         `json:"failed"`
	Filtered int               `json:"filtered"`
	// RecordsIn/RecordsOut count every record, also those not shown.
	RecordsIn  int       `json:"recordsIn"`
	RecordsOut int       `json:"recordsOut"`
	Requests   []HTTPReq `json:"requests,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// Unit is a view of one unit: a file (start of its text) or records.
type Unit struct {
	Kind    string            `json:"kind"` // "file" or "records"
	Name    string            `json:"name,omitempty"`
	Records []json.RawMessage `json:"records,omitempty"`
	// Lines are the source line numbers of Records.
	Lines []int64 `json:"lines,omitempty"`
	Text  string  `json:"text,omitempty"`
	// Binary: the file is not text; Text is empty.
	Binary bool  `json:"binary,omitempty"`
	Size   int64 `json:"size,omitempty"`
}

// Failure is one failed record (or file) with its reason.
type Failure struct {
	Line   int64           `json:"line,omitempty"`
	Record json.RawMessage `json:"record,omitempty"`
	Reason string          `json:"reason"`
	Code   int             `json:"code,omitempty"`
}

// HTTPReq is a request an API destination sent to the sandbox, exactly as
// it would go to the real host (the host itself aside).
type HTTPReq struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body,omitempty"`
	Status  int               `json:"status"`
}

// placeholder is what every Extension Configuration resolves to.
func placeholder(name string) string { return "preview-placeholder-" + name }

// Run previews req.Doc. It returns an error only when the preview cannot
// start (a compile error, a bad request); what blocks do is in the Result.
func Run(ctx context.Context, req Request) (*Result, error) {
	if len(req.Sample) > MaxSampleBytes {
		return nil, ErrSampleTooLarge
	}
	if req.MaxRecords <= 0 {
		req.MaxRecords = DefaultMaxRecords
	}
	if req.MaxRecords > MaxMaxRecords {
		req.MaxRecords = MaxMaxRecords
	}
	if req.Timeout <= 0 {
		req.Timeout = DefaultTimeout
	}
	if req.CompileExpr == nil {
		req.CompileExpr = exprs.Compiler(nil, nil)
	}
	if req.SampleName == "" {
		req.SampleName = "sample.csv"
	}
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sample, truncated := cutRecords(req.Sample, req.MaxRecords)
	res := &Result{Truncated: truncated, Warnings: []string{}, Files: []FileView{}}
	tap := newTap(req.MaxRecords)

	work, err := os.MkdirTemp(req.TempRoot, "connectplus-preview-*")
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	defer os.RemoveAll(work)

	reg, sandboxes, warn, err := replace(req, sample, tap, work)
	defer func() {
		for _, sb := range sandboxes {
			sb.close()
		}
	}()
	if err != nil {
		return nil, err
	}
	res.Warnings = append(res.Warnings, warn...)
	resolver := &placeholders{}
	runCtx, cancel := context.WithTimeout(ctx, req.Timeout)
	defer cancel()
	flow, err := engine.Compile(req.Doc, engine.Options{
		Registry: reg, Resolver: resolver, Logger: log, TempRoot: work, StateDir: work,
		CompileExpr: req.CompileExpr, Tap: tap, FlowKey: "preview:" + req.Doc.Name, MaxLineages: 1,
		ResultDir: work,
		BlockOptions: map[string]string{
			"sandbox.clientKey": sandboxKey, "sandbox.clientSecret": sandboxKey,
		},
	})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	results, runErr := flow.RunOnce(runCtx)
	res.Elapsed = time.Since(start).Seconds()
	if runErr != nil {
		if errors.Is(runCtx.Err(), context.DeadlineExceeded) {
			res.TimedOut = true
			res.Warnings = append(res.Warnings, fmt.Sprintf("the preview stopped after %s; the blocks show what they saw until then", req.Timeout))
		} else if ctx.Err() == nil {
			res.Warnings = append(res.Warnings, "run: "+runErr.Error())
		}
	}
	if len(results) == 0 && runErr == nil {
		res.Warnings = append(res.Warnings, "no source block read the sample: a preview needs a file source (file_read, sftp_read, s3_read)")
	}
	for _, r := range results {
		fv := FileView{Name: r.Item.Name, Status: r.Status, Error: r.Error, ResultName: r.ResultName}
		if r.ResultPath != "" {
			if text, _, err := readText(r.ResultPath); err == nil {
				fv.Result = text
			}
		}
		res.Files = append(res.Files, fv)
		c := r.Counts
		res.Counts.In += c.In
		res.Counts.Delivered += c.Delivered
		res.Counts.Filtered += c.Filtered
		res.Counts.Failed += c.Failed
	}
	for _, n := range resolver.names() {
		res.Warnings = append(res.Warnings, fmt.Sprintf("Extension Configuration %q is replaced by a placeholder in the preview", n))
	}
	res.Blocks = tap.views(req.Doc, reg, sandboxes)
	return res, nil
}

// sandboxKey is the client key and secret of every preview sandbox.
const sandboxKey = "preview"

// placeholders resolves every Extension Configuration to a placeholder: a
// preview never reads a real secret.
type placeholders struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (p *placeholders) Resolve(name string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	p.seen[name] = true
	return placeholder(name), nil
}

func (p *placeholders) names() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.seen))
	for n := range p.seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// replaced kinds.
const (
	repSample  = "sample"
	repSandbox = "sandbox"
	repCapture = "capture"
	repSkipped = "skipped"
)

// external lists executor blocks that call services the preview cannot
// stand in for: they pass their input on unchanged.
var external = map[string]bool{
	"databricks_job_trigger_and_status_check": true,
	"databricks_validation":                   true,
}

// replace builds the preview registry: sources read the sample, API
// destinations get a sandbox each (so requests are told apart per block),
// file destinations capture instead of writing.
func replace(req Request, sample []byte, tap *tap, work string) (*block.Registry, map[string]*sandboxRun, []string, error) {
	reg := block.NewRegistry()
	sandboxes := map[string]*sandboxRun{}
	var warn []string
	types := map[string]bool{}
	for _, b := range req.Doc.Blocks {
		types[b.Type] = true
	}
	for _, s := range req.Registry.Specs() {
		spec := *s
		switch {
		case s.Class == block.ClassSource && s.Output != block.KindNone:
			name := req.SampleName
			spec.New = func(*block.Config, *block.Env) (block.Block, error) {
				return &sampleSource{name: name, data: sample}, nil
			}
			tap.replaced(s.Type, repSample)
		case s.Class == block.ClassSource:
			if types[s.Type] {
				warn = append(warn, fmt.Sprintf("%s blocks only trigger other blocks; the preview starts from the sample instead", s.Type))
			}
		case s.Category == "Destination" && s.Output == block.KindRecords:
			orig := s.New
			spec.New = func(c *block.Config, env *block.Env) (block.Block, error) {
				sb, err := startSandbox(env.Block)
				if err != nil {
					return nil, err
				}
				tap.mu.Lock()
				sandboxes[env.Block] = sb
				tap.mu.Unlock()
				e := *env
				e.Sandbox = sb.url
				return orig(c, &e)
			}
			tap.replaced(s.Type, repSandbox)
		case s.Category == "Destination":
			spec.New = func(*block.Config, *block.Env) (block.Block, error) { return captureSink{}, nil }
			tap.replaced(s.Type, repCapture)
		case external[s.Type]:
			spec.New = func(*block.Config, *block.Env) (block.Block, error) { return captureSink{}, nil }
			tap.replaced(s.Type, repSkipped)
			if types[s.Type] {
				warn = append(warn, fmt.Sprintf("%s calls an external service: the preview passes its input on unchanged", s.Type))
			}
		}
		if err := reg.Register(&spec); err != nil {
			return nil, sandboxes, nil, fmt.Errorf("preview registry: %w", err)
		}
	}
	return reg, sandboxes, warn, nil
}

// sampleSource offers the sample once.
type sampleSource struct {
	name string
	data []byte
}

func (s *sampleSource) List(context.Context) ([]block.Item, error) {
	return []block.Item{{Key: "preview/" + s.name, Name: s.name, Dir: "preview", Size: int64(len(s.data)), ModTime: time.Unix(0, 0)}}, nil
}

func (s *sampleSource) Open(_ context.Context, it block.Item) (*block.Unit, error) {
	data := s.data
	f := block.NewFile(it.Name, int64(len(data)), func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	return &block.Unit{Attrs: block.Attributes{
		block.AttrFilename: it.Name, block.AttrPath: it.Dir, block.AttrAbsPath: it.Key,
		block.AttrFileSize: strconv.Itoa(len(data)),
	}, File: f}, nil
}

// Finish writes nothing: the result file is kept by the engine's
// ResultDir and read back into the Result.
func (s *sampleSource) Finish(context.Context, block.Item, *block.Completion) error { return nil }

// captureSink stands in for a file destination (and for blocks calling an
// external service): it passes its input on, as the real block does after
// writing, and the tap shows what it would have written.
type captureSink struct{}

func (captureSink) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	return out.Emit(ctx, block.RelSuccess, u)
}

// sandboxRun is one API destination's sandbox with a request log.
type sandboxRun struct {
	url   string
	srv   *http.Server
	mu    sync.Mutex
	reqs  []HTTPReq
	total int
}

func startSandbox(blockName string) (*sandboxRun, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("preview sandbox for %s: %w", blockName, err)
	}
	sb := &sandboxRun{url: "http://" + ln.Addr().String()}
	inner := sandbox.New(sandbox.Config{ClientKey: sandboxKey, ClientSecret: sandboxKey})
	sb.srv = &http.Server{Handler: sb.record(inner), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = sb.srv.Serve(ln) }()
	return sb, nil
}

func (sb *sandboxRun) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = sb.srv.Shutdown(ctx)
}

// record logs each request (body and headers as sent) and its status.
func (sb *sandboxRun) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, MaxSampleBytes*2))
		r.Body = io.NopCloser(bytes.NewReader(body))
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		h := map[string]string{}
		for k, v := range r.Header {
			switch k {
			case "User-Agent", "Accept-Encoding", "Content-Length":
				continue
			}
			h[k] = strings.Join(v, ", ")
		}
		text := string(body)
		if len(text) > maxText {
			text = text[:maxText] + "…"
		}
		sb.mu.Lock()
		defer sb.mu.Unlock()
		sb.total++
		if len(sb.reqs) < maxRequests {
			sb.reqs = append(sb.reqs, HTTPReq{Method: r.Method, URL: r.URL.RequestURI(), Headers: h, Body: text, Status: sw.status})
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// cutRecords keeps the header line and the first n records of a text
// sample (quote-aware, so a quoted field with a line break stays whole). A
// binary sample (zip, PGP) is returned as is.
func cutRecords(data []byte, n int) ([]byte, bool) {
	if isBinary(data) {
		return data, false
	}
	lines, inQuote := 0, false
	for i, c := range data {
		switch c {
		case '"':
			inQuote = !inQuote
		case '\n':
			if inQuote {
				continue
			}
			lines++
			if lines == n+1 && i+1 < len(data) {
				return data[:i+1], true
			}
		}
	}
	return data, false
}

func isBinary(data []byte) bool {
	head := data
	if len(head) > 8192 {
		head = head[:8192]
	}
	return bytes.IndexByte(head, 0) >= 0 || bytes.HasPrefix(head, []byte("PK\x03\x04"))
}

// readText reads the start of a file as text.
func readText(path string) (string, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, maxText+1))
	if err != nil {
		return "", false, err
	}
	return clip(buf)
}

// clip turns file bytes into display text: "" and true for binary data.
func clip(buf []byte) (string, bool, error) {
	if isBinary(buf) {
		return "", true, nil
	}
	more := len(buf) > maxText
	if more {
		buf = buf[:maxText]
	}
	s := strings.ToValidUTF8(string(buf), "\uFFFD")
	if more {
		s += "…"
	}
	return s, false, nil
}
