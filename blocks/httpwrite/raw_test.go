package httpwrite

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
	"github.com/connectplus/connectplus/lang/jsonpath"
)

var rawDocs = []string{
	`{"response":[{"entityId":1,"errors":[],"warnings":[]},{"entityId":null,"errors":[{"status":false,"code":604,"message":"Duplicate bill number"},{"code":"631","message":"b"}],"warnings":[{"message":"w"}]}],"totalCount":2}`,
	`[{"entity":{"id":100000001},"errors":[],"warnings":[]},{"entity":null,"errors":[{"code":8006,"message":"exists"}]}]`,
	`{"status":{"success":true,"code":200,"message":"Success"},"createdId":5,"a\"b":{"x":[1,2.5,"s\u00e9",true,null,{"y":-3}]}}`,
	`{"errors":[{"code":400.0,"message":"half"}],"Id":"x\n"}`,
	` [ 1 , "two" , [3] , {"four":4} ] `,
	`{"weird key":1,"escaped\u0041":"v","":{"":0},"n":12345678901234567890,"f":1e3,"neg":-0}`,
	`"scalar"`,
	`{"errors":"not an array","entityId":{"nested":[1]}}`,
}

var rawPaths = []string{
	"$", "$.*", "$[*]", "$.[*]", "$.response[*]", "$.response.*", "$['response'][1]", "$.response[-1].errors[*].code",
	"$.['errors'].*.code", "$.['errors'].*.message", "$.errors[0].code", "$.entity.id", "$.entityId", "$.Id",
	"$.status.code", "$.status.message", "$.createdId", `$["a\"b"]`, "$.a.x[*]", "$[3].four", "$[-2]", "$[9]",
	"$.escapedA", "$[''][''].*", "$.*.*", "$.n", "$.f", "$.neg", "$.warnings[*].message",
}

// The raw evaluator must select exactly what lang/jsonpath selects, for
// every path it accepts.
func TestRawPathsMatchJSONPath(t *testing.T) {
	for _, src := range rawPaths {
		rp, ok := compileRaw(src)
		jp, err := jsonpath.CompileMulti(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if !ok {
			continue
		}
		for _, doc := range rawDocs {
			v, err := jsonv.ParseString(doc)
			if err != nil {
				t.Fatal(err)
			}
			want := jp.Query(v)
			var got []any
			for _, r := range rp.appendAll(nil, []byte(doc), -1) {
				x, err := jsonv.Parse(r)
				if err != nil {
					t.Fatalf("%s on %s: raw value %q: %v", src, doc, r, err)
				}
				got = append(got, x)
			}
			if len(got) != len(want) {
				t.Fatalf("%s on %s: raw %v, jsonpath %v", src, doc, got, want)
			}
			for i := range got {
				if !jsonv.Equal(got[i], want[i]) || block.ScalarString(got[i]) != rawScalarString(rp.appendAll(nil, []byte(doc), -1)[i]) {
					t.Fatalf("%s on %s: element %d raw %v, jsonpath %v", src, doc, i, got[i], want[i])
				}
			}
		}
	}
	for _, bad := range []string{"$..a", "$.a[?@.b]", "$.a,$.b", "$[1:2]", "a", "$.a[", "$['a'"} {
		if _, ok := compileRaw(bad); ok {
			t.Errorf("%s accepted by the raw subset", bad)
		}
	}
}

// Raw outcomes equal the tree-based ones, entity by entity.
func TestRawOutcomesMatchTree(t *testing.T) {
	maps := []string{
		DefaultParsePathMap,
		`{"status_code":"$.['errors'].*.code","error_message":"$.['errors'].*.message","entity_id":"$.entityId","warn":"$.warnings[*].message"}`,
		`{"status_code":"$.status.code","error_message":"$.status.message","entity_id":"$.createdId"}`,
		`{"status_code":"$.errors[0].code","entity_id":"$.entity.id"}`,
		`{"error_message":"$.*","entity_id":"$.entityId"}`,
	}
	for _, m := range maps {
		entries, err := parsePathMap(m)
		if err != nil {
			t.Fatal(err)
		}
		s := &settings{}
		for _, e := range entries {
			switch e.name {
			case "status_code":
				s.codePath = e.path
			case "error_message":
				s.msgPath = e.path
			case "entity_id":
				s.idPath = e.path
			default:
				s.extra = append(s.extra, e)
			}
		}
		rp, err := newRawParser(s, "$")
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		for _, doc := range rawDocs {
			v, _ := jsonv.ParseString(doc)
			elems := []any{v}
			raws := [][]byte{trimWS([]byte(doc))}
			if a, ok := v.([]any); ok {
				elems = a
				raws = nil
				for it := (arrIter{b: raws0(doc), i: 1}); it.next(); {
					raws = append(raws, it.val)
				}
			}
			for i, e := range elems {
				want := s.entityOutcome(e, 200)
				var ev entityView
				ev.reset(raws[i])
				got := rp.outcome(s, &ev, 200)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("map %s, doc %s, element %d:\nraw  %+v\ntree %+v", m, doc, i, got, want)
				}
			}
		}
	}
}

func raws0(doc string) []byte { return trimWS([]byte(doc)) }

func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	cases := append([]string{}, rawDocs...)
	cases = append(cases, ``, ` `, `{`, `[1,]`, `{"a":}`, `{"a" 1}`, `[1 2]`, `01`, `1.`, `-`, `1e`, `"\x"`, "\"a\x01\"", `"\u12"`,
		`tru`, `nul`, `[1]]`, `{"a":1,}`, `{,}`, `[,1]`, `"unterminated`, `{"a":[1,{"b":2}]}`, `1.5e+3`, `-0.0`, `[[[[]]]]`, `{"a":"\ud83d\ude00"}`)
	for _, c := range cases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("%q: validJSON %v, json.Valid %v", c, got, want)
		}
	}
}

// FuzzRawSplit checks that arbitrary answers never crash the raw path and
// that valid ones split like lang/jsonpath.
func FuzzRawSplit(f *testing.F) {
	for _, d := range rawDocs {
		f.Add([]byte(d))
	}
	jp := jsonpath.MustCompile("$.response[*]")
	rp, _ := compileRaw("$.response[*]")
	f.Fuzz(func(t *testing.T, b []byte) {
		if !validJSON(b) {
			return
		}
		v, err := jsonv.Parse(b)
		if err != nil {
			return // jsonv is stricter (depth); nothing to compare
		}
		doc := trimWS(b)
		if got, want := len(rp.spans(nil, doc)), len(jp.Query(v)); got != want {
			t.Fatalf("%s: raw split %d, jsonpath %d", b, got, want)
		}
	})
}

// An entity id taken from the answer's one string copy reads as
// rawScalarString reads it, whatever the value.
func TestEntityViewScalar(t *testing.T) {
	doc := []byte(`[{"a":"x1"},{"a":12},{"a":-7},{"a":"é"},{"a":"q\"u"},{"a":1.5},{"a":true},{"a":null},{"a":""},{"a":123456789012345678901}]`)
	ev := entityView{doc: doc, text: string(doc)}
	n := 0
	for i := 0; i < len(doc); i++ {
		if doc[i] != ':' {
			continue
		}
		j := i + 1
		for doc[j] != '}' {
			j++
		}
		x := doc[i+1 : j]
		if got, want := ev.scalar(x), rawScalarString(x); got != want {
			t.Errorf("%s: %q, want %q", x, got, want)
		}
		n++
	}
	if n != 10 {
		t.Fatalf("%d values checked", n)
	}
	// A value outside the document is copied as before.
	if got := ev.scalar([]byte(`"x1"`)); got != "x1" {
		t.Fatalf("outside value: %q", got)
	}
}
