// Package filter holds the Filter blocks: records (or files) whose NiFi
// Expression Language condition is false are filtered — counted as filtered,
// not failed, in stats and result files.
package filter

import (
	"context"
	"fmt"
	"sync"

	"github.com/connectplus/connectplus/block"
)

// DefaultCondition is Connect+'s default filter: keep records whose
// header_value attribute (set by convert_csv_to_json's "header value to
// pass") is present.
const DefaultCondition = "${header_value:notNull()}"

var conditionField = block.Field{
	Key: "filterCondition", Label: "Filter Condition", Type: block.TypeText, Required: true,
	Default: DefaultCondition, SupportsExpressions: true, Lang: block.LangNiFiCondition,
	Description: "NiFi Expression Language condition evaluated per record (record fields, header_value and the unit's attributes are visible); records where it is false are filtered. Example: ${header_value:equals('paid'):or(${header_value:equals('refunded')})}",
}

// Spec is filter_on_condition.
var Spec = &block.Spec{
	Type: "filter_on_condition", Label: "Filter", Class: block.ClassExecutor, Category: "Transformation",
	Description: "Keeps the records for which the condition is true and filters the others. Filtered records are not failures: they appear in stats and (with Report Status Code = all) in the result file as filtered. Applied to a file unit, the condition is evaluated once on the file's attributes.",
	Input:       block.KindAny, Output: block.KindAny,
	Fields:    []block.Field{conditionField},
	Relations: []string{block.RelFiltered},
	New:       newFilter,
}

// HiddenSpec is the deprecated filter_on_condition_hidden: same behaviour.
var HiddenSpec = &block.Spec{
	Type: "filter_on_condition_hidden", Label: "Filter (Hidden)", Class: block.ClassExecutor, Category: "Transformation",
	Description: "Deprecated variant of filter_on_condition with the same behaviour; use filter_on_condition.",
	Deprecated:  true, Input: block.KindAny, Output: block.KindAny,
	Fields:    []block.Field{conditionField},
	Relations: []string{block.RelFiltered},
	New:       newFilter,
}

// Register adds the filter blocks to r.
func Register(r *block.Registry) { r.MustRegister(Spec, HiddenSpec) }

type filter struct {
	name string
	src  string
	cond block.Expr
	// msg is every filtered record's message, built once: per record it
	// was an allocation for each filtered row.
	msg string
	// scratch holds a batch's filtered records until they are moved
	// behind the kept ones (*[]block.Record).
	scratch sync.Pool
}

func newFilter(c *block.Config, env *block.Env) (block.Block, error) {
	// The compile step compiled the condition (one boolean ${...}, as NiFi's
	// RouteOnAttribute requires); validation ran the same step.
	x, err := c.Expr("filterCondition")
	if err != nil {
		return nil, err
	}
	return &filter{name: env.Block, src: c.String("filterCondition"), cond: x, msg: "filtered by " + env.Block}, nil
}

// OpaqueValues implements block.OpaqueValues: conditions read records
// through block.RecordLookup, which decodes pre-encoded values, and kept
// records go on unchanged.
func (f *filter) OpaqueValues() bool { return true }

// Transient implements block.Transient: records are partitioned and
// emitted within Process (the scratch slice is cleared before it is put
// back).
func (f *filter) Transient() bool { return true }

// lookup is reused across the records of a batch so evaluation does not
// allocate per record.
type lookup struct{ block.RecordLookup }

func (f *filter) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	if u.Batch == nil {
		ok, err := f.cond.EvalBool(u.Attrs)
		if err != nil {
			return fmt.Errorf("filterCondition %q: %w", f.src, err)
		}
		if ok {
			return out.Emit(ctx, block.RelSuccess, u)
		}
		return out.Emit(ctx, block.RelFiltered, u)
	}
	b := u.Batch
	l := &lookup{block.RecordLookup{Unit: u, Batch: b}}
	// Partition keeping order. Kept records are compacted in place (index k
	// never passes i), so the common case allocates nothing per record.
	k := 0
	var failed []block.Record
	sp, _ := f.scratch.Get().(*[]block.Record)
	if sp == nil {
		sp = new([]block.Record)
	}
	dropped := (*sp)[:0]
	for i := range b.Records {
		l.Index = i
		ok, err := f.cond.EvalBool(l)
		r := &b.Records[i]
		switch {
		case err != nil:
			r.Fail(f.name, 0, fmt.Sprintf("filterCondition: %v", err))
			failed = append(failed, *r)
		case ok:
			// Until the first record that is not kept, every kept
			// record is already in its place.
			if k != i {
				b.Records[k] = *r
			}
			k++
		default:
			r.Outcome = block.Outcome{Status: block.Filtered, Block: f.name, Message: f.msg}
			dropped = append(dropped, *r)
		}
	}
	// The filtered records move behind the kept ones, in the batch's own
	// array (every record has been read by now), instead of into a new
	// slice per batch.
	n := copy(b.Records[k:], dropped)
	clear(dropped)
	*sp = dropped[:0]
	f.scratch.Put(sp)
	keep, dropped := b.Records[:k:k], b.Records[k:k+n:k+n]
	if len(dropped) == 0 && len(failed) == 0 {
		return out.Emit(ctx, block.RelSuccess, u)
	}
	// The units of the filtered and failed records are built before the
	// kept records go on: once emitted, u belongs downstream (a block may
	// set its attributes while they would be copied).
	filtered := f.part(u, out, block.RelFiltered, dropped)
	failures := f.part(u, out, block.RelFailure, failed)
	if len(keep) > 0 {
		// The kept records go on in u itself: its attributes are not
		// copied for them.
		b.Records = keep
		if err := out.Emit(ctx, block.RelSuccess, u); err != nil {
			return err
		}
	}
	if filtered != nil {
		if err := out.Emit(ctx, block.RelFiltered, filtered); err != nil {
			return err
		}
	}
	if failures != nil {
		return out.Emit(ctx, block.RelFailure, failures)
	}
	return nil
}

// part builds the unit of recs, to be emitted on rel (nil when recs is
// empty). When the engine says nothing reads a unit emitted on rel (no
// edge, no preview: its records only become terminal), the unit does not
// copy u's attributes.
func (f *filter) part(u *block.Unit, out block.Output, rel string, recs []block.Record) *block.Unit {
	if len(recs) == 0 {
		return nil
	}
	var nu *block.Unit
	if r, ok := out.(block.Reacher); ok && !r.Reaches(rel) {
		nu = &block.Unit{Lineage: u.Lineage}
	} else {
		nu = u.Derive()
	}
	nu.Batch = u.Batch.With(recs)
	return nu
}
