package quartz

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// checkSyntax is the first pass of Parse: it checks every field of a
// Quartz expression (lists, ranges, steps, month and day names, ? L W #)
// and gives the precise message a user needs; Parse then builds the
// fire-time sets from fields it knows are well formed. As in Quartz,
// exactly one of day-of-month and day-of-week must be '?'.
func checkSyntax(fields []string) error {
	if len(fields) != 6 && len(fields) != 7 {
		return &ParseError{Msg: fmt.Sprintf("a Quartz cron expression has 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]), got %d", len(fields))}
	}
	for i, f := range fields {
		if err := cronFields[i].check(f); err != nil {
			return &ParseError{Field: cronFields[i].name, Msg: fmt.Sprintf("%q: %v", f, err)}
		}
	}
	dom, dow := fields[3] == "?", fields[5] == "?"
	switch {
	case dom && dow:
		return &ParseError{Msg: "'?' may be given for day-of-month or day-of-week, not both"}
	case !dom && !dow:
		return &ParseError{Msg: "one of day-of-month and day-of-week must be '?' (e.g. \"0 0 12 * * ?\")"}
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

var (
	synDOMSpecialRE = regexp.MustCompile(`^(L(-[0-9]{1,2})?W?|[0-9]{1,2}W)$`)
	synDOWLastRE    = regexp.MustCompile(`^([0-9]|[A-Za-z]{3})L$`)
	synDOWNthRE     = regexp.MustCompile(`^([0-9]|[A-Za-z]{3})#([0-9])$`)
)

var cronFields = [7]cronField{
	{name: "seconds", min: 0, max: 59},
	{name: "minutes", min: 0, max: 59},
	{name: "hours", min: 0, max: 23},
	{name: "day-of-month", min: 1, max: 31, allowQ: true, special: func(item string, f *cronField) (bool, error) {
		if !synDOMSpecialRE.MatchString(item) {
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
		if m := synDOWLastRE.FindStringSubmatch(item); m != nil {
			_, err := f.value(m[1])
			return true, err
		}
		if m := synDOWNthRE.FindStringSubmatch(item); m != nil {
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
	{name: "year", min: 1970, max: 2199},
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
