// Package javatime formats and parses times with Java date patterns.
//
// Connect+ configurations were written for a Java server, so their date
// patterns ("yyyy-MM-dd HH:mm:ss", "EEE, d MMM yyyy") follow
// java.text.SimpleDateFormat. This package implements those patterns with
// SimpleDateFormat's behaviour (English names, lenient field values, text
// after the pattern ignored when parsing) so that NiFi Expression Language,
// JSLT and other languages render dates exactly as the Java product did.
//
// A second dialect, java.time.format.DateTimeFormatter, differs in a few
// letters: 'S' is a fraction of the second instead of a millisecond count,
// 'u' is the year instead of the day number and 'n' is the nano of second.
// CompileFormatter selects it.
//
// The package is pure: it performs no I/O. Zone names met while parsing ('z')
// resolve through a fixed table of abbreviations and GMT offsets.
package javatime

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Dialect selects which Java class a pattern follows.
type Dialect uint8

const (
	// SimpleDateFormat follows java.text.SimpleDateFormat.
	SimpleDateFormat Dialect = iota
	// DateTimeFormatter follows java.time.format.DateTimeFormatter.
	DateTimeFormatter
)

// Layout is a compiled pattern. It is immutable and safe for concurrent use.
type Layout struct {
	pattern string
	dialect Dialect
	elems   []elem
}

// elem is one field or literal of a pattern.
type elem struct {
	letter byte   // pattern letter; 0 for literal text
	count  int    // repetitions of the letter
	text   string // literal text when letter == 0
}

// Compile compiles a SimpleDateFormat pattern.
func Compile(pattern string) (*Layout, error) {
	return compile(pattern, SimpleDateFormat)
}

// CompileFormatter compiles a DateTimeFormatter pattern.
func CompileFormatter(pattern string) (*Layout, error) {
	return compile(pattern, DateTimeFormatter)
}

// MustCompile is Compile for patterns known to be valid; it panics otherwise.
func MustCompile(pattern string) *Layout {
	l, err := Compile(pattern)
	if err != nil {
		panic(err)
	}
	return l
}

// Format formats t with a SimpleDateFormat pattern, in t's location.
func Format(t time.Time, pattern string) (string, error) {
	l, err := Compile(pattern)
	if err != nil {
		return "", err
	}
	return l.Format(t), nil
}

// Parse parses value with a SimpleDateFormat pattern. Fields without a zone
// are read in loc (UTC when nil).
func Parse(pattern, value string, loc *time.Location) (time.Time, error) {
	l, err := Compile(pattern)
	if err != nil {
		return time.Time{}, err
	}
	return l.Parse(value, loc)
}

// Pattern returns the source pattern.
func (l *Layout) Pattern() string { return l.pattern }

// knownLetters are the pattern letters of either dialect; any other ASCII
// letter is rejected as Java rejects it ("Illegal pattern character").
const knownLetters = "GyYuMLdDEFwWaHkKhmsSzZXnVxe"

func compile(pattern string, d Dialect) (*Layout, error) {
	l := &Layout{pattern: pattern, dialect: d}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			l.elems = append(l.elems, elem{text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch {
		case c == '\'':
			// '' is a literal quote; 'text' is literal text in which '' is a quote.
			if i+1 < len(pattern) && pattern[i+1] == '\'' {
				lit.WriteByte('\'')
				i += 2
				continue
			}
			j := i + 1
			closed := false
			for j < len(pattern) {
				if pattern[j] == '\'' {
					if j+1 < len(pattern) && pattern[j+1] == '\'' {
						lit.WriteByte('\'')
						j += 2
						continue
					}
					closed = true
					break
				}
				lit.WriteByte(pattern[j])
				j++
			}
			if !closed {
				return nil, fmt.Errorf("invalid date pattern %q: unterminated quote at position %d", pattern, i)
			}
			i = j + 1
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			if !strings.ContainsRune(knownLetters, rune(c)) ||
				(d == SimpleDateFormat && (c == 'n' || c == 'V' || c == 'x' || c == 'e')) {
				return nil, fmt.Errorf("invalid date pattern %q: illegal pattern character '%c'", pattern, c)
			}
			j := i
			for j < len(pattern) && pattern[j] == c {
				j++
			}
			flush()
			l.elems = append(l.elems, elem{letter: c, count: j - i})
			i = j
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return l, nil
}

var (
	shortMonths = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	longMonths  = [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	shortDays   = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	longDays    = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// Format renders t in t's location.
func (l *Layout) Format(t time.Time) string {
	return string(l.AppendFormat(make([]byte, 0, len(l.pattern)+10), t))
}

// AppendFormat appends the rendering of t to b, for callers that reuse buffers.
func (l *Layout) AppendFormat(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	for _, e := range l.elems {
		n := e.count
		switch e.letter {
		case 0:
			b = append(b, e.text...)
		case 'G':
			if year <= 0 {
				b = append(b, "BC"...)
			} else {
				b = append(b, "AD"...)
			}
		case 'y', 'Y', 'u':
			if e.letter == 'u' && l.dialect == SimpleDateFormat {
				wd := int(t.Weekday())
				if wd == 0 {
					wd = 7
				}
				b = appendInt(b, int64(wd), n)
				continue
			}
			y := year
			if e.letter == 'Y' {
				y, _ = t.ISOWeek()
			}
			if y <= 0 && l.dialect == SimpleDateFormat {
				y = 1 - y // year of era
			}
			if n == 2 {
				b = appendInt(b, int64(((y%100)+100)%100), 2)
			} else {
				b = appendInt(b, int64(y), n)
			}
		case 'M', 'L':
			switch {
			case n >= 4:
				b = append(b, longMonths[month-1]...)
			case n == 3:
				b = append(b, shortMonths[month-1]...)
			default:
				b = appendInt(b, int64(month), n)
			}
		case 'd':
			b = appendInt(b, int64(day), n)
		case 'D':
			b = appendInt(b, int64(t.YearDay()), n)
		case 'F':
			b = appendInt(b, int64((day-1)/7+1), n)
		case 'w':
			_, w := t.ISOWeek()
			b = appendInt(b, int64(w), n)
		case 'W':
			b = appendInt(b, int64(weekOfMonth(t)), n)
		case 'E':
			if n >= 4 {
				b = append(b, longDays[t.Weekday()]...)
			} else {
				b = append(b, shortDays[t.Weekday()]...)
			}
		case 'e':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			b = appendInt(b, int64(wd), n)
		case 'a':
			if hour < 12 {
				b = append(b, "AM"...)
			} else {
				b = append(b, "PM"...)
			}
		case 'H':
			b = appendInt(b, int64(hour), n)
		case 'k':
			h := hour
			if h == 0 {
				h = 24
			}
			b = appendInt(b, int64(h), n)
		case 'K':
			b = appendInt(b, int64(hour%12), n)
		case 'h':
			h := hour % 12
			if h == 0 {
				h = 12
			}
			b = appendInt(b, int64(h), n)
		case 'm':
			b = appendInt(b, int64(min), n)
		case 's':
			b = appendInt(b, int64(sec), n)
		case 'S':
			if l.dialect == SimpleDateFormat {
				// SimpleDateFormat treats S as a count of milliseconds.
				b = appendInt(b, int64(t.Nanosecond()/1e6), n)
			} else {
				b = appendFraction(b, t.Nanosecond(), n)
			}
		case 'n':
			b = appendInt(b, int64(t.Nanosecond()), n)
		case 'z':
			name, off := t.Zone()
			if n >= 4 {
				b = append(b, longZoneName(t.Location().String(), name, off)...)
			} else {
				b = append(b, shortZoneName(t.Location().String(), name, off)...)
			}
		case 'V':
			b = append(b, t.Location().String()...)
		case 'Z':
			_, off := t.Zone()
			if n >= 4 && l.dialect == DateTimeFormatter {
				if off == 0 {
					b = append(b, "GMT"...)
				} else {
					b = append(b, "GMT"...)
					b = appendOffset(b, off, true, true)
				}
				continue
			}
			b = appendOffset(b, off, false, l.dialect == DateTimeFormatter && n == 5)
		case 'X', 'x':
			_, off := t.Zone()
			if off == 0 && e.letter == 'X' {
				b = append(b, 'Z')
				continue
			}
			switch n {
			case 1:
				b = appendSign(b, off)
				b = appendInt(b, int64(abs(off)/3600), 2)
				if m := abs(off) % 3600 / 60; m != 0 && l.dialect == DateTimeFormatter {
					b = appendInt(b, int64(m), 2)
				}
			case 2, 4:
				b = appendOffset(b, off, false, false)
			default:
				b = appendOffset(b, off, true, false)
			}
		}
	}
	return b
}

func weekOfMonth(t time.Time) int {
	first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location())
	// Java's default (US) calendar starts weeks on Sunday with a minimal first week of one day.
	return (t.Day()+int(first.Weekday())-1)/7 + 1
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func appendSign(b []byte, off int) []byte {
	if off < 0 {
		return append(b, '-')
	}
	return append(b, '+')
}

// appendOffset writes +HHMM or +HH:MM (colon) and optional seconds.
func appendOffset(b []byte, off int, colon, secs bool) []byte {
	b = appendSign(b, off)
	a := abs(off)
	b = appendInt(b, int64(a/3600), 2)
	if colon {
		b = append(b, ':')
	}
	b = appendInt(b, int64(a%3600/60), 2)
	if secs && a%60 != 0 {
		if colon {
			b = append(b, ':')
		}
		b = appendInt(b, int64(a%60), 2)
	}
	return b
}

func appendInt(b []byte, v int64, width int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], v, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

func appendFraction(b []byte, nanos, width int) []byte {
	var buf [9]byte
	v := nanos
	for i := 8; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	if width <= 9 {
		return append(b, buf[:width]...)
	}
	b = append(b, buf[:]...)
	for i := 9; i < width; i++ {
		b = append(b, '0')
	}
	return b
}

// ErrParse is wrapped by every parse failure so callers can test for it.
var ErrParse = errors.New("unparseable date")

type parseError struct {
	value, pattern string
	pos            int
	why            string
}

func (e *parseError) Error() string {
	return fmt.Sprintf("unparseable date %q with pattern %q at position %d: %s", e.value, e.pattern, e.pos, e.why)
}

func (e *parseError) Unwrap() error { return ErrParse }

// Parse parses value in loc (UTC when nil) the way SimpleDateFormat.parse
// does: field values overflow leniently (month 13 is January of the next
// year) and text after the last field is ignored. Two-digit years are placed
// within 80 years before and 20 years after the current time.
func (l *Layout) Parse(value string, loc *time.Location) (time.Time, error) {
	return l.parse(value, loc, time.Now(), false, 1970)
}

// ParseAt is Parse with an explicit reference time for two-digit years, for
// deterministic callers.
func (l *Layout) ParseAt(value string, loc *time.Location, now time.Time) (time.Time, error) {
	return l.parse(value, loc, now, false, 1970)
}

// ParseInYear is ParseAt for a value whose pattern may have no year field:
// the year is then defaultYear rather than 1970, as NiFi's isValidDate
// checks such a date in the leap year 2000 so that 29-02 is valid.
func (l *Layout) ParseInYear(value string, loc *time.Location, now time.Time, defaultYear int) (time.Time, error) {
	return l.parse(value, loc, now, false, defaultYear)
}

// ParseExact is Parse but fails when text remains after the pattern.
func (l *Layout) ParseExact(value string, loc *time.Location) (time.Time, error) {
	return l.parse(value, loc, time.Now(), true, 1970)
}

type fields struct {
	year, month, day, hour, min, sec, nanos int
	yearDay                                 int
	pm, hasAmPm, hour12, twoDigitYear, bc   bool
	zone                                    *time.Location
	hasZone                                 bool
}

func (l *Layout) parse(value string, loc *time.Location, now time.Time, exact bool, defaultYear int) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	f := fields{year: defaultYear, month: 1, day: 1}
	pos := 0
	fail := func(why string) (time.Time, error) {
		return time.Time{}, &parseError{value: value, pattern: l.pattern, pos: pos, why: why}
	}
	for i, e := range l.elems {
		if e.letter == 0 {
			// Java matches literal whitespace leniently only in the sense that
			// the characters must be equal; keep that strictness.
			if !strings.HasPrefix(value[pos:], e.text) {
				return fail(fmt.Sprintf("expected %q", e.text))
			}
			pos += len(e.text)
			continue
		}
		// A numeric field directly followed by another numeric field takes
		// exactly its width, as SimpleDateFormat does for "yyyyMMdd".
		maxDigits := 0
		if i+1 < len(l.elems) && isNumeric(l.elems[i+1], l.dialect) {
			maxDigits = e.count
		}
		switch e.letter {
		case 'G':
			switch {
			case hasPrefixFold(value[pos:], "AD"):
				pos += 2
			case hasPrefixFold(value[pos:], "BC"):
				f.bc = true
				pos += 2
			default:
				return fail("expected era")
			}
		case 'y', 'Y', 'u':
			if e.letter == 'u' && l.dialect == SimpleDateFormat {
				if _, n, ok := readInt(value, pos, maxDigits, false); ok {
					pos = n
					continue
				}
				return fail("expected day number")
			}
			v, n, ok := readInt(value, pos, maxDigits, true)
			if !ok {
				return fail("expected year")
			}
			digits := n - pos
			if value[pos] == '-' || value[pos] == '+' {
				digits--
			}
			pos = n
			f.year = int(v)
			// Java reads a two-digit year relative to now only when the
			// pattern has at most two letters and exactly two digits came.
			if e.count <= 2 && digits == 2 {
				f.twoDigitYear = true
			}
		case 'M', 'L':
			if e.count >= 3 {
				m, n := matchName(value[pos:], longMonths[:], shortMonths[:])
				if m < 0 {
					return fail("expected month name")
				}
				f.month = m + 1
				pos += n
				continue
			}
			v, n, ok := readInt(value, pos, maxDigits, false)
			if !ok {
				return fail("expected month")
			}
			f.month, pos = int(v), n
		case 'E':
			d, n := matchName(value[pos:], longDays[:], shortDays[:])
			if d < 0 {
				return fail("expected day name")
			}
			pos += n
		case 'a':
			switch {
			case hasPrefixFold(value[pos:], "AM"):
				f.hasAmPm = true
			case hasPrefixFold(value[pos:], "PM"):
				f.hasAmPm, f.pm = true, true
			default:
				return fail("expected AM or PM")
			}
			pos += 2
		case 'z', 'Z', 'X', 'x', 'V':
			zl, n, ok := parseZone(value[pos:], loc)
			if !ok {
				return fail("expected time zone")
			}
			f.zone, f.hasZone = zl, true
			pos += n
		case 'S':
			v, n, ok := readInt(value, pos, maxDigits, false)
			if !ok {
				return fail("expected fraction")
			}
			if l.dialect == SimpleDateFormat {
				f.nanos = int(v) * 1e6
			} else {
				digits := n - pos
				nv := v
				for d := digits; d < 9; d++ {
					nv *= 10
				}
				for d := digits; d > 9; d-- {
					nv /= 10
				}
				f.nanos = int(nv)
			}
			pos = n
		default:
			v, n, ok := readInt(value, pos, maxDigits, false)
			if !ok {
				return fail(fmt.Sprintf("expected number for '%c'", e.letter))
			}
			pos = n
			switch e.letter {
			case 'd':
				f.day = int(v)
			case 'D':
				f.yearDay = int(v)
			case 'H':
				f.hour = int(v)
			case 'k':
				f.hour = int(v) % 24
			case 'K':
				f.hour, f.hour12 = int(v), true
			case 'h':
				f.hour, f.hour12 = int(v)%12, true
			case 'm':
				f.min = int(v)
			case 's':
				f.sec = int(v)
			case 'n':
				f.nanos = int(v)
			}
		}
	}
	if exact && pos != len(value) {
		return fail("unexpected text after date")
	}
	if f.twoDigitYear {
		// Java's default century starts 80 years before now.
		start := now.Year() - 80
		y := start - start%100 + f.year
		if y < start {
			y += 100
		}
		f.year = y
	}
	if f.bc {
		f.year = 1 - f.year
	}
	if f.pm && f.hour < 12 {
		f.hour += 12
	}
	zone := loc
	if f.hasZone {
		zone = f.zone
	}
	if f.yearDay > 0 {
		f.month, f.day = 1, f.yearDay
	}
	return time.Date(f.year, time.Month(f.month), f.day, f.hour, f.min, f.sec, f.nanos, zone), nil
}

func isNumeric(e elem, d Dialect) bool {
	switch e.letter {
	case 0, 'G', 'E', 'a', 'z', 'Z', 'X', 'x', 'V':
		return false
	case 'M', 'L':
		return e.count < 3
	}
	return true
}

// readInt reads up to max digits (unbounded when max is 0) starting at pos.
func readInt(s string, pos, max int, signed bool) (int64, int, bool) {
	i := pos
	neg := false
	if signed && i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var v int64
	for i < len(s) && s[i] >= '0' && s[i] <= '9' && (max == 0 || i-start < max) {
		if v > (1<<62)/10 {
			return 0, pos, false
		}
		v = v*10 + int64(s[i]-'0')
		i++
	}
	if i == start {
		return 0, pos, false
	}
	if neg {
		v = -v
	}
	return v, i, true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// matchName matches the longest of the full or short names, case-insensitively.
func matchName(s string, long, short []string) (int, int) {
	for i, n := range long {
		if hasPrefixFold(s, n) {
			return i, len(n)
		}
	}
	for i, n := range short {
		if hasPrefixFold(s, n) {
			return i, len(n)
		}
	}
	return -1, 0
}
