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
)

// LocalFS is the local disk. Paths are OS paths written with slashes.
type LocalFS struct{}

// NewLocalFS returns the local-disk FS.
func NewLocalFS() *LocalFS { return &LocalFS{} }

// Describe implements Describer.
func (*LocalFS) Describe() string { return "local disk" }

// AtomicCreate is false: local files are published by rename.
func (*LocalFS) AtomicCreate() bool { return false }

// List implements FS.
func (l *LocalFS) List(ctx context.Context, dir string, recursive bool) ([]Entry, error) {
	root := filepath.FromSlash(dir)
	var out []Entry
	if !recursive {
		des, err := os.ReadDir(root)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", dir, err)
		}
		for _, de := range des {
			if !de.Type().IsRegular() {
				continue
			}
			if e, ok := localEntry(filepath.Join(root, de.Name())); ok {
				out = append(out, e)
			}
		}
		return out, nil
	}
	// WalkDir does not follow symbolic links, so a link cannot lead the
	// walk outside the configured directory.
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
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
			if e, ok := localEntry(p); ok {
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

func localEntry(p string) (Entry, bool) {
	st, err := os.Lstat(p)
	if err != nil || !st.Mode().IsRegular() {
		return Entry{}, false
	}
	return Entry{Path: filepath.ToSlash(p), Name: st.Name(), Size: st.Size(), ModTime: st.ModTime()}, true
}

// Open implements FS. Only regular files are opened (no links).
func (l *LocalFS) Open(_ context.Context, p string) (io.ReadCloser, error) {
	st, err := os.Lstat(filepath.FromSlash(p))
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("open %s: not a regular file", p)
	}
	return os.Open(filepath.FromSlash(p))
}

// OpenReaderAt implements ReaderAtOpener.
func (l *LocalFS) OpenReaderAt(_ context.Context, p string) (ReaderAtCloser, error) {
	return os.Open(filepath.FromSlash(p))
}

type localWriter struct {
	f    *os.File
	path string
}

func (w *localWriter) Write(b []byte) (int, error) { return w.f.Write(b) }

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
	return os.Remove(w.f.Name())
}

// Create implements FS.
func (l *LocalFS) Create(_ context.Context, p string) (Writer, error) {
	f, err := os.OpenFile(filepath.FromSlash(p), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return &localWriter{f: f, path: p}, nil
}

type appendWriter struct{ localWriter }

// Abort keeps the file: an append target holds acknowledged data.
func (w *appendWriter) Abort() error { return w.f.Close() }

// OpenAppend implements Appender.
func (l *LocalFS) OpenAppend(_ context.Context, p string, offset int64) (Writer, error) {
	f, err := os.OpenFile(filepath.FromSlash(p), os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(offset); err != nil {
		f.Close()
		return nil, fmt.Errorf("truncate %s to %d: %w", p, offset, err)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &appendWriter{localWriter{f: f, path: p}}, nil
}

// Rename implements FS. Without overwrite it uses link+unlink, which fails
// atomically when the target exists (no check-then-rename race).
func (l *LocalFS) Rename(_ context.Context, oldPath, newPath string, overwrite bool) error {
	o, n := filepath.FromSlash(oldPath), filepath.FromSlash(newPath)
	if overwrite {
		return os.Rename(o, n)
	}
	if err := os.Link(o, n); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) && errors.Is(le.Err, fs.ErrExist) {
			return fmt.Errorf("rename %s to %s: %w", oldPath, newPath, fs.ErrExist)
		}
		// File systems without hard links: fall back to check-then-rename.
		if _, serr := os.Lstat(n); serr == nil {
			return fmt.Errorf("rename %s to %s: %w", oldPath, newPath, fs.ErrExist)
		}
		return os.Rename(o, n)
	}
	return os.Remove(o)
}

// Remove implements FS.
func (l *LocalFS) Remove(_ context.Context, p string) error { return os.Remove(filepath.FromSlash(p)) }

// MkdirAll implements FS.
func (l *LocalFS) MkdirAll(_ context.Context, dir string) error {
	return os.MkdirAll(filepath.FromSlash(dir), 0o755)
}

// Stat implements FS.
func (l *LocalFS) Stat(_ context.Context, p string) (Entry, error) {
	st, err := os.Stat(filepath.FromSlash(p))
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
