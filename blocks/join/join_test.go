package join

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

type harness struct {
	t   *testing.T
	blk block.Block
	clk *clock
	dir string
	seq int
}

func newHarness(t *testing.T, spec *block.Spec, cfg map[string]any) *harness {
	t.Helper()
	return newHarnessIn(t, spec, cfg, t.TempDir(), &clock{t: fixedNow})
}

func newHarnessIn(t *testing.T, spec *block.Spec, cfg map[string]any, dir string, clk *clock) *harness {
	t.Helper()
	c, probs := spec.ParseConfig(cfg, nil)
	if len(probs) > 0 {
		t.Fatalf("config problems: %v", probs)
	}
	env := &block.Env{Block: "Join_Block", WorkDir: dir, Now: clk.now, CompileExpr: exprs.Compiler(nil, clk.now)}
	b, err := spec.New(c, env)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := &harness{t: t, blk: b, clk: clk, dir: dir}
	t.Cleanup(func() { b.(block.Closer).Close() })
	return h
}

func (h *harness) send(name, body string) (*fakeOut, error) {
	h.t.Helper()
	h.seq++
	f := block.NewFile(name, int64(len(body)), func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(body)), nil
	})
	u := &block.Unit{Attrs: block.Attributes{block.AttrFilename: name, block.AttrLineageID: "lin-" + name}, File: f}
	out := &fakeOut{}
	err := h.blk.(block.Processor).Process(context.Background(), u, out)
	return out, err
}

// sendAll sends files in order and returns the output of the last one.
func (h *harness) sendAll(files ...[2]string) *fakeOut {
	h.t.Helper()
	var out *fakeOut
	for i, f := range files {
		o, err := h.send(f[0], f[1])
		if err != nil {
			h.t.Fatalf("file %s: %v", f[0], err)
		}
		if i < len(files)-1 && len(o.got) != 0 {
			h.t.Fatalf("file %s (not last) emitted %+v", f[0], o.got)
		}
		out = o
	}
	return out
}

func joined(t *testing.T, out *fakeOut) emitted {
	t.Helper()
	if len(out.got) != 1 || out.got[0].rel != block.RelSuccess {
		t.Fatalf("want one joined file on success, got %+v", out.got)
	}
	return out.got[0]
}

const (
	mergeA = "mobile,name\n911,Ann\n912,Bob\n914,Dan\n"
	pushA  = "mobile,points\n912,20\n913,30\n914,40\n914,41\n"
)

// The "SFTP to SFTP with 2 files join" template (§3.3): INNER_JOIN on
// mobile, alphabetical sort on, date-stamped output name.
func TestTwoJoinTemplate(t *testing.T) {
	h := newHarness(t, TwoJoinSpec, map[string]any{
		"files12JoinType": "INNER_JOIN", "allFilesDelimiter": ",",
		"file1Regex": "merge.*.csv", "file1Headers": "mobile",
		"file2Regex": "push.*.csv", "file2Headers": "mobile",
		"outputFileName":  "merg_now():format('yyyy-MM-dd').csv",
		"fileJoinUseCase": "NONE", "useAlphabeticalSort": "true", "mergeBasedOnCommonName": "false",
		"commonNameTemplateFile1": "File_1_<common>.csv", "commonNameTemplateFile2": "File_2_<common>.csv",
		"matchAllRegex": "false", "allUniqueMatch": "false",
	})
	out := h.sendAll([2]string{"merge_a.csv", mergeA}, [2]string{"push_a.csv", pushA})
	e := joined(t, out)
	want := "mobile,name,points\n912,Bob,20\n914,Dan,40\n914,Dan,41\n"
	if e.body != want {
		t.Fatalf("joined\n%s\nwant\n%s", e.body, want)
	}
	a := e.unit.Attrs
	if a[block.AttrFilename] != "merg_2024-03-05.csv" || a[AttrJoinFiles] != "merge_a.csv,push_a.csv" || a[AttrJoinRows] != "3" || a[block.AttrLineageID] != "lin-push_a.csv" {
		t.Fatalf("attrs %v", a)
	}
	if n := h.blk.(*nJoin).col.waitingCount(); n != 0 {
		t.Fatalf("%d files still waiting", n)
	}
	if left, _ := filepath.Glob(filepath.Join(h.dir, "pending", "*")); len(left) != 0 {
		t.Fatalf("spooled files left: %v", left)
	}
}

func TestEachJoinType(t *testing.T) {
	cases := map[string]string{
		"INNER_JOIN":       "mobile,name,points\n912,Bob,20\n914,Dan,40\n914,Dan,41\n",
		"LEFT_OUTER_JOIN":  "mobile,name,points\n911,Ann,\n912,Bob,20\n914,Dan,40\n914,Dan,41\n",
		"RIGHT_OUTER_JOIN": "mobile,name,points\n912,Bob,20\n913,,30\n914,Dan,40\n914,Dan,41\n",
		"OUTER_JOIN":       "mobile,name,points\n911,Ann,\n912,Bob,20\n913,,30\n914,Dan,40\n914,Dan,41\n",
		"FULL_OUTER_JOIN":  "mobile,name,points\n911,Ann,\n912,Bob,20\n913,,30\n914,Dan,40\n914,Dan,41\n",
	}
	for typ, want := range cases {
		t.Run(typ, func(t *testing.T) {
			h := newHarness(t, TwoJoinSpec, map[string]any{
				"files12JoinType": typ, "file1Regex": "merge.*.csv", "file1Headers": "mobile",
				"file2Regex": "push.*.csv", "file2Headers": "mobile", "outputFileName": "out.csv",
			})
			// The second file of the set may arrive first.
			e := joined(t, h.sendAll([2]string{"push_a.csv", pushA}, [2]string{"merge_a.csv", mergeA}))
			if e.body != want {
				t.Fatalf("joined\n%s\nwant\n%s", e.body, want)
			}
		})
	}
}

// The 3-file templates: Files 1-2 LEFT_OUTER_JOIN, Files 1-3 OUTER_JOIN,
// regexes merge/push/jointx, key mobile.
func TestThreeJoinTemplate(t *testing.T) {
	h := newHarness(t, ThreeJoinSpec, map[string]any{
		"files12JoinType": "LEFT_OUTER_JOIN", "files13JoinType": "OUTER_JOIN",
		"file1Regex": "merge.*.csv", "file1Headers": "mobile",
		"file2Regex": "push.*.csv", "file2Headers": "mobile",
		"file3Regex": "jointx.*.csv", "file3Headers": "mobile",
		"outputFileName":          "merged3_now():format('yyyy-MM-dd').csv",
		"mergeBasedOnCommonName":  "true",
		"commonNameTemplateFile1": "merge_<common>.csv", "commonNameTemplateFile2": "push_<common>.csv", "commonNameTemplateFile3": "jointx_<common>.csv",
	})
	merge := "mobile,name\n911,Ann\n912,Bob\n"
	push := "mobile,points\n912,20\n913,30\n"
	jointx := "mobile,tx\n911,T1\n915,T5\n"
	// A file of another set in between must not be taken.
	if o, err := h.send("push_other.csv", "mobile,points\n1,1\n"); err != nil || len(o.got) != 0 {
		t.Fatalf("other set: %v %+v", err, o)
	}
	e := joined(t, h.sendAll([2]string{"merge_d1.csv", merge}, [2]string{"jointx_d1.csv", jointx}, [2]string{"push_d1.csv", push}))
	want := "mobile,name,points,tx\n911,Ann,,T1\n912,Bob,20,\n915,,,T5\n"
	if e.body != want {
		t.Fatalf("joined\n%s\nwant\n%s", e.body, want)
	}
	if e.unit.Attrs[block.AttrFilename] != "merged3_2024-03-05.csv" || e.unit.Attrs[AttrJoinFiles] != "merge_d1.csv,push_d1.csv,jointx_d1.csv" {
		t.Fatalf("attrs %v", e.unit.Attrs)
	}
	if n := h.blk.(*nJoin).col.waitingCount(); n != 1 {
		t.Fatalf("waiting %d, want the other set's file", n)
	}
}

// The 4-file templates: all OUTER_JOIN; key columns may be named
// differently per file and come from whichever file has the row.
func TestFourJoinTemplate(t *testing.T) {
	h := newHarness(t, FourJoinSpec, map[string]any{
		"files12JoinType": "OUTER_JOIN", "files13JoinType": "OUTER_JOIN", "files14JoinType": "OUTER_JOIN",
		"file1Regex": "one.*.csv", "file1Headers": "mobile",
		"file2Regex": "two.*.csv", "file2Headers": "phone",
		"file3Regex": "3.*.csv", "file3Headers": "mobile",
		"file4Regex": "4.*.csv", "file4Headers": "mobile",
		"outputFileName": "merged4files_now():format('yyyy-MM-dd').csv",
	})
	e := joined(t, h.sendAll(
		[2]string{"one.csv", "mobile,source\n1,INSTORE\n2,WEB\n"},
		[2]string{"two.csv", "phone,gender\n2,F\n3,M\n"},
		[2]string{"3.csv", "mobile,wechat\n3,w3\n"},
		[2]string{"4.csv", "mobile,source\n4,APP\n1,POS\n"},
	))
	want := "mobile,source,gender,wechat,source_4\n1,INSTORE,,,POS\n2,WEB,F,,\n3,,M,w3,\n4,,,,APP\n"
	if e.body != want {
		t.Fatalf("joined\n%s\nwant\n%s", e.body, want)
	}
	if e.unit.Attrs[block.AttrFilename] != "merged4files_2024-03-05.csv" {
		t.Fatalf("name %q", e.unit.Attrs[block.AttrFilename])
	}
}

// Transaction line-item merge (§3.2.3): INNER join on BillNumber, one bill
// row to many line items, merge on a common name.
func TestLineItemMerge(t *testing.T) {
	h := newHarness(t, TwoJoinSpec, map[string]any{
		"files12JoinType": "INNER_JOIN",
		"file1Regex":      "BILL_LEVEL_MERGE.*.csv", "file1Headers": "BillNumber",
		"file2Regex": "LINE_LEVEL_MERGE.*.csv", "file2Headers": "BillNumber",
		"outputFileName": "merged_output.csv", "fileJoinUseCase": "TRANSACTION_LINE_ITEM",
		"useAlphabeticalSort": "true", "mergeBasedOnCommonName": "true",
		"commonNameTemplateFile1": "BILL_LEVEL_MERGE_<common>.csv", "commonNameTemplateFile2": "LINE_LEVEL_MERGE_<common>.csv",
	})
	bills := "BillNumber,BillDate,StoreCode,BillAmount\nB1,2024-03-05,S1,300\nB2,2024-03-05,S2,50\nB2,2024-03-05,S2,999\nB3,2024-03-05,S1,10\n"
	lines := "BillNumber,ItemCode,Qty,Amount\nB1,I1,1,100\nB2,I9,1,50\nB1,I2,2,200\nB4,I4,1,1\n"
	e := joined(t, h.sendAll([2]string{"LINE_LEVEL_MERGE_0305.csv", lines}, [2]string{"BILL_LEVEL_MERGE_0305.csv", bills}))
	want := "BillNumber,BillDate,StoreCode,BillAmount,ItemCode,Qty,Amount\n" +
		"B1,2024-03-05,S1,300,I1,1,100\nB1,2024-03-05,S1,300,I2,2,200\nB2,2024-03-05,S2,50,I9,1,50\n"
	if e.body != want {
		t.Fatalf("joined\n%s\nwant\n%s", e.body, want)
	}
	if e.unit.Attrs[AttrDuplicateKeys] != "1" || e.unit.Attrs[AttrJoinFiles] != "BILL_LEVEL_MERGE_0305.csv,LINE_LEVEL_MERGE_0305.csv" {
		t.Fatalf("attrs %v", e.unit.Attrs)
	}
}

// Without the line-item use case, repeated keys give the cross product.
func TestDuplicateKeysCrossProduct(t *testing.T) {
	h := newHarness(t, TwoJoinSpec, map[string]any{
		"files12JoinType": "INNER_JOIN", "file1Regex": "a.*", "file1Headers": "k", "file2Regex": "b.*", "file2Headers": "k", "outputFileName": "o.csv",
	})
	e := joined(t, h.sendAll([2]string{"a.csv", "k,x\n1,a1\n1,a2\n"}, [2]string{"b.csv", "k,y\n1,b1\n1,b2\n"}))
	want := "k,x,y\n1,a1,b1\n1,a1,b2\n1,a2,b1\n1,a2,b2\n"
	if e.body != want {
		t.Fatalf("joined\n%s\nwant\n%s", e.body, want)
	}
}

func TestMultiColumnKeysAndHeaderless(t *testing.T) {
	h := newHarness(t, TwoJoinSpec, map[string]any{
		"files12JoinType": "LEFT_OUTER_JOIN", "allFilesDelimiter": "|",
		"file1Regex": "bill.*", "file1Headers": "store,bill",
		"file2Regex": "pay.*", "file2Headers": "store_code,bill_no",
		"file2IsHeaderless": "true", "file2HeaderNames": "store_code,bill_no,mode,amount",
		"outputFileName": "o.csv",
	})
	bills := "store|bill|total\nS1|1|10\nS2|1|20\nS1|2|30\n"
	pays := "S1|1|CASH|10\nS2|1|CARD|15\nS2|1|CASH|5\nS9|9|CASH|1\n"
	e := joined(t, h.sendAll([2]string{"bill.txt", bills}, [2]string{"pay.txt", pays}))
	want := "store|bill|total|mode|amount\nS1|1|10|CASH|10\nS1|2|30||\nS2|1|20|CARD|15\nS2|1|20|CASH|5\n"
	if e.body != want {
		t.Fatalf("joined\n%s\nwant\n%s", e.body, want)
	}
	if e.unit.Attrs[AttrDelimiter] != "|" {
		t.Fatalf("attrs %v", e.unit.Attrs)
	}
}

func TestQuotedFieldsAndEmptyKeys(t *testing.T) {
	h := newHarness(t, TwoJoinSpec, map[string]any{
		"files12JoinType": "OUTER_JOIN", "file1Regex": "a.*", "file1Headers": "k", "file2Regex": "b.*", "file2Headers": "k", "outputFileName": "o.csv",
	})
	e := joined(t, h.sendAll([2]string{"a.csv", "k,x\n\"1,5\",\"multi\nline\"\n,empty-a\n"}, [2]string{"b.csv", "k,y\n,empty-b\n\"1,5\",\"q\"\"uote\"\n"}))
	want := ",empty-a,empty-b\n\"1,5\",\"multi\nline\",\"q\"\"uote\"\n"
	if e.body != "k,x,y\n"+want {
		t.Fatalf("joined\n%q", e.body)
	}
}

func TestMissingCompanionTimesOut(t *testing.T) {
	clk := &clock{t: fixedNow}
	h := newHarnessIn(t, TwoJoinSpec, map[string]any{
		"files12JoinType": "INNER_JOIN", "file1Regex": "merge.*.csv", "file1Headers": "mobile",
		"file2Regex": "push.*.csv", "file2Headers": "mobile", "outputFileName": "o.csv", "companionTimeout": "10m",
	}, t.TempDir(), clk)
	if o, err := h.send("merge_a.csv", mergeA); err != nil || len(o.got) != 0 {
		t.Fatalf("%v %+v", err, o)
	}
	col := h.blk.(*nJoin).col
	clk.set(fixedNow.Add(9 * time.Minute))
	if n := col.expire(clk.now()); n != 0 {
		t.Fatalf("expired %d too early", n)
	}
	clk.set(fixedNow.Add(10 * time.Minute))
	if n := col.expire(clk.now()); n != 1 {
		t.Fatalf("expired %d", n)
	}
	// The next file reports the expired one on failure, then waits itself.
	out, err := h.send("push_b.csv", pushA)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 1 || out.got[0].rel != block.RelFailure {
		t.Fatalf("want the expired file on failure, got %+v", out.got)
	}
	f := out.got[0]
	if f.body != mergeA || f.unit.Attrs[block.AttrFilename] != "merge_a.csv" || f.unit.Attrs[AttrOrphanLineage] != "" && f.unit.Attrs[AttrOrphanLineage] != "lin-merge_a.csv" {
		t.Fatalf("expired unit %+v", f.unit.Attrs)
	}
	if msg := f.unit.Attrs[block.ErrorAttr]; msg != `missing companion "push.*.csv" after 10m0s for merge_a.csv` {
		t.Fatalf("message %q", msg)
	}
	if col.waitingCount() != 1 {
		t.Fatalf("push_b should wait")
	}
	// The expiry loop started by Start does the same on its own.
	real := &clock{t: time.Now()}
	h = newHarnessIn(t, TwoJoinSpec, map[string]any{
		"file1Regex": "merge.*.csv", "file1Headers": "mobile",
		"file2Regex": "push.*.csv", "file2Headers": "mobile", "outputFileName": "o.csv", "companionTimeout": "0.05",
	}, t.TempDir(), real)
	h.send("merge_a.csv", mergeA)
	col = h.blk.(*nJoin).col
	if err := h.blk.(block.Starter).Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	real.set(real.now().Add(time.Second))
	deadline := time.Now().Add(5 * time.Second)
	for col.waitingCount() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if col.waitingCount() != 0 {
		t.Fatal("expiry loop did not expire merge_a")
	}
}

func TestUnmatchedDuplicateAndAlphabetical(t *testing.T) {
	cfg := map[string]any{
		"files12JoinType": "INNER_JOIN", "file1Regex": "merge.*.csv", "file1Headers": "mobile",
		"file2Regex": "push.*.csv", "file2Headers": "mobile", "outputFileName": "o.csv",
	}
	h := newHarness(t, TwoJoinSpec, cfg)
	if _, err := h.send("other.csv", "x\n"); err == nil || !strings.Contains(err.Error(), "matches none of the file regexes merge.*.csv, push.*.csv") {
		t.Fatalf("unmatched: %v", err)
	}
	// Without All Unique Match a second file of a kind queues for the next set (FCFS).
	h.send("merge_b.csv", "mobile,name\n912,B-set\n")
	h.send("merge_a.csv", "mobile,name\n912,A-set\n")
	e := joined(t, h.sendAll([2]string{"push_1.csv", "mobile,p\n912,1\n"}))
	if !strings.Contains(e.body, "B-set") {
		t.Fatalf("first come first served: %s", e.body)
	}

	cfg["matchAllRegex"], cfg["allUniqueMatch"], cfg["useAlphabeticalSort"] = "true", "true", "true"
	h = newHarness(t, TwoJoinSpec, cfg)
	if o, err := h.send("other.csv", "x\n"); err != nil || len(o.got) != 0 {
		t.Fatalf("Match All Regex should drop: %v %+v", err, o)
	}
	h.send("merge_b.csv", "mobile,name\n912,B-set\n")
	if o, err := h.send("merge_a.csv", "mobile,name\n912,A-set\n"); err != nil || len(o.got) != 0 {
		t.Fatalf("duplicate should drop: %v %+v", err, o)
	}
	if n := h.blk.(*nJoin).col.waitingCount(); n != 1 {
		t.Fatalf("waiting %d", n)
	}

	// Alphabetical sort picks the smallest name among waiting files.
	delete(cfg, "allUniqueMatch")
	h = newHarness(t, TwoJoinSpec, cfg)
	h.send("merge_b.csv", "mobile,name\n912,B-set\n")
	h.send("merge_a.csv", "mobile,name\n912,A-set\n")
	e = joined(t, h.sendAll([2]string{"push_1.csv", "mobile,p\n912,1\n"}))
	if !strings.Contains(e.body, "A-set") {
		t.Fatalf("alphabetical: %s", e.body)
	}
}

// Waiting files survive a restart of the block on the same work directory.
func TestWaitingFilesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := map[string]any{
		"files12JoinType": "INNER_JOIN", "file1Regex": "merge.*.csv", "file1Headers": "mobile",
		"file2Regex": "push.*.csv", "file2Headers": "mobile", "outputFileName": "o.csv",
	}
	h := newHarnessIn(t, TwoJoinSpec, cfg, dir, &clock{t: fixedNow})
	h.send("merge_a.csv", mergeA)
	h.blk.(block.Closer).Close()
	h2 := newHarnessIn(t, TwoJoinSpec, cfg, dir, &clock{t: fixedNow})
	e := joined(t, h2.sendAll([2]string{"push_a.csv", pushA}))
	if !strings.HasPrefix(e.body, "mobile,name,points\n912,Bob,20\n") {
		t.Fatalf("joined %s", e.body)
	}
}

func TestJoinFileErrors(t *testing.T) {
	cfg := map[string]any{
		"files12JoinType": "INNER_JOIN", "file1Regex": "a.*", "file1Headers": "k", "file2Regex": "b.*", "file2Headers": "k", "outputFileName": "o.csv",
	}
	h := newHarness(t, TwoJoinSpec, cfg)
	h.send("a.csv", "k,x\n1,2\n")
	if _, err := h.send("b.csv", "nokey,y\n1,2\n"); err == nil || !strings.Contains(err.Error(), `file 2 (b.csv): key column "k" is not in its header`) {
		t.Fatalf("err %v", err)
	}
	h.send("a.csv", "k,x\n1,2,3\n")
	if _, err := h.send("b.csv", "k,y\n1,2\n"); err == nil || !strings.Contains(err.Error(), "line 2 has 3 fields, the header has 2") {
		t.Fatalf("err %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(h.dir, "pending", "*")); len(left) != 0 {
		t.Fatalf("failed sets must not stay waiting: %v", left)
	}
	cfg["outputFileName"] = "../${filename}"
	h = newHarness(t, TwoJoinSpec, cfg)
	h.send("a.csv", "k\n1\n")
	if _, err := h.send("b.csv", "k\n1\n"); err == nil || !strings.Contains(err.Error(), "without directories") {
		t.Fatalf("err %v", err)
	}
}

func TestNJoinConfigProblems(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"file1Regex": "a.*", "file1Headers": "k", "file2Regex": "b.*", "file2Headers": "k", "outputFileName": "o.csv"}
	}
	cases := []struct {
		set  map[string]any
		path string
	}{
		{map[string]any{"file2Headers": "k,j"}, "file2Headers"},
		{map[string]any{"files12JoinType": "CROSS"}, "files12JoinType"},
		{map[string]any{"mergeBasedOnCommonName": "true"}, "commonNameTemplateFile1"},
		{map[string]any{"file1IsHeaderless": "true"}, "file1HeaderNames"},
		{map[string]any{"file1IsHeaderless": "true", "file1HeaderNames": "x,y"}, "file1Headers"},
		{map[string]any{"allFilesDelimiter": "ab"}, "allFilesDelimiter"},
		{map[string]any{"companionTimeout": "soon"}, "companionTimeout"},
		{map[string]any{"file1Regex": "("}, "file1Regex"},
	}
	for _, c := range cases {
		cfg := base()
		for k, v := range c.set {
			cfg[k] = v
		}
		_, probs := TwoJoinSpec.ParseConfig(cfg, nil)
		found := false
		for _, p := range probs {
			found = found || p.Path == c.path
		}
		if !found {
			t.Errorf("%v: want a problem at %s, got %v", c.set, c.path, probs)
		}
	}
	cfg := base()
	cfg["file3Regex"], cfg["file3Headers"], cfg["fileJoinUseCase"] = "c.*", "k", "TRANSACTION_LINE_ITEM"
	if _, probs := ThreeJoinSpec.ParseConfig(cfg, nil); len(probs) == 0 {
		t.Error("line-item use case accepted on three_join")
	}
	if _, err := NormalizeJoinType("inner join"); err != nil {
		t.Error(err)
	}
}

func TestRegister(t *testing.T) {
	r := block.NewRegistry()
	Register(r)
	for _, typ := range []string{"two_join", "three_join", "four_join", "file_join"} {
		if _, ok := r.Lookup(typ); !ok {
			t.Errorf("%s not registered", typ)
		}
	}
}

// --- file_join ---

var fileJoinCfg = map[string]any{
	"tableFilePatterns":  `TktCoupon_(.*)\.dat, TktDocument_(.*)\.dat`,
	"joinQuery":          "SELECT table1.doc, table1.coupon, table2.passenger FROM table1 INNER JOIN table2 ON table1.doc = table2.doc ORDER BY table1.coupon",
	"outputFilename":     "merg_${now():format('yyyy-MM-dd')}.csv",
	"csvDelimiter":       "|",
	"outputCsvDelimiter": ",",
}

const (
	coupons   = "doc|coupon\nD1|C2\nD1|C1\nD2|C3\n"
	documents = "doc|passenger\nD1|\"Ann \"\"A\"\"\"\nD3|Cy\n"
)

func TestFileJoinSeparateFiles(t *testing.T) {
	h := newHarness(t, FileJoinSpec, fileJoinCfg)
	h.send("TktCoupon_X.dat", "doc|coupon\nZ|Z\n") // another set: never joined with _ABC
	e := joined(t, h.sendAll([2]string{"TktCoupon_ABC.dat", coupons}, [2]string{"TktDocument_ABC.dat", documents}))
	want := "doc,coupon,passenger\nD1,C1,\"Ann \"\"A\"\"\"\nD1,C2,\"Ann \"\"A\"\"\"\n"
	if e.body != want {
		t.Fatalf("joined\n%s\nwant\n%s", e.body, want)
	}
	if e.unit.Attrs[block.AttrFilename] != "merg_2024-03-05.csv" || e.unit.Attrs[AttrJoinRows] != "2" {
		t.Fatalf("attrs %v", e.unit.Attrs)
	}
}

func zipOf(t *testing.T, files map[string]string) string {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestFileJoinZipAndHeaderless(t *testing.T) {
	cfg := map[string]any{}
	for k, v := range fileJoinCfg {
		cfg[k] = v
	}
	cfg["headerlessTableMappings"] = `{"2": "doc|passenger"}`
	cfg["includeHeader"] = "false"
	cfg["joinQuery"] = "SELECT t1.doc, count(*) AS n, max(t2.passenger) FROM table1 t1 LEFT JOIN table2 t2 ON t1.doc = t2.doc GROUP BY t1.doc ORDER BY t1.doc;"
	h := newHarness(t, FileJoinSpec, cfg)
	z := zipOf(t, map[string]string{"in/TktCoupon_ABC.dat": coupons, "in/TktDocument_ABC.dat": "D1|Ann\nD2|Bo\n", "README.txt": "x"})
	out, err := h.send("joined_1.zip", z)
	if err != nil {
		t.Fatal(err)
	}
	e := joined(t, out)
	if want := "D1,2,Ann\nD2,1,Bo\n"; e.body != want {
		t.Fatalf("joined %q want %q", e.body, want)
	}
	z = zipOf(t, map[string]string{"TktCoupon_ABC.dat": coupons})
	if _, err := h.send("j.zip", z); err == nil || !strings.Contains(err.Error(), "no file matching pattern 2") {
		t.Fatalf("err %v", err)
	}
}

func TestFileJoinQueryIsReadOnly(t *testing.T) {
	for _, q := range []string{
		"DELETE FROM table1",
		"ATTACH DATABASE '/tmp/x.db' AS x",
		"SELECT 1; DROP TABLE table1",
		"",
	} {
		cfg := map[string]any{}
		for k, v := range fileJoinCfg {
			cfg[k] = v
		}
		cfg["joinQuery"] = q
		if _, probs := FileJoinSpec.ParseConfig(cfg, nil); len(probs) == 0 {
			t.Errorf("query %q accepted", q)
		}
	}
	// Writes hidden in a SELECT-shaped statement fail at run time.
	cfg := map[string]any{}
	for k, v := range fileJoinCfg {
		cfg[k] = v
	}
	cfg["joinQuery"] = "WITH x AS (SELECT 1) INSERT INTO table1 VALUES ('a','b')"
	h := newHarness(t, FileJoinSpec, cfg)
	z := zipOf(t, map[string]string{"TktCoupon_A.dat": coupons, "TktDocument_A.dat": documents})
	if _, err := h.send("j.zip", z); err == nil {
		t.Fatal("write through WITH … INSERT succeeded")
	}
	cfg["joinQuery"] = "SELECT * FROM table1 WHERE doc IN (SELECT name FROM pragma_database_list WHERE name = 'x')"
	h = newHarness(t, FileJoinSpec, cfg)
	if _, err := h.send("j.zip", z); err != nil {
		t.Fatalf("harmless query failed: %v", err)
	}
	if got := splitPatterns(`a{1,3}\.csv, b[,;]x, (c|d),e`); strings.Join(got, "|") != `a{1,3}\.csv|b[,;]x|(c|d)|e` {
		t.Fatalf("split %q", got)
	}
	os.Remove("/tmp/x.db")
}
