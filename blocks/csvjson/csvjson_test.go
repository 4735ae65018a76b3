package csvjson

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/connectplus/connectplus/block"
)

type emitted struct {
	rel string
	u   *block.Unit
}

// fakeOutput records what the block emits.
type fakeOutput struct {
	mu       sync.Mutex
	units    []emitted
	progress int64
	failAt   int // Emit fails on this call (1-based), 0 never
}

func (o *fakeOutput) Emit(ctx context.Context, rel string, u *block.Unit) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failAt > 0 && len(o.units)+1 == o.failAt {
		return errors.New("downstream gone")
	}
	o.units = append(o.units, emitted{rel, u})
	return nil
}
func (o *fakeOutput) Ack(*block.Unit, []byte) {}
func (o *fakeOutput) Progress(n int64) {
	o.mu.Lock()
	o.progress += n
	o.mu.Unlock()
}

type fakeLineage struct{ acked map[int64]bool }

func (l fakeLineage) ID() string           { return "L1" }
func (l fakeLineage) Acked(seq int64) bool { return l.acked[seq] }
func (l fakeLineage) State(string) []byte  { return nil }
func (l fakeLineage) Resumed() bool        { return len(l.acked) > 0 }
func (l fakeLineage) String() string       { return "L1" }
func (l fakeLineage) withAcked(s ...int64) fakeLineage {
	l.acked = map[int64]bool{}
	for _, x := range s {
		l.acked[x] = true
	}
	return l
}

func newTestBlock(t testing.TB, cfg map[string]any, env *block.Env) *Block {
	t.Helper()
	c, probs := Spec.ParseConfig(cfg, nil)
	if len(probs) > 0 {
		t.Fatalf("config: %v", probs)
	}
	if env == nil {
		env = &block.Env{Block: "csv2json", WorkDir: t.TempDir()}
	}
	b, err := Spec.New(c, env)
	if err != nil {
		t.Fatal(err)
	}
	return b.(*Block)
}

func fileUnit(content string, attrs block.Attributes) *block.Unit {
	if attrs == nil {
		attrs = block.Attributes{}
	}
	attrs[block.AttrFilename] = "in.csv"
	f := block.NewFile("in.csv", int64(len(content)), func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(content)), nil
	})
	return &block.Unit{Attrs: attrs, File: f, Lineage: fakeLineage{}}
}

func run(t testing.TB, cfg map[string]any, content string) *fakeOutput {
	t.Helper()
	return runUnit(t, newTestBlock(t, cfg, nil), fileUnit(content, nil))
}

func runUnit(t testing.TB, b *Block, u *block.Unit) *fakeOutput {
	t.Helper()
	out := &fakeOutput{}
	if err := b.Process(context.Background(), u, out); err != nil {
		t.Fatalf("Process: %v", err)
	}
	return out
}

// jsonOf renders every success unit as its JSON array, one per line.
func jsonOf(out *fakeOutput) string {
	var sb strings.Builder
	for _, e := range out.units {
		if e.rel == block.RelSuccess {
			sb.Write(e.u.Batch.AppendJSON(nil))
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

// accounting checks that every input row is in exactly one emitted record.
func accounting(t *testing.T, out *fakeOutput, rows int) (good, failed int) {
	t.Helper()
	seen := map[int64]bool{}
	for _, e := range out.units {
		for _, r := range e.u.Batch.Records {
			for _, s := range append([]int64{r.Seq}, memberSeqs(r)...) {
				if seen[s] {
					t.Fatalf("seq %d emitted twice", s)
				}
				seen[s] = true
			}
			n := 1 + len(r.Members)
			if e.rel == block.RelFailure {
				failed += n
				if r.Outcome.Status != block.Failed || r.Outcome.Message == "" || r.Outcome.Code != CodeBadRow {
					t.Errorf("failed record without outcome: %+v", r.Outcome)
				}
			} else {
				good += n
			}
		}
	}
	if good+failed != rows {
		t.Errorf("in %d rows, emitted %d good + %d failed", rows, good, failed)
	}
	return good, failed
}

func memberSeqs(r block.Record) []int64 {
	var s []int64
	for _, m := range r.Members {
		s = append(s, m.Seq)
	}
	return s
}

func TestBasicBatches(t *testing.T) {
	in := "bill_number,mobile,amount\nB1,917259773236,10.50\nB2,0091,7\nB3,9,1e3\n"
	out := run(t, map[string]any{"groupSize": 2}, in)
	if len(out.units) != 2 {
		t.Fatalf("%d units, want 2 (the last partial batch must be flushed)", len(out.units))
	}
	want := `[{"bill_number":"B1","mobile":"917259773236","amount":"10.50"},{"bill_number":"B2","mobile":"0091","amount":"7"}]
[{"bill_number":"B3","mobile":"9","amount":"1e3"}]
`
	if got := jsonOf(out); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	for i, e := range out.units {
		a := e.u.Attrs
		if a[block.AttrRequestID] != fmt.Sprintf("L1-%d", i+1) || a[AttrFragmentIndex] != fmt.Sprint(i) || a[AttrRecordCount] != fmt.Sprint(len(e.u.Batch.Records)) || a[block.AttrFilename] != "in.csv" {
			t.Errorf("unit %d attrs %v", i, a)
		}
		for _, r := range e.u.Batch.Records {
			if r.Value != nil || r.Attrs != nil {
				t.Errorf("record %d: Value and Attrs must stay nil (lazy objects, no map per row)", r.Seq)
			}
		}
	}
	r := out.units[1].u.Batch.Records[0]
	if r.Seq != 3 || r.Line != 4 {
		t.Errorf("last record seq %d line %d", r.Seq, r.Line)
	}
	if out.progress != int64(len(in)) {
		t.Errorf("progress %d, want %d", out.progress, len(in))
	}
	accounting(t, out, 3)
}

func TestGroupSizeBoundaries(t *testing.T) {
	for _, tc := range []struct{ rows, size, units int }{
		{0, 3, 0}, {1, 1, 1}, {5, 1, 5}, {6, 3, 2}, {7, 3, 3}, {1000, 1000, 1}, {1001, 1000, 2},
	} {
		var sb strings.Builder
		sb.WriteString("a,b\n")
		for i := range tc.rows {
			fmt.Fprintf(&sb, "%d,x\n", i)
		}
		out := run(t, map[string]any{"groupSize": tc.size}, sb.String())
		if len(out.units) != tc.units {
			t.Errorf("%d rows by %d: %d units, want %d", tc.rows, tc.size, len(out.units), tc.units)
		}
		var seqs []int64
		for _, e := range out.units {
			if len(e.u.Batch.Records) > tc.size {
				t.Errorf("batch of %d > %d", len(e.u.Batch.Records), tc.size)
			}
			for _, r := range e.u.Batch.Records {
				seqs = append(seqs, r.Seq)
			}
		}
		for i, s := range seqs {
			if s != int64(i+1) {
				t.Fatalf("order broken at %d: seq %d", i, s)
			}
		}
	}
}

func TestDelimiters(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   map[string]any
		attrs block.Attributes
		in    string
	}{
		{"comma default", nil, nil, "a,b\n1,2\n"},
		{"pipe config", map[string]any{"File Delimiter": "|"}, nil, "a|b\n1|2\n"},
		{"tab escaped", map[string]any{"File Delimiter": `\t`}, nil, "a\tb\n1\t2\n"},
		{"tab word", map[string]any{"File Delimiter": "tab"}, nil, "a\tb\n1\t2\n"},
		{"source attribute", nil, block.Attributes{AttrFileDelimiter: ";"}, "a;b\n1;2\n"},
		{"config wins", map[string]any{"File Delimiter": "|"}, block.Attributes{AttrFileDelimiter: ";"}, "a|b\n1|2\n"},
		{"multibyte", map[string]any{"File Delimiter": "¦"}, nil, "a¦b\n1¦2\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := runUnit(t, newTestBlock(t, tc.cfg, nil), fileUnit(tc.in, tc.attrs))
			if got := jsonOf(out); got != `[{"a":"1","b":"2"}]`+"\n" {
				t.Errorf("got %s", got)
			}
		})
	}
	if _, probs := Spec.ParseConfig(map[string]any{"File Delimiter": "ab"}, nil); len(probs) == 0 {
		t.Error("a two-character delimiter must be rejected")
	}
}

func TestQuotingBOMCRLFAndLines(t *testing.T) {
	in := "\uFEFF id , note \r\n1,\"a, \"\"b\"\"\"\r\n2,\"multi\r\nline\nnote\"\r\n3,plain\r\n"
	out := run(t, map[string]any{"groupSize": 10}, in)
	want := `[{"id":"1","note":"a, \"b\""},{"id":"2","note":"multi\r\nline\nnote"},{"id":"3","note":"plain"}]` + "\n"
	if got := jsonOf(out); got != want {
		t.Errorf("got %s want %s", got, want)
	}
	var lines []int64
	for _, r := range out.units[0].u.Batch.Records {
		lines = append(lines, r.Line)
	}
	if !slices.Equal(lines, []int64{2, 3, 6}) {
		t.Errorf("lines %v, want [2 3 6]", lines)
	}
}

func TestBadRows(t *testing.T) {
	in := "a,b,c\n1,2,3\n4,5\n6,x\"y,7\n8,9,10,11\n12,13,14\n"
	out := run(t, map[string]any{"groupSize": 10}, in)
	good, failed := accounting(t, out, 5)
	if good != 2 || failed != 3 {
		t.Fatalf("good %d failed %d", good, failed)
	}
	var msgs []string
	var seqs []int64
	for _, e := range out.units {
		if e.rel == block.RelFailure {
			for _, r := range e.u.Batch.Records {
				msgs = append(msgs, r.Outcome.Message)
				seqs = append(seqs, r.Seq)
				if r.Outcome.Block != "csv2json" {
					t.Errorf("outcome block %q", r.Outcome.Block)
				}
			}
		}
	}
	want := []string{
		"line 3: expected 3 fields, found 2",
		`line 4, column 4: bare " in non-quoted field (quote the whole field and double the ")`,
		"line 5: expected 3 fields, found 4",
	}
	if !slices.Equal(msgs, want) || !slices.Equal(seqs, []int64{2, 3, 4}) {
		t.Errorf("failures %q seqs %v", msgs, seqs)
	}
	if out.units[0].rel != block.RelFailure {
		t.Error("failures must be emitted before the batch holding later rows")
	}
	last := out.units[len(out.units)-1].u.Batch.Records
	if last[len(last)-1].Seq != 5 || last[len(last)-1].Line != 6 {
		t.Errorf("rows after bad ones keep their numbers: %+v", last[len(last)-1])
	}
}

func TestHeaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		cfg      map[string]any
		want     string
	}{
		{"empty file", "", nil, "empty"},
		{"blank lines only", "\n\n", nil, "empty"},
		{"duplicate", "a,b,a\n1,2,3\n", nil, `duplicate column "a"`},
		{"duplicate after trim", "a, a\n", nil, `duplicate column "a"`},
		{"empty name", "a,,c\n", nil, "column 2 has no name"},
		{"missing group column", "a,b\n", map[string]any{"groupBy": "bill"}, `groupBy: column "bill"`},
		{"missing sort column", "a,b\n", map[string]any{"sortHeaders": "a,z"}, `sortHeaders: column "z"`},
		{"missing header_value", "a,b\n", map[string]any{"header_value": "status"}, `header_value: column "status"`},
		{"broken header", "a,\"b\n", nil, "header row"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := newTestBlock(t, tc.cfg, nil).Process(context.Background(), fileUnit(tc.in, nil), &fakeOutput{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// The Gen-1 documentation's worked example (spec §2.4.1).
const bills = `bill ID,identifier name,identifier value,itemID
BILL002,email,anna@example.fi,ITEM-A
BILL001,mobile,040-1234567,ITEM-X
BILL002,mobile,050-9876543,ITEM-B
BILL001,email,mikko@example.fi,ITEM-Y
BILL003,mobile,044-5551234,ITEM-P
BILL001,mobile,044-1112233,ITEM-Z
BILL003,email,pekka@example.fi,ITEM-Q
BILL002,email,tiina@example.fi,ITEM-C
`

func TestGroupBy(t *testing.T) {
	out := run(t, map[string]any{"groupBy": "bill ID", "sortHeaders": "bill ID", "alphabeticalSort": "true", "groupSize": 2, "header_value": "bill ID"}, bills)
	accounting(t, out, 8)
	if len(out.units) != 2 {
		t.Fatalf("%d units, want 2", len(out.units))
	}
	want := `[{"bill ID":"BILL001","records":[{"identifier name":"mobile","identifier value":"040-1234567","itemID":"ITEM-X"},{"identifier name":"email","identifier value":"mikko@example.fi","itemID":"ITEM-Y"},{"identifier name":"mobile","identifier value":"044-1112233","itemID":"ITEM-Z"}]},` +
		`{"bill ID":"BILL002","records":[{"identifier name":"email","identifier value":"anna@example.fi","itemID":"ITEM-A"},{"identifier name":"mobile","identifier value":"050-9876543","itemID":"ITEM-B"},{"identifier name":"email","identifier value":"tiina@example.fi","itemID":"ITEM-C"}]}]
[{"bill ID":"BILL003","records":[{"identifier name":"mobile","identifier value":"044-5551234","itemID":"ITEM-P"},{"identifier name":"email","identifier value":"pekka@example.fi","itemID":"ITEM-Q"}]}]
`
	if got := jsonOf(out); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	g := out.units[0].u.Batch.Records[0]
	if g.Seq != 2 || g.Line != 3 || len(g.Members) != 2 || g.Members[0].Seq != 4 || g.Members[1].Line != 7 {
		t.Errorf("group record seq %d line %d members %+v", g.Seq, g.Line, g.Members)
	}
	if g.Attrs[block.AttrHeaderValue] != "BILL001" || out.units[0].u.Attrs[AttrRecordCount] != "2" {
		t.Errorf("attrs %v / %v", g.Attrs, out.units[0].u.Attrs)
	}
	// Grouping alone (no sortHeaders) sorts by the group key too.
	if got := jsonOf(run(t, map[string]any{"groupBy": "bill ID", "groupSize": 2, "alphabeticalSort": "true"}, bills)); got != want {
		t.Errorf("groupBy without sortHeaders:\n%s", got)
	}
}

func TestSortOrders(t *testing.T) {
	in := "id,n\nBILL10,a\nBILL9,b\nBILL10,c\nbill1,d\nBILL009,e\n"
	order := func(cfg map[string]any) string {
		var ids []string
		for _, e := range run(t, cfg, in).units {
			for _, r := range e.u.Batch.Records {
				ids = append(ids, r.Cols[e.u.Batch.Header.Index("id")]+"/"+r.Cols[e.u.Batch.Header.Index("n")])
			}
		}
		return strings.Join(ids, " ")
	}
	if got := order(map[string]any{"sortHeaders": "id", "groupSize": 10}); got != "BILL9/b BILL009/e BILL10/a BILL10/c bill1/d" {
		t.Errorf("natural: %s", got)
	}
	if got := order(map[string]any{"sortHeaders": "id", "alphabeticalSort": "true", "groupSize": 10}); got != "BILL009/e BILL10/a BILL10/c BILL9/b bill1/d" {
		t.Errorf("alphabetical: %s", got)
	}
}

func TestKeyOrder(t *testing.T) {
	in := "zeta,alpha,mid\n1,2,3\n"
	if got := jsonOf(run(t, map[string]any{"alphabeticalSort": "true"}, in)); got != `[{"alpha":"2","mid":"3","zeta":"1"}]`+"\n" {
		t.Errorf("alphabetical keys: %s", got)
	}
	if got := jsonOf(run(t, map[string]any{"sortHeaders": "mid"}, in)); got != `[{"mid":"3","zeta":"1","alpha":"2"}]`+"\n" {
		t.Errorf("sortHeaders keys first: %s", got)
	}
}

func TestSortSpillsWithTinyMemory(t *testing.T) {
	dir := t.TempDir()
	env := &block.Env{Block: "c", WorkDir: dir, Options: map[string]string{OptionSortMemBytes: "4096"}}
	rng := rand.New(rand.NewPCG(5, 5))
	var sb strings.Builder
	sb.WriteString("key,seq\n")
	const rows = 20000
	for i := range rows {
		fmt.Fprintf(&sb, "K%d,%d\n", rng.IntN(300), i+1)
	}
	for _, cfg := range []map[string]any{
		{"sortHeaders": "key", "groupSize": 7},
		{"groupBy": "key", "groupSize": 7},
	} {
		out := runUnit(t, newTestBlock(t, cfg, env), fileUnit(sb.String(), nil))
		accounting(t, out, rows)
		var prevKey string
		var prevSeq int64
		keys := map[string]bool{}
		for _, e := range out.units {
			for _, r := range e.u.Batch.Records {
				k := r.Cols[0]
				if cfg["groupBy"] != nil {
					if keys[k] {
						t.Fatalf("key %s in two groups", k)
					}
					keys[k] = true
				}
				if naturalLess(k, prevKey) {
					t.Fatalf("%s after %s", k, prevKey)
				}
				if k == prevKey && r.Seq < prevSeq {
					t.Fatalf("unstable: seq %d after %d for key %s", r.Seq, prevSeq, k)
				}
				prevKey, prevSeq = k, r.Seq
				for _, m := range r.Members {
					if m.Seq < prevSeq {
						t.Fatalf("group members out of file order")
					}
					prevSeq = m.Seq
				}
			}
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("spill files left: %d", len(left))
		}
	}
}

// naturalLess compares like the natural sort key for "K<number>" values.
func naturalLess(a, b string) bool {
	if b == "" {
		return false
	}
	var x, y int
	fmt.Sscanf(a, "K%d", &x)
	fmt.Sscanf(b, "K%d", &y)
	return x < y
}

func TestHeaderValueAndAttributes(t *testing.T) {
	in := "id,status\n1,paid\n2,not paid\n"
	out := run(t, map[string]any{"header_value": "status", "attribution_type": "TILL", "attribution_code": "store_till_001", "child_org_id": "50", "rewardId": "null", "groupSize": 5}, in)
	u := out.units[0].u
	if u.Attrs[AttrAttributionType] != "TILL" || u.Attrs[AttrAttributionCode] != "store_till_001" || u.Attrs["child_org_id"] != "50" || u.Attrs["lineNos"] != "$[0].LINE_NO" {
		t.Errorf("unit attrs %v", u.Attrs)
	}
	if _, ok := u.Attrs["rewardId"]; ok {
		t.Error(`"null" means unset`)
	}
	// On the streaming path header_value comes from the batch's column,
	// without a map per record.
	if u.Batch.HeaderValueCol != 2 {
		t.Errorf("HeaderValueCol %d", u.Batch.HeaderValueCol)
	}
	if v, _ := (block.RecordLookup{Unit: u, Batch: u.Batch, Index: 0}).Get("header_value"); v != "paid" {
		t.Errorf("lookup header_value %q", v)
	}
	l := block.RecordLookup{Unit: u, Batch: u.Batch, Index: 1}
	if v, _ := l.Get("header_value"); v != "not paid" {
		t.Errorf("lookup header_value %q", v)
	}
}

func TestSplitResponse(t *testing.T) {
	in := "a\n1\n2\n3\n"
	out := run(t, map[string]any{"split response": "true", "groupSize": 2}, in)
	if len(out.units) != 3 {
		t.Fatalf("%d units, want 3", len(out.units))
	}
	for i, e := range out.units {
		if len(e.u.Batch.Records) != 1 || e.u.Attrs[AttrRecordCount] != "1" || e.u.Attrs[block.AttrRequestID] != fmt.Sprintf("L1-%d", i+1) {
			t.Errorf("unit %d: %d records, attrs %v", i, len(e.u.Batch.Records), e.u.Attrs)
		}
	}
	out = run(t, map[string]any{"split response": "true", "JsonPath Expression": "$", "groupSize": 2}, in)
	if len(out.units) != 2 {
		t.Errorf("$ keeps batches whole: %d units", len(out.units))
	}
	if _, probs := Spec.ParseConfig(map[string]any{"JsonPath Expression": "$.data[0]"}, nil); len(probs) == 0 {
		t.Error("a path that drops records must be rejected")
	}
}

func TestResumeSkipsAcked(t *testing.T) {
	in := "a,b\n1,x\n2\n3,x\n4,x\n5,x\n"
	u := fileUnit(in, nil)
	u.Lineage = fakeLineage{}.withAcked(1, 2, 4)
	out := runUnit(t, newTestBlock(t, map[string]any{"groupSize": 10}, nil), u)
	var seqs []int64
	for _, e := range out.units {
		for _, r := range e.u.Batch.Records {
			seqs = append(seqs, r.Seq)
		}
	}
	if !slices.Equal(seqs, []int64{3, 5}) {
		t.Errorf("seqs %v, want [3 5]", seqs)
	}
}

func TestEncodingLatin1(t *testing.T) {
	out := run(t, map[string]any{"encoding": "iso-8859-1"}, "name\nJos\xe9\n")
	if got := jsonOf(out); got != `[{"name":"José"}]`+"\n" {
		t.Errorf("got %s", got)
	}
	out = run(t, nil, "name\nJos\xe9\nok\n")
	_, failed := accounting(t, out, 2)
	if failed != 1 {
		t.Error("invalid UTF-8 must fail the row, not corrupt it")
	}
}

func TestEmitErrorStopsParser(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("a\n")
	for i := range 50000 {
		fmt.Fprintf(&sb, "%d\n", i)
	}
	out := &fakeOutput{failAt: 3}
	err := newTestBlock(t, nil, nil).Process(context.Background(), fileUnit(sb.String(), nil), out)
	if err == nil || !strings.Contains(err.Error(), "downstream gone") {
		t.Fatalf("got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := newTestBlock(t, nil, nil).Process(ctx, fileUnit(sb.String(), nil), &fakeOutput{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run returned %v", err)
	}
}

func TestSpec(t *testing.T) {
	r := block.NewRegistry()
	if err := r.Register(Spec); err != nil {
		t.Fatal(err)
	}
	if s, ok := r.Lookup("csv_json_neo_transformer"); !ok || s != Spec {
		t.Error("legacy type not mapped")
	}
	// Gen-1 keys are accepted as aliases.
	c, probs := Spec.ParseConfig(map[string]any{"File": fileTypeCSV, "Sort": "a", "Alphabetical Sort": "0", "Group size": 10, "Group By": "a"}, nil)
	if len(probs) > 0 || c.Int("groupSize", 0) != 10 || c.String("groupBy") != "a" {
		t.Errorf("aliases: %v", probs)
	}
	if _, probs := Spec.ParseConfig(map[string]any{"groupSize": 1001}, nil); len(probs) == 0 {
		t.Error("groupSize above 1000 must be rejected")
	}
	if _, probs := Spec.ParseConfig(map[string]any{"groupBy": "a,a"}, nil); len(probs) == 0 {
		t.Error("duplicate group columns must be rejected")
	}
}

func TestRecordsInput(t *testing.T) {
	u := &block.Unit{Attrs: block.Attributes{}, Batch: &block.Batch{}}
	if err := newTestBlock(t, nil, nil).Process(context.Background(), u, &fakeOutput{}); err == nil {
		t.Error("records input must be refused")
	}
}
