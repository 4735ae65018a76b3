package okfile

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
)

type collector struct{ n int }

func (c *collector) Emit(context.Context, string, *block.Unit) error { c.n++; return nil }
func (c *collector) Ack(*block.Unit, []byte)                         {}
func (c *collector) Progress(int64)                                  {}

func gateT(t *testing.T, v map[string]any) block.Processor {
	cfg, probs := Spec.ParseConfig(v, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	b, err := Spec.New(cfg, &block.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return b.(block.Processor)
}

func TestGate(t *testing.T) {
	g := gateT(t, map[string]any{})
	unit := func(attrs block.Attributes) *block.Unit {
		return &block.Unit{Attrs: attrs, File: block.NewFile("data.csv", 0, nil)}
	}
	var out collector
	if err := g.Process(context.Background(), unit(block.Attributes{AttrCompanionPresent: "true"}), &out); err != nil || out.n != 1 {
		t.Fatalf("present: %v", err)
	}
	err := g.Process(context.Background(), unit(block.Attributes{AttrCompanionPresent: "false", block.AttrAbsPath: "/in/data.csv.gpg", block.AttrFilename: "data.csv"}), &out)
	if err == nil || err.Error() != "waiting for companion data.csv.gpg.ok" {
		t.Fatalf("absent: %v", err)
	}
	err = g.Process(context.Background(), unit(block.Attributes{AttrCompanionPresent: "false", AttrCompanionName: "data.ok"}), &out)
	if err == nil || !strings.Contains(err.Error(), "data.ok") {
		t.Fatalf("named: %v", err)
	}
	if err := g.Process(context.Background(), unit(block.Attributes{block.AttrFilename: "x.csv"}), &out); err != nil || out.n != 2 {
		t.Fatalf("unsupported source must pass through: %v", err)
	}
	strict := gateT(t, map[string]any{"requireOkFile": "true", "okFileExtension": ".done"})
	err = strict.Process(context.Background(), unit(block.Attributes{block.AttrFilename: "x.csv"}), &out)
	if err == nil || !strings.Contains(err.Error(), "waiting for companion x.csv.done") {
		t.Fatalf("strict: %v", err)
	}
}

func TestEligible(t *testing.T) {
	data, ok := Eligible([]string{"a.csv", "a.csv.ok", "b.csv", "c.txt", "c.OK", "d.csv", "d.dat", "d.ok", "orphan.ok", ".ok"}, ".ok")
	want := map[string]string{"a.csv": "a.csv.ok", "c.txt": "c.OK", "d.csv": "d.ok", "d.dat": "d.ok"}
	if !reflect.DeepEqual(data, want) {
		t.Errorf("data = %v, want %v", data, want)
	}
	sort.Strings(ok["d.ok"])
	if !reflect.DeepEqual(ok["d.ok"], []string{"d.csv", "d.dat"}) || len(ok) != 3 {
		t.Errorf("ok = %v", ok)
	}
	if _, isData := data["b.csv"]; isData {
		t.Error("b.csv has no companion")
	}
}
