package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/connectplus/connectplus/block"
)

// Journal returns the store's block.Journal: block logs as rows of
// block_journal, which every node of a cluster reads.
func (s *Store) Journal() block.Journal { return &journal{s: s, q: s.Queries} }

type journal struct {
	s *Store
	q *Queries
}

func (j *journal) Append(ctx context.Context, log string, entry []byte) error {
	if _, err := j.q.exec(ctx, `INSERT INTO block_journal (log, entry) VALUES (?, ?)`, log, entry); err != nil {
		return fmt.Errorf("journal %s: append: %w", log, err)
	}
	return nil
}

func (j *journal) Read(ctx context.Context, log string) ([][]byte, error) {
	es, err := readEntries(ctx, j.q, log, 0)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(es))
	for i, e := range es {
		out[i] = e.Entry
	}
	return out, nil
}

// readEntries returns the log's entries after id after, in order.
func readEntries(ctx context.Context, q *Queries, log string, after int64) ([]block.JournalEntry, error) {
	rows, err := q.query(ctx, `SELECT id, entry FROM block_journal WHERE log = ? AND id > ? ORDER BY id`, log, after)
	if err != nil {
		return nil, fmt.Errorf("journal %s: read: %w", log, err)
	}
	defer rows.Close()
	var out []block.JournalEntry
	for rows.Next() {
		var e block.JournalEntry
		if err := rows.Scan(&e.ID, &e.Entry); err != nil {
			return nil, fmt.Errorf("journal %s: read: %w", log, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal %s: read: %w", log, err)
	}
	return out, nil
}

func (j *journal) Remove(ctx context.Context, log string) error {
	err := j.s.Tx(ctx, func(q *Queries) error {
		if _, err := q.exec(ctx, `DELETE FROM block_journal WHERE log = ?`, log); err != nil {
			return err
		}
		_, err := q.exec(ctx, `DELETE FROM block_journal_owner WHERE log = ?`, log)
		return err
	})
	if err != nil {
		return fmt.Errorf("journal %s: remove: %w", log, err)
	}
	return nil
}

// journalTouch is how stale an owner's written_at may get before a round
// of the same epoch updates it: the reclaim age (minutes) need not be
// exact to the millisecond, and most rounds save the UPDATE.
const journalTouch = time.Second

// Round (block.Journal) runs in one transaction: the owner row is created
// if missing and locked (PostgreSQL: the upsert's row lock, held to the
// commit; SQLite: the store's transactions take the write lock at BEGIN), so rounds of one
// log are serialised and each reads every entry an earlier round
// committed — ids are assigned under the lock, so no entry with a smaller
// id can still become visible later. The owner check and the append are
// in the same transaction: an owner whose epoch was overtaken cannot
// append after the new owner's round, whatever the clocks say. The
// reclaim age is measured on the database's clock.
func (j *journal) Round(ctx context.Context, log string, r block.JournalRound) (block.JournalRoundResult, error) {
	var res block.JournalRoundResult
	now := `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`
	if j.s.dialect == Postgres {
		now = `CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)`
	}
	err := j.s.Tx(ctx, func(q *Queries) error {
		res = block.JournalRoundResult{}
		// One statement creates the row if missing and locks it (an
		// upsert's DO UPDATE takes the row lock, as FOR UPDATE does).
		var owner, at, clock int64
		if err := q.row(ctx, `INSERT INTO block_journal_owner (log, epoch, written_at) VALUES (?, 0, 0)
			ON CONFLICT (log) DO UPDATE SET epoch = block_journal_owner.epoch
			RETURNING epoch, written_at, `+now, log).Scan(&owner, &at, &clock); err != nil {
			return err
		}
		es, err := readEntries(ctx, q, log, r.After)
		if err != nil {
			return err
		}
		res.Entries = es
		may := r.Epoch == 0 || r.Epoch >= owner || r.Take && clock-at >= r.Reclaim.Milliseconds()
		entry := r.Entry
		if !may {
			entry, res.Fenced = r.Fenced, true
		} else if r.Epoch != 0 && (r.Epoch != owner || clock-at >= journalTouch.Milliseconds()) {
			if _, err := q.exec(ctx, `UPDATE block_journal_owner SET epoch = ?, written_at = ? WHERE log = ?`, r.Epoch, clock, log); err != nil {
				return err
			}
			owner = r.Epoch
		}
		res.Owner = owner
		if entry != nil {
			if err := q.row(ctx, `INSERT INTO block_journal (log, entry) VALUES (?, ?) RETURNING id`, log, entry).Scan(&res.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return block.JournalRoundResult{}, fmt.Errorf("journal %s: round: %w", log, err)
	}
	return res, nil
}

// Delete removes entries by id, at most 500 per statement.
func (j *journal) Delete(ctx context.Context, log string, ids []int64) error {
	for len(ids) > 0 {
		n := min(len(ids), 500)
		args := make([]any, 0, n+1)
		args = append(args, log)
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		q := `DELETE FROM block_journal WHERE log = ? AND id IN (?` + strings.Repeat(",?", n-1) + `)`
		if _, err := j.q.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("journal %s: delete: %w", log, err)
		}
		ids = ids[n:]
	}
	return nil
}
