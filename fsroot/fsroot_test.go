package fsroot

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type fixture struct {
	base, home, other, data, allowed string
	p                                *Policy
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	tmp := t.TempDir()
	f := &fixture{base: filepath.Join(tmp, "files"), data: filepath.Join(tmp, "data"), allowed: filepath.Join(tmp, "shared")}
	f.home = filepath.Join(f.base, "org_a")
	f.other = filepath.Join(f.base, "org_b")
	for _, d := range []string{f.home, f.other, f.data, f.allowed} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(f.data, "master.key"), "KEY")
	write(t, filepath.Join(f.other, "result.csv"), "other org")
	p, err := New(Config{Home: f.home, Allow: []string{f.allowed}, Forbidden: []string{f.data}})
	if err != nil {
		t.Fatal(err)
	}
	f.p = p
	return f
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func wantOutside(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: allowed, want refused", what)
	}
	if !errors.Is(err, ErrOutside) && !strings.Contains(err.Error(), "escapes") {
		t.Fatalf("%s: %v, want a confinement refusal", what, err)
	}
}

func TestCheckRefusesEscapes(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{
		f.data, filepath.Join(f.data, "master.key"), f.other, filepath.Join(f.other, "result.csv"),
		"../org_b", "in/../../org_b", filepath.Join(f.home, "..", "org_b"), "/etc", "/", "",
		f.base, "a\x00b",
	} {
		wantOutside(t, p, f.p.Check(p))
	}
	for _, p := range []string{"in", "in/sub", f.home, filepath.Join(f.home, "out"), f.allowed, filepath.Join(f.allowed, "x")} {
		if err := f.p.Check(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if got, _ := f.p.Resolve("in"); got != filepath.Join(f.home, "in") {
		t.Fatalf("relative path resolved to %s", got)
	}
}

func TestCheckResolvesSymlinks(t *testing.T) {
	f := newFixture(t)
	if err := os.Symlink(f.data, filepath.Join(f.home, "link")); err != nil {
		t.Fatal(err)
	}
	wantOutside(t, "link to data dir", f.p.Check("link"))
	wantOutside(t, "below link", f.p.Check("link/master.key"))
	if err := os.Symlink(f.other, filepath.Join(f.home, "peer")); err != nil {
		t.Fatal(err)
	}
	wantOutside(t, "link to other org", f.p.Check("peer/result.csv"))
	// A link from outside into the home is judged by where it leads.
	outLink := filepath.Join(filepath.Dir(f.base), "into-home")
	if err := os.Symlink(f.home, outLink); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Check(filepath.Join(outLink, "x")); err != nil {
		t.Fatalf("link into the home: %v", err)
	}
}

// TestOpenRechecksSymlinkCreatedAfterValidation: the directory passes Check,
// then becomes a symbolic link to the data directory; every operation must
// refuse it.
func TestOpenRechecksSymlinkCreatedAfterValidation(t *testing.T) {
	f := newFixture(t)
	if err := os.MkdirAll(filepath.Join(f.home, "in"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Check("in/master.key"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(f.home, "in")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(f.data, filepath.Join(f.home, "in")); err != nil {
		t.Fatal(err)
	}
	// The lexical re-check sees the link now; os.Root would refuse it too.
	_, err := f.p.Open("in/master.key")
	wantOutside(t, "open", err)
	wantOutside(t, "rename", f.p.Rename("in/master.key", "stolen"))
	wantOutside(t, "remove", f.p.Remove("in/master.key"))
	_, err = f.p.ReadDir("in")
	wantOutside(t, "readdir", err)
	// os.Root itself: a link swapped in below a checked path is refused by
	// the kernel-level walk even when the lexical check is bypassed.
	r, err := os.OpenRoot(f.home)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Open("in/master.key"); err == nil {
		t.Fatal("os.Root followed a link out of the root")
	}
	if b, _ := os.ReadFile(filepath.Join(f.data, "master.key")); string(b) != "KEY" {
		t.Fatal("master key changed")
	}
}

func TestReplaceThroughLinkStaysInside(t *testing.T) {
	f := newFixture(t)
	victim := filepath.Join(filepath.Dir(f.base), "victim.txt")
	write(t, victim, "precious")
	if err := os.Symlink(victim, filepath.Join(f.home, "target.csv")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.OpenFile("target.csv", os.O_WRONLY|os.O_TRUNC, 0o600); err == nil {
		t.Fatal("opened a link to a file outside the root for writing")
	}
	// Rename over the link replaces the link, never the file it points to.
	write(t, filepath.Join(f.home, ".tmp"), "new")
	if err := f.p.Rename(".tmp", "target.csv"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("victim overwritten: %q", b)
	}
}

func TestOperationsInsideRoots(t *testing.T) {
	f := newFixture(t)
	if err := f.p.MkdirAll("in/sub", 0o700); err != nil {
		t.Fatal(err)
	}
	w, err := f.p.OpenFile("in/sub/a.csv", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString("x")
	w.Close()
	var seen []string
	if err := f.p.WalkDir("in", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			seen = append(seen, p)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != filepath.Join(f.home, "in/sub/a.csv") {
		t.Fatalf("walk saw %v", seen)
	}
	if err := f.p.Link("in/sub/a.csv", "in/b.csv"); err != nil {
		t.Fatal(err)
	}
	// Across roots a rename copies.
	if err := f.p.Rename("in/b.csv", filepath.Join(f.allowed, "b.csv")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(f.allowed, "b.csv")); err != nil || string(b) != "x" {
		t.Fatalf("cross-root move: %q %v", b, err)
	}
	if _, err := f.p.Stat("in/b.csv"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("original kept: %v", err)
	}
	var le *os.LinkError
	if err := f.p.Link("in/sub/a.csv", filepath.Join(f.allowed, "c")); !errors.As(err, &le) || !errors.Is(err, ErrCrossRoot) {
		t.Fatalf("cross-root link: %v", err)
	}
}

func TestHomeCreatedPrivate(t *testing.T) {
	tmp := t.TempDir()
	p, err := New(Config{Home: filepath.Join(tmp, "files", "org_x")})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.MkdirAll("in", 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(tmp, "files", "org_x"))
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("home: %v %v", st.Mode(), err)
	}
}

func TestRootOverlappingForbiddenRefused(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	for _, c := range []Config{
		{Home: tmp, Forbidden: []string{data}},
		{Home: filepath.Join(data, "files"), Forbidden: []string{data}},
		{Allow: []string{"/"}, Forbidden: []string{data}},
	} {
		if _, err := New(c); !errors.Is(err, ErrOutside) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

func TestNoRootsRefusesEverything(t *testing.T) {
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	wantOutside(t, "tmp", p.Check(t.TempDir()))
	wantOutside(t, "relative", p.Check("in"))
}

func TestUnconfinedStillForbidsDataDir(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	write(t, filepath.Join(data, "master.key"), "KEY")
	write(t, filepath.Join(tmp, "in", "a.csv"), "a")
	p, err := Unconfined(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(filepath.Join(tmp, "in")); err != nil {
		t.Fatal(err)
	}
	wantOutside(t, "data", p.Check(filepath.Join(data, "master.key")))
	if err := os.Symlink(data, filepath.Join(tmp, "in", "link")); err != nil {
		t.Fatal(err)
	}
	_, err = p.Open(filepath.Join(tmp, "in", "link", "master.key"))
	wantOutside(t, "through link", err)
	// A recursive walk of a parent never enters the data directory.
	var seen []string
	if err := p.WalkDir(tmp, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			seen = append(seen, path)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, s := range seen {
		if strings.Contains(s, "master.key") {
			t.Fatalf("walk entered the data dir: %v", seen)
		}
	}
}
