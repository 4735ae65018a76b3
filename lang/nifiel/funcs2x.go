package nifiel

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/connectplus/connectplus/lang/javatime"
)

// Functions added in NiFi 2.x. Their semantics follow NiFi's evaluators
// (UniqueEvaluator, CompactDelimitedListEvaluator, TrimDelimitedListEvaluator,
// PlusDurationEvaluator and friends, DateAmountParser, IsValidDateEvaluator,
// IsValidInstantEvaluator).

// listFunc is the shape of unique, compactDelimitedList and
// trimDelimitedList: a null subject gives "", a null or empty delimiter
// leaves the subject as it is, otherwise f gets the fields split on the
// delimiter (every field kept, as String.split(quote(d), -1) does).
func listFunc(f func(fields []string) []string) func(*call) (node, error) {
	return func(c *call) (node, error) {
		sub, delim := c.subjStr(), c.str(0)
		return strNodeOf(func(e env) (string, bool, error) {
			s, ok, err := sub.str(e)
			if err != nil {
				return "", false, err
			}
			if !ok {
				return "", true, nil
			}
			d, ok, err := delim.str(e)
			if err != nil {
				return "", false, err
			}
			if !ok || d == "" {
				return s, true, nil
			}
			return strings.Join(f(strings.Split(s, d)), d), true, nil
		}), nil
	}
}

// uniqueFields keeps the first occurrence of each field, in order.
func uniqueFields(fields []string) []string {
	seen := make(map[string]bool, len(fields))
	out := fields[:0]
	for _, f := range fields {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// compactFields drops every empty field.
func compactFields(fields []string) []string {
	out := fields[:0]
	for _, f := range fields {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// trimFields drops empty fields at both ends, keeping interior ones.
func trimFields(fields []string) []string {
	i, j := 0, len(fields)
	for i < j && fields[i] == "" {
		i++
	}
	for j > i && fields[j-1] == "" {
		j--
	}
	return fields[i:j]
}

// durationAmount is a parsed "<integer> <unit>" of DateAmountParser.
type durationAmount struct {
	n    int64
	unit string // singular: nanosecond, second, minute, hour, day, week, month, year
}

var durationPattern = regexp.MustCompile(`(?i)^\s*(\d+)\s+(nanoseconds?|seconds?|minutes?|hours?|days?|weeks?|months?|years?)\s*$`)

const durationFormat = "expected format: '<integer> <unit>' (e.g. '2 weeks', '1 month'); supported units: nanosecond(s), second(s), minute(s), hour(s), day(s), week(s), month(s), year(s)"

func parseDurationAmount(s string, ok bool) (durationAmount, error) {
	if !ok || strings.TrimSpace(s) == "" {
		return durationAmount{}, errors.New("amount expression cannot be null or empty; " + durationFormat)
	}
	m := durationPattern.FindStringSubmatch(s)
	if m == nil {
		return durationAmount{}, fmt.Errorf("invalid amount expression: '%s'; %s", s, durationFormat)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return durationAmount{}, fmt.Errorf("numeric overflow in expression: '%s'; %s", s, durationFormat)
	}
	unit := strings.ToLower(m[2])
	if len(unit) > 1 && strings.HasSuffix(unit, "s") {
		unit = unit[:len(unit)-1]
	}
	if (unit == "month" || unit == "year") && n > math.MaxInt32 {
		return durationAmount{}, fmt.Errorf("integer overflow in expression: '%s'", s)
	}
	return durationAmount{n: n, unit: unit}, nil
}

// apply adds (sign 1) or subtracts (sign -1) the amount as java.time does
// on a ZonedDateTime: nanoseconds to hours are exact durations, days and
// weeks move the local date keeping the wall-clock time, months and years
// move it clamping the day to the month's length.
func (d durationAmount) apply(t time.Time, sign int64) (time.Time, error) {
	n := d.n * sign
	switch d.unit {
	case "nanosecond":
		return t.Add(time.Duration(n)), nil
	case "second", "minute", "hour":
		per := map[string]int64{"second": 1, "minute": 60, "hour": 3600}[d.unit]
		if n > math.MaxInt64/per/1e9 || n < math.MinInt64/per/1e9 {
			return time.Unix(t.Unix()+n*per, int64(t.Nanosecond())).In(t.Location()), nil
		}
		return t.Add(time.Duration(n * per * 1e9)), nil
	case "day", "week":
		days := n
		if d.unit == "week" {
			days *= 7
		}
		return zonedLocal(t, t.Year(), t.Month(), t.Day()+int(days)), nil
	case "month", "year":
		months := n
		if d.unit == "year" {
			months *= 12
		}
		total := int64(t.Year())*12 + int64(t.Month()-1) + months
		y, m := int(total/12), time.Month(total%12+1)
		if total%12 < 0 {
			y, m = int((total-11)/12), time.Month((total%12+12)%12+1)
		}
		day := t.Day()
		if last := daysIn(y, m); day > last {
			day = last
		}
		return zonedLocal(t, y, m, day), nil
	}
	return t, fmt.Errorf("unsupported time unit '%s'", d.unit)
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// zonedLocal is ZonedDateTime.ofLocal(newDate at t's wall-clock time, zone,
// t's offset): in a gap the time moves forward by the gap's length, in an
// overlap the earlier offset is kept when it is still valid.
func zonedLocal(t time.Time, y int, m time.Month, d int) time.Time {
	loc := t.Location()
	r := time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
	_, off := t.Zone()
	if _, roff := r.Zone(); roff != off {
		// In an overlap the same wall-clock time exists at t's offset too;
		// java.time keeps that offset.
		cand := time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.FixedZone("", off)).In(loc)
		if _, coff := cand.Zone(); coff == off && cand.Hour() == t.Hour() && cand.Minute() == t.Minute() {
			return cand
		}
	}
	return r
}

// durationArg returns the amount of argument i; a literal is parsed once,
// and an invalid literal is a compile error.
func (c *call) durationArg(i int) (func(e env) (durationAmount, error), error) {
	if k, ok := c.args[i].(*constNode); ok {
		d, err := parseDurationAmount(k.s, !k.v.IsNull())
		if err != nil {
			return nil, err
		}
		return func(env) (durationAmount, error) { return d, nil }, nil
	}
	arg := c.str(i)
	at := c.site
	return func(e env) (durationAmount, error) {
		s, ok, err := arg.str(e)
		if err != nil {
			return durationAmount{}, err
		}
		d, err := parseDurationAmount(s, ok)
		if err != nil {
			return durationAmount{}, at.fail(err)
		}
		return d, nil
	}, nil
}

// zoneIDArg resolves the optional time zone argument i the way
// java.time.ZoneId.of does: an unknown zone is an error (a compile error
// for a literal), unlike the java.util.TimeZone lookup of format().
func (c *call) zoneIDArg(i int) (func(e env) (*time.Location, error), error) {
	if len(c.args) <= i {
		return func(e env) (*time.Location, error) { return e.cfg.loc, nil }, nil
	}
	if k, ok := c.args[i].(*constNode); ok && !k.v.IsNull() {
		loc, err := zoneID(k.s, c.c.cfg)
		if err != nil {
			return nil, err
		}
		return func(env) (*time.Location, error) { return loc, nil }, nil
	}
	arg := c.str(i)
	at := c.site
	return func(e env) (*time.Location, error) {
		s, ok, err := arg.str(e)
		if err != nil {
			return nil, err
		}
		if !ok {
			return e.cfg.loc, nil
		}
		loc, err := zoneID(s, e.cfg)
		if err != nil {
			return nil, at.fail(err)
		}
		return loc, nil
	}, nil
}

// zoneID is ZoneId.of: region IDs, Z, UTC/GMT/UT with or without an
// offset, and +hh:mm offsets; anything else is an invalid identifier.
func zoneID(id string, cfg *config) (*time.Location, error) {
	if id != "" && !strings.EqualFold(id, "local") {
		if l, ok := javatime.ResolveZone(id, cfg.loadZone); ok {
			return l, nil
		}
	}
	return nil, fmt.Errorf("invalid timezone identifier: %s", id)
}

func buildDateDuration(sign int64) func(*call) (node, error) {
	return func(c *call) (node, error) {
		sub, err := toDate(c.subj)
		if err != nil {
			return nil, err
		}
		amount, err := c.durationArg(0)
		if err != nil {
			return nil, err
		}
		zone, err := c.zoneIDArg(1)
		if err != nil {
			return nil, err
		}
		at := c.site
		return &vNode{t: TypeDate, fn: func(e env) (Value, error) {
			v, err := sub.eval(e)
			if err != nil || v.IsNull() {
				return Null, err
			}
			d, err := amount(e)
			if err != nil {
				return Null, err
			}
			loc, err := zone(e)
			if err != nil {
				return Null, err
			}
			t, err := d.apply(time.UnixMilli(v.i).In(loc), sign)
			if err != nil {
				return Null, at.fail(err)
			}
			return dateMillis(t.UnixMilli(), v.loc), nil
		}}, nil
	}
}

func buildInstantDuration(sign int64) func(*call) (node, error) {
	return func(c *call) (node, error) {
		sub, err := toInstantNode(c.subj)
		if err != nil {
			return nil, err
		}
		amount, err := c.durationArg(0)
		if err != nil {
			return nil, err
		}
		at := c.site
		return &vNode{t: TypeInstant, fn: func(e env) (Value, error) {
			v, err := sub.eval(e)
			if err != nil || v.IsNull() {
				return Null, err
			}
			d, err := amount(e)
			if err != nil {
				return Null, err
			}
			// Instants are moved in UTC.
			t, err := d.apply(time.Unix(v.i, int64(v.n)).UTC(), sign)
			if err != nil {
				return Null, at.fail(err)
			}
			return InstantValue(t), nil
		}}, nil
	}
}

// patternMapping is one "regex:replacement" entry of replaceByPattern.
type patternMapping struct {
	re   *regexp.Regexp
	repl string
}

// javaSplit is String.split with a literal one-character separator:
// trailing empty fields are dropped.
func javaSplit(s string, sep string) []string {
	f := strings.Split(s, sep)
	for len(f) > 1 && f[len(f)-1] == "" {
		f = f[:len(f)-1]
	}
	return f
}

// compilePatternMappings follows ReplaceByPatternEvaluator.compilePatterns:
// comma-separated "pattern:replacement" entries, each trimmed; entries with
// a blank pattern or replacement, or a pattern that does not compile, are
// skipped; an entry without ':' is an error.
func compilePatternMappings(arg string) ([]patternMapping, error) {
	if strings.TrimSpace(arg) == "" {
		return nil, nil
	}
	var out []patternMapping
	for _, m := range javaSplit(arg, ",") {
		parts := javaSplit(javaTrim(m), ":")
		if len(parts) < 2 {
			return nil, fmt.Errorf("replaceByPattern mapping %q has no ':replacement'", m)
		}
		pat, repl := parts[0], parts[1]
		if strings.TrimSpace(pat) == "" || strings.TrimSpace(repl) == "" {
			continue
		}
		re, err := compileJavaRegex(pat, true)
		if err != nil {
			continue
		}
		out = append(out, patternMapping{re: re, repl: repl})
	}
	return out, nil
}

// buildReplaceByPattern returns the replacement of the first pattern that
// matches the whole subject, else the subject.
func buildReplaceByPattern(c *call) (node, error) {
	sub := c.subjStr()
	var fixed []patternMapping
	literal := false
	if k, ok := c.args[0].(*constNode); ok && !k.v.IsNull() {
		m, err := compilePatternMappings(k.s)
		if err != nil {
			return nil, err
		}
		fixed, literal = m, true
	}
	arg := c.str(0)
	at := c.site
	return strNodeOf(func(e env) (string, bool, error) {
		s, ok, err := sub.str(e)
		if err != nil || !ok {
			return "", false, err
		}
		mappings := fixed
		if !literal {
			a, ok, err := arg.str(e)
			if err != nil {
				return "", false, err
			}
			if !ok {
				return s, true, nil
			}
			if mappings, err = compilePatternMappings(a); err != nil {
				return "", false, at.fail(err)
			}
		}
		for _, m := range mappings {
			if m.re.MatchString(s) {
				return m.repl, true, nil
			}
		}
		return s, true, nil
	}), nil
}

// isValidInstantText follows IsValidInstantEvaluator: the trimmed text is an
// ISO-8601 instant or offset date-time (seconds and fraction optional) or an
// RFC 1123 date-time.
func isValidInstantText(s string) bool {
	_, ok := parseInstantText(s)
	return ok
}

// parseInstantText parses the trimmed text with the formatter NiFi's
// InstantCastEvaluator and IsValidInstantEvaluator share: ISO_INSTANT,
// ISO_OFFSET_DATE_TIME or RFC_1123_DATE_TIME.
func parseInstantText(s string) (time.Time, bool) {
	s = javaTrim(s)
	for _, layout := range instantLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

var instantLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"Mon, 2 Jan 2006 15:04:05 GMT",
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04 GMT",
	"Mon, 2 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04:05 GMT",
	"2 Jan 2006 15:04:05 -0700",
}

func buildIsValidInstant(c *call) (node, error) {
	sub := c.subjStr()
	return boolNodeOf(func(e env) (bool, bool, error) {
		s, ok, err := sub.str(e)
		if err != nil {
			return false, false, err
		}
		return ok && isValidInstantText(s), true, nil
	}), nil
}

// buildIsValidDate approximates IsValidDateEvaluator: the trimmed subject
// must parse with the DateTimeFormatter pattern as a whole and name a real
// calendar date and, in a zone with daylight saving, an existing local
// time. The check parses, then formats the result with the same pattern
// and compares case-insensitively, so that a date the parser would roll
// over (31-02) or a time in a DST gap is rejected. A pattern without a year
// is checked in the leap year 2000, as NiFi does, so 29-02 is valid.
func buildIsValidDate(c *call) (node, error) {
	sub := c.subjStr()
	layout, err := c.layoutArg(0, true)
	if err != nil {
		return nil, err
	}
	zone, err := c.zoneIDArg(1)
	if err != nil {
		return nil, err
	}
	return boolNodeOf(func(e env) (bool, bool, error) {
		s, ok, err := sub.str(e)
		if err != nil {
			return false, false, err
		}
		if !ok {
			return false, true, nil
		}
		l, err := layout(e)
		if err != nil {
			return false, true, nil
		}
		loc, err := zone(e)
		if err != nil {
			return false, true, nil
		}
		s = javaTrim(s)
		ref := time.Date(2000, 1, 1, 0, 0, 0, 0, loc)
		t, err := l.ParseInYear(s, loc, ref, 2000)
		if err != nil {
			return false, true, nil
		}
		return strings.EqualFold(l.Format(t.In(loc)), s), true, nil
	}), nil
}
