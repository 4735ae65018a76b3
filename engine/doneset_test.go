package engine

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// TestDoneSetMatchesMap runs the watermark bookkeeping finishRecord does
// — records ending in a shuffled order, some twice, some far ahead of the
// others — through doneSet and through the map it replaced, and checks
// that the watermark, the members (a checkpoint's Done list) and the
// highest member agree after every step.
func TestDoneSetMatchesMap(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ahead  int   // arrivals run ahead of the watermark by up to this many
		far    int64 // some records are this far ahead (0: none)
		start  int64 // the watermark restored from a checkpoint
		preset []int64
	}{
		{name: "near", ahead: 300},
		{name: "wide", ahead: 20000},
		{name: "far", ahead: 100, far: 3 * maxDoneRing},
		{name: "restored", ahead: 500, start: 1000, preset: []int64{1005, 1200, 1201, 1000 + 2*maxDoneRing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(tc.ahead)))
			model := map[int64]struct{}{}
			var d doneSet
			wm := tc.start
			d.wm = wm
			for _, s := range tc.preset {
				model[s] = struct{}{}
				d.add(s)
			}
			finish := func(s int64) {
				if s <= wm {
					return
				}
				mwm := wm
				if s == wm+1 {
					mwm++
					wm++
				} else {
					_, dup := model[s]
					if d.add(s) == dup {
						t.Fatalf("add(%d) after %v: dup %v", s, model, dup)
					}
					if dup {
						return
					}
					model[s] = struct{}{}
				}
				for {
					if _, ok := model[mwm+1]; !ok {
						break
					}
					delete(model, mwm+1)
					mwm++
				}
				wm = d.advance(wm)
				if wm != mwm {
					t.Fatalf("watermark %d, map says %d", wm, mwm)
				}
			}
			check := func() {
				want := make([]int64, 0, len(model))
				var mx int64
				for s := range model {
					want = append(want, s)
					mx = max(mx, s)
				}
				sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
				if got := d.sorted(); !slices.Equal(got, want) {
					t.Fatalf("members %v, want %v", got, want)
				}
				if d.len() != len(model) || d.maxMember() != mx {
					t.Fatalf("len %d max %d, want %d %d", d.len(), d.maxMember(), len(model), mx)
				}
			}
			var pending []int64
			next := tc.start + 1
			const total = 30000
			for i := 0; next <= tc.start+total || len(pending) > 0; i++ {
				for next <= tc.start+total && len(pending) < tc.ahead {
					pending = append(pending, next)
					next++
				}
				j := r.IntN(len(pending))
				s := pending[j]
				pending = append(pending[:j], pending[j+1:]...)
				finish(s)
				if r.IntN(10) == 0 {
					finish(s) // a duplicate outcome
				}
				if tc.far > 0 && i%997 == 0 {
					finish(wm + tc.far + int64(r.IntN(1000)))
				}
				if i%1009 == 0 {
					check()
				}
			}
			check()
		})
	}
}
