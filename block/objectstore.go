package block

import (
	"context"
	"io"
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
