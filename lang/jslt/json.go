package jslt

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/connectplus/connectplus/jsonv"
)

// AppendJSON appends the compact JSON encoding of v as the reference
// implementation (Jackson) writes it. It differs from jsonv.Append in the
// number format: decimals keep a fraction or exponent (2.0, 1.5E10, 1.0E-5),
// because JSLT distinguishes 2 from 2.0; NaN and infinities are written as
// the strings "NaN", "Infinity" and "-Infinity" (Jackson's default).
func AppendJSON(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		if x {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case string:
		return appendString(dst, x)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case float64:
		return appendDouble(dst, x, true)
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendJSON(dst, e)
		}
		return append(dst, ']')
	case *jsonv.Object:
		if x == nil {
			return append(dst, "null"...)
		}
		dst = append(dst, '{')
		for i, m := range x.Members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, m.Key)
			dst = append(dst, ':')
			dst = AppendJSON(dst, m.Value)
		}
		return append(dst, '}')
	}
	if v == undefined {
		return append(dst, "null"...)
	}
	return AppendJSON(dst, jsonv.FromGo(v))
}

// AppendJSONIndent appends v formatted like Jackson's default pretty
// printer, which the reference CLI uses: objects one member per line with
// two-space indentation and " : " after keys, arrays on one line
// ("[ 1, 2 ]"), empty containers as "[ ]" and "{ }".
func AppendJSONIndent(dst []byte, v any) []byte {
	return appendPretty(dst, v, 0)
}

func appendPretty(dst []byte, v any, nesting int) []byte {
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return append(dst, "[ ]"...)
		}
		dst = append(dst, "[ "...)
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendPretty(dst, e, nesting)
		}
		return append(dst, " ]"...)
	case *jsonv.Object:
		if x.Len() == 0 {
			return append(dst, "{ }"...)
		}
		dst = append(dst, '{')
		for i, m := range x.Members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendNewline(dst, nesting+1)
			dst = appendString(dst, m.Key)
			dst = append(dst, " : "...)
			dst = appendPretty(dst, m.Value, nesting+1)
		}
		dst = appendNewline(dst, nesting)
		return append(dst, '}')
	}
	return AppendJSON(dst, v)
}

func appendNewline(dst []byte, nesting int) []byte {
	dst = append(dst, '\n')
	for i := 0; i < nesting; i++ {
		dst = append(dst, ' ', ' ')
	}
	return dst
}

// appendDouble writes f as Java's Double.toString does (which is what
// Jackson uses): plain notation with at least one fractional digit for
// 1e-3 <= |f| < 1e7, otherwise d.dddE[-]n. quote wraps the non-finite
// values in quotes, as Jackson does in JSON output.
func appendDouble(dst []byte, f float64, quote bool) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		s := "NaN"
		if math.IsInf(f, 1) {
			s = "Infinity"
		} else if math.IsInf(f, -1) {
			s = "-Infinity"
		}
		if quote {
			return append(append(append(dst, '"'), s...), '"')
		}
		return append(dst, s...)
	}
	if f == 0 {
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		start := len(dst)
		dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
		for _, c := range dst[start:] {
			if c == '.' {
				return dst
			}
		}
		return append(dst, ".0"...)
	}
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	// s is like "-1.5e+10" or "1e-05": split mantissa and exponent.
	e := 0
	for i, c := range s {
		if c == 'e' {
			e = i
			break
		}
	}
	mant, exp := s[:e], s[e+1:]
	dst = append(dst, mant...)
	hasDot := false
	for _, c := range mant {
		if c == '.' {
			hasDot = true
		}
	}
	if !hasDot {
		dst = append(dst, ".0"...)
	}
	dst = append(dst, 'E')
	if exp[0] == '-' {
		dst = append(dst, '-')
	}
	exp = exp[1:]
	for len(exp) > 1 && exp[0] == '0' {
		exp = exp[1:]
	}
	return append(dst, exp...)
}

const hexDigits = "0123456789ABCDEF"

// appendString quotes s the way Jackson does: the two-character escapes
// for \" \\ \b \f \n \r \t, \u00XX for other control characters, and
// everything else (including non-ASCII) verbatim. Invalid UTF-8 becomes
// U+FFFD, which is what Java would hold after decoding.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, "\uFFFD"...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		if b >= 0x20 && b != '"' && b != '\\' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch b {
		case '"', '\\':
			dst = append(dst, '\\', b)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
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
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
