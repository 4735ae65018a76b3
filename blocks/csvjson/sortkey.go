package csvjson

import (
	"encoding/binary"
	"strings"
)

// Sort keys are byte strings whose bytes.Compare order is the wanted row
// order, so the external sort compares keys without decoding records.
//
// Each column value is encoded, then terminated by 0x00 0x01; a NUL inside a
// value is escaped as 0x00 0xFF, so a shorter value sorts before any longer
// value it prefixes and columns never bleed into each other.
//
// Natural order (alphabeticalSort=false) encodes each run of digits as a
// marker '0', one byte for the count of significant digits, the digits, and
// one byte for the count of leading zeros: BILL9 < BILL10 and "7" < "07"
// (distinct values always get distinct keys, so grouping on exact equality
// is never broken by numeric ties).

func appendKeyValue(dst []byte, v string, natural bool) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == 0:
			dst = append(dst, 0, 0xFF)
		case natural && c >= '0' && c <= '9':
			j := i
			for j < len(v) && v[j] == '0' {
				j++
			}
			zeros := j - i
			k := j
			for k < len(v) && v[k] >= '0' && v[k] <= '9' {
				k++
			}
			digits := v[j:k]
			if len(digits) == 0 && zeros > 0 { // the value zero itself
				digits, zeros = "0", zeros-1
			}
			dst = append(dst, '0', byte(1+min(len(digits), 254)))
			dst = append(dst, digits...)
			dst = append(dst, byte(1+min(zeros, 254)))
			i = k - 1
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, 0, 1)
}

// Records go through the sort as:
//
//	uvarint len(key) | key | uvarint seq | uvarint line | uvarint nfields | (uvarint len | bytes)…
func encodeRecord(dst []byte, key []byte, seq, line int64, cols []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	dst = binary.AppendUvarint(dst, uint64(seq))
	dst = binary.AppendUvarint(dst, uint64(line))
	dst = binary.AppendUvarint(dst, uint64(len(cols)))
	for _, c := range cols {
		dst = binary.AppendUvarint(dst, uint64(len(c)))
		dst = append(dst, c...)
	}
	return dst
}

// recordKey returns the key of an encoded record (a sub-slice: no copy).
func recordKey(rec []byte) []byte {
	n, k := binary.Uvarint(rec)
	return rec[k : k+int(n)]
}

// decoder decodes encoded records, reusing its scratch space.
type decoder struct{ lens []int }

// decode decodes an encoded record; all columns share one string, so a row
// costs two allocations (the string and the column slice).
func (d *decoder) decode(rec []byte) (seq, line int64, cols []string) {
	n, k := binary.Uvarint(rec)
	rec = rec[k+int(n):]
	s, k := binary.Uvarint(rec)
	rec = rec[k:]
	l, k := binary.Uvarint(rec)
	rec = rec[k:]
	nf, k := binary.Uvarint(rec)
	rec = rec[k:]
	d.lens = d.lens[:0]
	total := 0
	r := rec
	for range nf {
		ln, k := binary.Uvarint(r)
		r = r[k+int(ln):]
		d.lens = append(d.lens, int(ln))
		total += int(ln)
	}
	var sb strings.Builder
	sb.Grow(total)
	r = rec
	for _, ln := range d.lens {
		_, k := binary.Uvarint(r)
		sb.Write(r[k : k+ln])
		r = r[k+ln:]
	}
	str := sb.String()
	cols = make([]string, nf)
	off := 0
	for i, ln := range d.lens {
		cols[i] = str[off : off+ln]
		off += ln
	}
	return int64(s), int64(l), cols
}
