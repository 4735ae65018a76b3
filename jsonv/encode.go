package jsonv

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

const hexDigits = "0123456789abcdef"

// safe[b] is true for ASCII bytes that need no escaping inside a JSON string.
var safe = func() (t [utf8.RuneSelf]bool) {
	for i := 0x20; i < utf8.RuneSelf; i++ {
		t[i] = i != '"' && i != '\\'
	}
	return t
}()

// AppendString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD so the output is always valid JSON, and U+2028/U+2029 are escaped so
// the output is also safe to embed in JavaScript.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain bytes at a time: most keys and CSV values need
		// no escaping, and the per-byte table walk was the largest share of
		// encoding a record.
		for i+8 <= len(s) && plain8(s[i:i+8]) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if safe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Plain reports whether AppendString would copy s unchanged between its
// quotes: ASCII only, no control byte, '"' or '\\'. It reads eight bytes at
// a time and tests once at the end (the result of a whole line is what the
// callers need; lines are rarely not plain).
func Plain(s string) bool {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	// (x - n*ones) &^ x has some byte's high bit set exactly when some byte
	// of x is below n (n <= 0x80; a borrow starts only at such a byte); a
	// byte equal to c is a zero byte of x ^ c*ones. The high bits of a word
	// itself are its non-ASCII bytes.
	bad := func(w uint64) uint64 {
		q := w ^ '"'*ones
		e := w ^ '\\'*ones
		return w | (w-0x20*ones)&^w | (q-ones)&^q | (e-ones)&^e
	}
	var acc uint64
	i := 0
	for ; i+16 <= len(b); i += 16 {
		c := b[i : i+16 : i+16]
		acc |= bad(binary.LittleEndian.Uint64(c)) | bad(binary.LittleEndian.Uint64(c[8:]))
	}
	if i+8 <= len(b) {
		acc |= bad(binary.LittleEndian.Uint64(b[i : i+8]))
		i += 8
	}
	if acc&highs != 0 {
		return false
	}
	for ; i < len(b); i++ {
		if c := b[i]; c >= utf8.RuneSelf || !safe[c] {
			return false
		}
	}
	return true
}

// plain8 reports whether the first 8 bytes of s (len(s) >= 8) are all
// ASCII that JSON strings carry unescaped, with word arithmetic as Plain.
func plain8(s string) bool {
	w := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s), 8))
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := w ^ '"'*ones
	e := w ^ '\\'*ones
	return (w|(w-0x20*ones)&^w|(q-ones)&^q|(e-ones)&^e)&highs == 0
}

// AppendFloat appends f the way JavaScript and encoding/json print numbers:
// shortest round-trip form, exponent only for very large or small values.
// NaN and infinities are not JSON; they become null.
func AppendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// Append appends the compact JSON encoding of v.
func Append(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		if x {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case string:
		return AppendString(dst, x)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case float64:
		return AppendFloat(dst, x)
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = Append(dst, e)
		}
		return append(dst, ']')
	case *Object:
		if x == nil {
			return append(dst, "null"...)
		}
		dst = append(dst, '{')
		for i, m := range x.Members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, m.Key)
			dst = append(dst, ':')
			dst = Append(dst, m.Value)
		}
		return append(dst, '}')
	case RawJSON:
		return append(dst, x...)
	}
	return Append(dst, FromGo(v))
}

// RawJSON is pre-encoded JSON that Append copies verbatim. The producer
// guarantees validity.
type RawJSON []byte

// Marshal returns the compact JSON encoding of v.
func Marshal(v any) []byte { return Append(nil, v) }

// AppendIndent appends an indented encoding of v (for humans: CLI --pretty).
func AppendIndent(dst []byte, v any, prefix, indent string) []byte {
	return appendIndent(dst, v, prefix, indent, 0)
}

func appendIndent(dst []byte, v any, prefix, indent string, depth int) []byte {
	nl := func(d int) {
		dst = append(dst, '\n')
		dst = append(dst, prefix...)
		for i := 0; i < d; i++ {
			dst = append(dst, indent...)
		}
	}
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return append(dst, "[]"...)
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			nl(depth + 1)
			dst = appendIndent(dst, e, prefix, indent, depth+1)
		}
		nl(depth)
		return append(dst, ']')
	case *Object:
		if x.Len() == 0 {
			return append(dst, "{}"...)
		}
		dst = append(dst, '{')
		for i, m := range x.Members {
			if i > 0 {
				dst = append(dst, ',')
			}
			nl(depth + 1)
			dst = AppendString(dst, m.Key)
			dst = append(dst, ':', ' ')
			dst = appendIndent(dst, m.Value, prefix, indent, depth+1)
		}
		nl(depth)
		return append(dst, '}')
	}
	return Append(dst, v)
}
