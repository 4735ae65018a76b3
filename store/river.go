package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// migrateRiver applies River's own migrations (its job, leader and queue
// tables) after ours, so a cluster of servers on one PostgreSQL needs no
// manual step: the first server to start, or to start a newer binary,
// brings the schema up to date. River serialises concurrent migrators with
// its own advisory lock; its migrations only add, so jobs that are running
// during an upgrade keep running.
func migrateRiver(ctx context.Context, rawURL string) error {
	pool, err := pgxpool.New(ctx, rawURL)
	if err != nil {
		return fmt.Errorf("store: river migrations: connect: %w", err)
	}
	defer pool.Close()
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("store: river migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("store: river migrations: %w", err)
	}
	return nil
}

// TakeOverItem claims an item for owner whoever held it, unless it is done.
// The cluster dispatcher calls it only for the River job that owns the
// file: River hands a job to one worker at a time, and a job comes back to
// another node only after its worker died (rescued) or let it go, so the
// former holder is gone. Its late checkpoints then fail (SaveCheckpoint
// checks the owner): the claim fences a node that was wrongly presumed dead.
func (s *Store) TakeOverItem(ctx context.Context, flowKey, itemKey, owner string) (checkpoint []byte, ok bool, err error) {
	checkpoint, ok, err = s.claim(ctx, flowKey, itemKey, owner, `state <> 'done'`)
	if err != nil {
		return nil, false, fmt.Errorf("take over %s %s: %w", flowKey, itemKey, err)
	}
	return checkpoint, ok, nil
}
