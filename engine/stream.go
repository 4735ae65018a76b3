package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/connectplus/connectplus/block"
)

// Streaming reports whether the flow reads a stream (a source implementing
// block.Stream): its runner polls continuously instead of on a schedule.
func (f *Flow) Streaming() bool {
	for _, n := range f.sources {
		if _, ok := n.src.(block.Stream); ok {
			return true
		}
	}
	return false
}

func (f *Flow) eachStream(fn func(block.Stream)) {
	for _, n := range f.sources {
		if st, ok := n.src.(block.Stream); ok {
			fn(st)
		}
	}
}

// runWindow runs one window of a stream source as lineage l: it asks the
// source for units until the window closes, the flow drains (Pause, a new
// version) or stops, routing each with back-pressure. The lineage completes
// — result file, Finish, run record — once every record routed has ended.
func (f *Flow) runWindow(ctx context.Context, src *node, st block.Stream, it block.Item, l *lineage) {
	f.mu.Lock()
	f.active[ItemKey(it)] = l
	f.mu.Unlock()
	if f.opts.Observer != nil {
		f.opts.Observer.LineageStarted(f.key, it, l.id, l.resumed)
	}
	f.log.Info("stream window opened", "flow", f.key, "window", it.Key, "lineage", l.id, "resumed", l.resumed)
	l.mu.Lock()
	failed := l.fileErr
	seq := l.maxSeqLocked() + 1
	l.mu.Unlock()
	if failed != nil {
		f.log.Error("stream window cannot resume", "flow", f.key, "window", it.Key, "lineage", l.id, "err", failed)
	}
	for failed == nil && !f.draining.Load() && ctx.Err() == nil && f.runCtx.Err() == nil {
		u, err := st.Next(f.runCtx, it, seq)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if f.runCtx.Err() != nil || ctx.Err() != nil {
				break
			}
			// The window fails as a whole with the reason; records it
			// already handed on still finish and count.
			failed = fmt.Errorf("block %s: %w", src.name, err)
			l.mu.Lock()
			if l.fileErr == nil {
				l.fileErr = failed
			}
			l.mu.Unlock()
			break
		}
		if u == nil || u.Batch == nil || len(u.Batch.Records) == 0 {
			continue
		}
		seq += int64(len(u.Batch.Records))
		if err := f.routeStreamUnit(src, u, l); err != nil {
			break
		}
	}
	l.mu.Lock()
	l.opened = true
	l.mu.Unlock()
	f.maybeComplete(l)
}

// routeStreamUnit hands one unit of stream records on: records the source
// already failed (poison messages) take the failure relation, the rest
// success.
func (f *Flow) routeStreamUnit(src *node, u *block.Unit, l *lineage) error {
	u.Lineage = lineageView{l}
	if u.Attrs == nil {
		u.Attrs = block.Attributes{}
	}
	u.Attrs[block.AttrLineageID] = l.id
	l.born(u.Batch)
	src.stats.unitsOut.Add(1)
	recs := u.Batch.Records
	bad := 0
	for i := range recs {
		if recs[i].Outcome.Status == block.Failed {
			bad++
		}
	}
	good := u
	if bad > 0 {
		ok := make([]block.Record, 0, len(recs)-bad)
		failed := make([]block.Record, 0, bad)
		for i := range recs {
			if recs[i].Outcome.Status == block.Failed {
				if recs[i].Outcome.Block == "" {
					recs[i].Outcome.Block = src.name
				}
				failed = append(failed, recs[i])
			} else {
				ok = append(ok, recs[i])
			}
		}
		fu := u.Derive()
		fu.Batch = u.Batch.With(failed)
		src.stats.recordsFailed.Add(int64(bad))
		l.countBlock(src.name, src.spec.Type, block.RelFailure, fu)
		if f.opts.Tap != nil {
			f.opts.Tap.UnitOut(src.name, block.RelFailure, fu)
		}
		if err := f.route(f.runCtx, src, &envelope{u: fu, lin: l}, block.RelFailure); err != nil {
			return err
		}
		if len(ok) == 0 {
			return nil
		}
		good = u.Derive()
		good.Batch = u.Batch.With(ok)
	}
	src.stats.recordsOut.Add(int64(len(good.Batch.Records)))
	l.countBlock(src.name, src.spec.Type, block.RelSuccess, good)
	if f.opts.Tap != nil {
		f.opts.Tap.UnitOut(src.name, block.RelSuccess, good)
	}
	return f.route(f.runCtx, src, &envelope{u: good, lin: l}, block.RelSuccess)
}

// maxSeqLocked is the highest record number the lineage has seen end: a
// resumed window numbers new records after it. Caller holds l.mu.
func (l *lineage) maxSeqLocked() int64 {
	return max(l.watermark, l.done.maxMember())
}

// PollStream is the loop a stream flow runs instead of scheduled polls: it
// opens window after window until ctx ends, the flow drains (Pause) or
// stops. A source that cannot list (broker unreachable) is retried after
// backoff. It returns how many windows it ran.
func (f *Flow) PollStream(ctx context.Context, backoff time.Duration) int {
	if backoff <= 0 {
		backoff = time.Second
	}
	windows := 0
	for ctx.Err() == nil && f.runCtx.Err() == nil && !f.draining.Load() {
		n, err := f.Poll(ctx)
		windows += n
		if err != nil {
			f.log.Warn("stream source", "flow", f.key, "err", err)
		}
		if n == 0 || err != nil {
			select {
			case <-ctx.Done():
			case <-f.runCtx.Done():
			case <-time.After(backoff):
			}
		}
	}
	return windows
}
