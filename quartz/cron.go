// Package quartz parses Quartz cron expressions (the `cron_trigger`
// block's CronTrigger) and the UI's schedule presets, and computes fire
// times in a time zone. It is pure: the caller owns the clock.
package quartz

import (
	"errors"
	"fmt"
	"math/bits"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MinInterval is the documented minimum time between two runs of a dataflow.
const MinInterval = 5 * time.Minute

// Cron is a parsed Quartz expression:
// seconds minutes hours day-of-month month day-of-week [year].
type Cron struct {
	src                   string
	sec, min, hour        uint64 // bit sets
	dom                   uint64 // 1..31
	month                 uint64 // 1..12
	dow                   uint64 // 1..7 (1 = Sunday, as Quartz)
	domAny, dowAny        bool   // '?' or '*'
	lastDOM               bool   // L in day-of-month
	lastDOMOffset         int    // L-3
	nearestWeekday        int    // 15W (0: none)
	lastWeekdayOfMonth    bool   // LW
	dowLast               int    // 5L: last Friday of month (0: none)
	dowNth, dowNthWeekday int    // 6#3: third Friday
	years                 map[int]bool
}

var monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
var dayNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

// ParseError locates a problem in an expression.
type ParseError struct {
	Field string
	Msg   string
}

func (e *ParseError) Error() string {
	if e.Field == "" {
		return "cron: " + e.Msg
	}
	return fmt.Sprintf("cron: %s field: %s", e.Field, e.Msg)
}

// Parse parses a Quartz cron expression (6 or 7 fields).
func Parse(expr string) (*Cron, error) {
	fields := strings.Fields(strings.ToUpper(expr))
	if err := checkSyntax(fields); err != nil {
		return nil, err
	}
	c := &Cron{src: expr}
	var err error
	if c.sec, err = parseField(fields[0], "seconds", 0, 59, nil); err != nil {
		return nil, err
	}
	if c.min, err = parseField(fields[1], "minutes", 0, 59, nil); err != nil {
		return nil, err
	}
	if c.hour, err = parseField(fields[2], "hours", 0, 23, nil); err != nil {
		return nil, err
	}
	if err := c.parseDOM(fields[3]); err != nil {
		return nil, err
	}
	if c.month, err = parseField(fields[4], "month", 1, 12, monthNames); err != nil {
		return nil, err
	}
	if err := c.parseDOW(fields[5]); err != nil {
		return nil, err
	}
	domQ, dowQ := fields[3] == "?", fields[5] == "?"
	if domQ && dowQ {
		return nil, &ParseError{Field: "day-of-week", Msg: "'?' may stand in only one of day-of-month and day-of-week"}
	}
	if !domQ && !dowQ && fields[3] != "*" && fields[5] != "*" {
		// Quartz does not combine a day-of-month with a day-of-week.
		return nil, &ParseError{Field: "day-of-week", Msg: "specify day-of-month or day-of-week, and '?' in the other"}
	}
	if len(fields) == 7 && fields[6] != "*" {
		c.years = map[int]bool{}
		for _, part := range strings.Split(fields[6], ",") {
			lo, hi, step, err := parseRange(part, "year", 1970, 2199, nil)
			if err != nil {
				return nil, err
			}
			if hi < lo {
				return nil, &ParseError{Field: "year", Msg: fmt.Sprintf("range %q runs backwards", part)}
			}
			for y := lo; y <= hi; y += step {
				c.years[y] = true
			}
		}
	}
	return c, nil
}

// String returns the source expression.
func (c *Cron) String() string { return c.src }

func parseField(f, name string, lo, hi int, names map[string]int) (uint64, error) {
	if f == "?" {
		return 0, &ParseError{Field: name, Msg: "'?' is only allowed in day-of-month and day-of-week"}
	}
	var set uint64
	for _, part := range strings.Split(f, ",") {
		a, b, step, err := parseRange(part, name, lo, hi, names)
		if err != nil {
			return 0, err
		}
		// A range may wrap, as Quartz allows: 22-2 is 22,23,0,1,2 and
		// FRI-MON is FRI,SAT,SUN,MON.
		span := hi - lo + 1
		for k := 0; k <= (b-a+span)%span; k += step {
			set |= 1 << uint(lo+(a-lo+k)%span)
		}
	}
	return set, nil
}

func parseRange(part, name string, lo, hi int, names map[string]int) (a, b, step int, err error) {
	step = 1
	if base, s, ok := strings.Cut(part, "/"); ok {
		step, err = strconv.Atoi(s)
		if err != nil || step <= 0 {
			return 0, 0, 0, &ParseError{Field: name, Msg: fmt.Sprintf("bad step %q", s)}
		}
		part = base
		if part == "*" || part == "" {
			return lo, hi, step, nil
		}
		if !strings.Contains(part, "-") {
			a, err = value(part, name, lo, hi, names)
			return a, hi, step, err
		}
	}
	if part == "*" {
		return lo, hi, step, nil
	}
	if x, y, ok := strings.Cut(part, "-"); ok {
		if a, err = value(x, name, lo, hi, names); err != nil {
			return
		}
		if b, err = value(y, name, lo, hi, names); err != nil {
			return
		}
		return a, b, step, nil
	}
	a, err = value(part, name, lo, hi, names)
	return a, a, step, err
}

func value(s, name string, lo, hi int, names map[string]int) (int, error) {
	if v, ok := names[s]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, &ParseError{Field: name, Msg: fmt.Sprintf("%q is not a number", s)}
	}
	if v < lo || v > hi {
		return 0, &ParseError{Field: name, Msg: fmt.Sprintf("%d is out of range %d-%d", v, lo, hi)}
	}
	return v, nil
}

var (
	lastOffsetRE = regexp.MustCompile(`^L(-(\d+))?$`)
	weekdayRE    = regexp.MustCompile(`^(\d+)W$`)
	dowLastRE    = regexp.MustCompile(`^(\w+)L$`)
	dowNthRE     = regexp.MustCompile(`^(\w+)#(\d)$`)
)

func (c *Cron) parseDOM(f string) error {
	switch {
	case f == "?":
		c.domAny = true
		return nil
	case f == "*":
		c.domAny = true
		c.dom = ^uint64(0)
		return nil
	case f == "LW":
		c.lastWeekdayOfMonth = true
		return nil
	}
	if m := lastOffsetRE.FindStringSubmatch(f); m != nil {
		c.lastDOM = true
		if m[2] != "" {
			c.lastDOMOffset, _ = strconv.Atoi(m[2])
			if c.lastDOMOffset > 30 {
				return &ParseError{Field: "day-of-month", Msg: "offset from L must be at most 30"}
			}
		}
		return nil
	}
	if m := weekdayRE.FindStringSubmatch(f); m != nil {
		d, _ := strconv.Atoi(m[1])
		if d < 1 || d > 31 {
			return &ParseError{Field: "day-of-month", Msg: fmt.Sprintf("%d is out of range 1-31", d)}
		}
		c.nearestWeekday = d
		return nil
	}
	set, err := parseField(f, "day-of-month", 1, 31, nil)
	c.dom = set
	return err
}

func (c *Cron) parseDOW(f string) error {
	switch f {
	case "?":
		c.dowAny = true
		return nil
	case "*":
		c.dowAny = true
		c.dow = ^uint64(0)
		return nil
	case "L":
		c.dow = 1 << 7 // Saturday, as Quartz reads a bare L
		return nil
	}
	if m := dowLastRE.FindStringSubmatch(f); m != nil {
		d, err := value(m[1], "day-of-week", 1, 7, dayNames)
		if err != nil {
			return err
		}
		c.dowLast = d
		return nil
	}
	if m := dowNthRE.FindStringSubmatch(f); m != nil {
		d, err := value(m[1], "day-of-week", 1, 7, dayNames)
		if err != nil {
			return err
		}
		n, _ := strconv.Atoi(m[2])
		if n < 1 || n > 5 {
			return &ParseError{Field: "day-of-week", Msg: "the nth occurrence must be 1-5"}
		}
		c.dowNth, c.dowNthWeekday = n, d
		return nil
	}
	set, err := parseField(f, "day-of-week", 1, 7, dayNames)
	c.dow = set
	return err
}

func has(set uint64, v int) bool { return set&(1<<uint(v)) != 0 }

// dayMatches reports whether the calendar day of t fires.
func (c *Cron) dayMatches(t time.Time) bool {
	y, m, d := t.Date()
	if c.years != nil && !c.years[y] {
		return false
	}
	if !has(c.month, int(m)) {
		return false
	}
	last := time.Date(y, m+1, 0, 12, 0, 0, 0, time.UTC).Day()
	wd := int(t.Weekday()) + 1 // Quartz: 1 = Sunday
	domOK := true
	switch {
	case c.lastDOM:
		domOK = d == last-c.lastDOMOffset
	case c.lastWeekdayOfMonth:
		domOK = d == nearestWeekday(y, m, last, last)
	case c.nearestWeekday > 0:
		domOK = d == nearestWeekday(y, m, min(c.nearestWeekday, last), last)
	case !c.domAny:
		domOK = has(c.dom, d)
	}
	dowOK := true
	switch {
	case c.dowLast > 0:
		dowOK = wd == c.dowLast && d+7 > last
	case c.dowNth > 0:
		dowOK = wd == c.dowNthWeekday && (d-1)/7+1 == c.dowNth
	case !c.dowAny:
		dowOK = has(c.dow, wd)
	}
	return domOK && dowOK
}

// nearestWeekday is Quartz's W: the weekday nearest to day d, not crossing
// into another month.
func nearestWeekday(y int, m time.Month, d, last int) int {
	t := time.Date(y, m, d, 12, 0, 0, 0, time.UTC)
	switch t.Weekday() {
	case time.Saturday:
		if d == 1 {
			return 3
		}
		return d - 1
	case time.Sunday:
		if d == last {
			return d - 2
		}
		return d + 1
	}
	return d
}

// ErrNoMoreFires is returned when an expression will never fire again
// (e.g. a year list in the past).
var ErrNoMoreFires = errors.New("cron: the expression never fires again")

// Next returns the first fire time strictly after t, in t's location.
// Wall-clock times that a DST change skips are skipped; a repeated hour
// fires once (its first occurrence), as Quartz does.
func (c *Cron) Next(t time.Time) (time.Time, error) {
	loc := t.Location()
	t = t.Truncate(time.Second).Add(time.Second)
	limit := t.AddDate(8, 0, 0)
	for day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc); day.Before(limit); day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc) {
		if !c.dayMatches(day) {
			continue
		}
		for h := 0; h < 24; h++ {
			if !has(c.hour, h) {
				continue
			}
			for mi := 0; mi < 60; mi++ {
				if !has(c.min, mi) {
					continue
				}
				for s := 0; s < 60; s++ {
					if !has(c.sec, s) {
						continue
					}
					cand := time.Date(day.Year(), day.Month(), day.Day(), h, mi, s, 0, loc)
					if cand.Hour() != h || cand.Minute() != mi {
						continue // this wall-clock time does not exist (DST gap)
					}
					if cand.Before(t) {
						continue
					}
					return cand, nil
				}
			}
		}
	}
	return time.Time{}, ErrNoMoreFires
}

// MinGap returns the smallest interval between consecutive fire times over
// the next year from `from` (sampling up to 10,000 fires).
func (c *Cron) MinGap(from time.Time) time.Duration {
	// Fast path: several seconds in a set imply a short gap.
	if bits.OnesCount64(c.sec) > 1 {
		inside, wrap := setGaps(c.sec)
		return time.Duration(min(inside, wrap)) * time.Second
	}
	// Fast path for one second and several minutes (0 0/15 * * * ?, the
	// usual schedule): every hour that fires holds all the minutes, so the
	// smallest gap inside an hour occurs, and a gap across an hour boundary
	// is at least the wrap-around gap (60 - last + first minutes). When that
	// is not smaller, the inside gap is the answer, without sampling 10,000
	// fires (~40 ms at the start of every connectplus run, which validates
	// its trigger). In UTC only: a zone's clock change can shorten a gap.
	if from.Location() == time.UTC && bits.OnesCount64(c.sec) == 1 && bits.OnesCount64(c.min) > 1 {
		if inside, wrap := setGaps(c.min); wrap >= inside {
			if first, err := c.Next(from); err == nil && first.Before(from.AddDate(1, 0, 0)) {
				return time.Duration(inside) * time.Minute
			}
		}
	}
	return c.sampledMinGap(from)
}

// sampledMinGap is MinGap by sampling: the smallest interval between up to
// 10,000 consecutive fires over the next year from `from` (0 when none).
func (c *Cron) sampledMinGap(from time.Time) time.Duration {
	prev, err := c.Next(from)
	if err != nil {
		return 0
	}
	best := time.Duration(0)
	end := from.AddDate(1, 0, 0)
	for i := 0; i < 10000 && prev.Before(end); i++ {
		n, err := c.Next(prev)
		if err != nil {
			break
		}
		if g := n.Sub(prev); best == 0 || g < best {
			best = g
		}
		prev = n
	}
	return best
}

// setGaps returns the smallest distance between two values of a 0..59 set
// with at least two values, and the wrap-around distance from its last value
// to its first (60 - last + first).
func setGaps(set uint64) (inside, wrap int) {
	inside, first, last := 64, -1, -1
	for v := 0; v < 60; v++ {
		if !has(set, v) {
			continue
		}
		if first < 0 {
			first = v
		}
		if last >= 0 && v-last < inside {
			inside = v - last
		}
		last = v
	}
	return inside, 60 - last + first
}

// CheckSyntax reports whether expr is a well-formed Quartz expression,
// without the minimum-interval rule: what `connectplus validate` checks
// when no scheduler policy is plugged in.
func CheckSyntax(expr string) error {
	_, err := Parse(expr)
	return err
}

// Check parses expr and enforces the minimum interval between runs.
func Check(expr string) error {
	c, err := Parse(expr)
	if err != nil {
		return err
	}
	if g := c.MinGap(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); g > 0 && g < MinInterval {
		return fmt.Errorf("cron: %q fires every %s; the minimum interval between runs is %s", expr, g, MinInterval)
	}
	return nil
}
