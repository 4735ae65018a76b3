package engine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/dataflow"
)

// memSource serves in-memory files and records how each one finished.
type memSource struct {
	mu       sync.Mutex
	files    map[string]string
	finished map[string]*block.Completion
	results  map[string]string
}

func (s *memSource) List(context.Context) ([]block.Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []block.Item
	for name, body := range s.files {
		if _, done := s.finished[name]; done {
			continue
		}
		items = append(items, block.Item{Key: "/in/" + name, Name: name, Size: int64(len(body)), ModTime: time.Unix(1, 0)})
	}
	return items, nil
}

func (s *memSource) Open(_ context.Context, it block.Item) (*block.Unit, error) {
	body := s.files[it.Name]
	f := block.NewFile(it.Name, int64(len(body)), func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(body)), nil
	})
	return &block.Unit{Attrs: block.Attributes{block.AttrFilename: it.Name}, File: f}, nil
}

func (s *memSource) Finish(_ context.Context, it block.Item, c *block.Completion) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finished[it.Name] = c
	rc, err := c.Result()
	if err != nil {
		return err
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	s.results[it.Name] = string(b)
	return nil
}

// lines turns "a,b" lines (after a header) into records; "bad" lines fail.
type lines struct{ batch int }

func (p *lines) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	rc, err := u.File.Open(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	var hdr *block.Header
	var cur []block.Record
	line, seq := int64(0), int64(0)
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		nu := u.Derive()
		nu.Batch = &block.Batch{Header: hdr, Records: cur}
		cur = nil
		return out.Emit(ctx, block.RelSuccess, nu)
	}
	for sc.Scan() {
		line++
		if line == 1 {
			hdr = block.NewHeader(strings.Split(sc.Text(), ","))
			continue
		}
		seq++
		if u.Lineage.Acked(seq) {
			continue
		}
		r := block.Record{Seq: seq, Line: line, Cols: strings.Split(sc.Text(), ",")}
		if strings.Contains(sc.Text(), "bad") {
			r.Fail("lines", 0, fmt.Sprintf("line %d: bad row", line))
			fu := u.Derive()
			fu.Batch = &block.Batch{Header: hdr, Records: []block.Record{r}}
			if err := out.Emit(ctx, block.RelFailure, fu); err != nil {
				return err
			}
			continue
		}
		cur = append(cur, r)
		if len(cur) == p.batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return sc.Err()
}

// sink acknowledges records, failing those whose second column is "x", and
// counts what it delivered. Optionally slow, to test stop/resume.
type sink struct {
	mu        sync.Mutex
	delivered map[string]int
	delay     time.Duration
}

func (s *sink) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ok := &block.Batch{Header: u.Batch.Header}
	bad := &block.Batch{Header: u.Batch.Header}
	for _, r := range u.Batch.Records {
		if len(r.Cols) > 1 && r.Cols[1] == "x" {
			r.Outcome = block.Outcome{Status: block.Failed, Code: 400, Message: "rejected x"}
			bad.Records = append(bad.Records, r)
			continue
		}
		r.Outcome = block.Outcome{Status: block.Delivered, Code: 200, EntityID: "id-" + r.Cols[0]}
		ok.Records = append(ok.Records, r)
	}
	s.mu.Lock()
	for _, r := range ok.Records {
		s.delivered[r.Cols[0]]++
	}
	s.mu.Unlock()
	if len(ok.Records) > 0 {
		okU := u.Derive()
		okU.Batch = ok
		out.Ack(okU, nil)
	}
	if len(bad.Records) > 0 {
		badU := u.Derive()
		badU.Batch = bad
		return out.Emit(ctx, block.RelFailure, badU)
	}
	return nil
}

type attrExpr struct{ key, want string }

func (a attrExpr) EvalString(l block.Lookup) (string, error) {
	v, _ := l.Get(a.key)
	return v, nil
}
func (a attrExpr) EvalBool(l block.Lookup) (bool, error) {
	v, _ := l.Get(a.key)
	return v == a.want, nil
}

func testRegistry(src *memSource, sk *sink, batch int) *block.Registry {
	r := block.NewRegistry()
	r.MustRegister(
		&block.Spec{Type: "mem_read", Label: "mem", Class: block.ClassSource, Input: block.KindNone, Output: block.KindFile,
			New: func(*block.Config, *block.Env) (block.Block, error) { return src, nil }},
		&block.Spec{Type: "lines", Label: "lines", Class: block.ClassExecutor, Input: block.KindFile, Output: block.KindRecords,
			New: func(*block.Config, *block.Env) (block.Block, error) { return &lines{batch: batch}, nil }},
		&block.Spec{Type: "sink", Label: "sink", Class: block.ClassExecutor, Input: block.KindRecords, Output: block.KindRecords,
			New: func(*block.Config, *block.Env) (block.Block, error) { return sk, nil }},
	)
	return r
}

func testDoc() *dataflow.Document {
	return &dataflow.Document{Name: "t", Blocks: []dataflow.Block{
		{Type: "mem_read", Name: "read", Relations: []dataflow.Relation{{To: "conv"}}},
		{Type: "lines", Name: "conv", Relations: []dataflow.Relation{{To: "post"}}},
		{Type: "sink", Name: "post"},
	}}
}

func genFile(n int, every int) string {
	var b strings.Builder
	b.WriteString("id,v\n")
	for i := 1; i <= n; i++ {
		switch {
		case every > 0 && i%every == 0:
			fmt.Fprintf(&b, "%d,bad\n", i)
		case every > 0 && i%every == 1:
			fmt.Fprintf(&b, "%d,x\n", i)
		default:
			fmt.Fprintf(&b, "%d,ok\n", i)
		}
	}
	return b.String()
}

func TestRunAccountsForEveryRecordAndWritesResult(t *testing.T) {
	src := &memSource{files: map[string]string{"a.csv": genFile(1000, 10), "b.csv": genFile(5, 0)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	sk := &sink{delivered: map[string]int{}}
	f, err := Compile(testDoc(), Options{Registry: testRegistry(src, sk, 7)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("want 2 lineages, got %d", len(res))
	}
	for _, r := range res {
		if !r.Balanced() {
			t.Fatalf("%s: unbalanced counts %+v", r.Item.Name, r.Counts)
		}
		switch r.Item.Name {
		case "a.csv":
			if r.Counts.In != 1000 || r.Counts.Failed != 200 || r.Counts.Delivered != 800 || r.Status != StatusPartial {
				t.Fatalf("a.csv: %+v %s", r.Counts, r.Status)
			}
			var n int64
			for _, e := range r.Errors {
				if e.Block == "" || e.Message == "" {
					t.Fatalf("error summary entry without block or message: %+v", e)
				}
				n += e.Count
			}
			if n != r.Counts.Failed {
				t.Fatalf("error summary counts %d failures of %d: %+v", n, r.Counts.Failed, r.Errors)
			}
		case "b.csv":
			if r.Counts.In != 5 || r.Counts.Delivered != 5 || r.Status != StatusSuccess {
				t.Fatalf("b.csv: %+v %s", r.Counts, r.Status)
			}
		}
	}
	result := src.results["a.csv"]
	rows := strings.Split(strings.TrimSuffix(result, "\n"), "\n")
	if rows[0] != "id,v,status_code,error_message,entity_id,line_number,lineage_id" {
		t.Fatalf("header: %s", rows[0])
	}
	if len(rows) != 1001 {
		t.Fatalf("result rows: %d", len(rows)-1)
	}
	// Rows are in source-line order even though failures were decided first.
	for i, row := range rows[1:] {
		cols := strings.Split(row, ",")
		if cols[5] != fmt.Sprint(i+2) {
			t.Fatalf("row %d has line %s: %s", i, cols[5], row)
		}
		switch cols[1] {
		case "bad":
			if cols[2] != "" || !strings.Contains(cols[3], "bad row") {
				t.Fatalf("bad row: %s", row)
			}
		case "x":
			if cols[2] != "400" || cols[3] != "rejected x" {
				t.Fatalf("x row: %s", row)
			}
		default:
			if cols[2] != "200" || cols[4] != "id-"+cols[0] {
				t.Fatalf("ok row: %s", row)
			}
		}
	}
	st := f.Stats()
	if st[1].RecordsOut != 905 || st[1].RecordsFailed != 100 || st[2].RecordsIn != 905 || st[2].RecordsFailed != 100 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestFailureEdgeAndConditionRouting(t *testing.T) {
	src := &memSource{files: map[string]string{"a.csv": genFile(20, 10)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	sk := &sink{delivered: map[string]int{}}
	sk2 := &sink{delivered: map[string]int{}}
	reg := testRegistry(src, sk, 3)
	reg.MustRegister(&block.Spec{Type: "sink2", Label: "sink2", Class: block.ClassExecutor, Input: block.KindRecords, Output: block.KindRecords,
		New: func(*block.Config, *block.Env) (block.Block, error) { return sk2, nil }})
	doc := testDoc()
	// Failed parse rows go to sink2 (which delivers them: "bad" is not "x").
	doc.Blocks[1].Relations = append(doc.Blocks[1].Relations, dataflow.Relation{To: "retry", On: "failure"})
	doc.Blocks = append(doc.Blocks, dataflow.Block{Type: "sink2", Name: "retry"})
	f, err := Compile(doc, Options{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c := res[0].Counts; c.In != 20 || c.Delivered != 18 || c.Failed != 2 {
		t.Fatalf("counts %+v", c)
	}
	if sk2.delivered["10"] != 1 || sk2.delivered["20"] != 1 {
		t.Fatalf("failure edge did not receive bad rows: %v", sk2.delivered)
	}

	// A condition edge on unit attributes.
	src2 := &memSource{files: map[string]string{"c.csv": genFile(4, 0)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	sk3 := &sink{delivered: map[string]int{}}
	reg2 := testRegistry(src2, sk3, 2)
	doc2 := testDoc()
	doc2.Blocks[1].Relations = []dataflow.Relation{{To: "post", On: "${filename:equals('c.csv')}"}}
	f2, err := Compile(doc2, Options{Registry: reg2, CompileExpr: func(string) (block.Expr, error) { return attrExpr{"filename", "c.csv"}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f2.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(sk3.delivered) != 4 {
		t.Fatalf("condition edge: %v", sk3.delivered)
	}
}

func TestStopThenResumeDoesNotResendAcknowledged(t *testing.T) {
	dir := t.TempDir()
	cps, err := NewFileCheckpointer(dir + "/cp")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"big.csv": genFile(2000, 0)}
	src := &memSource{files: files, finished: map[string]*block.Completion{}, results: map[string]string{}}
	sk := &sink{delivered: map[string]int{}, delay: time.Millisecond}
	opts := Options{Registry: testRegistry(src, sk, 10), Checkpointer: cps, WorkDir: dir + "/work", CheckpointInterval: 5 * time.Millisecond}
	f, err := Compile(testDoc(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = f.Poll(context.Background()) }()
	for {
		sk.mu.Lock()
		n := len(sk.delivered)
		sk.mu.Unlock()
		if n >= 500 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	f.Stop()
	if res := f.Close(); len(res) != 0 {
		t.Fatalf("stopped lineage must not complete: %+v", res)
	}
	sk.mu.Lock()
	first := len(sk.delivered)
	sk.mu.Unlock()

	// Second run, new process state, same checkpoint directory.
	sk.delay = 0
	f2, err := Compile(testDoc(), opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f2.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || !res[0].Resumed || res[0].Counts.In != 2000 || res[0].Counts.Delivered != 2000 {
		t.Fatalf("resumed run: %+v", res)
	}
	dups := 0
	for _, c := range sk.delivered {
		if c > 1 {
			dups++
		}
	}
	// Records delivered after the last checkpoint may be sent again
	// (at-least-once); acknowledged ones never are. With a 5ms checkpoint
	// interval and 1ms per batch, that window is a few batches at most.
	if len(sk.delivered) != 2000 || dups > 100 {
		t.Fatalf("delivered %d distinct (first run %d), %d duplicates", len(sk.delivered), first, dups)
	}
	rows := strings.Count(src.results["big.csv"], "\n") - 1
	if rows != 2000 {
		t.Fatalf("result rows after resume: %d", rows)
	}
	// The file is done: a third run picks nothing up.
	f3, _ := Compile(testDoc(), opts)
	res, _ = f3.RunOnce(context.Background())
	if len(res) != 0 {
		t.Fatalf("completed file picked up again")
	}
	_ = os.RemoveAll(dir)
}

// slowPass processes several batches at once with random delays; the engine
// must still hand them on in input order.
type slowPass struct{}

func (slowPass) Concurrency() int { return 4 }

func (slowPass) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	time.Sleep(time.Duration(len(u.Batch.Records[0].Cols[0])%3) * time.Millisecond)
	return out.Emit(ctx, block.RelSuccess, u)
}

type orderSink struct {
	mu   sync.Mutex
	seen []string
}

func (s *orderSink) Process(_ context.Context, u *block.Unit, out block.Output) error {
	s.mu.Lock()
	for _, r := range u.Batch.Records {
		s.seen = append(s.seen, r.Cols[0])
	}
	s.mu.Unlock()
	out.Ack(u, nil)
	out.Ack(u, nil) // acknowledging twice must not count twice
	return out.Emit(context.Background(), block.RelSuccess, u)
}

func TestConcurrentBlockKeepsOrderAndCountsOnce(t *testing.T) {
	src := &memSource{files: map[string]string{"a.csv": genFile(500, 0)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	os := &orderSink{}
	reg := testRegistry(src, &sink{delivered: map[string]int{}}, 3)
	reg.MustRegister(
		&block.Spec{Type: "slow", Label: "slow", Class: block.ClassExecutor, Input: block.KindRecords, Output: block.KindRecords, Concurrency: 4,
			New: func(*block.Config, *block.Env) (block.Block, error) { return slowPass{}, nil }},
		&block.Spec{Type: "order", Label: "order", Class: block.ClassExecutor, Input: block.KindRecords, Output: block.KindRecords,
			New: func(*block.Config, *block.Env) (block.Block, error) { return os, nil }},
	)
	doc := &dataflow.Document{Name: "o", Blocks: []dataflow.Block{
		{Type: "mem_read", Name: "read", Relations: []dataflow.Relation{{To: "conv"}}},
		{Type: "lines", Name: "conv", Relations: []dataflow.Relation{{To: "slow"}}},
		{Type: "slow", Name: "slow", Relations: []dataflow.Relation{{To: "order"}}},
		{Type: "order", Name: "order"},
	}}
	f, err := Compile(doc, Options{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c := res[0].Counts; c.In != 500 || c.Delivered != 500 || !res[0].Balanced() {
		t.Fatalf("counts %+v", c)
	}
	for i, v := range os.seen {
		if v != fmt.Sprint(i+1) {
			t.Fatalf("out of order at %d: %s", i, v)
		}
	}
}

// pairer holds each file until a second one arrives, then emits both files'
// lines in the second file's lineage and releases the first; a file still
// alone when Close-d... is failed by the test through its Held.
type pairer struct {
	mu      sync.Mutex
	waiting *block.Unit
	hold    block.Held
	held    []block.Held
}

func (p *pairer) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	h := out.(block.Holder).Hold(u)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waiting == nil {
		p.waiting, p.hold = u, h
		p.held = append(p.held, h)
		return nil
	}
	var recs []block.Record
	seq := int64(0)
	for _, f := range []*block.Unit{p.waiting, u} {
		rc, _ := f.File.Open(ctx)
		b, _ := io.ReadAll(rc)
		rc.Close()
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
			seq++
			recs = append(recs, block.Record{Seq: seq, Line: seq + 1, Cols: strings.Split(line, ",")})
		}
	}
	nu := u.Derive()
	nu.Batch = &block.Batch{Header: block.NewHeader([]string{"id", "v"}), Records: recs}
	err := h.Emit(ctx, block.RelSuccess, nu)
	h.Release()
	p.hold.Release()
	p.waiting = nil
	return err
}

func TestHeldLineagesPairFilesBeyondMaxLineages(t *testing.T) {
	src := &memSource{files: map[string]string{"a.csv": genFile(3, 0), "b.csv": genFile(4, 0), "c.csv": genFile(2, 0)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	sk := &sink{delivered: map[string]int{}}
	reg := testRegistry(src, sk, 10)
	p := &pairer{}
	reg.MustRegister(&block.Spec{Type: "pair", Label: "pair", Class: block.ClassExecutor, Input: block.KindFile, Output: block.KindRecords,
		New: func(*block.Config, *block.Env) (block.Block, error) { return p, nil }})
	doc := &dataflow.Document{Name: "p", Blocks: []dataflow.Block{
		{Type: "mem_read", Name: "read", Relations: []dataflow.Relation{{To: "pair"}}},
		{Type: "pair", Name: "pair", Relations: []dataflow.Relation{{To: "post"}}},
		{Type: "sink", Name: "post"},
	}}
	// MaxLineages 1: without held lineages giving their slot back, the
	// second file could never be picked up while the first waits.
	f, err := Compile(doc, Options{Registry: reg, MaxLineages: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Two files paired; the third waits: fail it as a missing companion.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		done := len(f.results)
		f.mu.Unlock()
		p.mu.Lock()
		waiting := p.waiting != nil
		p.mu.Unlock()
		if done == 2 && waiting {
			break
		}
		time.Sleep(time.Millisecond)
	}
	p.mu.Lock()
	if p.waiting == nil {
		p.mu.Unlock()
		t.Fatal("third file not waiting")
	}
	p.hold.Fail(fmt.Errorf("missing companion"))
	p.waiting = nil
	p.mu.Unlock()
	if err := f.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	res := f.Close()
	if len(res) != 3 {
		t.Fatalf("want 3 lineages done, got %d", len(res))
	}
	var delivered int64
	failed := 0
	for _, r := range res {
		delivered += r.Counts.Delivered
		if r.Status == StatusFailure && strings.Contains(r.Error, "missing companion") {
			failed++
		}
		if !r.Balanced() {
			t.Fatalf("unbalanced %+v", r)
		}
	}
	if failed != 1 || len(sk.delivered) == 0 || delivered == 0 {
		t.Fatalf("failed %d delivered %d: %+v", failed, delivered, res)
	}
}

// TestResumeKeepsHeldResultRows stops a run whose result rows are waiting
// for earlier records (parse failures finish before the rows in flight) and
// resumes it: the result file has every row exactly once, in line order.
func TestResumeKeepsHeldResultRows(t *testing.T) {
	dir := t.TempDir()
	cps, err := NewFileCheckpointer(dir + "/cp")
	if err != nil {
		t.Fatal(err)
	}
	src := &memSource{files: map[string]string{"mix.csv": genFile(3000, 10)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	sk := &sink{delivered: map[string]int{}, delay: time.Millisecond}
	opts := Options{Registry: testRegistry(src, sk, 10), Checkpointer: cps, WorkDir: dir + "/work", CheckpointInterval: 3 * time.Millisecond}
	f, _ := Compile(testDoc(), opts)
	_ = f.Start(context.Background())
	go func() { _, _ = f.Poll(context.Background()) }()
	for {
		sk.mu.Lock()
		n := len(sk.delivered)
		sk.mu.Unlock()
		if n >= 800 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	f.Stop()
	f.Close()
	sk.delay = 0
	f2, _ := Compile(testDoc(), opts)
	res, err := f2.RunOnce(context.Background())
	if err != nil || len(res) != 1 || !res[0].Balanced() || res[0].Counts.In != 3000 {
		t.Fatalf("resumed: %+v %v", res, err)
	}
	rows := strings.Split(strings.TrimSuffix(src.results["mix.csv"], "\n"), "\n")[1:]
	if len(rows) != 3000 {
		t.Fatalf("result rows %d", len(rows))
	}
	for i, row := range rows {
		cols := strings.Split(row, ",")
		if cols[5] != fmt.Sprint(i+2) {
			t.Fatalf("row %d has line %s", i, cols[5])
		}
	}
}

// preparing is a concurrent block that records the units the engine
// prepared it for (preparer) and checks each reaches Process after its
// Prepare, as http_write's write-ahead log relies on.
type preparing struct {
	slowPass
	mu       sync.Mutex
	prepared map[*block.Unit]bool
	early    int
}

func (p *preparing) Prepare(u *block.Unit) {
	p.mu.Lock()
	p.prepared[u] = true
	p.mu.Unlock()
}

func (p *preparing) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	p.mu.Lock()
	if !p.prepared[u] {
		p.early++
	}
	delete(p.prepared, u)
	p.mu.Unlock()
	return p.slowPass.Process(ctx, u, out)
}

func TestPrepareBeforeProcess(t *testing.T) {
	src := &memSource{files: map[string]string{"a.csv": genFile(300, 0)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	os := &orderSink{}
	p := &preparing{prepared: map[*block.Unit]bool{}}
	reg := testRegistry(src, &sink{delivered: map[string]int{}}, 3)
	reg.MustRegister(
		&block.Spec{Type: "prep", Label: "prep", Class: block.ClassExecutor, Input: block.KindRecords, Output: block.KindRecords, Concurrency: 4,
			New: func(*block.Config, *block.Env) (block.Block, error) { return p, nil }},
		&block.Spec{Type: "order", Label: "order", Class: block.ClassExecutor, Input: block.KindRecords, Output: block.KindRecords,
			New: func(*block.Config, *block.Env) (block.Block, error) { return os, nil }},
	)
	doc := &dataflow.Document{Name: "p", Blocks: []dataflow.Block{
		{Type: "mem_read", Name: "read", Relations: []dataflow.Relation{{To: "conv"}}},
		{Type: "lines", Name: "conv", Relations: []dataflow.Relation{{To: "prep"}}},
		{Type: "prep", Name: "prep", Relations: []dataflow.Relation{{To: "order"}}},
		{Type: "order", Name: "order"},
	}}
	f, err := Compile(doc, Options{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c := res[0].Counts; c.In != 300 || c.Delivered != 300 || !res[0].Balanced() {
		t.Fatalf("counts %+v", c)
	}
	if p.early != 0 || len(p.prepared) != 0 || len(os.seen) != 300 {
		t.Fatalf("%d units processed unprepared, %d prepared and never processed, %d records out", p.early, len(p.prepared), len(os.seen))
	}
}
