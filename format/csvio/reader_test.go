package csvio

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf16"
)

// got is what a reader produced, in a comparable form.
type got struct {
	Fields []string
	Line   int64
	Lines  int
	Err    string // RecordError text, "" for a good row
}

func readAll(t testing.TB, r *Reader) []got {
	t.Helper()
	var out []got
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatal("reader does not terminate")
		}
		row, err := r.Read()
		if err == io.EOF {
			return out
		}
		var re *RecordError
		if errors.As(err, &re) {
			out = append(out, got{Line: row.Line, Lines: row.Lines, Err: re.Error()})
			continue
		}
		if err != nil {
			t.Fatalf("fatal error: %v", err)
		}
		out = append(out, got{Fields: append([]string(nil), row.Fields...), Line: row.Line, Lines: row.Lines})
	}
}

func row(line int64, fields ...string) got { return got{Fields: fields, Line: line, Lines: 1} }

func rowN(line int64, lines int, fields ...string) got {
	return got{Fields: fields, Line: line, Lines: lines}
}

func badRow(line int64, lines int, msg string) got { return got{Line: line, Lines: lines, Err: msg} }

func TestReader(t *testing.T) {
	cases := []struct {
		name string
		in   string
		opts Options
		want []got
	}{
		{"simple", "a,b,c\n1,2,3\n", Options{}, []got{row(1, "a", "b", "c"), row(2, "1", "2", "3")}},
		{"no final newline", "a,b\n1,2", Options{}, []got{row(1, "a", "b"), row(2, "1", "2")}},
		{"crlf", "a,b\r\n1,2\r\n", Options{}, []got{row(1, "a", "b"), row(2, "1", "2")}},
		{"crlf no final", "a,b\r\n1,2", Options{}, []got{row(1, "a", "b"), row(2, "1", "2")}},
		{"lone cr file", "a,b\r1,2\r3,4", Options{}, []got{row(1, "a", "b"), row(2, "1", "2"), row(3, "3", "4")}},
		{"empty trailing lines", "a,b\n1,2\n\n\n", Options{}, []got{row(1, "a", "b"), row(2, "1", "2")}},
		{"blank line inside", "a\n\nb\n", Options{}, []got{row(1, "a"), row(3, "b")}},
		{"empty fields", ",,\n", Options{}, []got{row(1, "", "", "")}},
		{"trailing empty field", "a,\n", Options{}, []got{row(1, "a", "")}},
		{"quoted delimiter", `x,"a,b",y` + "\n", Options{}, []got{row(1, "x", "a,b", "y")}},
		{"doubled quotes", `"size ""XL"", exchanged",2` + "\n", Options{}, []got{row(1, `size "XL", exchanged`, "2")}},
		{"empty quoted", `"",""` + "\n", Options{}, []got{row(1, "", "")}},
		{"quoted newline", "h1,h2\n\"line1\nline2\",x\nnext,row\n", Options{}, []got{row(1, "h1", "h2"), rowN(2, 2, "line1\nline2", "x"), row(4, "next", "row")}},
		{"quoted crlf kept", "\"a\r\nb\",c\r\nd,e\r\n", Options{}, []got{rowN(1, 2, "a\r\nb", "c"), row(3, "d", "e")}},
		{"quoted last field crlf", "a,\"b\"\r\nc,\"d\"", Options{}, []got{row(1, "a", "b"), row(2, "c", "d")}},
		{"quoted field at eof", `a,"b"`, Options{}, []got{row(1, "a", "b")}},
		{"tab", "a\tb\n\"x\ty\"\tz\n", Options{Delimiter: '\t'}, []got{row(1, "a", "b"), row(2, "x\ty", "z")}},
		{"pipe", "a|b|c\n", Options{Delimiter: '|'}, []got{row(1, "a", "b", "c")}},
		{"multibyte delimiter", "a¦b¦\"c¦d\"\n", Options{Delimiter: '¦'}, []got{row(1, "a", "b", "c¦d")}},
		{"single quote char", "a,'b,c'\n", Options{Quote: '\''}, []got{row(1, "a", "b,c")}},
		{"utf8 bom", "\uFEFFa,b\n1,2\n", Options{TrimBOM: true}, []got{row(1, "a", "b"), row(2, "1", "2")}},
		{"utf8 bom kept", "\uFEFFa\n", Options{}, []got{row(1, "\uFEFFa")}},
		{"unicode", "名前,ü\n", Options{}, []got{row(1, "名前", "ü")}},
		{"bare quote", "a,b\n1,x\"y,3\n4,5\n", Options{}, []got{row(1, "a", "b"), badRow(2, 1, `line 2, column 4: bare " in non-quoted field (quote the whole field and double the ")`), row(3, "4", "5")}},
		{"bare quote lazy", "1,x\"y,3\n", Options{LazyQuotes: true}, []got{row(1, "1", "x\"y", "3")}},
		{"extra text after quote", "h\n\"ab\"c,d\ne,f\n", Options{}, []got{row(1, "h"), badRow(2, 1, `line 2, column 5: extraneous text after closing " (a " inside a quoted field must be doubled)`), row(3, "e", "f")}},
		{"extra text lazy", "\"ab\"c,d\n", Options{LazyQuotes: true}, []got{rowN(1, 2, "ab\"c,d\n")}},
		{"unterminated at eof", "a,b\n\"open,x\nc,d\n", Options{}, []got{row(1, "a", "b"), badRow(2, 1, `line 2, column 1: unterminated quoted field (missing closing quote)`), row(3, "c", "d")}},
		{"error on later line of record", "\"a\nb\"x,y\nz\n", Options{}, []got{badRow(1, 2, `line 2, column 3: extraneous text after closing " (a " inside a quoted field must be doubled)`), row(3, "z")}},
		{"invalid utf8", "a,b\n\xff,c\nd,e\n", Options{}, []got{row(1, "a", "b"), badRow(2, 1, "line 2, column 1: "+msgUTF8), row(3, "d", "e")}},
		{"invalid utf8 replaced", "\xff,c\n", Options{ReplaceInvalidUTF8: true}, []got{row(1, "\uFFFD", "c")}},
		{"latin1", "caf\xe9,na\xefve\n", Options{Encoding: "iso-8859-1"}, []got{row(1, "café", "naïve")}},
		{"windows-1252", "\x80 5,\x93q\x94\n", Options{Encoding: "windows-1252"}, []got{row(1, "€ 5", "“q”")}},
		{"record too long", "abcdefghijklmnopqrstuvwxyz\nok\n", Options{MaxRecordBytes: 8, ChunkSize: 4}, []got{badRow(1, 1, "line 1, column 1: record longer than 8 bytes (unterminated quoted field?)"), row(2, "ok")}},
		{"quoted record too long", "\"abc\ndefghij\nqrstuv\nok\n", Options{MaxRecordBytes: 8, ChunkSize: 4}, []got{badRow(1, 1, "line 1, column 1: record longer than 8 bytes (unterminated quoted field?)"), row(2, "defghij"), row(3, "qrstuv"), row(4, "ok")}},
		{"only header", "a,b", Options{}, []got{row(1, "a", "b")}},
		{"empty input", "", Options{}, nil},
	}
	for _, c := range cases {
		for _, chunk := range []int{0, 1, 2, 3, 5, 16} {
			for _, oneByte := range []bool{false, true} {
				name := fmt.Sprintf("%s/chunk%d/onebyte=%v", c.name, chunk, oneByte)
				t.Run(name, func(t *testing.T) {
					o := c.opts
					if o.ChunkSize == 0 {
						o.ChunkSize = chunk
					}
					var src io.Reader = strings.NewReader(c.in)
					if oneByte {
						src = iotest.OneByteReader(src)
					}
					g := readAll(t, NewReader(src, o))
					if !reflect.DeepEqual(g, c.want) {
						t.Errorf("got\n%#v\nwant\n%#v", g, c.want)
					}
				})
			}
		}
	}
}

func encodeUTF16(s string, bigEndian, bom bool) []byte {
	var b []byte
	u := utf16.Encode([]rune(s))
	if bom {
		u = append([]uint16{0xFEFF}, u...)
	}
	for _, c := range u {
		if bigEndian {
			b = append(b, byte(c>>8), byte(c))
		} else {
			b = append(b, byte(c), byte(c>>8))
		}
	}
	return b
}

func TestUTF16(t *testing.T) {
	text := "név,emoji\n\"a,😀\",b\n"
	want := []got{row(1, "név", "emoji"), row(2, "a,😀", "b")}
	for _, tc := range []struct {
		name string
		data []byte
		enc  string
	}{
		{"le bom", encodeUTF16(text, false, true), ""},
		{"be bom", encodeUTF16(text, true, true), ""},
		{"le declared", encodeUTF16(text, false, false), "utf-16le"},
		{"be declared", encodeUTF16(text, true, false), "utf-16be"},
		{"be declared with bom", encodeUTF16(text, true, true), "utf-16be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := readAll(t, NewReader(iotest.HalfReader(bytes.NewReader(tc.data)), Options{Encoding: tc.enc, TrimBOM: true, ChunkSize: 3}))
			if !reflect.DeepEqual(g, want) {
				t.Errorf("got %#v", g)
			}
		})
	}
	// A lone surrogate and an odd trailing byte become U+FFFD.
	d := append(encodeUTF16("a,", false, true), 0x00, 0xD8, 'b', 0, '\n', 0, 'x')
	g := readAll(t, NewReader(bytes.NewReader(d), Options{}))
	w := []got{row(1, "a", "\uFFFDb"), row(2, "\uFFFD")}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got %#v want %#v", g, w)
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{{Delimiter: '"'}, {Delimiter: '\n'}, {Quote: '\n'}, {Encoding: "ebcdic"}} {
		_, err := NewReader(strings.NewReader("a"), o).Read()
		if err == nil || IsRecordError(err) {
			t.Errorf("%+v: want a fatal error, got %v", o, err)
		}
	}
}

// failReader yields n rows, then fails.
type failReader struct {
	n    int
	left string
}

func (f *failReader) Read(p []byte) (int, error) {
	if f.left == "" {
		if f.n == 0 {
			return 0, errors.New("disk on fire")
		}
		f.n--
		f.left = "a,b\n"
	}
	k := copy(p, f.left)
	f.left = f.left[k:]
	return k, nil
}

func TestReadErrorIsFatal(t *testing.T) {
	r := NewReader(&failReader{n: 2}, Options{ChunkSize: 4})
	n := 0
	for {
		_, err := r.Read()
		if err == nil {
			n++
			continue
		}
		if IsRecordError(err) || err == io.EOF || !strings.Contains(err.Error(), "disk on fire") {
			t.Fatalf("want the read error, got %v", err)
		}
		break
	}
	if n != 2 {
		t.Errorf("read %d rows before the error, want 2", n)
	}
}

func TestOffsetAndLongLines(t *testing.T) {
	// Records longer than the chunk size grow the chunk; fields stay intact.
	long := strings.Repeat("x", 100000)
	in := "a," + long + "\n\"" + long + "\n" + long + "\",b\n"
	r := NewReader(strings.NewReader(in), Options{ChunkSize: 64})
	g := readAll(t, r)
	want := []got{row(1, "a", long), rowN(2, 2, long+"\n"+long, "b")}
	if !reflect.DeepEqual(g, want) {
		t.Fatalf("long records mangled")
	}
	if r.Offset() != int64(len(in)) {
		t.Errorf("offset %d, want %d", r.Offset(), len(in))
	}
}

// TestAgainstEncodingCSV compares with the standard library on a varied
// file: same records and line numbers.
func TestAgainstEncodingCSV(t *testing.T) {
	var b strings.Builder
	for i := range 3000 {
		switch i % 7 {
		case 0:
			fmt.Fprintf(&b, "%d,plain,%d\n", i, i*i)
		case 1:
			fmt.Fprintf(&b, "%d,\"with, comma\",\"and \"\"quotes\"\"\"\n", i)
		case 2:
			fmt.Fprintf(&b, "%d,\"multi\nline\",x\n", i)
		case 3:
			fmt.Fprintf(&b, "%d,,\n", i)
		case 4:
			fmt.Fprintf(&b, "%d,ünï,\"\"\n", i)
		case 5:
			fmt.Fprintf(&b, "\n")
		default:
			fmt.Fprintf(&b, "%d,a b,c\t d\n", i)
		}
	}
	in := b.String()
	cr := csv.NewReader(strings.NewReader(in))
	cr.FieldsPerRecord = -1
	var want []got
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		line, _ := cr.FieldPos(0)
		want = append(want, got{Fields: rec, Line: int64(line), Lines: 1 + strings.Count(strings.Join(rec, ","), "\n")})
	}
	for _, chunk := range []int{7, 100, 0} {
		g := readAll(t, NewReader(strings.NewReader(in), Options{ChunkSize: chunk}))
		if !reflect.DeepEqual(g, want) {
			for i := range min(len(g), len(want)) {
				if !reflect.DeepEqual(g[i], want[i]) {
					t.Fatalf("chunk %d: record %d: got %#v want %#v", chunk, i, g[i], want[i])
				}
			}
			t.Fatalf("chunk %d: %d records, want %d", chunk, len(g), len(want))
		}
	}
}

func TestAllocsPerRow(t *testing.T) {
	var b strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&b, "BN%08d,2025-05-03 13:54:54,ST1755,917259773236,EX0761471,Mary,Ivanova,mary162@cap.test,4023.73,147.94,3875.79,WALLET,paid,10,walk-in\n", i)
	}
	in := b.String()
	allocs := testing.AllocsPerRun(5, func() {
		r := NewReader(strings.NewReader(in), Options{})
		for {
			if _, err := r.Read(); err != nil {
				break
			}
		}
	})
	if per := allocs / 2000; per > 0.1 {
		t.Errorf("%.3f allocations per row, want ≤ 0.1", per)
	}
}

// TestRecordErrorKeepsOriginalBytes: a row rejected for invalid UTF-8 keeps
// its bytes in RecordError.Raw (they were replaced by U+FFFD, so the result
// file no longer held the row the user has to fix and re-send).
func TestRecordErrorKeepsOriginalBytes(t *testing.T) {
	for _, in := range []string{"a,b\nJos\xe9,1\nok,2\n", "a,b\n\"Jos\xe9\",1\nok,2\n"} {
		r := NewReader(strings.NewReader(in), Options{})
		if _, err := r.Read(); err != nil {
			t.Fatal(err)
		}
		_, err := r.Read()
		var re *RecordError
		if !errors.As(err, &re) {
			t.Fatalf("%q: want a RecordError, got %v", in, err)
		}
		want := strings.Split(in, "\n")[1]
		if re.Raw != want {
			t.Fatalf("Raw %q, want %q", re.Raw, want)
		}
		if row, err := r.Read(); err != nil || row.Fields[0] != "ok" {
			t.Fatalf("next row: %v %v", row, err)
		}
	}
}

// TestSplitByteMatchesStringsSplit: the word-at-a-time split against
// strings.Split on random lines (every alignment, runs of delimiters,
// bytes next to the delimiter's value, rows wider than the previous one
// and than the slab's rest).
func TestSplitByteMatchesStringsSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{',', ',', 'a', '0', 0x2b, 0x2d, 0xac, 0x00, 0x7f, 0xff, ';', '\t'}
	readers := map[byte]*Reader{',': NewReader(strings.NewReader(""), Options{}), ';': NewReader(strings.NewReader(""), Options{Delimiter: ';'})}
	var prev, prevWant []string
	for it := 0; it < 200000; it++ {
		d := byte(',')
		if it%3 == 1 {
			d = ';'
		}
		n := rng.IntN(70)
		if it%1000 == 0 {
			n = rng.IntN(20000)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		line := string(b)
		got := readers[d].splitByte(line, d)
		want := strings.Split(line, string(d))
		if !slices.Equal(got, want) || cap(got) != len(got) {
			t.Fatalf("%q split at %q: got %q (cap %d), want %q", line, d, got, cap(got), want)
		}
		if !slices.Equal(prev, prevWant) {
			t.Fatalf("the next split overwrote the previous row's fields: %q, want %q", prev, prevWant)
		}
		prev, prevWant = got, want
	}
}

// With ReuseSlabs, a slab is carved from again only once every hold on it
// is released: the Fields of held rows stay intact while the reader goes
// on, released slabs are reused, and a slab released too often panics.
func TestReuseSlabs(t *testing.T) {
	var sb strings.Builder
	const rows = 20000
	for i := range rows {
		fmt.Fprintf(&sb, "%d,a%d,b%d,c%d\n", i, i, i, i)
	}
	r := NewReader(strings.NewReader(sb.String()), Options{})
	if _, err := r.Read(); err != nil { // row 0 comes from the first slab, not reusable
		t.Fatal(err)
	}
	if r.Slab() != nil {
		t.Fatal("the slab before ReuseSlabs is reusable")
	}
	r.ReuseSlabs()
	type held struct {
		i      int
		fields []string
		slab   *Slab
	}
	var keep []held
	slabs := map[*Slab]bool{}
	for i := 1; i < rows; i++ {
		row, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		s := r.Slab()
		if s == nil {
			continue // still the first slab
		}
		slabs[s] = true
		if i%3 == 0 {
			// Every third row is kept (and its slab held) for a while.
			s.Hold()
			keep = append(keep, held{i, row.Fields, s})
		}
		if len(keep) > 500 {
			for _, h := range keep[:250] {
				if want := fmt.Sprintf("%d|a%d|b%d|c%d", h.i, h.i, h.i, h.i); strings.Join(h.fields, "|") != want {
					t.Fatalf("row %d held: %q", h.i, h.fields)
				}
				h.slab.Release()
			}
			keep = keep[250:]
		}
	}
	// 20000 rows of 4 fields fill ten slabs; with holds released as the
	// reader goes, far fewer are allocated.
	if len(slabs) == 0 || len(slabs) > 5 {
		t.Fatalf("%d distinct slabs", len(slabs))
	}
	s := &Slab{free: make(chan *Slab, 1)}
	s.refs.Store(1)
	s.Release()
	defer func() {
		if recover() == nil {
			t.Fatal("a slab released more often than held did not panic")
		}
	}()
	s.Release()
}
