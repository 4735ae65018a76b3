package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/textproto"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/connectplus/connectplus/blocks/filecore"
	"github.com/jlaffaye/ftp"
)

// ftpFS is a filecore.FS over FTP/FTPS. An FTP control connection carries
// one command at a time and a transfer occupies it until it ends, so
// metadata commands share one connection under a mutex and every transfer
// gets its own connection.
type ftpFS struct {
	conn *Conn
	desc string

	mu   sync.Mutex
	ctrl *ftp.ServerConn
}

var _ filecore.FS = (*ftpFS)(nil)

func (c *Conn) dialFTP(ctx context.Context) (filecore.FS, error) {
	sc, err := c.ftpLogin(ctx)
	if err != nil {
		return nil, err
	}
	return &ftpFS{conn: c, desc: c.describe(), ctrl: sc}, nil
}

func (c *Conn) ftpLogin(ctx context.Context) (*ftp.ServerConn, error) {
	desc := c.describe()
	opts := []ftp.DialOption{ftp.DialWithContext(ctx)}
	if c.Timeout > 0 {
		opts = append(opts, ftp.DialWithTimeout(c.Timeout))
	}
	switch c.FTPS {
	case FTPSExplicit, FTPSImplicit:
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, filecore.Permanent(fmt.Errorf("%s: %w", desc, err))
		}
		if c.FTPS == FTPSExplicit {
			opts = append(opts, ftp.DialWithExplicitTLS(tc))
		} else {
			opts = append(opts, ftp.DialWithTLS(tc))
		}
	}
	sc, err := ftp.Dial(c.Addr(), opts...)
	if err != nil {
		if strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), "tls:") {
			return nil, filecore.Permanent(fmt.Errorf("%s: TLS: %w (trust the server with ftpsCaCertificate)", desc, err))
		}
		return nil, fmt.Errorf("%s: cannot reach the server: %w", desc, err)
	}
	if err := sc.Login(c.User, c.Password); err != nil {
		sc.Quit()
		var te *textproto.Error
		if errors.As(err, &te) && (te.Code == ftp.StatusNotLoggedIn || te.Code == 430) {
			return nil, filecore.Permanent(fmt.Errorf("%s: permission denied (password): the server rejected the login of user %q: %w", desc, c.User, err))
		}
		return nil, ftpErr("login", desc, err)
	}
	return sc, nil
}

func (f *ftpFS) Describe() string { return f.desc }

// ftpErr classifies an FTP reply. 550 covers both "no such file" and
// "permission denied"; the server's text tells them apart.
func ftpErr(op, p string, err error) error {
	if err == nil {
		return nil
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		msg := strings.ToLower(te.Msg)
		switch {
		case te.Code == ftp.StatusNotAvailable:
			return filecore.Transient(fmt.Errorf("%s %s: %w", op, p, err))
		case strings.Contains(msg, "permission") || strings.Contains(msg, "denied") || strings.Contains(msg, "not allowed"):
			return fmt.Errorf("%s %s: %w (%v)", op, p, fs.ErrPermission, err)
		case te.Code == ftp.StatusFileUnavailable || te.Code == 450 || strings.Contains(msg, "no such") || strings.Contains(msg, "not found") || strings.Contains(msg, "does not exist"):
			return fmt.Errorf("%s %s: %w (%v)", op, p, fs.ErrNotExist, err)
		}
	}
	return fmt.Errorf("%s %s: %w", op, p, err)
}

// withCtrl runs fn on the control connection.
func (f *ftpFS) withCtrl(fn func(*ftp.ServerConn) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctrl == nil {
		return filecore.Transient(errors.New("FTP connection closed"))
	}
	return fn(f.ctrl)
}

func (f *ftpFS) List(ctx context.Context, dir string, recursive bool) ([]filecore.Entry, error) {
	var out []filecore.Entry
	err := f.withCtrl(func(c *ftp.ServerConn) error {
		var walk func(d string, top bool) error
		walk = func(d string, top bool) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			es, err := c.List(d)
			if err != nil {
				if !top {
					return nil
				}
				return ftpErr("list", d, err)
			}
			// Some servers answer LIST of a missing directory with an empty
			// listing instead of 550: check the directory itself.
			if top && len(es) == 0 {
				if _, err := statWith(c, d); err != nil {
					return err
				}
			}
			for _, e := range es {
				if e.Name == "." || e.Name == ".." {
					continue
				}
				p := path.Join(d, e.Name)
				switch e.Type {
				case ftp.EntryTypeFile:
					out = append(out, filecore.Entry{Path: p, Name: e.Name, Size: int64(e.Size), ModTime: e.Time})
				case ftp.EntryTypeFolder:
					if recursive {
						if err := walk(p, false); err != nil {
							return err
						}
					}
				}
			}
			return nil
		}
		return walk(dir, true)
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// transfer is a data transfer on its own connection.
type ftpReader struct {
	resp *ftp.Response
	sc   *ftp.ServerConn
	p    string
}

func (r *ftpReader) Read(b []byte) (int, error) {
	n, err := r.resp.Read(b)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("read %s: %w", r.p, err)
	}
	return n, err
}

func (r *ftpReader) Close() error {
	err := r.resp.Close()
	r.sc.Quit()
	return err
}

func (f *ftpFS) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	sc, err := f.conn.ftpLogin(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := sc.Retr(p)
	if err != nil {
		sc.Quit()
		return nil, ftpErr("open", p, err)
	}
	return &ftpReader{resp: resp, sc: sc, p: p}, nil
}

// ftpWriter streams into STOR on a dedicated connection through a pipe.
type ftpWriter struct {
	pw   *io.PipeWriter
	done chan error
	sc   *ftp.ServerConn
	p    string
}

func (w *ftpWriter) Write(b []byte) (int, error) {
	n, err := w.pw.Write(b)
	if err != nil {
		err = fmt.Errorf("write %s: %w", w.p, err)
	}
	return n, err
}

func (w *ftpWriter) Close() error {
	w.pw.Close()
	err := <-w.done
	w.sc.Quit()
	return ftpErr("upload", w.p, err)
}

func (w *ftpWriter) Abort() error {
	w.pw.CloseWithError(errors.New("upload aborted"))
	<-w.done
	err := w.sc.Delete(w.p)
	w.sc.Quit()
	return err
}

func (f *ftpFS) Create(ctx context.Context, p string) (filecore.Writer, error) {
	sc, err := f.conn.ftpLogin(ctx)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	w := &ftpWriter{pw: pw, done: make(chan error, 1), sc: sc, p: p}
	go func() {
		err := sc.Stor(p, pr)
		pr.CloseWithError(err)
		w.done <- err
	}()
	return w, nil
}

func (f *ftpFS) Rename(ctx context.Context, oldPath, newPath string, overwrite bool) error {
	return f.withCtrl(func(c *ftp.ServerConn) error {
		_, serr := statWith(c, newPath)
		exists := serr == nil
		if exists && !overwrite {
			return fmt.Errorf("rename %s to %s: %w", oldPath, newPath, fs.ErrExist)
		}
		err := c.Rename(oldPath, newPath)
		if err != nil && exists && overwrite {
			// Servers that refuse to rename over a file: delete, then rename.
			if derr := c.Delete(newPath); derr == nil {
				err = c.Rename(oldPath, newPath)
			}
		}
		return ftpErr("rename", oldPath+" to "+newPath, err)
	})
}

func (f *ftpFS) Remove(ctx context.Context, p string) error {
	return f.withCtrl(func(c *ftp.ServerConn) error { return ftpErr("remove", p, c.Delete(p)) })
}

func (f *ftpFS) MkdirAll(ctx context.Context, dir string) error {
	return f.withCtrl(func(c *ftp.ServerConn) error {
		cur := ""
		if strings.HasPrefix(dir, "/") {
			cur = "/"
		}
		for _, seg := range strings.Split(strings.Trim(dir, "/"), "/") {
			if seg == "" || seg == "." {
				continue
			}
			cur = path.Join(cur, seg)
			if e, err := statWith(c, cur); err == nil {
				if !e.IsDir {
					return fmt.Errorf("mkdir %s: %s is a file", dir, cur)
				}
				continue
			}
			if err := c.MakeDir(cur); err != nil {
				return ftpErr("mkdir", cur, err)
			}
		}
		return nil
	})
}

func (f *ftpFS) Stat(ctx context.Context, p string) (filecore.Entry, error) {
	var e filecore.Entry
	err := f.withCtrl(func(c *ftp.ServerConn) error {
		var err error
		e, err = statWith(c, p)
		return err
	})
	return e, err
}

// statWith uses MLST, falling back to listing the parent directory on
// servers without it.
func statWith(c *ftp.ServerConn, p string) (filecore.Entry, error) {
	clean := path.Clean(p)
	if clean == "/" || clean == "." {
		return filecore.Entry{Path: p, Name: clean, IsDir: true}, nil
	}
	if en, err := c.GetEntry(clean); err == nil {
		return entryOf(clean, en), nil
	} else {
		var te *textproto.Error
		if errors.As(err, &te) && te.Code != ftp.StatusNotImplemented && te.Code != ftp.StatusBadCommand && te.Code != ftp.StatusCommandNotImplemented {
			return filecore.Entry{}, ftpErr("stat", p, err)
		}
	}
	es, err := c.List(path.Dir(clean))
	if err != nil {
		return filecore.Entry{}, ftpErr("stat", p, err)
	}
	for _, en := range es {
		if en.Name == path.Base(clean) {
			return entryOf(clean, en), nil
		}
	}
	return filecore.Entry{}, fmt.Errorf("stat %s: %w", p, fs.ErrNotExist)
}

func entryOf(p string, en *ftp.Entry) filecore.Entry {
	e := filecore.Entry{Path: p, Name: path.Base(p), ModTime: en.Time, IsDir: en.Type == ftp.EntryTypeFolder}
	if !e.IsDir {
		e.Size = int64(en.Size)
	}
	return e
}

func (f *ftpFS) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctrl == nil {
		return nil
	}
	err := f.ctrl.Quit()
	f.ctrl = nil
	return err
}
