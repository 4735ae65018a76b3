package csvjson

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/connectplus/connectplus/block"
)

// recyclingOutput is an engine that hands batches back (block.Recycler)
// some units after they were emitted, in a shuffled order, checking each
// batch against its expected rows first: a record array or field slab
// reused while its batch was still in flight would have changed it.
type recyclingOutput struct {
	fakeOutput
	r       *rand.Rand
	want    map[int64]string // seq → the row's fields joined by "|"
	lent    map[*block.Unit]func()
	flight  []*block.Unit
	depth   int
	bad     []string
	freed   int
	checked int
}

func (o *recyclingOutput) Recycles() bool { return true }

func (o *recyclingOutput) Recycle(u *block.Unit, free func()) bool {
	o.lent[u] = free
	return true
}

func (o *recyclingOutput) Emit(ctx context.Context, rel string, u *block.Unit) error {
	o.check(u)
	o.flight = append(o.flight, u)
	for len(o.flight) > o.depth {
		i := o.r.IntN(len(o.flight))
		d := o.flight[i]
		o.flight = append(o.flight[:i], o.flight[i+1:]...)
		o.done(d)
	}
	return nil
}

func (o *recyclingOutput) check(u *block.Unit) {
	for _, r := range u.Batch.Records {
		o.checked++
		if got := strings.Join(r.Cols, "|"); got != o.want[r.Seq] && r.Outcome.Status != block.Failed {
			o.bad = append(o.bad, fmt.Sprintf("record %d: %q, want %q", r.Seq, got, o.want[r.Seq]))
		}
	}
}

// done checks u once more (it was in flight all along) and hands it back.
func (o *recyclingOutput) done(u *block.Unit) {
	o.check(u)
	if free := o.lent[u]; free != nil {
		delete(o.lent, u)
		free()
		o.freed++
	}
}

// The streaming path's record arrays and field slabs come back for reuse,
// and a batch's records stay intact for as long as it is in flight, with
// many batches in flight at once, handed back out of order; quoted rows,
// rows of the wrong width and malformed rows among them.
func TestRecycledBatchesStayIntactInFlight(t *testing.T) {
	r := rand.New(rand.NewPCG(28, 7))
	var sb strings.Builder
	sb.WriteString("id,a,b,c,d,e,f,g\n")
	want := map[int64]string{}
	for i := 1; i <= 20000; i++ {
		f := []string{fmt.Sprint(i)}
		for range 7 {
			f = append(f, fmt.Sprintf("v%d", r.IntN(1e6)))
		}
		line := strings.Join(f, ",")
		switch r.IntN(50) {
		case 0: // quoted: no Raw, Cols copied out of the slab
			f[3] = "x,\"y\""
			line = strings.Join(f[:3], ",") + `,"x,""y"""` + "," + strings.Join(f[4:], ",")
		case 1: // too few fields: a failed row
			f = f[:3]
			line = strings.Join(f, ",")
		}
		want[int64(i)] = strings.Join(f, "|")
		sb.WriteString(line + "\n")
	}
	for _, depth := range []int{1, 30} {
		t.Run(fmt.Sprint("in flight ", depth), func(t *testing.T) {
			out := &recyclingOutput{r: rand.New(rand.NewPCG(1, uint64(depth))), want: want, lent: map[*block.Unit]func(){}, depth: depth}
			b := newTestBlock(t, map[string]any{"groupSize": 100}, nil)
			u := fileUnit(sb.String(), nil)
			if err := b.Process(context.Background(), u, out); err != nil {
				t.Fatal(err)
			}
			for _, d := range out.flight {
				out.done(d)
			}
			if len(out.bad) > 0 {
				t.Fatalf("%d records changed in flight, e.g. %v", len(out.bad), out.bad[:min(3, len(out.bad))])
			}
			if out.freed < 190 || out.checked < 2*19000 {
				t.Fatalf("%d batches handed back, %d records checked", out.freed, out.checked)
			}
		})
	}
}

// The record arrays and slabs are handed back from other goroutines than
// the parser's (the engine's), while it parses: the race detector checks
// the hand-over.
func TestRecycledBatchesFromOtherGoroutines(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("id,a,b\n")
	for i := 1; i <= 30000; i++ {
		fmt.Fprintf(&sb, "%d,a%d,b%d\n", i, i, i)
	}
	out := &concurrentOutput{}
	b := newTestBlock(t, map[string]any{"groupSize": 50}, nil)
	if err := b.Process(context.Background(), fileUnit(sb.String(), nil), out); err != nil {
		t.Fatal(err)
	}
	out.wg.Wait()
	if out.bad.Load() != nil {
		t.Fatal(*out.bad.Load())
	}
	if out.n != 600 {
		t.Fatalf("%d batches", out.n)
	}
}

type concurrentOutput struct {
	fakeOutput
	wg   sync.WaitGroup
	n    int
	mu   sync.Mutex
	lent map[*block.Unit]func()
	bad  atomic.Pointer[string]
}

func (o *concurrentOutput) Recycles() bool { return true }

func (o *concurrentOutput) Recycle(u *block.Unit, free func()) bool {
	o.mu.Lock()
	if o.lent == nil {
		o.lent = map[*block.Unit]func(){}
	}
	o.lent[u] = free
	o.mu.Unlock()
	return true
}

func (o *concurrentOutput) Emit(ctx context.Context, rel string, u *block.Unit) error {
	o.n++
	o.mu.Lock()
	free := o.lent[u]
	delete(o.lent, u)
	o.mu.Unlock()
	o.wg.Go(func() {
		for _, r := range u.Batch.Records {
			id := r.Cols[0]
			if r.Cols[1] != "a"+id || r.Cols[2] != "b"+id || r.Raw != id+",a"+id+",b"+id {
				s := fmt.Sprintf("record %d: %q %q", r.Seq, r.Cols, r.Raw)
				o.bad.CompareAndSwap(nil, &s)
			}
		}
		free()
	})
	return nil
}
