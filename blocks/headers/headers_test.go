package headers

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
)

type emitted struct {
	rel  string
	unit *block.Unit
	body string
}

type fakeOut struct{ got []emitted }

func (o *fakeOut) Emit(ctx context.Context, rel string, u *block.Unit) error {
	e := emitted{rel: rel, unit: u}
	if u.File != nil {
		rc, err := u.File.Open(ctx)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		e.body = string(b)
	}
	o.got = append(o.got, e)
	return nil
}
func (o *fakeOut) Ack(*block.Unit, []byte) {}
func (o *fakeOut) Progress(int64)          {}

var fixedNow = time.Date(2024, 3, 5, 10, 30, 0, 0, time.UTC)

func build(t *testing.T, cfg map[string]any) *transformBlock {
	t.Helper()
	c, probs := Spec.ParseConfig(cfg, nil)
	if len(probs) > 0 {
		t.Fatalf("config problems: %v", probs)
	}
	env := &block.Env{Block: "Rebuild_headers", WorkDir: t.TempDir(), CompileExpr: exprs.Compiler(nil, func() time.Time { return fixedNow }), Now: func() time.Time { return fixedNow }}
	b, err := Spec.New(c, env)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { b.(*transformBlock).Close() })
	return b.(*transformBlock)
}

func fileUnit(name, body string, attrs block.Attributes) *block.Unit {
	f := block.NewFile(name, int64(len(body)), func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(body)), nil
	})
	a := block.Attributes{block.AttrFilename: name, block.AttrLineageID: "lin-1"}
	for k, v := range attrs {
		a[k] = v
	}
	return &block.Unit{Attrs: a, File: f}
}

func run(t *testing.T, b *transformBlock, u *block.Unit) (*fakeOut, error) {
	t.Helper()
	out := &fakeOut{}
	err := b.Process(context.Background(), u, out)
	return out, err
}

// The Gen-1 worked example of spec §2.4.4: rename Transaction_value and
// Bill_ID, keep only the renamed columns, comma in, pipe out.
func TestGen1WorkedExample(t *testing.T) {
	b := build(t, map[string]any{
		"outputHeadersOrder":  "TransAmount,BillNumber",
		"outputFileDelimiter": "|",
		"outputFileName":      "transactions.csv",
		"headersMapping":      `{"TransAmount":"Transaction_value", "BillNumber":"Bill_ID"}`,
	})
	in := "Bill_ID,Store,Transaction_value\nB1,S1,100.50\nB2,S2,\"1,200\"\n"
	out, err := run(t, b, fileUnit("tx_2024.csv", in, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 1 || out.got[0].rel != block.RelSuccess {
		t.Fatalf("emitted %+v", out.got)
	}
	want := "TransAmount|BillNumber\n100.50|B1\n1,200|B2\n"
	if got := out.got[0].body; got != want {
		t.Fatalf("output\n%q\nwant\n%q", got, want)
	}
	u := out.got[0].unit
	if u.Attrs[block.AttrFilename] != "transactions.csv" || u.File.Name != "transactions.csv" || u.Attrs[AttrDelimiter] != "|" || u.Attrs[AttrRowsOut] != "2" {
		t.Fatalf("attrs %v", u.Attrs)
	}
}

// Expressions, constants, unmapped pass-through columns and dropped columns.
func TestExpressionsAndDrops(t *testing.T) {
	b := build(t, map[string]any{
		"outputHeadersOrder": "TAmount,bill_name,BillID,Currency,Net",
		"headersMapping":     `{"TAmount":exp{hdr"t_amount"+1}, "BillID":"Bill_Number", "Currency":const{INR}, "Net":"exp{hdr{t_amount} - hdr{discount}}"}`,
	})
	in := "Bill_Number,bill_name,t_amount,discount,secret\nB1,Lunch,10,2,x\nB2,Dinner,7.5,0.5,y\n"
	out, err := run(t, b, fileUnit("in.csv", in, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := "TAmount,bill_name,BillID,Currency,Net\n11,Lunch,B1,INR,8\n8.5,Dinner,B2,INR,7.0\n"
	if got := out.got[0].body; got != want {
		t.Fatalf("output\n%s\nwant\n%s", got, want)
	}
	if out.got[0].unit.Attrs[block.AttrFilename] != "in.csv" {
		t.Fatalf("default ${filename} not kept: %v", out.got[0].unit.Attrs)
	}
}

// The 8-field identity mapping used by the 3/4-file join templates (§2.4.4).
func TestJoinTemplateIdentityMapping(t *testing.T) {
	cols := "source,loyaltyType,accountId,identifierType,identifierValue,mobile,wechat,gender"
	b := build(t, map[string]any{
		"outputHeadersOrder": cols,
		"outputFileName":     "merge_now():format('yyyy-MM-dd').csv",
		"headersMapping":     `{"source":"source","loyaltyType":"loyaltyType","accountId":"accountId","identifierType":"identifierType","identifierValue":"identifierValue","mobile":"mobile","wechat":"wechat","gender":"gender"}`,
	})
	in := "mobile,gender,source,loyaltyType,accountId,identifierType,identifierValue,wechat,extra\n" +
		"919800000001,F,INSTORE,loyalty,,mobile,919800000001,,e1\n"
	out, err := run(t, b, fileUnit("merged3_2024-03-05.csv", in, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := cols + "\nINSTORE,loyalty,,mobile,919800000001,919800000001,,F\n"
	if got := out.got[0].body; got != want {
		t.Fatalf("output\n%s\nwant\n%s", got, want)
	}
	if n := out.got[0].unit.Attrs[block.AttrFilename]; n != "merge_2024-03-05.csv" {
		t.Fatalf("file name %q", n)
	}
}

func TestHeaderlessInput(t *testing.T) {
	b := build(t, map[string]any{
		"outputHeadersOrder":  "BillID,TAmount",
		"isHeaderless":        "true",
		"headerlessMapping":   "TAmount,BillID",
		"outputFileDelimiter": `\t`,
		"headersMapping":      "{}",
	})
	out, err := run(t, b, fileUnit("h.txt", "10|B1\n20|B2\n", block.Attributes{AttrDelimiter: "|"}))
	if err != nil {
		t.Fatal(err)
	}
	want := "BillID\tTAmount\nB1\t10\nB2\t20\n"
	if got := out.got[0].body; got != want {
		t.Fatalf("output %q want %q", got, want)
	}
}

// A row whose expression fails goes to the error companion with its line
// number; the other rows continue.
func TestFailingRowsGoToErrorCompanion(t *testing.T) {
	b := build(t, map[string]any{
		"outputHeadersOrder": "Bill,PerUnit",
		"headersMapping":     `{"Bill":"bill","PerUnit":exp{hdr{amount} / hdr{qty}}}`,
		"outputFileName":     "out.csv",
	})
	in := "bill,amount,qty\nB1,10,2\nB2,10,0\nB3,9,3\n"
	out, err := run(t, b, fileUnit("in.csv", in, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 2 || out.got[1].rel != block.RelFailure {
		t.Fatalf("want success + failure, got %+v", out.got)
	}
	if got, want := out.got[0].body, "Bill,PerUnit\nB1,5\nB3,3\n"; got != want {
		t.Fatalf("output %q want %q", got, want)
	}
	eb := out.got[1].body
	if !strings.HasPrefix(eb, "bill,amount,qty,line_number,error_message\nB2,10,0,3,\"PerUnit: ") || !strings.Contains(eb, "zero") {
		t.Fatalf("error file %q", eb)
	}
	eu := out.got[1].unit
	if eu.Attrs[block.AttrFilename] != "error_out.csv" || eu.Attrs[AttrRowsFailed] != "1" || !strings.Contains(eu.Attrs[block.ErrorAttr], "line 3") {
		t.Fatalf("error attrs %v", eu.Attrs)
	}
	if out.got[0].unit.Attrs[AttrRowsFailed] != "1" {
		t.Fatalf("success attrs %v", out.got[0].unit.Attrs)
	}
}

func TestMalformedRowGoesToErrorCompanion(t *testing.T) {
	b := build(t, map[string]any{"outputHeadersOrder": "a,b"})
	in := "a,b\n1,2\n3,\"x\"y\n5,6\n"
	out, err := run(t, b, fileUnit("in.csv", in, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := out.got[0].body; got != "a,b\n1,2\n5,6\n" {
		t.Fatalf("output %q", got)
	}
	if len(out.got) != 2 || !strings.Contains(out.got[1].body, ",,3,\"malformed row") {
		t.Fatalf("error file %+v", out.got)
	}
}

func TestDateReformatWithZone(t *testing.T) {
	b := build(t, map[string]any{
		"outputHeadersOrder": "BillDate,Bill",
		"headersMapping":     `{"BillDate":"date","Bill":"bill"}`,
		"dateColumnHeader":   "date",
		"existingDateFormat": "dd/MM/yyyy HH:mm",
		"newDateFormat":      "yyyy-MM-dd HH:mm:ss",
		"timeZone":           "America/Chicago",
	})
	in := "bill,date\nB1,05/03/2024 10:15\nB2,2024-03-05T16:15:00Z\nB3,not a date\nB4,\n"
	out, err := run(t, b, fileUnit("in.csv", in, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := "BillDate,Bill\n2024-03-05 10:15:00,B1\n2024-03-05 10:15:00,B2\n,B4\n"
	if got := out.got[0].body; got != want {
		t.Fatalf("output %q want %q", got, want)
	}
	if len(out.got) != 2 || !strings.Contains(out.got[1].body, "B3,not a date,4,\"date: ") {
		t.Fatalf("error file %+v", out.got)
	}
}

func TestFileLevelErrors(t *testing.T) {
	b := build(t, map[string]any{"outputHeadersOrder": "A,Missing"})
	if _, err := run(t, b, fileUnit("in.csv", "A,B\n1,2\n", nil)); err == nil || !strings.Contains(err.Error(), `output header "Missing"`) {
		t.Fatalf("err %v", err)
	}
	b = build(t, map[string]any{"outputHeadersOrder": "A", "headersMapping": `{"A":exp{hdr{Nope} + 1}}`})
	if _, err := run(t, b, fileUnit("in.csv", "A,B\n1,2\n", nil)); err == nil || !strings.Contains(err.Error(), `reads column "Nope"`) {
		t.Fatalf("err %v", err)
	}
	b = build(t, map[string]any{"outputHeadersOrder": "A", "outputFileName": "${dir}/x.csv"})
	if _, err := run(t, b, fileUnit("in.csv", "A\n1\n", block.Attributes{"dir": ".."})); err == nil || !strings.Contains(err.Error(), "without directories") {
		t.Fatalf("err %v", err)
	}
	b = build(t, map[string]any{"outputHeadersOrder": "A"})
	if err := b.Process(context.Background(), &block.Unit{Attrs: block.Attributes{}, Batch: &block.Batch{}}, &fakeOut{}); err == nil {
		t.Fatal("records accepted")
	}
}

func TestEmptyFileKeepsNewHeader(t *testing.T) {
	b := build(t, map[string]any{"outputHeadersOrder": "X,Y"})
	out, err := run(t, b, fileUnit("in.csv", "", nil))
	if err != nil {
		t.Fatal(err)
	}
	if out.got[0].body != "X,Y\n" {
		t.Fatalf("output %q", out.got[0].body)
	}
}

func TestConfigProblems(t *testing.T) {
	cases := []struct {
		cfg  map[string]any
		path string
	}{
		{map[string]any{"outputHeadersOrder": "A", "outputFileDelimiter": "a"}, "outputFileDelimiter"},
		{map[string]any{"outputHeadersOrder": "A", "outputFileDelimiter": "||"}, "outputFileDelimiter"},
		{map[string]any{"outputHeadersOrder": "A", "headersMapping": `{"A":exp{1 +}}`}, "headersMapping"},
		{map[string]any{"outputHeadersOrder": "A", "isHeaderless": "true"}, "headerlessMapping"},
		{map[string]any{"outputHeadersOrder": "A", "dateColumnHeader": "d"}, "existingDateFormat"},
		{map[string]any{"outputHeadersOrder": "A", "timeZone": "Mars/Base"}, "timeZone"},
		{map[string]any{}, "outputHeadersOrder"},
	}
	for _, c := range cases {
		_, probs := Spec.ParseConfig(c.cfg, nil)
		found := false
		for _, p := range probs {
			found = found || p.Path == c.path
		}
		if !found {
			t.Errorf("%v: want a problem at %s, got %v", c.cfg, c.path, probs)
		}
	}
	// A headerless mapping that reads an unnamed column fails at build time.
	c, _ := Spec.ParseConfig(map[string]any{"outputHeadersOrder": "A", "isHeaderless": "true", "headerlessMapping": "B"}, nil)
	if _, err := Spec.New(c, &block.Env{WorkDir: t.TempDir()}); err == nil {
		t.Fatal("unresolvable headerless plan accepted")
	}
}

func TestEndLineageRemovesSpills(t *testing.T) {
	b := build(t, map[string]any{"outputHeadersOrder": "a"})
	out, err := run(t, b, fileUnit("in.csv", "a\n1\n", nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.EndLineage(context.Background(), "lin-1", true); err != nil {
		t.Fatal(err)
	}
	if _, err := out.got[0].unit.File.Open(context.Background()); err == nil {
		t.Fatal("spill still readable after EndLineage")
	}
}

func TestRegister(t *testing.T) {
	r := block.NewRegistry()
	Register(r)
	if _, ok := r.Lookup("transform_header_data"); !ok {
		t.Fatal("not registered")
	}
}
