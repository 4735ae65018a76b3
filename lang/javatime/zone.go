package javatime

import (
	"strings"
	"time"
)

// zoneAbbrev maps the zone abbreviations Java prints (and so the ones found
// in dates written by Java programs) to their UTC offsets in seconds. Java
// resolves an abbreviation to a region; a fixed offset is what such a string
// can tell us without a region.
var zoneAbbrev = map[string]int{
	"UTC": 0, "GMT": 0, "UT": 0, "Z": 0, "WET": 0, "WEST": 3600, "BST": 3600,
	"CET": 3600, "CEST": 7200, "MET": 3600, "MEST": 7200, "EET": 7200, "EEST": 10800,
	"MSK": 10800, "IST": 19800, "PKT": 18000, "ICT": 25200, "WIB": 25200,
	"SGT": 28800, "HKT": 28800, "AWST": 28800, "PHT": 28800, "CST": -21600, "CDT": -18000,
	"JST": 32400, "KST": 32400, "ACST": 34200, "ACDT": 37800, "AEST": 36000, "AEDT": 39600,
	"NZST": 43200, "NZDT": 46800, "EST": -18000, "EDT": -14400, "MST": -25200, "MDT": -21600,
	"PST": -28800, "PDT": -25200, "AKST": -32400, "AKDT": -28800, "HST": -36000,
	"AST": -14400, "ADT": -10800, "NST": -12600, "NDT": -9000, "BRT": -10800, "ART": -10800,
	"SAST": 7200, "CAT": 7200, "EAT": 10800, "WAT": 3600, "GST": 14400,
}

// zoneLongNames are Java's long display names for the common abbreviations.
var zoneLongNames = map[string]string{
	"UTC": "Coordinated Universal Time", "GMT": "Greenwich Mean Time",
	"EST": "Eastern Standard Time", "EDT": "Eastern Daylight Time",
	"CST": "Central Standard Time", "CDT": "Central Daylight Time",
	"MST": "Mountain Standard Time", "MDT": "Mountain Daylight Time",
	"PST": "Pacific Standard Time", "PDT": "Pacific Daylight Time",
	"AKST": "Alaska Standard Time", "AKDT": "Alaska Daylight Time",
	"HST": "Hawaii Standard Time", "IST": "India Standard Time",
	"CET": "Central European Standard Time", "CEST": "Central European Summer Time",
	"EET": "Eastern European Standard Time", "EEST": "Eastern European Summer Time",
	"WET": "Western European Standard Time", "WEST": "Western European Summer Time",
	"BST": "British Summer Time", "JST": "Japan Standard Time", "KST": "Korean Standard Time",
	"SGT": "Singapore Standard Time", "HKT": "Hong Kong Standard Time",
	"AEST": "Australian Eastern Standard Time", "AEDT": "Australian Eastern Daylight Time",
	"MSK": "Moscow Standard Time",
}

// javaShortIDs are Java's legacy three-letter zone IDs that the Go zone
// database does not know, mapped to the regions Java gives them.
var javaShortIDs = map[string]string{
	"ACT": "Australia/Darwin", "AET": "Australia/Sydney", "AGT": "America/Argentina/Buenos_Aires",
	"ART": "Africa/Cairo", "AST": "America/Anchorage", "BET": "America/Sao_Paulo",
	"BST": "Asia/Dhaka", "CAT": "Africa/Harare", "CNT": "America/St_Johns",
	"CST": "America/Chicago", "CTT": "Asia/Shanghai", "EAT": "Africa/Addis_Ababa",
	"ECT": "Europe/Paris", "IET": "America/Indiana/Indianapolis", "IST": "Asia/Kolkata",
	"JST": "Asia/Tokyo", "MIT": "Pacific/Apia", "NET": "Asia/Yerevan", "NST": "Pacific/Auckland",
	"PLT": "Asia/Karachi", "PNT": "America/Phoenix", "PRT": "America/Puerto_Rico",
	"PST": "America/Los_Angeles", "SST": "Pacific/Guadalcanal", "VST": "Asia/Ho_Chi_Minh",
}

// ResolveZone resolves a Java time-zone ID the way java.util.TimeZone does:
// "UTC", "GMT", "GMT+5", "GMT-08:00", Java's legacy three-letter IDs and region
// names. Region names are handed to load (time.LoadLocation when nil). It
// reports false when the ID is unknown; Java then silently uses GMT, and the
// caller decides whether to do the same.
func ResolveZone(id string, load func(string) (*time.Location, error)) (*time.Location, bool) {
	switch id {
	case "UTC", "Z", "UT", "Etc/UTC":
		return time.UTC, true
	case "GMT", "Etc/GMT":
		return time.FixedZone("GMT", 0), true
	}
	if rest, ok := strings.CutPrefix(id, "GMT"); ok {
		if off, n, ok := parseOffset(rest); ok && n == len(rest) {
			return time.FixedZone("GMT"+formatOffsetColon(off), off), true
		}
		return nil, false
	}
	if id != "" && (id[0] == '+' || id[0] == '-') {
		if off, n, ok := parseOffset(id); ok && n == len(id) {
			return time.FixedZone("GMT"+formatOffsetColon(off), off), true
		}
		return nil, false
	}
	if load == nil {
		load = time.LoadLocation
	}
	if region, ok := javaShortIDs[id]; ok {
		id = region
	}
	if id == "" || id == "Local" {
		// "Local" would leak the host's zone into results; Java has no such ID.
		return nil, false
	}
	l, err := load(id)
	if err != nil {
		return nil, false
	}
	return l, true
}

func formatOffsetColon(off int) string {
	return string(appendOffset(nil, off, true, false))
}

// parseOffset reads +h, +hh, +hhmm, +hh:mm (and seconds) at the start of s.
func parseOffset(s string) (int, int, bool) {
	if len(s) < 2 || (s[0] != '+' && s[0] != '-') {
		return 0, 0, false
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	i := 1
	digits := func(max int) (int, int) {
		v, n := 0, 0
		for i < len(s) && n < max && s[i] >= '0' && s[i] <= '9' {
			v = v*10 + int(s[i]-'0')
			i++
			n++
		}
		return v, n
	}
	h, n := digits(2)
	if n == 0 || h > 18 {
		return 0, 0, false
	}
	m := 0
	if i < len(s) && s[i] == ':' {
		i++
		var k int
		if m, k = digits(2); k != 2 {
			return 0, 0, false
		}
	} else if n == 2 {
		if mm, k := digits(2); k == 2 {
			m = mm
		} else if k == 1 {
			return 0, 0, false
		}
	}
	if m > 59 {
		return 0, 0, false
	}
	return sign * (h*3600 + m*60), i, true
}

// parseZone reads a zone at the start of s: Z, an offset, GMT±offset, an
// abbreviation, or a region ID.
func parseZone(s string, loc *time.Location) (*time.Location, int, bool) {
	if len(s) > 0 && s[0] == 'Z' && (len(s) == 1 || !isLetter(s[1])) {
		return time.UTC, 1, true
	}
	if off, n, ok := parseOffset(s); ok {
		return time.FixedZone("", off), n, true
	}
	for _, p := range []string{"GMT", "UTC", "UT"} {
		if strings.HasPrefix(s, p) {
			if off, n, ok := parseOffset(s[len(p):]); ok {
				return time.FixedZone("", off), len(p) + n, true
			}
			if p == "UTC" || p == "UT" {
				return time.UTC, len(p), true
			}
			return time.FixedZone("GMT", 0), len(p), true
		}
	}
	// A region ID such as Europe/Paris (DateTimeFormatter 'VV').
	j := 0
	for j < len(s) && (isLetter(s[j]) || s[j] == '/' || s[j] == '_') {
		j++
	}
	word := s[:j]
	if strings.Contains(word, "/") {
		if l, ok := ResolveZone(word, nil); ok {
			return l, j, true
		}
	}
	// The default location's own abbreviation wins: "CST" parsed in
	// America/Chicago is Chicago time, as in Java.
	for k := j; k >= 2; k-- {
		name := s[:k]
		for _, month := range []time.Month{time.January, time.July} {
			t := time.Date(2020, month, 1, 0, 0, 0, 0, loc)
			if zn, off := t.Zone(); zn == name {
				return time.FixedZone(name, off), k, true
			}
		}
		if off, ok := zoneAbbrev[name]; ok {
			return time.FixedZone(name, off), k, true
		}
	}
	return nil, 0, false
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// shortZoneName is Java's short display name for a zone at an instant.
func shortZoneName(locName, abbr string, off int) string {
	if locName == "UTC" || abbr == "UTC" {
		return "UTC"
	}
	if abbr == "" || abbr[0] == '+' || abbr[0] == '-' || strings.HasPrefix(abbr, "GMT") && len(abbr) > 3 {
		if off == 0 {
			return "GMT"
		}
		return "GMT" + formatOffsetColon(off)
	}
	return abbr
}

// longZoneName is Java's long display name, falling back to the short one.
func longZoneName(locName, abbr string, off int) string {
	short := shortZoneName(locName, abbr, off)
	if n, ok := zoneLongNames[short]; ok {
		return n
	}
	return short
}

// FormatOffset renders an offset in seconds as +HH:MM, for callers that print
// zone offsets the way Java's ZoneOffset does ("Z" for zero).
func FormatOffset(off int) string {
	if off == 0 {
		return "Z"
	}
	return formatOffsetColon(off)
}
