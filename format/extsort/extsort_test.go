package extsort

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// rec is "key|seq": sorting by key only must keep seq ascending within a key.
func key(r []byte) []byte { return r[:bytes.IndexByte(r, '|')] }

func makeRecords(n, keys int, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "k%05d|%08d|%s", rng.IntN(keys), i, bytes.Repeat([]byte("x"), rng.IntN(40)))
	}
	return out
}

func expected(recs [][]byte) [][]byte {
	want := slices.Clone(recs)
	slices.SortStableFunc(want, func(a, b []byte) int { return bytes.Compare(key(a), key(b)) })
	return want
}

func run(t *testing.T, opts Options, recs [][]byte) ([][]byte, int) {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, r := range recs {
		if err := s.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	runs := s.Runs()
	it, err := s.Sort()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for it.Next() {
		out = append(out, slices.Clone(it.Record()))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return out, runs
}

func TestSortStable(t *testing.T) {
	recs := makeRecords(20000, 50, 7)
	want := expected(recs)
	for _, tc := range []struct {
		name    string
		mem     int64
		minRuns int
		useLess bool
	}{
		{"in memory", 0, 0, false},
		{"few runs", 200 << 10, 2, false},
		{"multi-pass merge", 8 << 10, maxFanIn + 1, false},
		{"less func", 8 << 10, maxFanIn + 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{MemLimit: tc.mem, TempDir: dir, Key: key}
			if tc.useLess {
				opts = Options{MemLimit: tc.mem, TempDir: dir, Less: func(a, b []byte) bool { return bytes.Compare(key(a), key(b)) < 0 }}
			}
			got, runs := run(t, opts, recs)
			if runs < tc.minRuns {
				t.Errorf("%d runs spilled, want at least %d", runs, tc.minRuns)
			}
			if len(got) != len(want) {
				t.Fatalf("%d records, want %d", len(got), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("record %d: got %q want %q", i, got[i], want[i])
				}
			}
			left, _ := os.ReadDir(dir)
			if len(left) != 0 {
				t.Errorf("temp files left behind: %d", len(left))
			}
		})
	}
}

func TestEdgeCases(t *testing.T) {
	dir := t.TempDir()
	got, _ := run(t, Options{TempDir: dir, Key: key}, nil)
	if len(got) != 0 {
		t.Error("empty input yields records")
	}
	// Records larger than the memory limit each become a run.
	big := [][]byte{[]byte("b|" + string(bytes.Repeat([]byte("y"), 5000))), []byte("a|1"), {'|'}}
	got, _ = run(t, Options{TempDir: dir, MemLimit: 100, Key: key}, big)
	if len(got) != 3 || string(got[0]) != "|" || string(got[1]) != "a|1" {
		t.Errorf("got %q", got)
	}
	if _, err := New(Options{}); err == nil {
		t.Error("New without Less or Key must fail")
	}
	s, _ := New(Options{TempDir: dir, Key: key})
	if _, err := s.Sort(); err != nil {
		t.Fatal(err)
	}
	if err := s.Add([]byte("a|")); err == nil {
		t.Error("Add after Sort must fail")
	}
	if _, err := s.Sort(); err == nil {
		t.Error("second Sort must fail")
	}
	s.Close()
	if err := s.Close(); err != nil {
		t.Error("Close must be idempotent")
	}
}

func TestCloseMidIteration(t *testing.T) {
	dir := t.TempDir()
	s, _ := New(Options{TempDir: dir, MemLimit: 1 << 10, Key: key})
	for _, r := range makeRecords(2000, 10, 1) {
		if err := s.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	it, err := s.Sort()
	if err != nil {
		t.Fatal(err)
	}
	it.Next()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("temp files left behind: %d", len(left))
	}
}

func BenchmarkSort(b *testing.B) {
	recs := makeRecords(200000, 100000, 3)
	var size int64
	for _, r := range recs {
		size += int64(len(r))
	}
	for _, mem := range []int64{DefaultMemLimit, 2 << 20} {
		b.Run(fmt.Sprintf("mem=%dMiB", mem>>20), func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				s, _ := New(Options{MemLimit: mem, TempDir: b.TempDir(), Key: key})
				for _, r := range recs {
					if err := s.Add(r); err != nil {
						b.Fatal(err)
					}
				}
				it, err := s.Sort()
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for it.Next() {
					n++
				}
				if n != len(recs) || it.Err() != nil {
					b.Fatal(n, it.Err())
				}
				s.Close()
			}
			b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
