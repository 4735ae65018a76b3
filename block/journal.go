package block

import "context"

// Journal keeps append-only logs every node of a cluster reads, for block
// state that must be durable and visible to the node that resumes a
// lineage before the block acts on it: an API destination's write-ahead
// log (a request's record is appended before the request leaves). The
// runtime sets Env.Journal when block state cannot live in a directory
// every node shares (the shared store is S3); the engine gives each block
// its own namespace, so log names only have to be unique per block.
type Journal interface {
	// Append adds one entry to the log; it is durable when Append returns.
	Append(ctx context.Context, log string, entry []byte) error
	// Read returns the log's entries in the order they were appended
	// (none for a log that does not exist).
	Read(ctx context.Context, log string) ([][]byte, error)
	// Remove deletes the log.
	Remove(ctx context.Context, log string) error
}
