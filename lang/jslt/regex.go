package jslt

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// maxCachedRegexes bounds the per-Expr cache of dynamic regular
// expressions, as the reference's BoundedCache(1000) does, so that queries
// building patterns from data cannot grow memory without limit.
const maxCachedRegexes = 1000

type regexEntry struct {
	re     *regexp.Regexp
	groups []string // named groups, sorted (capture() reports them in this order)
}

// regexCache caches compiled expressions for one Expr (and its modules).
// Reads are lock-free; it only grows.
type regexCache struct {
	m sync.Map // string -> *regexEntry
	n atomic.Int32
}

func newRegexCache() *regexCache { return &regexCache{} }

func (rc *regexCache) compile(src string, p pos) *regexEntry {
	if e, ok := rc.m.Load(src); ok {
		return e.(*regexEntry)
	}
	goSrc, err := translateRegex(src)
	var re *regexp.Regexp
	if err == nil {
		re, err = regexp.Compile(goSrc)
	}
	if err != nil {
		e := p.errorf("Syntax error in regular expression '%s': %v", src, err)
		e.Err = err
		panic(e)
	}
	e := &regexEntry{re: re, groups: namedGroups(src)}
	if rc.n.Load() < maxCachedRegexes {
		if _, loaded := rc.m.LoadOrStore(src, e); !loaded {
			rc.n.Add(1)
		}
	}
	return e
}

// namedGroups finds (?<name>...) groups the way the reference does: with a
// regular expression over the pattern, accepting [a-zA-Z][a-zA-Z0-9]* names.
var groupName = regexp.MustCompile(`\(\?<([a-zA-Z][a-zA-Z0-9]*)>`)

func namedGroups(src string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range groupName.FindAllStringSubmatch(src, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}

type regexError string

func (e regexError) Error() string { return string(e) }

// javaSpace is Java's \s: RE2's \s lacks the vertical tab.
const javaSpace = `\t\n\x0B\f\r `

// translateRegex rewrites a java.util.regex pattern into RE2 syntax.
// Constructs with the same meaning pass through; Java-only syntax with an
// RE2 equivalent is rewritten (\h, \v, \R, \e, \Q..\E, POSIX \p{Alpha},
// possessive quantifiers and atomic groups, which only differ from greedy
// ones in backtracking cost); constructs RE2 cannot express (lookaround,
// backreferences, class intersection, \G, (?x)) are errors.
func translateRegex(src string) (string, error) {
	var b strings.Builder
	inClass := false
	classStart := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\\':
			if i+1 >= len(src) {
				return "", regexError("trailing backslash")
			}
			i++
			e := src[i]
			switch e {
			case 'Q':
				end := strings.Index(src[i+1:], `\E`)
				lit := src[i+1:]
				if end >= 0 {
					lit = src[i+1 : i+1+end]
					i += end + 2
				} else {
					i = len(src)
				}
				b.WriteString(regexp.QuoteMeta(lit))
			case 'h', 'H':
				set := `\t \x{A0}\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}`
				writeClass(&b, set, e == 'H', inClass)
			case 'v', 'V':
				writeClass(&b, `\n\x0B\f\r\x{85}\x{2028}\x{2029}`, e == 'V', inClass)
			case 's':
				writeClass(&b, javaSpace, false, inClass)
			case 'S':
				if inClass {
					b.WriteString(`\S`)
				} else {
					b.WriteString(`[^` + javaSpace + `]`)
				}
			case 'R':
				if inClass {
					return "", regexError(`\R inside a character class`)
				}
				b.WriteString(`(?:\r\n|[\n\x0B\f\r\x{85}\x{2028}\x{2029}])`)
			case 'e':
				b.WriteString(`\x1B`)
			case 'Z':
				b.WriteString(`(?:\n?\z)`)
			case 'u':
				if i+4 >= len(src) {
					return "", regexError(`bad \u escape`)
				}
				if _, err := strconv.ParseUint(src[i+1:i+5], 16, 32); err != nil {
					return "", regexError(`bad \u escape`)
				}
				b.WriteString(`\x{` + src[i+1:i+5] + `}`)
				i += 4
			case 'c':
				if i+1 >= len(src) {
					return "", regexError(`bad \c escape`)
				}
				i++
				b.WriteString(`\x{` + strconv.FormatInt(int64(src[i]^64), 16) + `}`)
			case '0':
				j := i + 1
				for j < len(src) && j < i+4 && src[j] >= '0' && src[j] <= '7' {
					j++
				}
				v, err := strconv.ParseUint(src[i+1:j], 8, 32)
				if err != nil {
					return "", regexError(`bad octal escape`)
				}
				b.WriteString(`\x{` + strconv.FormatUint(v, 16) + `}`)
				i = j - 1
			case 'p', 'P':
				name, n := propertyName(src[i+1:])
				if posix, ok := posixClasses[name]; ok {
					writeClass(&b, posix, e == 'P', inClass)
				} else {
					b.WriteByte('\\')
					b.WriteByte(e)
					b.WriteString(src[i+1 : i+1+n])
				}
				i += n
			case 'G', 'X', 'k':
				return "", regexError(`\` + string(e) + ` is not supported`)
			default:
				if e >= '1' && e <= '9' {
					return "", regexError("backreferences are not supported")
				}
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		case inClass:
			if c == ']' && !classStart {
				inClass = false
			} else if c == '&' && i+1 < len(src) && src[i+1] == '&' {
				return "", regexError("character class intersection is not supported")
			}
			classStart = false
			if c == '^' && i > 0 && src[i-1] == '[' {
				classStart = true
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			classStart = true
			b.WriteByte(c)
		case c == '(' && strings.HasPrefix(src[i:], "(?"):
			rest := src[i+2:]
			switch {
			case strings.HasPrefix(rest, "="), strings.HasPrefix(rest, "!"),
				strings.HasPrefix(rest, "<="), strings.HasPrefix(rest, "<!"):
				return "", regexError("lookaround is not supported")
			case strings.HasPrefix(rest, ">"):
				b.WriteString("(?:")
				i += 2
			default:
				// inline flags: drop the ones RE2 lacks and that change nothing
				// here (u, d); x and RE2's different U are errors.
				j := 0
				for j < len(rest) && strings.IndexByte("imsuxdU-", rest[j]) >= 0 {
					j++
				}
				if j > 0 && j < len(rest) && (rest[j] == ')' || rest[j] == ':') {
					flags := rest[:j]
					if strings.ContainsAny(flags, "xU") {
						return "", regexError("flags (?x) and (?U) are not supported")
					}
					flags = strings.NewReplacer("u", "", "d", "").Replace(flags)
					if flags == "" || flags == "-" {
						if rest[j] == ')' {
							i += 2 + j
							continue
						}
						b.WriteString("(?:")
					} else {
						b.WriteString("(?" + flags + string(rest[j]))
					}
					i += 2 + j
					continue
				}
				b.WriteByte(c)
			}
		case (c == '+') && i > 0 && isQuantifierEnd(src, i-1):
			// possessive quantifier: RE2 never backtracks anyway
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// isQuantifierEnd reports whether src[i] ends a quantifier, so that a
// following '+' makes it possessive.
func isQuantifierEnd(src string, i int) bool {
	c := src[i]
	if i > 0 && src[i-1] == '\\' {
		return false
	}
	if c == '*' || c == '?' || c == '}' {
		return true
	}
	if c == '+' {
		return i > 0 && !(src[i-1] == '+' && isQuantifierEnd(src, i-1))
	}
	return false
}

func writeClass(b *strings.Builder, set string, negate, inClass bool) {
	switch {
	case inClass && negate:
		// not expressible inside a class without intersection; approximate
		b.WriteString(set)
	case inClass:
		b.WriteString(set)
	case negate:
		b.WriteString("[^" + set + "]")
	default:
		b.WriteString("[" + set + "]")
	}
}

// propertyName parses the {Name} or single letter after \p.
func propertyName(s string) (string, int) {
	if s == "" {
		return "", 0
	}
	if s[0] == '{' {
		if end := strings.IndexByte(s, '}'); end > 0 {
			name := s[1:end]
			name = strings.TrimPrefix(name, "Is")
			return name, end + 1
		}
	}
	return s[:1], 1
}

var posixClasses = map[string]string{
	"Lower": `a-z`, "Upper": `A-Z`, "ASCII": `\x00-\x7F`, "Alpha": `a-zA-Z`,
	"Digit": `0-9`, "Alnum": `a-zA-Z0-9`, "Punct": `!-/:-@\[-` + "`" + `{-~`,
	"Graph": `!-~`, "Print": ` -~`, "Blank": ` \t`, "Cntrl": `\x00-\x1F\x7F`,
	"XDigit": `0-9a-fA-F`, "Space": javaSpace,
	"javaLowerCase": `\p{Ll}`, "javaUpperCase": `\p{Lu}`, "Alphabetic": `\p{L}\p{Nl}`,
	"Letter": `\p{L}`, "Digit_": `\p{Nd}`,
}
