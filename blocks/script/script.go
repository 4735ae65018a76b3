// Package script holds script_transform: the custom logic users reach for
// a Neo dataflow for, run locally as JavaScript (lang/javascript, goja) in
// a sandbox with no I/O and per-call time and memory limits.
package script

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/lang/javascript"
)

// DefaultScript is the editor's starting point.
const DefaultScript = `// records: the batch (an array of objects); context: {attributes, flow, block}.
// Return an array: element i is record i's new value (null filters it out).
function transform(records, context) {
  return records.map(function (r) {
    return r;
  });
}
`

// Spec is script_transform.
var Spec = &block.Spec{
	Type: "script_transform", Label: "Script (JavaScript)", Class: block.ClassExecutor, Category: "Transformation",
	Description: "Transforms each batch of records with a JavaScript function transform(records, context), run in-process in a sandbox: no filesystem, network, timers or modules, a fresh runtime per call, and a time and a memory limit per call. " +
		"records is the batch as an array of JSON objects; context holds the unit's attributes (context.attributes), the flow and the block name. " +
		"Return an array of the batch's length: element i is record i's new value, and null (or undefined) filters record i out; any other result is one payload for the whole batch (the first record carries it, the others ride along). " +
		"A thrown error fails the records that raise it — the block runs the function on each record of the batch alone to find them, with the script's line and column in the message — and the others continue; running past the time or memory limit fails the whole batch.",
	Input: block.KindRecords, Output: block.KindRecords,
	Relations: []string{block.RelFiltered},
	Fields: []block.Field{
		{Key: "script", Label: "Script", Type: block.TypeText, Required: true, Lang: block.LangJavaScript, Default: DefaultScript,
			Description: "JavaScript (ES5.1 and most of ES2015+) defining function transform(records, context) at its top level; console.log writes to the run's log."},
		{Key: "timeout", Label: "Time Limit", Type: block.TypeString, Default: "5s", Advanced: true,
			Description: "How long one call may run (a Go duration: 500ms, 5s, 1m); past it the call is interrupted and the batch fails."},
		{Key: "maxMemoryMB", Label: "Memory Limit (MB)", Type: block.TypeInt, Default: "256", Min: block.Bound(1), Max: block.Bound(8192), Advanced: true,
			Description: "How much the heap may grow during one call; past it the call is interrupted and the batch fails."},
	},
	Check: func(c *block.Config) []block.Problem {
		if d, err := time.ParseDuration(c.String("timeout")); err != nil || d <= 0 {
			return []block.Problem{{Path: "timeout", Message: fmt.Sprintf("timeout %q is not a positive duration such as 5s", c.String("timeout"))}}
		}
		return nil
	},
	New: newBlock,
}

// Register adds script_transform to r.
func Register(r *block.Registry) { r.MustRegister(Spec) }

type transform struct {
	name string
	flow string
	prg  *javascript.Program
	lim  javascript.Limits
}

func newBlock(c *block.Config, env *block.Env) (block.Block, error) {
	prg, ok := c.Compiled("script").(*javascript.Program)
	if !ok {
		return nil, errors.New("script: the script was not compiled (build blocks from Spec.CompileConfig)")
	}
	d, err := time.ParseDuration(c.String("timeout"))
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("timeout: %q is not a positive duration", c.String("timeout"))
	}
	log := env.Log()
	lim := javascript.Limits{Timeout: d, MaxMemory: int64(c.Int("maxMemoryMB", 256)) << 20,
		Log: func(level, msg string) {
			switch level {
			case "error":
				log.Error("script: " + msg)
			case "warn":
				log.Warn("script: " + msg)
			default:
				log.Info("script: " + msg)
			}
		}}
	return &transform{name: env.Block, flow: env.Flow, prg: prg, lim: lim}, nil
}

func (t *transform) context(u *block.Unit) any {
	attrs := make(map[string]any, len(u.Attrs))
	for k, v := range u.Attrs {
		attrs[k] = v
	}
	return fromGo(map[string]any{"attributes": attrs, "flow": t.flow, "block": t.name})
}

func where(r *block.Record) string {
	if r.Line > 0 {
		return "input line " + strconv.FormatInt(r.Line, 10)
	}
	return "record " + strconv.FormatInt(r.Seq, 10)
}

func (t *transform) call(ctx context.Context, u *block.Unit, recs []block.Record) (any, error) {
	in := make([]any, len(recs))
	for i := range recs {
		in[i] = recs[i].Value
	}
	return t.prg.Call(ctx, in, t.context(u), t.lim)
}

func (t *transform) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	b := u.Batch
	b.Values()
	res, err := t.call(ctx, u, b.Records)
	if err == nil {
		return t.apply(ctx, u, b.Records, res, out)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var se *javascript.Error
	if !errors.As(err, &se) || se.Kind != "exception" || len(b.Records) == 1 {
		if len(b.Records) == 1 {
			r := b.Records[0]
			r.Fail(t.name, 0, where(&r)+": "+err.Error())
			bad := u.Derive()
			bad.Batch = b.With([]block.Record{r})
			return out.Emit(ctx, block.RelFailure, bad)
		}
		return err // time or memory limit: the batch as a whole
	}
	// Find the records that raise the error on their own; the others run
	// again as one batch.
	var keep, failed []block.Record
	for _, r := range b.Records {
		if _, rerr := t.call(ctx, u, []block.Record{r}); rerr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.Fail(t.name, 0, where(&r)+": "+rerr.Error())
			failed = append(failed, r)
			continue
		}
		keep = append(keep, r)
	}
	if len(failed) == 0 {
		return err // only the batch as a whole fails (an aggregate): no record is to blame
	}
	bad := u.Derive()
	bad.Batch = b.With(failed)
	if err := out.Emit(ctx, block.RelFailure, bad); err != nil {
		return err
	}
	if len(keep) == 0 {
		return nil
	}
	good := u.Derive()
	good.Batch = b.With(keep)
	return t.Process(ctx, good, out)
}

// apply maps the function's result onto the records.
func (t *transform) apply(ctx context.Context, u *block.Unit, recs []block.Record, res any, out block.Output) error {
	b := u.Batch
	if arr, ok := res.([]any); ok && len(arr) == len(recs) {
		var keep, dropped []block.Record
		for i := range recs {
			r := recs[i]
			if arr[i] == nil {
				r.Outcome = block.Outcome{Status: block.Filtered, Block: t.name, Message: "filtered by the script"}
				dropped = append(dropped, r)
				continue
			}
			r.Value = arr[i]
			keep = append(keep, r)
		}
		if len(keep) > 0 {
			ok := u.Derive()
			ok.Batch = b.With(keep)
			if err := out.Emit(ctx, block.RelSuccess, ok); err != nil {
				return err
			}
		}
		if len(dropped) > 0 {
			f := u.Derive()
			f.Batch = b.With(dropped)
			return out.Emit(ctx, block.RelFiltered, f)
		}
		return nil
	}
	if len(recs) == 0 {
		return nil
	}
	first := recs[0]
	first.Value = res
	for _, r := range recs[1:] {
		nested := r.Members
		r.Members = nil
		first.Members = append(first.Members, r)
		first.Members = append(first.Members, nested...)
	}
	one := u.Derive()
	one.Batch = b.With([]block.Record{first})
	return out.Emit(ctx, block.RelSuccess, one)
}
