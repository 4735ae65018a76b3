package httpwrite

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
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
// or the new version, never a torn one.
type pullStore struct{ dir string }

func (s *pullStore) currentPath() string   { return filepath.Join(s.dir, "pull.json") }
func (s *pullStore) watermarkPath() string { return filepath.Join(s.dir, "watermark.json") }
func (s *pullStore) pagesDir(p *pull) string {
	return filepath.Join(s.dir, "pull-"+strconv.FormatInt(p.ID, 10))
}
func (s *pullStore) pagePath(p *pull, n int) string {
	return filepath.Join(s.pagesDir(p), fmt.Sprintf("page-%06d.jsonl", n))
}

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

func readJSON(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("corrupt pull state %s: %w", path, err)
	}
	return true, nil
}

func (s *pullStore) current() (*pull, error) {
	var p pull
	ok, err := readJSON(s.currentPath(), &p)
	if err != nil || !ok {
		return nil, err
	}
	return &p, nil
}

func (s *pullStore) saveCurrent(p *pull) error {
	b, _ := json.Marshal(p)
	if err := writeAtomic(s.currentPath(), b); err != nil {
		return fmt.Errorf("saving pull progress: %w", err)
	}
	return nil
}

func (s *pullStore) watermark() (watermark, error) {
	var w watermark
	_, err := readJSON(s.watermarkPath(), &w)
	return w, err
}

func (s *pullStore) saveWatermark(w watermark) error {
	b, _ := json.Marshal(w)
	if err := writeAtomic(s.watermarkPath(), b); err != nil {
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
	if err := writeAtomic(s.pagePath(p, n), b.Bytes()); err != nil {
		return fmt.Errorf("storing page %d: %w", n, err)
	}
	return nil
}

// finish forgets a completed pull: its progress, then its pages.
func (s *pullStore) finish(p *pull) error {
	if err := os.Remove(s.currentPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.RemoveAll(s.pagesDir(p))
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
		f, err := os.Open(s.pagePath(p, n))
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
