package engine

import (
	"context"
	"sync"
	"testing"

	"github.com/connectplus/connectplus/block"
)

// countTap counts units and records per block and relation.
type countTap struct {
	mu  sync.Mutex
	in  map[string]int // records (or 1 per file) received
	out map[string]int // "block/rel" → records (or 1 per file)
}

func size(u *block.Unit) int {
	if u.Batch != nil {
		return len(u.Batch.Records)
	}
	return 1
}

func (c *countTap) UnitIn(b string, u *block.Unit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.in[b] += size(u)
}

func (c *countTap) UnitOut(b, rel string, u *block.Unit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out[b+"/"+rel] += size(u)
}

func (c *countTap) UnitFailed(b string, u *block.Unit, err error) {}

// The tap sees what each block received and emitted, consistently with the
// lineage counts (the preview builds its per-block view from it).
func TestTapSeesEveryBlocksUnits(t *testing.T) {
	src := &memSource{files: map[string]string{"a.csv": genFile(100, 10)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	sk := &sink{delivered: map[string]int{}}
	tap := &countTap{in: map[string]int{}, out: map[string]int{}}
	f, err := Compile(testDoc(), Options{Registry: testRegistry(src, sk, 7), Tap: tap})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tap.out["read/success"] != 1 || tap.in["conv"] != 1 {
		t.Fatalf("file unit: %+v %+v", tap.in, tap.out)
	}
	if tap.out["conv/success"]+tap.out["conv/failure"] != 100 || tap.out["conv/failure"] != 10 {
		t.Fatalf("conv out: %+v", tap.out)
	}
	if tap.in["post"] != tap.out["conv/success"] {
		t.Fatalf("post in %d, conv success %d", tap.in["post"], tap.out["conv/success"])
	}
}
