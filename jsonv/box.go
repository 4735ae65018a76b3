package jsonv

import "unsafe"

// emptyString is the template whose type word BoxString reuses.
var emptyString any = ""

// BoxString returns any(*p) without allocating: the interface points at the
// string header *p instead of a fresh copy of it. Converting a string to an
// interface normally allocates 16 bytes; for CSV rows turned into objects
// that is one allocation per field, the largest allocation cost of the
// record path. The caller must never modify *p afterwards (the interface
// shares it); the garbage collector keeps *p's array alive through the
// interface, as for any interior pointer.
func BoxString(p *string) any {
	v := emptyString
	(*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1] = unsafe.Pointer(p)
	return v
}

// emptyRaw is the template whose type word BoxRawJSON reuses.
var emptyRaw any = RawJSON(nil)

// BoxRawJSON returns any(*p) without allocating, as BoxString does for
// strings: a batch's pre-encoded records can share one slice of RawJSON
// headers instead of boxing each. The caller must never modify *p
// afterwards.
func BoxRawJSON(p *RawJSON) any {
	v := emptyRaw
	(*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1] = unsafe.Pointer(p)
	return v
}
