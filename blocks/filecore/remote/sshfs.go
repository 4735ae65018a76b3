package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"

	"github.com/connectplus/connectplus/blocks/filecore"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// sftpFS is a filecore.FS over one SSH connection. pkg/sftp multiplexes
// requests, so it is safe for concurrent use.
type sftpFS struct {
	ssh  *ssh.Client
	c    *sftp.Client
	desc string
}

var (
	_ filecore.FS             = (*sftpFS)(nil)
	_ filecore.Appender       = (*sftpFS)(nil)
	_ filecore.ReaderAtOpener = (*sftpFS)(nil)
)

func (f *sftpFS) Describe() string { return f.desc }

// mapErr keeps pkg/sftp's error (with the server's wording) and adds the
// operation, the path and a classification filecore understands.
func mapErr(op, p string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sftp.ErrSSHFxConnectionLost) {
		return filecore.Transient(fmt.Errorf("%s %s: %w", op, p, err))
	}
	var se *sftp.StatusError
	if errors.As(err, &se) {
		switch se.FxCode() {
		case sftp.ErrSSHFxNoSuchFile:
			return fmt.Errorf("%s %s: %w (%v)", op, p, fs.ErrNotExist, err)
		case sftp.ErrSSHFxPermissionDenied:
			return fmt.Errorf("%s %s: %w (%v)", op, p, fs.ErrPermission, err)
		}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf("%s %s: %w", op, p, err)
}

func (f *sftpFS) List(ctx context.Context, dir string, recursive bool) ([]filecore.Entry, error) {
	var out []filecore.Entry
	var walk func(d string, top bool) error
	walk = func(d string, top bool) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		infos, err := f.c.ReadDirContext(ctx, d)
		if err != nil {
			if !top && (errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist)) {
				return nil // an unreadable or vanished subdirectory is skipped
			}
			return mapErr("list", d, err)
		}
		for _, fi := range infos {
			p := path.Join(d, fi.Name())
			switch {
			case fi.Mode().IsRegular():
				out = append(out, filecore.Entry{Path: p, Name: fi.Name(), Size: fi.Size(), ModTime: fi.ModTime()})
			case fi.IsDir() && recursive && fi.Name() != "." && fi.Name() != "..":
				if err := walk(p, false); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(dir, true); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Open streams the file with pipelined reads: File.WriteTo keeps many read
// requests in flight (bounded by pkg/sftp's per-file request limit, about
// 2 MiB), which is what makes SFTP fast over latency; the pipe hands the
// bytes to the reader in order.
func (f *sftpFS) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	file, err := f.c.Open(p)
	if err != nil {
		return nil, mapErr("open", p, err)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := file.WriteTo(pw)
		file.Close()
		if err != nil {
			err = mapErr("read", p, err)
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}

func (f *sftpFS) OpenReaderAt(ctx context.Context, p string) (filecore.ReaderAtCloser, error) {
	file, err := f.c.Open(p)
	if err != nil {
		return nil, mapErr("open", p, err)
	}
	return file, nil
}

// sftpWriter writes through File.ReadFrom when io.Copy offers it, which
// pipelines writes like WriteTo pipelines reads.
type sftpWriter struct {
	f      *sftp.File
	c      *sftp.Client
	p      string
	remove bool // Abort deletes the file (false for append targets)
}

func (w *sftpWriter) Write(b []byte) (int, error) {
	n, err := w.f.Write(b)
	return n, mapErr("write", w.p, err)
}

func (w *sftpWriter) ReadFrom(r io.Reader) (int64, error) {
	n, err := w.f.ReadFrom(r)
	return n, mapErr("write", w.p, err)
}

func (w *sftpWriter) Close() error { return mapErr("close", w.p, w.f.Close()) }

func (w *sftpWriter) Abort() error {
	w.f.Close()
	if w.remove {
		return w.c.Remove(w.p)
	}
	return nil
}

func (f *sftpFS) Create(ctx context.Context, p string) (filecore.Writer, error) {
	file, err := f.c.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return nil, mapErr("create", p, err)
	}
	return &sftpWriter{f: file, c: f.c, p: p, remove: true}, nil
}

func (f *sftpFS) OpenAppend(ctx context.Context, p string, offset int64) (filecore.Writer, error) {
	flags := os.O_WRONLY
	if offset == 0 {
		flags |= os.O_CREATE
	}
	file, err := f.c.OpenFile(p, flags)
	if err != nil {
		if offset > 0 && errors.Is(mapErr("open", p, err), fs.ErrNotExist) {
			return nil, filecore.Permanent(fmt.Errorf("cannot continue %s: it %w (missing, %d bytes acknowledged)", p, filecore.ErrShortAppend, offset))
		}
		return nil, mapErr("open", p, err)
	}
	// Never extend a file shorter than offset: that would be a hole of NUL
	// bytes where acknowledged records should be.
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, mapErr("stat", p, err)
	}
	if st.Size() < offset {
		file.Close()
		return nil, filecore.Permanent(fmt.Errorf("cannot continue %s: it %w (%d bytes, %d acknowledged)", p, filecore.ErrShortAppend, st.Size(), offset))
	}
	if err := file.Truncate(offset); err != nil {
		file.Close()
		return nil, mapErr("truncate", p, err)
	}
	if _, err := file.Seek(offset, io.SeekStart); err != nil {
		file.Close()
		return nil, mapErr("seek", p, err)
	}
	return &sftpWriter{f: file, c: f.c, p: p}, nil
}

func (f *sftpFS) Rename(ctx context.Context, oldPath, newPath string, overwrite bool) error {
	if overwrite {
		if _, ok := f.c.HasExtension("posix-rename@openssh.com"); ok {
			return mapErr("rename", oldPath+" to "+newPath, f.c.PosixRename(oldPath, newPath))
		}
		// Plain SFTP v3 rename refuses an existing target.
		if err := f.c.Remove(newPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return mapErr("replace", newPath, err)
		}
		return mapErr("rename", oldPath+" to "+newPath, f.c.Rename(oldPath, newPath))
	}
	if _, err := f.c.Lstat(newPath); err == nil {
		return fmt.Errorf("rename %s to %s: %w", oldPath, newPath, fs.ErrExist)
	}
	err := f.c.Rename(oldPath, newPath)
	if err != nil {
		// SFTP v3 rename never overwrites; a target that appeared meanwhile
		// shows up as a generic failure.
		if _, serr := f.c.Lstat(newPath); serr == nil {
			return fmt.Errorf("rename %s to %s: %w", oldPath, newPath, fs.ErrExist)
		}
	}
	return mapErr("rename", oldPath+" to "+newPath, err)
}

func (f *sftpFS) Remove(ctx context.Context, p string) error {
	return mapErr("remove", p, f.c.Remove(p))
}

func (f *sftpFS) MkdirAll(ctx context.Context, dir string) error {
	return mapErr("mkdir", dir, f.c.MkdirAll(dir))
}

func (f *sftpFS) Stat(ctx context.Context, p string) (filecore.Entry, error) {
	fi, err := f.c.Stat(p)
	if err != nil {
		return filecore.Entry{}, mapErr("stat", p, err)
	}
	e := filecore.Entry{Path: p, Name: path.Base(p), ModTime: fi.ModTime(), IsDir: fi.IsDir()}
	if !fi.IsDir() {
		e.Size = fi.Size()
	}
	return e, nil
}

func (f *sftpFS) Close() error {
	err := f.c.Close()
	if cerr := f.ssh.Close(); err == nil {
		err = cerr
	}
	return err
}
