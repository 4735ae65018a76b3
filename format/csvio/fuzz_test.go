package csvio

import (
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReader checks that every input either parses or yields RecordErrors
// (never a panic or a hang), that results do not depend on how the input is
// chunked, and that inputs encoding/csv accepts give the same records.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"a,b,c\n1,2,3\n", "\"a\"\"b\",c\r\n", "\"x\ny\",z", "a\"b,c\n", "\"ab\"c\n", "\"open\n",
		"\uFEFFh\n1\n", "\n\n\n", "a\rb\rc", ",,,\n", "\"\"\n\"\"\"\"\n", "\xff\xfea\x00,\x00b\x00",
	} {
		f.Add([]byte(s), byte(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, mode byte) {
		opts := Options{TrimBOM: mode&1 != 0, LazyQuotes: mode&2 != 0, MaxRecordBytes: 1 << 12}
		if mode&4 != 0 {
			opts.Delimiter = ';'
		}
		if mode&8 != 0 {
			opts.Encoding = "windows-1252"
		}
		a := drain(t, NewReader(strings.NewReader(string(data)), opts))
		opts.ChunkSize = 1 + int(mode>>4)
		b := drain(t, NewReader(strings.NewReader(string(data)), opts))
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("chunking changes the result:\n%#v\n%#v", a, b)
		}
		if mode != 0 || !utf8.Valid(data) || strings.ContainsRune(string(data), '\r') || len(data) >= 1<<12 {
			return
		}
		cr := csv.NewReader(strings.NewReader(string(data)))
		cr.FieldsPerRecord = -1
		var want []got
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				for _, g := range a {
					if g.Err != "" {
						return
					}
				}
				t.Fatalf("encoding/csv rejects the input (%v) but we report no error: %#v", err, a)
			}
			line, _ := cr.FieldPos(0)
			want = append(want, got{Fields: rec, Line: int64(line)})
		}
		for i := range a {
			a[i].Lines = 0
		}
		if !reflect.DeepEqual(a, want) && !(len(a) == 0 && len(want) == 0) {
			t.Fatalf("differs from encoding/csv:\n got %#v\nwant %#v", a, want)
		}
	})
}

func drain(t *testing.T, r *Reader) []got {
	var out []got
	for i := 0; ; i++ {
		if i > 1<<16 {
			t.Fatal("reader does not terminate")
		}
		row, err := r.Read()
		if err == io.EOF {
			return out
		}
		var re *RecordError
		if errors.As(err, &re) {
			if row.Lines < 1 || re.Line < re.StartLine || re.Column < 1 {
				t.Fatalf("bad error position %+v (row %+v)", re, row)
			}
			out = append(out, got{Line: row.Line, Lines: row.Lines, Err: re.Error()})
			continue
		}
		if err != nil {
			t.Fatalf("unexpected fatal error %v", err)
		}
		if len(row.Fields) == 0 || row.Lines < 1 {
			t.Fatalf("empty row %+v", row)
		}
		out = append(out, got{Fields: append([]string(nil), row.Fields...), Line: row.Line, Lines: row.Lines})
	}
}

// FuzzWriterRoundTrip checks that whatever the writer writes reads back.
func FuzzWriterRoundTrip(f *testing.F) {
	f.Add("a", "b,c", "d\"e")
	f.Add("", "", "")
	f.Add(" x", "y\n", "=1+2")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		if !utf8.ValidString(a + b + c) {
			return
		}
		for _, rec := range [][]string{{a, b, c}, {a}} {
			var sb strings.Builder
			w := NewWriter(&sb, ',')
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			r := NewReader(strings.NewReader(sb.String()), Options{})
			row, err := r.Read()
			if err != nil {
				t.Fatalf("%q: %v", sb.String(), err)
			}
			if !reflect.DeepEqual(row.Fields, rec) {
				t.Fatalf("wrote %q as %q, read back %q", rec, sb.String(), row.Fields)
			}
			if _, err := r.Read(); err != io.EOF {
				t.Fatalf("%q: trailing data: %v", sb.String(), err)
			}
		}
	})
}
