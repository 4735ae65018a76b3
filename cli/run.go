package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/blocks/filecore"
	"github.com/connectplus/connectplus/blocks/httpwrite"
	"github.com/connectplus/connectplus/blocks/kafka"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/fsroot"
	"github.com/connectplus/connectplus/sandbox"
)

type runFlags struct {
	inputs        []string
	resultDir     string
	sandbox       bool
	checkpointDir string
	workDir       string
	configs       []string
	configFile    string
	noProgress    bool
	asJSON        bool
	timezone      string
	logLevel      string
	stability     time.Duration
	stabilitySet  bool
	maxFiles      int
	cpInterval    time.Duration
	cpuProfile    string
	traceFile     string
	memProfile    string
	dataDir       string
	filesRoot     string
	kafkaBroker   string
	idleExit      time.Duration
	drainTimeout  time.Duration
	idemHeader    string
}

func (a *app) runCmd() *cobra.Command {
	var fl runFlags
	cmd := &cobra.Command{
		Use:   "run FLOW.yaml",
		Short: "Run a dataflow once over what its source finds (or over --input files)",
		Long: `Run compiles a dataflow document and runs it once: its source blocks list their folders,
every eligible file is processed to the end, result files are written, and a summary per
block is printed. Interrupted runs (Ctrl-C, kill -9) resume where they stopped on the next
run: acknowledged records are never sent again (see --checkpoint-dir).

Extension Configuration references ({"$config": "name"}) are resolved from --config
name=value flags, a --configs YAML/JSON file of name: value pairs, or the environment
variable CONNECTPLUS_CONFIG_<NAME> (name upper-cased, non-alphanumerics as _).

A dataflow reading a stream (kafka_topic_read, event_notification_read) runs until it is
interrupted (Ctrl-C, SIGTERM: the open window closes and in-flight records finish, up to
--drain-timeout) or, with --idle-exit, until no message arrived for that long. Each window
of the stream is reported like a file. Offsets are committed only after their records
ended, so a killed run loses nothing: the next run reads the uncommitted messages again.

Exit status: 0 every file succeeded (or nothing to do); 1 the run could not start;
3 partial success (some records failed); 4 failure (a file failed as a whole, or every
record of a file failed).`,
		Example: `  connectplus run examples/bulk_add_customers.yaml --sandbox
  connectplus run flow.yaml --input ./customers.csv --config sftp_password=secret
  connectplus run flow.yaml --json > report.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl.stabilitySet = cmd.Flags().Changed("stability-wait")
			return a.run(cmd, args[0], &fl)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&fl.inputs, "input", nil, "process these local files instead of listing the source (repeatable); they are left in place")
	f.StringVar(&fl.resultDir, "result-dir", "", "with --input: where result files go (default: next to each input); for a stream dataflow: where each window's result file is kept (default: results/ under --checkpoint-dir)")
	f.BoolVar(&fl.sandbox, "sandbox", false, "point every API destination at an in-process Capillary API sandbox, and every Kafka block at an in-process Kafka-compatible broker (topics created on demand)")
	f.StringVar(&fl.kafkaBroker, "kafka-broker", "", "with --sandbox: use this sandbox broker (e.g. one `connectplus sandbox --kafka` serves) instead of starting one")
	f.DurationVar(&fl.idleExit, "idle-exit", 0, "stream dataflows: stop once no message arrived for this long after the last one (0: run until interrupted); before the first message the run waits this long plus a minute, the time a group may take to drop a member killed earlier")
	f.DurationVar(&fl.drainTimeout, "drain-timeout", 30*time.Second, "stream dataflows: how long in-flight records get to finish when the run is stopped")
	f.StringVar(&fl.checkpointDir, "checkpoint-dir", "", "where claims, progress and the result spools of interrupted files are kept (default: ~/.cache/connectplus/checkpoints)")
	f.StringVar(&fl.workDir, "work-dir", "", "where each run makes its scratch directory, removed at exit (one left by a killed run is removed by the next run; default: the system temporary directory). Result spools that resuming needs are kept under --checkpoint-dir")
	f.StringArrayVar(&fl.configs, "config", nil, "Extension Configuration value, name=value (repeatable)")
	f.StringVar(&fl.configFile, "configs", "", "YAML or JSON file of Extension Configuration name: value pairs")
	f.BoolVar(&fl.noProgress, "no-progress", false, "do not draw a progress bar")
	f.BoolVar(&fl.asJSON, "json", false, "print the run report as JSON on stdout")
	f.StringVar(&fl.timezone, "timezone", "UTC", "time zone for NiFi expressions such as ${now():format(...)}")
	f.StringVar(&fl.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn, error")
	f.DurationVar(&fl.stability, "stability-wait", 0, "how long a file's size and modification time must stay unchanged before pick-up (default: the source's own, 2s); overrides the dataflow, 0 means no wait")
	f.IntVar(&fl.maxFiles, "max-files", 2, "files processed at once")
	f.StringVar(&fl.idemHeader, "idempotency-header", "", "name of the idempotency key header API destinations send on every write (default "+httpwrite.DefaultIdempotencyHeader+"; - sends none, for a destination that rejects unknown headers)")
	f.DurationVar(&fl.cpInterval, "checkpoint-interval", 250*time.Millisecond, "how often progress is saved; after a kill, records delivered since the last save are sent again")
	f.StringVar(&fl.dataDir, "data-dir", "", "a Connect+ server data directory this run must never touch: local file blocks and key files in it are refused (./"+defaultServerDataDir+" always is)")
	f.StringVar(&fl.filesRoot, "files-root", "", "confine local file blocks and key files to this directory, relative paths resolving there (default: anywhere but a data directory)")
	f.StringVar(&fl.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (for performance reports)")
	f.StringVar(&fl.memProfile, "memprofile", "", "write an allocation profile of the run to this file")
	f.StringVar(&fl.traceFile, "trace", "", "write a Go execution trace of the run to this file (go tool trace: where the pipeline waits)")
	return cmd
}

// defaultServerDataDir is `connectplus server`'s default --data-dir.
const defaultServerDataDir = ".connectplus-data"

// runPolicy is the local-path policy of a run: one user on their own
// machine, so unconfined unless --files-root says otherwise, but never a
// server's data directory (its master key, database and result files).
func runPolicy(fl *runFlags) (*fsroot.Policy, error) {
	forbidden := []string{defaultServerDataDir}
	if fl.dataDir != "" {
		forbidden = append(forbidden, fl.dataDir)
	}
	if fl.filesRoot != "" {
		p, err := fsroot.New(fsroot.Config{Home: fl.filesRoot, Forbidden: forbidden})
		if err != nil {
			return nil, fmt.Errorf("--files-root: %w", err)
		}
		return p, nil
	}
	return fsroot.Unconfined(forbidden...)
}

// sandboxResolver stands in a placeholder for Extension Configurations that
// are not set, so a dataflow can be tried against the sandbox before its
// real credentials exist. API destinations use the sandbox's credentials.
type sandboxResolver struct {
	inner mapResolver
	warn  io.Writer
}

func (r sandboxResolver) Resolve(name string) (string, error) {
	if v, err := r.inner.Resolve(name); err == nil {
		return v, nil
	}
	fmt.Fprintf(r.warn, "sandbox: Extension Configuration %q is not set; using a placeholder\n", name)
	return "sandbox-" + name, nil
}

// mapResolver resolves Extension Configuration names from flags, a file and
// the environment. Values never reach logs.
type mapResolver map[string]string

func (m mapResolver) Resolve(name string) (string, error) {
	if v, ok := m[name]; ok {
		return v, nil
	}
	env := "CONNECTPLUS_CONFIG_" + strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, name)
	if v, ok := os.LookupEnv(env); ok {
		return v, nil
	}
	return "", fmt.Errorf("not set: pass --config %s=VALUE or set %s", name, env)
}

func (a *app) resolver(fl *runFlags) (mapResolver, error) {
	m := mapResolver{}
	if fl.configFile != "" {
		b, err := os.ReadFile(fl.configFile)
		if err != nil {
			return nil, err
		}
		var raw map[string]any
		if err := yaml.Unmarshal(b, &raw); err != nil {
			return nil, fmt.Errorf("%s: %w", fl.configFile, err)
		}
		for k, v := range raw {
			m[k] = fmt.Sprint(v)
		}
	}
	for _, kv := range fl.configs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--config %q: want name=value", kv)
		}
		m[k] = v
	}
	return m, nil
}

func (a *app) run(cmd *cobra.Command, path string, fl *runFlags) error {
	if os.Getenv("GOMEMLIMIT") == "" {
		// One run streams: keep the heap (and so RSS) small, whatever the
		// file size; the collector works harder only when it nears this.
		debug.SetMemoryLimit(150 << 20)
	}
	if os.Getenv("GOGC") == "" {
		// A streaming run's live heap is ~10 MB (the batches in flight),
		// so the process-wide target of ten times live data mostly grew
		// free heap: RSS sat at the 150 MB limit. Four times keeps a
		// 1M-row API flow near 85-95 MB (~28 MB of it the binary's own
		// pages) but costs ~12% more CPU (README, Performance): GOGC=1000
		// buys the speed back. Flows that hold more (sorts, joins) still
		// get up to the limit above.
		debug.SetGCPercent(300)
	}
	level := slog.LevelWarn
	if err := level.UnmarshalText([]byte(fl.logLevel)); err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("--log-level: %w", err)}
	}
	logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	doc, probs, err := a.loadDoc(path)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if len(probs) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "%s has %d problem(s):", path, len(probs))
		for _, p := range probs {
			b.WriteString("\n  " + p.Error())
		}
		return &exitError{code: ExitError, err: fmt.Errorf("%s", b.String())}
	}
	loc, err := time.LoadLocation(fl.timezone)
	if err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("--timezone: %w", err)}
	}
	res, err := a.resolver(fl)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	cpDir := fl.checkpointDir
	if cpDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		cpDir = filepath.Join(base, "connectplus", "checkpoints")
	}
	cps, err := engine.NewFileCheckpointer(cpDir)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	// Files named with --input are processed whenever asked; only an
	// interrupted run of them is remembered (and resumed).
	cps.ForgetCompleted = len(fl.inputs) > 0
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	reg := a.registry
	if len(fl.inputs) > 0 {
		reg = withInputs(reg, fl.inputs, fl.resultDir)
	}
	var sandboxURL string
	if fl.sandbox {
		url, closeSandbox, err := startSandbox()
		if err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("sandbox: %w", err)}
		}
		defer closeSandbox()
		sandboxURL = url
		fmt.Fprintf(a.stderr, "API sandbox listening on %s (API destinations point there)\n", url)
	}
	obs := &runObserver{}
	blockOpts := map[string]string{}
	if fl.sandbox && kafka.UsesKafka(doc) {
		addr := fl.kafkaBroker
		if addr == "" {
			kb, err := sandbox.StartKafka(sandbox.KafkaConfig{Addr: "127.0.0.1:0"})
			if err != nil {
				return &exitError{code: ExitError, err: fmt.Errorf("sandbox: %w", err)}
			}
			defer kb.Close()
			addr = kb.Addr()
			fmt.Fprintf(a.stderr, "Kafka sandbox broker listening on %s (Kafka blocks point there; try: kcat -P -b %s -t TOPIC)\n", addr, addr)
		}
		blockOpts[kafka.OptSandboxBroker] = addr
	}
	var resolver block.Resolver = res
	if fl.sandbox {
		blockOpts["sandbox.clientKey"] = sandboxCredentials
		blockOpts["sandbox.clientSecret"] = sandboxCredentials
		resolver = sandboxResolver{inner: res, warn: a.stderr}
	}
	if fl.idemHeader != "" {
		if err := httpwrite.CheckIdempotencyHeader(fl.idemHeader); err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("--idempotency-header: %w", err)}
		}
		blockOpts[httpwrite.OptIdempotencyHeader] = fl.idemHeader
	}
	if fl.stabilitySet {
		// The flag beats the dataflow's own stabilityWait, and 0 means no
		// wait (it used to be ignored at 0 and set under a key no source read).
		blockOpts[filecore.OptStabilityWaitOverride] = fl.stability.String()
	}
	paths, err := runPolicy(fl)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	absPath, _ := filepath.Abs(path)
	// A stream's windows have no source folder to write their result
	// files to (unless the block names a resultDirectory): they are kept.
	keep := ""
	if streamDoc(reg, doc) {
		keep = fl.resultDir
		if keep == "" {
			keep = filepath.Join(cpDir, "results")
		}
	}
	flow, err := engine.Compile(doc, engine.Options{
		Registry: reg, Resolver: resolver, Checkpointer: cps, Logger: logger,
		// Spools that checkpoints refer to live with the checkpoints: a
		// temporary directory does not survive the kill a resume follows.
		TempRoot: fl.workDir, StateDir: filepath.Join(cpDir, "state"),
		Compiler: exprs.NewStep(exprs.Options{Location: loc}), Sandbox: sandboxURL, Observer: obs,
		FlowKey: doc.Name + "@" + absPath, MaxLineages: fl.maxFiles, BlockOptions: blockOpts, CheckpointInterval: fl.cpInterval,
		LocalPaths: paths, ResultDir: keep,
	})
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	var bar *progressbar.ProgressBar
	if !fl.noProgress && !fl.asJSON && isTerminal(a.stderr) {
		bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(a.stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(), progressbar.OptionSetDescription("reading"),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
		obs.bar = bar
	}
	if fl.cpuProfile != "" {
		pf, err := os.Create(fl.cpuProfile)
		if err != nil {
			return &exitError{code: ExitError, err: err}
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return &exitError{code: ExitError, err: err}
		}
		defer func() { pprof.StopCPUProfile(); pf.Close() }()
	}
	if fl.traceFile != "" {
		tf, err := os.Create(fl.traceFile)
		if err != nil {
			return &exitError{code: ExitError, err: err}
		}
		if err := trace.Start(tf); err != nil {
			return &exitError{code: ExitError, err: err}
		}
		defer func() { trace.Stop(); tf.Close() }()
	}
	start := time.Now()
	var results []engine.LineageResult
	var runErr error
	if flow.Streaming() {
		results, runErr = runStream(ctx, flow, obs, fl)
	} else {
		results, runErr = flow.RunOnce(ctx)
	}
	elapsed := time.Since(start)
	if bar != nil {
		_ = bar.Finish()
	}
	if fl.memProfile != "" {
		if pf, err := os.Create(fl.memProfile); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(pf, 0)
			pf.Close()
		}
	}
	stats := flow.Stats()
	if fl.asJSON {
		if err := writeJSON(a.stdout, map[string]any{"files": results, "blocks": stats, "elapsedSeconds": elapsed.Seconds()}); err != nil {
			return err
		}
	} else {
		a.printSummary(results, stats, elapsed, doc.Name)
	}
	if runErr != nil {
		if ctx.Err() != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("interrupted: progress is saved in %s; run again to resume", cpDir)}
		}
		return &exitError{code: ExitFailure, err: runErr}
	}
	code := ExitOK
	for _, r := range results {
		switch r.Status {
		case engine.StatusFailure:
			code = ExitFailure
		case engine.StatusPartial:
			if code == ExitOK {
				code = ExitPartial
			}
		}
	}
	if code != ExitOK {
		return &exitError{code: code}
	}
	return nil
}

func (a *app) printSummary(results []engine.LineageResult, stats []engine.BlockStats, elapsed time.Duration, flow string) {
	w := a.stdout
	if len(results) == 0 {
		fmt.Fprintf(w, "%s: no eligible files found\n", flow)
	}
	sort.Slice(results, func(i, j int) bool { return results[i].Started.Before(results[j].Started) })
	var in int64
	for _, r := range results {
		in += r.Counts.In
		fmt.Fprintf(w, "%s  %s  in=%d delivered=%d filtered=%d failed=%d", r.Item.Name, r.Status, r.Counts.In, r.Counts.Delivered, r.Counts.Filtered, r.Counts.Failed)
		if r.Counts.RetryExhausted > 0 {
			fmt.Fprintf(w, " retry-exhausted=%d", r.Counts.RetryExhausted)
		}
		if r.Resumed {
			fmt.Fprintf(w, " (resumed after %d interruption(s))", r.Interruptions)
		}
		fmt.Fprintln(w)
		if r.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", r.Error)
		}
		if r.FinishError != "" {
			fmt.Fprintf(w, "  finishing: %s\n", r.FinishError)
		}
		if r.ResultPath != "" {
			fmt.Fprintf(w, "  result file: %s (%d rows)\n", r.ResultPath, r.ResultRows)
		} else {
			fmt.Fprintf(w, "  result file: %s (%d rows)\n", r.ResultName, r.ResultRows)
		}
	}
	if len(stats) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "BLOCK\tTYPE\tUNITS IN\tUNITS OUT\tRECORDS IN\tOUT\tFILTERED\tFAILED\tBUSY\t")
		for _, s := range stats {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", s.Name, s.Type, s.UnitsIn, s.UnitsOut, s.RecordsIn, s.RecordsOut, s.RecordsFiltered, s.RecordsFailed, s.Busy.Round(time.Millisecond))
		}
		_ = tw.Flush()
	}
	rate := 0.0
	if elapsed > 0 {
		rate = float64(in) / elapsed.Seconds()
	}
	fmt.Fprintf(w, "\n%d file(s), %d records in %s (%.0f records/s)\n", len(results), in, elapsed.Round(time.Millisecond), rate)
}

type runObserver struct {
	mu      sync.Mutex
	bar     *progressbar.ProgressBar
	total   atomic.Int64
	records atomic.Int64
	start   time.Time
	name    string
	last    time.Time
}

func (o *runObserver) LineageStarted(_ string, it block.Item, _ string, _ bool) {
	t := o.total.Add(it.Size)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.start.IsZero() {
		o.start = time.Now()
	}
	o.name = it.Name
	if o.bar != nil {
		o.bar.ChangeMax64(t)
		o.bar.Describe(it.Name)
	}
}

// Records shows records done and the record rate next to the byte
// progress, at most ten times a second.
func (o *runObserver) Records(n int64) {
	done := o.records.Add(n)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.bar == nil || time.Since(o.last) < 100*time.Millisecond {
		return
	}
	o.last = time.Now()
	rate := float64(done) / time.Since(o.start).Seconds()
	o.bar.Describe(fmt.Sprintf("%s %d records (%.0f/s)", o.name, done, rate))
}

func (o *runObserver) Progress(n int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.bar != nil {
		_ = o.bar.Add64(n)
	}
}

func (o *runObserver) LineageDone(engine.LineageResult) {}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// runStream runs a stream dataflow until ctx ends (Ctrl-C) or, with
// --idle-exit, until no record ended for that long; then the open window
// closes and in-flight records get --drain-timeout to finish. The flow is
// not bound to ctx: an interrupt drains instead of abandoning.
func runStream(ctx context.Context, flow *engine.Flow, obs *runObserver, fl *runFlags) ([]engine.LineageResult, error) {
	if err := flow.Start(context.WithoutCancel(ctx)); err != nil {
		flow.Close()
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if fl.idleExit > 0 {
		go func() {
			last, since := obs.records.Load(), time.Now()
			// Before the first record the consumer may be waiting for its
			// group to drop a member that was killed (its session timeout).
			wait := fl.idleExit + time.Minute
			t := time.NewTicker(min(fl.idleExit/4, time.Second))
			defer t.Stop()
			for {
				select {
				case <-sctx.Done():
					return
				case <-t.C:
				}
				if n := obs.records.Load(); n != last {
					last, since, wait = n, time.Now(), fl.idleExit
				} else if time.Since(since) >= wait {
					cancel()
					return
				}
			}
		}()
	}
	flow.PollStream(sctx, time.Second)
	flow.Drain()
	wctx, wcancel := context.WithTimeout(context.Background(), fl.drainTimeout)
	defer wcancel()
	werr := flow.WaitIdle(wctx)
	flow.Stop()
	res := flow.Close()
	if werr != nil {
		return res, fmt.Errorf("stopping the stream: records still in flight after %s are read again by the next run", fl.drainTimeout)
	}
	return res, nil
}

// streamDoc reports whether a dataflow reads a stream: a source block whose
// output is records (kafka_topic_read, event_notification_read).
func streamDoc(reg *block.Registry, doc *dataflow.Document) bool {
	for _, b := range doc.Blocks {
		if s, ok := reg.Lookup(b.Type); ok && s.Class == block.ClassSource && s.Output == block.KindRecords {
			return true
		}
	}
	return false
}
