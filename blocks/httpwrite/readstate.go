package httpwrite

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/connectplus/connectplus/block"
)

// pull is the progress of one pull, stored after every page.
type pull struct {
	ID      int64     `json:"id"`
	Attempt int       `json:"attempt"`
	Started time.Time `json:"started"`
	Name    string    `json:"name"`
	// Watermark is the value sent as the incremental parameter (the last
	// completed pull's), MaxSeen the largest value of this pull so far.
	Watermark string `json:"watermark,omitempty"`
	MaxSeen   string `json:"maxSeen,omitempty"`
	// Pages stored so far and the records in them.
	Pages   int   `json:"pages"`
	Records int64 `json:"records"`
	// The next call: page number, offset, cursor, or the next link.
	Page    int64  `json:"page"`
	Offset  int64  `json:"offset"`
	Cursor  string `json:"cursor,omitempty"`
	NextURL string `json:"nextUrl,omitempty"`
	LastURL string `json:"lastUrl,omitempty"`
	Done    bool   `json:"done"`
}

// watermark is what a completed pull leaves for the next.
type watermark struct {
	Value    string `json:"value,omitempty"`
	Set      bool   `json:"set"`
	LastPull int64  `json:"lastPull"`
}

// pullStore keeps a reader's state as small files written atomically
// (temp file, fsync, rename), so a kill at any point leaves the previous
// or the new version, never a torn one — in the block's state directory,
// or, when the runtime hands the block a part of the shared store
// (Env.Objects: a cluster whose shared store is S3, where the state
// directory is the node's own), as objects there, which also appear whole
// or not at all. Then a pull rescued on another node continues at its next
// page, and every node pulls from the same watermark.
type pullStore struct {
	dir string
	obj block.ObjectStore
}

// objTimeout bounds one object operation of the pull state.
const objTimeout = time.Minute

func (s *pullStore) pageName(p *pull, n int) string {
	return "pull-" + strconv.FormatInt(p.ID, 10) + "/" + fmt.Sprintf("page-%06d.jsonl", n)
}

// put stores name whole.
func (s *pullStore) put(name string, data []byte) error {
	if s.obj == nil {
		return writeAtomic(filepath.Join(s.dir, filepath.FromSlash(name)), data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), objTimeout)
	defer cancel()
	w, err := s.obj.Create(ctx, name)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// get reads name; a missing one is (nil, nil).
func (s *pullStore) get(name string) ([]byte, error) {
	if s.obj == nil {
		b, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(name)))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return b, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), objTimeout)
	defer cancel()
	r, err := s.obj.Open(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func (s *pullStore) openPage(p *pull, n int) (io.ReadCloser, error) {
	if s.obj == nil {
		return os.Open(filepath.Join(s.dir, filepath.FromSlash(s.pageName(p, n))))
	}
	ctx, cancel := context.WithTimeout(context.Background(), objTimeout)
	r, err := s.obj.Open(ctx, s.pageName(p, n))
	if err != nil {
		cancel()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{r, closerFunc(func() error { defer cancel(); return r.Close() })}, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (s *pullStore) readJSON(name string, v any) (bool, error) {
	b, err := s.get(name)
	if err != nil {
		return false, fmt.Errorf("reading pull state %s: %w", name, err)
	}
	if b == nil {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("corrupt pull state %s: %w", name, err)
	}
	return true, nil
}

func (s *pullStore) current() (*pull, error) {
	var p pull
	ok, err := s.readJSON("pull.json", &p)
	if err != nil || !ok {
		return nil, err
	}
	return &p, nil
}

func (s *pullStore) saveCurrent(p *pull) error {
	b, _ := json.Marshal(p)
	if err := s.put("pull.json", b); err != nil {
		return fmt.Errorf("saving pull progress: %w", err)
	}
	return nil
}

func (s *pullStore) watermark() (watermark, error) {
	var w watermark
	ok, err := s.readJSON("watermark.json", &w)
	if err == nil && !ok && s.obj != nil && s.dir != "" {
		// A server that ran without an S3 shared store kept the watermark
		// in its state directory: continue from it rather than pull
		// everything again (the next completed pull stores it in the
		// shared store).
		_, err = (&pullStore{dir: s.dir}).readJSON("watermark.json", &w)
	}
	return w, err
}

func (s *pullStore) saveWatermark(w watermark) error {
	b, _ := json.Marshal(w)
	if err := s.put("watermark.json", b); err != nil {
		return fmt.Errorf("saving the watermark: %w", err)
	}
	return nil
}

// savePage stores page n's records, one JSON value per line.
func (s *pullStore) savePage(p *pull, n int, lines [][]byte) error {
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	if err := s.put(s.pageName(p, n), b.Bytes()); err != nil {
		return fmt.Errorf("storing page %d: %w", n, err)
	}
	return nil
}

// finish forgets a completed pull: its progress, then its pages.
func (s *pullStore) finish(p *pull) error {
	if s.obj == nil {
		if err := os.Remove(filepath.Join(s.dir, "pull.json")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return os.RemoveAll(filepath.Join(s.dir, "pull-"+strconv.FormatInt(p.ID, 10)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), objTimeout)
	defer cancel()
	if err := s.obj.Delete(ctx, "pull.json"); err != nil {
		return fmt.Errorf("forgetting pull %d: %w", p.ID, err)
	}
	pages, err := s.obj.List(ctx, "pull-"+strconv.FormatInt(p.ID, 10)+"/")
	if err == nil && len(pages) > 0 {
		err = s.obj.Delete(ctx, pages...)
	}
	if err != nil {
		return fmt.Errorf("deleting the pages of pull %d: %w", p.ID, err)
	}
	return nil
}

// open streams the pull's stored pages as one JSON array.
func (s *pullStore) open(p *pull) (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(s.writeArray(p, pw))
	}()
	return pr, nil
}

func (s *pullStore) writeArray(p *pull, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString("["); err != nil {
		return err
	}
	first := true
	for n := 1; n <= p.Pages; n++ {
		f, err := s.openPage(p, n)
		if err != nil {
			return fmt.Errorf("stored page %d of pull %d: %w", n, p.ID, err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), maxResponseBytes)
		for sc.Scan() {
			line := sc.Bytes()
			if len(line) == 0 {
				continue
			}
			sep := ",\n"
			if first {
				sep, first = "\n", false
			}
			bw.WriteString(sep)
			bw.Write(line)
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return fmt.Errorf("stored page %d of pull %d: %w", n, p.ID, err)
		}
	}
	if !first {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}
