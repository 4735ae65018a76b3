package spel

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// The row most spec examples run against.
var specRow = MapRow{
	"LineItem_Amount":   "1000",
	"LineItem_Discount": "150",
	"Quantity":          "3",
	"Item_Name":         "Pen",
	"Item_Purpose":      "writing",
	"Mobile_No":         "9876543210",
	"Is_Returned":       "YES",
	"Product_Category":  "JEWEL",
	"LineItem_Rate":     "200",
	"LineItem_Qty":      "2.5",
	"t_amount":          "41",
	"Transaction_value": "99.5",
	"to_change":         "1",
	"SC_NUMBER":         "ST-042",
	"Bill_Number":       "B-1",
	"F":                 "hello",
	"A":                 "4",
	"B":                 "2.5",
	"Empty":             "",
}

type evalCase struct {
	name    string
	mapping string
	row     MapRow // specRow when nil
	want    string
}

func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Compile(c.mapping)
			if err != nil {
				t.Fatalf("Compile(%q): %v", c.mapping, err)
			}
			row := c.row
			if row == nil {
				row = specRow
			}
			got, err := m.Eval(row, NewEnv())
			if err != nil {
				t.Fatalf("Eval(%q): %v", c.mapping, err)
			}
			if got != c.want {
				t.Fatalf("Eval(%q) = %q, want %q", c.mapping, got, c.want)
			}
		})
	}
}

// TestSpecExamples runs every example of spec §4.3.
func TestSpecExamples(t *testing.T) {
	runEvalCases(t, []evalCase{
		// Arithmetic.
		{"net amount", `exp{hdr{LineItem_Amount} - hdr{LineItem_Discount}}`, nil, "850"},
		{"amount times quantity", `exp{hdr{LineItem_Amount} * hdr{Quantity}}`, nil, "3000"},
		// Java int division truncates: 1000 / 74 = 13.
		{"INR to USD, int", `exp{hdr{LineItem_Amount} / 74}`, nil, "13"},
		{"INR to USD, decimal amount", `exp{hdr{LineItem_Amount} / 74}`, MapRow{"LineItem_Amount": "740.0"}, "10.0"},
		{"INR to USD, double divisor", `exp{hdr{LineItem_Amount} / 74.0}`, MapRow{"LineItem_Amount": "1110"}, "15.0"},
		// Strings.
		{"concat", `exp{hdr{Item_Name}.concat(hdr{Item_Purpose})}`, nil, "Penwriting"},
		{"concat chain", `exp{hdr{Item_Name}.concat(' is used for ').concat(hdr{Item_Purpose})}`, nil, "Pen is used for writing"},
		{"strip plus", `exp{('hdr{Mobile_No}'.startsWith('+')) ? 'hdr{Mobile_No}'.substring(1) : 'hdr{Mobile_No}'}`,
			MapRow{"Mobile_No": "+919876543210"}, "919876543210"},
		{"strip plus, none", `exp{('hdr{Mobile_No}'.startsWith('+')) ? 'hdr{Mobile_No}'.substring(1) : 'hdr{Mobile_No}'}`, nil, "9876543210"},
		// Conditionals.
		{"add country code", `exp{('hdr{Mobile_No}'.length() == 10) ? '+91'.concat('hdr{Mobile_No}') : 'hdr{Mobile_No}' }`, nil, "+919876543210"},
		{"keep country code", `exp{('hdr{Mobile_No}'.length() == 10) ? '+91'.concat('hdr{Mobile_No}') : 'hdr{Mobile_No}' }`,
			MapRow{"Mobile_No": "+919876543210"}, "+919876543210"},
		{"return flag", `exp{ ('yes'.equalsIgnoreCase('hdr{Is_Returned}')) ? 'RETURN' : 'REGULAR' }`, nil, "RETURN"},
		{"regular flag", `exp{ ('yes'.equalsIgnoreCase('hdr{Is_Returned}')) ? 'RETURN' : 'REGULAR' }`, MapRow{"Is_Returned": "no"}, "REGULAR"},
		// Complex: inline list, T(Math), ternary. (1000-150)/200 = 4 (int), floor → 4.0.
		{"complex, listed category", `exp{ ({'FUEL','JEWEL','METAL'}.contains('hdr{Product_Category}') ) ? T(Math).floor( (hdr{LineItem_Amount} - hdr{LineItem_Discount}) / hdr{LineItem_Rate}) : T(Math).floor(hdr{LineItem_Qty}) }`, nil, "4.0"},
		{"complex, other category", `exp{ ({'FUEL','JEWEL','METAL'}.contains('hdr{Product_Category}') ) ? T(Math).floor( (hdr{LineItem_Amount} - hdr{LineItem_Discount}) / hdr{LineItem_Rate}) : T(Math).floor(hdr{LineItem_Qty}) }`,
			MapRow{"Product_Category": "FOOD", "LineItem_Qty": "2.5"}, "2.0"},
		// Header-mapping variants.
		{"hdr double quotes", `exp{hdr"t_amount"+1}`, nil, "42"},
		{"hdr single quotes", `exp{hdr'Transaction_value'+1}`, nil, "100.5"},
		// "Avoiding common errors" table.
		{"syntax", `exp{'hdr{to_change}'.equals('1')}`, nil, "true"},
		{"null handling, set", `exp{hdr{to_change} != null && hdr{to_change}.equals('1')}`, nil, "true"},
		{"null handling, missing", `exp{hdr{to_change} != null && hdr{to_change}.equals('1')}`, MapRow{}, "false"},
		{"null handling, empty", `exp{hdr{to_change} != null && hdr{to_change}.equals('1')}`, MapRow{"to_change": ""}, "false"},
		{"property access", `hdr['to_change']`, nil, "1"},
		{"property access in exp", `exp{hdr['to_change'] + 1}`, nil, "2"},
		{"function call", `exp{toUpperCase('hello')}`, nil, "HELLO"},
		{"string concat with +", `exp{'Hello ' + 'world'}`, nil, "Hello world"},
		{"precedence", `exp{(1 + 2) * 3}`, nil, "9"},
		{"precedence without parentheses", `exp{1 + 2 * 3}`, nil, "7"},
		{"type conversion", `exp{Integer.parseInt(hdr{to_change}) == 1}`, nil, "true"},
		// const{} use cases.
		{"attribution type", `const{STORE_CODE}`, nil, "STORE_CODE"},
		{"currency", `const{INR}`, nil, "INR"},
		{"loyalty type", `const{loyalty}`, nil, "loyalty"},
		{"archive const", `const(TILL_CODE)`, nil, "TILL_CODE"},
		{"identifier value column", `SC_NUMBER`, nil, "ST-042"},
		// Legacy forms.
		{"base64", `base64{hdr{F}}`, nil, "aGVsbG8="},
		{"prefix concat base64", `'prefix'.concat(base64{hdr{F}})`, nil, "prefixaGVsbG8="},
		{"elvis present", `hdr{A} * (hdr{B}?:"default")`, nil, "10.0"},
		{"elvis fallback", `hdr{A} * (hdr{B}?:3)`, MapRow{"A": "4"}, "12"},
		{"empty check then", `'hdr{X}'.equals("")?'NONE':'hdr{X}'`, MapRow{}, "NONE"},
		{"empty check else", `'hdr{X}'.equals("")?'NONE':'hdr{X}'`, MapRow{"X": "v"}, "v"},
		{"boolean combo", `exp{!('hdr{A}'.equals('4')) || ('hdr{F}'.startsWith('h') && true)}`, nil, "true"},
		{"plus joined", `hdr{Item_Name} + '-' + hdr{Bill_Number}`, nil, "Pen-B-1"},
		{"concat chained", `hdr{Item_Name}.concat('/').concat(hdr{Item_Purpose})`, nil, "Pen/writing"},
		// Rename mappings from the header-mapping examples.
		{"rename", `t_amount`, nil, "41"},
		{"rename bill", `Bill_Number`, nil, "B-1"},
	})
}

func TestVariableScopeAcrossExpressions(t *testing.T) {
	env := NewEnv()
	first := MustCompile(`exp{var1 = 'Hello'}`)
	second := MustCompile(`exp{var2 = hdr{to_change}.equals(var1)}`)
	third := MustCompile(`exp{var1.concat(' ').concat(#var2.toString())}`)
	for _, c := range []struct {
		m    *Mapping
		row  MapRow
		want string
	}{
		{first, specRow, "Hello"},
		{second, MapRow{"to_change": "Hello"}, "true"},
		{third, specRow, "Hello true"},
		{second, MapRow{"to_change": "1"}, "false"},
	} {
		got, err := c.m.Eval(c.row, env)
		if err != nil || got != c.want {
			t.Fatalf("%s: got %q, %v; want %q", c.m, got, err, c.want)
		}
	}
	if v, ok := env.Get("var1"); !ok || v != "Hello" {
		t.Fatalf("env var1 = %v, %v", v, ok)
	}
	env.Reset()
	if _, err := third.Eval(specRow, env); err == nil || !strings.Contains(err.Error(), `unknown variable "var1"`) {
		t.Fatalf("after Reset: %v", err)
	}
}

func TestEnvValueConversions(t *testing.T) {
	env := NewEnv()
	in := map[string]any{"b": true, "i": 7, "i32": int32(8), "l": int64(1) << 40, "f": 2.5, "f32": float32(0.5),
		"s": "x", "n": nil, "list": []any{"a", int64(1)}, "big": 1 << 40}
	for k, v := range in {
		env.Set(k, v)
	}
	want := map[string]any{"b": true, "i": int32(7), "i32": int32(8), "l": int64(1) << 40, "f": 2.5, "f32": 0.5,
		"s": "x", "n": nil, "big": int64(1) << 40}
	for k, w := range want {
		if got, ok := env.Get(k); !ok || got != w {
			t.Errorf("%s: got %#v, want %#v", k, got, w)
		}
	}
	if got, _ := env.Get("list"); len(got.([]any)) != 2 {
		t.Errorf("list: %#v", got)
	}
	out, err := MustCompile(`exp{b && i + i32 == 15 && l > i && f * 2 == 5 && s == 'x' && n == null && list[1] == 1}`).Eval(nil, env)
	if err != nil || out != "true" {
		t.Fatalf("got %q, %v", out, err)
	}
}

func TestEnvListsAndIndexing(t *testing.T) {
	env := NewEnv()
	env.Set("myList", []string{"first", "second"})
	env.Set("n", 3)
	runWithEnv := func(src, want string) {
		t.Helper()
		got, err := MustCompile(src).Eval(specRow, env)
		if err != nil || got != want {
			t.Fatalf("%s: got %q, %v; want %q", src, got, err, want)
		}
	}
	runWithEnv(`exp{myList[0]}`, "first")
	runWithEnv(`exp{myList[n - 2]}`, "second")
	runWithEnv(`exp{myList.size()}`, "2")
	runWithEnv(`exp{{'a','b','c'}[2]}`, "c")
	runWithEnv(`exp{'hello'[1]}`, "e")
	runWithEnv(`exp{myList}`, "[first, second]")
	runWithEnv(`exp{'a,b,,c,,'.split(',')}`, "[a, b, , c]")
	runWithEnv(`exp{'a,b'.split(',')[1]}`, "b")
}

func TestOperatorsAndJavaSemantics(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"int wraps", `exp{2147483647 + 1}`, nil, "-2147483648"},
		{"long arithmetic", `exp{2147483647L + 1}`, nil, "2147483648"},
		{"int division truncates toward zero", `exp{-7 / 2}`, nil, "-3"},
		{"remainder sign", `exp{-7 % 3}`, nil, "-1"},
		{"double remainder", `exp{7.5 % 2}`, nil, "1.5"},
		{"double rendering", `exp{15 / 2.0}`, nil, "7.5"},
		{"double whole", `exp{2.0 * 50}`, nil, "100.0"},
		{"double large", `exp{1.0E10}`, nil, "1.0E10"},
		{"double small", `exp{0.0001}`, nil, "1.0E-4"},
		{"double threshold", `exp{1234567.0 * 10}`, nil, "1.234567E7"},
		{"double thousandth", `exp{1 / 1000.0}`, nil, "0.001"},
		{"power int", `exp{2 ^ 10}`, nil, "1024"},
		{"power double", `exp{2.0 ^ 0.5 > 1.41}`, nil, "true"},
		{"string repeat", `exp{'ab' * 3}`, nil, "ababab"},
		{"textual operators", `exp{1 lt 2 and 2 GE 2 and not (3 eq 4) or false}`, nil, "true"},
		{"div mod words", `exp{7 div 2 + 7 mod 2}`, nil, "4"},
		{"string compare", `exp{'apple' < 'banana'}`, nil, "true"},
		{"mixed numeric compare", `exp{1 == 1.0}`, nil, "true"},
		{"ternary nesting", `exp{hdr{A} > 3 ? hdr{A} > 10 ? 'big' : 'mid' : 'small'}`, nil, "mid"},
		{"elvis on empty string", `exp{'' ?: 'fallback'}`, nil, "fallback"},
		{"elvis keeps value", `exp{hdr{F} ?: 'fallback'}`, nil, "hello"},
		{"elvis on empty column", `exp{hdr{Empty} ?: 'none'}`, nil, "none"},
		{"safe navigation", `exp{hdr{Missing}?.toUpperCase() ?: 'n/a'}`, nil, "n/a"},
		{"null renders empty", `exp{null}`, nil, ""},
		{"missing column renders empty", `exp{hdr{Missing}}`, nil, ""},
		{"concat with null adds nothing", `exp{'a' + hdr{Missing} + 'b'}`, nil, "ab"},
		{"boolean strings are conditions", `exp{'TRUE' ? 'y' : 'n'}`, nil, "y"},
		{"matches operator", `exp{hdr{Mobile_No} matches '[0-9]{10}'}`, nil, "true"},
		{"numeric cell keeps text", `exp{hdr{code}}`, MapRow{"code": "0050"}, "0050"},
		{"numeric cell string method", `exp{hdr{code}.length()}`, MapRow{"code": "0050"}, "4"},
		{"numeric cell equals string literal", `exp{hdr{code} == '0050'}`, MapRow{"code": "0050"}, "true"},
		{"numeric cell arithmetic", `exp{hdr{code} + 1}`, MapRow{"code": "0050"}, "51"},
		{"numeric cell concatenation keeps text", `exp{'+91' + hdr{Mobile_No}}`, nil, "+919876543210"},
		{"long cell", `exp{hdr{Mobile_No} + 1}`, nil, "9876543211"},
		{"negative literal min int", `exp{-2147483648}`, nil, "-2147483648"},
		{"min int stays int", `exp{-2147483648 - 1}`, nil, "2147483647"},
		{"min long", `exp{-9223372036854775808L}`, nil, "-9223372036854775808"},
		{"big literal is long", `exp{2147483648 + 1}`, nil, "2147483649"},
		{"unary minus", `exp{-hdr{A}}`, nil, "-4"},
		{"not", `exp{!(hdr{A} > 3)}`, nil, "false"},
		{"assignment value", `exp{x = 5}`, nil, "5"},
		{"undefined hash variable is null", `exp{#nothing == null}`, nil, "true"},
		{"inline empty list", `exp{{}.isEmpty()}`, nil, "true"},
		{"list contains numbers", `exp{{1,2,3}.contains(hdr{A} - 2)}`, nil, "true"},
	})
}

func TestStringMethods(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"substring 2 args", `exp{'connectplus'.substring(0, 7)}`, nil, "connect"},
		{"substring unicode", `exp{'héllo'.substring(1, 3)}`, nil, "él"},
		{"length", `exp{'héllo'.length()}`, nil, "5"},
		{"endsWith", `exp{'file.csv'.endsWith('.csv')}`, nil, "true"},
		{"contains", `exp{'abcdef'.contains('cd')}`, nil, "true"},
		{"trim", `exp{'  x  '.trim()}`, nil, "x"},
		{"replace", `exp{'a-b-c'.replace('-', '/')}`, nil, "a/b/c"},
		{"replaceAll groups", `exp{'2024-03-01'.replaceAll('(\d+)-(\d+)-(\d+)', '$3/$2/$1')}`, nil, "01/03/2024"},
		{"replaceFirst", `exp{'aaa'.replaceFirst('a', 'b')}`, nil, "baa"},
		{"indexOf", `exp{'hello'.indexOf('l')}`, nil, "2"},
		{"lastIndexOf", `exp{'hello'.lastIndexOf('l')}`, nil, "3"},
		{"indexOf missing", `exp{'hello'.indexOf('z')}`, nil, "-1"},
		{"isEmpty", `exp{''.isEmpty()}`, nil, "true"},
		{"toLowerCase", `exp{'ABC'.toLowerCase()}`, nil, "abc"},
		{"charAt", `exp{'abc'.charAt(2)}`, nil, "c"},
		{"equalsIgnoreCase column", `exp{hdr{Is_Returned}.equalsIgnoreCase('yes')}`, nil, "true"},
		{"doubled quote escape", `exp{'it''s'}`, nil, "it's"},
		{"double-quoted literal", `exp{"say ""hi"""}`, nil, `say "hi"`},
		{"compareTo", `exp{'a'.compareTo('c')}`, nil, "-2"},
		{"matches method", `exp{'AB12'.matches('[A-Z]+[0-9]+')}`, nil, "true"},
		{"toString on number", `exp{(1 + 2).toString().concat('!')}`, nil, "3!"},
	})
}

func TestStaticMethods(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"floor", `exp{T(Math).floor(7.8)}`, nil, "7.0"},
		{"ceil", `exp{T(java.lang.Math).ceil(7.2)}`, nil, "8.0"},
		{"round double gives long", `exp{T(Math).round(7.5)}`, nil, "8"},
		{"round negative half", `exp{T(Math).round(-2.5)}`, nil, "-2"},
		{"round int", `exp{T(Math).round(7)}`, nil, "7"},
		{"abs", `exp{T(Math).abs(-3)}`, nil, "3"},
		{"max promotes", `exp{T(Math).max(3, 2.5)}`, nil, "3.0"},
		{"min", `exp{Math.min(hdr{A}, 10)}`, nil, "4"},
		{"pow", `exp{T(Math).pow(2, 3)}`, nil, "8.0"},
		{"sqrt", `exp{T(Math).sqrt(16)}`, nil, "4.0"},
		{"parseInt", `exp{T(Integer).parseInt('42') + 1}`, nil, "43"},
		{"parseLong", `exp{Long.parseLong('9876543210') + 1}`, nil, "9876543211"},
		{"parseDouble", `exp{Double.parseDouble('2.5') * 2}`, nil, "5.0"},
		{"valueOf", `exp{String.valueOf(12).length()}`, nil, "2"},
		{"parseBoolean", `exp{Boolean.parseBoolean('TRUE')}`, nil, "true"},
	})
}

// TestNoInjectionThroughCells checks that cell values are data, never
// expression syntax, inside or outside string literals.
func TestNoInjectionThroughCells(t *testing.T) {
	hostile := []string{
		`x') ? 'pwned' : ('`,
		`'`,
		`' + T(Math).pow(9, 9) + '`,
		`}`,
		`hdr{Other}`,
		`1) || true || ('`,
	}
	quoted := MustCompile(`exp{('hdr{Mobile_No}'.startsWith('+')) ? 'hdr{Mobile_No}'.substring(1) : 'hdr{Mobile_No}'}`)
	bare := MustCompile(`exp{hdr{Mobile_No}.concat('-ok')}`)
	for _, h := range hostile {
		row := MapRow{"Mobile_No": h, "Other": "SECRET"}
		got, err := quoted.Eval(row, nil)
		if err != nil || got != h {
			t.Errorf("quoted %q: got %q, %v; want the value unchanged", h, got, err)
		}
		got, err = bare.Eval(row, nil)
		if err != nil || got != h+"-ok" {
			t.Errorf("bare %q: got %q, %v", h, got, err)
		}
	}
}

func TestColumnsAndKinds(t *testing.T) {
	cases := []struct {
		src  string
		kind Kind
		cols []string
		agg  bool
	}{
		{"t_amount", KindColumn, []string{"t_amount"}, false},
		{"  Bill Number ", KindColumn, []string{"Bill Number"}, false},
		{"hdr{Bill Number}", KindColumn, []string{"Bill Number"}, false},
		{"exp{hdr{Bill Number}}", KindColumn, []string{"Bill Number"}, false},
		{"const{INR}", KindConst, nil, false},
		{"exp{hdr{A} - hdr{B} + hdr{A}}", KindExpr, []string{"A", "B"}, false},
		{`exp{'hdr{X}'.concat(hdr"Y").concat(hdr['Z'])}`, KindExpr, []string{"X", "Y", "Z"}, false},
		{"sum{hdr{F}}", KindExpr, []string{"F"}, true},
		{"exp{sum{hdr{F}} * 2}", KindExpr, []string{"F"}, true},
	}
	for _, c := range cases {
		m, err := Compile(c.src)
		if err != nil {
			t.Fatalf("%q: %v", c.src, err)
		}
		if m.Kind() != c.kind || strings.Join(m.Columns(), "|") != strings.Join(c.cols, "|") || m.IsAggregate() != c.agg {
			t.Errorf("%q: kind %d cols %q agg %v; want %d %q %v", c.src, m.Kind(), m.Columns(), m.IsAggregate(), c.kind, c.cols, c.agg)
		}
		if m.String() != c.src {
			t.Errorf("String() = %q", m.String())
		}
	}
}

func TestSumAggregate(t *testing.T) {
	rows := []Row{
		MapRow{"Bill": "B1", "Amount": "10.10"},
		MapRow{"Bill": "B1", "Amount": "20.20"},
		MapRow{"Bill": "B1", "Amount": ""},
		MapRow{"Bill": "B1", "Amount": "0.005"},
	}
	cases := []struct{ src, want string }{
		{"sum{hdr{Amount}}", "30.31"}, // 30.305 rounds half-up
		{"exp{sum{hdr{Amount}} * 2}", "60.62"},
		{"exp{hdr{Bill}.concat(':').concat(sum{hdr{Amount}})}", "B1:30.31"},
		{"sum{hdr{Qty}}", "0"},
	}
	for _, c := range cases {
		got, err := MustCompile(c.src).EvalGroup(rows, nil)
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.src, got, err, c.want)
		}
	}
	whole := []Row{MapRow{"Q": "1"}, MapRow{"Q": "2"}}
	if got, err := MustCompile("sum{hdr{Q}}").EvalGroup(whole, nil); err != nil || got != "3" {
		t.Errorf("whole sum: %q, %v", got, err)
	}
	// On one row, Eval treats the row as a group of one.
	if got, err := MustCompile("sum{hdr{Q}}").Eval(MapRow{"Q": "2.345"}, nil); err != nil || got != "2.35" {
		t.Errorf("single-row sum: %q, %v", got, err)
	}
	if _, err := MustCompile("sum{hdr{Q}}").EvalGroup([]Row{MapRow{"Q": "abc"}}, nil); err == nil || !strings.Contains(err.Error(), "row 1") {
		t.Errorf("non-numeric sum: %v", err)
	}
	// A non-aggregate mapping evaluated per group reads the first row.
	if got, _ := MustCompile("hdr{Bill}").EvalGroup(rows, nil); got != "B1" {
		t.Errorf("EvalGroup non-aggregate: %q", got)
	}
	if got, _ := MustCompile("exp{hdr{Bill}}").EvalGroup(nil, nil); got != "" {
		t.Errorf("EvalGroup empty: %q", got)
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		src  string
		pos  int
		frag string
	}{
		{"", 0, "empty mapping"},
		{"exp{hdr{A}", 10, "expected '}' to close the exp{ at offset 0"},
		{"exp{hdr{A} - hdr{B}", 19, "expected '}'"},
		{"exp{hdr{A}}}", 11, "unmatched '}'"},
		{"exp{(1 + 2}", 10, "expected ')'"},
		{"exp{hdr{A - 1}", 14, "expected '}' to close the exp{"}, // a column named "A - 1"
		{"exp{hdr{Unclosed + 1", 4, "unclosed hdr{"},
		{"exp{'abc}", 4, "unterminated string literal"},
		{"exp{'hdr{X'}", 5, "unclosed hdr{ inside a string literal"},
		{"const{INR", 0, "unclosed const{"},
		{"const{INR}x", 10, "unexpected text after const"},
		{"exp{1 +}", 7, "expected a value"},
		{"exp{'a'.foo()}", 8, "unknown method foo()"},
		{"exp{T(System).exit(0)}", 4, "unsupported type T(System)"},
		{"exp{Math.random()}", 9, "unknown method Math.random()"},
		{"exp{1 = 2}", 6, "only a variable can be assigned"},
		{"exp{'a'.length}", 8, "property access"},
		{"exp{{a: 1}}", 6, "inline maps"},
		{"exp{12abc}", 4, "malformed number"},
		{"exp{hdr{}}", 4, "empty column name"},
		{"exp{1 @ 2}", 6, "unexpected character"},
		{"exp{99999999999999999999}", 4, "out of range"},
		{"exp{Math.max(1)}", 9, "takes 2 argument(s)"},
		{"exp{foo(1)}", 4, "unknown function foo()"},
		{`{"TAmount":exp{hdr"t_amount"+1}}`, 0, "CompileHeaderMapping"},
		{"exp{9223372036854775808}", 4, "out of range"},
	}
	for _, c := range cases {
		_, err := Compile(c.src)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: got %v, want *Error", c.src, err)
			continue
		}
		if e.Pos != c.pos || !strings.Contains(e.Msg, c.frag) {
			t.Errorf("%q: got offset %d %q; want offset %d containing %q", c.src, e.Pos, e.Msg, c.pos, c.frag)
		}
		if !strings.Contains(e.Error(), "at offset") {
			t.Errorf("%q: message without position: %v", c.src, e)
		}
	}
}

func TestDeepNestingIsAnError(t *testing.T) {
	src := "exp{" + strings.Repeat("(", 500) + "1" + strings.Repeat(")", 500) + "}"
	if _, err := Compile(src); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("got %v", err)
	}
}

func TestEvalErrors(t *testing.T) {
	cases := []struct {
		src  string
		row  MapRow
		frag string
	}{
		{"exp{hdr{A} - hdr{F}}", specRow, `operator - needs numbers, got String "hello"`},
		{"exp{hdr{A} * hdr{Missing}}", specRow, "got null (a missing or empty column?)"},
		{"exp{hdr{A} / 0}", specRow, "division by zero"},
		{"exp{hdr{A} % 0}", specRow, "division by zero"},
		{"exp{hdr{B} / 0}", specRow, "division by zero"},
		{"exp{hdr{Missing}.length()}", specRow, "cannot call length() on null"},
		{"exp{'abc'.substring(5)}", specRow, "out of bounds"},
		{"exp{Integer.parseInt(hdr{F})}", specRow, `"hello" is not a valid 32-bit integer`},
		{"exp{hdr{F} ? 1 : 2}", specRow, "expected a boolean condition"},
		{"exp{undefinedVar + 1}", specRow, `unknown variable "undefinedVar"`},
		{"exp{'a' < 1}", specRow, "cannot compare"},
		{"exp{{1}[3]}", specRow, "out of bounds"},
		{"exp{true + 1}", specRow, "cannot add"},
	}
	for _, c := range cases {
		m, err := Compile(c.src)
		if err != nil {
			t.Fatalf("%q: %v", c.src, err)
		}
		_, err = m.Eval(c.row, nil)
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Msg, c.frag) {
			t.Errorf("%q: got %v; want an *Error containing %q", c.src, err, c.frag)
		}
	}
	// The error points at the failing operator.
	_, err := MustCompile("exp{1 + hdr{A} / 0}").Eval(specRow, nil)
	var e *Error
	if !errors.As(err, &e) || e.Pos != 15 {
		t.Fatalf("got %v, want offset 15", err)
	}
}

func TestHeaderMapping(t *testing.T) {
	entries, err := CompileHeaderMapping(`{"TAmount":exp{hdr"t_amount"+1}, "BillID":"Bill_Number", "Store":const{S1}, "Mobile": "exp{'+91'.concat('hdr{Mobile_No}')}", "Net": exp{ {'a','b'}.contains('a') ? hdr{A} : 0 }}`)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ header, value string }{
		{"TAmount", "42"}, {"BillID", "B-1"}, {"Store", "S1"}, {"Mobile", "+919876543210"}, {"Net", "4"},
	}
	if len(entries) != len(want) {
		t.Fatalf("got %d entries", len(entries))
	}
	for i, w := range want {
		got, err := entries[i].Mapping.Eval(specRow, nil)
		if entries[i].Header != w.header || err != nil || got != w.value {
			t.Errorf("entry %d: %s = %q, %v; want %s = %q", i, entries[i].Header, got, err, w.header, w.value)
		}
	}
	// The 3/4-file join template value.
	tmpl := `{"source":"source","loyaltyType":"loyaltyType","accountId":"accountId","identifierType":"identifierType","identifierValue":"identifierValue","mobile":"mobile","wechat":"wechat","gender":"gender"}`
	entries, err = CompileHeaderMapping(tmpl)
	if err != nil || len(entries) != 8 || entries[7].Header != "gender" || entries[7].Mapping.Kind() != KindColumn {
		t.Fatalf("template: %v %v", entries, err)
	}
	if entries, err := CompileHeaderMapping(` {} `); err != nil || len(entries) != 0 {
		t.Fatalf("empty: %v %v", entries, err)
	}
	for _, c := range []struct {
		src  string
		pos  int
		frag string
	}{
		{`{"a":"x","a":"y"}`, 9, "duplicate output header"},
		{`{"a":exp{hdr{A}}`, 16, "expected '}'"},
		{`{"a":exp{1 +}}`, 12, `header "a": unexpected`},
		{`["a"]`, 0, "must be a JSON object"},
		{`{"a" "x"}`, 5, "expected ':'"},
		{`{"a":"x"} trailing`, 10, "unexpected text"},
	} {
		_, err := CompileHeaderMapping(c.src)
		var e *Error
		if !errors.As(err, &e) || e.Pos != c.pos || !strings.Contains(e.Msg, c.frag) {
			t.Errorf("%s: got %v; want offset %d containing %q", c.src, err, c.pos, c.frag)
		}
	}
}

func TestJavaDouble(t *testing.T) {
	cases := map[float64]string{
		7.5: "7.5", 100: "100.0", 1e10: "1.0E10", 1e7: "1.0E7", 9999999: "9999999.0",
		0.001: "0.001", 0.0001: "1.0E-4", 1.5e-5: "1.5E-5", -2.25: "-2.25",
		math.Inf(1): "Infinity", math.Copysign(0, -1): "-0.0", 123456789012: "1.23456789012E11",
	}
	for f, want := range cases {
		if got := javaDouble(f); got != want {
			t.Errorf("javaDouble(%v) = %q, want %q", f, got, want)
		}
	}
	a, b := 0.1, 0.2 // variables: constant arithmetic would be exact
	if got := javaDouble(a + b); got != "0.30000000000000004" {
		t.Errorf("0.1+0.2 = %q", got)
	}
	if javaDouble(math.NaN()) != "NaN" {
		t.Error("NaN")
	}
}

func TestReformatDate(t *testing.T) {
	chicago := time.FixedZone("CST", -6*3600)
	cases := []struct {
		value, from, to string
		loc             *time.Location
		want            string
	}{
		{"2024-03-01 13:05:09", "yyyy-MM-dd HH:mm:ss", "dd/MM/yyyy HH:mm:ss", nil, "01/03/2024 13:05:09"},
		{"2024-03-01", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss", nil, "2024-03-01 00:00:00"},
		{"01-03-2024", "dd-MM-yyyy HH:mm:ss", "yyyy-MM-dd HH:mm:ss", nil, "2024-03-01 00:00:00"},
		{"20240301", "yyyyMMdd", "yyyy-MM-dd", nil, "2024-03-01"},
		{"2024-03-01T10:20:30Z", "dd/MM/yyyy", "yyyy-MM-dd HH:mm:ss", chicago, "2024-03-01 04:20:30"},
		{"2024-03-01T10:20:30.123+05:30", "dd/MM/yyyy", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", nil, "2024-03-01T04:50:30.123Z"},
		{"03/01/2024 01:02:03 PM", "MM/dd/yyyy hh:mm:ss a", "yyyy-MM-dd HH:mm", nil, "2024-03-01 13:02"},
		{"12/01/2024 12:00:00 AM", "MM/dd/yyyy hh:mm:ss a", "HH:mm", nil, "00:00"},
		{"1 Mar 2024", "d MMM yyyy", "EEE, dd MMMM yyyy", nil, "Fri, 01 March 2024"},
		{"2024-01-02 03:04:05", "yyyy-MM-dd HH:mm:ss", "yyyyMMddHHmmss", nil, "20240102030405"},
		{"2024-01-02 03:04:05", "yyyy-MM-dd HH:mm:ss", "yy-M-d h:m:s a 'o''clock'", nil, "24-1-2 3:4:5 AM o'clock"},
		{"2024-01-02 03:04:05 +0100", "yyyy-MM-dd HH:mm:ss Z", "HH:mm Z", nil, "02:04 +0000"},
	}
	for _, c := range cases {
		got, err := ReformatDate(c.value, c.from, c.to, c.loc)
		if err != nil || got != c.want {
			t.Errorf("ReformatDate(%q, %q, %q) = %q, %v; want %q", c.value, c.from, c.to, got, err, c.want)
		}
	}
	for _, c := range []struct{ value, from, to string }{
		{"2024-02-30", "yyyy-MM-dd", "yyyy"},
		{"2024-13-01", "yyyy-MM-dd", "yyyy"},
		{"yesterday", "yyyy-MM-dd", "yyyy"},
		{"2024-01-01", "yyyy-MM-dd Q", "yyyy"},
		{"2024-01-01", "yyyy-MM-dd", "'unterminated"},
	} {
		if got, err := ReformatDate(c.value, c.from, c.to, nil); err == nil {
			t.Errorf("ReformatDate(%q, %q, %q) = %q; want an error", c.value, c.from, c.to, got)
		}
	}
}

func TestConcurrentEval(t *testing.T) {
	m := MustCompile(`exp{hdr{A} * 2 + hdr{B}}`)
	done := make(chan string, 4)
	for range 4 {
		go func() {
			for range 500 {
				if got, err := m.Eval(specRow, NewEnv()); err != nil || got != "10.5" {
					done <- got
					return
				}
			}
			done <- "ok"
		}()
	}
	for range 4 {
		if s := <-done; s != "ok" {
			t.Fatalf("concurrent eval got %q", s)
		}
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"exp{hdr{A} - hdr{B}}", "const{X}", "t_amount", "exp{('hdr{M}'.length() == 10) ? '+91'.concat('hdr{M}') : 'hdr{M}'}",
		"sum{hdr{F}}", "'p'.concat(base64{hdr{F}})", `hdr{A} * (hdr{B}?:"d")`, "exp{{'A','B'}.contains('hdr{C}')}",
		"exp{T(Math).floor(hdr{A} / 3)}", "exp{x = 1}", `{"a":exp{hdr"t"+1}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		m, err := Compile(src)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Pos < 0 || e.Pos > len(src) {
				t.Fatalf("%q: bad error %v", src, err)
			}
		} else {
			_ = m.Columns()
		}
		_, _ = CompileHeaderMapping(src)
	})
}

func FuzzEval(f *testing.F) {
	f.Add("exp{hdr{A} - hdr{B}}", "5", "2.5")
	f.Add("exp{hdr{A}.concat(hdr{B}).substring(1)}", "x", "'y")
	f.Add("exp{'hdr{A}' == 'hdr{B}' ? hdr{A} / hdr{B} : sum{hdr{A}}}", "4", "0")
	f.Add("exp{hdr{A}.split(hdr{B})[0]}", "a,b", ",")
	f.Fuzz(func(t *testing.T, src, a, b string) {
		m, err := Compile(src)
		if err != nil {
			return
		}
		row := MapRow{"A": a, "B": b}
		out, err := m.Eval(row, NewEnv())
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%q: non-positional error %v", src, err)
			}
			return
		}
		// Cell values are data: a template that just echoes a cell returns
		// it unchanged whatever it contains.
		if src == "exp{'hdr{A}'}" && out != a {
			t.Fatalf("echo of %q gave %q", a, out)
		}
		_, _ = m.EvalGroup([]Row{row, MapRow{"A": b, "B": a}}, nil)
	})
}

func BenchmarkNetAmount(b *testing.B) {
	m := MustCompile(`exp{hdr{LineItem_Amount} - hdr{LineItem_Discount}}`)
	row := MapRow{"LineItem_Amount": "1000.50", "LineItem_Discount": "150"}
	env := NewEnv()
	b.ReportAllocs()
	for b.Loop() {
		if s, err := m.Eval(row, env); err != nil || s != "850.5" {
			b.Fatal(s, err)
		}
	}
}
