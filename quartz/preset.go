package quartz

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Presets the UI offers, as text:
//
//	every N minutes         → 0 0/N * * * ?     (N ≥ 5, divides 60)
//	hourly at :MM           → 0 MM * * * ?
//	daily at HH:MM          → 0 MM HH * * ?
//	weekdays at HH:MM       → 0 MM HH ? * MON-FRI
//	weekly on DAY at HH:MM  → 0 MM HH ? * DAY
var (
	everyRE    = regexp.MustCompile(`^every (\d+) minutes?$`)
	hourlyRE   = regexp.MustCompile(`^hourly at :(\d{1,2})$`)
	dailyRE    = regexp.MustCompile(`^daily at (\d{1,2}):(\d{2})$`)
	weekdaysRE = regexp.MustCompile(`^weekdays at (\d{1,2}):(\d{2})$`)
	weeklyRE   = regexp.MustCompile(`^weekly on (sun|mon|tue|wed|thu|fri|sat)[a-z]* at (\d{1,2}):(\d{2})$`)
)

// PresetCron converts a UI preset to a Quartz expression.
func PresetCron(preset string) (string, error) {
	p := strings.ToLower(strings.Join(strings.Fields(preset), " "))
	hm := func(h, m string) (int, int, error) {
		hh, _ := strconv.Atoi(h)
		mm, _ := strconv.Atoi(m)
		if hh > 23 || mm > 59 {
			return 0, 0, fmt.Errorf("schedule preset %q: invalid time %s:%s", preset, h, m)
		}
		return hh, mm, nil
	}
	switch {
	case everyRE.MatchString(p):
		n, _ := strconv.Atoi(everyRE.FindStringSubmatch(p)[1])
		if n < int(MinInterval.Minutes()) {
			return "", fmt.Errorf("schedule preset %q: the minimum interval between runs is %s", preset, MinInterval)
		}
		if n >= 60 || 60%n != 0 {
			return "", fmt.Errorf("schedule preset %q: N must divide 60 (5, 10, 15, 20, 30)", preset)
		}
		return fmt.Sprintf("0 0/%d * * * ?", n), nil
	case hourlyRE.MatchString(p):
		m, _ := strconv.Atoi(hourlyRE.FindStringSubmatch(p)[1])
		if m > 59 {
			return "", fmt.Errorf("schedule preset %q: minute must be 0-59", preset)
		}
		return fmt.Sprintf("0 %d * * * ?", m), nil
	case dailyRE.MatchString(p):
		g := dailyRE.FindStringSubmatch(p)
		h, m, err := hm(g[1], g[2])
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("0 %d %d * * ?", m, h), nil
	case weekdaysRE.MatchString(p):
		g := weekdaysRE.FindStringSubmatch(p)
		h, m, err := hm(g[1], g[2])
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("0 %d %d ? * MON-FRI", m, h), nil
	case weeklyRE.MatchString(p):
		g := weeklyRE.FindStringSubmatch(p)
		h, m, err := hm(g[2], g[3])
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("0 %d %d ? * %s", m, h, strings.ToUpper(g[1])), nil
	}
	return "", fmt.Errorf("unknown schedule preset %q (want: every N minutes, hourly at :MM, daily at HH:MM, weekdays at HH:MM, weekly on DAY at HH:MM)", preset)
}
