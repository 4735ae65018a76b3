package store

import (
	"context"
	"fmt"

	"github.com/connectplus/connectplus/block"
)

// Journal returns the store's block.Journal: block logs as rows of
// block_journal, which every node of a cluster reads.
func (s *Store) Journal() block.Journal { return &journal{q: s.Queries} }

type journal struct{ q *Queries }

func (j *journal) Append(ctx context.Context, log string, entry []byte) error {
	if _, err := j.q.exec(ctx, `INSERT INTO block_journal (log, entry) VALUES (?, ?)`, log, entry); err != nil {
		return fmt.Errorf("journal %s: append: %w", log, err)
	}
	return nil
}

func (j *journal) Read(ctx context.Context, log string) ([][]byte, error) {
	rows, err := j.q.query(ctx, `SELECT entry FROM block_journal WHERE log = ? ORDER BY id`, log)
	if err != nil {
		return nil, fmt.Errorf("journal %s: read: %w", log, err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("journal %s: read: %w", log, err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal %s: read: %w", log, err)
	}
	return out, nil
}

func (j *journal) Remove(ctx context.Context, log string) error {
	if _, err := j.q.exec(ctx, `DELETE FROM block_journal WHERE log = ?`, log); err != nil {
		return fmt.Errorf("journal %s: remove: %w", log, err)
	}
	return nil
}
