package jsonv

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRoundTripKeepsOrderAndNumberKinds(t *testing.T) {
	in := `{"z":1,"a":[1.5,-2,true,null,"x\"y\u00e9\n"],"m":{"b":{},"a":[]},"big":12345678901234567890,"e":1e3}`
	v, err := ParseString(in)
	if err != nil {
		t.Fatal(err)
	}
	o := v.(*Object)
	if got := strings.Join(o.Keys(), ","); got != "z,a,m,big,e" {
		t.Fatalf("keys %s", got)
	}
	if _, ok := o.Members[0].Value.(int64); !ok {
		t.Fatalf("1 should be int64, got %T", o.Members[0].Value)
	}
	if _, ok := o.Members[3].Value.(float64); !ok {
		t.Fatalf("huge int should be float64, got %T", o.Members[3].Value)
	}
	out := string(Marshal(v))
	want := `{"z":1,"a":[1.5,-2,true,null,"x\"yé\n"],"m":{"b":{},"a":[]},"big":12345678901234567000,"e":1000}`
	if out != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
	var check any
	if err := json.Unmarshal([]byte(out), &check); err != nil {
		t.Fatal(err)
	}
}

func TestSyntaxErrorsLocate(t *testing.T) {
	cases := map[string]string{
		"{\n  \"a\": tru\n}": "line 2, column 8",
		`[1,2`:               "end of input",
		`{"a" 1}`:            "expected ':'",
		`"abc`:               "unterminated",
		`01`:                 "leading zero",
		`[1] x`:              "after the JSON value",
		`{"a":"\x"}`:         "invalid escape",
	}
	for in, want := range cases {
		_, err := ParseString(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
	deep := strings.Repeat("[", MaxDepth+1)
	if _, err := ParseString(deep); err == nil || !strings.Contains(err.Error(), "nesting") {
		t.Errorf("deep nesting: %v", err)
	}
}

func TestEscaping(t *testing.T) {
	got := string(AppendString(nil, "a\x01\"\\\u2028\xff"))
	if got != `"a\u0001\"\\\u2028\ufffd"` {
		t.Fatalf("got %s", got)
	}
	if string(AppendFloat(nil, 1e21)) != "1e+21" || string(AppendFloat(nil, 0.0000001)) != "1e-7" || string(AppendFloat(nil, 2.5)) != "2.5" {
		t.Fatal("float formatting")
	}
}

func TestDecoderStreams(t *testing.T) {
	d := NewDecoder(strings.NewReader(`[ {"a":1}, "x]",
 2, [3] ]`))
	var got []string
	for {
		v, err := d.NextElement()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(Marshal(v)))
	}
	if strings.Join(got, "|") != `{"a":1}|"x]"|2|[3]` {
		t.Fatalf("got %v", got)
	}
	d = NewDecoder(strings.NewReader("{\"a\":1}\n{\"b\":2}\n"))
	n := 0
	for {
		_, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("jsonl values %d", n)
	}
}

func TestObjectOps(t *testing.T) {
	o := NewObject(0)
	for i := 0; i < 40; i++ {
		o.Set(string(rune('A'+i)), int64(i))
	}
	o.Set("B", "x")
	if v, _ := o.Get("B"); v != "x" {
		t.Fatal("set existing")
	}
	o.Delete("A")
	if _, ok := o.Get("A"); ok || o.Len() != 39 {
		t.Fatal("delete")
	}
	if v, _ := o.Get("Z"); v != int64(25) {
		t.Fatalf("indexed get after delete: %v", v)
	}
	if !Equal(FromGo(map[string]any{"a": 1.0, "b": []any{"x"}}), mustParse(t, `{"b":["x"],"a":1}`)) {
		t.Fatal("equal")
	}
}

func mustParse(t *testing.T, s string) any {
	v, err := ParseString(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, `"\ud83d\ude00"`, `-0.5e-3`, `[[[[]]]]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseString(s)
		if err != nil {
			return
		}
		out := Marshal(v)
		v2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse of %q failed: %v", out, err)
		}
		if !Equal(v, v2) {
			t.Fatalf("round trip changed value: %s", out)
		}
	})
}

func TestBoxString(t *testing.T) {
	cols := []string{"a", "bé", ""}
	vals := make([]any, len(cols))
	for i := range cols {
		vals[i] = BoxString(&cols[i])
	}
	for i, v := range vals {
		s, ok := v.(string)
		if !ok || s != cols[i] || !Equal(v, cols[i]) {
			t.Fatalf("%d: %#v", i, v)
		}
	}
	if string(Marshal(vals)) != `["a","bé",""]` {
		t.Fatal(string(Marshal(vals)))
	}
	if n := testing.AllocsPerRun(100, func() { _ = BoxString(&cols[0]) }); n != 0 {
		t.Fatalf("allocs %v", n)
	}
}

// TestAppendStringWordPath checks the 8-bytes-at-a-time path against the
// byte-at-a-time encoding: every byte value at every offset of a 17-byte
// string, and random strings mixing escapes, multi-byte and invalid UTF-8.
func TestAppendStringWordPath(t *testing.T) {
	// ref encodes each rune (or invalid byte) on its own, so the word path
	// never applies; its output must equal the whole string's.
	ref := func(s string) string {
		b := []byte{'"'}
		for i := 0; i < len(s); {
			_, size := utf8.DecodeRuneInString(s[i:])
			one := AppendString(nil, s[i:i+size])
			b = append(b, one[1:len(one)-1]...)
			i += size
		}
		return string(append(b, '"'))
	}
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 17; pos++ {
			buf := []byte("abcdefghijklmnopq")
			buf[pos] = byte(c)
			s := string(buf)
			if got, want := string(AppendString(nil, s)), ref(s); got != want {
				t.Fatalf("byte %#x at %d: got %s, want %s", c, pos, got, want)
			}
		}
	}
	alphabet := []string{"a", "Z", " ", "~", "\"", "\\", "\n", "\x01", "\x1f", "\x7f", "é", "\u2028", "\xff", "€"}
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 2000; n++ {
		var sb strings.Builder
		for k := r.IntN(40); k > 0; k-- {
			sb.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		s := sb.String()
		if got, want := string(AppendString(nil, s)), ref(s); got != want {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	}
}

// Plain strings are copied unchanged by AppendString, and an ASCII string
// that is not Plain is not (non-ASCII text is never Plain: the check stays
// a word-at-a-time scan).
func TestPlainMatchesAppendString(t *testing.T) {
	r := rand.New(rand.NewPCG(22, 9))
	alphabet := []byte("abcXYZ019 ,.-_:/\"\\\t\n\x00\x1f\x7f\xc3\xa9\xe2\x80\xa8\xff")
	for range 100000 {
		b := make([]byte, r.IntN(30))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		s := string(b)
		same := string(AppendString(nil, s)) == `"`+s+`"`
		ascii := true
		for i := 0; i < len(s); i++ {
			ascii = ascii && s[i] < utf8.RuneSelf
		}
		if Plain(s) && !same || ascii && !Plain(s) && same {
			t.Fatalf("%q: Plain %v, AppendString copies unchanged %v", s, Plain(s), same)
		}
	}
}

// TestPlainLongLines: Plain against a byte-at-a-time reference on lines
// as long as CSV rows, clean or with one byte that is not plain at any
// position (the word-at-a-time scan tests once at the end).
func TestPlainLongLines(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 3))
	clean := []byte("abcXYZ019 ,.-_:/@#~!^{}[]")
	bad := []byte("\"\\\t\n\x00\x1f\x7f\x80\xc3\xa9\xff")
	ref := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] >= utf8.RuneSelf || !safe[s[i]] {
				return false
			}
		}
		return true
	}
	for range 200000 {
		b := make([]byte, r.IntN(300))
		for i := range b {
			b[i] = clean[r.IntN(len(clean))]
		}
		if len(b) > 0 && r.IntN(2) == 0 {
			b[r.IntN(len(b))] = bad[r.IntN(len(bad))]
		}
		s := string(b)
		if got, want := Plain(s), ref(s); got != want {
			t.Fatalf("%q: Plain %v, want %v", s, got, want)
		}
	}
}
