package scheduler

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/runstate"
)

// repoCheckpointer keeps claims and checkpoints in the store, so a server
// killed mid-file resumes after its last acknowledged record.
type repoCheckpointer struct {
	repo  runstate.Repo
	owner string
	// takeOver, in a cluster, claims whoever held the item: only the node
	// River handed the file's job to calls Claim.
	takeOver TakeOverRepo
}

func (c *repoCheckpointer) Claim(ctx context.Context, flow string, it block.Item) (*engine.Checkpoint, bool, error) {
	claim := c.repo.ClaimItem
	if c.takeOver != nil {
		claim = c.takeOver.TakeOverItem
	}
	raw, ok, err := claim(ctx, flow, engine.ItemKey(it), c.owner)
	if err != nil || !ok {
		return nil, ok, err
	}
	if len(raw) == 0 {
		return nil, true, nil
	}
	var cp engine.Checkpoint
	if err := json.Unmarshal(raw, &cp); err != nil {
		return nil, false, fmt.Errorf("checkpoint of %s is corrupt: %w", it.Key, err)
	}
	return &cp, true, nil
}

func (c *repoCheckpointer) Save(ctx context.Context, flow string, cp *engine.Checkpoint) error {
	raw, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	return c.repo.SaveCheckpoint(ctx, flow, engine.ItemKey(cp.Item), c.owner, raw)
}

func (c *repoCheckpointer) Complete(ctx context.Context, flow string, it block.Item) error {
	return c.repo.CompleteItem(ctx, flow, engine.ItemKey(it))
}

func (c *repoCheckpointer) Release(ctx context.Context, flow string, it block.Item) error {
	return c.repo.ReleaseItem(ctx, flow, engine.ItemKey(it))
}
