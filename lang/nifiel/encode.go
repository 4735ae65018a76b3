package nifiel

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"html"
	"io"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

func randInt64n(n int64) int64 {
	if n <= 0 {
		return 0
	}
	return mrand.Int64N(n)
}

// escapeJSON follows Apache Commons Text StringEscapeUtils.escapeJson: quote,
// backslash and slash are escaped, control characters use their short forms
// or \uXXXX, and everything outside printable ASCII becomes \uXXXX.
func escapeJSON(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '/':
			b.WriteString(`\/`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 32 || r > 0x7f {
				writeUnicodeEscape(&b, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

func writeUnicodeEscape(b *strings.Builder, r rune) {
	if r >= 0x10000 {
		r1, r2 := utf16.EncodeRune(r)
		fmt.Fprintf(b, `\u%04X\u%04X`, r1, r2)
		return
	}
	fmt.Fprintf(b, `\u%04X`, r)
}

// unescapeJSON reverses escapeJSON; unknown escapes are kept as written.
func unescapeJSON(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch n := s[i+1]; n {
		case '"', '\\', '/', '\'':
			b.WriteByte(n)
			i++
		case 'b':
			b.WriteByte('\b')
			i++
		case 'f':
			b.WriteByte('\f')
			i++
		case 'n':
			b.WriteByte('\n')
			i++
		case 'r':
			b.WriteByte('\r')
			i++
		case 't':
			b.WriteByte('\t')
			i++
		case 'u':
			j := i + 1
			for j < len(s) && s[j] == 'u' {
				j++
			}
			if j+4 <= len(s) {
				if v, err := strconv.ParseUint(s[j:j+4], 16, 16); err == nil {
					r := rune(v)
					next := j + 4
					// Join a surrogate pair written as two escapes.
					if utf16.IsSurrogate(r) && next+6 <= len(s) && s[next] == '\\' && s[next+1] == 'u' {
						if v2, err := strconv.ParseUint(s[next+2:next+6], 16, 16); err == nil {
							if d := utf16.DecodeRune(r, rune(v2)); d != utf8.RuneError {
								b.WriteRune(d)
								i = next + 5
								continue
							}
						}
					}
					b.WriteRune(r)
					i = next - 1
					continue
				}
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// escapeXML follows StringEscapeUtils.escapeXml10: the five predefined
// entities, and characters XML 1.0 cannot hold are dropped.
func escapeXML(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&apos;")
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r', r == 0xfffe, r == 0xffff:
		case r >= 0x7f && r <= 0x84, r >= 0x86 && r <= 0x9f:
			fmt.Fprintf(&b, "&#%d;", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

var xmlEntities = map[string]rune{"amp": '&', "lt": '<', "gt": '>', "quot": '"', "apos": '\''}

func unescapeXML(s string) string { return unescapeEntities(s, xmlEntities) }

// escapeCSV follows StringEscapeUtils.escapeCsv: a value containing a comma,
// quote or line break is quoted, with quotes doubled.
func escapeCSV(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// unescapeCSV reverses escapeCSV; a quoted value without special characters
// is returned unchanged, as in Commons Text.
func unescapeCSV(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	inner := s[1 : len(s)-1]
	if !strings.ContainsAny(inner, ",\"\r\n") {
		return s
	}
	return strings.ReplaceAll(inner, `""`, `"`)
}

// iso8859Names are the HTML 3.2 entity names of U+00A0 to U+00FF in order.
const iso8859Names = "nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr " +
	"deg plusmn sup2 sup3 acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest " +
	"Agrave Aacute Acirc Atilde Auml Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml " +
	"ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig " +
	"agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc euml igrave iacute icirc iuml " +
	"eth ntilde ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml"

// html4Names are the further entities HTML 4.0 defines (symbols, Greek
// letters and special characters).
const html4Names = "fnof Alpha Beta Gamma Delta Epsilon Zeta Eta Theta Iota Kappa Lambda Mu Nu Xi Omicron Pi Rho " +
	"Sigma Tau Upsilon Phi Chi Psi Omega alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu " +
	"xi omicron pi rho sigmaf sigma tau upsilon phi chi psi omega thetasym upsih piv bull hellip prime Prime " +
	"oline frasl weierp image real trade alefsym larr uarr rarr darr harr crarr lArr uArr rArr dArr hArr " +
	"forall part exist empty nabla isin notin ni prod sum minus lowast radic prop infin ang and or cap cup " +
	"int there4 sim cong asymp ne equiv le ge sub sup nsub sube supe oplus otimes perp sdot lceil rceil " +
	"lfloor rfloor lang rang loz spades clubs hearts diams OElig oelig Scaron scaron Yuml circ tilde ensp " +
	"emsp thinsp zwnj zwj lrm rlm ndash mdash lsquo rsquo sbquo ldquo rdquo bdquo dagger Dagger permil " +
	"lsaquo rsaquo euro"

type entityTable struct {
	byRune map[rune]string
	byName map[string]rune
}

func newEntityTable(names ...string) *entityTable {
	t := &entityTable{byRune: map[rune]string{}, byName: map[string]rune{}}
	add := func(name string, r rune) {
		t.byRune[r] = name
		t.byName[name] = r
	}
	for name, r := range xmlEntities {
		if name != "apos" {
			add(name, r)
		}
	}
	for _, group := range names {
		for _, name := range strings.Fields(group) {
			var r rune
			switch name {
			case "lang":
				r = 0x2329 // HTML 4 maps these to the older angle brackets
			case "rang":
				r = 0x232A
			default:
				// The names come from the HTML specification; html knows their code points.
				r, _ = utf8.DecodeRuneInString(html.UnescapeString("&" + name + ";"))
			}
			add(name, r)
		}
	}
	return t
}

// The entity tables are computed once and then only read.
var (
	html3Table = sync.OnceValue(func() *entityTable { return newEntityTable(iso8859Names) })
	html4Table = sync.OnceValue(func() *entityTable { return newEntityTable(iso8859Names, html4Names) })
)

func escapeHTML(s string, t *entityTable) string {
	var b strings.Builder
	for _, r := range s {
		if name, ok := t.byRune[r]; ok {
			b.WriteByte('&')
			b.WriteString(name)
			b.WriteByte(';')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func escapeHTML3(s string) string   { return escapeHTML(s, html3Table()) }
func escapeHTML4(s string) string   { return escapeHTML(s, html4Table()) }
func unescapeHTML3(s string) string { return unescapeEntities(s, html3Table().byName) }
func unescapeHTML4(s string) string { return unescapeEntities(s, html4Table().byName) }

// unescapeEntities replaces &name; from names and numeric &#nn; / &#xhh;
// references; anything unrecognised is left as written.
func unescapeEntities(s string, names map[string]rune) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '&' {
			b.WriteByte(s[i])
			continue
		}
		semi := strings.IndexByte(s[i:], ';')
		if semi < 2 || semi > 12 {
			b.WriteByte('&')
			continue
		}
		ref := s[i+1 : i+semi]
		if ref[0] == '#' {
			var v uint64
			var err error
			if len(ref) > 1 && (ref[1] == 'x' || ref[1] == 'X') {
				v, err = strconv.ParseUint(ref[2:], 16, 32)
			} else {
				v, err = strconv.ParseUint(ref[1:], 10, 32)
			}
			if err == nil && v <= utf8.MaxRune {
				b.WriteRune(rune(v))
				i += semi
				continue
			}
		} else if r, ok := names[ref]; ok {
			b.WriteRune(r)
			i += semi
			continue
		}
		b.WriteByte('&')
	}
	return b.String()
}

// urlEncode follows java.net.URLEncoder with UTF-8: letters, digits and
// ".-*_" are kept, space becomes '+', everything else is %XX.
func urlEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '*', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// urlDecode follows java.net.URLDecoder: '+' is a space and %XX a byte.
func urlDecode(s string) (string, error) {
	if !strings.ContainsAny(s, "+%") {
		return s, nil
	}
	buf := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '+':
			buf = append(buf, ' ')
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", fmt.Errorf("illegal hex characters in escape (%%) pattern at index %d", i)
			}
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			buf = append(buf, byte(v))
			i += 2
		default:
			buf = append(buf, s[i])
		}
	}
	return string(buf), nil
}

func base64Encode(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func base64Decode(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		// Java's basic decoder also accepts unpadded input.
		if b2, err2 := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err2 == nil {
			return string(b2), nil
		}
		return "", fmt.Errorf("invalid base64 input: %w", err)
	}
	return string(b), nil
}

func parseUUID(s string) ([16]byte, error) {
	var u [16]byte
	h := strings.ReplaceAll(s, "-", "")
	if len(s) != 36 || len(h) != 32 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, fmt.Errorf("%q is not a valid UUID", s)
	}
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		return u, fmt.Errorf("%q is not a valid UUID", s)
	}
	return u, nil
}

func formatUUID(u []byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:16])
	return string(b[:])
}

// nameUUID builds an RFC 4122 name-based UUID (version 3 with MD5, 5 with SHA-1).
func nameUUID(version int, ns [16]byte, name string) string {
	var h hash.Hash
	if version == 3 {
		h = md5.New()
	} else {
		h = sha1.New()
	}
	h.Write(ns[:])
	h.Write([]byte(name))
	sum := h.Sum(nil)[:16]
	sum[6] = sum[6]&0x0f | byte(version<<4)
	sum[8] = sum[8]&0x3f | 0x80
	return formatUUID(sum)
}

func buildNameUUID(version int) func(*call) (node, error) {
	return func(c *call) (node, error) {
		sub, ns := c.subjStr(), c.str(0)
		at := c.site
		return strNodeOf(func(e env) (string, bool, error) {
			s, ok, err := sub.str(e)
			if err != nil || !ok {
				return "", false, err
			}
			n, nok, err := ns.str(e)
			if err != nil {
				return "", false, err
			}
			// A null namespace is the nil UUID, as NiFi's Uuid3Evaluator and
			// Uuid5Evaluator (new UUID(0, 0)).
			var u [16]byte
			if nok {
				if u, err = parseUUID(n); err != nil {
					return "", false, at.fail(fmt.Errorf("namespace: %w", err))
				}
			}
			return nameUUID(version, u, s), true, nil
		}), nil
	}
}

func buildUUID(*call) (node, error) {
	return strNodeOf(func(e env) (string, bool, error) {
		var u [16]byte
		r := e.cfg.rand
		if r == nil {
			r = rand.Reader
		}
		if _, err := io.ReadFull(r, u[:]); err != nil {
			return "", false, fmt.Errorf("UUID: reading random bytes: %w", err)
		}
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		return formatUUID(u[:]), true, nil
	}), nil
}

// hashFactories are the MessageDigest algorithms NiFi's hash() accepts that
// Go's standard library implements.
var hashFactories = map[string]func() hash.Hash{
	"MD5":         md5.New,
	"SHA-1":       sha1.New,
	"SHA-224":     sha256.New224,
	"SHA-256":     sha256.New,
	"SHA-384":     sha512.New384,
	"SHA-512":     sha512.New,
	"SHA-512/224": sha512.New512_224,
	"SHA-512/256": sha512.New512_256,
	"SHA3-224":    func() hash.Hash { return sha3.New224() },
	"SHA3-256":    func() hash.Hash { return sha3.New256() },
	"SHA3-384":    func() hash.Hash { return sha3.New384() },
	"SHA3-512":    func() hash.Hash { return sha3.New512() },
}

func hashAlgorithm(name string) (func() hash.Hash, error) {
	f, ok := hashFactories[strings.ToUpper(name)]
	if !ok {
		return nil, fmt.Errorf("unsupported hash algorithm %q (supported: MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512, SHA-512/224, SHA-512/256, SHA3-224, SHA3-256, SHA3-384, SHA3-512)", name)
	}
	return f, nil
}

func buildHash(c *call) (node, error) {
	sub := c.subjStr()
	var fixed func() hash.Hash
	if k, ok := c.args[0].(*constNode); ok {
		f, err := hashAlgorithm(k.s)
		if err != nil {
			return nil, err
		}
		fixed = f
	}
	alg := c.str(0)
	at := c.site
	return strNodeOf(func(e env) (string, bool, error) {
		s, ok, err := sub.str(e)
		if err != nil || !ok {
			return "", false, err
		}
		f := fixed
		if f == nil {
			name, _, err := alg.str(e)
			if err != nil {
				return "", false, err
			}
			if f, err = hashAlgorithm(name); err != nil {
				return "", false, at.fail(err)
			}
		}
		h := f()
		h.Write([]byte(s))
		return hex.EncodeToString(h.Sum(nil)), true, nil
	}), nil
}
