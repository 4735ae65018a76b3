package block

import (
	"context"
	"io"
	"strings"
)

// ObjectStore is a store of immutable objects every node of a cluster
// reaches (S3, or a directory every node mounts): what a file's progress
// refers to must outlive the node that wrote it, so another node can
// resume the file. Keys are slash-separated, without a leading slash.
//
// It has no append: writers publish whole objects (a spool is kept as
// immutable segments, see engine).
type ObjectStore interface {
	// Create starts an object; Close publishes it whole (replacing an
	// object of the same key), Abort discards it. A reader never sees a
	// partly written object.
	Create(ctx context.Context, key string) (ObjectWriter, error)
	// Open streams an object; a missing one is an error wrapping
	// fs.ErrNotExist.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns the keys under prefix (recursively), sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// Delete removes objects; missing ones are not an error.
	Delete(ctx context.Context, keys ...string) error
}

// ObjectWriter writes one object of an ObjectStore.
type ObjectWriter interface {
	io.Writer
	// Close publishes the object.
	Close() error
	// Abort discards it.
	Abort() error
}

// ObjectsUnder returns the view of s under prefix (keys are given and
// listed relative to it): a block's own part of the shared store. Nil for
// a nil s.
func ObjectsUnder(s ObjectStore, prefix string) ObjectStore {
	if s == nil {
		return nil
	}
	return &prefixed{s: s, prefix: prefix}
}

type prefixed struct {
	s      ObjectStore
	prefix string
}

func (p *prefixed) Create(ctx context.Context, key string) (ObjectWriter, error) {
	return p.s.Create(ctx, p.prefix+key)
}

func (p *prefixed) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	return p.s.Open(ctx, p.prefix+key)
}

func (p *prefixed) List(ctx context.Context, prefix string) ([]string, error) {
	keys, err := p.s.List(ctx, p.prefix+prefix)
	for i, k := range keys {
		keys[i] = strings.TrimPrefix(k, p.prefix)
	}
	return keys, err
}

func (p *prefixed) Delete(ctx context.Context, keys ...string) error {
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = p.prefix + k
	}
	return p.s.Delete(ctx, full...)
}
