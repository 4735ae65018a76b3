package jslt

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file implements the subset of java.text.SimpleDateFormat that
// parse-time and format-time need. It is deliberately local to the
// package: the reference's semantics (lenient parsing, trailing text
// ignored, UTC default) are JSLT's, not a general date library's.

// dateItem is one element of a compiled pattern: a literal or a field
// letter repeated count times.
type dateItem struct {
	lit    string
	letter byte
	count  int
}

// javaPatternLetters are the letters SimpleDateFormat knows; any other
// ASCII letter outside quotes is an error, as in Java.
const javaPatternLetters = "GyYMLwWDdFEuaHkKhmsSzZX"

func compileDatePattern(p string) ([]dateItem, error) {
	var items []dateItem
	addLit := func(s string) {
		if n := len(items); n > 0 && items[n-1].letter == 0 {
			items[n-1].lit += s
			return
		}
		items = append(items, dateItem{lit: s})
	}
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '\'':
			if i+1 < len(p) && p[i+1] == '\'' {
				addLit("'")
				i += 2
				continue
			}
			end := i + 1
			var lit strings.Builder
			for {
				if end >= len(p) {
					return nil, fmt.Errorf("Unterminated quote")
				}
				if p[end] == '\'' {
					if end+1 < len(p) && p[end+1] == '\'' {
						lit.WriteByte('\'')
						end += 2
						continue
					}
					break
				}
				lit.WriteByte(p[end])
				end++
			}
			addLit(lit.String())
			i = end + 1
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			if strings.IndexByte(javaPatternLetters, c) < 0 {
				return nil, fmt.Errorf("Illegal pattern character '%c'", c)
			}
			n := 1
			for i+n < len(p) && p[i+n] == c {
				n++
			}
			items = append(items, dateItem{letter: c, count: n})
			i += n
		default:
			addLit(p[i : i+1])
			i++
		}
	}
	return items, nil
}

var (
	longMonths  = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	longDays    = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	shortMonths = abbreviate(longMonths)
	shortDays   = abbreviate(longDays)
)

func abbreviate(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n[:3]
	}
	return out
}

func pad(b []byte, v, width int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	s := strconv.Itoa(v)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// formatDate formats t (already in the target zone) with the pattern.
func formatDate(items []dateItem, t time.Time, zoneID string) string {
	var b []byte
	for _, it := range items {
		if it.letter == 0 {
			b = append(b, it.lit...)
			continue
		}
		n := it.count
		switch it.letter {
		case 'G':
			if t.Year() > 0 {
				b = append(b, "AD"...)
			} else {
				b = append(b, "BC"...)
			}
		case 'y', 'Y':
			y := t.Year()
			if it.letter == 'Y' {
				y, _ = t.ISOWeek()
			}
			if n == 2 {
				b = pad(b, y%100, 2)
			} else {
				b = pad(b, y, n)
			}
		case 'M', 'L':
			switch {
			case n >= 4:
				b = append(b, longMonths[t.Month()-1]...)
			case n == 3:
				b = append(b, shortMonths[t.Month()-1]...)
			default:
				b = pad(b, int(t.Month()), n)
			}
		case 'w':
			_, w := t.ISOWeek()
			b = pad(b, w, n)
		case 'W':
			b = pad(b, (t.Day()+int(t.AddDate(0, 0, 1-t.Day()).Weekday())-1)/7+1, n)
		case 'D':
			b = pad(b, t.YearDay(), n)
		case 'd':
			b = pad(b, t.Day(), n)
		case 'F':
			b = pad(b, (t.Day()-1)/7+1, n)
		case 'E':
			if n >= 4 {
				b = append(b, longDays[t.Weekday()]...)
			} else {
				b = append(b, shortDays[t.Weekday()]...)
			}
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			b = pad(b, wd, n)
		case 'a':
			if t.Hour() < 12 {
				b = append(b, "AM"...)
			} else {
				b = append(b, "PM"...)
			}
		case 'H':
			b = pad(b, t.Hour(), n)
		case 'k':
			h := t.Hour()
			if h == 0 {
				h = 24
			}
			b = pad(b, h, n)
		case 'K':
			b = pad(b, t.Hour()%12, n)
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			b = pad(b, h, n)
		case 'm':
			b = pad(b, t.Minute(), n)
		case 's':
			b = pad(b, t.Second(), n)
		case 'S':
			b = pad(b, t.Nanosecond()/1e6, n)
		case 'z':
			b = append(b, zoneName(t, zoneID)...)
		case 'Z':
			_, off := t.Zone()
			b = appendOffset(b, off, false, false)
		case 'X':
			_, off := t.Zone()
			if off == 0 {
				b = append(b, 'Z')
			} else {
				b = appendOffset(b, off, n == 3, n == 1)
			}
		}
	}
	return string(b)
}

// zoneName is what Java prints for 'z': the zone's short name, or
// GMT+hh:mm for zones that have none.
func zoneName(t time.Time, zoneID string) string {
	name, off := t.Zone()
	if zoneID == "UTC" || zoneID == "GMT" {
		return zoneID
	}
	if name == "" || name[0] == '+' || name[0] == '-' {
		b := appendOffset([]byte("GMT"), off, true, false)
		return string(b)
	}
	return name
}

func appendOffset(b []byte, off int, colon, hoursOnly bool) []byte {
	sign := byte('+')
	if off < 0 {
		sign = '-'
		off = -off
	}
	b = append(b, sign)
	b = pad(b, off/3600, 2)
	if hoursOnly {
		return b
	}
	if colon {
		b = append(b, ':')
	}
	return pad(b, off/60%60, 2)
}

// javaShortIDs are the three-letter zone IDs Java accepts that the IANA
// database does not have (or means differently), from ZoneId.SHORT_IDS and
// java.util.TimeZone's legacy fixed zones.
var javaShortIDs = map[string]string{
	"ACT": "Australia/Darwin", "AET": "Australia/Sydney", "AGT": "America/Argentina/Buenos_Aires",
	"ART": "Africa/Cairo", "AST": "America/Anchorage", "BET": "America/Sao_Paulo",
	"BST": "Asia/Dhaka", "CAT": "Africa/Harare", "CNT": "America/St_Johns",
	"CST": "America/Chicago", "CTT": "Asia/Shanghai", "EAT": "Africa/Addis_Ababa",
	"ECT": "Europe/Paris", "IET": "America/Indiana/Indianapolis", "IST": "Asia/Kolkata",
	"JST": "Asia/Tokyo", "MIT": "Pacific/Apia", "NET": "Asia/Yerevan",
	"NST": "Pacific/Auckland", "PLT": "Asia/Karachi", "PNT": "America/Phoenix",
	"PRT": "America/Puerto_Rico", "PST": "America/Los_Angeles", "SST": "Pacific/Guadalcanal",
	"VST": "Asia/Ho_Chi_Minh",
}

// fixedZones are zones Java treats as fixed offsets and that the
// formatter and parser know without a zone database.
var fixedZones = map[string]int{
	"UTC": 0, "GMT": 0, "UT": 0, "Z": 0, "EST": -5 * 3600, "MST": -7 * 3600, "HST": -10 * 3600,
}

// loadZone resolves a Java time-zone ID.
func (cfg *config) loadZone(name string) (*time.Location, bool) {
	if off, ok := fixedZones[name]; ok {
		return time.FixedZone(name, off), true
	}
	if off, ok := parseGMTOffset(name); ok {
		return time.FixedZone(name, off), true
	}
	if canon, ok := javaShortIDs[name]; ok {
		name = canon
	}
	if name == "" || name == "Local" || strings.Contains(name, "..") {
		return nil, false
	}
	loc, err := cfg.zones(name)
	if err != nil || loc == nil {
		return nil, false
	}
	return loc, true
}

// parseGMTOffset accepts Java's custom zone IDs: GMT+h, GMT+hh:mm, GMT+hhmm.
func parseGMTOffset(s string) (int, bool) {
	rest, ok := strings.CutPrefix(s, "GMT")
	if !ok {
		rest, ok = strings.CutPrefix(s, "UTC")
	}
	if !ok || rest == "" {
		return 0, false
	}
	off, n := parseNumericOffset(rest)
	return off, n == len(rest)
}

// parseNumericOffset reads +hh, +hhmm or +hh:mm (and +h) and returns the
// offset in seconds and the bytes consumed (0 if none).
func parseNumericOffset(s string) (int, int) {
	if s == "" || (s[0] != '+' && s[0] != '-') {
		return 0, 0
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	i := 1
	d := digitsLen(s[i:])
	if d == 0 || d > 4 {
		return 0, 0
	}
	var h, m int
	switch d {
	case 1, 2:
		h, _ = strconv.Atoi(s[i : i+d])
		i += d
		if i+2 < len(s)+0 && s[i] == ':' && digitsLen(s[i+1:]) >= 2 {
			m, _ = strconv.Atoi(s[i+1 : i+3])
			i += 3
		}
	case 3, 4:
		h, _ = strconv.Atoi(s[i : i+d-2])
		m, _ = strconv.Atoi(s[i+d-2 : i+d])
		i += d
	}
	if h > 23 || m > 59 {
		return 0, 0
	}
	return sign * (h*3600 + m*60), i
}

// zoneAbbreviations maps the short names Java's parser recognises for
// 'z' and 'Z' to their offsets, for the zones in common use.
var zoneAbbreviations = map[string]int{
	"UTC": 0, "GMT": 0, "UT": 0, "WET": 0, "WEST": 3600, "BST": 3600, "CET": 3600,
	"CEST": 7200, "MET": 3600, "MEST": 7200, "EET": 7200, "EEST": 10800, "MSK": 10800,
	"IST": 19800, "PKT": 18000, "ICT": 25200, "WIB": 25200, "SGT": 28800, "HKT": 28800,
	"CST": -6 * 3600, "CDT": -5 * 3600, "EST": -5 * 3600, "EDT": -4 * 3600,
	"MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
	"AKST": -9 * 3600, "AKDT": -8 * 3600, "HST": -10 * 3600, "JST": 9 * 3600,
	"KST": 9 * 3600, "AEST": 10 * 3600, "AEDT": 11 * 3600, "NZST": 12 * 3600, "NZDT": 13 * 3600,
}

// zoneNames are the named zones whose rules (and so DST) we apply when a
// parsed date names them, as Java does for "CET" and friends.
var zoneNames = map[string]string{"CET": "CET", "MET": "MET", "EET": "EET", "WET": "WET"}

type dateParser struct {
	s   string
	i   int
	cfg *config
	now time.Time
}

var errUnparseable = fmt.Errorf("unparseable")

// parseDate parses s with the pattern; the zone defaults to UTC. Text after
// the pattern is ignored, as DateFormat.parse does.
func parseDate(items []dateItem, s string, cfg *config) (time.Time, error) {
	p := &dateParser{s: s, cfg: cfg, now: cfg.clock()}
	year, month, day := 1970, 1, 1
	hour, minute, sec, ms := 0, 0, 0, 0
	pm, hasAmPm, h12 := false, false, false
	var loc *time.Location = time.UTC
	bc := false
	for idx, it := range items {
		if it.letter == 0 {
			if !strings.HasPrefix(p.s[p.i:], it.lit) {
				return time.Time{}, errUnparseable
			}
			p.i += len(it.lit)
			continue
		}
		// a numeric field followed directly by another numeric field takes
		// exactly count digits ("yyyyMMdd")
		width := 0
		if idx+1 < len(items) && isNumericField(items[idx+1]) {
			width = it.count
		}
		var err error
		var v int
		switch it.letter {
		case 'G':
			switch {
			case strings.HasPrefix(p.s[p.i:], "AD"):
				p.i += 2
			case strings.HasPrefix(p.s[p.i:], "BC"):
				p.i += 2
				bc = true
			default:
				return time.Time{}, errUnparseable
			}
		case 'y', 'Y':
			start := p.i
			if v, err = p.number(width); err != nil {
				return time.Time{}, err
			}
			if it.count <= 2 && p.i-start == 2 {
				// two-digit years fall within 80 years before and 20 after now
				base := p.now.Year() - 80
				v += base / 100 * 100
				if v < base {
					v += 100
				}
			}
			year = v
		case 'M', 'L':
			if it.count >= 3 {
				if v, err = p.name(longMonths, shortMonths); err != nil {
					return time.Time{}, err
				}
				month = v + 1
			} else {
				if month, err = p.number(width); err != nil {
					return time.Time{}, err
				}
			}
		case 'E':
			if _, err = p.name(longDays, shortDays); err != nil {
				return time.Time{}, err
			}
		case 'a':
			switch {
			case strings.HasPrefix(strings.ToUpper(p.s[p.i:min(len(p.s), p.i+2)]), "AM"):
				p.i += 2
			case strings.HasPrefix(strings.ToUpper(p.s[p.i:min(len(p.s), p.i+2)]), "PM"):
				p.i += 2
				pm = true
			default:
				return time.Time{}, errUnparseable
			}
			hasAmPm = true
		case 'd':
			if day, err = p.number(width); err != nil {
				return time.Time{}, err
			}
		case 'D':
			if v, err = p.number(width); err != nil {
				return time.Time{}, err
			}
			month, day = 1, v
		case 'H', 'k':
			if hour, err = p.number(width); err != nil {
				return time.Time{}, err
			}
			if it.letter == 'k' && hour == 24 {
				hour = 0
			}
		case 'h', 'K':
			if hour, err = p.number(width); err != nil {
				return time.Time{}, err
			}
			h12 = true
			if it.letter == 'h' && hour == 12 {
				hour = 0
			}
		case 'm':
			if minute, err = p.number(width); err != nil {
				return time.Time{}, err
			}
		case 's':
			if sec, err = p.number(width); err != nil {
				return time.Time{}, err
			}
		case 'S':
			if ms, err = p.number(width); err != nil {
				return time.Time{}, err
			}
		case 'w', 'W', 'F', 'u':
			if _, err = p.number(width); err != nil {
				return time.Time{}, err
			}
		case 'z', 'Z', 'X':
			if loc, err = p.zone(it.letter); err != nil {
				return time.Time{}, err
			}
		}
	}
	if hasAmPm && h12 && pm {
		hour += 12
	} else if hasAmPm && pm && hour < 12 {
		hour += 12
	}
	if bc {
		year = 1 - year
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, loc).Add(time.Duration(ms) * time.Millisecond), nil
}

func isNumericField(it dateItem) bool {
	if it.letter == 0 {
		return false
	}
	switch it.letter {
	case 'M', 'L':
		return it.count < 3
	case 'y', 'Y', 'd', 'D', 'H', 'k', 'K', 'h', 'm', 's', 'S', 'w', 'W', 'F', 'u':
		return true
	}
	return false
}

func (p *dateParser) number(width int) (int, error) {
	rest := p.s[p.i:]
	neg := false
	if rest != "" && rest[0] == '-' && width == 0 {
		neg = true
		rest = rest[1:]
	}
	n := digitsLen(rest)
	if width > 0 && n > width {
		n = width
	}
	if n == 0 || n > 9 {
		return 0, errUnparseable
	}
	v, _ := strconv.Atoi(rest[:n])
	p.i += n
	if neg {
		p.i++
		v = -v
	}
	return v, nil
}

func (p *dateParser) name(long, short []string) (int, error) {
	rest := strings.ToLower(p.s[p.i:])
	for _, names := range [][]string{long, short} {
		for i, nm := range names {
			if strings.HasPrefix(rest, strings.ToLower(nm)) {
				p.i += len(nm)
				return i, nil
			}
		}
	}
	return 0, errUnparseable
}

// zone parses a zone for z, Z or X: ISO "Z" (X only), a numeric offset,
// GMT+hh:mm, or a zone name or abbreviation (z and Z).
func (p *dateParser) zone(letter byte) (*time.Location, error) {
	rest := p.s[p.i:]
	if letter == 'X' && strings.HasPrefix(rest, "Z") {
		p.i++
		return time.UTC, nil
	}
	if off, n := parseNumericOffset(rest); n > 0 {
		p.i += n
		return time.FixedZone("", off), nil
	}
	if letter == 'X' {
		return nil, errUnparseable
	}
	for _, prefix := range []string{"GMT", "UTC"} {
		if strings.HasPrefix(rest, prefix) {
			if off, n := parseNumericOffset(rest[len(prefix):]); n > 0 {
				p.i += len(prefix) + n
				return time.FixedZone("", off), nil
			}
		}
	}
	n := 0
	for n < len(rest) && (rest[n] >= 'A' && rest[n] <= 'Z' || rest[n] >= 'a' && rest[n] <= 'z' || rest[n] == '/' || rest[n] == '_') {
		n++
	}
	// longest abbreviation that is a prefix of the remaining text
	for l := n; l >= 1; l-- {
		name := rest[:l]
		if id, ok := zoneNames[name]; ok {
			if loc, ok := p.cfg.loadZone(id); ok {
				p.i += l
				return loc, nil
			}
		}
		if off, ok := zoneAbbreviations[name]; ok {
			p.i += l
			return time.FixedZone(name, off), nil
		}
		if strings.Contains(name, "/") {
			if loc, ok := p.cfg.loadZone(name); ok {
				p.i += l
				return loc, nil
			}
		}
	}
	return nil, errUnparseable
}

// epochSeconds is the reference's representation of instants: seconds
// since the epoch as a double with millisecond precision.
func epochSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000.0 }

func fnParseTime(c *ctx, call *callNode, _ any, a []any) any {
	if a[0] == nil {
		return nil
	}
	text := toStr(a[0])
	format := toStr(a[1])
	items, err := compileDatePattern(format)
	if err != nil {
		panic(call.pos.errorf("parse-time: Couldn't parse format '%s': %v", format, err))
	}
	t, err := parseDate(items, text, c.expr.cfg)
	if err != nil {
		if len(a) > 2 {
			return a[2]
		}
		panic(call.pos.errorf("parse-time: Unparseable date: \"%s\"", text))
	}
	return epochSeconds(t)
}

func fnFormatTime(c *ctx, call *callNode, _ any, a []any) any {
	var ts float64
	switch x := a[0].(type) {
	case int64:
		ts = float64(x)
	case float64:
		ts = x
	case string:
		n, ok := parseNumber(x)
		if !ok {
			panic(call.pos.errorf("number(%s) failed: not a number", x))
		}
		ts = toFloat(n)
	default:
		return nil
	}
	format := toStr(a[1])
	loc, zoneID := time.UTC, "UTC"
	if len(a) == 3 {
		zoneID = toStr(a[2])
		l, ok := c.expr.cfg.loadZone(zoneID)
		if !ok {
			panic(call.pos.errorf("format-time: Unknown timezone %s", zoneID))
		}
		loc = l
	}
	items, err := compileDatePattern(format)
	if err != nil {
		panic(call.pos.errorf("format-time: Couldn't parse format '%s': %v", format, err))
	}
	// Math.round(timestamp * 1000): nearest millisecond, halves up
	f := ts * 1000
	r := math.Floor(f)
	if f-r >= 0.5 {
		r++
	}
	t := time.UnixMilli(javaLong(r)).In(loc)
	return formatDate(items, t, zoneID)
}
