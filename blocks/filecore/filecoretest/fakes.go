// Package filecoretest holds test doubles for the engine side of the block
// contract and a conformance suite that every file connector runs against
// its real server, so SFTP, FTP, S3 and local disk are held to the same
// behaviour.
package filecoretest

import (
	"context"
	"sync"

	"github.com/connectplus/connectplus/block"
)

// Output records what a block emitted and acknowledged.
type Output struct {
	mu      sync.Mutex
	Emitted []Emission
	Acks    []Ack
	Bytes   int64
}

// Emission is one Emit call.
type Emission struct {
	Rel  string
	Unit *block.Unit
}

// Ack is one Ack call.
type Ack struct {
	Unit  *block.Unit
	State []byte
}

// Emit implements block.Output.
func (o *Output) Emit(ctx context.Context, rel string, u *block.Unit) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.Emitted = append(o.Emitted, Emission{rel, u})
	return ctx.Err()
}

// Ack implements block.Output.
func (o *Output) Ack(u *block.Unit, state []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.Acks = append(o.Acks, Ack{u, append([]byte(nil), state...)})
}

// Progress implements block.Output.
func (o *Output) Progress(n int64) {
	o.mu.Lock()
	o.Bytes += n
	o.mu.Unlock()
}

// LastState returns the state of the last Ack (nil when none).
func (o *Output) LastState() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.Acks) == 0 {
		return nil
	}
	return o.Acks[len(o.Acks)-1].State
}

// Lineage is a block.Lineage for tests.
type Lineage struct {
	LineageID string
	IsResumed bool
	States    map[string][]byte
}

// ID implements block.Lineage.
func (l *Lineage) ID() string { return l.LineageID }

// Acked implements block.Lineage.
func (l *Lineage) Acked(int64) bool { return false }

// State implements block.Lineage.
func (l *Lineage) State(b string) []byte { return l.States[b] }

// Resumed implements block.Lineage.
func (l *Lineage) Resumed() bool { return l.IsResumed }

// Batch builds a record batch from a header and rows.
func Batch(header []string, rows ...[]string) *block.Batch {
	b := &block.Batch{Header: block.NewHeader(header)}
	for i, r := range rows {
		b.Records = append(b.Records, block.Record{Seq: int64(i + 1), Line: int64(i + 2), Cols: r})
	}
	return b
}
