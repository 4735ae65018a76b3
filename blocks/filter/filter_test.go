package filter

import (
	"context"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
)

type capture struct{ byRel map[string][]block.Record }

func (c *capture) Emit(_ context.Context, rel string, u *block.Unit) error {
	if u.Batch != nil {
		c.byRel[rel] = append(c.byRel[rel], u.Batch.Records...)
	} else {
		c.byRel[rel] = append(c.byRel[rel], block.Record{})
	}
	return nil
}
func (c *capture) Ack(*block.Unit, []byte) {}
func (c *capture) Progress(int64)          {}

func build(t *testing.T, cond string) block.Processor {
	t.Helper()
	cfg, probs := Spec.CompileConfig(map[string]any{"filterCondition": cond}, nil, exprs.NewStep(exprs.Options{}))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	b, err := Spec.New(cfg, &block.Env{Block: "filter"})
	if err != nil {
		t.Fatal(err)
	}
	return b.(block.Processor)
}

func TestFilterRecords(t *testing.T) {
	hdr := block.NewHeader([]string{"bill", "status"})
	mk := func() *block.Unit {
		b := &block.Batch{Header: hdr}
		for i, s := range []string{"paid", "not paid", "refunded", "cancelled", "paid"} {
			r := block.Record{Seq: int64(i + 1), Cols: []string{string(rune('a' + i)), s}}
			if i != 1 {
				r.Attrs = block.Attributes{block.AttrHeaderValue: s}
			}
			b.Records = append(b.Records, r)
		}
		return &block.Unit{Attrs: block.Attributes{"filename": "x.csv"}, Batch: b}
	}
	// Conditions on header_value (set per record) and on record fields.
	for _, tc := range []struct {
		cond           string
		kept, filtered int
	}{
		{"${header_value:equals('paid'):or(${header_value:equals('refunded')})}", 3, 2},
		{DefaultCondition, 4, 1},
		{"${status:startsWith('c')}", 1, 4},
		{"${filename:endsWith('.csv')}", 5, 0},
	} {
		c := &capture{byRel: map[string][]block.Record{}}
		if err := build(t, tc.cond).Process(context.Background(), mk(), c); err != nil {
			t.Fatal(err)
		}
		if len(c.byRel[block.RelSuccess]) != tc.kept || len(c.byRel[block.RelFiltered]) != tc.filtered {
			t.Fatalf("%s: kept %d filtered %d", tc.cond, len(c.byRel[block.RelSuccess]), len(c.byRel[block.RelFiltered]))
		}
		for _, r := range c.byRel[block.RelFiltered] {
			if r.Outcome.Status != block.Filtered {
				t.Fatalf("filtered record has status %v", r.Outcome.Status)
			}
		}
	}
}

func TestFilterFileUnitsAndBadConditions(t *testing.T) {
	c := &capture{byRel: map[string][]block.Record{}}
	p := build(t, "${filename:matches('.*\\.csv')}")
	_ = p.Process(context.Background(), &block.Unit{Attrs: block.Attributes{"filename": "a.csv"}}, c)
	_ = p.Process(context.Background(), &block.Unit{Attrs: block.Attributes{"filename": "a.txt"}}, c)
	if len(c.byRel[block.RelSuccess]) != 1 || len(c.byRel[block.RelFiltered]) != 1 {
		t.Fatalf("file units: %v", c.byRel)
	}
	cfg, probs := Spec.CompileConfig(map[string]any{"filterCondition": "${status:noSuchFunction()}"}, nil, exprs.NewStep(exprs.Options{}))
	if len(probs) != 1 || probs[0].Expr == nil || *probs[0].Expr != (block.TextPos{Line: 1, Column: 10}) {
		t.Fatalf("a broken condition must be a located compile problem, got %+v", probs)
	}
	if _, err := Spec.New(cfg, &block.Env{}); err == nil {
		t.Fatal("a block whose condition did not compile must not build")
	}
}

// TestConditionTyposAreCompileProblems: issue 13 item 2 — these used to
// compile into constant text (or a String) and filter every record while
// the run reported success.
func TestConditionTyposAreCompileProblems(t *testing.T) {
	step := exprs.NewStep(exprs.Options{})
	for cond, want := range map[string]string{
		"${header_value:equals('paid')":      "NiFi condition line 1, column 30: expected '}'",
		"${header_value:equals('paid)}":      "NiFi condition line 1, column 23: unterminated string literal",
		"${header_value:toUpper()}":          "NiFi condition line 1, column 1: a condition must yield a Boolean, but this expression yields a String",
		"${header_value:equalz('paid')}":     "unknown function 'equalz'",
		"${header_value:equals('paid','x')}": "function 'equals' takes",
	} {
		for _, spec := range []*block.Spec{Spec, HiddenSpec} {
			_, probs := spec.CompileConfig(map[string]any{"filterCondition": cond}, nil, step)
			if len(probs) != 1 || probs[0].Path != "filterCondition" || !strings.Contains(probs[0].Message, want) || probs[0].Expr == nil {
				t.Errorf("%s %s: got %+v, want %q", spec.Type, cond, probs, want)
			}
		}
	}
}

func BenchmarkFilter(b *testing.B) {
	cfg := block.NewConfig(Spec, map[string]string{"filterCondition": "${status:equals('paid'):or(${status:equals('refunded')})}"})
	if probs := cfg.CompileWith(exprs.NewStep(exprs.Options{})); len(probs) > 0 {
		b.Fatal(probs)
	}
	p, _ := Spec.New(cfg, &block.Env{})
	hdr := block.NewHeader([]string{"bill", "status"})
	batch := &block.Batch{Header: hdr}
	for i := 0; i < 100; i++ {
		batch.Records = append(batch.Records, block.Record{Cols: []string{"x", []string{"paid", "not paid", "refunded"}[i%3]}})
	}
	all := batch.Records
	c := &capture{byRel: map[string][]block.Record{}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c.byRel = map[string][]block.Record{}
		// The filter keeps the records in the unit's own batch: the next
		// round starts from all of them again.
		batch.Records = all
		_ = p.(block.Processor).Process(context.Background(), &block.Unit{Batch: batch}, c)
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "records/s")
}

// units captures the emitted units; reaches answers block.Reacher.
type units struct {
	byRel   map[string][]*block.Unit
	reaches bool
}

func (c *units) Emit(_ context.Context, rel string, u *block.Unit) error {
	c.byRel[rel] = append(c.byRel[rel], u)
	return nil
}
func (c *units) Ack(*block.Unit, []byte) {}
func (c *units) Progress(int64)          {}
func (c *units) Reaches(rel string) bool { return c.reaches }

// TestFilterUnits: the kept records go on in the input unit itself (its
// attributes are not copied); the filtered ones in a unit of their own,
// with a copy of the attributes when something downstream reads them and
// none when the engine says nothing does.
func TestFilterUnits(t *testing.T) {
	hdr := block.NewHeader([]string{"bill", "status"})
	for _, reaches := range []bool{true, false} {
		b := &block.Batch{Header: hdr, HeaderValueCol: 2}
		for i, s := range []string{"paid", "open", "paid", "open"} {
			b.Records = append(b.Records, block.Record{Seq: int64(i + 1), Cols: []string{"b", s}})
		}
		in := &block.Unit{Attrs: block.Attributes{"filename": "x.csv"}, Batch: b}
		c := &units{byRel: map[string][]*block.Unit{}, reaches: reaches}
		if err := build(t, "${header_value:equals('paid')}").Process(context.Background(), in, c); err != nil {
			t.Fatal(err)
		}
		kept, filtered := c.byRel[block.RelSuccess], c.byRel[block.RelFiltered]
		if len(kept) != 1 || len(filtered) != 1 || kept[0] != in {
			t.Fatalf("reaches=%v: units %v", reaches, c.byRel)
		}
		if got := kept[0].Batch; len(got.Records) != 2 || got.Records[0].Seq != 1 || got.Records[1].Seq != 3 || got.Header != hdr || got.HeaderValueCol != 2 {
			t.Fatalf("reaches=%v: kept batch %+v", reaches, got)
		}
		fb := filtered[0].Batch
		if len(fb.Records) != 2 || fb.Records[0].Seq != 2 || fb.Records[1].Seq != 4 || fb.Records[0].Outcome.Status != block.Filtered || fb.Header != hdr {
			t.Fatalf("reaches=%v: filtered batch %+v", reaches, fb)
		}
		fa := filtered[0].Attrs
		switch {
		case reaches && (fa["filename"] != "x.csv"):
			t.Fatalf("a filtered unit read downstream needs the attributes, got %v", fa)
		case !reaches && fa != nil:
			t.Fatalf("a filtered unit nothing reads needs no attributes, got %v", fa)
		}
		if reaches {
			fa["filename"] = "changed"
			if in.Attrs["filename"] != "x.csv" {
				t.Fatal("the filtered unit shares the kept unit's attributes")
			}
		}
	}
}
