package hashing

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
)

type collector struct{ units []*block.Unit }

func (c *collector) Emit(_ context.Context, _ string, u *block.Unit) error {
	c.units = append(c.units, u)
	return nil
}
func (c *collector) Ack(*block.Unit, []byte) {}
func (c *collector) Progress(int64)          {}

func newHasherT(t *testing.T, v map[string]string) block.Processor {
	t.Helper()
	cfg, probs := Spec.ParseConfig(anyMap(v), nil)
	if len(probs) > 0 {
		t.Fatalf("config: %v", probs)
	}
	b, err := Spec.New(cfg, &block.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return b.(block.Processor)
}

func anyMap(v map[string]string) map[string]any {
	m := map[string]any{}
	for k, x := range v {
		m[k] = x
	}
	return m
}

func fileUnit(t *testing.T, name, data string) *block.Unit {
	p := filepath.Join(t.TempDir(), name)
	os.WriteFile(p, []byte(data), 0o600)
	f, err := block.LocalFile(name, p)
	if err != nil {
		t.Fatal(err)
	}
	return &block.Unit{Attrs: block.Attributes{block.AttrFilename: name}, File: f}
}

func read(t *testing.T, f *block.File) (string, error) {
	rc, err := f.Open(context.Background())
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

func sha(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func TestHashFile(t *testing.T) {
	in := "id|email|mobile|note\n1|ann@example.com|9999|a \"quoted\" | note\n2||8888|\"multi\nline\"\n"
	in = strings.Replace(in, "a \"quoted\" | note", "\"a \"\"quoted\"\" | note\"", 1)
	p := newHasherT(t, map[string]string{"Enabled": "true", "HeadersToBeHashed": "email,mobile", "Delimiter": "|"})
	var out collector
	if err := p.Process(context.Background(), fileUnit(t, "c.csv", in), &out); err != nil {
		t.Fatal(err)
	}
	got, err := read(t, out.units[0].File)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(strings.NewReader(got))
	r.Comma = '|'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("output is not valid CSV: %v\n%s", err, got)
	}
	want := [][]string{
		{"id", "email", "mobile", "note"},
		{"1", sha("ann@example.com"), sha("9999"), `a "quoted" | note`},
		{"2", "", sha("8888"), "multi\nline"},
	}
	for i := range want {
		if strings.Join(rows[i], "\x00") != strings.Join(want[i], "\x00") {
			t.Errorf("row %d = %q, want %q", i, rows[i], want[i])
		}
	}
}

func TestAlgorithms(t *testing.T) {
	m := md5.Sum([]byte("abc"))
	for algo, want := range map[string]string{
		"SHA-256":    sha("abc"),
		"MD5":        hex.EncodeToString(m[:]),
		"SHA-1":      "a9993e364706816aba3e25717850c26c9cd0d89d",
		"SHA-512":    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
		"RIPEMD-160": "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc",
	} {
		p := newHasherT(t, map[string]string{"Enabled": "true", "HeadersToBeHashed": "v", "Hashing Algorithm": algo})
		var out collector
		if err := p.Process(context.Background(), fileUnit(t, "c.csv", "v\nabc\n"), &out); err != nil {
			t.Fatal(err)
		}
		got, _ := read(t, out.units[0].File)
		if got != "v\n"+want+"\n" {
			t.Errorf("%s: %q, want %q", algo, got, want)
		}
	}
}

func TestUnknownHeaders(t *testing.T) {
	p := newHasherT(t, map[string]string{"Enabled": "true", "HeadersToBeHashed": "email,phone,mobile"})
	err := p.Process(context.Background(), fileUnit(t, "c.csv", "id,email\n1,x\n"), &collector{})
	if err == nil || !strings.Contains(err.Error(), "phone, mobile") {
		t.Fatalf("err = %v", err)
	}
}

func TestMalformedRowFailsStream(t *testing.T) {
	p := newHasherT(t, map[string]string{"Enabled": "true", "HeadersToBeHashed": "email"})
	var out collector
	if err := p.Process(context.Background(), fileUnit(t, "c.csv", "id,email\n1,\"x\xff\"\n"), &out); err != nil {
		t.Fatal(err)
	}
	_, err := read(t, out.units[0].File)
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v", err)
	}
}

func TestDisabledAndBatch(t *testing.T) {
	p := newHasherT(t, map[string]string{})
	u := fileUnit(t, "c.csv", "a\n1\n")
	var out collector
	if err := p.Process(context.Background(), u, &out); err != nil || out.units[0] != u {
		t.Fatal("disabled block must pass through")
	}
	p = newHasherT(t, map[string]string{"Enabled": "true", "HeadersToBeHashed": "email"})
	b := &block.Batch{Header: block.NewHeader([]string{"id", "email"}), Records: []block.Record{{Seq: 1, Cols: []string{"1", "a@b"}}}}
	obj := jsonv.NewObject(1)
	obj.Set("email", "c@d")
	b.Records = append(b.Records, block.Record{Seq: 2, Value: obj})
	if err := p.Process(context.Background(), &block.Unit{Batch: b}, &collector{}); err != nil {
		t.Fatal(err)
	}
	if v, _ := b.Records[0].Value.(*jsonv.Object).Get("email"); v != sha("a@b") || b.Records[0].Cols[1] != "a@b" {
		t.Errorf("record 1: %v / cols %v", v, b.Records[0].Cols)
	}
	if v, _ := obj.Get("email"); v != sha("c@d") {
		t.Errorf("record 2: %v", v)
	}
	b2 := &block.Batch{Header: block.NewHeader([]string{"id"}), Records: []block.Record{{Seq: 1, Cols: []string{"1"}}}}
	if err := p.Process(context.Background(), &block.Unit{Batch: b2}, &collector{}); err == nil {
		t.Fatal("missing field in batch header must fail")
	}
}

func TestConfigChecks(t *testing.T) {
	if _, probs := Spec.ParseConfig(map[string]any{"Enabled": "true"}, nil); len(probs) == 0 {
		t.Error("enabled without headers must be a problem")
	}
	if _, probs := Spec.ParseConfig(map[string]any{"Delimiter": "||"}, nil); len(probs) == 0 {
		t.Error("two-character delimiter must be a problem")
	}
}
