package script

import (
	"context"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/jsonv"
)

type capture struct{ byRel map[string][]*block.Unit }

func (c *capture) Emit(_ context.Context, rel string, u *block.Unit) error {
	c.byRel[rel] = append(c.byRel[rel], u)
	return nil
}
func (c *capture) Ack(*block.Unit, []byte) {}
func (c *capture) Progress(int64)          {}

func (c *capture) records(rel string) []block.Record {
	var out []block.Record
	for _, u := range c.byRel[rel] {
		out = append(out, u.Batch.Records...)
	}
	return out
}

func build(t *testing.T, cfg map[string]any) block.Processor {
	t.Helper()
	c, probs := Spec.CompileConfig(cfg, nil, exprs.NewStep(exprs.Options{}))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	b, err := Spec.New(c, &block.Env{Block: "js", Flow: "f"})
	if err != nil {
		t.Fatal(err)
	}
	return b.(block.Processor)
}

func rows(n int) *block.Unit {
	hdr := block.NewHeader([]string{"mobile", "points"})
	b := &block.Batch{Header: hdr}
	for i := 0; i < n; i++ {
		b.Records = append(b.Records, block.Record{Seq: int64(i + 1), Line: int64(i + 2),
			Cols: []string{"91980000000" + string(rune('0'+i)), []string{"10", "x", "7", "0"}[i%4]}})
	}
	return &block.Unit{Attrs: block.Attributes{"filename": "points.csv"}, Batch: b}
}

func run(t *testing.T, p block.Processor, u *block.Unit) *capture {
	t.Helper()
	c := &capture{byRel: map[string][]*block.Unit{}}
	if err := p.Process(context.Background(), u, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestScriptMapsFiltersAndSeesContext(t *testing.T) {
	p := build(t, map[string]any{"script": `
function transform(records, context) {
  return records.map(function (r) {
    var pts = Number(r.points);
    if (pts === 0) return null;               // filtered
    return { mobile: r.mobile, points: pts, file: context.attributes.filename };
  });
}`})
	c := run(t, p, rows(4))
	ok := c.records(block.RelSuccess)
	if len(ok) != 3 || string(jsonv.Marshal(ok[0].Value)) != `{"mobile":"919800000000","points":10,"file":"points.csv"}` {
		t.Fatalf("success %d: %s", len(ok), jsonv.Marshal(ok[0].Value))
	}
	if got := string(jsonv.Marshal(ok[1].Value)); got != `{"mobile":"919800000001","points":null,"file":"points.csv"}` {
		t.Fatalf("NaN must become null: %s", got)
	}
	f := c.records(block.RelFiltered)
	if len(f) != 1 || f[0].Seq != 4 || f[0].Outcome.Status != block.Filtered {
		t.Fatalf("filtered %+v", f)
	}
}

// TestThrowingRecordsFailAloneWithLineAndColumn: the records that make the
// function throw fail with their input line and the script position; the
// others are transformed.
func TestThrowingRecordsFailAloneWithLineAndColumn(t *testing.T) {
	p := build(t, map[string]any{"script": "function transform(records) {\n  return records.map(function (r) {\n    if (isNaN(Number(r.points))) throw new TypeError('points is not a number: ' + r.points);\n    return { points: Number(r.points) };\n  });\n}"})
	c := run(t, p, rows(4))
	bad := c.records(block.RelFailure)
	if len(bad) != 1 || bad[0].Seq != 2 {
		t.Fatalf("failed %+v", bad)
	}
	if msg := bad[0].Outcome.Message; msg != "input line 3: script: line 3, column 40: TypeError: points is not a number: x" {
		t.Fatalf("message %q", msg)
	}
	if ok := c.records(block.RelSuccess); len(ok) != 3 {
		t.Fatalf("success %d", len(ok))
	}
}

func TestTimeLimitFailsTheBatch(t *testing.T) {
	p := build(t, map[string]any{"script": "function transform(records) { for (;;) {} }", "timeout": "50ms"})
	err := p.Process(context.Background(), rows(3), &capture{byRel: map[string][]*block.Unit{}})
	if err == nil || !strings.Contains(err.Error(), "time limit") || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("got %v", err)
	}
}

func TestAggregateIsOnePayload(t *testing.T) {
	p := build(t, map[string]any{"script": `const transform = (rs) => ({ total: rs.reduce((s, r) => s + (Number(r.points) || 0), 0), count: rs.length });`})
	ok := run(t, p, rows(4)).records(block.RelSuccess)
	if len(ok) != 1 || len(ok[0].Members) != 3 || string(jsonv.Marshal(ok[0].Value)) != `{"total":17,"count":4}` {
		t.Fatalf("got %d records: %s", len(ok), jsonv.Marshal(ok[0].Value))
	}
}

// TestValidationLocatesSyntaxErrors: the compile step validation runs
// reports a syntax error with its line and column.
func TestValidationLocatesSyntaxErrors(t *testing.T) {
	_, probs := Spec.CompileConfig(map[string]any{"script": "function transform(records) {\n  return records.map(r => r.;\n}"}, nil, exprs.NewStep(exprs.Options{}))
	if len(probs) != 1 || probs[0].Path != "script" || probs[0].Expr == nil || probs[0].Expr.Line != 2 {
		t.Fatalf("problems %+v", probs)
	}
	_, probs = Spec.CompileConfig(map[string]any{"script": "function other() {}"}, nil, exprs.NewStep(exprs.Options{}))
	if len(probs) != 1 || !strings.Contains(probs[0].Message, "transform(records, context)") {
		t.Fatalf("problems %+v", probs)
	}
	_, probs = Spec.CompileConfig(map[string]any{"timeout": "soon"}, nil, exprs.NewStep(exprs.Options{}))
	if len(probs) != 1 || probs[0].Path != "timeout" {
		t.Fatalf("problems %+v", probs)
	}
}
