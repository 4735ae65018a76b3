package engine

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/jsonv"
)

// lender turns a file's lines into batches whose values live in one buffer
// per batch, lent to the engine (block.Recycler). free poisons the buffer:
// a block reading a value after it would see the poison.
type lender struct {
	batch    int
	mu       sync.Mutex
	freed    map[int]int // batch → free calls
	lent     int
	accepted atomic.Bool
}

func (p *lender) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	rc, err := u.File.Open(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	body, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	rows := strings.Split(strings.TrimSpace(string(body)), "\n")[1:]
	hdr := block.NewHeader([]string{"id", "v"})
	for start, bi := 0, 0; start < len(rows); start, bi = start+p.batch, bi+1 {
		end := min(start+p.batch, len(rows))
		var buf []byte
		ends := make([]int, 0, end-start)
		recs := make([]block.Record, 0, end-start)
		for i := start; i < end; i++ {
			cols := strings.Split(rows[i], ",")
			buf = strconv.AppendQuote(buf, "value of "+cols[0])
			ends = append(ends, len(buf))
			recs = append(recs, block.Record{Seq: int64(i + 1), Line: int64(i + 2), Cols: cols})
		}
		raws := make([]jsonv.RawJSON, len(recs))
		from := 0
		for i := range recs {
			raws[i] = jsonv.RawJSON(buf[from:ends[i]:ends[i]])
			recs[i].Value = jsonv.BoxRawJSON(&raws[i])
			from = ends[i]
		}
		nu := u.Derive()
		nu.Batch = &block.Batch{Header: hdr, Records: recs}
		b := bi
		if r, ok := out.(block.Recycler); ok && r.Recycle(nu, func() {
			for i := range buf {
				buf[i] = 'X'
			}
			p.mu.Lock()
			p.freed[b]++
			p.mu.Unlock()
		}) {
			p.accepted.Store(true)
			p.mu.Lock()
			p.lent++
			p.mu.Unlock()
		}
		if err := out.Emit(ctx, block.RelSuccess, nu); err != nil {
			return err
		}
	}
	return nil
}

// halver keeps the records with an even id and filters the others, both
// halves in the batch's own array (as filter_on_condition does).
type halver struct{ transient bool }

func (h *halver) Transient() bool { return h.transient }

func (h *halver) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	b := u.Batch
	var keep, drop []block.Record
	for _, r := range b.Records {
		if id, _ := strconv.Atoi(r.Cols[0]); id%2 == 0 {
			keep = append(keep, r)
		} else {
			r.Outcome = block.Outcome{Status: block.Filtered}
			drop = append(drop, r)
		}
	}
	n := copy(b.Records, keep)
	copy(b.Records[n:], drop)
	kept, dropped := b.Records[:n:n], b.Records[n:]
	if len(dropped) > 0 {
		du := u.Derive()
		du.Batch = b.With(dropped)
		if err := out.Emit(ctx, block.RelFiltered, du); err != nil {
			return err
		}
	}
	if len(kept) > 0 {
		b.Records = kept
		return out.Emit(ctx, block.RelSuccess, u)
	}
	return nil
}

// checker reads every value after a pause (so a buffer freed too early has
// been poisoned by then), compares it with what the lender wrote, and
// acknowledges the records.
type checker struct {
	delay   time.Duration
	workers int
	mu      sync.Mutex
	bad     []string
	seen    int
}

func (c *checker) Transient() bool  { return true }
func (c *checker) Concurrency() int { return c.workers }

func (c *checker) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	time.Sleep(c.delay)
	for i := range u.Batch.Records {
		r := &u.Batch.Records[i]
		got := string(jsonv.Append(nil, r.Value))
		want := strconv.Quote("value of " + r.Cols[0])
		c.mu.Lock()
		c.seen++
		if got != want {
			c.bad = append(c.bad, fmt.Sprintf("record %s: %s, want %s", r.Cols[0], got, want))
		}
		c.mu.Unlock()
	}
	out.Ack(u, nil)
	return nil
}

func recycleRegistry(src *memSource, l *lender, h *halver, c *checker) *block.Registry {
	r := block.NewRegistry()
	r.MustRegister(
		&block.Spec{Type: "mem_read", Label: "mem", Class: block.ClassSource, Input: block.KindNone, Output: block.KindFile,
			New: func(*block.Config, *block.Env) (block.Block, error) { return src, nil }},
		&block.Spec{Type: "lend", Label: "lend", Class: block.ClassExecutor, Input: block.KindFile, Output: block.KindRecords,
			New: func(*block.Config, *block.Env) (block.Block, error) { return l, nil }},
		&block.Spec{Type: "halve", Label: "halve", Class: block.ClassExecutor, Input: block.KindRecords, Output: block.KindRecords,
			New: func(*block.Config, *block.Env) (block.Block, error) { return h, nil }},
		&block.Spec{Type: "check", Label: "check", Class: block.ClassExecutor, Input: block.KindRecords, Output: block.KindRecords,
			New: func(*block.Config, *block.Env) (block.Block, error) { return c, nil }},
	)
	return r
}

func recycleDoc(fanOut, disabled bool) *dataflow.Document {
	rels := []dataflow.Relation{{To: "check"}}
	if fanOut {
		rels = append(rels, dataflow.Relation{To: "check2"})
	}
	doc := &dataflow.Document{Name: "t", Blocks: []dataflow.Block{
		{Type: "mem_read", Name: "read", Relations: []dataflow.Relation{{To: "lend"}}},
		{Type: "lend", Name: "lend", Relations: []dataflow.Relation{{To: "halve"}}},
		{Type: "halve", Name: "halve", Relations: rels, Disabled: disabled},
		{Type: "check", Name: "check"},
	}}
	if fanOut {
		doc.Blocks = append(doc.Blocks, dataflow.Block{Type: "check", Name: "check2"})
	}
	return doc
}

// A lent buffer is freed exactly once, and only after every unit derived
// from its batch is done: the filtered half (terminal at once), the kept
// half read later by a slow destination running several units at once, a
// second destination's copy of it (fan-out), a disabled block passing it
// on.
func TestRecycledBufferFreedOnceAfterEveryDerivedUnit(t *testing.T) {
	for _, tc := range []struct {
		name             string
		fanOut, disabled bool
		workers          int
	}{
		{"serial", false, false, 1},
		{"concurrent", false, false, 3},
		{"fan-out", true, false, 2},
		{"disabled", false, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &memSource{files: map[string]string{"a.csv": genFile(500, 0)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
			l := &lender{batch: 10, freed: map[int]int{}}
			c := &checker{delay: 200 * time.Microsecond, workers: tc.workers}
			f, err := Compile(recycleDoc(tc.fanOut, tc.disabled), Options{Registry: recycleRegistry(src, l, &halver{transient: true}, c)})
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.RunOnce(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 || !res[0].Balanced() || res[0].Counts.In != 500 {
				t.Fatalf("results: %+v", res)
			}
			if !l.accepted.Load() {
				t.Fatal("the engine refused to recycle")
			}
			want := 250
			if tc.fanOut {
				want = 500
			}
			if tc.disabled {
				want = 500 // nothing filtered
			}
			if c.seen != want {
				t.Fatalf("checked %d records, want %d", c.seen, want)
			}
			if len(c.bad) > 0 {
				t.Fatalf("values read after their buffer was freed: %v", c.bad[:min(5, len(c.bad))])
			}
			l.mu.Lock()
			defer l.mu.Unlock()
			if len(l.freed) != l.lent || l.lent != 50 {
				t.Fatalf("%d buffers freed of %d lent, want 50", len(l.freed), l.lent)
			}
			for b, n := range l.freed {
				if n != 1 {
					t.Fatalf("batch %d freed %d times", b, n)
				}
			}
		})
	}
}

// Nothing is recycled when a block downstream may keep what a unit holds
// (not block.Transient), or when a preview taps the units.
func TestRecycleRefusedUnlessEverythingDownstreamIsTransient(t *testing.T) {
	for _, tc := range []struct {
		name      string
		transient bool
		tap       Tap
	}{
		{"not transient", false, nil},
		{"tap", true, &countTap{in: map[string]int{}, out: map[string]int{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &memSource{files: map[string]string{"a.csv": genFile(50, 0)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
			l := &lender{batch: 10, freed: map[int]int{}}
			c := &checker{workers: 1}
			f, err := Compile(recycleDoc(false, false), Options{Registry: recycleRegistry(src, l, &halver{transient: tc.transient}, c), Tap: tc.tap})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			if l.accepted.Load() || len(l.freed) > 0 {
				t.Fatalf("recycled (%d freed)", len(l.freed))
			}
			if len(c.bad) > 0 || c.seen != 25 {
				t.Fatalf("checked %d, bad %v", c.seen, c.bad)
			}
		})
	}
}
