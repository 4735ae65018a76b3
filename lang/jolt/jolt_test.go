package jolt

import (
	"strings"
	"sync"
	"testing"

	"github.com/connectplus/connectplus/jsonv"
)

func mustParse(t *testing.T, s string) any {
	t.Helper()
	v, err := jsonv.ParseString(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A chain as NiFi's JoltTransformJSON and Connect+'s jolt_transform take
// it: a bill becomes a transaction payload.
const billChain = `[
  {"operation": "shift", "spec": {
     "bill_number": "transaction.number",
     "amount": "transaction.amount",
     "items": {"*": {"sku": "transaction.lineItems[&1].itemCode", "qty": "transaction.lineItems[&1].qty"}},
     "mobile": "customer.mobile"}},
  {"operation": "default", "spec": {"transaction": {"type": "REGULAR"}}},
  {"operation": "modify-overwrite-beta", "spec": {"transaction": {"amount": "=toDouble", "lineItems": {"*": {"qty": "=toInteger"}}}}},
  {"operation": "sort"}
]`

func TestChainAppliesOperationsInOrder(t *testing.T) {
	tr, err := Compile(billChain)
	if err != nil {
		t.Fatal(err)
	}
	in := mustParse(t, `{"bill_number": "B1", "amount": "120.5", "mobile": "9198", "items": [{"sku": "S1", "qty": "2"}, {"sku": "S2", "qty": "1"}]}`)
	before := string(jsonv.Marshal(in))
	got, err := tr.Apply(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"customer":{"mobile":"9198"},"transaction":{"amount":120.5,"lineItems":[{"itemCode":"S1","qty":2},{"itemCode":"S2","qty":1}],"number":"B1","type":"REGULAR"}}`
	if s := string(jsonv.Marshal(got)); s != want {
		t.Fatalf("got  %s\nwant %s", s, want)
	}
	if after := string(jsonv.Marshal(in)); after != before {
		t.Fatalf("Apply changed its input: %s", after)
	}
}

func TestCompileErrorsPointAtTheKey(t *testing.T) {
	for _, c := range []struct {
		spec      string
		line, col int
		msg       string
	}{
		{"[\n  {\"operation\": \"shift\", \"spec\": {\n    \"a\": {\"x@y\": \"b\"}}}]", 3, 11, "'@'"},
		{`[{"operation": "shiftr", "spec": {}}]`, 1, 16, "unknown JOLT operation"},
		{`{"a": "b"}`, 1, 1, "chain"},
		{"[{\"operation\": \"default\",\n \"spec\": {\"x\": {\"tuna*\": 1}}}]", 2, 17, "* key"},
		{"[{\"operation\": \"shift\", \"spec\": {\"a\": \"b.*\"}}]", 1, 39, "'*'"},
		{"[{\"operation\": \"cardinality\", \"spec\": {\"a\": \"SOME\"}}]", 1, 45, "ONE"},
		{"[{\"operation\": \"modify-overwrite-beta\", \"spec\": {\"a\": {\"[&1]\": 1}}}]", 1, 56, "explicit array"},
		{"[{\"operation\": \"shift\", \"spec\": {\"a\": \"b\",}]", 1, 43, "quoted key"},
		{"[{\"operation\": \"remove\"}]", 1, 2, "needs a \"spec\""},
	} {
		_, err := Compile(c.spec)
		je, ok := err.(*Error)
		if !ok {
			t.Errorf("%s: error %v, want *Error", c.spec, err)
			continue
		}
		if je.Line != c.line || je.Column != c.col || !strings.Contains(je.Msg, c.msg) {
			t.Errorf("%s: got line %d column %d %q, want %d:%d containing %q", c.spec, je.Line, je.Column, je.Msg, c.line, c.col, c.msg)
		}
	}
}

func TestCommentsAndClassNamesAreAccepted(t *testing.T) {
	tr, err := Compile(`[ // a chain
	  {"operation": "com.bazaarvoice.jolt.Shiftr", /* Java class names work too */ "spec": {"a": "b"}}]`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tr.Apply(mustParse(t, `{"a": 1}`))
	if err != nil || string(jsonv.Marshal(got)) != `{"b":1}` {
		t.Fatalf("%s %v", jsonv.Marshal(got), err)
	}
}

func TestDefaultOnTopLevelArrayNeedsIndexKeys(t *testing.T) {
	tr, err := Compile(`[{"operation": "default", "spec": {"a": 1}}]`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Apply(mustParse(t, `[1, 2]`)); err == nil || !strings.Contains(err.Error(), "top-level JSON array") {
		t.Fatalf("got %v", err)
	}
}

func TestTransformIsSafeForConcurrentUse(t *testing.T) {
	tr, err := Compile(billChain)
	if err != nil {
		t.Fatal(err)
	}
	in := mustParse(t, `{"bill_number": "B1", "amount": "1", "items": [{"sku": "S1", "qty": "2"}]}`)
	var wg sync.WaitGroup
	results := make([]string, 16)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := tr.Apply(in)
			if err != nil {
				t.Error(err)
			}
			results[i] = string(jsonv.Marshal(v))
		}()
	}
	wg.Wait()
	for _, r := range results[1:] {
		if r != results[0] {
			t.Fatalf("concurrent results differ: %s vs %s", r, results[0])
		}
	}
}
