package csvio

import (
	"strings"
	"testing"
	"time"
)

// TestPathologicalInputs guards against quadratic rescans: unterminated and
// lazy quotes on every line must still read in linear time.
func TestPathologicalInputs(t *testing.T) {
	for _, c := range []struct {
		in   string
		opts Options
	}{
		{strings.Repeat("\"x\"y\n", 20000), Options{LazyQuotes: true, MaxRecordBytes: 4096}},
		{strings.Repeat("a\"\n", 20000), Options{LazyQuotes: true, MaxRecordBytes: 4096}},
		{strings.Repeat("\"a\n", 20000), Options{LazyQuotes: true, MaxRecordBytes: 4096}},
		{strings.Repeat("\"a\n", 20000), Options{MaxRecordBytes: 4096}},
		{strings.Repeat("\"", 20000), Options{MaxRecordBytes: 4096}},
		{strings.Repeat("\"\n", 20000), Options{MaxRecordBytes: 4096}},
		{strings.Repeat("\"\n", 20000), Options{MaxRecordBytes: 4096, ChunkSize: 1}},
		{strings.Repeat("\"x\"y\n", 20000), Options{LazyQuotes: true, MaxRecordBytes: 4096, ChunkSize: 1}},
		{strings.Repeat("\"\"\"\n", 20000), Options{MaxRecordBytes: 4096, ChunkSize: 3}},
	} {
		st := time.Now()
		drain(t, NewReader(strings.NewReader(c.in), c.opts))
		// Linear takes milliseconds; the quadratic behaviour took 16 s.
		if d := time.Since(st); d > 3*time.Second {
			t.Errorf("%q…: %v", c.in[:4], d)
		}
	}
}
