// Package joltblock holds jolt_transform: records reshaped by a JOLT chain
// (bazaarvoice/jolt, as NiFi's JoltTransformJSON runs it), compiled once per
// deployment. Connect+ deprecates the block but existing flows still use it.
package joltblock

import (
	"context"
	"fmt"
	"strconv"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/lang/jolt"
)

// Spec is jolt_transform.
var Spec = &block.Spec{
	Type: "jolt_transform", Label: "JOLT", Class: block.ClassExecutor, Category: "Transformation", Deprecated: true,
	Description: "Transforms records with a JOLT specification (bazaarvoice/jolt): a chain, i.e. a JSON array of {\"operation\": …, \"spec\": …} entries applied in order, with the operations shift, default, remove, sort, cardinality and modify-overwrite-beta / modify-default-beta / modify-define-beta and their functions (toUpper, concat, split, toInteger, …). Wildcards * and a|b, references &, &n, &(n,m), $, #, @(n,path) and output arrays [] / [#n] / [&n] behave as in JOLT. With \"Send each record separately\" true (default) the chain sees one record at a time and its result is that record's payload; false: it sees the batch as an array, and an array result of the same length maps element i to record i, any other result becomes one payload for the whole batch. A record whose result is null (nothing matched) fails with that reason. Deprecated in Connect+: new flows use jslt_transform.",
	Input:       block.KindRecords, Output: block.KindRecords,
	Fields: []block.Field{
		{Key: "joltTransformation", Label: "JOLT Transformation", Type: block.TypeText, Required: true, Lang: block.LangJOLT,
			Aliases:     []string{"JOLT Transformation", "jolt-spec"},
			Description: "The JOLT chain specification, e.g. [{\"operation\": \"shift\", \"spec\": {\"bill_number\": \"transaction.number\"}}]. Comments (// and /* */) are allowed, as JOLT's loader allows them."},
		{Key: "sendEachRecordSeparately", Label: "Send each record separately", Type: block.TypeBool, Default: "true", Advanced: true,
			Aliases:     []string{"Send each record separately"},
			Description: "true: the chain transforms one record at a time. false: it receives the batch as a JSON array."},
	},
	New: newBlock,
}

// Register adds jolt_transform to r.
func Register(r *block.Registry) { r.MustRegister(Spec) }

type transform struct {
	name     string
	spec     *jolt.Transform
	separate bool
}

func newBlock(c *block.Config, env *block.Env) (block.Block, error) {
	// The compile step compiled the chain; validation ran the same step.
	x, ok := c.Compiled("joltTransformation").(*jolt.Transform)
	if !ok {
		return nil, fmt.Errorf("joltTransformation: the specification was not compiled (build blocks from Spec.CompileConfig)")
	}
	return &transform{name: env.Block, spec: x, separate: c.Bool("sendEachRecordSeparately")}, nil
}

func where(r *block.Record) string {
	if r.Line > 0 {
		return "input line " + strconv.FormatInt(r.Line, 10)
	}
	return "record " + strconv.FormatInt(r.Seq, 10)
}

func (t *transform) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	b := u.Batch
	b.Values()
	if !t.separate {
		return t.bulk(ctx, u, out)
	}
	keep := b.Records[:0:0]
	var failed []block.Record
	for i := range b.Records {
		r := b.Records[i]
		res, err := t.spec.Apply(r.Value)
		switch {
		case err != nil:
			r.Fail(t.name, 0, where(&r)+": "+err.Error())
			failed = append(failed, r)
		case res == nil:
			r.Fail(t.name, 0, where(&r)+": jolt: the transformation produced null (no key of the specification matched the record)")
			failed = append(failed, r)
		default:
			r.Value = res
			keep = append(keep, r)
		}
	}
	if len(failed) == 0 {
		b.Records = keep
		return out.Emit(ctx, block.RelSuccess, u)
	}
	if len(keep) > 0 {
		ok := u.Derive()
		ok.Batch = b.With(keep)
		if err := out.Emit(ctx, block.RelSuccess, ok); err != nil {
			return err
		}
	}
	bad := u.Derive()
	bad.Batch = b.With(failed)
	return out.Emit(ctx, block.RelFailure, bad)
}

// bulk applies the chain to the batch as one array.
func (t *transform) bulk(ctx context.Context, u *block.Unit, out block.Output) error {
	b := u.Batch
	in := make([]any, len(b.Records))
	for i := range b.Records {
		in[i] = b.Records[i].Value
	}
	res, err := t.spec.Apply(in)
	if err != nil {
		return err // the batch as a whole: no record is to blame
	}
	if res == nil {
		return fmt.Errorf("jolt: the transformation produced null for the batch (no key of the specification matched)")
	}
	if arr, ok := res.([]any); ok && len(arr) == len(b.Records) {
		for i := range b.Records {
			b.Records[i].Value = arr[i]
		}
		return out.Emit(ctx, block.RelSuccess, u)
	}
	// One payload for the whole batch: the first record carries it and
	// the others ride along as members, sharing its outcome.
	first := b.Records[0]
	first.Value = res
	for _, r := range b.Records[1:] {
		nested := r.Members
		r.Members = nil
		first.Members = append(first.Members, r)
		first.Members = append(first.Members, nested...)
	}
	b.Records = []block.Record{first}
	return out.Emit(ctx, block.RelSuccess, u)
}
