package quartz

import (
	"strings"
	"testing"
	"time"
)

// The messages validation shows for the cases users get wrong.
func TestSyntaxMessages(t *testing.T) {
	valid := []string{
		"0 0/5 * * * ?", "0 0 12 * * ?", "0 15 10 ? * MON-FRI", "0 15 10 ? * 6L", "0 15 10 ? * 6#3",
		"0 0 12 1/5 * ?", "0 11 11 11 11 ?", "0 15 10 L * ?", "0 15 10 L-2 * ?", "0 15 10 15W * ?", "0 15 10 LW * ?",
		"0 0/30 8-18 ? * mon,wed,fri", "0 0 0 ? JAN-MAR SUN", "0 0 22-2 * * ?", "0 15 10 * * ? 2030", "0 0 0 ? * FRI-MON",
		"*/10 * * ? * *", "0 0 1 ? * L", "0 0 0 1 * ? 2025-2030/2",
	}
	for _, c := range valid {
		if err := CheckSyntax(c); err != nil {
			t.Errorf("%q: %v", c, err)
		}
	}
	invalid := map[string]string{
		"* * * * *":          "6 or 7 fields",
		"0 0 12 * * *":       "must be '?'",
		"0 0 12 ? * ?":       "not both",
		"60 * * * * ?":       "seconds field",
		"0 0 24 * * ?":       "hours field",
		"0 0 0 32 * ?":       "day-of-month",
		"0 0 0 ? 13 *":       "month field",
		"0 0 0 ? * 8":        "day-of-week",
		"0 0 0 ? * MON#6":    "1-5",
		"0 0/0 * * * ?":      "positive",
		"0 0/61 * * * ?":     "larger than",
		"0 ? * * * ?":        "only allowed in",
		"0 0 0 ? FOO *":      "not a number or name",
		"0 0 0 1,,2 * ?":     "empty list item",
		"0 0 0 L,5 * ?":      "cannot be combined",
		"0 0 0 ? * * 1969":   "year field",
		"0 0 0 L-31 * ?":     "at most 30",
		"0 -1 * * * ?":       "minutes field",
		"0 0 0 ? * MON-XYZ":  "not a number or name",
		"0 0 0 1 * ? 2020 x": "6 or 7 fields",
	}
	for c, want := range invalid {
		err := CheckSyntax(c)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error containing %q", c, err, want)
		}
	}
}

// Validation and the scheduler share Parse, so an expression validation
// accepts must also have fire times: wrapping ranges used to pass the
// syntax check and then be refused by the scheduler as "backwards".
func TestWrappingRangesFire(t *testing.T) {
	loc := time.UTC
	cases := []struct {
		expr string
		from time.Time
		want time.Time
	}{
		{"0 0 22-2 * * ?", time.Date(2026, 3, 1, 23, 30, 0, 0, loc), time.Date(2026, 3, 2, 0, 0, 0, 0, loc)},
		{"0 0 22-2 * * ?", time.Date(2026, 3, 2, 2, 30, 0, 0, loc), time.Date(2026, 3, 2, 22, 0, 0, 0, loc)},
		// 2026-03-05 is a Thursday: FRI-MON next fires on Friday.
		{"0 0 0 ? * FRI-MON", time.Date(2026, 3, 5, 12, 0, 0, 0, loc), time.Date(2026, 3, 6, 0, 0, 0, 0, loc)},
		// ...and after Sunday comes Monday, then a gap to Friday.
		{"0 0 0 ? * FRI-MON", time.Date(2026, 3, 9, 12, 0, 0, 0, loc), time.Date(2026, 3, 13, 0, 0, 0, 0, loc)},
		{"0 50-10/10 * * * ?", time.Date(2026, 3, 5, 12, 55, 0, 0, loc), time.Date(2026, 3, 5, 13, 0, 0, 0, loc)},
	}
	for _, c := range cases {
		cr, err := Parse(c.expr)
		if err != nil {
			t.Fatalf("%q: %v", c.expr, err)
		}
		got, err := cr.Next(c.from)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("%q after %s: got %s %v, want %s", c.expr, c.from, got, err, c.want)
		}
	}
}
