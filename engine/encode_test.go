package engine

import (
	"context"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/dataflow"
)

// encoder records whether the engine let it hand on encoded values.
type encoder struct{ allowed bool }

func (e *encoder) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	return out.Emit(ctx, block.RelSuccess, u)
}
func (e *encoder) EncodeValues() { e.allowed = true }

// opaque is a consumer that says whether it only encodes values.
type opaque struct{ ok bool }

func (o opaque) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	return out.Emit(ctx, block.RelSuccess, u)
}
func (o opaque) OpaqueValues() bool { return o.ok }

// looks is a consumer that looks inside values (no OpaqueValues).
type looks struct{}

func (looks) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	return out.Emit(ctx, block.RelSuccess, u)
}

// TestEncodedValuesOnlyWhenEverythingDownstreamEncodes: a ValueEncoder is
// allowed to hand on pre-encoded values only when every block its success
// output reaches, on any relation and through disabled blocks, is
// OpaqueValues saying true, no relation on the way has a condition, and no
// preview tap is set.
func TestEncodedValuesOnlyWhenEverythingDownstreamEncodes(t *testing.T) {
	src := &memSource{files: map[string]string{}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	rel := func(to ...string) []dataflow.Relation {
		var rs []dataflow.Relation
		for _, t := range to {
			rs = append(rs, dataflow.Relation{To: t})
		}
		return rs
	}
	for _, tc := range []struct {
		name   string
		blocks []dataflow.Block
		tap    bool
		want   bool
	}{
		{"encoders only", []dataflow.Block{{Type: "enc", Name: "e", Relations: rel("o1")}, {Type: "opaque", Name: "o1", Relations: rel("o2")}, {Type: "opaque", Name: "o2"}}, false, true},
		{"a tap", []dataflow.Block{{Type: "enc", Name: "e", Relations: rel("o1")}, {Type: "opaque", Name: "o1"}}, true, false},
		{"a reader further down", []dataflow.Block{{Type: "enc", Name: "e", Relations: rel("o1")}, {Type: "opaque", Name: "o1", Relations: []dataflow.Relation{{To: "l", On: "failure"}}}, {Type: "looks", Name: "l"}}, false, false},
		{"a consumer saying false", []dataflow.Block{{Type: "enc", Name: "e", Relations: rel("n")}, {Type: "notopaque", Name: "n"}}, false, false},
		{"through a disabled reader", []dataflow.Block{{Type: "enc", Name: "e", Relations: rel("l")}, {Type: "looks", Name: "l", Disabled: true, Relations: rel("o1")}, {Type: "opaque", Name: "o1"}}, false, true},
		{"a condition on the way", []dataflow.Block{{Type: "enc", Name: "e", Relations: rel("o1")}, {Type: "opaque", Name: "o1", Relations: []dataflow.Relation{{To: "o2", On: "${x:equals('1')}"}}}, {Type: "opaque", Name: "o2"}}, false, false},
		{"no consumer", []dataflow.Block{{Type: "enc", Name: "e"}}, false, false},
		{"failure edge to a reader is the encoder's own", []dataflow.Block{{Type: "enc", Name: "e", Relations: []dataflow.Relation{{To: "o1"}, {To: "l", On: "failure"}}}, {Type: "opaque", Name: "o1"}, {Type: "looks", Name: "l"}}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := &encoder{}
			r := block.NewRegistry()
			r.MustRegister(
				&block.Spec{Type: "mem_read", Label: "mem", Class: block.ClassSource, Input: block.KindNone, Output: block.KindFile,
					New: func(*block.Config, *block.Env) (block.Block, error) { return src, nil }},
				&block.Spec{Type: "enc", Label: "enc", Class: block.ClassExecutor, Input: block.KindAny, Output: block.KindAny,
					New: func(*block.Config, *block.Env) (block.Block, error) { return enc, nil }},
				&block.Spec{Type: "opaque", Label: "opaque", Class: block.ClassExecutor, Input: block.KindAny, Output: block.KindAny,
					New: func(*block.Config, *block.Env) (block.Block, error) { return opaque{ok: true}, nil }},
				&block.Spec{Type: "notopaque", Label: "notopaque", Class: block.ClassExecutor, Input: block.KindAny, Output: block.KindAny,
					New: func(*block.Config, *block.Env) (block.Block, error) { return opaque{}, nil }},
				&block.Spec{Type: "looks", Label: "looks", Class: block.ClassExecutor, Input: block.KindAny, Output: block.KindAny,
					New: func(*block.Config, *block.Env) (block.Block, error) { return looks{}, nil }},
			)
			doc := &dataflow.Document{Name: "t", Blocks: append([]dataflow.Block{{Type: "mem_read", Name: "read", Relations: rel("e")}}, tc.blocks...)}
			opts := Options{Registry: r, WorkDir: t.TempDir()}
			if tc.tap {
				opts.Tap = nopTap{}
			}
			f, err := Compile(doc, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if enc.allowed != tc.want || (len(f.EncodingBlocks()) == 1) != tc.want {
				t.Fatalf("encoded values allowed: %v (%v), want %v", enc.allowed, f.EncodingBlocks(), tc.want)
			}
		})
	}
}

type nopTap struct{}

func (nopTap) UnitIn(string, *block.Unit)            {}
func (nopTap) UnitOut(string, string, *block.Unit)   {}
func (nopTap) UnitFailed(string, *block.Unit, error) {}
