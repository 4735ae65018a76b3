package spel

import (
	"fmt"
	"strings"
)

// Error is a compile or evaluation error located in the mapping text.
type Error struct {
	Src string // the whole mapping
	Pos int    // byte offset of the problem in Src
	Msg string
}

func (e *Error) Error() string {
	return fmt.Sprintf("mapping %q: at offset %d: %s", e.Src, e.Pos, e.Msg)
}

type tokKind uint8

const (
	tEOF   tokKind = iota
	tNum           // number literal; text in tok.text
	tStr           // string literal (may contain hdr{} template parts)
	tIdent         // identifier, including textual operators
	tVar           // #name
	tCol           // column reference: hdr{..}, hdr"..", hdr'..', hdr['..']
	tWrap          // exp{, sum{, base64{  (name in tok.text)
	tConst         // const{...} or const(...) inside an expression
	tOp            // punctuation operator
)

// tmplPart is a piece of a string literal: literal text, or (col set) the
// value of a column substituted into the string.
type tmplPart struct {
	text  string
	col   bool
	start int // offset of hdr{ for error messages
}

type token struct {
	kind  tokKind
	pos   int
	end   int
	text  string     // operator, identifier, number text, column or wrapper name
	parts []tmplPart // tStr
}

type lexer struct {
	src  string
	pos  int
	toks []token
}

func (l *lexer) errAt(pos int, format string, args ...any) error {
	return &Error{Src: l.src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// lex splits src[start:end] into tokens. Offsets stay relative to src so
// errors point into the mapping the user wrote.
func lex(src string, start, end int) ([]token, error) {
	l := &lexer{src: src[:end], pos: start}
	for {
		for l.pos < len(l.src) && strings.IndexByte(" \t\r\n", l.src[l.pos]) >= 0 {
			l.pos++
		}
		if l.pos >= len(l.src) {
			l.toks = append(l.toks, token{kind: tEOF, pos: l.pos, end: l.pos})
			l.src = src
			return l.toks, nil
		}
		if err := l.next(); err != nil {
			var e *Error
			if ok := asError(err, &e); ok {
				e.Src = src
			}
			return nil, err
		}
	}
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func (l *lexer) emit(k tokKind, start int, text string) {
	l.toks = append(l.toks, token{kind: k, pos: start, end: l.pos, text: text})
}

func (l *lexer) next() error {
	start := l.pos
	c := l.src[l.pos]
	switch {
	case c >= '0' && c <= '9' || c == '.' && l.pos+1 < len(l.src) && isDigit(l.src[l.pos+1]):
		return l.number()
	case c == '\'' || c == '"':
		parts, err := l.stringLit()
		if err != nil {
			return err
		}
		l.toks = append(l.toks, token{kind: tStr, pos: start, end: l.pos, parts: parts})
		return nil
	case c == '#':
		l.pos++
		s := l.pos
		for l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
			l.pos++
		}
		if l.pos == s {
			return l.errAt(start, "expected a variable name after '#'")
		}
		l.emit(tVar, start, l.src[s:l.pos])
		return nil
	case isIdentStart(c):
		for l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
			l.pos++
		}
		word := l.src[start:l.pos]
		var nc byte
		if l.pos < len(l.src) {
			nc = l.src[l.pos]
		}
		switch {
		case word == "hdr" && (nc == '{' || nc == '"' || nc == '\'' || nc == '['):
			return l.column(start)
		case (word == "exp" || word == "sum" || word == "base64") && nc == '{':
			l.pos++
			l.emit(tWrap, start, word)
			return nil
		case word == "const" && (nc == '{' || nc == '('):
			text, err := l.balanced(l.pos, nc, map[byte]byte{'{': '}', '(': ')'}[nc])
			if err != nil {
				return err
			}
			l.emit(tConst, start, text)
			return nil
		}
		l.emit(tIdent, start, word)
		return nil
	}
	for _, op := range []string{"?.", "?:", "==", "!=", "<=", ">=", "&&", "||", "++", "--"} {
		if strings.HasPrefix(l.src[l.pos:], op) {
			l.pos += 2
			l.emit(tOp, start, op)
			return nil
		}
	}
	if strings.IndexByte("+-*/%^<>!?:()[]{},.=", c) >= 0 {
		l.pos++
		l.emit(tOp, start, string(c))
		return nil
	}
	return l.errAt(start, "unexpected character %q", rune(c))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number lexes Java/SpEL numeric literals: 12, 12L, 1.5, .5, 1e3, 1.5d, 2f.
func (l *lexer) number() error {
	start := l.pos
	for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
		l.pos++
	}
	// A '.' followed by a digit is a fraction; otherwise it is a method call
	// on an integer (3.toString() is not SpEL, but 3 . x must not be eaten).
	if l.pos+1 < len(l.src) && l.src[l.pos] == '.' && isDigit(l.src[l.pos+1]) {
		l.pos++
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
		}
	}
	if l.pos < len(l.src) && (l.src[l.pos] == 'e' || l.src[l.pos] == 'E') {
		save := l.pos
		l.pos++
		if l.pos < len(l.src) && (l.src[l.pos] == '+' || l.src[l.pos] == '-') {
			l.pos++
		}
		if l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
				l.pos++
			}
		} else {
			l.pos = save
		}
	}
	if l.pos < len(l.src) && strings.IndexByte("lLdDfF", l.src[l.pos]) >= 0 {
		l.pos++
	}
	if l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
		return l.errAt(start, "malformed number %q", l.src[start:l.pos+1])
	}
	l.emit(tNum, start, l.src[start:l.pos])
	return nil
}

// stringLit lexes 'single' or "double" quoted text; the quote is escaped by
// doubling it, as in SpEL. hdr{Column} inside the text becomes a template
// part: the column value is substituted as text when the literal is
// evaluated and is never parsed as expression syntax, so a value containing
// quotes or operators cannot change the expression.
func (l *lexer) stringLit() ([]tmplPart, error) {
	open := l.pos
	q := l.src[l.pos]
	l.pos++
	var parts []tmplPart
	var b strings.Builder
	for {
		if l.pos >= len(l.src) {
			return nil, l.errAt(open, "unterminated string literal (missing closing %c)", q)
		}
		c := l.src[l.pos]
		if c == q {
			if l.pos+1 < len(l.src) && l.src[l.pos+1] == q {
				b.WriteByte(q)
				l.pos += 2
				continue
			}
			l.pos++
			if b.Len() > 0 || len(parts) == 0 {
				parts = append(parts, tmplPart{text: b.String()})
			}
			return parts, nil
		}
		if c == 'h' && strings.HasPrefix(l.src[l.pos:], "hdr{") {
			hstart := l.pos
			closeAt := strings.IndexByte(l.src[l.pos+4:], '}')
			quoteAt := strings.IndexByte(l.src[l.pos+4:], q)
			if closeAt < 0 || (quoteAt >= 0 && quoteAt < closeAt) {
				return nil, l.errAt(hstart, "unclosed hdr{ inside a string literal (missing '}')")
			}
			name := l.src[l.pos+4 : l.pos+4+closeAt]
			if name == "" {
				return nil, l.errAt(hstart, "empty column name in hdr{}")
			}
			if b.Len() > 0 {
				parts = append(parts, tmplPart{text: b.String()})
				b.Reset()
			}
			parts = append(parts, tmplPart{text: name, col: true, start: hstart})
			l.pos += 4 + closeAt + 1
			continue
		}
		b.WriteByte(c)
		l.pos++
	}
}

// column lexes hdr{Name}, hdr"Name", hdr'Name', hdr['Name'] and hdr["Name"].
func (l *lexer) column(start int) error {
	c := l.src[l.pos]
	var name string
	switch c {
	case '{':
		end := strings.IndexByte(l.src[l.pos:], '}')
		if end < 0 {
			return l.errAt(start, "unclosed hdr{ (missing '}')")
		}
		name = l.src[l.pos+1 : l.pos+end]
		l.pos += end + 1
	case '"', '\'':
		end := strings.IndexByte(l.src[l.pos+1:], c)
		if end < 0 {
			return l.errAt(start, "unclosed hdr%c (missing closing %c)", c, c)
		}
		name = l.src[l.pos+1 : l.pos+1+end]
		l.pos += end + 2
	case '[':
		l.pos++
		for l.pos < len(l.src) && l.src[l.pos] == ' ' {
			l.pos++
		}
		if l.pos >= len(l.src) || (l.src[l.pos] != '\'' && l.src[l.pos] != '"') {
			return l.errAt(l.pos, "expected a quoted column name in hdr[...]")
		}
		q := l.src[l.pos]
		end := strings.IndexByte(l.src[l.pos+1:], q)
		if end < 0 {
			return l.errAt(start, "unclosed quote in hdr[...]")
		}
		name = l.src[l.pos+1 : l.pos+1+end]
		l.pos += end + 2
		for l.pos < len(l.src) && l.src[l.pos] == ' ' {
			l.pos++
		}
		if l.pos >= len(l.src) || l.src[l.pos] != ']' {
			return l.errAt(start, "unclosed hdr[ (missing ']')")
		}
		l.pos++
	}
	if name == "" {
		return l.errAt(start, "empty column name in hdr reference")
	}
	l.emit(tCol, start, name)
	return nil
}

// balanced returns the text between an opening bracket at pos and its
// matching close, counting nesting of the same bracket kind.
func (l *lexer) balanced(pos int, open, close byte) (string, error) {
	depth := 0
	for i := pos; i < len(l.src); i++ {
		switch l.src[i] {
		case open:
			depth++
		case close:
			depth--
			if depth == 0 {
				l.pos = i + 1
				return l.src[pos+1 : i], nil
			}
		}
	}
	return "", l.errAt(pos, "unclosed '%c' (missing '%c')", open, close)
}
