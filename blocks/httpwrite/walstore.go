package httpwrite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/connectplus/connectplus/block"
)

// The write-ahead log's backend when blocks get a block.Journal (a cluster
// whose shared store is S3, docs/cluster.md): the log must be durable and
// readable by the node that resumes the lineage before a request leaves,
// and an object store cannot append. Each round (what one leader writes:
// whole entry lines) becomes one journal entry — one row, one INSERT in
// the database — and a resume reads the rows back in order and parses them
// as the file's lines. A round is never torn (a row is stored whole or not
// at all); a failed append fails that round's entries as a failed file
// write does. A stream's partition logs use the journal too, in
// owner-checked rounds (streamjournal.go).

// journalTimeout bounds one journal operation of a round or a resume.
const journalTimeout = time.Minute

// journalLog is one lineage's log in the journal.
type journalLog struct {
	j    block.Journal
	name string
}

// newWALFor is the block's log: files in Env.StateDir, or rounds in
// Env.Journal when the runtime hands one.
func newWALFor(env *block.Env) *wal {
	w := newWAL(env.StateDir)
	if w != nil {
		w.journal = env.Journal
	}
	return w
}

func journalName(lineage string) string {
	h := sha256.Sum256([]byte(lineage))
	return "wal/" + hex.EncodeToString(h[:12])
}

// openJournal loads a resumed lineage's log from the journal into wf (a
// fresh lineage's left-over log, whose end was not recorded, is dropped).
func (w *wal) openJournal(wf *walFile, l block.Lineage) error {
	jl := &journalLog{j: w.journal, name: journalName(l.ID())}
	ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
	defer cancel()
	if !l.Resumed() {
		if err := jl.j.Remove(ctx, jl.name); err != nil {
			return fmt.Errorf("write-ahead log: %w", err)
		}
		wf.jr = jl
		return nil
	}
	rounds, err := jl.j.Read(ctx, jl.name)
	if err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	parseInDoubt(bytes.Join(rounds, nil), l.Acked, wf.inDoubt, wf.answered, "", nil)
	wf.jr = jl
	return nil
}

// writeRound appends one round; it is durable when the append returns, so
// sync changes nothing.
func (jl *journalLog) writeRound(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
	defer cancel()
	if err := jl.j.Append(ctx, jl.name, b); err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	return nil
}

// endJournal removes a lineage's log from the journal.
func (w *wal) endJournal(lineage string) error {
	ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
	defer cancel()
	return w.journal.Remove(ctx, journalName(lineage))
}
