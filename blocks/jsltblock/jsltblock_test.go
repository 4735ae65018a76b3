package jsltblock

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/bench/gen"
	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/format/csvio"
	"github.com/connectplus/connectplus/jsonv"
)

type capture struct{ byRel map[string][]*block.Unit }

func (c *capture) Emit(_ context.Context, rel string, u *block.Unit) error {
	c.byRel[rel] = append(c.byRel[rel], u)
	return nil
}
func (c *capture) Ack(*block.Unit, []byte) {}
func (c *capture) Progress(int64)          {}

func build(t testing.TB, cfg map[string]any) block.Processor {
	t.Helper()
	c, probs := Spec.CompileConfig(cfg, nil, exprs.NewStep(exprs.Options{}))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	b, err := Spec.New(c, &block.Env{Block: "jslt"})
	if err != nil {
		t.Fatal(err)
	}
	return b.(block.Processor)
}

func customers() *block.Unit {
	hdr := block.NewHeader([]string{"firstname", "lastname", "value", "source", "loyaltyType", "identifierType", "externalId"})
	b := &block.Batch{Header: hdr}
	for i, row := range [][]string{
		{"John", "Doe", "919812345678", "INSTORE", "loyalty", "mobile", "EX1"},
		{"Jane", "Roe", "jane@example.com", "INSTORE", "loyalty", "email", "EX2"},
	} {
		b.Records = append(b.Records, block.Record{Seq: int64(i + 1), Line: int64(i + 2), Cols: row})
	}
	return &block.Unit{Attrs: block.Attributes{}, Batch: b}
}

const bulkQuery = `[ for (.) { "profiles": [ { "firstName": .firstname, "lastName": .lastname, "source": .source,
    "identifiers": [ { "type": .identifierType, "value": .value } ] } ],
  "loyaltyInfo": { "loyaltyType": .loyaltyType } } ]`

func TestBulkMapsElementsToRecords(t *testing.T) {
	p := build(t, map[string]any{"transformation": bulkQuery, "sendEachRecordSeparately": "false",
		"attributes": map[string]any{"userId": "externalId", "kind": "customer"}, "queryParameters": map[string]any{"source": "source"}})
	c := &capture{byRel: map[string][]*block.Unit{}}
	if err := p.Process(context.Background(), customers(), c); err != nil {
		t.Fatal(err)
	}
	u := c.byRel[block.RelSuccess][0]
	got := string(jsonv.Marshal(u.Batch.Records[1].Value))
	want := `{"profiles":[{"firstName":"Jane","lastName":"Roe","source":"INSTORE","identifiers":[{"type":"email","value":"jane@example.com"}]}],"loyaltyInfo":{"loyaltyType":"loyalty"}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	r := u.Batch.Records[1]
	if r.Attrs["userId"] != "EX2" || r.Attrs["kind"] != "customer" || r.Attrs[QueryAttrPrefix+"source"] != "INSTORE" || r.Line != 3 {
		t.Fatalf("attrs %v line %d", r.Attrs, r.Line)
	}
	if u.Attrs["userId"] != "EX1" {
		t.Fatalf("unit attrs: %v", u.Attrs)
	}
}

func TestPerRecordErrorsFailOnlyThatRecord(t *testing.T) {
	p := build(t, map[string]any{"transformation": `if (.identifierType == "email") error("no emails: " + .value) else {"mobile": .value}`})
	c := &capture{byRel: map[string][]*block.Unit{}}
	if err := p.Process(context.Background(), customers(), c); err != nil {
		t.Fatal(err)
	}
	ok, bad := c.byRel[block.RelSuccess], c.byRel[block.RelFailure]
	if len(ok) != 1 || len(ok[0].Batch.Records) != 1 || len(bad) != 1 || len(bad[0].Batch.Records) != 1 {
		t.Fatalf("ok %v bad %v", ok, bad)
	}
	msg := bad[0].Batch.Records[0].Outcome.Message
	if !strings.Contains(msg, "no emails: jane@example.com") || bad[0].Batch.Records[0].Outcome.Status != block.Failed {
		t.Fatalf("message %q", msg)
	}
}

func TestAggregatingBulkQueryBecomesOnePayload(t *testing.T) {
	p := build(t, map[string]any{"transformation": `{"count": size(.), "names": [for (.) .firstname]}`, "sendEachRecordSeparately": false})
	c := &capture{byRel: map[string][]*block.Unit{}}
	if err := p.Process(context.Background(), customers(), c); err != nil {
		t.Fatal(err)
	}
	b := c.byRel[block.RelSuccess][0].Batch
	if len(b.Records) != 1 || len(b.Records[0].Members) != 1 || string(jsonv.Marshal(b.Records[0].Value)) != `{"count":2,"names":["John","Jane"]}` {
		t.Fatalf("%+v", b.Records)
	}
}

func TestCompileErrorHasPosition(t *testing.T) {
	step := exprs.NewStep(exprs.Options{})
	for src, want := range map[string]block.TextPos{
		"{\"a\": .b":                {Line: 1, Column: 9},
		"{\"a\": numbr(.b)}":        {Line: 1, Column: 7},
		"{\"a\": number()}":         {Line: 1, Column: 7},
		"let k = 1\n{\"a\": $kind}": {Line: 2, Column: 7}, // item 6: caught at compile time
	} {
		c, probs := Spec.CompileConfig(map[string]any{"transformation": src}, nil, step)
		if len(probs) != 1 || probs[0].Path != "transformation" || probs[0].Expr == nil || *probs[0].Expr != want || !strings.HasPrefix(probs[0].Message, "JSLT line ") {
			t.Errorf("%q: got %+v, want a problem at %v", src, probs, want)
		}
		if _, err := Spec.New(c, &block.Env{}); err == nil {
			t.Errorf("%q: built a block whose query did not compile", src)
		}
	}
}

func BenchmarkBulkCustomers(b *testing.B) {
	p := build(b, map[string]any{"transformation": bulkQuery, "sendEachRecordSeparately": "false"})
	hdr := block.NewHeader([]string{"firstname", "lastname", "value", "source", "loyaltyType", "identifierType"})
	c := &capture{byRel: map[string][]*block.Unit{}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		batch := &block.Batch{Header: hdr, Records: make([]block.Record, 100)}
		for j := range batch.Records {
			batch.Records[j].Cols = []string{"John", "Doe", "919812345678", "INSTORE", "loyalty", "mobile"}
		}
		c.byRel = map[string][]*block.Unit{}
		if err := p.Process(context.Background(), &block.Unit{Attrs: block.Attributes{}, Batch: batch}, c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "records/s")
}

// The transformation of examples/add_transactions.yaml.
const txQuery = `[ for (.) {
    "billNumber": .bill_number,
    "billDate": .bill_date,
    "type": "REGULAR",
    "billAmount": number(.bill_amount),
    "discount": number(.discount, 0)
} ]`

func transactions(amounts ...string) *block.Unit {
	b := &block.Batch{Header: block.NewHeader([]string{"bill_number", "bill_date", "bill_amount", "discount"})}
	for i, a := range amounts {
		b.Records = append(b.Records, block.Record{Seq: int64(i + 1), Line: int64(i + 2), Cols: []string{"BN" + strconv.Itoa(i+1), "2024-01-01", a, ""}})
	}
	return &block.Unit{Attrs: block.Attributes{}, Batch: b}
}

// TestBulkIsolatesTheFailingRecord: issue 13 item 5. One bill_amount of
// "abc" used to fail all 9 rows of its batch with a reason naming no
// record; now that row fails with its input line and field, and the 8
// others are transformed as one batch.
func TestBulkIsolatesTheFailingRecord(t *testing.T) {
	p := build(t, map[string]any{"transformation": txQuery, "sendEachRecordSeparately": "false"})
	c := &capture{byRel: map[string][]*block.Unit{}}
	if err := p.Process(context.Background(), transactions("10", "20", "30", "abc", "50", "60", "70", "80", "90"), c); err != nil {
		t.Fatal(err)
	}
	ok, bad := c.byRel[block.RelSuccess], c.byRel[block.RelFailure]
	if len(ok) != 1 || len(ok[0].Batch.Records) != 8 || len(bad) != 1 || len(bad[0].Batch.Records) != 1 {
		t.Fatalf("ok %d bad %d", len(ok), len(bad))
	}
	r := bad[0].Batch.Records[0]
	const want = "input line 5, field bill_amount: jslt: line 5, column 19: number(abc) failed: not a number"
	if r.Outcome.Status != block.Failed || r.Outcome.Message != want || r.Line != 5 {
		t.Fatalf("failed record: line %d %q, want %q", r.Line, r.Outcome.Message, want)
	}
	for i, r := range ok[0].Batch.Records {
		if got := string(jsonv.Marshal(r.Value)); !strings.Contains(got, `"billAmount":`) || r.Outcome.Status == block.Failed {
			t.Fatalf("record %d: %s", i, got)
		}
	}
	if got := string(jsonv.Marshal(ok[0].Batch.Records[3].Value)); got != `{"billNumber":"BN5","billDate":"2024-01-01","type":"REGULAR","billAmount":50,"discount":0}` {
		t.Fatalf("the good records keep their order and values: %s", got)
	}
}

// TestBulkWholeBatchErrorStillFailsTheBatch: an error no single record
// causes fails the batch as before.
func TestBulkWholeBatchErrorStillFailsTheBatch(t *testing.T) {
	p := build(t, map[string]any{"transformation": `if (size(.) > 1) error("at most one row") else [for (.) .bill_number]`, "sendEachRecordSeparately": "false"})
	c := &capture{byRel: map[string][]*block.Unit{}}
	if err := p.Process(context.Background(), transactions("1", "2"), c); err == nil || !strings.Contains(err.Error(), "at most one row") {
		t.Fatalf("got %v", err)
	}
}

// TestPerRecordReasonNamesLineAndField: the same reason in per-record mode.
func TestPerRecordReasonNamesLineAndField(t *testing.T) {
	p := build(t, map[string]any{"transformation": `{"billAmount": number(.bill_amount)}`})
	c := &capture{byRel: map[string][]*block.Unit{}}
	if err := p.Process(context.Background(), transactions("1", ""), c); err != nil {
		t.Fatal(err)
	}
	bad := c.byRel[block.RelFailure]
	if len(bad) != 1 || bad[0].Batch.Records[0].Outcome.Message != "input line 3, field bill_amount: jslt: line 1, column 16: number() failed: not a number" {
		t.Fatalf("%+v", bad)
	}
}

func TestCallField(t *testing.T) {
	q := "{\n  \"a\": number(.bill_amount),\n  \"b\": number( .x , 0),\n  \"c\": number(.a.b),\n  \"d\": trim(.x) }"
	for _, tc := range []struct {
		line, col int
		want      string
	}{{2, 8, "bill_amount"}, {3, 8, "x"}, {4, 8, ""}, {5, 1, ""}, {9, 1, ""}} {
		if got := callField(q, tc.line, tc.col); got != tc.want {
			t.Errorf("%d:%d: got %q, want %q", tc.line, tc.col, got, tc.want)
		}
	}
}

// With EncodeValues (the engine found only encoders downstream) a query of
// the row-template shape hands on jsonv.RawJSON values holding exactly what
// the value trees encode to, and a record the query fails on fails as it
// does without: same relation, same message.
func TestEncodedValuesEqualTrees(t *testing.T) {
	for _, tc := range []struct {
		query    string
		separate string
	}{
		{`[ for (.) { "first": .firstname, "n": number(.value, null), "x": .missing, "o": {"t": .identifierType}, "c": .firstname + .lastname } ]`, "false"},
		{`{ "first": .firstname, "n": number(.value), "e": {}, "o": {"t": .identifierType} }`, "true"},
	} {
		cfg := map[string]any{"transformation": tc.query, "sendEachRecordSeparately": tc.separate}
		plain, enc := build(t, cfg), build(t, cfg)
		enc.(block.ValueEncoder).EncodeValues()
		u1, u2 := customers(), customers()
		u1.Batch.Records[0].Cols[2], u2.Batch.Records[0].Cols[2] = "12.50", "12.50"
		c1, c2 := &capture{byRel: map[string][]*block.Unit{}}, &capture{byRel: map[string][]*block.Unit{}}
		if err := plain.Process(context.Background(), u1, c1); err != nil {
			t.Fatal(err)
		}
		if err := enc.Process(context.Background(), u2, c2); err != nil {
			t.Fatal(err)
		}
		for _, rel := range []string{block.RelSuccess, block.RelFailure} {
			var want, got []string
			for _, u := range c1.byRel[rel] {
				for _, r := range u.Batch.Records {
					want = append(want, string(jsonv.Marshal(r.Value))+" "+r.Outcome.Message)
				}
			}
			for _, u := range c2.byRel[rel] {
				for _, r := range u.Batch.Records {
					if _, raw := r.Value.(jsonv.RawJSON); rel == block.RelSuccess && !raw {
						t.Errorf("%s: record %d is not pre-encoded: %T", tc.query, r.Seq, r.Value)
					}
					got = append(got, string(jsonv.Marshal(r.Value))+" "+r.Outcome.Message)
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s, %s:\n got  %q\n want %q", tc.query, rel, got, want)
			}
		}
	}
}

// flagshipQuery is the transformation of examples/add_transactions.yaml.
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

// BenchmarkFlagshipDirect is the flagship job's jslt_transform: batches of
// 100 generated transaction rows (as convert_csv_to_json makes them, Raw
// set) written straight to JSON by the row template.
func BenchmarkFlagshipDirect(b *testing.B) {
	p := build(b, map[string]any{"transformation": flagshipQuery, "sendEachRecordSeparately": "false"})
	p.(block.ValueEncoder).EncodeValues()
	var buf bytes.Buffer
	if _, err := gen.WriteTransactions(&buf, 100, 7); err != nil {
		b.Fatal(err)
	}
	rd := csvio.NewReader(&buf, csvio.Options{})
	head, err := rd.Read()
	if err != nil {
		b.Fatal(err)
	}
	hdr := block.NewHeader(head.Fields)
	var recs []block.Record
	for {
		row, err := rd.Read()
		if err != nil {
			break
		}
		recs = append(recs, block.Record{Seq: int64(len(recs) + 1), Line: row.Line, Cols: row.Fields, Raw: row.Raw})
	}
	c := &capture{byRel: map[string][]*block.Unit{}}
	b.ReportAllocs()
	for b.Loop() {
		batch := &block.Batch{Header: hdr, Records: slices.Clone(recs)}
		c.byRel = map[string][]*block.Unit{}
		if err := p.Process(context.Background(), &block.Unit{Attrs: block.Attributes{}, Batch: batch}, c); err != nil {
			b.Fatal(err)
		}
		if _, ok := batch.Records[0].Value.(jsonv.RawJSON); !ok {
			b.Fatalf("not the direct path: %T", batch.Records[0].Value)
		}
	}
	b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
}
