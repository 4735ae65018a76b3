package jsonpath

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// compileIRegexp translates an I-Regexp (RFC 9485) into Go RE2 syntax and
// compiles it. full anchors the pattern for match(); search() looks for a
// substring.
//
// The translation matters in two places: I-Regexp's '.' excludes only \n
// and \r (Go's excludes only \n), and Go extensions such as (?i), lazy
// quantifiers or \d must be rejected rather than silently accepted, because
// an invalid pattern makes match/search return false. '^' and '$' are passed
// through as anchors, which is what the compliance test suite expects.
func compileIRegexp(pat string, full bool) (*regexp.Regexp, error) {
	t, err := translateIRegexp(pat)
	if err != nil {
		return nil, err
	}
	if full {
		t = `^(?:` + t + `)$`
	}
	re, err := regexp.Compile(t)
	if err != nil {
		return nil, fmt.Errorf("i-regexp %q: %w", pat, err)
	}
	return re, nil
}

var errIRegexp = errors.New("not a valid I-Regexp")

func translateIRegexp(p string) (string, error) {
	var b strings.Builder
	quantifiable := false
	depth := 0
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRuneInString(p[i:])
		if r == utf8.RuneError && n <= 1 {
			return "", errIRegexp
		}
		switch r {
		case '.':
			b.WriteString(`[^\n\r]`)
			i += n
			quantifiable = true
		case '\\':
			esc, l, err := iEscape(p[i:])
			if err != nil {
				return "", err
			}
			b.WriteString(esc)
			i += l
			quantifiable = true
		case '[':
			cls, l, err := iClass(p[i:])
			if err != nil {
				return "", err
			}
			b.WriteString(cls)
			i += l
			quantifiable = true
		case '(':
			if strings.HasPrefix(p[i+1:], "?") {
				return "", errIRegexp
			}
			depth++
			b.WriteByte('(')
			i++
			quantifiable = false
		case ')':
			depth--
			if depth < 0 {
				return "", errIRegexp
			}
			b.WriteByte(')')
			i++
			quantifiable = true
		case '|':
			b.WriteByte('|')
			i++
			quantifiable = false
		case '*', '+', '?':
			if !quantifiable {
				return "", errIRegexp
			}
			b.WriteRune(r)
			i++
			quantifiable = false
		case '{':
			if !quantifiable {
				return "", errIRegexp
			}
			j := i + 1
			digits := func() int {
				s := j
				for j < len(p) && p[j] >= '0' && p[j] <= '9' {
					j++
				}
				return j - s
			}
			if digits() == 0 {
				return "", errIRegexp
			}
			if j < len(p) && p[j] == ',' {
				j++
				digits()
			}
			if j >= len(p) || p[j] != '}' {
				return "", errIRegexp
			}
			j++
			b.WriteString(p[i:j])
			i = j
			quantifiable = false
		case ']', '}':
			return "", errIRegexp
		default:
			b.WriteString(p[i : i+n])
			i += n
			quantifiable = r != '^' && r != '$'
		}
	}
	if depth != 0 {
		return "", errIRegexp
	}
	return b.String(), nil
}

// iEscape translates one escape (SingleCharEsc, \p{..} or \P{..}) and
// returns its length in the source.
func iEscape(s string) (string, int, error) {
	if len(s) < 2 {
		return "", 0, errIRegexp
	}
	switch c := s[1]; c {
	case '(', ')', '*', '+', '-', '.', '?', '[', '\\', ']', '^', '{', '|', '}', 'n', 'r', 't':
		return s[:2], 2, nil
	case 'p', 'P':
		end := strings.IndexByte(s, '}')
		if len(s) < 4 || s[2] != '{' || end < 0 {
			return "", 0, errIRegexp
		}
		prop := s[3:end]
		if !isIRegexpCategory(prop) {
			return "", 0, errIRegexp
		}
		return s[:end+1], end + 1, nil
	}
	return "", 0, errIRegexp
}

// isIRegexpCategory accepts the Unicode general categories I-Regexp allows
// (IsCategory in RFC 9485), rejecting Go-only names such as scripts.
func isIRegexpCategory(p string) bool {
	switch p {
	case "L", "Lu", "Ll", "Lt", "Lm", "Lo",
		"M", "Mn", "Mc", "Me",
		"N", "Nd", "Nl", "No",
		"P", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po",
		"Z", "Zs", "Zl", "Zp",
		"S", "Sm", "Sc", "Sk", "So",
		"C", "Cc", "Cf", "Co", "Cn":
		return true
	}
	return false
}

// iClass translates a character class expression "[...]".
func iClass(s string) (string, int, error) {
	var b strings.Builder
	b.WriteByte('[')
	i := 1
	if i < len(s) && s[i] == '^' {
		b.WriteByte('^')
		i++
	}
	items := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch r {
		case ']':
			if items == 0 {
				return "", 0, errIRegexp
			}
			b.WriteByte(']')
			return b.String(), i + 1, nil
		case '[':
			return "", 0, errIRegexp
		case '\\':
			esc, l, err := iEscape(s[i:])
			if err != nil {
				return "", 0, err
			}
			b.WriteString(esc)
			i += l
		default:
			b.WriteString(s[i : i+n])
			i += n
		}
		items++
	}
	return "", 0, errIRegexp
}
