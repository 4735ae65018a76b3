package joltblock

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

func build(t *testing.T, cfg map[string]any) block.Processor {
	t.Helper()
	c, probs := Spec.CompileConfig(cfg, nil, exprs.NewStep(exprs.Options{}))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	b, err := Spec.New(c, &block.Env{Block: "jolt"})
	if err != nil {
		t.Fatal(err)
	}
	return b.(block.Processor)
}

func bills() *block.Unit {
	hdr := block.NewHeader([]string{"bill_number", "amount", "mobile"})
	b := &block.Batch{Header: hdr}
	for i, row := range [][]string{{"B1", "120.50", "9198"}, {"B2", "7", "9199"}} {
		b.Records = append(b.Records, block.Record{Seq: int64(i + 1), Line: int64(i + 2), Cols: row})
	}
	return &block.Unit{Attrs: block.Attributes{}, Batch: b}
}

const chain = `[
  {"operation": "shift", "spec": {"bill_number": "number", "amount": "billAmount", "mobile": "customer.mobile"}},
  {"operation": "modify-overwrite-beta", "spec": {"billAmount": "=toDouble"}},
  {"operation": "default", "spec": {"type": "REGULAR"}}
]`

func TestEachRecordIsTransformed(t *testing.T) {
	p := build(t, map[string]any{"joltTransformation": chain})
	c := &capture{byRel: map[string][]*block.Unit{}}
	if err := p.Process(context.Background(), bills(), c); err != nil {
		t.Fatal(err)
	}
	rs := c.byRel[block.RelSuccess][0].Batch.Records
	want := []string{`{"number":"B1","billAmount":120.5,"customer":{"mobile":"9198"},"type":"REGULAR"}`,
		`{"number":"B2","billAmount":7,"customer":{"mobile":"9199"},"type":"REGULAR"}`}
	for i, w := range want {
		if got := string(jsonv.Marshal(rs[i].Value)); got != w {
			t.Errorf("record %d: got %s, want %s", i, got, w)
		}
	}
}

func TestRecordWithNoMatchFails(t *testing.T) {
	p := build(t, map[string]any{"joltTransformation": `[{"operation": "shift", "spec": {"mobile": {"9198": {"@1": "vip"}}}}]`})
	c := &capture{byRel: map[string][]*block.Unit{}}
	if err := p.Process(context.Background(), bills(), c); err != nil {
		t.Fatal(err)
	}
	ok, bad := c.byRel[block.RelSuccess], c.byRel[block.RelFailure]
	if len(ok) != 1 || len(bad) != 1 || len(bad[0].Batch.Records) != 1 {
		t.Fatalf("success %d failure %d", len(ok), len(bad))
	}
	if got := string(jsonv.Marshal(ok[0].Batch.Records[0].Value)); got != `{"vip":"9198"}` {
		t.Fatalf("got %s", got)
	}
	if msg := bad[0].Batch.Records[0].Outcome.Message; !strings.Contains(msg, "input line 3") || !strings.Contains(msg, "null") {
		t.Fatalf("message %q", msg)
	}
}

func TestBulkSeesTheBatchAsAnArray(t *testing.T) {
	p := build(t, map[string]any{"joltTransformation": `[{"operation": "shift", "spec": {"*": {"bill_number": "bills[]"}}}]`,
		"sendEachRecordSeparately": false})
	c := &capture{byRel: map[string][]*block.Unit{}}
	if err := p.Process(context.Background(), bills(), c); err != nil {
		t.Fatal(err)
	}
	rs := c.byRel[block.RelSuccess][0].Batch.Records
	if len(rs) != 1 || len(rs[0].Members) != 1 || string(jsonv.Marshal(rs[0].Value)) != `{"bills":["B1","B2"]}` {
		t.Fatalf("got %d records: %s", len(rs), jsonv.Marshal(rs[0].Value))
	}
}

// TestValidationLocatesSpecErrors: the compile step that validation runs
// reports a bad key with its line and column in the specification.
func TestValidationLocatesSpecErrors(t *testing.T) {
	_, probs := Spec.CompileConfig(map[string]any{"joltTransformation": "[{\"operation\": \"shift\",\n  \"spec\": {\"a\": \"b.$\"}}]"}, nil, exprs.NewStep(exprs.Options{}))
	if len(probs) != 1 || probs[0].Path != "joltTransformation" || probs[0].Expr == nil || probs[0].Expr.Line != 2 || probs[0].Expr.Column != 17 {
		t.Fatalf("problems %+v", probs)
	}
	if !strings.Contains(probs[0].Message, "JOLT line 2, column 17") {
		t.Fatalf("message %q", probs[0].Message)
	}
}
