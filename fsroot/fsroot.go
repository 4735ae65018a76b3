// Package fsroot confines the local paths a dataflow may touch. A Policy
// names a home directory (the organisation's root; relative paths resolve
// against it), further allowed directories (a platform administrator's
// setting) and forbidden paths (the server's data directory, master key,
// database) that no dataflow may reach, whatever the roots say.
//
// Paths are checked twice: Check at validation (lexically, with symbolic
// links resolved on the longest existing prefix, so the problem is reported
// with the block and field), and again by every file operation, which goes
// through os.Root: a symbolic link created after validation that points out
// of the root is refused by the kernel-level resolution of os.Root, not by a
// check that could race.
//
// An unconfined Policy (connectplus run on one machine) allows every path
// except the forbidden ones.
package fsroot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrOutside is wrapped by every refusal of a path outside the policy.
var ErrOutside = errors.New("local path not allowed")

// Config describes a Policy.
type Config struct {
	// Home is the organisation's root directory: relative paths resolve
	// against it. It is created (mode 0700) when first used.
	Home string
	// Allow lists further directories paths may lie in.
	Allow []string
	// Forbidden lists paths (files or directories) no operation may reach,
	// not even through an allowed root or when unconfined.
	Forbidden []string
	// Unconfined allows every path except the forbidden ones (relative paths
	// resolve against the working directory).
	Unconfined bool
}

// Policy is an immutable set of rules for local paths; it is safe for
// concurrent use.
type Policy struct {
	home       string
	roots      []root // home first, then Allow
	forbidden  []string
	unconfined bool
}

type root struct {
	given    string // absolute, cleaned, as configured
	resolved string // with symbolic links resolved
	home     bool
}

// New checks c and returns its Policy. A root that contains, or lies inside,
// a forbidden path is refused: the kernel-level confinement of os.Root
// cannot exclude a subtree, so a forbidden path must never be under a root.
func New(c Config) (*Policy, error) {
	p := &Policy{unconfined: c.Unconfined}
	for _, f := range c.Forbidden {
		if strings.TrimSpace(f) == "" {
			continue
		}
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, fmt.Errorf("forbidden path %q: %w", f, err)
		}
		p.forbidden = appendUnique(p.forbidden, abs, resolvePrefix(abs))
	}
	add := func(dir string, home bool) error {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("local root %q: %w", dir, err)
		}
		r := root{given: abs, resolved: resolvePrefix(abs), home: home}
		for _, f := range p.forbidden {
			for _, d := range []string{r.given, r.resolved} {
				if within(f, d) || within(d, f) {
					return fmt.Errorf("%w: local root %q overlaps %q, which no dataflow may reach", ErrOutside, dir, f)
				}
			}
		}
		p.roots = append(p.roots, r)
		return nil
	}
	if strings.TrimSpace(c.Home) != "" {
		if err := add(c.Home, true); err != nil {
			return nil, err
		}
		p.home = p.roots[0].given
	}
	for _, a := range c.Allow {
		if strings.TrimSpace(a) == "" {
			continue
		}
		if err := add(a, false); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Unconfined returns a policy that allows every path except forbidden.
func Unconfined(forbidden ...string) (*Policy, error) {
	return New(Config{Unconfined: true, Forbidden: forbidden})
}

// Home is the directory relative paths resolve against ("" when none).
func (p *Policy) Home() string { return p.home }

// IsUnconfined reports whether every non-forbidden path is allowed.
func (p *Policy) IsUnconfined() bool { return p.unconfined }

// Describe says where paths may lie, for messages.
func (p *Policy) Describe() string {
	if p.unconfined {
		return "anywhere but the server's own files"
	}
	var dirs []string
	for _, r := range p.roots {
		dirs = append(dirs, r.given)
	}
	if len(dirs) == 0 {
		return "nowhere: this server has no files root (connectplus server --files-root)"
	}
	return "under " + strings.Join(dirs, " or ")
}

func appendUnique(list []string, vals ...string) []string {
	for _, v := range vals {
		dup := false
		for _, x := range list {
			dup = dup || x == v
		}
		if !dup {
			list = append(list, v)
		}
	}
	return list
}

// within reports whether p is dir or below it (both absolute and clean).
func within(p, dir string) bool {
	if dir == string(filepath.Separator) {
		return true
	}
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

// resolvePrefix resolves symbolic links in the longest existing prefix of
// abs and appends the rest unchanged.
func resolvePrefix(abs string) string {
	rest := ""
	cur := abs
	for {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			if rest == "" {
				return r
			}
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs
		}
		if rest == "" {
			rest = filepath.Base(cur)
		} else {
			rest = filepath.Join(filepath.Base(cur), rest)
		}
		cur = parent
	}
}

// location is a path placed in the policy: its absolute form and, when
// confined, the root it lies in and the path relative to that root.
type location struct {
	abs  string
	root *root
	rel  string
}

func (p *Policy) refuse(path, why string) error {
	return fmt.Errorf("%w: %q %s", ErrOutside, path, why)
}

// locate places path in the policy for an operation, or says why it may
// not be used.
func (p *Policy) locate(path string) (location, error) { return p.place(path, false, false) }

// locateLink is locate for operations on a name itself (rename, remove,
// lstat): a final symbolic link is not followed, so only its directory
// must resolve inside the root.
func (p *Policy) locateLink(path string) (location, error) { return p.place(path, true, false) }

// place places path in the policy. thorough (validation) resolves symbolic
// links on the path's longest existing prefix to report a link out of the
// root as a problem; an operation in a root skips that (a dozen lstat
// calls a file): os.Root refuses such a link when the operation walks the
// path, and no forbidden path lies under a root (New). Unconfined, the
// resolved path is what the forbidden paths are compared with.
func (p *Policy) place(path string, nofollow, thorough bool) (location, error) {
	if strings.ContainsRune(path, 0) {
		return location{}, p.refuse(path, "contains a NUL byte")
	}
	if strings.TrimSpace(path) == "" {
		return location{}, p.refuse(path, "is empty")
	}
	var abs string
	switch {
	case filepath.IsAbs(path):
		abs = filepath.Clean(path)
	case p.home != "":
		if !filepath.IsLocal(path) {
			return location{}, p.refuse(path, "leaves the organisation's files root (\"..\")")
		}
		abs = filepath.Join(p.home, path)
	case p.unconfined:
		a, err := filepath.Abs(path)
		if err != nil {
			return location{}, fmt.Errorf("local path %q: %w", path, err)
		}
		abs = a
	default:
		return location{}, p.refuse(path, "is relative and there is no files root to resolve it against")
	}
	resolvedPath, haveResolved := "", false
	resolved := func() string {
		if !haveResolved {
			resolvedPath, haveResolved = resolvePrefix(abs), true
			if nofollow && abs != string(filepath.Separator) {
				resolvedPath = filepath.Join(resolvePrefix(filepath.Dir(abs)), filepath.Base(abs))
			}
		}
		return resolvedPath
	}
	forbidden := func(withLinks bool) error {
		for _, f := range p.forbidden {
			if within(abs, f) || withLinks && within(resolved(), f) {
				return p.refuse(path, "is inside the server's own files (data directory, keys, database), which no dataflow may touch")
			}
		}
		return nil
	}
	if err := forbidden(thorough || p.unconfined); err != nil {
		return location{}, err
	}
	if p.unconfined {
		return location{abs: abs}, nil
	}
	for i := range p.roots {
		r := &p.roots[i]
		if !within(abs, r.given) && !within(abs, r.resolved) {
			continue
		}
		if thorough && !within(resolved(), r.resolved) {
			return location{}, p.refuse(path, "resolves through a symbolic link to "+resolved()+", outside "+r.given)
		}
		base := r.given
		if !within(abs, base) {
			base = r.resolved
		}
		rel, err := filepath.Rel(base, abs)
		if err != nil || (!filepath.IsLocal(rel) && rel != ".") {
			return location{}, p.refuse(path, "is not below "+r.given)
		}
		return location{abs: abs, root: r, rel: rel}, nil
	}
	// A path outside every root lexically may still reach one through a
	// symbolic link it names; it is judged by where it resolves to.
	if err := forbidden(true); err != nil {
		return location{}, err
	}
	for i := range p.roots {
		r := &p.roots[i]
		if within(resolved(), r.resolved) {
			rel, err := filepath.Rel(r.resolved, resolved())
			if err == nil && (filepath.IsLocal(rel) || rel == ".") {
				return location{abs: abs, root: r, rel: rel}, nil
			}
		}
	}
	return location{}, p.refuse(path, "is outside the allowed local directories; local paths must lie "+p.Describe())
}

// Resolve returns the absolute form of path (relative paths are resolved
// against the home directory) once it passes Check.
func (p *Policy) Resolve(path string) (string, error) {
	l, err := p.place(path, false, true)
	if err != nil {
		return "", err
	}
	return l.abs, nil
}

// Check reports whether path may be used.
func (p *Policy) Check(path string) error {
	_, err := p.place(path, false, true)
	return err
}

// Forbids reports whether path is one of, or inside, the forbidden paths
// (a recursive listing skips such directories).
func (p *Policy) Forbids(path string) bool {
	if len(p.forbidden) == 0 {
		return false
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return true
	}
	resolved := resolvePrefix(abs)
	for _, f := range p.forbidden {
		if within(abs, f) || within(resolved, f) {
			return true
		}
	}
	return false
}

// open runs f on the os.Root of l's root (nil when unconfined).
func (p *Policy) open(l location, f func(r *os.Root, rel string) error) error {
	if l.root == nil {
		return f(nil, l.abs)
	}
	dir := l.root.given
	if l.root.home {
		// The home is made on first use, private to the server's user.
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create files root %s: %w", dir, err)
		}
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open local root %s: %w", dir, err)
	}
	defer r.Close()
	return f(r, l.rel)
}

// afterOpen re-checks an unconfined path once it is open: a symbolic link
// swapped in after the check is caught by where the file really is.
func (p *Policy) afterOpen(l location, f *os.File) error {
	if l.root != nil || len(p.forbidden) == 0 {
		return nil
	}
	real, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		real = resolvePrefix(l.abs)
	}
	for _, fb := range p.forbidden {
		if within(real, fb) {
			f.Close()
			return p.refuse(l.abs, "is inside the server's own files (data directory, keys, database), which no dataflow may touch")
		}
	}
	return nil
}

// OpenFile opens name like os.OpenFile, inside the policy.
func (p *Policy) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	l, err := p.locate(name)
	if err != nil {
		return nil, err
	}
	var out *os.File
	err = p.open(l, func(r *os.Root, rel string) error {
		var err error
		if r == nil {
			out, err = os.OpenFile(rel, flag, perm)
		} else {
			out, err = r.OpenFile(rel, flag, perm)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := p.afterOpen(l, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Open opens name for reading.
func (p *Policy) Open(name string) (*os.File, error) { return p.OpenFile(name, os.O_RDONLY, 0) }

// ReadFile reads a whole (small) file, such as a key file.
func (p *Policy) ReadFile(name string) ([]byte, error) {
	f, err := p.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Stat describes name, following symbolic links within the root.
func (p *Policy) Stat(name string) (fs.FileInfo, error) { return p.stat(name, false) }

// Lstat describes name without following a final symbolic link.
func (p *Policy) Lstat(name string) (fs.FileInfo, error) { return p.stat(name, true) }

func (p *Policy) stat(name string, lstat bool) (fs.FileInfo, error) {
	l, err := p.place(name, lstat, false)
	if err != nil {
		return nil, err
	}
	var fi fs.FileInfo
	err = p.open(l, func(r *os.Root, rel string) error {
		var err error
		switch {
		case r == nil && lstat:
			fi, err = os.Lstat(rel)
		case r == nil:
			fi, err = os.Stat(rel)
		case lstat:
			fi, err = r.Lstat(rel)
		default:
			fi, err = r.Stat(rel)
		}
		return err
	})
	return fi, err
}

// ReadDir lists a directory.
func (p *Policy) ReadDir(name string) ([]fs.DirEntry, error) {
	f, err := p.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// WalkDir walks the tree at dir like filepath.WalkDir (no symbolic link
// is followed), with paths given to fn in absolute form. Forbidden
// directories are skipped.
func (p *Policy) WalkDir(dir string, fn fs.WalkDirFunc) error {
	l, err := p.locate(dir)
	if err != nil {
		return err
	}
	return p.open(l, func(r *os.Root, rel string) error {
		if r == nil {
			return filepath.WalkDir(rel, func(path string, d fs.DirEntry, err error) error {
				if err == nil && d.IsDir() && path != rel && p.Forbids(path) {
					return filepath.SkipDir
				}
				return fn(path, d, err)
			})
		}
		base := filepath.Join(filepath.Dir(l.abs), filepath.Base(l.abs))
		return fs.WalkDir(r.FS(), filepath.ToSlash(rel), func(path string, d fs.DirEntry, err error) error {
			sub, rerr := filepath.Rel(filepath.FromSlash(rel), filepath.FromSlash(path))
			if rerr != nil {
				return rerr
			}
			return fn(filepath.Join(base, sub), d, err)
		})
	})
}

// MkdirAll creates a directory and its parents.
func (p *Policy) MkdirAll(name string, perm fs.FileMode) error {
	l, err := p.locate(name)
	if err != nil {
		return err
	}
	return p.open(l, func(r *os.Root, rel string) error {
		if r == nil {
			return os.MkdirAll(rel, perm)
		}
		if rel == "." {
			return nil
		}
		return r.MkdirAll(rel, perm)
	})
}

// Remove deletes a file or an empty directory.
func (p *Policy) Remove(name string) error {
	l, err := p.locateLink(name)
	if err != nil {
		return err
	}
	return p.open(l, func(r *os.Root, rel string) error {
		if r == nil {
			return os.Remove(rel)
		}
		return r.Remove(rel)
	})
}

// ErrCrossRoot is returned by Link for paths in different roots (a hard
// link cannot be made through two os.Root handles); Rename copies instead.
var ErrCrossRoot = errors.New("paths lie in different local roots")

// Link makes newName a hard link to oldName.
func (p *Policy) Link(oldName, newName string) error {
	lo, ln, err := p.locatePair(oldName, newName)
	if err != nil {
		return err
	}
	if lo.root != ln.root {
		return &os.LinkError{Op: "link", Old: oldName, New: newName, Err: ErrCrossRoot}
	}
	return p.open(lo, func(r *os.Root, rel string) error {
		if r == nil {
			return os.Link(rel, ln.abs)
		}
		return r.Link(rel, ln.rel)
	})
}

// Rename moves oldName to newName, replacing a file there. Between two
// roots it copies the file and removes the original.
func (p *Policy) Rename(oldName, newName string) error {
	lo, ln, err := p.locatePair(oldName, newName)
	if err != nil {
		return err
	}
	if lo.root == ln.root {
		return p.open(lo, func(r *os.Root, rel string) error {
			if r == nil {
				return os.Rename(rel, ln.abs)
			}
			return r.Rename(rel, ln.rel)
		})
	}
	return p.copyRemove(oldName, newName)
}

func (p *Policy) copyRemove(oldName, newName string) error {
	src, err := p.Open(oldName)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("move %s: not a regular file", oldName)
	}
	dst, err := p.OpenFile(newName, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return fmt.Errorf("move %s to %s: %w", oldName, newName, err)
	}
	if err := dst.Close(); err != nil {
		return fmt.Errorf("move %s to %s: %w", oldName, newName, err)
	}
	return p.Remove(oldName)
}

func (p *Policy) locatePair(a, b string) (location, location, error) {
	la, err := p.locateLink(a)
	if err != nil {
		return location{}, location{}, err
	}
	lb, err := p.locateLink(b)
	if err != nil {
		return location{}, location{}, err
	}
	return la, lb, nil
}
