package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/connectplus/connectplus/block"
)

// Listed is one eligible input of one source, as a poll found it.
type Listed struct {
	Source string     `json:"source"`
	Item   block.Item `json:"item"`
}

// Why ProcessItem did not process an item.
var (
	// ErrDraining: the flow is draining (paused, replaced, shutting down).
	ErrDraining = errors.New("engine: flow is draining")
	// ErrStopped: the flow was stopped while the item was in flight; it was
	// released with its checkpoint and resumes on the next claim.
	ErrStopped = errors.New("engine: flow stopped")
	// ErrBusy: this flow already has the item in flight.
	ErrBusy = errors.New("engine: item already in flight")
	// ErrNotClaimed: the checkpointer refused the claim (done, or held).
	ErrNotClaimed = errors.New("engine: item not claimed")
)

// List asks every source for its eligible inputs without claiming any: a
// dispatcher that spreads files over several processes lists in one place
// and processes each item wherever a worker is free (ProcessItem).
func (f *Flow) List(ctx context.Context) ([]Listed, error) {
	var out []Listed
	var errs []error
	for _, src := range f.sources {
		if _, ok := src.src.(block.Stream); ok {
			continue // a stream is consumed, not listed
		}
		items, err := src.src.List(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("block %s: list: %w", src.name, err))
			continue
		}
		for _, it := range items {
			out = append(out, Listed{Source: src.name, Item: it})
		}
	}
	return out, errors.Join(errs...)
}

// ProcessItem claims one item of the named source and processes it, like
// Poll does for every item it lists, and waits until its lineage completes
// (the result says how it ended). It returns ErrDraining, ErrBusy or
// ErrNotClaimed when it did not start the item, and ErrStopped when Stop
// interrupted it, once Close has released it with its checkpoint. When ctx ends
// first the item goes on in the flow and ctx's error is returned.
func (f *Flow) ProcessItem(ctx context.Context, source string, it block.Item) (LineageResult, error) {
	n, ok := f.byName[source]
	if !ok || n.src == nil {
		return LineageResult{}, fmt.Errorf("engine: no source block %q", source)
	}
	if _, ok := n.src.(block.Stream); ok {
		return LineageResult{}, fmt.Errorf("engine: source %q is a stream", source)
	}
	if f.draining.Load() {
		return LineageResult{}, ErrDraining
	}
	key := ItemKey(it)
	done := make(chan LineageResult, 1)
	f.mu.Lock()
	if _, busy := f.active[key]; busy {
		f.mu.Unlock()
		return LineageResult{}, ErrBusy
	}
	if _, waiting := f.waiters[key]; waiting {
		f.mu.Unlock()
		return LineageResult{}, ErrBusy
	}
	f.waiters[key] = done
	f.mu.Unlock()
	forget := func() {
		f.mu.Lock()
		if f.waiters[key] == done {
			delete(f.waiters, key)
		}
		f.mu.Unlock()
	}
	started, err := f.startLineage(ctx, n, it)
	if err != nil || !started {
		forget()
		if err != nil {
			if f.runCtx.Err() != nil {
				return LineageResult{}, ErrStopped
			}
			return LineageResult{}, err
		}
		if f.draining.Load() {
			return LineageResult{}, ErrDraining
		}
		return LineageResult{}, ErrNotClaimed
	}
	select {
	case res := <-done:
		return res, nil
	case <-f.runCtx.Done():
		// A lineage already complete finishes regardless: prefer its result.
		select {
		case res := <-done:
			return res, nil
		default:
		}
		forget()
		// Whoever gets the item next must find the checkpoint this flow
		// saves when it closes, not an older one.
		select {
		case <-f.closed:
		case <-ctx.Done():
		}
		return LineageResult{}, ErrStopped
	case <-ctx.Done():
		forget()
		return LineageResult{}, ctx.Err()
	}
}
