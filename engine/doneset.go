package engine

import (
	"math/bits"
	"sort"
)

// doneSet is the set of record numbers that are terminal above a lineage's
// watermark (records that finished before an earlier one: in a running
// pipeline every filtered record, and whatever parallel destinations
// acknowledge out of order). Record numbers are dense and the set stays
// close to the watermark, so it is a bitmap ring addressed by record number
// rather than a map; members too far ahead of the watermark for the ring
// (a checkpoint's sparse set, an out-of-order stream) are kept in a map.
type doneSet struct {
	words []uint64 // ring: seq s is bit s&63 of words[(s>>6)&(len-1)]
	wm    int64    // the watermark the ring is valid from (seqs wm+1 … wm+span)
	n     int      // members in the ring
	far   map[int64]struct{}
}

// maxDoneRing bounds the ring (in record numbers ahead of the watermark):
// 1<<22 bits are 512 KiB.
const maxDoneRing = 1 << 22

// span is how many record numbers past wm the ring can hold.
func (d *doneSet) span() int64 {
	if len(d.words) == 0 {
		return 0
	}
	return int64(len(d.words)-1) * 64
}

func (d *doneSet) bit(s int64) (w *uint64, m uint64) {
	return &d.words[(s>>6)&int64(len(d.words)-1)], 1 << (uint64(s) & 63)
}

// len returns the number of members.
func (d *doneSet) len() int { return d.n + len(d.far) }

// has reports whether s (> wm) is a member.
func (d *doneSet) has(s int64) bool {
	if i := s - d.wm; i > 0 && i <= d.span() {
		if w, m := d.bit(s); *w&m != 0 {
			return true
		}
	}
	if len(d.far) > 0 {
		_, ok := d.far[s]
		return ok
	}
	return false
}

// add adds s (> wm); it returns false when s was a member already.
func (d *doneSet) add(s int64) bool {
	if d.has(s) {
		return false
	}
	i := s - d.wm
	if i > d.span() && i <= maxDoneRing {
		d.grow(i)
	}
	if i > 0 && i <= d.span() {
		w, m := d.bit(s)
		*w |= m
		d.n++
		return true
	}
	if d.far == nil {
		d.far = map[int64]struct{}{}
	}
	d.far[s] = struct{}{}
	return true
}

// grow makes the ring hold record numbers up to wm+i.
func (d *doneSet) grow(i int64) {
	size := max(len(d.words), 16)
	for int64(size-1)*64 < i {
		size *= 2
	}
	old := d.words
	d.words = make([]uint64, size)
	if d.n == 0 {
		return
	}
	// Members keep their bits, re-addressed for the larger ring.
	nw := d.words
	d.words = old
	d.eachRing(func(s int64) {
		nw[(s>>6)&int64(len(nw)-1)] |= 1 << (uint64(s) & 63)
	})
	d.words = nw
}

// advance moves wm (the lineage's watermark, every record up to it
// terminal) past the members that follow it, removing them, and returns
// the new watermark. Callers set wm first when it moved on its own.
func (d *doneSet) advance(wm int64) int64 {
	if wm < d.wm {
		wm = d.wm
	}
	if d.n == 0 {
		// Nothing in the ring: its bits are all clear, valid from any wm.
		d.wm = wm
		if len(d.far) > 0 {
			for {
				if _, ok := d.far[wm+1]; !ok {
					break
				}
				delete(d.far, wm+1)
				wm++
			}
			d.wm = wm
		}
		return wm
	}
	d.wm = wm
	for {
		s := wm + 1
		if d.n > 0 {
			w, _ := d.bit(s)
			sh := uint64(s) & 63
			run := bits.TrailingZeros64(^(*w >> sh))
			if avail := 64 - int(sh); run > avail {
				run = avail
			}
			if run > 0 {
				// Clear the run's bits: the ring past the watermark
				// must hold members only.
				var mask uint64
				if run == 64 {
					mask = ^uint64(0)
				} else {
					mask = (1<<uint64(run) - 1) << sh
				}
				*w &^= mask
				d.n -= run
				wm += int64(run)
				d.wm = wm
				continue
			}
		}
		if len(d.far) > 0 {
			if _, ok := d.far[s]; ok {
				delete(d.far, s)
				wm++
				d.wm = wm
				continue
			}
		}
		return wm
	}
}

// eachRing calls f for the ring's members, in increasing order.
func (d *doneSet) eachRing(f func(s int64)) {
	if d.n == 0 {
		return
	}
	end := d.wm + d.span()
	for s := d.wm + 1; s <= end; {
		w, _ := d.bit(s)
		sh := uint64(s) & 63
		for v := *w >> sh; v != 0; v &= v - 1 {
			if m := s + int64(bits.TrailingZeros64(v)); m <= end {
				f(m)
			}
		}
		s += int64(64 - sh)
	}
}

// sorted returns the members in increasing order.
func (d *doneSet) sorted() []int64 {
	out := make([]int64, 0, d.len())
	d.eachRing(func(s int64) { out = append(out, s) })
	if len(d.far) > 0 {
		for s := range d.far {
			out = append(out, s)
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	}
	return out
}

// maxMember returns the highest member, or 0 when the set is empty.
func (d *doneSet) maxMember() int64 {
	var m int64
	d.eachRing(func(s int64) { m = s })
	for s := range d.far {
		m = max(m, s)
	}
	return m
}

// statusCounts counts records by status code: an array for the codes a
// record usually ends with (0, HTTP statuses), a map for any other, so
// counting a record does not hash its code.
type statusCounts struct {
	low   [600]int64
	other map[int]int64
}

func (c *statusCounts) add(code int, n int64) {
	if code >= 0 && code < len(c.low) {
		c.low[code] += n
		return
	}
	if c.other == nil {
		c.other = map[int]int64{}
	}
	c.other[code] += n
}

// export returns the counts as a map of the codes counted (a checkpoint's
// and a result's StatusCodes).
func (c *statusCounts) export() map[int]int64 {
	m := make(map[int]int64, len(c.other)+2)
	for k, v := range c.low {
		if v != 0 {
			m[k] = v
		}
	}
	for k, v := range c.other {
		m[k] = v
	}
	return m
}
