package engine

import (
	"sync/atomic"

	"github.com/connectplus/connectplus/block"
)

// A payload is a buffer a block lent to a unit it emitted (block.Recycler):
// the block's free runs once no envelope holds it any more.
//
// Every envelope holds each payload of the unit it carries, and each
// payload of the unit it was derived from: a unit a block emits while
// processing another holds what the other held, since it may share the
// other's records or values (a filter's halves share the batch's array,
// jslt_transform hands its input unit on with its own values). An envelope
// lets go of its payloads when it is done: when the block it was queued
// for returned from Process (block.Transient: nothing of it is read after
// that but the units it emitted, which hold the payloads themselves), or
// when its records became terminal on a relation that leads nowhere. A
// unit that is abandoned (a stopped run's queued units) never lets go: its
// buffers are left to the collector, never reused early.
type payload struct {
	refs atomic.Int32
	free func()
}

func (p *payload) hold() { p.refs.Add(1) }

func (p *payload) release() {
	switch n := p.refs.Add(-1); {
	case n == 0:
		p.free()
	case n < 0:
		panic("engine: payload released more often than held")
	}
}

// allowRecycling lets a node's units carry payloads when nothing they may reach
// keeps any of them past its Process call (block.Transient on every block
// downstream, on every relation) and no preview taps them. Disabled nodes
// pass units through and are looked through; relation conditions only read
// unit attributes, so their targets are checked like edges.
func (f *Flow) allowRecycling() {
	if f.opts.Tap != nil {
		return
	}
	for _, n := range f.nodes {
		if n.pass || n.proc == nil {
			continue
		}
		n.recycle = transientDownstream(n)
	}
}

// RecyclingBlocks names the blocks whose units may carry lent buffers
// (block.Recycler accepts them), in document order.
func (f *Flow) RecyclingBlocks() []string {
	var names []string
	for _, n := range f.nodes {
		if n.recycle {
			names = append(names, n.name)
		}
	}
	return names
}

// transientDownstream reports whether every node reachable from n's
// outputs is block.Transient.
func transientDownstream(start *node) bool {
	seen := map[*node]bool{}
	var stack []*node
	push := func(n *node) {
		for _, to := range n.edges {
			stack = append(stack, to...)
		}
		for _, c := range n.conds {
			stack = append(stack, c.to)
		}
	}
	push(start)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n] {
			continue
		}
		seen[n] = true
		if !n.pass {
			t, ok := n.inst.(block.Transient)
			if !ok || !t.Transient() {
				return false
			}
		}
		push(n)
	}
	return true
}

// Recycle implements block.Recycler.
func (e *emitter) Recycle(u *block.Unit, free func()) bool {
	if !e.n.recycle || u == nil || free == nil {
		return false
	}
	e.lent = append(e.lent, lentPayload{u: u, free: free})
	return true
}

// Recycles implements block.Recycler.
func (e *emitter) Recycles() bool { return e.n.recycle }

type lentPayload struct {
	u    *block.Unit
	free func()
}

// carry gives env (about to carry u, emitted from e's unit) the payloads
// it holds: those of e's unit and those lent for u.
func (e *emitter) carry(env *envelope, u *block.Unit) {
	lent := 0
	for i := range e.lent {
		if e.lent[i].u == u {
			lent++
		}
	}
	if len(e.env.payloads) == 0 && lent == 0 {
		return
	}
	env.payloads = make([]*payload, 0, len(e.env.payloads)+lent)
	for _, p := range e.env.payloads {
		p.hold()
		env.payloads = append(env.payloads, p)
	}
	if lent == 0 {
		return
	}
	k := 0
	for _, l := range e.lent {
		if l.u != u {
			e.lent[k] = l
			k++
			continue
		}
		p := &payload{free: l.free}
		p.refs.Store(1)
		env.payloads = append(env.payloads, p)
	}
	clear(e.lent[k:])
	e.lent = e.lent[:k]
}

// copyPayloads gives a fan-out copy of env's unit the payloads env holds.
func copyPayloads(dst, src *envelope) {
	if len(src.payloads) == 0 {
		return
	}
	dst.payloads = make([]*payload, len(src.payloads))
	for i, p := range src.payloads {
		p.hold()
		dst.payloads[i] = p
	}
}

// done lets go of env's payloads: nothing reads its unit any more.
func (env *envelope) done() {
	ps := env.payloads
	env.payloads = nil
	for _, p := range ps {
		p.release()
	}
}
