package jslt

import (
	"fmt"
	"unicode/utf8"
)

type tokKind int

// Token kinds, in the priority order of the reference grammar (jslt.jjt):
// when two patterns match the same length, the earlier one wins, which is
// how "for" is a keyword but "format" an identifier, and "-5" a number.
const (
	tEOF tokKind = iota
	tNull
	tInteger
	tDecimal
	tString
	tLBracket
	tRBracket
	tComma
	tColon
	tLCurly
	tRCurly
	tTrue
	tFalse
	tOr
	tAnd
	tDot
	tIf
	tElse
	tLParen
	tRParen
	tLet
	tAssign
	tEquals
	tUnequals
	tBigOrEq
	tBigger
	tSmaller
	tSmallOrEq
	tPlus
	tMinus
	tStar
	tSlash
	tPercent
	tPipe
	tFor
	tDef
	tImport
	tAs
	tIdent
	tPIdent
	tVariable
)

// fixed lists the literal tokens; the lexer tries all and keeps the
// longest, preferring the earliest kind on ties.
var fixed = []struct {
	text string
	kind tokKind
}{
	{"null", tNull}, {"[", tLBracket}, {"]", tRBracket}, {",", tComma}, {":", tColon},
	{"{", tLCurly}, {"}", tRCurly}, {"true", tTrue}, {"false", tFalse}, {"or", tOr},
	{"and", tAnd}, {".", tDot}, {"if", tIf}, {"else", tElse}, {"(", tLParen}, {")", tRParen},
	{"let", tLet}, {"=", tAssign}, {"==", tEquals}, {"!=", tUnequals}, {">=", tBigOrEq},
	{">", tBigger}, {"<", tSmaller}, {"<=", tSmallOrEq}, {"+", tPlus}, {"-", tMinus},
	{"*", tStar}, {"/", tSlash}, {"%", tPercent}, {"|", tPipe}, {"for", tFor}, {"def", tDef},
	{"import", tImport}, {"as", tAs},
}

type token struct {
	kind tokKind
	text string // source text of the token
	pos  pos
}

// pos is a 1-based source position; it travels with every node that can
// fail so run-time errors can say where.
type pos struct {
	line, col int
	module    string
}

func (p pos) errorf(format string, args ...any) *Error {
	return &Error{Line: p.line, Column: p.col, Module: p.module, Msg: fmt.Sprintf(format, args...)}
}

func (t token) describe() string {
	if t.kind == tEOF {
		return "end of input"
	}
	return "'" + t.text + "'"
}

type lexer struct {
	src    string
	off    int
	line   int
	col    int
	module string
}

// identChar reports the reference's IDENT_CHARS: ASCII letters, digits,
// '_', '-', and the Latin-1 and Latin Extended-A letters.
func identChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
		return true
	case r >= 0xC0 && r <= 0xD6, r >= 0xD8 && r <= 0xF6, r >= 0xF8 && r <= 0x17F:
		return true
	}
	return false
}

func (l *lexer) advance(n int) {
	for _, r := range l.src[l.off : l.off+n] {
		if r == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
	}
	l.off += n
}

func (l *lexer) skipSpace() {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			l.advance(1)
		case c == '/' && l.off+1 < len(l.src) && l.src[l.off+1] == '/':
			n := 2
			for l.off+n < len(l.src) && l.src[l.off+n] != '\n' && l.src[l.off+n] != '\r' {
				n++
			}
			l.advance(n)
		default:
			return
		}
	}
}

// identLen is the length of the run of identifier characters at s.
func identLen(s string) int {
	n := 0
	for n < len(s) {
		r, size := utf8.DecodeRuneInString(s[n:])
		if !identChar(r) {
			break
		}
		n += size
	}
	return n
}

func digitsLen(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// numberLen returns the lengths of the longest INTEGER and DECIMAL
// matches at s (0 if none).
func numberLen(s string) (intLen, decLen int) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) || s[i] < '0' || s[i] > '9' {
		return 0, 0
	}
	if s[i] == '0' {
		i++
	} else {
		i += digitsLen(s[i:])
	}
	intLen = i
	j := i
	frac := false
	if j < len(s) && s[j] == '.' {
		if d := digitsLen(s[j+1:]); d > 0 {
			j += 1 + d
			frac = true
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if d := digitsLen(s[k:]); d > 0 {
			return intLen, k + d
		}
	}
	if frac {
		return intLen, j
	}
	return intLen, 0
}

func (l *lexer) next() token {
	l.skipSpace()
	p := pos{line: l.line, col: l.col, module: l.module}
	if l.off >= len(l.src) {
		return token{kind: tEOF, pos: p}
	}
	s := l.src[l.off:]
	best, kind := 0, tEOF
	consider := func(n int, k tokKind) {
		if n > best {
			best, kind = n, k
		}
	}
	if s[0] == '"' {
		n := 1
		for n < len(s) && s[n] != '"' {
			if s[n] == '\\' {
				n++
			}
			n++
		}
		if n >= len(s) {
			panic(p.errorf("Parse error: unterminated string literal"))
		}
		consider(n+1, tString)
	}
	il, dl := numberLen(s)
	consider(il, tInteger)
	consider(dl, tDecimal)
	for _, f := range fixed {
		if len(s) >= len(f.text) && s[:len(f.text)] == f.text {
			consider(len(f.text), f.kind)
		}
	}
	if n := identLen(s); n > 0 {
		consider(n, tIdent)
		// prefix:name is only a token when a call follows: without the
		// parenthesis it could not parse anyway, and this keeps slices
		// such as .[1:4] working.
		if n < len(s) && s[n] == ':' {
			if m := identLen(s[n+1:]); m > 0 && nextIsParen(s[n+1+m:]) {
				consider(n+1+m, tPIdent)
			}
		}
	}
	if s[0] == '$' {
		if n := identLen(s[1:]); n > 0 {
			consider(n+1, tVariable)
		}
	}
	if best == 0 {
		r, _ := utf8.DecodeRuneInString(s)
		panic(p.errorf("Parse error: unexpected character %q", r))
	}
	t := token{kind: kind, text: s[:best], pos: p}
	l.advance(best)
	return t
}

func nextIsParen(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r', '\f':
			continue
		case '(':
			return true
		}
		return false
	}
	return false
}
