package nifiel

import (
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
)

// translateJavaRegex rewrites the java.util.regex syntax NiFi users write
// into RE2 syntax, and rejects constructs RE2 cannot run (lookaround,
// backreferences) with a clear message rather than a confusing parse error.
func translateJavaRegex(p string) (string, error) {
	var b strings.Builder
	inClass := 0 // depth of '[' (only 1 is valid in RE2)
	// lastQuant is set right after a quantifier, where a '+' makes it
	// possessive (dropped: RE2 never backtracks) and a '?' makes it lazy.
	lastQuant := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		wasQuant := lastQuant
		lastQuant = false
		switch {
		case c == '\\':
			if i+1 >= len(p) {
				return "", fmt.Errorf("unexpected trailing backslash")
			}
			n := p[i+1]
			i++
			switch {
			case n == 'Q':
				end := strings.Index(p[i+1:], `\E`)
				lit := p[i+1:]
				if end >= 0 {
					lit = p[i+1 : i+1+end]
					i += end + 2
				} else {
					i = len(p)
				}
				b.WriteString(regexp.QuoteMeta(lit))
			case n == 'p' || n == 'P':
				name, adv, err := javaPropertyName(p[i+1:])
				if err != nil {
					return "", err
				}
				i += adv
				b.WriteString(translateProperty(n == 'P', name, inClass > 0))
			case n == 'h':
				if inClass > 0 {
					b.WriteString(`\t \x{A0}\x{1680}\x{180e}\x{2000}-\x{200a}\x{202f}\x{205f}\x{3000}`)
				} else {
					b.WriteString(`[\t \x{A0}\x{1680}\x{180e}\x{2000}-\x{200a}\x{202f}\x{205f}\x{3000}]`)
				}
			case n == 'R' && inClass == 0:
				b.WriteString(`(?:\r\n|[\n\x0B\f\r\x{85}\x{2028}\x{2029}])`)
			case n == 'e':
				b.WriteString(`\x1B`)
			case n == 'Z' && inClass == 0:
				b.WriteString(`(?:\n?\z)`)
			case n == 'c':
				if i+1 >= len(p) {
					return "", fmt.Errorf("illegal control escape sequence")
				}
				i++
				fmt.Fprintf(&b, `\x{%x}`, p[i]^64)
			case n == '0':
				j := i + 1
				for j < len(p) && j < i+4 && p[j] >= '0' && p[j] <= '7' {
					j++
				}
				if j == i+1 {
					return "", fmt.Errorf("illegal octal escape sequence")
				}
				v := 0
				for _, d := range p[i+1 : j] {
					v = v*8 + int(d-'0')
				}
				if v > 0377 {
					j--
					v /= 8
				}
				fmt.Fprintf(&b, `\x{%x}`, v)
				i = j - 1
			case n >= '1' && n <= '9' && inClass == 0:
				return "", fmt.Errorf("backreference \\%c is not supported (RE2 engine)", n)
			case n == 'k':
				return "", fmt.Errorf("named backreference \\k is not supported (RE2 engine)")
			case n == 'G':
				return "", fmt.Errorf("\\G is not supported (RE2 engine)")
			default:
				b.WriteByte('\\')
				b.WriteByte(n)
			}
		case c == '[':
			if inClass > 0 {
				if strings.HasPrefix(p[i:], "[:") {
					b.WriteByte(c)
					continue
				}
				return "", fmt.Errorf("nested character classes are not supported (RE2 engine)")
			}
			inClass++
			b.WriteByte(c)
			// A ']' right after '[' or '[^' is literal in both dialects.
			if strings.HasPrefix(p[i+1:], "^") {
				b.WriteByte('^')
				i++
			}
			if strings.HasPrefix(p[i+1:], "]") {
				b.WriteString(`\]`)
				i++
			}
		case c == ']' && inClass > 0:
			inClass--
			b.WriteByte(c)
		case c == '&' && inClass > 0 && strings.HasPrefix(p[i:], "&&"):
			return "", fmt.Errorf("character class intersection '&&' is not supported (RE2 engine)")
		case c == '(' && inClass == 0 && strings.HasPrefix(p[i:], "(?"):
			rest := p[i+2:]
			switch {
			case strings.HasPrefix(rest, ">"):
				b.WriteString("(?:") // atomic group: same matches in the absence of backtracking control
				i += 2
			case strings.HasPrefix(rest, "="), strings.HasPrefix(rest, "!"),
				strings.HasPrefix(rest, "<="), strings.HasPrefix(rest, "<!"):
				return "", fmt.Errorf("lookahead and lookbehind are not supported (RE2 engine)")
			case strings.HasPrefix(rest, "<"), strings.HasPrefix(rest, "P<"), strings.HasPrefix(rest, ":"):
				b.WriteString("(?")
				i++
			default:
				flags, n, err := translateFlags(rest)
				if err != nil {
					return "", err
				}
				b.WriteString("(?")
				b.WriteString(flags)
				i += 1 + n
			}
		case c == '+' && inClass == 0 && wasQuant:
			// Possessive quantifier (x*+): drop the '+'.
		case (c == '*' || c == '+' || c == '?') && inClass == 0:
			b.WriteByte(c)
			lastQuant = !(c == '?' && wasQuant)
		case c == '{' && inClass == 0 && countedRepeat.MatchString(p[i:]):
			m := countedRepeat.FindString(p[i:])
			b.WriteString(m)
			i += len(m) - 1
			lastQuant = true
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// countedRepeat matches a {n}, {n,} or {n,m} quantifier.
var countedRepeat = regexp.MustCompile(`^\{\d+(,\d*)?\}`)

// translateFlags converts an inline flag group body such as "i)" or "is:"
// and returns the RE2 flags text including its terminator.
func translateFlags(rest string) (string, int, error) {
	end := strings.IndexAny(rest, ":)")
	if end < 0 {
		return "", 0, fmt.Errorf("unterminated inline flag group")
	}
	var b strings.Builder
	for _, f := range rest[:end] {
		switch f {
		case 'i', 'm', 's', '-':
			b.WriteRune(f)
		case 'u', 'd', 'U':
			// Unicode case folding, Unix lines and Unicode classes have no
			// RE2 equivalent worth failing over.
		case 'x':
			return "", 0, fmt.Errorf("comments mode (?x) is not supported (RE2 engine)")
		default:
			return "", 0, fmt.Errorf("unknown inline flag %q", f)
		}
	}
	flags := b.String()
	if flags == "" || flags == "-" {
		// An empty flag group is a no-op; emit a non-capturing group or nothing.
		if rest[end] == ':' {
			return ":", end + 1, nil
		}
		return "", end + 1, errEmptyFlags
	}
	return flags + string(rest[end]), end + 1, nil
}

var errEmptyFlags = fmt.Errorf("empty inline flag group")

func javaPropertyName(s string) (string, int, error) {
	if s == "" {
		return "", 0, fmt.Errorf("illegal \\p escape")
	}
	if s[0] != '{' {
		return s[:1], 1, nil
	}
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return "", 0, fmt.Errorf("unclosed \\p{...} property")
	}
	return s[1:end], end + 1, nil
}

// translateProperty maps Java's \p{...} names to RE2.
func translateProperty(negate bool, name string, inClass bool) string {
	posix := map[string]string{
		"Lower": "lower", "Upper": "upper", "ASCII": "ascii", "Alpha": "alpha", "Digit": "digit",
		"Alnum": "alnum", "Punct": "punct", "Graph": "graph", "Print": "print", "Blank": "blank",
		"Cntrl": "cntrl", "XDigit": "xdigit", "Space": "space",
	}
	unicode := map[string]string{
		"javaLowerCase": "Ll", "javaUpperCase": "Lu", "IsAlphabetic": "L", "IsLetter": "L",
		"IsDigit": "Nd", "IsUppercase": "Lu", "IsLowercase": "Ll", "IsPunctuation": "P",
		"IsWhite_Space": "Zs", "javaWhitespace": "Z",
	}
	if pc, ok := posix[name]; ok {
		neg := ""
		if negate {
			neg = "^"
		}
		if inClass {
			return "[:" + neg + pc + ":]"
		}
		return "[[:" + neg + pc + ":]]"
	}
	if u, ok := unicode[name]; ok {
		name = u
	}
	for _, prefix := range []string{"Is", "In"} {
		if strings.HasPrefix(name, prefix) && len(name) > 2 {
			name = name[2:]
		}
	}
	name = strings.TrimPrefix(name, "general_category=")
	name = strings.TrimPrefix(name, "gc=")
	name = strings.TrimPrefix(name, "script=")
	name = strings.TrimPrefix(name, "sc=")
	if negate {
		return `\P{` + name + `}`
	}
	return `\p{` + name + `}`
}

// compileJavaRegex compiles a Java regular expression; anchored requires the
// whole input to match, as Java's String.matches does.
func compileJavaRegex(p string, anchored bool) (*regexp.Regexp, error) {
	t, err := translateJavaRegex(p)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", p, err)
	}
	if anchored {
		t = `\A(?:` + t + `)\z`
	}
	re, err := regexp.Compile(t)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", p, err)
	}
	return re, nil
}

type regexCache struct {
	src string
	re  *regexp.Regexp
}

// regexArg compiles a regex argument once when it is a literal (so an
// invalid literal is a compile error) and otherwise caches the most recent
// pattern, which is usually the same on every evaluation.
func (c *call) regexArg(i int, anchored bool) (func(e env) (*regexp.Regexp, error), error) {
	return c.regexArgNull(i, anchored, false)
}

// regexArgNull is regexArg; with nullable, a null pattern yields a nil
// Regexp rather than the empty pattern.
func (c *call) regexArgNull(i int, anchored, nullable bool) (func(e env) (*regexp.Regexp, error), error) {
	if k, ok := c.args[i].(*constNode); ok {
		re, err := compileJavaRegex(k.s, anchored)
		if err != nil {
			return nil, err
		}
		return func(env) (*regexp.Regexp, error) { return re, nil }, nil
	}
	arg := c.str(i)
	at := c.site
	var last atomic.Pointer[regexCache]
	return func(e env) (*regexp.Regexp, error) {
		s, ok, err := arg.str(e)
		if err != nil || (!ok && nullable) {
			return nil, err
		}
		if rc := last.Load(); rc != nil && rc.src == s {
			return rc.re, nil
		}
		re, err := compileJavaRegex(s, anchored)
		if err != nil {
			return nil, at.fail(err)
		}
		last.Store(&regexCache{src: s, re: re})
		return re, nil
	}, nil
}

func buildRegexMatch(whole bool) func(*call) (node, error) {
	return func(c *call) (node, error) {
		sub := c.subjStr()
		// A null pattern matches nothing, as NiFi's MatchesEvaluator and
		// FindEvaluator.
		re, err := c.regexArgNull(0, whole, true)
		if err != nil {
			return nil, err
		}
		return boolNodeOf(func(e env) (bool, bool, error) {
			s, ok, err := sub.str(e)
			if err != nil || !ok {
				return false, err == nil, err
			}
			r, err := re(e)
			if err != nil || r == nil {
				return false, err == nil, err
			}
			return r.MatchString(s), true, nil
		}), nil
	}
}

func buildReplaceRegex(all bool) func(*call) (node, error) {
	return func(c *call) (node, error) {
		sub, repl := c.subjStr(), c.str(1)
		re, err := c.regexArg(0, false)
		if err != nil {
			return nil, err
		}
		max := c.c.cfg.maxResult
		at := c.site
		return strNodeOf(func(e env) (string, bool, error) {
			s, ok, err := sub.str(e)
			if err != nil || !ok {
				return "", false, err
			}
			r, err := re(e)
			if err != nil {
				return "", false, err
			}
			rp, _, err := repl.str(e)
			if err != nil {
				return "", false, err
			}
			n := -1
			if !all {
				n = 1
			}
			out, err := javaReplace(r, s, rp, n, max)
			if err != nil {
				return "", false, at.fail(err)
			}
			return out, true, nil
		}), nil
	}
}

// javaReplace replaces up to n matches (all when n < 0) using Java's
// replacement syntax: $1, ${name} and backslash escapes.
func javaReplace(re *regexp.Regexp, s, repl string, n, max int) (string, error) {
	matches := re.FindAllStringSubmatchIndex(s, n)
	if len(matches) == 0 {
		return s, nil
	}
	var dst []byte
	last := 0
	for _, m := range matches {
		dst = append(dst, s[last:m[0]]...)
		var err error
		if dst, err = appendJavaReplacement(dst, re, s, m, repl); err != nil {
			return "", err
		}
		if len(dst) > max {
			return "", fmt.Errorf("result exceeds %d bytes: %w", max, ErrResultTooLarge)
		}
		last = m[1]
	}
	dst = append(dst, s[last:]...)
	return string(dst), nil
}

func appendJavaReplacement(dst []byte, re *regexp.Regexp, src string, m []int, repl string) ([]byte, error) {
	groups := re.NumSubexp()
	group := func(g int) {
		if m[2*g] >= 0 {
			dst = append(dst, src[m[2*g]:m[2*g+1]]...)
		}
	}
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		switch c {
		case '\\':
			i++
			if i >= len(repl) {
				return nil, fmt.Errorf("character to be escaped is missing in replacement %q", repl)
			}
			dst = append(dst, repl[i])
		case '$':
			i++
			if i >= len(repl) {
				return nil, fmt.Errorf("illegal group reference: group index is missing in replacement %q", repl)
			}
			if repl[i] == '{' {
				end := strings.IndexByte(repl[i:], '}')
				if end < 0 {
					return nil, fmt.Errorf("named capturing group is missing trailing '}' in replacement %q", repl)
				}
				name := repl[i+1 : i+end]
				g := re.SubexpIndex(name)
				if g < 0 {
					return nil, fmt.Errorf("no group with name {%s}", name)
				}
				group(g)
				i += end
				continue
			}
			if repl[i] < '0' || repl[i] > '9' {
				return nil, fmt.Errorf("illegal group reference in replacement %q", repl)
			}
			g := int(repl[i] - '0')
			if g > groups {
				return nil, fmt.Errorf("no group %d", g)
			}
			// Java takes further digits only while they name an existing group.
			for i+1 < len(repl) && repl[i+1] >= '0' && repl[i+1] <= '9' {
				ng := g*10 + int(repl[i+1]-'0')
				if ng > groups {
					break
				}
				g = ng
				i++
			}
			group(g)
		default:
			dst = append(dst, c)
		}
	}
	return dst, nil
}
