package filecore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/connectplus/connectplus/fsroot"
)

// LocalFS is the local disk. Paths are OS paths written with slashes. Every
// operation goes through a fsroot.Policy, which re-checks the path at the
// moment of use (os.Root), so a symbolic link planted after validation
// cannot lead a read, a write or a move out of the allowed directories.
type LocalFS struct{ p *fsroot.Policy }

// NewLocalFS returns the local-disk FS without confinement.
func NewLocalFS() *LocalFS {
	p, _ := fsroot.Unconfined() // nothing forbidden: cannot fail
	return &LocalFS{p: p}
}

// NewConfinedFS returns the local-disk FS confined by p (nil: none).
func NewConfinedFS(p *fsroot.Policy) *LocalFS {
	if p == nil {
		return NewLocalFS()
	}
	return &LocalFS{p: p}
}

// Describe implements Describer.
func (*LocalFS) Describe() string { return "local disk" }

// AtomicCreate is false: local files are published by rename.
func (*LocalFS) AtomicCreate() bool { return false }

// List implements FS.
func (l *LocalFS) List(ctx context.Context, dir string, recursive bool) ([]Entry, error) {
	root := filepath.FromSlash(dir)
	var out []Entry
	if !recursive {
		des, err := l.p.ReadDir(root)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", dir, err)
		}
		for _, de := range des {
			if !de.Type().IsRegular() {
				continue
			}
			if e, ok := entryOf(filepath.Join(root, de.Name()), de); ok {
				out = append(out, e)
			}
		}
		return out, nil
	}
	// WalkDir does not follow symbolic links, so a link cannot lead the
	// walk outside the configured directory; forbidden directories are
	// skipped.
	err := l.p.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // an unreadable subdirectory is skipped, not fatal
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if de.Type().IsRegular() {
			if e, ok := entryOf(p, de); ok {
				out = append(out, e)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// entryOf describes a listed directory entry. The directory was opened
// through the policy; the entry's own metadata comes from an lstat of the
// name in it (no link is followed), one system call per file: re-placing
// every listed name in the policy cost 0.1 ms a file.
func entryOf(p string, de fs.DirEntry) (Entry, bool) {
	st, err := de.Info()
	if err != nil || !st.Mode().IsRegular() {
		return Entry{}, false
	}
	return Entry{Path: filepath.ToSlash(p), Name: st.Name(), Size: st.Size(), ModTime: st.ModTime()}, true
}

// Open implements FS. Only regular files are opened (no links).
func (l *LocalFS) Open(_ context.Context, p string) (io.ReadCloser, error) {
	st, err := l.p.Lstat(filepath.FromSlash(p))
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("open %s: not a regular file", p)
	}
	return l.openRegular(p)
}

// openRegular opens p and makes sure what was opened is a regular file
// (the name may have been swapped for a link or a FIFO since the Lstat).
func (l *LocalFS) openRegular(p string) (*os.File, error) {
	f, err := l.p.OpenFile(filepath.FromSlash(p), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open %s: not a regular file", p)
	}
	return f, nil
}

// OpenReaderAt implements ReaderAtOpener.
func (l *LocalFS) OpenReaderAt(_ context.Context, p string) (ReaderAtCloser, error) {
	return l.openRegular(p)
}

type localWriter struct {
	f    *os.File
	path string
	fs   *LocalFS
}

func (w *localWriter) Write(b []byte) (int, error) { return w.f.Write(b) }

// ReadFrom lets io.Copy from a local file (a result file: the engine's
// spool) copy in the kernel (copy_file_range) instead of through a buffer.
func (w *localWriter) ReadFrom(r io.Reader) (int64, error) { return w.f.ReadFrom(r) }

// Close closes without fsync, as NiFi's PutFile does: the rename that
// publishes the file is atomic for readers and survives the process being
// killed. Forcing a multi-gigabyte output to disk synchronously would cost
// more than producing it; machines that must survive power loss mid-run
// mount with data=journal or sync.
func (w *localWriter) Close() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", w.path, err)
	}
	return nil
}

func (w *localWriter) Abort() error {
	w.f.Close()
	return w.fs.p.Remove(filepath.FromSlash(w.path))
}

// Create implements FS. Files are private to the server's user: outputs
// and result files hold customer data.
func (l *LocalFS) Create(_ context.Context, p string) (Writer, error) {
	f, err := l.p.OpenFile(filepath.FromSlash(p), os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	return &localWriter{f: f, path: p, fs: l}, nil
}

type appendWriter struct{ localWriter }

// Abort keeps the file: an append target holds acknowledged data.
func (w *appendWriter) Abort() error { return w.f.Close() }

// OpenAppend implements Appender.
func (l *LocalFS) OpenAppend(_ context.Context, p string, offset int64) (Writer, error) {
	flags := os.O_WRONLY | syscall.O_NOFOLLOW
	if offset == 0 {
		flags |= os.O_CREATE
	}
	f, err := l.p.OpenFile(filepath.FromSlash(p), flags, 0o600)
	if IsNotExist(err) && offset > 0 {
		return nil, shortAppend(p, 0, offset)
	}
	if err != nil {
		return nil, err
	}
	// Truncate would extend a file shorter than offset with NUL bytes: a
	// hole where acknowledged records should be. Refuse instead.
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.Size() < offset {
		f.Close()
		return nil, shortAppend(p, st.Size(), offset)
	}
	// Only a longer file is cut back. Truncating a file to the size it has
	// is not free on ext4: a truncate to 0 marks the file to be flushed to
	// disk on close (auto_da_alloc), which made publishing a fresh
	// multi-hundred-megabyte records file wait for the disk (~0.8 s per
	// million JSON Lines, most of the CSV→JSONL job's tail).
	if st.Size() != offset {
		if err := f.Truncate(offset); err != nil {
			f.Close()
			return nil, fmt.Errorf("truncate %s to %d: %w", p, offset, err)
		}
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &appendWriter{localWriter{f: f, path: p, fs: l}}, nil
}

// Rename implements FS. Without overwrite it uses link+unlink, which fails
// atomically when the target exists (no check-then-rename race).
func (l *LocalFS) Rename(_ context.Context, oldPath, newPath string, overwrite bool) error {
	o, n := filepath.FromSlash(oldPath), filepath.FromSlash(newPath)
	if overwrite {
		return l.p.Rename(o, n)
	}
	if err := l.p.Link(o, n); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) && errors.Is(le.Err, fs.ErrExist) {
			return fmt.Errorf("rename %s to %s: %w", oldPath, newPath, fs.ErrExist)
		}
		if errors.Is(err, fsroot.ErrOutside) {
			return err
		}
		// File systems without hard links, or two roots: fall back to
		// check-then-rename.
		if _, serr := l.p.Lstat(n); serr == nil {
			return fmt.Errorf("rename %s to %s: %w", oldPath, newPath, fs.ErrExist)
		}
		return l.p.Rename(o, n)
	}
	return l.p.Remove(o)
}

// Remove implements FS.
func (l *LocalFS) Remove(_ context.Context, p string) error {
	return l.p.Remove(filepath.FromSlash(p))
}

// MkdirAll implements FS. Directories are private to the server's user.
func (l *LocalFS) MkdirAll(_ context.Context, dir string) error {
	return l.p.MkdirAll(filepath.FromSlash(dir), 0o700)
}

// Stat implements FS.
func (l *LocalFS) Stat(_ context.Context, p string) (Entry, error) {
	st, err := l.p.Stat(filepath.FromSlash(p))
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Path: p, Name: st.Name(), ModTime: st.ModTime(), IsDir: st.IsDir()}
	if !st.IsDir() {
		e.Size = st.Size()
	}
	return e, nil
}

// Close implements FS.
func (l *LocalFS) Close() error { return nil }
