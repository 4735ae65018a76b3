package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/connectplus/connectplus/block"
)

// A dispatcher lists in one place and processes each item on its own: the
// two halves of Poll give the same outcome, and a done item is not claimed
// twice.
func TestListThenProcessItem(t *testing.T) {
	src := &memSource{files: map[string]string{"a.csv": genFile(50, 10), "b.csv": genFile(5, 0)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	sk := &sink{delivered: map[string]int{}}
	f, err := Compile(testDoc(), Options{Registry: testRegistry(src, sk, 7)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed, err := f.List(ctx)
	if err != nil || len(listed) != 2 {
		t.Fatalf("list: %v %v", listed, err)
	}
	for _, l := range listed {
		res, err := f.ProcessItem(ctx, l.Source, l.Item)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Balanced() || res.Item.Key != l.Item.Key || res.Status == "" {
			t.Fatalf("%s: %+v", l.Item.Name, res)
		}
	}
	if len(src.finished) != 2 {
		t.Fatalf("finished: %v", src.finished)
	}
	// The in-memory checkpointer remembers done items.
	if _, err := f.ProcessItem(ctx, listed[0].Source, listed[0].Item); !errors.Is(err, ErrNotClaimed) {
		t.Fatalf("done item processed again: %v", err)
	}
	if _, err := f.ProcessItem(ctx, "nope", listed[0].Item); err == nil {
		t.Fatal("unknown source accepted")
	}
	f.Drain()
	if _, err := f.ProcessItem(ctx, listed[0].Source, listed[0].Item); !errors.Is(err, ErrDraining) {
		t.Fatalf("draining flow took an item: %v", err)
	}
}
