package jslt

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/jsonv"
)

// The flagship transformation (examples/add_transactions.yaml).
const flagshipQuery = `[ for (.) {
    "billNumber": .bill_number,
    "billDate": .bill_date,
    "type": "REGULAR",
    "billAmount": number(.bill_amount),
    "discount": number(.discount),
    "grossAmount": number(.gross_amount),
    "identifierType": "mobile",
    "identifierValue": .mobile,
    "source": "INSTORE",
    "extendedFields": { "payment_mode": .payment_mode },
    "storeCode": .store_code
} ]`

var rowNames = []string{"bill_number", "bill_date", "bill_amount", "discount", "gross_amount", "mobile", "payment_mode", "store_code", "status", "bill_number"}

// rowQueries cover every pair kind: literals of each type (null left
// out), columns present and absent, number() with and without fallbacks,
// nested objects that end up empty, and expressions for the general
// evaluator (which see the row as an object).
var rowQueries = []string{
	`{"a": .bill_number, "b": "lit", "c": 12, "d": 1.5, "e": true, "f": null, "g": .missing, "h": number(.bill_amount)}`,
	`{"n": number(.discount, 0), "m": number(.missing, "none"), "z": number(.gross_amount, null), "y": number(.missing)}`,
	`{"o": {"p": .missing, "q": {"r": .missing}}, "s": {}, "t": [], "u": {"v": .status}}`,
	`{"x": .bill_number + "-" + .status, "y": if (.status == "paid") 1 else 2, "z": .bill_date.year, "w": [.mobile], "k": size(.store_code)}`,
	`{"e": {"f": .payment_mode, "g": number(.bill_amount)}, "h": fallback(.missing, .status), "i": string(number(.discount, 0))}`,
	`{}`,
	`{"only": .missing}`,
	`{"a": 1.0, "b": -0.0, "c": 1e300, "d": "\u2028\"\\"}`,
	`def f(x) $x + 1 {"a": f(number(.bill_amount, 0)), "b": .bill_number}`,
	// Arrays: elements are never left out, so null, {} and [] are written.
	`{"a": [.bill_number, .missing, null, 1, "s", {}, [], {"x": .missing}, {"y": .status}], "b": [], "c": [[], [.mobile]]}`,
	`{"n": [number(.discount), number(.missing), number(.missing, 0), number(.bill_amount, null), number(.status, "x")]}`,
	`{"p": [{"q": .bill_number, "r": [{"t": "mobile", "v": .mobile}, {"t": "x", "v": .missing}]}], "e": [.status + "!", size(.store_code)]}`,
	`{"z": [number(.gross_amount)], "w": [{"k": {}}]}`,
}

func randomCell(r *rand.Rand) string {
	pool := []string{"", "0", "12", "-7", "12.50", "0.1", "1e5", "1E-7", "007", ".5", "-.5E2", "99999999999999999999",
		"1.7976931348623157e309", "abc", "12a", " 12", "paid", "refunded", "héllo", "a\"b\\c", "tab\there", "\x00\x1f",
		"\xff\xfe", "line\nbreak", "\u2028", "3.14159265358979323846", "-0", "1.", "+1", "NaN"}
	if r.IntN(4) == 0 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return string(b)
	}
	return pool[r.IntN(len(pool))]
}

func randomRow(r *rand.Rand) []string {
	n := len(rowNames)
	if r.IntN(8) == 0 {
		n = r.IntN(n + 2) // short and long rows
	}
	row := make([]string, n)
	for i := range row {
		row[i] = randomCell(r)
	}
	return row
}

// rowInput is the row as jslt_transform hands it to Apply.
func rowInput(names, cols []string) *jsonv.Object {
	o := jsonv.NewObject(len(cols))
	for j, c := range cols {
		if j < len(names) {
			o.Members = append(o.Members, jsonv.Member{Key: names[j], Value: c})
		}
	}
	return o
}

// checkRows runs rows through the template and through Apply, and fails
// unless the bodies are byte-identical and errors agree.
func checkRows(t testing.TB, e *Expr, names []string, rows [][]string) {
	t.Helper()
	// Per record.
	if tpl, ok := e.RowTemplate(names, false); ok {
		for _, row := range rows {
			got, gerr := tpl.AppendRow([]byte("prefix"), row)
			want, werr := e.Apply(rowInput(names, row), nil)
			if (gerr != nil) != (werr != nil) {
				t.Fatalf("query %s row %q: template error %v, Apply error %v", e, row, gerr, werr)
			}
			if werr != nil {
				if string(got) != "prefix" {
					t.Fatalf("query %s row %q: template wrote %q on error", e, row, got)
				}
				continue
			}
			if w := append([]byte("prefix"), jsonv.Append(nil, want)...); !bytes.Equal(got, w) {
				t.Fatalf("query %s row %q:\n template %s\n Apply    %s", e, row, got, w)
			}
		}
	}
	// As a batch, [for (.) query].
	be, err := Compile("[for (.) " + e.String() + "]")
	if err != nil {
		return // e.g. a query that starts with def
	}
	tpl, ok := be.RowTemplate(names, true)
	if !ok {
		return
	}
	in := make([]any, len(rows))
	for i, row := range rows {
		in[i] = rowInput(names, row)
	}
	// Rows say they are plain when they are (as a CSV line without
	// escapes is), so both ways of copying columns are compared.
	got, ends, gerr := tpl.AppendRows([]byte("["), len(rows), func(i int) ([]string, bool) {
		return rows[i], jsonv.Plain(strings.Join(rows[i], ""))
	}, nil)
	want, werr := be.Apply(in, nil)
	if (gerr != nil) != (werr != nil) {
		t.Fatalf("query %s: template error %v, Apply error %v", be, gerr, werr)
	}
	if werr != nil {
		if string(got) != "[" || len(ends) != 0 {
			t.Fatalf("query %s: template wrote %q on error", be, got)
		}
		return
	}
	arr := want.([]any)
	if len(ends) != len(arr) {
		t.Fatalf("query %s: %d ends for %d rows", be, len(ends), len(arr))
	}
	start := 1
	for i := range arr {
		if w := jsonv.Append(nil, arr[i]); !bytes.Equal(got[start:ends[i]], w) {
			t.Fatalf("query %s row %d %q:\n template %s\n Apply    %s", be, i, rows[i], got[start:ends[i]], w)
		}
		start = ends[i]
	}
}

func TestRowTemplateMatchesApply(t *testing.T) {
	r := rand.New(rand.NewPCG(22, 1))
	queries := append([]string{strings.TrimSuffix(strings.TrimPrefix(flagshipQuery, "[ for (.) "), " ]")}, rowQueries...)
	for _, q := range queries {
		e := MustCompile(q)
		if _, ok := e.RowTemplate(rowNames, false); !ok {
			t.Fatalf("%s: no row template", q)
		}
		for range 50 {
			rows := make([][]string, 1+r.IntN(20))
			for i := range rows {
				rows[i] = randomRow(r)
			}
			checkRows(t, e, rowNames, rows)
		}
	}
}

func TestRowTemplateShapes(t *testing.T) {
	if _, ok := MustCompile(flagshipQuery).RowTemplate(rowNames, true); !ok {
		t.Fatal("the flagship query has no bulk row template")
	}
	for _, q := range []string{
		`[for (.) {"a": .x} if (.x)]`,   // a condition changes the length
		`[for (.[1:]) {"a": .x}]`,       // not over the batch
		`let v = 1 [for (.) {"a": $v}]`, // top-level let
		`[for (.) let y = 1 {"a": $y}]`, // loop let
		`[for (.) {let z = 2 "a": $z}]`, // object let
		`[for (.) {"a": .x, * : .}]`,    // matcher
		`[for (.) {.x : 1}]`,            // dynamic key
		`[for (.) .x]`,                  // not an object
		`[for (.) {"a": $param}]`,       // a parameter
	} {
		if _, ok := MustCompile(q).RowTemplate(rowNames, true); ok {
			t.Errorf("%s: got a bulk row template", q)
		}
	}
	if _, ok := MustCompile(flagshipQuery).RowTemplate(rowNames, false); ok {
		t.Error("a for loop has no per-record template")
	}
	// Arrays of templates compile, the bulk customer payload's shape.
	names := []string{"firstname", "lastname", "email", "mobile", "source", "account_id", "external_id", "city", "gender", "dob", "LINE_NO"}
	tpl, ok := MustCompile(bulkCustomerQuery).RowTemplate(names, true)
	if !ok || tpl.generic {
		t.Fatalf("the bulk customer payload has no evaluator-free bulk row template (%v)", ok)
	}
	r := rand.New(rand.NewPCG(25, 2))
	for range 50 {
		rows := make([][]string, 1+r.IntN(20))
		for i := range rows {
			rows[i] = make([]string, r.IntN(len(names)+2))
			for j := range rows[i] {
				rows[i][j] = randomCell(r)
			}
		}
		checkRows(t, MustCompile(strings.TrimSuffix(strings.TrimPrefix(bulkCustomerQuery, "[ for (.) "), " ]")), names, rows)
	}
}

// A failing row fails the batch (as Apply does), and the output budget is
// charged as Apply charges it.
func TestRowTemplateErrors(t *testing.T) {
	e := MustCompile(flagshipQuery)
	tpl, _ := e.RowTemplate(rowNames, true)
	rows := [][]string{{"1", "d", "10", "0", "10", "m", "cash", "s", "paid"}, {"2", "d", "x", "0", "10", "m", "cash", "s", "paid"}}
	out, ends, err := tpl.AppendRows(nil, 2, func(i int) ([]string, bool) { return rows[i], false }, nil)
	if err == nil || len(out) != 0 || len(ends) != 0 {
		t.Fatalf("got %q %v %v", out, ends, err)
	}
	if _, aerr := e.Apply([]any{rowInput(rowNames, rows[0]), rowInput(rowNames, rows[1])}, nil); aerr == nil || aerr.Error() != err.Error() {
		t.Fatalf("template error %v, Apply error %v", err, aerr)
	}
	for _, budget := range []int64{1, 10, 24, 25, 26, 27, 100} {
		small := MustCompile(`[for (.) {"a": .bill_number, "b": {"c": .status}}]`, WithMaxOutputSize(budget))
		st, _ := small.RowTemplate(rowNames, true)
		_, _, terr := st.AppendRows(nil, 2, func(i int) ([]string, bool) { return rows[i], false }, nil)
		_, aerr := small.Apply([]any{rowInput(rowNames, rows[0]), rowInput(rowNames, rows[1])}, nil)
		if (terr != nil) != (aerr != nil) {
			t.Fatalf("budget %d: template error %v, Apply error %v", budget, terr, aerr)
		}
	}
}

func FuzzRowTemplate(f *testing.F) {
	f.Add(`{"a": .bill_number, "n": number(.bill_amount)}`, "1,2,3.5,x,,paid")
	f.Add(`{"a": {"b": .status}, "c": number(.discount, 0), "d": .bill_number + .status}`, "a,b,c,d,e,f,g,h,refunded")
	f.Add(`{"x": null, "y": [], "z": {}}`, "")
	f.Add(`{"a": [.bill_number, null, {}, [], {"b": .missing}, number(.discount, null)], "c": [[.status]]}`, "1,2,3,x\n,,,")
	f.Fuzz(func(t *testing.T, query, rowsText string) {
		e, err := Compile(query, fuzzOpts...)
		if err != nil {
			return
		}
		var rows [][]string
		for line := range strings.SplitSeq(rowsText, "\n") {
			rows = append(rows, strings.Split(line, ","))
		}
		checkRows(t, e, rowNames, rows)
	})
}

func BenchmarkRowTemplate(b *testing.B) {
	e := MustCompile(flagshipQuery)
	tpl, _ := e.RowTemplate(rowNames, true)
	rows := make([][]string, 100)
	for i := range rows {
		rows[i] = []string{"B123456", "2026-01-02 10:11:12", "1234.50", "10", "1244.50", "919800000000", "card", "S001", "paid"}
	}
	var buf []byte
	var ends []int
	b.ReportAllocs()
	for b.Loop() {
		buf, ends, _ = tpl.AppendRows(buf[:0], len(rows), func(i int) ([]string, bool) { return rows[i], true }, ends[:0])
	}
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "records/s")
}

// appendNumber's short path for plain decimals writes what parseNum and
// jsonv.AppendFloat write, on every shape of amount.
func TestAppendNumberMatchesParseNum(t *testing.T) {
	r := rand.New(rand.NewPCG(22, 7))
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
		}
		return string(b)
	}
	check := func(s string) {
		got, gok := appendNumber([]byte("x"), s)
		want, wok := slowNumber([]byte("x"), s)
		if gok != wok || string(got) != string(want) {
			t.Fatalf("%q: got %q %v, want %q %v", s, got, gok, want, wok)
		}
	}
	for _, s := range []string{"0", "-0", "0.0", "-0.0", "007", "1234.50", "0.000001", "0.0000001", "999999999999999", "9999999999999999",
		"0.1", "0.2", "0.3", "1.1", "2.675", "1e5", ".5", "1.", "-", "", "12a", "1.2.3", "100.00", "-100.10", "123456789012345.0"} {
		check(s)
	}
	for range 200000 {
		s := digits(1 + r.IntN(9))
		if r.IntN(4) > 0 {
			s += "." + digits(1+r.IntN(8))
		}
		if r.IntN(3) == 0 {
			s = "-" + s
		}
		check(s)
	}
}

// BenchmarkRowTemplateCustomer is the bulk customer payload (nested
// arrays of objects) as a row template.
func BenchmarkRowTemplateCustomer(b *testing.B) {
	names := []string{"firstname", "lastname", "email", "mobile", "source", "account_id", "external_id", "city", "gender", "dob", "LINE_NO"}
	tpl, ok := MustCompile(bulkCustomerQuery).RowTemplate(names, true)
	if !ok {
		b.Fatal("no row template")
	}
	rows := make([][]string, 100)
	for i := range rows {
		rows[i] = make([]string, len(names))
		for j, n := range names {
			rows[i][j] = fmt.Sprintf("%s-%d", n, i)
		}
	}
	var buf []byte
	var ends []int
	b.ReportAllocs()
	for b.Loop() {
		buf, ends, _ = tpl.AppendRows(buf[:0], len(rows), func(i int) ([]string, bool) { return rows[i], true }, ends[:0])
	}
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "records/s")
}
