package httpwrite

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/sandbox"
)

// memSource serves in-memory CSV files and keeps their result files.
type memSource struct {
	mu      sync.Mutex
	files   map[string]string
	done    map[string]bool
	results map[string]string
}

func (s *memSource) List(context.Context) ([]block.Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []block.Item
	for name, body := range s.files {
		if !s.done[name] {
			items = append(items, block.Item{Key: "/in/" + name, Name: name, Size: int64(len(body)), ModTime: time.Unix(1, 0)})
		}
	}
	return items, nil
}

func (s *memSource) Open(_ context.Context, it block.Item) (*block.Unit, error) {
	body := s.files[it.Name]
	f := block.NewFile(it.Name, int64(len(body)), func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(body)), nil
	})
	return &block.Unit{Attrs: block.Attributes{block.AttrFilename: it.Name, AttrAttributionType: "TILL", AttrAttributionCode: "till-1"}, File: f}, nil
}

func (s *memSource) Finish(_ context.Context, it block.Item, c *block.Completion) error {
	rc, err := c.Result()
	if err != nil {
		return err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done[it.Name] = true
	s.results[it.Name] = string(b)
	return nil
}

// rows turns a CSV file into record batches of size n (header once per
// file, each row kept as columns), like convert_csv_to_json.
type rows struct{ n int }

func (p rows) Process(ctx context.Context, u *block.Unit, out block.Output) error {
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
		nu.Attrs[block.AttrRequestID] = "req-" + strconv.FormatInt(cur[0].Seq, 10)
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
		cur = append(cur, block.Record{Seq: seq, Line: line, Cols: strings.Split(sc.Text(), ",")})
		if len(cur) == p.n {
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

func txnCSV(n, badEvery int) (string, int) {
	var b strings.Builder
	b.WriteString("identifierType,identifierValue,source,type,billNumber,billAmount,billingDate\n")
	bad := 0
	for i := 1; i <= n; i++ {
		amount := strconv.Itoa(i%500 + 1)
		if badEvery > 0 && i%badEvery == 0 {
			amount = "-1"
			bad++
		}
		fmt.Fprintf(&b, "mobile,9198%08d,INSTORE,REGULAR,BILL-%d,%s,2025-04-11T11:00:00+05:30\n", i%977, i, amount)
	}
	return b.String(), bad
}

// A whole dataflow (source → rows → http_write bulk) against a sandbox
// injecting 429s and 5xx on 20% of requests: every record ends delivered or
// failed with a reason, nothing is delivered twice, and what the sandbox
// accepted is exactly what the engine counts as delivered.
func TestEngineFaultInjectionRun(t *testing.T) {
	s, ts := sandbox.NewTestServer(sandbox.Config{Faults: sandbox.FaultConfig{Seed: 42, Global: sandbox.FaultRule{
		Rate429: 0.1, RetryAfterSeconds: 1, Rate5xx: 0.1, Codes5xx: []int{502, 503, 504, 521},
	}}})
	defer ts.Close()
	const n, batch = 1000, 25
	body, invalid := txnCSV(n, 97)
	src := &memSource{files: map[string]string{"tx.csv": body}, done: map[string]bool{}, results: map[string]string{}}
	reg := block.NewRegistry()
	Register(reg)
	reg.MustRegister(
		&block.Spec{Type: "mem_read", Label: "mem", Class: block.ClassSource, Input: block.KindNone, Output: block.KindFile,
			New: func(*block.Config, *block.Env) (block.Block, error) { return src, nil }},
		&block.Spec{Type: "rows", Label: "rows", Class: block.ClassExecutor, Input: block.KindFile, Output: block.KindRecords,
			New: func(*block.Config, *block.Env) (block.Block, error) { return rows{n: batch}, nil }},
	)
	key, secret := s.Credentials()
	doc := &dataflow.Document{Name: "faults", Blocks: []dataflow.Block{
		{Type: "mem_read", Name: "read", Relations: []dataflow.Relation{{To: "conv"}}},
		{Type: "rows", Name: "conv", Relations: []dataflow.Relation{{To: "post"}}},
		{Type: "http_write", Name: "post", Config: map[string]any{
			"clientKey": key, "clientSecret": map[string]any{"$config": "capillary.secret"},
			"apiEndPoint": "/v2/transactions/bulk", "apiBaseUrl": ts.URL, "oAuthBaseUrl": ts.URL,
			"responseSplitPath": "$.response[*]",
			"parsePathMap":      `{"status_code":"$.['errors'].*.code","error_message":"$.['errors'].*.message","entity_id":"$.entityId"}`,
			"maxRetries":        "6", "retryBackoff": "10ms", "maxRetryBackoff": "100ms", "rate": "6000",
		}},
	}}
	f, err := engine.Compile(doc, engine.Options{Registry: reg, Resolver: mapResolver{"capillary.secret": secret}, CompileExpr: exprs.Compiler(nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := f.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("%d lineages", len(res))
	}
	c := res[0].Counts
	if !res[0].Balanced() || c.In != n {
		t.Fatalf("unbalanced: %+v", c)
	}
	st := s.Stats()
	t.Logf("counts %+v; sandbox: requests %v faults %v received %d accepted %d duplicates %d", c, st.Requests, st.Faults, st.ReceivedEntities, st.AcceptedEntities, st.Duplicates)
	if st.Faults["429"] == 0 || st.Faults["429"]+st.Faults["502"]+st.Faults["503"]+st.Faults["504"]+st.Faults["521"] < 3 {
		t.Fatalf("the run saw too few faults to mean anything: %v", st.Faults)
	}
	if st.Duplicates != 0 {
		t.Fatalf("duplicate deliveries: %d %v", st.Duplicates, st.DuplicateKeys)
	}
	if st.AcceptedEntities != c.Delivered {
		t.Fatalf("sandbox accepted %d, engine delivered %d", st.AcceptedEntities, c.Delivered)
	}
	// Records the sandbox parsed either were accepted or failed with an
	// entity error; the rest failed with retry exhaustion.
	if st.ReceivedEntities != c.Delivered+int64(invalid) || c.Failed != int64(invalid)+c.RetryExhausted {
		t.Fatalf("received %d, delivered %d, invalid %d, failed %d, exhausted %d", st.ReceivedEntities, c.Delivered, invalid, c.Failed, c.RetryExhausted)
	}
	// The result file: one row per record, failures with code and message.
	r := csv.NewReader(strings.NewReader(src.results["tx.csv"]))
	all, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n+1 {
		t.Fatalf("result rows %d", len(all)-1)
	}
	hdr := all[0]
	col := func(name string) int {
		for i, h := range hdr {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s in %v", name, hdr)
		return -1
	}
	code, msg, id, amount := col("status_code"), col("error_message"), col("entity_id"), col("billAmount")
	failed := 0
	for _, row := range all[1:] {
		switch {
		case row[amount] == "-1":
			failed++
			if row[code] != "631" || row[msg] == "" {
				t.Fatalf("invalid row: %v", row)
			}
		case row[code] == "200":
			if row[id] == "" {
				t.Fatalf("delivered row without entity id: %v", row)
			}
		default:
			failed++
			if row[msg] == "" || row[code] == "" {
				t.Fatalf("failed row without reason: %v", row)
			}
		}
	}
	if int64(failed) != c.Failed {
		t.Fatalf("result file has %d failures, counts %d", failed, c.Failed)
	}
	// The store kept the attribution header: bills are keyed per till.
	if es := s.Entities("transaction"); len(es) == 0 || !strings.Contains(es[0].Key, "till-1") {
		t.Fatalf("attribution header not applied: %+v", es[:min(1, len(es))])
	}
}
