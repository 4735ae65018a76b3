package jolt

import "sort"

// sort (Sortr) orders every object's keys alphabetically, keys starting
// with "~" first; arrays keep their order. It takes no spec.

type sortOp struct{}

func (sortOp) apply(in any) (any, error) { return sortTree(in), nil }

func sortTree(v any) any {
	switch x := v.(type) {
	case *omap:
		keys := x.snapshot()
		sort.SliceStable(keys, func(i, j int) bool {
			a, b := keys[i], keys[j]
			at, bt := len(a) > 0 && a[0] == '~', len(b) > 0 && b[0] == '~'
			if at != bt {
				return at
			}
			return javaLess(a, b)
		})
		m := newMap(len(keys))
		for _, k := range keys {
			m.put(k, sortTree(x.vals[k]))
		}
		return m
	case *list:
		l := &list{a: make([]any, len(x.a))}
		for i, e := range x.a {
			l.a[i] = sortTree(e)
		}
		return l
	}
	return v
}

// javaLess is Java's String.compareTo order (UTF-16 code units).
func javaLess(a, b string) bool {
	ua, ub := utf16Units(a), utf16Units(b)
	for i := 0; i < len(ua) && i < len(ub); i++ {
		if ua[i] != ub[i] {
			return ua[i] < ub[i]
		}
	}
	return len(ua) < len(ub)
}

func utf16Units(s string) []uint16 {
	out := make([]uint16, 0, len(s))
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			out = append(out, uint16(0xD800+(r>>10)), uint16(0xDC00+(r&0x3FF)))
			continue
		}
		out = append(out, uint16(r))
	}
	return out
}
