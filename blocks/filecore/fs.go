// Package filecore is the machinery shared by every file connector (local
// disk, SFTP, FTP/FTPS, S3): one FS abstraction, one generic Source and one
// generic Sink, so that pick-up rules, partial-upload protection, moves,
// result files, conflict strategies and atomic publishing behave the same
// whatever the protocol.
package filecore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// Entry describes one file (never a directory) on an FS.
type Entry struct {
	Path    string // full slash-separated path on the FS
	Name    string // base name
	Size    int64
	ModTime time.Time
	IsDir   bool // only from Stat; List returns files only
}

// Dir returns the directory holding the entry.
func (e Entry) Dir() string { return path.Dir(e.Path) }

// Writer is a file being written. Close makes the bytes durable under the
// path given to Create (for object stores it is what publishes the object);
// Abort discards them. Exactly one of Close or Abort must be called.
type Writer interface {
	io.Writer
	Close() error
	Abort() error
}

// FS is the file-system view a connector gives the shared Source and Sink.
// Paths are slash-separated and absolute for the FS. Implementations report
// missing files with fs.ErrNotExist, refused operations with
// fs.ErrPermission and an existing rename target with fs.ErrExist (wrapped,
// with the server's own message), so callers can explain them.
type FS interface {
	// List returns the regular files in dir (and below it when recursive).
	// Symbolic links and special files are not returned: a link could point
	// outside the configured directory.
	List(ctx context.Context, dir string, recursive bool) ([]Entry, error)
	// Open streams a file's content.
	Open(ctx context.Context, path string) (io.ReadCloser, error)
	// Create writes a file at path, replacing any existing one. Callers
	// that need atomic publishing write to a temporary name and Rename.
	Create(ctx context.Context, path string) (Writer, error)
	// Rename moves a file. With overwrite false an existing target is an
	// error wrapping fs.ErrExist.
	Rename(ctx context.Context, oldPath, newPath string, overwrite bool) error
	// Remove deletes a file.
	Remove(ctx context.Context, path string) error
	// MkdirAll creates dir and its parents.
	MkdirAll(ctx context.Context, dir string) error
	// Stat describes a file or directory (Size is 0 for directories).
	Stat(ctx context.Context, path string) (Entry, error)
	// Close releases the connection.
	Close() error
}

// AtomicCreator is implemented by file systems whose Create already
// publishes atomically (object stores: an object appears whole or not at
// all), so the Sink writes the final name directly instead of a temporary
// name plus Rename (which would be a copy on those stores).
type AtomicCreator interface {
	AtomicCreate() bool
}

// Appender is implemented by file systems that can continue a file: the
// Sink's record files are appended to in place and truncated back to the
// last acknowledged offset after a crash.
type Appender interface {
	// OpenAppend opens path for writing at offset, creating it when
	// missing and truncating anything after offset. A file shorter than
	// offset is never extended (that would leave a hole of NUL bytes where
	// acknowledged data was): the error wraps ErrShortAppend.
	OpenAppend(ctx context.Context, path string, offset int64) (Writer, error)
}

// ErrShortAppend: a file to continue holds fewer bytes than were
// acknowledged (it was removed or replaced since).
var ErrShortAppend = errors.New("holds fewer bytes than were acknowledged")

// shortAppend is OpenAppend's error for a file shorter than offset. It is
// permanent: retrying cannot bring the bytes back.
func shortAppend(p string, size, offset int64) error {
	return Permanent(fmt.Errorf("cannot continue %s: it %w (%d bytes, %d acknowledged)", p, ErrShortAppend, size, offset))
}

// ReaderAtCloser is random access to a file (zip archives need it).
type ReaderAtCloser interface {
	io.ReaderAt
	io.Closer
}

// ReaderAtOpener is implemented by file systems offering random access.
// Others have their archives spooled to local disk before unzipping.
type ReaderAtOpener interface {
	OpenReaderAt(ctx context.Context, path string) (ReaderAtCloser, error)
}

// Describer names the server an FS talks to in messages ("sftp://u@h:22").
type Describer interface {
	Describe() string
}

// ErrConflict is returned by the Sink when conflictResolution is FAIL and the
// target exists.
var ErrConflict = errors.New("target file already exists")

// IsNotExist, IsPermission and IsExist classify FS errors.
func IsNotExist(err error) bool   { return errors.Is(err, fs.ErrNotExist) }
func IsPermission(err error) bool { return errors.Is(err, fs.ErrPermission) }
func IsExist(err error) bool      { return errors.Is(err, fs.ErrExist) }

// Join joins slash-separated path elements and cleans the result.
func Join(elem ...string) string { return path.Join(elem...) }

// CleanDir normalises a configured directory: slashes, no trailing slash,
// "." for empty.
func CleanDir(dir string) string {
	dir = strings.TrimSpace(strings.ReplaceAll(dir, "\\", "/"))
	if dir == "" {
		return "."
	}
	return path.Clean(dir)
}

// Within reports whether p is dir or inside it (both cleaned, slash form).
func Within(p, dir string) bool {
	p, dir = path.Clean(p), path.Clean(dir)
	switch dir {
	case "/":
		return strings.HasPrefix(p, "/")
	case ".":
		return !strings.HasPrefix(p, "/") && p != ".." && !strings.HasPrefix(p, "../")
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// ValidBaseName checks that a rendered output name is a single path element:
// no separators, no "." or "..", no NUL. It is what keeps a hostile
// `${filename}` from writing outside the configured directory.
func ValidBaseName(name string) error {
	switch {
	case name == "":
		return errors.New("file name is empty")
	case name == "." || name == "..":
		return errors.New("file name " + quote(name) + " is not a file name")
	case strings.ContainsAny(name, "/\\\x00"):
		return errors.New("file name " + quote(name) + " contains a path separator; only a base name is allowed")
	}
	return nil
}

// ValidObjectKey checks a rendered object key (S3): relative, with no ".."
// or empty segments, so a hostile attribute cannot escape the intended
// prefix.
func ValidObjectKey(key string) error {
	if key == "" {
		return errors.New("object key is empty")
	}
	if strings.HasPrefix(key, "/") || strings.ContainsAny(key, "\\\x00") {
		return errors.New("object key " + quote(key) + " must be relative and use / separators")
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return errors.New("object key " + quote(key) + " contains an empty, \".\" or \"..\" segment")
		}
	}
	return nil
}

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return `"` + s + `"`
}
