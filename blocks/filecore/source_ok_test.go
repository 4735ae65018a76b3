package filecore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/filecore"
)

// TestOKFileCompanion: a data file waits for its .ok companion and the
// companion moves with it.
func TestOKFileCompanion(t *testing.T) {
	dir := t.TempDir()
	in, done := filepath.Join(dir, "in"), filepath.Join(dir, "done")
	_ = os.MkdirAll(in, 0o755)
	old := time.Now().Add(-time.Hour)
	write := func(name string) {
		p := filepath.Join(in, name)
		if err := os.WriteFile(p, []byte("a,b\n1,2\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_ = os.Chtimes(p, old, old)
	}
	write("a.csv")
	write("b.csv")
	write("b.ok")
	re, _ := block.CompileJavaRegexWhole(".*")
	pool := filecore.NewPool(func(context.Context) (filecore.FS, error) { return filecore.NewLocalFS(), nil }, filecore.Retry{}, nil)
	src := filecore.NewSource(pool, filecore.SourceConfig{
		Dir: in, Pattern: re, ProcessedDir: done, OKSuffix: ".ok",
	}, nil)
	ctx := context.Background()
	var items []block.Item
	for i := 0; i < 2 && len(items) == 0; i++ {
		var err error
		if items, err = src.List(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(items) != 1 || items[0].Name != "b.csv" {
		t.Fatalf("want only b.csv released, got %+v", items)
	}
	u, err := src.Open(ctx, items[0])
	if err != nil {
		t.Fatal(err)
	}
	if u.Attrs[filecore.AttrOKPresent] != "true" || u.Attrs[filecore.AttrOKName] != "b.ok" {
		t.Fatalf("attrs %v", u.Attrs)
	}
	if err := src.Finish(ctx, items[0], &block.Completion{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"b.csv", "b.ok"} {
		if _, err := os.Stat(filepath.Join(done, f)); err != nil {
			t.Fatalf("%s not moved: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(in, "a.csv")); err != nil {
		t.Fatal("a.csv must wait for its companion")
	}
}
