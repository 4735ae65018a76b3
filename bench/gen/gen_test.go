package gen

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/format/csvio"
)

func TestTransactions(t *testing.T) {
	var a, b bytes.Buffer
	n, err := WriteTransactions(&a, 20000, 42)
	if err != nil || n != int64(a.Len()) {
		t.Fatal(n, err)
	}
	WriteTransactions(&b, 20000, 42)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same seed, different bytes")
	}
	var c bytes.Buffer
	WriteTransactions(&c, 20000, 43)
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatal("seed ignored")
	}
	if avg := float64(a.Len()-len(TransactionHeader)-1) / 20000; avg < 130 || avg > 138 {
		t.Errorf("average row %.1f bytes, want about 134", avg)
	}
	r := csvio.NewReader(bytes.NewReader(a.Bytes()), csvio.Options{})
	hdr, _ := r.Read()
	if strings.Join(hdr.Fields, ",") != TransactionHeader {
		t.Fatalf("header %v", hdr.Fields)
	}
	status := map[string]int{}
	commas, quotes, rows := 0, 0, 0
	for {
		row, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(row.Fields) != 15 {
			t.Fatalf("line %d: %d fields", row.Line, len(row.Fields))
		}
		rows++
		status[row.Fields[12]]++
		if strings.Contains(row.Fields[14], ",") {
			commas++
		}
		if strings.Contains(row.Fields[14], `"`) {
			quotes++
		}
		if len(row.Fields[3]) != 12 || !strings.HasPrefix(row.Fields[3], "91") || len(row.Fields[1]) != 19 {
			t.Fatalf("line %d: %v", row.Line, row.Fields)
		}
	}
	pct := func(n int) float64 { return 100 * float64(n) / float64(rows) }
	if p := pct(status["paid"]); p < 68 || p > 72 {
		t.Errorf("paid %.1f%%", p)
	}
	if p := pct(status["not paid"]); p < 18 || p > 22 {
		t.Errorf("not paid %.1f%%", p)
	}
	if p := pct(status["cancelled"]); p < 8 || p > 12 {
		t.Errorf("cancelled %.1f%%", p)
	}
	if p := pct(commas); p < 4.5 || p > 7.5 {
		t.Errorf("quoted commas in %.1f%% of notes", p)
	}
	if p := pct(quotes); p < 0.5 || p > 1.5 {
		t.Errorf("escaped quotes in %.1f%% of notes", p)
	}
}

func TestCustomers(t *testing.T) {
	var buf bytes.Buffer
	if _, err := WriteCustomers(&buf, 1000, 1); err != nil {
		t.Fatal(err)
	}
	r := csvio.NewReader(&buf, csvio.Options{})
	want := len(strings.Split(CustomerHeader, ","))
	rows := 0
	for {
		row, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil || len(row.Fields) != want {
			t.Fatalf("line %d: %v %v", row.Line, row.Fields, err)
		}
		rows++
	}
	if rows != 1001 {
		t.Errorf("%d lines", rows)
	}
}

func BenchmarkTransactions(b *testing.B) {
	g := NewTransactions(42)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = g.AppendRow(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}
