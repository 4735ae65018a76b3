package local

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/filecore"
	"github.com/connectplus/connectplus/blocks/filecore/filecoretest"
	"github.com/connectplus/connectplus/fsroot"
)

func TestRegister(t *testing.T) {
	r := block.NewRegistry()
	Register(r)
	if _, ok := r.Lookup("file_read"); !ok {
		t.Fatal("file_read not registered")
	}
	// Same field keys as sftp_read/sftp_write minus connection fields.
	for _, k := range []string{"sourceDirectory", "fileRegex", "searchDirRecursively", "processedDirectory", "apiErrorFilePath", "unzipFiles", "File Delimiter", "Report Status Code"} {
		if _, ok := ReadSpec.Field(k); !ok {
			t.Errorf("file_read lacks %s", k)
		}
	}
	for _, k := range []string{"remotePath", "createRemoteDirectory", "conflictResolution", "zipFiles", "outputFileName"} {
		if _, ok := WriteSpec.Field(k); !ok {
			t.Errorf("file_write lacks %s", k)
		}
	}
	if f, _ := ReadSpec.Field("fileRegex"); f.Default != ".*.csv" {
		t.Errorf("fileRegex default %q", f.Default)
	}
}

func newBlock(t *testing.T, spec *block.Spec, raw map[string]any, opts map[string]string) (block.Block, error) {
	t.Helper()
	return newConfined(t, spec, raw, opts, nil)
}

func newConfined(t *testing.T, spec *block.Spec, raw map[string]any, opts map[string]string, p *fsroot.Policy) (block.Block, error) {
	t.Helper()
	c, probs := spec.ParseConfig(raw, nil)
	if len(probs) > 0 {
		return nil, probs[0]
	}
	env := filecoretest.Env(t, spec.Type)
	env.Options[filecore.OptStabilityWait] = "0"
	for k, v := range opts {
		env.Options[k] = v
	}
	env.LocalPaths = p
	b, err := spec.New(c, env)
	if err == nil {
		t.Cleanup(func() { b.(block.Closer).Close() })
	}
	return b, err
}

func TestReadWriteRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	os.MkdirAll(in, 0o755)
	os.WriteFile(filepath.Join(in, "orders.csv"), []byte("id\n1\n"), 0o644)
	os.WriteFile(filepath.Join(in, "notes.txt"), []byte("x"), 0o644)
	// A symbolic link must not let the source read outside its directory.
	os.Symlink("/etc/passwd", filepath.Join(in, "passwd.csv"))

	rb, err := newBlock(t, ReadSpec, map[string]any{"sourceDirectory": in, "processedDirectory": filepath.Join(dir, "done"), "apiErrorFilePath": filepath.Join(dir, "err")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := rb.(block.Source)
	ctx := context.Background()
	src.List(ctx)
	items, err := src.List(ctx)
	if err != nil || len(items) != 1 || items[0].Name != "orders.csv" {
		t.Fatalf("items %v %v", items, err)
	}
	u, err := src.Open(ctx, items[0])
	if err != nil {
		t.Fatal(err)
	}
	wb, err := newBlock(t, WriteSpec, map[string]any{"remotePath": out, "createRemoteDirectory": true, "conflictResolution": "FAIL",
		"outputFileName": "${filename:substringBefore('.')}.copy.csv"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := wb.(block.Processor).Process(ctx, u, &filecoretest.Output{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "orders.copy.csv")); string(b) != "id\n1\n" {
		t.Fatalf("copy %q", b)
	}
	if err := src.Finish(ctx, items[0], &block.Completion{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "done", "orders.csv")); err != nil {
		t.Fatal("not moved to processed")
	}
}

func TestHostilePaths(t *testing.T) {
	dir := t.TempDir()
	_, err := newBlock(t, ReadSpec, map[string]any{"sourceDirectory": dir + "/in/../../etc", "processedDirectory": dir + "/done", "apiErrorFilePath": dir + "/err"}, nil)
	if err == nil || !strings.Contains(err.Error(), "..") {
		t.Fatalf("'..' in sourceDirectory accepted: %v", err)
	}
	_, err = newBlock(t, WriteSpec, map[string]any{"remotePath": dir + "/../x", "conflictResolution": "NONE"}, nil)
	if err == nil {
		t.Fatal("'..' in remotePath accepted")
	}
	_, err = newBlock(t, ReadSpec, map[string]any{"sourceDirectory": dir, "processedDirectory": dir, "apiErrorFilePath": dir + "/err"}, nil)
	if err == nil || !strings.Contains(err.Error(), "must differ") {
		t.Fatalf("processed == source accepted: %v", err)
	}
	wb, err := newBlock(t, WriteSpec, map[string]any{"remotePath": dir, "conflictResolution": "NONE"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := &block.Unit{Attrs: block.Attributes{"filename": "../../escape.csv"}, File: block.NewFile("x", 1, func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("x")), nil
	})}
	if err := wb.(block.Processor).Process(context.Background(), u, &filecoretest.Output{}); err == nil || !strings.Contains(err.Error(), "base name") {
		t.Fatalf("traversal through ${filename}: %v", err)
	}
}
