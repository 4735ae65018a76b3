package javatime

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustZone(t *testing.T, id string) *time.Location {
	t.Helper()
	l, ok := ResolveZone(id, nil)
	if !ok {
		t.Fatalf("zone %q not found", id)
	}
	return l
}

func TestFormat(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	ref := time.Date(2014, time.March, 5, 14, 7, 9, 45_000_000, time.UTC)
	cases := []struct {
		pattern string
		t       time.Time
		want    string
	}{
		{"yyyy-MM-dd HH:mm:ss", ref, "2014-03-05 14:07:09"},
		{"yyyyMMdd", ref, "20140305"},
		{"yy/M/d", ref, "14/3/5"},
		{"MMM MMMM", ref, "Mar March"},
		{"E EEE EEEE", ref, "Wed Wed Wednesday"},
		{"hh:mm a", ref, "02:07 PM"},
		{"h a", ref.Add(-14 * time.Hour), "12 AM"},
		{"H k K", ref.Add(-14 * time.Hour), "0 24 0"},
		{"ss.SSS", ref, "09.045"},
		{"S", ref, "45"},
		{"'T'HH'h'", ref, "T14h"},
		{"''yyyy''", ref, "'2014'"},
		{"'it''s' yyyy", ref, "it's 2014"},
		{"Z", ref, "+0000"},
		{"X", ref, "Z"},
		{"XXX", ref.In(ny), "-05:00"},
		{"XX", ref.In(ny), "-0500"},
		{"X", ref.In(ny), "-05"},
		{"Z", ref.In(ny), "-0500"},
		{"z", ref, "UTC"},
		{"z", ref.In(ny), "EST"},
		{"zzzz", ref.In(ny), "Eastern Standard Time"},
		{"EEE MMM dd HH:mm:ss zzz yyyy", ref, "Wed Mar 05 14:07:09 UTC 2014"},
		{"D", ref, "64"},
		{"G yyyy", ref, "AD 2014"},
		{"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", ref, "2014-03-05T14:07:09.045Z"},
	}
	for _, c := range cases {
		got, err := Format(c.t, c.pattern)
		if err != nil {
			t.Errorf("Format(%q): %v", c.pattern, err)
			continue
		}
		if got != c.want {
			t.Errorf("Format(%q) = %q, want %q", c.pattern, got, c.want)
		}
	}
}

func TestFormatterDialect(t *testing.T) {
	ref := time.Date(2014, time.March, 5, 14, 7, 9, 123456789, time.UTC)
	l, err := CompileFormatter("uuuu-MM-dd HH:mm:ss.SSSSSS")
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Format(ref); got != "2014-03-05 14:07:09.123456" {
		t.Errorf("got %q", got)
	}
	p, err := l.ParseExact("2014-03-05 14:07:09.123456", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if p.Nanosecond() != 123456000 {
		t.Errorf("nanos = %d", p.Nanosecond())
	}
}

func TestCompileErrors(t *testing.T) {
	for _, p := range []string{"yyyy-MM-dd'T", "yyyy-MM-dd q", "bbb"} {
		if _, err := Compile(p); err == nil {
			t.Errorf("Compile(%q) succeeded, want error", p)
		}
	}
}

func TestParse(t *testing.T) {
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	ny := mustZone(t, "America/New_York")
	cases := []struct {
		pattern, value string
		loc            *time.Location
		want           time.Time
	}{
		{"yyyy-MM-dd HH:mm:ss", "2014-03-05 14:07:09", time.UTC, time.Date(2014, 3, 5, 14, 7, 9, 0, time.UTC)},
		{"yyyyMMdd", "20140305", time.UTC, time.Date(2014, 3, 5, 0, 0, 0, 0, time.UTC)},
		{"yyyyMMddHHmmss", "20140305140709", time.UTC, time.Date(2014, 3, 5, 14, 7, 9, 0, time.UTC)},
		{"yyyy-MM-dd", "2014-03-05 trailing text", time.UTC, time.Date(2014, 3, 5, 0, 0, 0, 0, time.UTC)},
		{"d/M/yy", "5/3/14", time.UTC, time.Date(2014, 3, 5, 0, 0, 0, 0, time.UTC)},
		{"d/M/yy", "5/3/99", time.UTC, time.Date(1999, 3, 5, 0, 0, 0, 0, time.UTC)},
		{"dd MMM yyyy", "05 mar 2014", time.UTC, time.Date(2014, 3, 5, 0, 0, 0, 0, time.UTC)},
		{"dd MMMM yyyy", "05 March 2014", time.UTC, time.Date(2014, 3, 5, 0, 0, 0, 0, time.UTC)},
		{"EEE, dd MMM yyyy", "Wed, 05 Mar 2014", time.UTC, time.Date(2014, 3, 5, 0, 0, 0, 0, time.UTC)},
		{"hh:mm a", "02:07 PM", time.UTC, time.Date(1970, 1, 1, 14, 7, 0, 0, time.UTC)},
		{"hh:mm a", "12:07 AM", time.UTC, time.Date(1970, 1, 1, 0, 7, 0, 0, time.UTC)},
		{"yyyy-MM-dd HH:mm:ss.SSS", "2014-03-05 14:07:09.045", time.UTC, time.Date(2014, 3, 5, 14, 7, 9, 45e6, time.UTC)},
		{"yyyy-MM-dd HH:mm Z", "2014-03-05 14:07 -0500", time.UTC, time.Date(2014, 3, 5, 19, 7, 0, 0, time.UTC)},
		{"yyyy-MM-dd'T'HH:mmXXX", "2014-03-05T14:07+05:30", time.UTC, time.Date(2014, 3, 5, 8, 37, 0, 0, time.UTC)},
		{"yyyy-MM-dd'T'HH:mmX", "2014-03-05T14:07Z", ny, time.Date(2014, 3, 5, 14, 7, 0, 0, time.UTC)},
		{"yyyy-MM-dd HH:mm z", "2014-03-05 14:07 PST", time.UTC, time.Date(2014, 3, 5, 22, 7, 0, 0, time.UTC)},
		{"yyyy-MM-dd HH:mm z", "2014-03-05 14:07 GMT+01:00", time.UTC, time.Date(2014, 3, 5, 13, 7, 0, 0, time.UTC)},
		{"EEE MMM dd HH:mm:ss zzz yyyy", "Wed Mar 05 14:07:09 EST 2014", ny, time.Date(2014, 3, 5, 19, 7, 9, 0, time.UTC)},
		{"yyyy-MM-dd HH:mm", "2014-03-05 14:07", ny, time.Date(2014, 3, 5, 19, 7, 0, 0, time.UTC)},
		// Lenient like SimpleDateFormat: month 13 rolls into the next year.
		{"yyyy-MM-dd", "2014-13-01", time.UTC, time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"MM/dd/yyyy", "1/2/2014", time.UTC, time.Date(2014, 1, 2, 0, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		l, err := Compile(c.pattern)
		if err != nil {
			t.Fatalf("Compile(%q): %v", c.pattern, err)
		}
		got, err := l.ParseAt(c.value, c.loc, now)
		if err != nil {
			t.Errorf("Parse(%q, %q): %v", c.pattern, c.value, err)
			continue
		}
		if !got.Equal(c.want) {
			t.Errorf("Parse(%q, %q) = %v, want %v", c.pattern, c.value, got.UTC(), c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ pattern, value string }{
		{"yyyy-MM-dd", "2014/03/05"},
		{"yyyy-MM-dd", ""},
		{"yyyy-MM-dd", "abc"},
		{"dd MMM yyyy", "05 Foo 2014"},
		{"HH:mm a", "10:00 XM"},
		{"yyyy-MM-dd Z", "2014-01-01 +99"},
	}
	for _, c := range cases {
		_, err := Parse(c.pattern, c.value, nil)
		if err == nil {
			t.Errorf("Parse(%q, %q) succeeded, want error", c.pattern, c.value)
			continue
		}
		if !errors.Is(err, ErrParse) {
			t.Errorf("Parse(%q, %q) error %v does not wrap ErrParse", c.pattern, c.value, err)
		}
	}
	l := MustCompile("yyyy-MM-dd")
	if _, err := l.ParseExact("2014-03-05x", nil); err == nil {
		t.Error("ParseExact accepted trailing text")
	}
}

func TestRoundTrip(t *testing.T) {
	patterns := []string{"yyyy-MM-dd HH:mm:ss.SSS", "EEE MMM dd HH:mm:ss zzz yyyy", "yyyyMMddHHmmssSSS", "dd/MM/yyyy hh:mm:ss a XXX"}
	ref := time.Date(2021, 11, 30, 23, 59, 58, 999e6, time.UTC)
	for _, p := range patterns {
		l := MustCompile(p)
		s := l.Format(ref)
		got, err := l.Parse(s, time.UTC)
		if err != nil {
			t.Errorf("%q: parse %q: %v", p, s, err)
			continue
		}
		want := ref
		if !strings.Contains(p, "S") {
			want = ref.Truncate(time.Second)
		}
		if !got.Equal(want) {
			t.Errorf("%q: round trip %q = %v, want %v", p, s, got, want)
		}
	}
}

func TestResolveZone(t *testing.T) {
	cases := []struct {
		id     string
		offset int
		ok     bool
	}{
		{"UTC", 0, true},
		{"GMT", 0, true},
		{"GMT+5", 5 * 3600, true},
		{"GMT-08:00", -8 * 3600, true},
		{"+05:30", 5*3600 + 1800, true},
		{"Asia/Kolkata", 5*3600 + 1800, true},
		{"IST", 5*3600 + 1800, true},
		{"PST", -8 * 3600, true},
		{"Not/AZone", 0, false},
		{"GMT+xx", 0, false},
		{"Local", 0, false},
	}
	for _, c := range cases {
		l, ok := ResolveZone(c.id, nil)
		if ok != c.ok {
			t.Errorf("ResolveZone(%q) ok = %v, want %v", c.id, ok, c.ok)
			continue
		}
		if !ok {
			continue
		}
		_, off := time.Date(2020, 1, 15, 0, 0, 0, 0, l).Zone()
		if off != c.offset {
			t.Errorf("ResolveZone(%q) offset = %d, want %d", c.id, off, c.offset)
		}
	}
	if FormatOffset(0) != "Z" || FormatOffset(-3600*5-1800) != "-05:30" {
		t.Error("FormatOffset")
	}
}

func BenchmarkFormat(b *testing.B) {
	l := MustCompile("yyyy-MM-dd HH:mm:ss.SSS")
	ref := time.Date(2021, 11, 30, 23, 59, 58, 999e6, time.UTC)
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = l.AppendFormat(buf[:0], ref)
	}
}

func BenchmarkParse(b *testing.B) {
	l := MustCompile("yyyy-MM-dd HH:mm:ss")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Parse("2021-11-30 23:59:58", time.UTC); err != nil {
			b.Fatal(err)
		}
	}
}
