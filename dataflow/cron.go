package dataflow

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// CheckQuartzCron checks the syntax of a Quartz cron expression: 6 or 7
// fields (seconds, minutes, hours, day-of-month, month, day-of-week, optional
// year) with lists, ranges, steps, month and day names, and the special
// characters ? L W #. As in Quartz, exactly one of day-of-month and
// day-of-week must be '?'. It checks syntax only; the runtime's scheduler
// decides the minimum interval.
func CheckQuartzCron(expr string) error {
	fields := strings.Fields(expr)
	if len(fields) != 6 && len(fields) != 7 {
		return fmt.Errorf("a Quartz cron expression has 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]), got %d", len(fields))
	}
	for i, f := range fields {
		if err := cronFields[i].check(f); err != nil {
			return fmt.Errorf("%s field %q: %w", cronFields[i].name, f, err)
		}
	}
	dom, dow := fields[3] == "?", fields[5] == "?"
	switch {
	case dom && dow:
		return fmt.Errorf("'?' may be given for day-of-month or day-of-week, not both")
	case !dom && !dow:
		return fmt.Errorf("one of day-of-month and day-of-week must be '?' (e.g. \"0 0 12 * * ?\")")
	}
	return nil
}

type cronField struct {
	name     string
	min, max int
	names    map[string]int
	// special reports whether a whole list item is one of the field's
	// special forms (L, W, #), checked before the generic syntax.
	special func(item string, f *cronField) (bool, error)
	allowQ  bool
}

var monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
var dayNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

var (
	domSpecialRE = regexp.MustCompile(`^(L(-[0-9]{1,2})?W?|[0-9]{1,2}W)$`)
	dowLastRE    = regexp.MustCompile(`^([0-9]|[A-Za-z]{3})L$`)
	dowNthRE     = regexp.MustCompile(`^([0-9]|[A-Za-z]{3})#([0-9])$`)
)

var cronFields = [7]cronField{
	{name: "seconds", min: 0, max: 59},
	{name: "minutes", min: 0, max: 59},
	{name: "hours", min: 0, max: 23},
	{name: "day-of-month", min: 1, max: 31, allowQ: true, special: func(item string, f *cronField) (bool, error) {
		if !domSpecialRE.MatchString(item) {
			return false, nil
		}
		digits := strings.Trim(item, "LW-")
		if digits == "" {
			return true, nil
		}
		n, _ := strconv.Atoi(digits)
		if strings.HasPrefix(item, "L-") {
			if n > 30 {
				return true, fmt.Errorf("offset from the last day must be at most 30")
			}
			return true, nil
		}
		if n < f.min || n > f.max {
			return true, fmt.Errorf("day %d out of range 1-31", n)
		}
		return true, nil
	}},
	{name: "month", min: 1, max: 12, names: monthNames},
	{name: "day-of-week", min: 1, max: 7, names: dayNames, allowQ: true, special: func(item string, f *cronField) (bool, error) {
		if item == "L" {
			return true, nil
		}
		if m := dowLastRE.FindStringSubmatch(item); m != nil {
			_, err := f.value(m[1])
			return true, err
		}
		if m := dowNthRE.FindStringSubmatch(item); m != nil {
			if _, err := f.value(m[1]); err != nil {
				return true, err
			}
			if n, _ := strconv.Atoi(m[2]); n < 1 || n > 5 {
				return true, fmt.Errorf("the week number after '#' must be 1-5")
			}
			return true, nil
		}
		return false, nil
	}},
	{name: "year", min: 1970, max: 2099},
}

func (f *cronField) check(s string) error {
	if s == "?" {
		if !f.allowQ {
			return fmt.Errorf("'?' is only allowed in day-of-month and day-of-week")
		}
		return nil
	}
	items := strings.Split(s, ",")
	for _, item := range items {
		if item == "" {
			return fmt.Errorf("empty list item")
		}
		if f.special != nil {
			if ok, err := f.special(item, f); ok {
				if err == nil && len(items) > 1 && strings.ContainsAny(item, "LW#") {
					return fmt.Errorf("%q cannot be combined with other values", item)
				}
				if err != nil {
					return err
				}
				continue
			}
		}
		if err := f.item(item); err != nil {
			return err
		}
	}
	return nil
}

// item checks "*", "v", "a-b", each optionally followed by "/step".
func (f *cronField) item(item string) error {
	base, step, hasStep := strings.Cut(item, "/")
	if hasStep {
		n, err := strconv.Atoi(step)
		if err != nil || n <= 0 {
			return fmt.Errorf("step %q must be a positive number", step)
		}
		if n > f.max-f.min+1 && f.name != "year" {
			return fmt.Errorf("step %d is larger than the field's range %d-%d", n, f.min, f.max)
		}
	}
	if base == "*" {
		return nil
	}
	lo, hi, isRange := strings.Cut(base, "-")
	if _, err := f.value(lo); err != nil {
		return err
	}
	if isRange {
		// Quartz accepts wrapping ranges such as FRI-MON or 22-2.
		if _, err := f.value(hi); err != nil {
			return err
		}
	}
	return nil
}

func (f *cronField) value(s string) (int, error) {
	if f.names != nil {
		if v, ok := f.names[strings.ToUpper(s)]; ok {
			return v, nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || s == "" || s[0] == '+' || s[0] == '-' {
		if f.names != nil {
			return 0, fmt.Errorf("%q is not a number or name", s)
		}
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n < f.min || n > f.max {
		return 0, fmt.Errorf("%d out of range %d-%d", n, f.min, f.max)
	}
	return n, nil
}

var (
	presetEveryRE   = regexp.MustCompile(`^every (\d{1,2}) minutes?$`)
	presetHourlyRE  = regexp.MustCompile(`^hourly at :(\d{2})$`)
	presetDailyRE   = regexp.MustCompile(`^daily at (\d{1,2}):(\d{2})$`)
	presetWeekdayRE = regexp.MustCompile(`^weekdays at (\d{1,2}):(\d{2})$`)
	presetWeeklyRE  = regexp.MustCompile(`^weekly on ([a-z]+) at (\d{1,2}):(\d{2})$`)
)

var weekdays = map[string]string{
	"monday": "MON", "tuesday": "TUE", "wednesday": "WED", "thursday": "THU",
	"friday": "FRI", "saturday": "SAT", "sunday": "SUN",
	"mon": "MON", "tue": "TUE", "wed": "WED", "thu": "THU", "fri": "FRI", "sat": "SAT", "sun": "SUN",
}

// PresetCron converts a UI schedule preset into the Quartz cron expression
// it stands for: "every N minutes" (1–59), "hourly at :MM", "daily at HH:MM",
// "weekdays at HH:MM", "weekly on DAY at HH:MM" (DAY: monday… or mon…).
// Matching is case-insensitive.
func PresetCron(preset string) (string, error) {
	p := strings.ToLower(strings.Join(strings.Fields(preset), " "))
	hm := func(h, m string) (int, int, error) {
		hh, _ := strconv.Atoi(h)
		mm, _ := strconv.Atoi(m)
		if hh > 23 || mm > 59 {
			return 0, 0, fmt.Errorf("preset %q: time %s:%s out of range", preset, h, m)
		}
		return hh, mm, nil
	}
	if m := presetEveryRE.FindStringSubmatch(p); m != nil {
		n, _ := strconv.Atoi(m[1])
		if n < 1 || n > 59 {
			return "", fmt.Errorf("preset %q: minutes must be 1-59", preset)
		}
		return fmt.Sprintf("0 0/%d * * * ?", n), nil
	}
	if m := presetHourlyRE.FindStringSubmatch(p); m != nil {
		mm, _ := strconv.Atoi(m[1])
		if mm > 59 {
			return "", fmt.Errorf("preset %q: minute out of range", preset)
		}
		return fmt.Sprintf("0 %d * * * ?", mm), nil
	}
	if m := presetDailyRE.FindStringSubmatch(p); m != nil {
		hh, mm, err := hm(m[1], m[2])
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("0 %d %d * * ?", mm, hh), nil
	}
	if m := presetWeekdayRE.FindStringSubmatch(p); m != nil {
		hh, mm, err := hm(m[1], m[2])
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("0 %d %d ? * MON-FRI", mm, hh), nil
	}
	if m := presetWeeklyRE.FindStringSubmatch(p); m != nil {
		day, ok := weekdays[m[1]]
		if !ok {
			return "", fmt.Errorf("preset %q: unknown day %q", preset, m[1])
		}
		hh, mm, err := hm(m[2], m[3])
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("0 %d %d ? * %s", mm, hh, day), nil
	}
	return "", fmt.Errorf("unknown schedule preset %q (want \"every N minutes\", \"hourly at :MM\", \"daily at HH:MM\", \"weekdays at HH:MM\" or \"weekly on DAY at HH:MM\")", preset)
}
