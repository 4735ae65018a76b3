package jsoncsv

import (
	"context"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
)

func TestSplitFileStreamed(t *testing.T) {
	p := newProc(t, SplitSpec, map[string]any{})
	var out collector
	if err := p.Process(context.Background(), fileUnit(t, "a.json", []byte("[{\"a\":1},\n{\"a\":2},\n{\"a\":3}]")), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.units) != 3 {
		t.Fatalf("%d units", len(out.units))
	}
	r := out.units[2].Batch.Records[0]
	if r.Seq != 3 || r.Line != 3 || string(jsonv.Marshal(r.Value)) != `{"a":3}` {
		t.Errorf("record 3 = %+v", r)
	}
}

func TestSplitFileDeepPathTogether(t *testing.T) {
	p := newProc(t, SplitSpec, map[string]any{"JsonPath Expression": "$.data[*].id", "split response": "false"})
	var out collector
	if err := p.Process(context.Background(), fileUnit(t, "a.json", []byte(`{"data":[{"id":"x"},{"id":"y"}]}`)), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.units) != 1 || len(out.units[0].Batch.Records) != 2 || out.units[0].Batch.Records[1].Value != "y" {
		t.Fatalf("units %+v", out.units)
	}
	// An element path over a streamed array.
	p = newProc(t, SplitSpec, map[string]any{"JsonPath Expression": "$[*].items[*]"})
	out = collector{}
	if err := p.Process(context.Background(), fileUnit(t, "a.json", []byte(`[{"items":[1,2]},{"items":[3]}]`)), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.units) != 3 || out.units[2].Batch.Records[0].Value != int64(3) {
		t.Fatalf("units %d", len(out.units))
	}
}

func TestSplitErrors(t *testing.T) {
	p := newProc(t, SplitSpec, map[string]any{})
	err := p.Process(context.Background(), fileUnit(t, "a.json", []byte("[{\"a\":1},\n{\"a\" 2}]")), &collector{})
	if err == nil || !strings.Contains(err.Error(), "line 2, column") {
		t.Fatalf("err = %v", err)
	}
	if _, probs := SplitSpec.ParseConfig(map[string]any{"JsonPath Expression": "$[?"}, nil); len(probs) == 0 {
		t.Error("bad path accepted")
	}
}

func TestSplitBatch(t *testing.T) {
	mk := func(s string) any { v, _ := jsonv.ParseString(s); return v }
	b := &block.Batch{Records: []block.Record{
		{Seq: 1, Value: mk(`{"items":[1,2]}`)},
		{Seq: 2, Value: mk(`{"items":[]}`)},
		{Seq: 3, Value: mk(`{"items":[3]}`)},
	}}
	p := newProc(t, SplitSpec, map[string]any{"JsonPath Expression": "$[*].items[*]"})
	var out collector
	if err := p.Process(context.Background(), &block.Unit{Attrs: block.Attributes{}, Batch: b}, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.units) != 4 {
		t.Fatalf("%d units (%v)", len(out.units), out.rels)
	}
	if out.units[2].Batch.Records[0].Seq != 3 || out.units[2].Batch.Records[0].Value != int64(3) {
		t.Errorf("third = %+v", out.units[2].Batch.Records[0])
	}
	if out.rels[3] != block.RelFiltered || out.units[3].Batch.Records[0].Seq != 2 {
		t.Errorf("filtered = %v %+v", out.rels, out.units[3].Batch.Records)
	}
	// $[*] keeps records as they are; $ keeps the batch.
	p = newProc(t, SplitSpec, map[string]any{"JsonPath Expression": "$"})
	out = collector{}
	u := &block.Unit{Attrs: block.Attributes{}, Batch: b}
	p.Process(context.Background(), u, &out)
	if len(out.units) != 1 || out.units[0] != u {
		t.Fatal("$ must keep the batch whole")
	}
}
