package reconcile

import (
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"testing"
)

// TestLedgerIndexOnDisk: the on-disk index answers like the map it
// replaced — every key's rows, in the order they were added, including
// keys whose rows span several blocks and runs spilled by a tiny sort
// buffer — and leaves no file behind.
func TestLedgerIndexOnDisk(t *testing.T) {
	dir := t.TempDir()
	names := []string{"bill_number", "bill_amount", "store"}
	b, err := newLedgerBuilder(dir, names, 4<<10) // spills every ~60 rows
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[string][]candidate{}
	cols := []int{0, 1, -1} // the result file had no store column
	for i := 0; i < 20000; i++ {
		k := fmt.Sprintf("billNumber\x00B%05d", rng.IntN(8000))
		if i%997 == 0 {
			k = "billNumber\x00HOT" // many rows: spans blocks
		}
		vals := []string{k[11:], fmt.Sprint(i), "ignored"}
		id := fmt.Sprint(100000000 + i)
		if err := b.add(k, id, cols, vals); err != nil {
			t.Fatal(err)
		}
		want[k] = append(want[k], candidate{ID: id, Attrs: map[string]string{"bill_number": vals[0], "bill_amount": vals[1]}})
	}
	if b.sorter.Runs() < 10 {
		t.Fatalf("only %d runs spilled: the test does not exercise the merge", b.sorter.Runs())
	}
	idx, err := b.finish()
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	if idx.blocks() < 50 {
		t.Fatalf("%d blocks", idx.blocks())
	}
	for k, w := range want {
		got, err := idx.lookup(k)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("%q: got %d rows %v, want %d", k, len(got), got[:min(len(got), 3)], len(w))
		}
	}
	for _, k := range []string{"", "billNumber\x00", "billNumber\x00B99999", "billNumber\x00B00000x", "zzz", "a"} {
		if got, err := idx.lookup(k); err != nil || len(got) != 0 {
			t.Fatalf("%q: %v %v", k, got, err)
		}
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Fatalf("left in the work directory: %v", es)
	}
}

// BenchmarkLedgerIndex reports the index's lookups and the heap it keeps
// for a ledger of b.N delivered rows (the block directory only).
func BenchmarkLedgerIndex(b *testing.B) {
	bl, err := newLedgerBuilder(b.TempDir(), []string{"bill_number", "customer_identifier", "bill_amount"}, 0)
	if err != nil {
		b.Fatal(err)
	}
	cols := []int{0, 1, 2}
	for i := 0; i < b.N; i++ {
		bill := fmt.Sprintf("BILL%09d", i)
		if err := bl.add("billNumber\x00"+bill, fmt.Sprint(100000000+i), cols, []string{bill, "9190000" + fmt.Sprint(i), "123.45"}); err != nil {
			b.Fatal(err)
		}
	}
	idx, err := bl.finish()
	if err != nil {
		b.Fatal(err)
	}
	defer idx.Close()
	for i := 0; i < b.N; i++ {
		got, err := idx.lookup(fmt.Sprintf("billNumber\x00BILL%09d", (i*7919)%b.N))
		if err != nil || len(got) != 1 {
			b.Fatalf("%d: %v %v", i, got, err)
		}
	}
	b.ReportMetric(float64(idx.blocks()), "blocks")
	b.ReportMetric(float64(idx.size)/float64(b.N), "indexB/row")
}

// TestLedgerIndexMemoryBound: the index of 300,000 delivered rows keeps
// only its block directory on the heap (the map it replaced kept ~100 bytes
// a row: ~30 MB here), and every row is still found.
func TestLedgerIndexMemoryBound(t *testing.T) {
	const rows = 300000
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	b, err := newLedgerBuilder(t.TempDir(), []string{"bill_number", "customer_identifier", "bill_amount"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	cols := []int{0, 1, 2}
	for i := 0; i < rows; i++ {
		bill := fmt.Sprintf("BILL%09d", i)
		if err := b.add("billNumber\x00"+bill, fmt.Sprint(100000000+i), cols, []string{bill, fmt.Sprint(919000000000 + i), "123.45"}); err != nil {
			t.Fatal(err)
		}
	}
	idx, err := b.finish()
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	kept := int64(heap()) - int64(before)
	if kept > 4<<20 {
		t.Fatalf("the index keeps %d bytes on the heap for %d rows (%d blocks)", kept, rows, idx.blocks())
	}
	for i := 0; i < rows; i += 997 {
		got, err := idx.lookup(fmt.Sprintf("billNumber\x00BILL%09d", i))
		if err != nil || len(got) != 1 || got[0].ID != fmt.Sprint(100000000+i) {
			t.Fatalf("row %d: %v %v", i, got, err)
		}
	}
	t.Logf("%d rows: %d blocks, %d bytes on disk, %d bytes kept on the heap", rows, idx.blocks(), idx.size, kept)
}
