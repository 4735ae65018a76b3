package related

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/blocks/csvjson"
	"github.com/connectplus/connectplus/blocks/local"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/engine"
)

// TestMergeThroughEngine: entries stay held until their bin is written, the
// age timer flushes bins that stop growing, and every record is accounted.
func TestMergeThroughEngine(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	_ = os.MkdirAll(in, 0o755)
	old := time.Now().Add(-time.Hour)
	for f, n := range map[string]int{"a.csv": 7, "b.csv": 5} {
		var b strings.Builder
		b.WriteString("id,kind\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "%s%d,%s\n", f[:1], i, []string{"x", "y"}[i%2])
		}
		p := filepath.Join(in, f)
		_ = os.WriteFile(p, []byte(b.String()), 0o644)
		_ = os.Chtimes(p, old, old)
	}
	reg := block.NewRegistry()
	local.Register(reg)
	reg.MustRegister(csvjson.Spec)
	Register(reg)
	doc := &dataflow.Document{Name: "m", Blocks: []dataflow.Block{
		{Type: "file_read", Name: "read", Config: map[string]any{"sourceDirectory": in, "processedDirectory": filepath.Join(dir, "done"), "apiErrorFilePath": filepath.Join(dir, "err"), "stabilityWait": "1ms"}, Relations: []dataflow.Relation{{To: "conv"}}},
		{Type: "convert_csv_to_json", Name: "conv", Config: map[string]any{"groupSize": 3}, Relations: []dataflow.Relation{{To: "merge"}}},
		{Type: "merge_content", Name: "merge", Config: map[string]any{"CorrelationAttributeName": "kind", "MinimumNumberEntries": 4, "MaximumNumberEntries": 4, "MaxBinAge": "1 sec", "Replacement value": "${id}"}, Relations: []dataflow.Relation{{To: "write"}}},
		{Type: "file_write", Name: "write", Config: map[string]any{"remotePath": out, "createRemoteDirectory": "true", "conflictResolution": "RENAME"}},
	}}
	f, err := engine.Compile(doc, engine.Options{Registry: reg, CompileExpr: exprs.Compiler(nil, nil), WorkDir: filepath.Join(dir, "work")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := f.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var in2, delivered int64
	for _, r := range res {
		if !r.Balanced() || r.Status != engine.StatusSuccess {
			t.Fatalf("lineage %+v", r)
		}
		in2 += r.Counts.In
		delivered += r.Counts.Delivered
	}
	if in2 != 12 || delivered != 12 {
		t.Fatalf("in %d delivered %d", in2, delivered)
	}
	files, _ := os.ReadDir(out)
	lines := 0
	for _, e := range files {
		b, _ := os.ReadFile(filepath.Join(out, e.Name()))
		lines += strings.Count(string(b), "\n")
	}
	if lines != 12 {
		t.Fatalf("merged files hold %d entries, want 12 (%d files)", lines, len(files))
	}
}
