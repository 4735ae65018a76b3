package local

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/filecore/filecoretest"
	"github.com/connectplus/connectplus/fsroot"
)

// confined is a server-like layout: a files base with two organisations'
// roots and a data directory holding the master key, outside the base.
type confined struct {
	tmp, home, other, data string
	p                      *fsroot.Policy
}

func newConfinedFixture(t *testing.T) *confined {
	t.Helper()
	tmp := t.TempDir()
	c := &confined{tmp: tmp, home: filepath.Join(tmp, "files", "org_a"), other: filepath.Join(tmp, "files", "org_b"), data: filepath.Join(tmp, "data")}
	for _, d := range []string{c.home + "/in", c.other + "/out", c.data + "/results/org_b"} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(c.data, "master.key"), "MASTER")
	mustWrite(t, filepath.Join(c.data, "results", "org_b", "result_1_x.csv"), "b's results")
	mustWrite(t, filepath.Join(c.other, "out", "orders.csv"), "b's orders")
	p, err := fsroot.New(fsroot.Config{Home: c.home, Forbidden: []string{c.data}})
	if err != nil {
		t.Fatal(err)
	}
	c.p = p
	return c
}

func mustWrite(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func refused(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil || !errors.Is(err, fsroot.ErrOutside) && !strings.Contains(err.Error(), "escapes") && !strings.Contains(err.Error(), `".."`) {
		t.Fatalf("%s: %v, want a confinement refusal", what, err)
	}
}

func (c *confined) read(t *testing.T, src, done, errDir string) (block.Source, error) {
	t.Helper()
	b, err := newConfined(t, ReadSpec, map[string]any{"sourceDirectory": src, "fileRegex": ".*", "processedDirectory": done, "apiErrorFilePath": errDir}, nil, c.p)
	if err != nil {
		return nil, err
	}
	return b.(block.Source), nil
}

// TestConfinedDirectoriesRefused: every directory of file_read and
// file_write outside the organisation's root — the data directory, another
// organisation's root or results, "..", any absolute path — is refused when
// the block is built (after Extension Configurations are resolved).
func TestConfinedDirectoriesRefused(t *testing.T) {
	c := newConfinedFixture(t)
	for name, dirs := range map[string][3]string{
		"source is data dir":      {c.data, "done", "err"},
		"source is other results": {filepath.Join(c.data, "results", "org_b"), "done", "err"},
		"source is other org":     {filepath.Join(c.other, "out"), "done", "err"},
		"source climbs":           {"../org_b/out", "done", "err"},
		"source is /etc":          {"/etc", "done", "err"},
		"processed outside root":  {"in", filepath.Join(c.tmp, "loot"), "err"},
		"processed into data dir": {"in", c.data, "err"},
		"error dir outside root":  {"in", "done", filepath.Join(c.other, "out")},
		"error dir into data dir": {"in", "done", filepath.Join(c.data, "x")},
	} {
		_, err := c.read(t, dirs[0], dirs[1], dirs[2])
		refused(t, name, err)
	}
	for name, dir := range map[string]string{"data dir": c.data, "other org": filepath.Join(c.other, "out"), "outside": c.tmp, "climb": "out/../../org_b"} {
		_, err := newConfined(t, WriteSpec, map[string]any{"remotePath": dir, "conflictResolution": "REPLACE"}, nil, c.p)
		if err == nil {
			t.Fatalf("file_write to %s accepted", name)
		}
	}
	// Relative and absolute paths inside the root are fine.
	if _, err := c.read(t, "in", filepath.Join(c.home, "done"), "err"); err != nil {
		t.Fatal(err)
	}
}

// TestMasterKeyExfiltrationBlocked is the reported attack at block level:
// file_read on the data directory for master.key. The source refuses to be
// built, so nothing can list, read or move the key.
func TestMasterKeyExfiltrationBlocked(t *testing.T) {
	c := newConfinedFixture(t)
	_, err := c.read(t, c.data, "done", "err")
	refused(t, "data dir source", err)
	// Through a symbolic link inside the root, at build time…
	if err := os.Symlink(c.data, filepath.Join(c.home, "keys")); err != nil {
		t.Fatal(err)
	}
	_, err = c.read(t, "keys", "done", "err")
	refused(t, "link to data dir", err)
	if b, err := os.ReadFile(filepath.Join(c.data, "master.key")); err != nil || string(b) != "MASTER" {
		t.Fatalf("master key: %q %v", b, err)
	}
}

// TestSymlinkSwappedAfterValidation: sourceDirectory and processedDirectory
// pass when the block is built; then they are replaced by links to the data
// directory and to a directory outside the root. Listing, reading and
// moving must all be refused at the moment of use, and the key stays.
func TestSymlinkSwappedAfterValidation(t *testing.T) {
	c := newConfinedFixture(t)
	mustWrite(t, filepath.Join(c.home, "in", "a.csv"), "a")
	src, err := c.read(t, "in", "done", "err")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	items, err := src.List(ctx)
	if err != nil || len(items) != 1 {
		t.Fatalf("list: %v %v", items, err)
	}
	// processedDirectory becomes a link out of the root: the move is refused
	// and the file stays in the source directory.
	outside := filepath.Join(c.tmp, "outside")
	os.MkdirAll(outside, 0o700)
	if err := os.Symlink(outside, filepath.Join(c.home, "done")); err != nil {
		t.Fatal(err)
	}
	if err := src.Finish(ctx, items[0], &block.Completion{}); err == nil {
		t.Fatal("moved into a directory linked out of the root")
	}
	if _, err := os.Stat(filepath.Join(c.home, "in", "a.csv")); err != nil {
		t.Fatalf("file left its directory: %v", err)
	}
	if des, _ := os.ReadDir(outside); len(des) != 0 {
		t.Fatalf("file reached %s", outside)
	}
	// sourceDirectory becomes a link to the data directory.
	os.RemoveAll(filepath.Join(c.home, "in"))
	if err := os.Symlink(c.data, filepath.Join(c.home, "in")); err != nil {
		t.Fatal(err)
	}
	if items, err := src.List(ctx); err == nil {
		t.Fatalf("listed the data directory through a swapped link: %v", items)
	}
	u, err := src.Open(ctx, block.Item{Key: filepath.Join(c.home, "in", "master.key"), Name: "master.key", Dir: filepath.Join(c.home, "in")})
	if err == nil {
		if rc, err := u.File.Open(ctx); err == nil {
			b, _ := io.ReadAll(rc)
			rc.Close()
			t.Fatalf("read %q through a swapped link", b)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(c.data, "master.key")); string(b) != "MASTER" {
		t.Fatal("master key changed")
	}
}

// TestSourceNeverMovesFilesOutsideItsDirectory: an item naming a file
// elsewhere (the master key; a claim of another configuration) is not moved.
func TestSourceNeverMovesFilesOutsideItsDirectory(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "data", "master.key")
	mustWrite(t, key, "MASTER")
	os.MkdirAll(filepath.Join(dir, "in"), 0o700)
	b, err := newBlock(t, ReadSpec, map[string]any{"sourceDirectory": filepath.Join(dir, "in"), "processedDirectory": filepath.Join(dir, "done"), "apiErrorFilePath": filepath.Join(dir, "err")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := b.(block.Source)
	it := block.Item{Key: key, Name: "master.key", Dir: filepath.Dir(key)}
	if err := src.Finish(context.Background(), it, &block.Completion{}); err == nil || !strings.Contains(err.Error(), "not in the source directory") {
		t.Fatalf("finish: %v", err)
	}
	if _, err := os.Stat(key); err != nil {
		t.Fatalf("the key was moved: %v", err)
	}
}

// TestReplaceNeverWritesOutsideRoot: conflictResolution REPLACE with the
// target name being a link to a file outside the root replaces the link,
// never the file it points to.
func TestReplaceNeverWritesOutsideRoot(t *testing.T) {
	c := newConfinedFixture(t)
	victim := filepath.Join(c.other, "out", "orders.csv")
	os.MkdirAll(filepath.Join(c.home, "out"), 0o700)
	if err := os.Symlink(victim, filepath.Join(c.home, "out", "orders.csv")); err != nil {
		t.Fatal(err)
	}
	wb, err := newConfined(t, WriteSpec, map[string]any{"remotePath": "out", "conflictResolution": "REPLACE"}, nil, c.p)
	if err != nil {
		t.Fatal(err)
	}
	u := &block.Unit{Attrs: block.Attributes{"filename": "orders.csv"}, File: block.NewFile("orders.csv", 3, func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("new")), nil
	})}
	if err := wb.(block.Processor).Process(context.Background(), u, &filecoretest.Output{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "b's orders" {
		t.Fatalf("the other organisation's file was overwritten: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(c.home, "out", "orders.csv")); string(b) != "new" {
		t.Fatalf("output %q", b)
	}
	// The directory itself swapped for a link after the block was built.
	os.RemoveAll(filepath.Join(c.home, "out"))
	if err := os.Symlink(filepath.Join(c.other, "out"), filepath.Join(c.home, "out")); err != nil {
		t.Fatal(err)
	}
	if err := wb.(block.Processor).Process(context.Background(), u, &filecoretest.Output{}); err == nil {
		t.Fatal("wrote through a directory linked to another organisation")
	}
	if b, _ := os.ReadFile(victim); string(b) != "b's orders" {
		t.Fatalf("the other organisation's file was overwritten: %q", b)
	}
}

func TestLocalPathsListed(t *testing.T) {
	c, probs := ReadSpec.ParseConfig(map[string]any{"sourceDirectory": "in", "processedDirectory": "/x", "apiErrorFilePath": map[string]any{"$config": "errdir"}}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	got := ReadSpec.LocalPaths(c)
	if len(got) != 2 || got[0] != (block.LocalPath{Key: "sourceDirectory", Path: "in"}) || got[1].Key != "processedDirectory" {
		t.Fatalf("%+v", got)
	}
}
