package related

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/filecore"
	"github.com/connectplus/connectplus/jsonv"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func fetcherT(t *testing.T, dir string, clk *clock) *Fetcher {
	cfg, probs := FetchSpec.ParseConfig(map[string]any{
		"hostname": "h", "username": "u", "password": block.Ref{Name: "pw"}, "sourceDirectory": dir, "processedDirectory": filepath.Join(dir, "done"),
		"file1Pattern": `^TktCoupon_(.*)\.dat\.gpg$`, "file2Pattern": `^TktDocument_(.*)\.dat\.gpg$`, "retryTimeoutHours": 0.5,
		"outputZipNamePattern": "joined_{token}_{timestamp}.zip",
	}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	fc, err := FetchConfigFrom(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fc.StabilityWait = 0
	env := &block.Env{Now: clk.now}
	pool := filecore.NewPool(func(context.Context) (filecore.FS, error) { return filecore.NewLocalFS(), nil }, filecore.Retry{}, env.Log())
	f := NewFetcher(pool, fc, env)
	t.Cleanup(func() { f.Close() })
	return f
}

func TestFetchRelatedFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) { os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600) }
	write("TktCoupon_A1.dat.gpg", "coupon A1")
	write("TktDocument_A1.dat.gpg", "document A1")
	write("TktCoupon_B2.dat.gpg", "coupon B2")
	write("other.txt", "x")
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	f := fetcherT(t, dir, clk)
	ctx := context.Background()
	// The fixture's stabilityWait is 0, which means no wait: complete sets
	// are handed out at the first listing.
	items, err := f.List(ctx)
	if err != nil || len(items) != 1 {
		t.Fatalf("first listing: %v %v", items, err)
	}
	u, err := f.Open(ctx, items[0])
	if err != nil {
		t.Fatal(err)
	}
	if u.File.Name != "joined_A1_20260102030405.zip" || u.Attrs[AttrToken] != "A1" {
		t.Errorf("unit %q %v", u.File.Name, u.Attrs)
	}
	rc, _ := u.File.Open(ctx)
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range zr.File {
		r, _ := m.Open()
		b, _ := io.ReadAll(r)
		got = append(got, m.Name+"="+string(b))
	}
	if strings.Join(got, ";") != "TktCoupon_A1.dat.gpg=coupon A1;TktDocument_A1.dat.gpg=document A1" {
		t.Errorf("zip = %v", got)
	}
	if err := f.Finish(ctx, items[0], &block.Completion{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "done", "TktDocument_A1.dat.gpg")); err != nil {
		t.Errorf("not moved: %v", err)
	}
	// B2 waits for its document until the timeout, then fails naming it.
	if items, _ := f.List(ctx); len(items) != 0 {
		t.Fatalf("incomplete set handed out early: %v", items)
	}
	clk.t = clk.t.Add(31 * time.Minute)
	items, _ = f.List(ctx)
	if len(items) != 1 {
		t.Fatalf("timed-out set not handed out: %v", items)
	}
	_, err = f.Open(ctx, items[0])
	if err == nil || !strings.Contains(err.Error(), "file2Pattern") || !strings.Contains(err.Error(), `"B2"`) {
		t.Fatalf("err = %v", err)
	}
	f.Finish(ctx, items[0], &block.Completion{Err: err})
	if _, err := os.Stat(filepath.Join(dir, "done", "TktCoupon_B2.dat.gpg")); err != nil {
		t.Errorf("timed-out file not moved: %v", err)
	}
}

func TestFetchSpecChecks(t *testing.T) {
	_, probs := FetchSpec.ParseConfig(map[string]any{"hostname": "h", "username": "u", "password": block.Ref{Name: "pw"}, "sourceDirectory": "/a", "processedDirectory": "/b",
		"file1Pattern": "^x.*$", "file2Pattern": "^(y).*$"}, nil)
	found := false
	for _, p := range probs {
		if p.Path == "file1Pattern" && strings.Contains(p.Message, "capture group") {
			found = true
		}
	}
	if !found {
		t.Errorf("problems = %v", probs)
	}
}

type collector struct {
	units []*block.Unit
	acked int
}

func (c *collector) Emit(_ context.Context, _ string, u *block.Unit) error {
	c.units = append(c.units, u)
	return nil
}
func (c *collector) Ack(*block.Unit, []byte) { c.acked++ }
func (c *collector) Progress(int64)          {}

// literal stands in for the expression language: "${f}" reads field f.
type literal struct{ field string }

func (l literal) EvalString(a block.Lookup) (string, error) {
	v, _ := a.Get(l.field)
	return "line:" + v, nil
}
func (l literal) EvalBool(block.Lookup) (bool, error) { return true, nil }

func TestMergeContent(t *testing.T) {
	clk := &clock{t: time.Unix(0, 0)}
	cfg, probs := MergeSpec.ParseConfig(map[string]any{"CorrelationAttributeName": "topic", "MinimumNumberEntries": 2, "MaximumNumberEntries": 3, "MaxBinAge": "1 minutes", "Replacement value": "${v}"}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	env := &block.Env{WorkDir: t.TempDir(), Now: clk.now, CompileExpr: func(string) (block.Expr, error) { return literal{"v"}, nil }}
	b, err := MergeSpec.New(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	m := b.(*merger)
	batch := func(topic string, vals ...string) *block.Unit {
		bt := &block.Batch{}
		for i, v := range vals {
			o := jsonv.NewObject(2)
			o.Set("v", v)
			bt.Records = append(bt.Records, block.Record{Seq: int64(i + 1), Value: o})
		}
		return &block.Unit{Attrs: block.Attributes{"topic": topic, block.AttrLineageID: "L"}, Batch: bt}
	}
	var out collector
	ctx := context.Background()
	// 4 entries for t1: one full bin of 3 merged, 1 left.
	if err := m.Process(ctx, batch("t1", "a", "b", "c", "d"), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.units) != 1 || out.acked != 1 {
		t.Fatalf("units %d acked %d", len(out.units), out.acked)
	}
	rc, _ := out.units[0].File.Open(ctx)
	body, _ := io.ReadAll(rc)
	rc.Close()
	if string(body) != "line:a\nline:b\nline:c\n" || out.units[0].Attrs["topic"] != "t1" || out.units[0].Attrs[AttrMergeCount] != "3" {
		t.Errorf("merged %q %v", body, out.units[0].Attrs)
	}
	// Old enough with ≥ min entries: merged on the next arrival.
	clk.t = clk.t.Add(61 * time.Second)
	m.Process(ctx, batch("t2", "x"), &out)
	if len(out.units) != 1 {
		t.Fatalf("t1 bin has 1 entry < min 2: must wait, got %d units", len(out.units))
	}
	m.Process(ctx, batch("t1", "e"), &out)
	if len(out.units) != 2 {
		t.Fatalf("t1 bin (2 entries, 61s old) must merge: %d units", len(out.units))
	}
	rc, _ = out.units[1].File.Open(ctx)
	body, _ = io.ReadAll(rc)
	rc.Close()
	if string(body) != "line:d\nline:e\n" {
		t.Errorf("second merge %q", body)
	}
	m.EndLineage(ctx, "L", true)
	m.Close()
	if ents, _ := os.ReadDir(env.WorkDir); len(ents) != 0 {
		t.Errorf("files left: %d", len(ents))
	}
}

func TestParsePeriod(t *testing.T) {
	for in, want := range map[string]time.Duration{"1 minutes": time.Minute, "30 sec": 30 * time.Second, "2 hours": 2 * time.Hour, "500 millis": 500 * time.Millisecond, "90s": 90 * time.Second} {
		if got, err := ParsePeriod(in); err != nil || got != want {
			t.Errorf("%q = %v, %v", in, got, err)
		}
	}
	if _, err := ParsePeriod("soon"); err == nil {
		t.Error("bad period accepted")
	}
}
