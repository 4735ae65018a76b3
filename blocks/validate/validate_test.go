package validate

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
)

type emitted struct {
	rel  string
	unit *block.Unit
}

type fakeOut struct{ got []emitted }

func (o *fakeOut) Emit(_ context.Context, rel string, u *block.Unit) error {
	o.got = append(o.got, emitted{rel, u})
	return nil
}
func (o *fakeOut) Ack(*block.Unit, []byte) {}
func (o *fakeOut) Progress(int64)          {}

func (o *fakeOut) rel(rel string) []block.Record {
	var out []block.Record
	for _, e := range o.got {
		if e.rel == rel {
			out = append(out, e.unit.Batch.Records...)
		}
	}
	return out
}

func buildRecords(t *testing.T, rules string, extra map[string]any) *recordsBlock {
	t.Helper()
	cfg := map[string]any{"rules": rules}
	for k, v := range extra {
		cfg[k] = v
	}
	c, probs := RecordsSpec.ParseConfig(cfg, nil)
	if len(probs) > 0 {
		t.Fatalf("config: %v", probs)
	}
	b, err := RecordsSpec.New(c, &block.Env{Block: "Validate", WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.(*recordsBlock).Close() })
	return b.(*recordsBlock)
}

func batch(header []string, rows ...[]string) *block.Unit {
	b := &block.Batch{Header: block.NewHeader(header)}
	for i, r := range rows {
		b.Records = append(b.Records, block.Record{Seq: int64(i + 1), Line: int64(i + 2), Cols: r})
	}
	return &block.Unit{Attrs: block.Attributes{block.AttrLineageID: "lin-1"}, Batch: b}
}

const billRules = `{
  "bill_number": {"required": true, "regex": "^B[0-9]+$", "unique": true},
  "bill_amount": {"required": true, "type": "decimal", "min": "0", "max": "100000"},
  "bill_date":   {"type": "date", "format": "yyyy-MM-dd"},
  "qty":         {"type": "integer"},
  "paid":        {"type": "boolean"},
  "status":      {"enum": ["paid", "refunded"]},
  "note":        {"minLength": 2, "maxLength": 5}
}`

func TestValidateRecords(t *testing.T) {
	v := buildRecords(t, billRules, nil)
	h := []string{"bill_number", "bill_amount", "bill_date", "qty", "paid", "status", "note"}
	u := batch(h,
		[]string{"B1", "12.50", "2024-03-05", "3", "true", "paid", "ok"},
		[]string{"B2", "12,5", "2024-03-05", "3", "true", "paid", "ok"},
		[]string{"B3", "", "2024-13-05", "3.5", "yes", "open", "x"},
		[]string{"B1", "1", "", "", "", "", ""},
		[]string{"X9", "-1", "05/03/2024", "1", "FALSE", "refunded", "toolong"},
		[]string{"B6", "100000.00", "2024-02-29", "-7", "false", "refunded", "fine"},
	)
	out := &fakeOut{}
	if err := v.Process(context.Background(), u, out); err != nil {
		t.Fatal(err)
	}
	good, bad := out.rel(block.RelSuccess), out.rel(block.RelFailure)
	if len(good) != 2 || good[0].Cols[0] != "B1" || good[1].Cols[0] != "B6" {
		t.Fatalf("good %+v", good)
	}
	want := map[string]string{
		"B2": `bill_amount: must be a decimal (rule type=decimal), got "12,5"`,
		"B3": `bill_amount: is required (rule required=true), got an empty value; bill_date: must be a date in format yyyy-MM-dd (rule format=yyyy-MM-dd), got "2024-13-05"; ` +
			`qty: must be an integer (rule type=integer), got "3.5"; paid: must be true or false (rule type=boolean), got "yes"; status: must be one of paid, refunded (rule enum), got "open"; ` +
			`note: must be at least 2 characters long (rule minLength=2), got "x"`,
		"B1": `bill_number: must be unique within the file (rule unique=true), got "B1" again`,
		"X9": `bill_number: must match ^B[0-9]+$ (rule regex=^B[0-9]+$), got "X9"; bill_amount: must be at least 0 (rule min=0), got "-1"; ` +
			`bill_date: must be a date in format yyyy-MM-dd (rule format=yyyy-MM-dd), got "05/03/2024"; note: must be at most 5 characters long (rule maxLength=5), got "toolong"`,
	}
	if len(bad) != len(want) {
		t.Fatalf("bad %+v", bad)
	}
	for _, r := range bad {
		if r.Outcome.Status != block.Failed || r.Outcome.Code != FailureCode || r.Outcome.Block != "Validate" {
			t.Errorf("outcome %+v", r.Outcome)
		}
		if w := want[r.Cols[0]]; r.Outcome.Message != w {
			t.Errorf("%s:\n got %s\nwant %s", r.Cols[0], r.Outcome.Message, w)
		}
	}
	// Uniqueness spans the batches of one file, not files.
	out = &fakeOut{}
	v.Process(context.Background(), batch(h, []string{"B6", "1", "", "", "", "", ""}), out)
	if len(out.rel(block.RelFailure)) != 1 {
		t.Fatal("duplicate across batches not caught")
	}
	v.EndLineage(context.Background(), "lin-1", true)
	out = &fakeOut{}
	v.Process(context.Background(), batch(h, []string{"B6", "1", "", "", "", "", ""}), out)
	if len(out.rel(block.RelFailure)) != 0 {
		t.Fatal("unique values leaked into the next file")
	}
}

func TestAllValidPassesUnitThrough(t *testing.T) {
	v := buildRecords(t, "amount: {type: decimal}\n", nil)
	u := batch([]string{"amount"}, []string{"1.5"}, []string{""})
	out := &fakeOut{}
	if err := v.Process(context.Background(), u, out); err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 1 || out.got[0].unit != u {
		t.Fatalf("%+v", out.got)
	}
}

func TestRulesOnJSONValuesAndMissingColumns(t *testing.T) {
	v := buildRecords(t, "- {column: mobile, required: true, regex: '^[0-9]{10}$'}\n- {column: points, type: integer, max: 100}\n", nil)
	o := jsonv.NewObject(2)
	o.Members = append(o.Members, jsonv.Member{Key: "mobile", Value: "9876543210"}, jsonv.Member{Key: "points", Value: int64(250)})
	u := &block.Unit{Attrs: block.Attributes{}, Batch: &block.Batch{Records: []block.Record{{Value: o}, {Value: jsonv.NewObject(0)}}}}
	out := &fakeOut{}
	if err := v.Process(context.Background(), u, out); err != nil {
		t.Fatal(err)
	}
	bad := out.rel(block.RelFailure)
	if len(bad) != 2 || bad[0].Outcome.Message != `points: must be at most 100 (rule max=100), got "250"` ||
		bad[1].Outcome.Message != "mobile: is required (rule required=true), but the column is missing" {
		t.Fatalf("%+v", bad)
	}
}

// Unique values beyond the memory budget spill to sorted runs, which merge
// when there are too many, and duplicates are still found.
func TestUniqueSpills(t *testing.T) {
	s := newSpillSet(t.TempDir(), 100)
	defer s.close()
	for i := 0; i < 2500; i++ {
		dup, err := s.add(fmt.Sprintf("v%d", i))
		if err != nil || dup {
			t.Fatalf("%d: %v %v", i, dup, err)
		}
	}
	if len(s.runs) == 0 || len(s.runs) > maxRuns {
		t.Fatalf("runs %d", len(s.runs))
	}
	for _, i := range []int{0, 99, 100, 1234, 2499} {
		if dup, err := s.add(fmt.Sprintf("v%d", i)); err != nil || !dup {
			t.Fatalf("v%d not found: %v", i, err)
		}
	}
	if dup, _ := s.add("new"); dup {
		t.Fatal("false duplicate")
	}
}

func TestRuleConfigProblems(t *testing.T) {
	for _, rules := range []string{
		`{"a": {"type": "money"}}`,
		`{"a": {"regex": "("}}`,
		`{"a": {"minlength": 3}}`,
		`{"a": {"type": "date", "format": "yyyy-MM-dd'"}}`,
		`{"a": {"min": "zero"}}`,
		`{"a": {"minLength": 5, "maxLength": 2}}`,
		`[{"type": "string"}]`,
		`"just text"`,
		``,
	} {
		if _, probs := RecordsSpec.ParseConfig(map[string]any{"rules": rules}, nil); len(probs) == 0 {
			t.Errorf("rules %q accepted", rules)
		}
	}
}

func TestFilesRejected(t *testing.T) {
	v := buildRecords(t, `{"a": {"required": true}}`, nil)
	if err := v.Process(context.Background(), &block.Unit{Attrs: block.Attributes{}, File: block.NewFile("x", 0, nil)}, &fakeOut{}); err == nil || !strings.Contains(err.Error(), "takes records") {
		t.Fatalf("err %v", err)
	}
}

func TestRegister(t *testing.T) {
	r := block.NewRegistry()
	Register(r)
	for _, typ := range []string{"validate_records", "databricks_validation", "databricks_job_trigger_and_status_check", "databricks_job_trigger_and_status", "data_validation_block"} {
		if _, ok := r.Lookup(typ); !ok {
			t.Errorf("%s not registered", typ)
		}
	}
}
