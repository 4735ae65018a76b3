package pgp

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/connectplus/connectplus/block"
)

// collector is a block.Output that keeps what was emitted.
type collector struct {
	mu    sync.Mutex
	units []*block.Unit
	rels  []string
}

func (c *collector) Emit(_ context.Context, rel string, u *block.Unit) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.units = append(c.units, u)
	c.rels = append(c.rels, rel)
	return nil
}
func (c *collector) Ack(*block.Unit, []byte) {}
func (c *collector) Progress(int64)          {}

func newBlock(t testing.TB, spec *block.Spec, values map[string]string) block.Processor {
	t.Helper()
	cfg := block.NewConfig(spec, values)
	if probs := spec.Check(cfg); len(probs) > 0 {
		t.Fatalf("config problems: %v", probs)
	}
	b, err := spec.New(cfg, &block.Env{Block: "b", WorkDir: t.TempDir()})
	if err != nil {
		t.Fatalf("New %s: %v", spec.Type, err)
	}
	if c, ok := b.(block.Closer); ok {
		t.Cleanup(func() { c.Close() })
	}
	return b.(block.Processor)
}

func fileUnit(t testing.TB, name string, data []byte) *block.Unit {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := block.LocalFile(name, p)
	if err != nil {
		t.Fatal(err)
	}
	return &block.Unit{Attrs: block.Attributes{block.AttrFilename: name, block.AttrLineageID: "L1"}, File: f}
}

func readAll(t testing.TB, f *block.File) []byte {
	t.Helper()
	rc, err := f.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", f.Name, err)
	}
	return b
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func sample(n int) []byte {
	var buf bytes.Buffer
	for i := 0; buf.Len() < n; i++ {
		buf.WriteString("id,name,email\n")
		buf.WriteString("1,Ann \"Quote\",ann@example.com\n")
	}
	return buf.Bytes()[:n]
}
