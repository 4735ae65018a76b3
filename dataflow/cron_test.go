package dataflow

import (
	"strings"
	"testing"
)

func TestCheckQuartzCron(t *testing.T) {
	valid := []string{
		"0 0/5 * * * ?", "0 0 12 * * ?", "0 15 10 ? * MON-FRI", "0 15 10 ? * 6L", "0 15 10 ? * 6#3",
		"0 0 12 1/5 * ?", "0 11 11 11 11 ?", "0 15 10 L * ?", "0 15 10 L-2 * ?", "0 15 10 15W * ?", "0 15 10 LW * ?",
		"0 0/30 8-18 ? * mon,wed,fri", "0 0 0 ? JAN-MAR SUN", "0 0 22-2 * * ?", "0 15 10 * * ? 2030", "0 0 0 ? * FRI-MON",
		"*/10 * * ? * *", "0 0 1 ? * L", "0 0 0 1 * ? 2025-2030/2",
	}
	for _, c := range valid {
		if err := CheckQuartzCron(c); err != nil {
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
		err := CheckQuartzCron(c)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error containing %q", c, err, want)
		}
	}
}

func TestPresetCron(t *testing.T) {
	for preset, want := range map[string]string{
		"every 15 minutes":          "0 0/15 * * * ?",
		"Every 1 minute":            "0 0/1 * * * ?",
		"hourly at :30":             "0 30 * * * ?",
		"daily at 2:05":             "0 5 2 * * ?",
		"weekdays at 09:00":         "0 0 9 ? * MON-FRI",
		"weekly on Sunday at 23:59": "0 59 23 ? * SUN",
		"weekly on tue at 00:00":    "0 0 0 ? * TUE",
	} {
		got, err := PresetCron(preset)
		if err != nil || got != want {
			t.Errorf("PresetCron(%q) = %q, %v; want %q", preset, got, err, want)
			continue
		}
		if err := CheckQuartzCron(got); err != nil {
			t.Errorf("preset %q gives invalid cron %q: %v", preset, got, err)
		}
	}
	for _, bad := range []string{"every 0 minutes", "every 60 minutes", "hourly at :60", "daily at 24:00", "weekly on someday at 10:00", "monthly", ""} {
		if got, err := PresetCron(bad); err == nil {
			t.Errorf("PresetCron(%q) = %q, want an error", bad, got)
		}
	}
}
