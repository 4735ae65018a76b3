// Package engine runs one dataflow version over its inputs: it compiles the
// document into a graph of block instances, moves units through bounded
// queues (back-pressure), tracks each source file's lineage to completion,
// checkpoints acknowledged records, writes result files and keeps per-block
// statistics. It knows blocks only through package block and reports through
// small interfaces (Checkpointer, Observer) that its callers implement.
package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/fsroot"
)

// Options configure a Flow.
type Options struct {
	Registry     *block.Registry
	Resolver     block.Resolver // Extension Configurations
	Checkpointer Checkpointer   // default: in memory
	// WorkDir holds this run's scratch files: block spills, sorted result
	// files. Default: a new directory in TempRoot, removed by Close (or by
	// Compile failing); one left behind by a killed process is removed by the
	// next Compile that finds it.
	WorkDir string
	// TempRoot is where the default WorkDir is created (default os.TempDir()).
	TempRoot string
	// StateDir holds what checkpoints refer to: each lineage's result spool.
	// It must last as long as the Checkpointer's records and be the same for
	// every process that may resume this flow's files (default: WorkDir,
	// enough for the in-memory Checkpointer). A resumed lineage verifies its
	// spool against the checkpoint and fails as a whole if it does not match.
	StateDir string
	Logger   *slog.Logger
	// Compiler is the compile step's compiler (config fields written in an
	// expression language, relation conditions): the same kind dataflow
	// validation uses. Default: exprs.NewStep in UTC with Now.
	Compiler *exprs.Step
	// CompileExpr compiles the NiFi values blocks build at run time
	// (Env.CompileTemplate). Default: Compiler.Template.
	CompileExpr func(string) (block.Expr, error)
	Now         func() time.Time
	// Sandbox is handed to blocks (API destinations point at it).
	Sandbox string
	// FlowKey identifies the deployment for claims and checkpoints
	// (default: the document name).
	FlowKey string
	// QueueSize is the capacity of each block's input queue in units (default 4).
	QueueSize int
	// MaxLineages bounds how many source files are in flight at once (default 2).
	MaxLineages int
	// CheckpointInterval is how often progress is saved (default 250ms).
	CheckpointInterval time.Duration
	// BlockOptions are passed to every block as Env.Options.
	BlockOptions map[string]string
	// LocalPaths confines the local paths blocks touch (Env.LocalPaths).
	LocalPaths *fsroot.Policy
	// ResultDir, when set, keeps a copy of every result file there as
	// <lineage id>_<result name> (LineageResult.ResultPath) for download.
	ResultDir string
	// Spools, when set, keeps every lineage's result spool durable on a
	// store all nodes reach, as one immutable segment per checkpoint
	// (spoolseg.go): StateDir then only has to last as long as the
	// process, and any node resumes the file. Each block gets its own part
	// of it, under blocks/<flow hash>/<block>/ (Env.Objects).
	Spools block.ObjectStore
	// Fence, when set, is handed to every block (Env.Fence): a cluster
	// node that may have been presumed dead sends nothing.
	Fence func(ctx context.Context) error
	// KeepResult, when set, keeps a copy of every result file instead of
	// ResultDir (the shared store): it stores open's content under the
	// lineage's result name and returns the reference it is downloaded by
	// (LineageResult.ResultPath).
	KeepResult func(ctx context.Context, name string, open func() (io.ReadCloser, error)) (ref string, err error)
	// Journal, when set, is handed to every block (Env.Journal), each
	// under its own namespace (flow and block).
	Journal  block.Journal
	Observer Observer
	// Redact, when set, cleans every error message written to result files
	// (the server removes decrypted secret values a connector quoted).
	Redact func(string) string
	// Tap, when set, sees every unit a block receives and emits (preview).
	Tap Tap
	// Calls, when set, is handed to every block (Env.Calls) to receive the
	// API calls destinations make.
	Calls block.CallRecorder
	// Reports, when set, is handed to every block (Env.Reports) to receive
	// the reports blocks write about a lineage (reconciliation).
	Reports block.ReportRecorder
	// Ledger, when set, is handed to every block (Env.Ledger).
	Ledger block.DeliveryLedger
}

// Tap observes units as they pass through blocks, for the live preview.
// Calls are synchronous and may come from several goroutines at once; a
// Tap copies what it keeps, because units are reused after the call.
type Tap interface {
	// UnitIn: block is about to process u.
	UnitIn(block string, u *block.Unit)
	// UnitOut: block emitted u on relation rel (sources emit on success).
	UnitOut(block, rel string, u *block.Unit)
	// UnitFailed: block returned err for u.
	UnitFailed(block string, u *block.Unit, err error)
}

// Observer receives progress; every method must be quick and must not block.
type Observer interface {
	LineageStarted(flow string, it block.Item, lineageID string, resumed bool)
	Progress(bytes int64)
	// Records reports records that became terminal (delivered, filtered, failed).
	Records(n int64)
	LineageDone(r LineageResult)
}

// Flow is a compiled dataflow ready to run.
type Flow struct {
	doc      *dataflow.Document
	opts     Options
	key      string
	workDir  string
	ownWork  *tempWork // the default WorkDir, locked while this flow uses it
	stateDir string
	log      *slog.Logger

	nodes   []*node
	byName  map[string]*node
	sources []*node
	// encoding names the ValueEncoder blocks allowed to encode.
	encoding []string

	runCtx    context.Context
	cancel    context.CancelFunc
	workers   sync.WaitGroup
	finishers sync.WaitGroup
	slots     chan struct{}
	started   bool

	mu     sync.Mutex
	active map[string]*lineage // by ItemKey
	// waiters are ProcessItem calls waiting for their lineage's result.
	waiters map[string]chan LineageResult
	// closed is closed when Close has saved and released every file in
	// flight (ProcessItem waits for it before reporting ErrStopped).
	closed   chan struct{}
	results  []LineageResult
	idle     *sync.Cond
	draining atomic.Bool
	firstErr error
}

type node struct {
	name  string
	spec  *block.Spec
	proc  block.Processor
	src   block.Source
	inst  block.Block
	in    chan *envelope
	edges map[string][]*node
	conds []condEdge
	stats nodeStats
	pass  bool // disabled: pass units through
	// prep is the block's Prepare, called when a unit is queued for it.
	prep preparer
	// recycle: the block's units may carry payloads (block.Recycler,
	// allowRecycling).
	recycle bool
}

// preparer is implemented by a block that wants to see each unit when it is
// queued for it, before Process gets it (http_write logs the request's
// record set then, so one durable round of its write-ahead log covers every
// queued request; blocks/httpwrite Prepare). Prepare runs on the sending
// block's goroutine, must not block, and may not change the unit.
type preparer interface{ Prepare(u *block.Unit) }

type condEdge struct {
	src  string
	expr block.Expr
	to   *node
}

type envelope struct {
	u   *block.Unit
	lin *lineage
	// shadow copies (fan-out of records to a second edge) do not count
	// toward record accounting: the first edge owns the records.
	shadow bool
	// payloads are the lent buffers the unit holds (recycle.go).
	payloads []*payload
}

// Compile validates nothing itself (dataflow.Validate does, before); it
// builds block instances and wires the graph. Every config problem found
// while building is returned together.
func Compile(doc *dataflow.Document, opts Options) (*Flow, error) {
	if opts.Registry == nil {
		return nil, errors.New("engine: no block registry")
	}
	if opts.Checkpointer == nil {
		opts.Checkpointer = NewMemoryCheckpointer()
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 4
	}
	if opts.MaxLineages <= 0 {
		opts.MaxLineages = 2
	}
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = 250 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Compiler == nil {
		opts.Compiler = exprs.NewStep(exprs.Options{Now: opts.Now})
	}
	if opts.CompileExpr == nil {
		opts.CompileExpr = opts.Compiler.Template
	}
	f := &Flow{doc: doc, opts: opts, key: opts.FlowKey, byName: map[string]*node{}, active: map[string]*lineage{}, waiters: map[string]chan LineageResult{}, closed: make(chan struct{})}
	if f.key == "" {
		f.key = doc.Name
	}
	f.idle = sync.NewCond(&f.mu)
	f.log = opts.Logger
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	f.workDir = opts.WorkDir
	if f.workDir == "" {
		tw, err := newTempWork(opts.TempRoot, f.log)
		if err != nil {
			return nil, err
		}
		f.workDir, f.ownWork = tw.dir, tw
	}
	f.stateDir = opts.StateDir
	if f.stateDir == "" {
		f.stateDir = f.workDir
	}
	flow, err := f.build(doc)
	if err != nil {
		f.closeBlocks()
		f.removeWork()
		return nil, err
	}
	return flow, nil
}

// build creates the block instances and wires the graph.
func (f *Flow) build(doc *dataflow.Document) (*Flow, error) {
	opts := f.opts
	var problems []string
	for i := range doc.Blocks {
		b := &doc.Blocks[i]
		spec, ok := opts.Registry.Lookup(b.Type)
		if !ok {
			problems = append(problems, fmt.Sprintf("blocks[%d] (%s): unknown block type %q", i, b.Name, b.Type))
			continue
		}
		cfg, probs := spec.CompileConfig(b.Config, opts.Resolver, opts.Compiler)
		for _, p := range probs {
			problems = append(problems, fmt.Sprintf("blocks[%d].config.%s", i, p.Error()))
		}
		if len(probs) > 0 {
			continue
		}
		n := &node{name: b.Name, spec: spec, edges: map[string][]*node{}, pass: b.Disabled}
		n.stats.name, n.stats.typ = b.Name, spec.Type
		blockDir := filepath.Join(f.workDir, "blocks", b.Name)
		if err := os.MkdirAll(blockDir, 0o700); err != nil {
			return nil, err
		}
		stateDir := filepath.Join(f.stateDir, "blocks", f.keyHash(), b.Name)
		if err := os.MkdirAll(stateDir, 0o700); err != nil {
			return nil, err
		}
		env := &block.Env{
			Flow: doc.Name, FlowID: f.key, Block: b.Name, Logger: f.log, WorkDir: blockDir, StateDir: stateDir,
			CompileExpr: opts.CompileExpr, Now: opts.Now, Sandbox: opts.Sandbox, Options: opts.BlockOptions, LocalPaths: opts.LocalPaths,
			Calls: opts.Calls, Reports: opts.Reports, Ledger: opts.Ledger, Journal: blockJournal(opts.Journal, f.keyHash(), b.Name),
			Objects: block.ObjectsUnder(opts.Spools, "blocks/"+f.keyHash()+"/"+b.Name+"/"), Fence: opts.Fence,
		}
		if opts.Resolver != nil {
			env.Resolve = opts.Resolver.Resolve
		}
		inst, err := spec.New(cfg, env)
		if err != nil {
			problems = append(problems, fmt.Sprintf("blocks[%d] (%s): %v", i, b.Name, err))
			continue
		}
		n.inst = inst
		switch spec.Class {
		case block.ClassSource:
			src, ok := inst.(block.Source)
			if !ok {
				problems = append(problems, fmt.Sprintf("blocks[%d] (%s): %s does not implement a source", i, b.Name, spec.Type))
				continue
			}
			n.src = src
			f.sources = append(f.sources, n)
		default:
			proc, ok := inst.(block.Processor)
			if !ok {
				problems = append(problems, fmt.Sprintf("blocks[%d] (%s): %s does not implement a processor", i, b.Name, spec.Type))
				continue
			}
			n.proc = proc
			n.in = make(chan *envelope, opts.QueueSize)
			if p, ok := inst.(preparer); ok && !n.pass {
				n.prep = p
			}
		}
		f.nodes = append(f.nodes, n)
		f.byName[b.Name] = n
	}
	for i := range doc.Blocks {
		b := &doc.Blocks[i]
		from, ok := f.byName[b.Name]
		if !ok {
			continue
		}
		for j, r := range b.Relations {
			to, ok := f.byName[r.To]
			if !ok || to.proc == nil {
				problems = append(problems, fmt.Sprintf("blocks[%d].relations[%d]: no executor block named %q", i, j, r.To))
				continue
			}
			on := r.RelationOn()
			if strings.Contains(on, "${") {
				x, err := opts.Compiler.Condition(on)
				if err != nil {
					problems = append(problems, fmt.Sprintf("blocks[%d].relations[%d].on: %v", i, j, err))
					continue
				}
				from.conds = append(from.conds, condEdge{src: on, expr: x, to: to})
				continue
			}
			from.edges[on] = append(from.edges[on], to)
		}
	}
	if len(f.sources) == 0 && len(problems) == 0 {
		problems = append(problems, "the dataflow has no source block")
	}
	if len(problems) > 0 {
		return nil, &CompileError{Problems: problems}
	}
	f.allowEncodedValues()
	f.allowRecycling()
	return f, nil
}

// allowEncodedValues lets a block hand on pre-encoded record values
// (block.ValueEncoder) when nothing its success output reaches looks inside
// them: every block downstream is block.OpaqueValues, no relation there has
// a condition, and no preview taps the units (it shows the values). The
// flagship job's jslt_transform → filter → http_write is such a chain, and
// writing each row's payload once, straight from its columns, is most of
// what separates it from a hand-written program.
func (f *Flow) allowEncodedValues() {
	if f.opts.Tap != nil {
		return
	}
	for _, n := range f.nodes {
		enc, ok := n.inst.(block.ValueEncoder)
		if !ok || n.pass || len(n.conds) > 0 || len(n.edges[block.RelSuccess]) == 0 {
			continue
		}
		if opaqueDownstream(n.edges[block.RelSuccess]) {
			enc.EncodeValues()
			f.encoding = append(f.encoding, n.name)
		}
	}
}

// EncodingBlocks names the blocks that hand on pre-encoded record values
// (block.ValueEncoder), in document order.
func (f *Flow) EncodingBlocks() []string { return f.encoding }

// opaqueDownstream reports whether every node reachable from start, on any
// relation, reads record values only as block.OpaqueValues allows.
// Disabled nodes pass units through and are looked through.
func opaqueDownstream(start []*node) bool {
	seen := map[*node]bool{}
	stack := append([]*node(nil), start...)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n] {
			continue
		}
		seen[n] = true
		if len(n.conds) > 0 {
			return false
		}
		if !n.pass {
			o, ok := n.inst.(block.OpaqueValues)
			if !ok || !o.OpaqueValues() {
				return false
			}
		}
		for _, to := range n.edges {
			stack = append(stack, to...)
		}
	}
	return true
}

// keyHash names the flow's directory under the state directory, which
// several flows may share (the server's, a user's checkpoint directory).
func (f *Flow) keyHash() string {
	h := sha256.Sum256([]byte(f.key))
	return hex.EncodeToString(h[:8])
}

// removeWork deletes the default work directory (after Close, or when
// Compile fails).
func (f *Flow) removeWork() {
	if f.ownWork != nil {
		f.ownWork.remove()
		f.ownWork = nil
	}
}

// CompileError lists every problem found while building a flow.
type CompileError struct{ Problems []string }

func (e *CompileError) Error() string {
	return "dataflow cannot run:\n  " + strings.Join(e.Problems, "\n  ")
}

func (f *Flow) now() time.Time { return f.opts.Now() }

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Start launches the block workers. Units flow until Close or cancellation.
func (f *Flow) Start(ctx context.Context) error {
	if f.started {
		return errors.New("engine: flow already started")
	}
	f.started = true
	f.runCtx, f.cancel = context.WithCancel(ctx)
	f.slots = make(chan struct{}, f.opts.MaxLineages)
	for _, n := range f.nodes {
		if st, ok := n.inst.(block.Starter); ok {
			if err := st.Start(f.runCtx); err != nil {
				return fmt.Errorf("block %s: start: %w", n.name, err)
			}
		}
	}
	for _, n := range f.nodes {
		if n.proc == nil {
			continue
		}
		if c := n.concurrency(); c > 1 {
			f.startOrdered(n, c)
			continue
		}
		f.workers.Add(1)
		go f.work(n)
	}
	f.workers.Add(1)
	go f.checkpointLoop()
	return nil
}

// Poll asks every source for eligible inputs and starts a lineage for each
// one this process can claim. It returns how many it started. It blocks
// while MaxLineages files are in flight (back-pressure on the source).
func (f *Flow) Poll(ctx context.Context) (int, error) {
	started := 0
	var errs []error
	for _, src := range f.sources {
		if f.draining.Load() {
			break
		}
		items, err := src.src.List(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("block %s: list: %w", src.name, err))
			continue
		}
		for _, it := range items {
			if f.draining.Load() || ctx.Err() != nil || f.runCtx.Err() != nil {
				break
			}
			ok, err := f.startLineage(ctx, src, it)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if ok {
				started++
			}
		}
	}
	return started, errors.Join(errs...)
}

func (f *Flow) startLineage(ctx context.Context, src *node, it block.Item) (bool, error) {
	f.mu.Lock()
	_, busy := f.active[ItemKey(it)]
	f.mu.Unlock()
	if busy {
		return false, nil
	}
	select {
	case f.slots <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	case <-f.runCtx.Done():
		return false, f.runCtx.Err()
	}
	release := func() { <-f.slots }
	if f.draining.Load() {
		// Drained (paused, or replaced by a new version) while waiting for
		// a slot: the file is left for a later poll.
		release()
		return false, nil
	}
	cp, ok, err := f.opts.Checkpointer.Claim(ctx, f.key, it)
	if err != nil || !ok {
		release()
		if err != nil {
			return false, fmt.Errorf("claim %s: %w", it.Key, err)
		}
		return false, nil
	}
	l, err := f.newLineage(src, it, cp)
	if err != nil {
		release()
		_ = f.opts.Checkpointer.Release(ctx, f.key, it)
		return false, err
	}
	if l.resumed {
		f.resumeBlocks(ctx, l)
	}
	// Saved now rather than at the first periodic checkpoint, which a run
	// killed early never reaches. A resumed lineage counts its interruption
	// once (the next resume would count it again as the first); a new one
	// makes its id durable before any of its records can be sent, so a
	// process killed before its first periodic save resumes this lineage —
	// its write-ahead log and idempotency keys — instead of starting a new
	// one that sends again what the dead one delivered.
	if err := l.save(ctx); err != nil {
		f.log.Error("checkpoint", "flow", f.key, "lineage", l.id, "err", err)
	}
	if stream, ok := src.src.(block.Stream); ok {
		f.runWindow(ctx, src, stream, it, l)
		return true, nil
	}
	var u *block.Unit
	switch {
	case l.completing:
		// Every record was terminal before the interruption: nothing is
		// read or sent again, only the lineage's completion is left.
		f.log.Info("file resumes its completion", "flow", f.key, "file", it.Key, "lineage", l.id)
	case l.fileErr == nil:
		u, err = src.src.Open(ctx, it)
		if err != nil {
			// Opening failed (vanished file, permissions): the lineage fails as
			// a whole and the source moves the file to its error location.
			l.fileErr = fmt.Errorf("open %s: %w", it.Key, err)
			u = nil
		}
	default:
		// It cannot resume (its result spool or a block's output does not
		// match the checkpoint).
		f.log.Error("file cannot resume", "flow", f.key, "file", it.Key, "lineage", l.id, "err", l.fileErr)
	}
	f.mu.Lock()
	f.active[ItemKey(it)] = l
	f.mu.Unlock()
	if f.opts.Observer != nil {
		f.opts.Observer.LineageStarted(f.key, it, l.id, l.resumed)
	}
	f.log.Info("file picked up", "flow", f.key, "file", it.Key, "size", it.Size, "lineage", l.id, "resumed", l.resumed)
	if u != nil {
		u.Lineage = lineageView{l}
		if u.Attrs == nil {
			u.Attrs = block.Attributes{}
		}
		u.Attrs[block.AttrLineageID] = l.id
		if d := u.Attrs["file.delimiter"]; len(d) == 1 {
			l.delim = d[0]
		}
		if r := u.Attrs["report.status.code"]; r == "success" || r == "failure" {
			l.report = r
		}
		src.stats.unitsOut.Add(1)
		l.countBlock(src.name, src.spec.Type, block.RelSuccess, u)
		if f.opts.Tap != nil {
			f.opts.Tap.UnitOut(src.name, block.RelSuccess, u)
		}
		if err := f.route(f.runCtx, src, &envelope{u: u, lin: l}, block.RelSuccess); err != nil {
			l.mu.Lock()
			if l.fileErr == nil {
				l.fileErr = err
			}
			l.mu.Unlock()
		}
	}
	l.mu.Lock()
	l.opened = true
	l.mu.Unlock()
	f.maybeComplete(l)
	return true, nil
}

// resumeBlocks lets the blocks whose resume state refers to something
// outside the checkpoint verify it (block.LineageResumer) before any unit of
// the resumed lineage flows; a failure fails the lineage as a whole. Blocks
// that already ended the lineage before the interruption are not asked.
func (f *Flow) resumeBlocks(ctx context.Context, l *lineage) {
	if l.ended {
		return
	}
	for _, n := range f.nodes {
		r, ok := n.inst.(block.LineageResumer)
		if !ok {
			continue
		}
		if err := r.ResumeLineage(ctx, lineageView{l}); err != nil {
			f.log.Error("block cannot resume the file", "flow", f.key, "block", n.name, "file", l.item.Key, "lineage", l.id, "err", err)
			l.mu.Lock()
			if l.fileErr == nil {
				l.fileErr = &resumeError{msg: fmt.Sprintf("cannot resume %s: block %s: %v", l.item.Name, n.name, err)}
			}
			l.mu.Unlock()
		}
	}
}

// work is a block's worker loop.
func (f *Flow) work(n *node) {
	defer f.workers.Done()
	for {
		select {
		case <-f.runCtx.Done():
			// Queued units are abandoned: their lineages are released with
			// their checkpoints and resume later.
			return
		case env := <-n.in:
			f.process(n, env)
		}
	}
}

func (f *Flow) process(n *node, env *envelope) { f.processWith(n, env, nil) }

// processWith runs one unit through n. With buffered set, emissions are
// collected for ordered release by the caller.
func (f *Flow) processWith(n *node, env *envelope, buffered *[]pendingEmit) {
	l := env.lin
	forwarded := false
	defer func() {
		if !forwarded {
			// Process returned: the unit's buffers are only held by what
			// it emitted (block.Transient).
			env.done()
		}
		l.mu.Lock()
		l.outstanding--
		l.mu.Unlock()
		f.maybeComplete(l)
	}()
	u := env.u
	n.stats.unitsIn.Add(1)
	if u.Batch != nil {
		n.stats.recordsIn.Add(int64(len(u.Batch.Records)))
	}
	if !env.shadow {
		l.countBlock(n.name, n.spec.Type, "in", u)
	}
	if f.runCtx.Err() != nil {
		return // stopped: in-flight work is abandoned and resumed later
	}
	if f.opts.Tap != nil && !env.shadow {
		f.opts.Tap.UnitIn(n.name, u)
	}
	if n.pass {
		if f.opts.Tap != nil && !env.shadow {
			f.opts.Tap.UnitOut(n.name, block.RelSuccess, u)
		}
		forwarded = true // env itself goes on, with its payloads
		_ = f.route(f.runCtx, n, env, block.RelSuccess)
		return
	}
	out := &emitter{f: f, n: n, env: env, buffered: buffered}
	start := time.Now()
	err := safeProcess(f.runCtx, n.proc, u, out)
	n.stats.busyNs.Add(int64(time.Since(start)))
	if f.runCtx.Err() != nil {
		return
	}
	if err == nil {
		if u.Batch != nil && !env.shadow && out.emitted == 0 && !out.acked {
			// A block that consumed records without passing them on or
			// acknowledging them is their end of the line: delivered there.
			l.terminal(u.Batch, block.Delivered, n.name)
		}
		return
	}
	n.stats.errors.Add(1)
	if f.opts.Tap != nil && !env.shadow {
		f.opts.Tap.UnitFailed(n.name, u, err)
	}
	if u.Batch != nil {
		for i := range u.Batch.Records {
			r := &u.Batch.Records[i]
			if r.Outcome.Status == block.Pending {
				r.Fail(n.name, 0, err.Error())
			}
		}
		_ = out.Emit(f.runCtx, block.RelFailure, u)
		return
	}
	// A file-level failure: a failure edge gets the file; otherwise the
	// whole lineage fails and the source moves the file to its error place.
	if len(n.edges[block.RelFailure]) > 0 {
		fu := u.Derive()
		fu.File = u.File
		fu.Attrs[block.ErrorAttr] = err.Error()
		_ = out.Emit(f.runCtx, block.RelFailure, fu)
		return
	}
	f.log.Warn("file failed", "flow", f.key, "block", n.name, "lineage", l.id, "err", err)
	l.mu.Lock()
	if l.fileErr == nil {
		l.fileErr = fmt.Errorf("block %s: %w", n.name, err)
	}
	l.mu.Unlock()
}

// safeProcess turns a block's panic into an error: one bad block or input
// must never take the process down.
func safeProcess(ctx context.Context, p block.Processor, u *block.Unit, out block.Output) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error in block: %v", r)
		}
	}()
	return p.Process(ctx, u, out)
}

// emitter implements block.Output for one Process call.
type emitter struct {
	f       *Flow
	n       *node
	env     *envelope
	emitted int
	acked   bool
	// buffered, when set, collects emissions instead of routing them: a
	// block running several units at once releases them in input order.
	buffered *[]pendingEmit
	// lent are the buffers the block lent to units it is about to emit
	// (Recycle).
	lent []lentPayload
}

type pendingEmit struct {
	rel string
	env *envelope
}

func (e *emitter) Emit(ctx context.Context, rel string, u *block.Unit) error {
	if rel == "" {
		rel = block.RelSuccess
	}
	l := e.env.lin
	e.emitted++
	u.Lineage = lineageView{l}
	if u.Attrs == nil {
		u.Attrs = block.Attributes{}
	}
	if u.Batch != nil && !e.env.shadow && e.env.u.Batch == nil {
		l.born(u.Batch) // a file became records here
	}
	st := &e.n.stats
	st.unitsOut.Add(1)
	if !e.env.shadow {
		l.countBlock(e.n.name, e.n.spec.Type, rel, u)
		if e.f.opts.Tap != nil {
			e.f.opts.Tap.UnitOut(e.n.name, rel, u)
		}
	}
	if u.Batch != nil {
		k := int64(len(u.Batch.Records))
		switch rel {
		case block.RelFailure:
			st.recordsFailed.Add(k)
		case block.RelFiltered:
			st.recordsFiltered.Add(k)
		default:
			// Records a destination already acknowledged (and counted) and
			// now passes on are not counted twice.
			var n int64
			for i := range u.Batch.Records {
				if u.Batch.Records[i].Outcome.Status != block.Delivered {
					n++
				}
			}
			st.recordsOut.Add(n)
		}
	}
	env := &envelope{u: u, lin: l, shadow: e.env.shadow}
	e.carry(env, u)
	if e.buffered != nil {
		// Count it in flight now so the lineage cannot complete before the
		// buffered unit is released.
		l.mu.Lock()
		l.outstanding++
		l.mu.Unlock()
		*e.buffered = append(*e.buffered, pendingEmit{rel: rel, env: env})
		return nil
	}
	return e.f.route(ctx, e.n, env, rel)
}

// Reaches implements block.Reacher: a unit emitted on rel is read further
// when rel has an edge or a condition, or a tap watches the flow.
func (e *emitter) Reaches(rel string) bool {
	if rel == "" {
		rel = block.RelSuccess
	}
	if e.f.opts.Tap != nil || len(e.n.edges[rel]) > 0 {
		return true
	}
	return rel == block.RelSuccess && len(e.n.conds) > 0
}

func (e *emitter) Ack(u *block.Unit, state []byte) {
	l := e.env.lin
	e.acked = true
	if u.Batch != nil {
		e.n.stats.recordsOut.Add(int64(len(u.Batch.Records)))
	}
	if !e.env.shadow {
		l.terminalWithState(u.Batch, block.Delivered, e.n.name, state)
	}
}

func (e *emitter) Progress(bytes int64) {
	e.n.stats.bytes.Add(bytes)
	if e.f.opts.Observer != nil {
		e.f.opts.Observer.Progress(bytes)
	}
}

// route sends env on relation rel of n: to every edge target (the first one
// owns record accounting), to every condition edge whose expression holds,
// or — with no target — makes the records terminal.
func (f *Flow) route(ctx context.Context, n *node, env *envelope, rel string) error {
	targets := n.edges[rel]
	if rel == block.RelSuccess && len(n.conds) > 0 {
		targets = append([]*node(nil), targets...)
		for _, c := range n.conds {
			ok, err := c.expr.EvalBool(env.u.Attrs)
			if err != nil {
				f.log.Warn("relation condition failed", "flow", f.key, "block", n.name, "condition", c.src, "err", err)
				continue
			}
			if ok {
				targets = append(targets, c.to)
			}
		}
	}
	if len(targets) == 0 {
		if env.u.Batch != nil && !env.shadow {
			status := block.Delivered
			switch rel {
			case block.RelFailure:
				status = block.Failed
			case block.RelFiltered:
				status = block.Filtered
			}
			env.lin.terminal(env.u.Batch, status, n.name)
		}
		env.done()
		return nil
	}
	// The copies for further targets are made before the unit goes to the
	// first: from then on it is that block's (it may change the records,
	// and its envelope may let go of the unit's payloads).
	var copies []*envelope
	for range targets[1:] {
		e := &envelope{u: cloneUnit(env.u), lin: env.lin, shadow: true}
		copyPayloads(e, env)
		copies = append(copies, e)
	}
	for i, t := range targets {
		e := env
		if i > 0 {
			e = copies[i-1]
		}
		env.lin.mu.Lock()
		env.lin.outstanding++
		env.lin.mu.Unlock()
		if t.prep != nil {
			t.prep.Prepare(e.u)
		}
		select {
		case t.in <- e:
		case <-ctx.Done():
			env.lin.mu.Lock()
			env.lin.outstanding--
			env.lin.mu.Unlock()
			return ctx.Err()
		}
	}
	return nil
}

func cloneUnit(u *block.Unit) *block.Unit {
	c := u.Derive()
	c.File = u.File
	if u.Batch != nil {
		b := u.Batch.With(make([]block.Record, len(u.Batch.Records)))
		copy(b.Records, u.Batch.Records)
		c.Batch = b
	}
	return c
}

func (f *Flow) maybeComplete(l *lineage) {
	l.mu.Lock()
	if l.completed || !l.opened || l.outstanding > 0 {
		l.mu.Unlock()
		return
	}
	if f.runCtx.Err() != nil {
		l.mu.Unlock()
		return // stopped: not complete; released by Close
	}
	l.completed = true
	l.mu.Unlock()
	f.finishers.Add(1)
	go f.complete(l)
}

// complete finishes a lineage: result file, per-block lineage ends, the
// source's move and upload, the claim, the observer.
func (f *Flow) complete(l *lineage) {
	defer f.finishers.Done()
	ctx := context.WithoutCancel(f.runCtx)
	res := LineageResult{
		ID: l.id, Flow: f.key, Source: l.source.name, Item: l.item,
		Started: l.started, Resumed: l.resumed, Interruptions: l.interrupts,
	}
	l.mu.Lock()
	res.Counts = l.counts
	res.StatusCodes = l.statusCodes.export()
	res.Errors, res.Warnings = errorList(l.errors), l.warnings
	fileErr := l.fileErr
	l.mu.Unlock()
	switch {
	case fileErr != nil:
		res.Status, res.Error = StatusFailure, fileErr.Error()
	case res.Counts.Failed > 0 && res.Counts.Failed == res.Counts.In:
		res.Status = StatusFailure
	case res.Counts.Failed > 0:
		res.Status = StatusPartial
	default:
		res.Status = StatusSuccess
	}
	// Every record is terminal: saying so before the blocks end the lineage
	// (a file destination publishes its output then) means a run resuming
	// after a kill from here on sends nothing again — and does not continue
	// an output that was already published, which left a hole of NUL bytes.
	l.mu.Lock()
	first := !l.completing
	l.completing = true
	ended := l.ended
	l.mu.Unlock()
	if first {
		if err := l.save(ctx); err != nil {
			f.log.Error("checkpoint", "flow", f.key, "lineage", l.id, "err", err)
		}
	}
	var endErrs []error
	if !ended {
		for _, n := range f.nodes {
			if le, ok := n.inst.(block.LineageEnder); ok {
				if err := le.EndLineage(ctx, l.id, fileErr == nil); err != nil {
					endErrs = append(endErrs, fmt.Errorf("block %s: %w", n.name, err))
				}
			}
		}
		if len(endErrs) == 0 {
			l.mu.Lock()
			l.ended = true
			l.mu.Unlock()
			if err := l.save(ctx); err != nil {
				f.log.Error("checkpoint", "flow", f.key, "lineage", l.id, "err", err)
			}
		}
	}
	if len(endErrs) > 0 && fileErr == nil {
		fileErr = errors.Join(endErrs...)
		res.Status, res.Error = StatusFailure, fileErr.Error()
	}
	openResult, rows, err := l.resultFile(fileErr)
	if err != nil {
		// The records' outcomes stand, but without a trustworthy result
		// file the run cannot report success.
		f.log.Error("result file", "flow", f.key, "lineage", l.id, "err", err)
		if res.Error == "" {
			res.Status, res.Error = StatusFailure, "result file: "+err.Error()
		}
	}
	ts := f.now().UTC().Format("20060102150405")
	// A zip member's name is its path in the archive (a/cust.csv): the
	// result file is one file, named after the whole path.
	res.ResultName = "result_" + ts + "_" + strings.ReplaceAll(l.item.Name, "/", "_")
	res.ResultRows = rows
	c := &block.Completion{
		Status: res.Counts, Err: fileErr, ResultName: res.ResultName, HasResult: err == nil && (rows > 0 || l.report == "all"),
		Result: openResult,
	}
	if err := l.source.src.Finish(ctx, l.item, c); err != nil {
		res.FinishError = err.Error()
		f.log.Error("finishing file", "flow", f.key, "file", l.item.Key, "lineage", l.id, "err", err)
	}
	if c.WrittenAs != "" {
		// A result file of that name existed: the source chose another.
		res.ResultName = c.WrittenAs
	}
	// Completed even if the move failed: re-processing would send the
	// records again; the run record shows the finish error instead.
	if err := f.opts.Checkpointer.Complete(ctx, f.key, l.item); err != nil {
		f.log.Error("completing claim", "flow", f.key, "lineage", l.id, "err", err)
	}
	res.Finished = f.now()
	if f.opts.KeepResult != nil && err == nil {
		if ref, kerr := f.opts.KeepResult(ctx, l.id+"_"+res.ResultName, openResult); kerr == nil {
			res.ResultPath = ref
		} else {
			f.log.Warn("keeping result file", "lineage", l.id, "err", kerr)
		}
	} else if f.opts.ResultDir != "" && err == nil {
		keep := filepath.Join(f.opts.ResultDir, l.id+"_"+res.ResultName)
		if kerr := keepResult(openResult, f.opts.ResultDir, keep); kerr == nil {
			res.ResultPath = keep
		} else {
			f.log.Warn("keeping result file", "lineage", l.id, "err", kerr)
		}
	}
	l.mu.Lock()
	res.Blocks = l.blockCounts()
	l.mu.Unlock()
	l.cleanup()
	f.log.Info("file done", "flow", f.key, "file", l.item.Key, "lineage", l.id, "status", res.Status,
		"in", res.Counts.In, "delivered", res.Counts.Delivered, "filtered", res.Counts.Filtered, "failed", res.Counts.Failed)
	if n := l.segUploads.Load(); n > 0 {
		f.log.Info("result spool segments", "flow", f.key, "lineage", l.id, "uploads", n,
			"mean", time.Duration(l.segNanos.Load()/n).String(), "restored", l.restored)
	}
	f.mu.Lock()
	delete(f.active, ItemKey(l.item))
	f.results = append(f.results, res)
	if w, ok := f.waiters[ItemKey(l.item)]; ok {
		delete(f.waiters, ItemKey(l.item))
		w <- res // buffered: the waiter may have given up
	}
	f.idle.Broadcast()
	f.mu.Unlock()
	l.mu.Lock()
	freed := l.slotFreed
	l.slotFreed = true
	l.mu.Unlock()
	if !freed {
		<-f.slots
	}
	if f.opts.Observer != nil {
		f.opts.Observer.LineageDone(res)
	}
}

func (f *Flow) checkpointLoop() {
	defer f.workers.Done()
	t := time.NewTicker(f.opts.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-f.runCtx.Done():
			return
		case <-t.C:
			f.checkpointAll(f.runCtx)
		}
	}
}

func (f *Flow) checkpointAll(ctx context.Context) {
	f.mu.Lock()
	ls := make([]*lineage, 0, len(f.active))
	for _, l := range f.active {
		ls = append(ls, l)
	}
	f.mu.Unlock()
	for _, l := range ls {
		if err := l.checkpoint(ctx); err != nil && ctx.Err() == nil {
			f.log.Error("checkpoint", "flow", f.key, "lineage", l.id, "err", err)
		}
	}
}

// Drain stops picking up new files; in-flight files finish (Pause). A
// stream's open window closes and its source stops fetching.
func (f *Flow) Drain() {
	f.draining.Store(true)
	f.eachStream(block.Stream.Pause)
}

// Resume allows picking up files again after Drain.
func (f *Flow) Resume() {
	f.draining.Store(false)
	f.eachStream(block.Stream.Resume)
}

// Active returns how many files are in flight.
func (f *Flow) Active() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.active)
}

// WaitIdle blocks until no file is in flight or ctx ends.
func (f *Flow) WaitIdle(ctx context.Context) error {
	wake := func() {
		f.mu.Lock()
		f.idle.Broadcast()
		f.mu.Unlock()
	}
	stop := context.AfterFunc(ctx, wake)
	defer stop()
	stopRun := context.AfterFunc(f.runCtx, wake)
	defer stopRun()
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.active) > 0 && ctx.Err() == nil && f.runCtx.Err() == nil {
		f.idle.Wait()
	}
	return ctx.Err()
}

// Stop cancels in-flight work now. In-flight files are released with their
// last checkpoint, so a later run resumes them without resending
// acknowledged records.
func (f *Flow) Stop() { f.cancel() }

// Close ends the run: it waits for finishers, saves the progress of files
// still in flight (after Stop), releases their claims, stops the workers and
// closes the blocks. It returns the results of the files that completed.
func (f *Flow) Close() []LineageResult {
	if f.started {
		// Stop the workers first, so nothing touches a lineage while its
		// progress is saved; lineages already complete finish regardless
		// (their finisher does not depend on the run's context).
		f.cancel()
		f.workers.Wait()
		f.finishers.Wait()
		f.mu.Lock()
		pending := make([]*lineage, 0, len(f.active))
		for _, l := range f.active {
			pending = append(pending, l)
		}
		f.mu.Unlock()
		ctx := context.Background()
		for _, l := range pending {
			_ = l.checkpoint(ctx)
			l.stopSpooler()
			if err := f.opts.Checkpointer.Release(ctx, f.key, l.item); err != nil {
				f.log.Error("releasing claim", "flow", f.key, "lineage", l.id, "err", err)
			}
			l.closeSpool()
		}
	}
	f.closeBlocks()
	f.removeWork()
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.closed:
	default:
		close(f.closed)
	}
	return append([]LineageResult(nil), f.results...)
}

func (f *Flow) closeBlocks() {
	for _, n := range f.nodes {
		if c, ok := n.inst.(block.Closer); ok {
			if err := c.Close(); err != nil {
				f.log.Warn("closing block", "block", n.name, "err", err)
			}
		}
	}
}

// Stats returns a snapshot of every block's counters, in document order.
func (f *Flow) Stats() []BlockStats {
	out := make([]BlockStats, 0, len(f.nodes))
	for _, n := range f.nodes {
		out = append(out, n.stats.snapshot())
	}
	return out
}

// RunOnce starts the flow, polls its sources once, waits for every file
// picked up to complete, and closes it.
func (f *Flow) RunOnce(ctx context.Context) ([]LineageResult, error) {
	if err := f.Start(ctx); err != nil {
		f.Close()
		return nil, err
	}
	_, perr := f.Poll(ctx)
	werr := f.WaitIdle(ctx)
	res := f.Close()
	if werr != nil {
		return res, werr
	}
	return res, perr
}

// concurrency is how many units a block may process at once: the instance's
// own setting (e.g. http_write's concurrency field), else its spec's. Blocks
// that take files stay at one: their output is a stream that cannot be held
// back for ordering.
func (n *node) concurrency() int {
	if n.spec.Input == block.KindFile {
		return 1
	}
	if c, ok := n.inst.(interface{ Concurrency() int }); ok && c.Concurrency() > 0 {
		return c.Concurrency()
	}
	return max(n.spec.Concurrency, 1)
}

type orderedJob struct {
	env  *envelope
	prev <-chan struct{} // closed when the previous unit's output is released
	done chan struct{}
}

// startOrdered runs up to c units of n at once and releases their outputs
// in input order, so result rows, line numbers and groupings keep the
// file's order.
func (f *Flow) startOrdered(n *node, c int) {
	jobs := make(chan orderedJob, c)
	f.workers.Add(1)
	go func() {
		defer f.workers.Done()
		defer close(jobs)
		last := make(chan struct{})
		close(last)
		for {
			select {
			case <-f.runCtx.Done():
				return
			case env := <-n.in:
				j := orderedJob{env: env, prev: last, done: make(chan struct{})}
				last = j.done
				select {
				case jobs <- j:
				case <-f.runCtx.Done():
					return
				}
			}
		}
	}()
	for i := 0; i < c; i++ {
		f.workers.Add(1)
		go func() {
			defer f.workers.Done()
			for j := range jobs {
				var pending []pendingEmit
				f.processWith(n, j.env, &pending)
				select {
				case <-j.prev:
				case <-f.runCtx.Done():
					return
				}
				for _, p := range pending {
					// Emit counted it in flight; route counts again per target.
					_ = f.route(f.runCtx, n, p.env, p.rel)
					p.env.lin.mu.Lock()
					p.env.lin.outstanding--
					p.env.lin.mu.Unlock()
					f.maybeComplete(p.env.lin)
				}
				close(j.done)
			}
		}()
	}
}

// keepResult copies a result file into dir for later download.
func keepResult(open func() (io.ReadCloser, error), dir, dst string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	// Result files hold customer data: readable by the server's user only.
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Hold implements block.Holder: the lineage stays open after Process
// returns, and stops counting against MaxLineages so that a join waiting for
// several files cannot starve the source of the companions it waits for.
func (e *emitter) Hold(u *block.Unit) block.Held {
	l := e.env.lin
	l.mu.Lock()
	l.outstanding++
	release := !l.slotFreed
	l.slotFreed = true
	l.mu.Unlock()
	if release {
		<-e.f.slots
	}
	e.acked = true // the unit is accounted for by the hold
	return &held{f: e.f, n: e.n, env: &envelope{u: u, lin: l, shadow: e.env.shadow}}
}

type held struct {
	f    *Flow
	n    *node
	env  *envelope
	mu   sync.Mutex
	done bool
}

func (h *held) Emit(ctx context.Context, rel string, u *block.Unit) error {
	out := &emitter{f: h.f, n: h.n, env: h.env}
	return out.Emit(ctx, rel, u)
}

func (h *held) Ack(u *block.Unit) {
	out := &emitter{f: h.f, n: h.n, env: h.env}
	out.Ack(u, nil)
}

func (h *held) Fail(err error) {
	l := h.env.lin
	l.mu.Lock()
	if l.fileErr == nil {
		l.fileErr = fmt.Errorf("block %s: %w", h.n.name, err)
	}
	l.mu.Unlock()
	h.Release()
}

func (h *held) Release() {
	h.mu.Lock()
	if h.done {
		h.mu.Unlock()
		return
	}
	h.done = true
	h.mu.Unlock()
	l := h.env.lin
	l.mu.Lock()
	l.outstanding--
	l.mu.Unlock()
	h.f.maybeComplete(l)
}

// blockJournal namespaces j for one block of one flow.
func blockJournal(j block.Journal, flow, blockName string) block.Journal {
	if j == nil {
		return nil
	}
	return &nsJournal{j: j, ns: flow + "/" + blockName + "/"}
}

type nsJournal struct {
	j  block.Journal
	ns string
}

func (n *nsJournal) Append(ctx context.Context, log string, entry []byte) error {
	return n.j.Append(ctx, n.ns+log, entry)
}

func (n *nsJournal) Read(ctx context.Context, log string) ([][]byte, error) {
	return n.j.Read(ctx, n.ns+log)
}

func (n *nsJournal) Remove(ctx context.Context, log string) error { return n.j.Remove(ctx, n.ns+log) }

func (n *nsJournal) Round(ctx context.Context, log string, r block.JournalRound) (block.JournalRoundResult, error) {
	return n.j.Round(ctx, n.ns+log, r)
}

func (n *nsJournal) Delete(ctx context.Context, log string, ids []int64) error {
	return n.j.Delete(ctx, n.ns+log, ids)
}
