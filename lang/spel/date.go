package spel

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ReformatDate implements the legacy date-column reformat of the Gen-1
// header processor ("Existing Date Format", "New Date Format", optional
// time zone). Patterns are Java SimpleDateFormat patterns; the letters
// y M d H h m s S a E, the offsets Z and X, and 'quoted text' are supported.
//
// loc (nil means UTC) is the zone in which a value without an explicit
// offset is read and in which the result is written; a value with an
// offset (Z, +05:30) is converted to loc.
//
// When the value does not match the existing format it is retried:
//   - a date-only value ("2024-03-01") against a format with a time gets
//     " 00:00:00" appended, then against the date part of the format;
//   - ISO-8601 forms (2024-03-01T10:20:30Z, with fractions or offsets,
//     2024-03-01 10:20:30, 2024-03-01).
func ReformatDate(value, existingFormat, newFormat string, loc *time.Location) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("reformat date %q: internal error: %v", value, r)
		}
	}()
	if loc == nil {
		loc = time.UTC
	}
	in, err := compilePattern(existingFormat)
	if err != nil {
		return "", fmt.Errorf("existing date format: %w", err)
	}
	outPat, err := compilePattern(newFormat)
	if err != nil {
		return "", fmt.Errorf("new date format: %w", err)
	}
	value = strings.TrimSpace(value)
	var t time.Time
	t, err = in.parse(value, loc)
	if err != nil && in.hasTime() && !strings.ContainsAny(value, ":") {
		if t2, err2 := in.parse(value+" 00:00:00", loc); err2 == nil {
			t, err = t2, nil
		} else if t2, err2 := in.datePart().parse(value, loc); err2 == nil {
			t, err = t2, nil
		}
	}
	if err != nil {
		if t2, ok := parseISO(value, loc); ok {
			t, err = t2, nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("date %q does not match %q: %w", value, existingFormat, err)
	}
	return outPat.format(t.In(loc)), nil
}

var isoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

func parseISO(s string, loc *time.Location) (time.Time, bool) {
	for _, l := range isoLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// patItem is one element of a SimpleDateFormat pattern: a run of one
// pattern letter, or literal text.
type patItem struct {
	letter byte // 0 for literal text
	count  int
	text   string
}

type datePattern []patItem

func compilePattern(p string) (datePattern, error) {
	var out datePattern
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '\'':
			// 'text' is literal; '' is a single quote, inside or outside text.
			if i+1 < len(p) && p[i+1] == '\'' {
				out = append(out, patItem{text: "'"})
				i += 2
				continue
			}
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(p) {
					return nil, fmt.Errorf("unterminated quote in pattern %q", p)
				}
				if p[j] == '\'' {
					if j+1 < len(p) && p[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(p[j])
				j++
			}
			out = append(out, patItem{text: b.String()})
			i = j + 1
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			if strings.IndexByte("yMdHhmsSaEZX", c) < 0 {
				return nil, fmt.Errorf("unsupported pattern letter %q in %q (supported: y M d H h m s S a E Z X)", c, p)
			}
			j := i
			for j < len(p) && p[j] == c {
				j++
			}
			out = append(out, patItem{letter: c, count: j - i})
			i = j
		default:
			out = append(out, patItem{text: string(c)})
			i++
		}
	}
	return out, nil
}

func (p datePattern) hasTime() bool {
	for _, it := range p {
		if it.letter == 'H' || it.letter == 'h' {
			return true
		}
	}
	return false
}

// datePart is the pattern up to its first time field, with trailing
// separators removed ("yyyy-MM-dd HH:mm:ss" gives "yyyy-MM-dd").
func (p datePattern) datePart() datePattern {
	var out datePattern
	for _, it := range p {
		if strings.IndexByte("HhmsSa", it.letter) >= 0 && it.letter != 0 {
			break
		}
		out = append(out, it)
	}
	for len(out) > 0 && out[len(out)-1].letter == 0 {
		out = out[:len(out)-1]
	}
	return out
}

var (
	shortMonths = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	shortDays   = []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
)

func pad(n, width int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + pad(-n, width)
	}
	for len(s) < width {
		s = "0" + s
	}
	return s
}

func (p datePattern) format(t time.Time) string {
	var b strings.Builder
	for _, it := range p {
		n := it.count
		switch it.letter {
		case 0:
			b.WriteString(it.text)
		case 'y':
			if n == 2 {
				b.WriteString(pad(t.Year()%100, 2))
			} else {
				b.WriteString(pad(t.Year(), n))
			}
		case 'M':
			switch {
			case n >= 4:
				b.WriteString(t.Month().String())
			case n == 3:
				b.WriteString(shortMonths[t.Month()-1])
			default:
				b.WriteString(pad(int(t.Month()), n))
			}
		case 'd':
			b.WriteString(pad(t.Day(), n))
		case 'H':
			b.WriteString(pad(t.Hour(), n))
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			b.WriteString(pad(h, n))
		case 'm':
			b.WriteString(pad(t.Minute(), n))
		case 's':
			b.WriteString(pad(t.Second(), n))
		case 'S':
			// SimpleDateFormat's S is the millisecond count, zero-padded.
			b.WriteString(pad(t.Nanosecond()/1e6, n))
		case 'a':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'E':
			if n >= 4 {
				b.WriteString(t.Weekday().String())
			} else {
				b.WriteString(shortDays[t.Weekday()])
			}
		case 'Z':
			b.WriteString(t.Format("-0700"))
		case 'X':
			_, off := t.Zone()
			switch {
			case off == 0:
				b.WriteString("Z")
			case n == 1:
				b.WriteString(t.Format("-07"))
			case n == 2:
				b.WriteString(t.Format("-0700"))
			default:
				b.WriteString(t.Format("-07:00"))
			}
		}
	}
	return b.String()
}

// isNumeric reports whether a pattern item parses as digits.
func (it patItem) isNumeric() bool {
	switch it.letter {
	case 'y', 'd', 'H', 'h', 'm', 's', 'S':
		return true
	case 'M':
		return it.count <= 2
	}
	return false
}

// parse reads s with the pattern. Unlike SimpleDateFormat it is strict:
// the whole value must match and out-of-range fields are errors, because a
// silently rolled-over date would be sent to an API as if it were valid.
func (p datePattern) parse(s string, loc *time.Location) (time.Time, error) {
	year, month, day, hour, minute, sec, ms := 1970, 1, 1, 0, 0, 0, 0
	pm, hasAmPm, h12 := false, false, false
	var zone *time.Location
	pos := 0
	for i, it := range p {
		if it.letter == 0 {
			if !strings.HasPrefix(s[pos:], it.text) {
				return time.Time{}, fmt.Errorf("expected %q at position %d", it.text, pos)
			}
			pos += len(it.text)
			continue
		}
		if it.isNumeric() {
			// Adjacent numeric fields (yyyyMMdd) take exactly their width;
			// otherwise a field takes all its digits.
			width := 0
			if i+1 < len(p) && p[i+1].letter != 0 && p[i+1].isNumeric() {
				width = it.count
			}
			j := pos
			for j < len(s) && s[j] >= '0' && s[j] <= '9' && (width == 0 || j-pos < width) {
				j++
			}
			if j == pos || width > 0 && j-pos != width {
				return time.Time{}, fmt.Errorf("expected %d digit(s) for %c at position %d", max(width, 1), it.letter, pos)
			}
			n, _ := strconv.Atoi(s[pos:j])
			switch it.letter {
			case 'y':
				year = n
				if it.count <= 2 && j-pos == 2 {
					year = twoDigitYear(n)
				}
			case 'M':
				month = n
			case 'd':
				day = n
			case 'H':
				hour = n
			case 'h':
				hour, h12 = n, true
			case 'm':
				minute = n
			case 's':
				sec = n
			case 'S':
				ms = n
			}
			pos = j
			continue
		}
		switch it.letter {
		case 'M':
			m, l := matchName(s[pos:], longMonthNames(), shortMonths)
			if m < 0 {
				return time.Time{}, fmt.Errorf("expected a month name at position %d", pos)
			}
			month, pos = m+1, pos+l
		case 'E':
			d, l := matchName(s[pos:], longDayNames(), shortDays)
			if d < 0 {
				return time.Time{}, fmt.Errorf("expected a day name at position %d", pos)
			}
			pos += l
		case 'a':
			switch {
			case len(s) >= pos+2 && strings.EqualFold(s[pos:pos+2], "AM"):
			case len(s) >= pos+2 && strings.EqualFold(s[pos:pos+2], "PM"):
				pm = true
			default:
				return time.Time{}, fmt.Errorf("expected AM or PM at position %d", pos)
			}
			hasAmPm = true
			pos += 2
		case 'Z', 'X':
			z, l, err := parseOffset(s[pos:])
			if err != nil {
				return time.Time{}, fmt.Errorf("%w at position %d", err, pos)
			}
			zone, pos = z, pos+l
		}
	}
	if pos != len(s) {
		return time.Time{}, fmt.Errorf("unexpected %q at position %d", s[pos:], pos)
	}
	if h12 {
		if hour < 1 || hour > 12 {
			return time.Time{}, fmt.Errorf("hour %d out of range 1-12", hour)
		}
		hour %= 12
	}
	if hasAmPm && pm && hour < 12 {
		hour += 12
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 || ms > 999 {
		return time.Time{}, fmt.Errorf("field out of range")
	}
	if zone == nil {
		zone = loc
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, ms*1e6, zone)
	if t.Day() != day {
		return time.Time{}, fmt.Errorf("day %d does not exist in %s %d", day, time.Month(month), year)
	}
	return t, nil
}

// twoDigitYear resolves yy like SimpleDateFormat: within 80 years before
// and 20 years after the current year.
func twoDigitYear(n int) int {
	now := time.Now().Year()
	y := now - now%100 + n
	if y > now+20 {
		y -= 100
	}
	return y
}

func longMonthNames() []string {
	out := make([]string, 12)
	for i := range out {
		out[i] = time.Month(i + 1).String()
	}
	return out
}

func longDayNames() []string {
	out := make([]string, 7)
	for i := range out {
		out[i] = time.Weekday(i).String()
	}
	return out
}

// matchName matches a full or abbreviated name case-insensitively, longest
// first, and returns its index and length.
func matchName(s string, long, short []string) (int, int) {
	for i, n := range long {
		if len(s) >= len(n) && strings.EqualFold(s[:len(n)], n) {
			return i, len(n)
		}
	}
	for i, n := range short {
		if len(s) >= len(n) && strings.EqualFold(s[:len(n)], n) {
			return i, len(n)
		}
	}
	return -1, 0
}

// parseOffset reads Z, ±hh, ±hhmm or ±hh:mm.
func parseOffset(s string) (*time.Location, int, error) {
	if strings.HasPrefix(s, "Z") {
		return time.UTC, 1, nil
	}
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') {
		return nil, 0, fmt.Errorf("expected a time zone offset")
	}
	digits := func(a string) (int, bool) {
		n, err := strconv.Atoi(a)
		return n, err == nil && len(a) == 2
	}
	h, ok := digits(s[1:3])
	if !ok {
		return nil, 0, fmt.Errorf("expected a time zone offset")
	}
	l, m := 3, 0
	switch {
	case len(s) >= 6 && s[3] == ':':
		if m, ok = digits(s[4:6]); ok {
			l = 6
		}
	case len(s) >= 5 && s[3] >= '0' && s[3] <= '9':
		if m, ok = digits(s[3:5]); ok {
			l = 5
		}
	}
	off := h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	return time.FixedZone("", off), l, nil
}
