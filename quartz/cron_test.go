package quartz

import (
	"strings"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	utc := time.UTC
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	ny, _ := time.LoadLocation("America/New_York")
	cases := []struct {
		expr string
		from time.Time
		want []string
	}{
		{"0 0/5 * * * ?", time.Date(2026, 3, 1, 10, 2, 7, 0, utc), []string{"2026-03-01T10:05:00Z", "2026-03-01T10:10:00Z"}},
		{"0 30 9 ? * MON-FRI", time.Date(2026, 11, 20, 10, 0, 0, 0, utc), []string{"2026-11-23T09:30:00Z", "2026-11-24T09:30:00Z"}},
		{"0 0 12 L * ?", time.Date(2026, 2, 1, 0, 0, 0, 0, utc), []string{"2026-02-28T12:00:00Z", "2026-03-31T12:00:00Z"}},
		{"0 0 12 15W * ?", time.Date(2026, 8, 1, 0, 0, 0, 0, utc), []string{"2026-08-14T12:00:00Z", "2026-09-15T12:00:00Z"}},
		{"0 0 8 ? * 6#3", time.Date(2026, 1, 1, 0, 0, 0, 0, utc), []string{"2026-01-16T08:00:00Z", "2026-02-20T08:00:00Z"}},
		{"0 0 8 ? * FRIL", time.Date(2026, 1, 1, 0, 0, 0, 0, utc), []string{"2026-01-30T08:00:00Z"}},
		{"0 15 10 * * ? 2027", time.Date(2026, 12, 31, 0, 0, 0, 0, utc), []string{"2027-01-01T10:15:00Z"}},
		{"0 0 9 * * ?", time.Date(2026, 5, 1, 12, 0, 0, 0, kolkata), []string{"2026-05-02T09:00:00+05:30"}},
		// DST spring forward in New York: 02:30 does not exist on 2026-03-08.
		{"0 30 2 * * ?", time.Date(2026, 3, 7, 3, 0, 0, 0, ny), []string{"2026-03-09T02:30:00-04:00"}},
		// DST fall back: 01:30 happens twice on 2026-11-01; fire once.
		{"0 30 1 * * ?", time.Date(2026, 10, 31, 12, 0, 0, 0, ny), []string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
	}
	for _, c := range cases {
		cr, err := Parse(c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		at := c.from
		for _, w := range c.want {
			n, err := cr.Next(at)
			if err != nil {
				t.Fatalf("%s: %v", c.expr, err)
			}
			if got := n.Format(time.RFC3339); got != w {
				t.Fatalf("%s after %s: got %s want %s", c.expr, at.Format(time.RFC3339), got, w)
			}
			at = n
		}
	}
}

func TestParseErrorsAndMinimum(t *testing.T) {
	bad := map[string]string{
		"* * * *":               "6 or 7 fields",
		"0 61 * * * ?":          "out of range",
		"0 0 * ? * ?":           "not both",
		"0 0 12 1 * MON":        "must be '?'",
		"0 0 12 ? * FOO":        "not a number",
		"0 0/0 * * * ?":         "positive",
		"0 0 0 * * ? 2030-2025": "backwards",
		"? 0 * * * *":           "only allowed",
		"0 0 0 ? * 8#1":         "out of range",
	}
	for expr, want := range bad {
		_, err := Parse(expr)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", expr, err, want)
		}
	}
	if err := Check("0 0/1 * * * ?"); err == nil || !strings.Contains(err.Error(), "minimum interval") {
		t.Fatalf("every minute must be refused: %v", err)
	}
	if err := Check("0/30 * * * * ?"); err == nil {
		t.Fatal("every 30s must be refused")
	}
	if err := Check("0 0/5 * * * ?"); err != nil {
		t.Fatal(err)
	}
	if err := Check("0 0,2 * * * ?"); err == nil {
		t.Fatal("minutes 0 and 2 are 2 minutes apart")
	}
}

func TestPresets(t *testing.T) {
	cases := map[string]string{
		"every 15 minutes":          "0 0/15 * * * ?",
		"hourly at :05":             "0 5 * * * ?",
		"daily at 02:30":            "0 30 2 * * ?",
		"weekdays at 9:00":          "0 0 9 ? * MON-FRI",
		"Weekly on Monday at 07:45": "0 45 7 ? * MON",
	}
	for p, want := range cases {
		got, err := PresetCron(p)
		if err != nil || got != want {
			t.Errorf("%q: got %q %v want %q", p, got, err, want)
		}
		if _, err := Parse(got); err != nil {
			t.Errorf("%q → %q does not parse: %v", p, got, err)
		}
	}
	for _, p := range []string{"every 2 minutes", "every 7 minutes", "daily at 25:00", "sometimes"} {
		if _, err := PresetCron(p); err == nil {
			t.Errorf("%q accepted", p)
		}
	}
}

// The fast path of MinGap (one second, several minutes, UTC) must give what
// sampling gives.
func TestMinGapFastPathMatchesSampling(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, expr := range []string{
		"0 0/15 * * * ?", "0 0/5 * * * ?", "0 0,30 * * * ?", "0 0,50 * * * ?", "0 10,50 * * * ?",
		"0 0,50 9-17 * * ?", "0 5,55 9,10 ? * MON-FRI", "0 0,59 0 * * ?", "30 1,2,58 * * * ?",
		"0 0/20 8 1 * ?", "0 0,45 12 ? * 6#3", "0 0/7 * * * ?", "0 3,4 * * * ? 2027",
	} {
		c, err := Parse(expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		got := c.MinGap(from)
		want := c.sampledMinGap(from)
		if got != want {
			t.Errorf("%s: MinGap %s, sampling %s", expr, got, want)
		}
	}
}

func BenchmarkCheckEvery15Minutes(b *testing.B) {
	for b.Loop() {
		if err := Check("0 0/15 * * * ?"); err != nil {
			b.Fatal(err)
		}
	}
}
