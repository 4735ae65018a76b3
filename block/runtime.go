package block

import (
	"context"
	"io"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/connectplus/connectplus/fsroot"
)

// Processor is an executor block: it takes one unit and emits zero or more.
//
// Returning an error fails the whole unit: a file unit fails its lineage (the
// file goes to the error location); a record unit fails all its records with
// the error's message. Per-record failures are reported by setting the
// records' Outcome and emitting them on RelFailure instead.
type Processor interface {
	Process(ctx context.Context, u *Unit, out Output) error
}

// Output is how a block hands units on. It is only valid during the Process
// call it was given to.
type Output interface {
	// Emit passes u downstream on relation rel (RelSuccess, RelFailure,
	// RelFiltered or a block-specific relation). Emit blocks while downstream
	// is full (back-pressure) and returns ctx's error when the run is stopped.
	Emit(ctx context.Context, rel string, u *Unit) error
	// Ack marks every record of u delivered by this block (a destination).
	// state, when not nil, is the block's resume state for the lineage (see
	// Lineage.State), stored atomically with the acknowledgement.
	Ack(u *Unit, state []byte)
	// Progress reports bytes read from a source file, for progress bars.
	Progress(bytes int64)
}

// Lineage is the engine's view of one source file, as seen by blocks.
type Lineage interface {
	ID() string
	// Acked reports whether record seq was already terminal before a restart:
	// the block turning the file into records skips it.
	Acked(seq int64) bool
	// State returns the resume state block saved with its last checkpointed Ack.
	State(block string) []byte
	// Resumed reports whether this lineage continues an interrupted run.
	Resumed() bool
}

// Item is one candidate input a source found.
type Item struct {
	Key     string    // stable identity on the source (its full path)
	Name    string    // file name
	Dir     string    // directory on the source
	Size    int64     // bytes
	ModTime time.Time // modification time
}

// Completion is what a source learns when a lineage it started completes.
type Completion struct {
	Status Outcomes
	// Err is the file-level error when the file failed as a whole.
	Err error
	// ResultName is `result_<timestamp>_<original filename>`; Result opens it.
	ResultName string
	Result     func() (io.ReadCloser, error)
	// HasResult is false when Report Status Code selected no rows and the
	// result file would be empty apart from its header.
	HasResult bool
	// WrittenAs is set by Finish when a result file named ResultName
	// already existed and it wrote this one as WrittenAs instead (see
	// ResultNameVariant): a result file never replaces another.
	WrittenAs string
}

// ResultNameVariant returns the n-th alternative (n >= 2) to a result file
// name result_<timestamp>_<file>: result_<timestamp>-<n>_<file>, which keeps
// the timestamp first and the original file name last. Other names get
// -<n> before their extension.
func ResultNameVariant(name string, n int) string {
	if rest, ok := strings.CutPrefix(name, "result_"); ok {
		if ts, file, ok := strings.Cut(rest, "_"); ok && ts != "" {
			return "result_" + ts + "-" + strconv.Itoa(n) + "_" + file
		}
	}
	ext := path.Ext(name)
	return strings.TrimSuffix(name, ext) + "-" + strconv.Itoa(n) + ext
}

// Outcomes summarises a lineage.
type Outcomes struct {
	In, Delivered, Filtered, Failed, RetryExhausted int64
}

// Source is a source block: it lists candidate inputs, opens them as units
// and finishes them (moves, result files) when their lineage completes.
type Source interface {
	// List returns the inputs currently eligible (name filter applied),
	// in processing order (modification time, then name).
	List(ctx context.Context) ([]Item, error)
	// Open returns the unit for an item. The engine sets its lineage.
	Open(ctx context.Context, it Item) (*Unit, error)
	// Finish moves the item to its processed (or error) location and writes
	// the result file, once every record descended from it is terminal.
	Finish(ctx context.Context, it Item, c *Completion) error
}

// Stream is implemented by sources that read an unbounded stream (a Kafka
// consumer group) instead of listing files. Each Item such a source lists is
// a window of the stream — a time span or a number of records — and becomes
// one lineage, so run records, result files, counts and alerts work as they
// do for a file. The engine does not call Open for a stream: it calls Next
// until the window closes, routing every unit with back-pressure (while
// downstream is full Next is not called, so the source fetches nothing
// more), then Finish once every record of the window has ended.
type Stream interface {
	Source
	// Next waits a short while (well under a second) for the window's next
	// records and returns them as one unit of records numbered seq, seq+1,
	// ... (Record.Seq, assigned in that order), or a nil unit when nothing
	// arrived yet. It returns io.EOF once the window is closed. Records the
	// source already knows are bad (unparseable, oversize) come with
	// Outcome.Status Failed and their reason: the engine ends them there.
	Next(ctx context.Context, it Item, seq int64) (*Unit, error)
	// Pause stops fetching while the flow drains (Pause, a version switch);
	// a consumer stays in its group. Resume fetches again.
	Pause()
	Resume()
	// Ended tells the source that every record of window it numbered upTo
	// or less has ended — delivered, filtered or failed — and that the
	// lineage's checkpoint saying so is stored: the source may now commit
	// their positions upstream. A call may arrive after Finish for the
	// same window (a checkpoint racing the completion): Finish already
	// covered it.
	Ended(ctx context.Context, it Item, upTo int64)
}

// Expr is a compiled expression evaluated against attributes.
type Expr interface {
	EvalString(attrs Lookup) (string, error)
	EvalBool(attrs Lookup) (bool, error)
}

// Lookup resolves attribute names for expressions.
type Lookup interface {
	Get(name string) (string, bool)
}

// Env is what blocks get from the process that runs them. It carries no
// global state: everything a block needs from outside comes through here.
type Env struct {
	// Flow and Block name the dataflow and block (for logs and paths).
	Flow  string
	Block string
	// FlowID identifies the deployment stably across restarts (the server's
	// organisation/dataflow id; a run's document name and path): what
	// ${neoDataflowId} names, e.g. a Kafka consumer group.
	FlowID string
	// Logger is structured; never log secrets.
	Logger *slog.Logger
	// WorkDir is a private scratch directory (spills, temp files). It may
	// not survive the process: nothing that resume state (Output.Ack's
	// state) refers to belongs here.
	WorkDir string
	// StateDir is a private directory that lasts as long as the flow's
	// checkpoints and is the same for every process that may resume its
	// files: files that resume state refers to live here. Empty when the
	// runner keeps no durable state (then use WorkDir).
	StateDir string
	// Journal, when set, is where logs that must be durable and visible
	// to every node go instead of files in StateDir (a cluster whose
	// shared store is S3: StateDir is then this node's own directory).
	Journal Journal
	// Objects, when set, is the block's own part of the store every node
	// reaches (a cluster whose shared store is S3), for state a rescuing
	// node must find that is replaced whole rather than appended to (an
	// http_read pull's progress, pages and watermark).
	Objects ObjectStore
	// Fence, when set, is called by destinations right before a request
	// leaves: it waits while this node may have been presumed dead by the
	// others of its cluster (silent for part of its lease) and never
	// returns nil once it was — its files then belong to another node,
	// and what it would send is theirs to send. It returns ctx's error
	// when ctx ends first.
	Fence func(ctx context.Context) error
	// CompileExpr compiles a NiFi Expression Language property value.
	CompileExpr func(src string) (Expr, error)
	// Now is the clock.
	Now func() time.Time
	// Sandbox, when set, is the base URL API destinations must use instead of
	// the configured one (connectplus run --sandbox).
	Sandbox string
	// Options carries deployment-wide settings (timeouts, host-key policy;
	// OptNode).
	Options map[string]string
	// Resolve, when set, resolves an Extension Configuration by name, for
	// blocks whose connection is a named group of configurations (a Kafka
	// connection) rather than fields of their own.
	Resolve func(name string) (string, error)
	// LocalPaths confines every local file or directory the block reads or
	// writes (connector directories, key files). The server gives each
	// organisation its own root and always forbids its data directory; nil
	// means unconfined with nothing forbidden (tests, programmatic use).
	LocalPaths *fsroot.Policy
	// Calls, when set, receives every API call destination blocks make
	// (observability); nil records nothing.
	Calls CallRecorder
	// Reports, when set, receives the reports blocks write about a lineage
	// (reconciliation); nil keeps none beyond what the block emits.
	Reports ReportRecorder
	// Ledger, when set, lists the result files the runtime kept of a
	// dataflow's runs (the delivery ledger reconciliation compares with).
	Ledger DeliveryLedger
}

// Log returns a logger for the block, never nil.
func (e *Env) Log() *slog.Logger {
	if e == nil || e.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Logger.With("flow", e.Flow, "block", e.Block)
}

// Clock returns the current time from Env.Now or the system clock.
func (e *Env) Clock() time.Time {
	if e != nil && e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Template is a compiled property value that may contain NiFi expressions.
type Template struct {
	src  string
	expr Expr
}

// CompileTemplate compiles a supportsExpressions field value. Values without
// "${" are used literally and need no compiler.
func (e *Env) CompileTemplate(src string) (*Template, error) {
	t := &Template{src: src}
	if e == nil || e.CompileExpr == nil || !containsExpr(src) {
		return t, nil
	}
	x, err := e.CompileExpr(src)
	if err != nil {
		return nil, err
	}
	t.expr = x
	return t, nil
}

func containsExpr(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '$' && (s[i+1] == '{' || s[i+1] == '$') {
			return true
		}
	}
	return false
}

// Eval renders the template against attrs.
func (t *Template) Eval(attrs Lookup) (string, error) {
	if t == nil {
		return "", nil
	}
	if t.expr == nil {
		return t.src, nil
	}
	return t.expr.EvalString(attrs)
}

// Source returns the template's text.
func (t *Template) Source() string { return t.src }

// LineageEnder is implemented by processors that keep per-lineage state
// (a records file being assembled, an open upload): the engine calls
// EndLineage once every unit of the lineage is terminal, before the source
// moves the file. ok is false when the lineage failed as a whole.
type LineageEnder interface {
	EndLineage(ctx context.Context, lineageID string, ok bool) error
}

// LineageResumer is implemented by processors whose resume state refers to
// something outside the checkpoint (a records file being assembled on the
// destination): the engine calls ResumeLineage when an interrupted lineage
// is picked up again, before any of its units flows, so the block verifies
// what its state refers to — and can end the lineage even if no unit
// reaches it again (every record was acknowledged before the interruption).
// An error fails the lineage as a whole, with the error as the reason.
type LineageResumer interface {
	ResumeLineage(ctx context.Context, l Lineage) error
}

// ErrorAttr is the attribute a failed file unit carries on a failure edge.
const ErrorAttr = "error.message"

// Reacher is implemented by the engine's Output. Reaches reports whether a
// unit emitted on rel goes on to anything that reads it: a block, a
// relation condition, a preview. When it does not, the unit's records only
// become terminal there and its attributes are never read, so a block may
// emit it without a copy of its input's attributes (nil Attrs).
type Reacher interface {
	Reaches(rel string) bool
}

// Holder is implemented by the engine's Output: a block that must wait for
// other inputs before it can finish a unit (a join waiting for the companion
// files of a set) holds the unit's lineage open past its Process call.
type Holder interface {
	Hold(u *Unit) Held
}

// Held is a lineage kept open by a block. Exactly one of Release or Fail
// ends it; Emit may be called before that, from any goroutine.
type Held interface {
	// Emit hands a unit on in the held lineage (e.g. the joined file).
	Emit(ctx context.Context, rel string, u *Unit) error
	// Ack marks u's records delivered by the block (their content went into
	// something the block emitted, e.g. a merged file).
	Ack(u *Unit)
	// Fail ends the lineage with a file-level error: the source moves the
	// file to its error location.
	Fail(err error)
	// Release ends the block's hold; the lineage completes once nothing
	// else of it is in flight.
	Release()
}

// ValueEncoder is implemented by blocks that can hand on the record values
// they build already encoded (jsonv.RawJSON, what jsonv.Append would write)
// instead of as value trees: the cheap form when the values are only going
// to be written out as JSON. The engine calls EncodeValues before the flow
// starts, and only when every block its success output can reach is an
// OpaqueValues block saying true (and no live preview taps the units).
type ValueEncoder interface {
	EncodeValues()
}

// OpaqueValues is implemented by blocks that read record values only by
// encoding them (jsonv.Append, Batch.AppendJSON, Batch.AppendRecordJSON) or
// through Batch.Value and RecordLookup (which decode jsonv.RawJSON), so that
// pre-encoded values behave exactly like the trees they stand for. Such a
// block says true when its configuration keeps to that.
type OpaqueValues interface {
	OpaqueValues() bool
}

// OptNode is the Env.Options entry naming the cluster node the process
// runs as (`connectplus server --node-name`); absent outside a cluster.
// StateDir is shared by every node, so state that belongs to one process's
// own work (a stream source's list of its unfinished windows) is kept per
// node.
const OptNode = "cluster.node"

// Recycler is implemented by the engine's Output. A block that builds the
// content of a unit it emits in a buffer of its own (an output buffer, a
// record array) asks with Recycle, before Emit(u), to be told when that
// buffer is free again: free is called once, from any goroutine, after u
// and every unit derived from it downstream (a filter's kept and filtered
// halves, the units their blocks emit in turn) are done — processed by
// every block they reach and their records terminal. The block may then
// reuse the buffer, so that large per-unit allocations stop churning the
// collector.
//
// Recycle reports false when the engine cannot tell when the buffer is free
// — a preview taps the units, or a block that u may reach is not
// Transient — and then never calls free: the block must not reuse what u
// holds. A unit Recycle was asked for and never emitted never gets free.
//
// free does not wait for the engine's own copies: a record's Raw (and the
// strings of its Cols) stay referenced by the result spooler until its row
// is written, after the unit is done, so the bytes behind them must not be
// recycled this way. The Cols slice itself is only kept when Raw is empty
// or does not stand for the row (Cols not as long as the header of the
// lineage's first batch).
// Record values (Value) and the Records array itself are not kept.
type Recycler interface {
	Recycle(u *Unit, free func()) bool
	// Recycles reports whether Recycle accepts buffers for the units this
	// block emits, for a block that prepares its buffers differently when
	// they are going to be reused.
	Recycles() bool
}

// Transient is implemented by processors that keep nothing of a unit past
// their Process call: no record, value, column or byte of it is read after
// Process returns, except through the units it emitted (what a block needs
// later, it copies — http_write's request bodies, the result rows the
// engine spools). Only then may buffers a unit shares with the units it was
// derived from be reused once they are done (Recycler). A block says true
// when its configuration keeps to that.
type Transient interface {
	Transient() bool
}
