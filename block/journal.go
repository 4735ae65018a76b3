package block

import (
	"context"
	"time"
)

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
	// Remove deletes the log (and its owner, see Round).
	Remove(ctx context.Context, log string) error
	// Round is one write of a log that several processes share and whose
	// current owner alone may log new work (a Kafka partition's
	// write-ahead log, owned per consumer-group generation). Under a lock
	// of the log's owner row (held until the round commits, so rounds of
	// one log never overlap and each sees every earlier one) it returns
	// the entries after r.After and appends r.Entry when r.Epoch may
	// write: 0 (no owner check), or not below the owner's epoch — the log
	// then belongs to r.Epoch. Otherwise the round is fenced: r.Entry is
	// not appended, r.Fenced is (when set) instead. A lower epoch takes the
	// log only with r.Take and once no owner wrote for r.Reclaim (a
	// consumer group deleted and created again numbers its generations
	// anew).
	Round(ctx context.Context, log string, r JournalRound) (JournalRoundResult, error)
	// Delete removes entries of the log by id (compaction).
	Delete(ctx context.Context, log string, ids []int64) error
}

// JournalRound is what Journal.Round writes.
type JournalRound struct {
	// After is the id of the last entry the caller read (0: none).
	After int64
	// Epoch is the writer's owner epoch; 0 appends without an owner check.
	Epoch int64
	// Take asks to own the log even under a higher epoch, once its owner
	// has not written for Reclaim.
	Take    bool
	Reclaim time.Duration
	// Entry is appended when the round may write; Fenced instead when it
	// may not. Either may be nil (nothing appended).
	Entry, Fenced []byte
}

// JournalEntry is one entry of a log and its id (ids grow in append order).
type JournalEntry struct {
	ID    int64
	Entry []byte
}

// JournalRoundResult is what a Round read and did.
type JournalRoundResult struct {
	// Entries are those after JournalRound.After, in order, without the
	// one the round appended.
	Entries []JournalEntry
	// ID is the id of the entry the round appended (0: none); Fenced says
	// the writer's epoch may not write (Owner is the log's owner epoch).
	ID     int64
	Fenced bool
	Owner  int64
}
