package all_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/blocks/all"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/sandbox"
)

// bodyLog keeps the body of every API request, in arrival order.
type bodyLog struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (l *bodyLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if strings.HasPrefix(r.URL.Path, "/v2/") {
			l.mu.Lock()
			l.bodies = append(l.bodies, b)
			l.mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		h.ServeHTTP(w, r)
	})
}

// noTap is a preview tap that looks at nothing: with a tap the engine keeps
// every value a tree (the preview shows them), which is the reference here.
type noTap struct{}

func (noTap) UnitIn(string, *block.Unit)            {}
func (noTap) UnitOut(string, string, *block.Unit)   {}
func (noTap) UnitFailed(string, *block.Unit, error) {}

// randomTransactions is a transaction file with awkward values: blank and
// non-numeric amounts (the query fails those records), quotes, commas,
// newlines, non-ASCII and invalid UTF-8, mixed statuses.
func randomTransactions(r *rand.Rand, n int) string {
	cells := []string{"", "x", "12", "12.50", "-0.5", "1e3", "007", "a \"quoted\" word", "comma, inside", "line\nbreak",
		"héllo", "\xff", "\u2028", "tab\t", "  padded  "}
	amounts := []string{"100", "12.50", "0", "-3", "1E2", "0.1", "99999999999999999999", "100"}
	statuses := []string{"paid", "refunded", "unpaid", "paid", "paid", ""}
	q := func(s string) string {
		if strings.ContainsAny(s, "\",\n\r") {
			return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
		}
		return s
	}
	var b strings.Builder
	b.WriteString("bill_number,bill_date,bill_amount,discount,gross_amount,mobile,payment_mode,store_code,status\n")
	for i := range n {
		amount := amounts[r.IntN(len(amounts))]
		if r.IntN(40) == 0 {
			amount = cells[r.IntN(3)] // "", "x", "12": some fail number()
		}
		row := []string{fmt.Sprintf("B%d", i), cells[r.IntN(len(cells))], amount, amounts[r.IntN(len(amounts))],
			amounts[r.IntN(len(amounts))], "9198" + fmt.Sprint(r.IntN(1e8)), cells[r.IntN(len(cells))], cells[r.IntN(len(cells))],
			statuses[r.IntN(len(statuses))]}
		for j := range row {
			row[j] = q(row[j])
		}
		b.WriteString(strings.Join(row, ",") + "\n")
	}
	return b.String()
}

// runTransactions runs the flagship chain over csv and returns the API
// request bodies (sorted: two requests may be in flight at once) and the
// result file.
func runTransactions(t *testing.T, csv, query string, separate, tap bool) ([][]byte, string) {
	t.Helper()
	s := sandbox.New(sandbox.Config{})
	var log bodyLog
	ts := httptest.NewServer(log.wrap(s))
	defer ts.Close()
	key, secret := s.Credentials()
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.MkdirAll(in, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "tx.csv"), []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	indent := func(s string) string { return strings.ReplaceAll(s, "\n", "\n        ") }
	doc := fmt.Sprintf(`name: encoded
blocks:
  - type: file_read
    name: read
    config: {sourceDirectory: %q, fileRegex: '.*\.csv', processedDirectory: %q, apiErrorFilePath: %q, stabilityWait: "0s"}
    relations: [convert]
  - type: convert_csv_to_json
    name: convert
    config: {groupSize: 25, header_value: status}
    relations: [transform]
  - type: jslt_transform
    name: transform
    config:
      sendEachRecordSeparately: "%v"
      transformation: |
        %s
    relations: [paid]
  - type: filter_on_condition
    name: paid
    config:
      filterCondition: "${header_value:equals('paid'):or(${header_value:equals('refunded')})}"
    relations: [post]
  - type: http_write
    name: post
    config:
      clientKey: %q
      clientSecret: {$config: secret}
      apiBaseUrl: %q
      oAuthBaseUrl: %q
      apiEndPoint: /v2/transactions/bulk
      bulkSupport: "true"
      parseResponse: "true"
      responseSplitPath: "$.response[*]"
      parsePathMap: '{"status_code": "$.errors[0].code", "error_message": "$.errors[0].message", "entity_id": "$.entityId"}'
`, in, filepath.Join(dir, "done"), filepath.Join(dir, "errors"), separate, indent(query), key, ts.URL, ts.URL)
	d, err := dataflow.Parse([]byte(doc), "encoded.yaml")
	if err != nil {
		t.Fatal(err)
	}
	reg := all.Registry()
	if vp := dataflow.Validate(d, reg); len(vp) > 0 {
		t.Fatalf("validate: %v", vp)
	}
	opts := engine.Options{Registry: reg, Resolver: secrets{"secret": secret}, ResultDir: filepath.Join(dir, "results"),
		Compiler: exprs.NewStep(exprs.Options{}), CompileExpr: exprs.Compiler(nil, nil)}
	if tap {
		opts.Tap = noTap{}
	}
	f, err := engine.Compile(d, opts)
	if err != nil {
		t.Fatal(err)
	}
	if enc := f.EncodingBlocks(); tap != (len(enc) == 0) || !tap && enc[0] != "transform" {
		t.Fatalf("blocks encoding values: %v (with a tap: %v)", enc, tap)
	}
	// Without a tap every block's buffers are reused (block.Recycler):
	// the comparison with a tapped run covers reuse too.
	if rec := f.RecyclingBlocks(); tap != (len(rec) == 0) || !tap && !slices.Equal(rec, []string{"convert", "transform", "paid", "post"}) {
		t.Fatalf("blocks recycling buffers: %v (with a tap: %v)", rec, tap)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := f.RunOnce(ctx)
	if err != nil || len(res) != 1 {
		t.Fatalf("run: %v %+v", err, res)
	}
	result, err := os.ReadFile(res[0].ResultPath)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(log.bodies, bytes.Compare)
	return log.bodies, stableResult(t, result)
}

// stableResult is a result file without what differs from run to run: the
// sandbox's entity ids (given in arrival order) and the lineage id.
func stableResult(t *testing.T, result []byte) string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(result)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	drop := map[int]bool{}
	for i, h := range rows[0] {
		if h == "entity_id" || h == "lineage_id" {
			drop[i] = true
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, c := range row {
			if !drop[i] {
				fmt.Fprintf(&b, "%q,", c)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestEncodedValuesMatchTrees: jslt_transform writing rows straight to JSON
// (its output only feeds a filter and an API destination) sends the same
// bytes and writes the same result file as the general evaluator does,
// record failures included, per batch and per record.
func TestEncodedValuesMatchTrees(t *testing.T) {
	bulk := `[ for (.) {
    "billNumber": .bill_number,
    "billDate": .bill_date,
    "type": "REGULAR",
    "billAmount": number(.bill_amount),
    "discount": number(.discount, 0),
    "grossAmount": number(.gross_amount),
    "identifierType": "mobile",
    "identifierValue": .mobile,
    "source": "INSTORE",
    "extendedFields": { "payment_mode": .payment_mode, "missing": .nothing },
    "storeCode": .store_code,
    "note": .payment_mode + "/" + .store_code,
    "empty": {}
} ]`
	single := strings.TrimSuffix(strings.TrimPrefix(bulk, "[ for (.) "), " ]")
	r := rand.New(rand.NewPCG(22, 5))
	input := randomTransactions(r, 600)
	// Enough rows for several field slabs, chunks and many record arrays
	// and JSLT buffers to be reused (block.Recycler) in the untapped run.
	long := randomTransactions(r, 3000)
	for _, tc := range []struct {
		name     string
		query    string
		separate bool
		input    string
	}{{"bulk", bulk, false, input}, {"per record", single, true, input}, {"bulk, long", bulk, false, long}} {
		t.Run(tc.name, func(t *testing.T) {
			input := tc.input
			wantBodies, wantResult := runTransactions(t, input, tc.query, tc.separate, true)
			gotBodies, gotResult := runTransactions(t, input, tc.query, tc.separate, false)
			if len(wantBodies) == 0 || !strings.Contains(wantResult, "not a number") {
				t.Fatalf("the run posts nothing or fails no record: %d bodies\n%s", len(wantBodies), wantResult)
			}
			if len(gotBodies) != len(wantBodies) {
				t.Fatalf("%d requests, want %d", len(gotBodies), len(wantBodies))
			}
			for i := range wantBodies {
				if !bytes.Equal(gotBodies[i], wantBodies[i]) {
					t.Fatalf("request %d differs:\n got  %s\n want %s", i, gotBodies[i], wantBodies[i])
				}
			}
			if gotResult != wantResult {
				t.Fatalf("result files differ:\n got  %s\n want %s", gotResult, wantResult)
			}
		})
	}
}

// TestRecordsFileKeepsInputOrder: file_write appends batches in input
// order, so the JSON Lines file lists the rows as the CSV does.
func TestRecordsFileKeepsInputOrder(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	if err := os.MkdirAll(in, 0o700); err != nil {
		t.Fatal(err)
	}
	var csvText strings.Builder
	csvText.WriteString("id,name\n")
	for i := range 5000 {
		fmt.Fprintf(&csvText, "%d,name %d\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(in, "rows.csv"), []byte(csvText.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := fmt.Sprintf(`name: order
blocks:
  - {type: file_read, name: read, config: {sourceDirectory: %q, fileRegex: '.*\.csv', processedDirectory: %q, apiErrorFilePath: %q, stabilityWait: "0s"}, relations: [convert]}
  - {type: convert_csv_to_json, name: convert, config: {groupSize: 7}, relations: [write]}
  - {type: file_write, name: write, config: {remotePath: %q, createRemoteDirectory: "true", conflictResolution: REPLACE, outputFileName: '${filename}.jsonl'}}
`, in, filepath.Join(dir, "done"), filepath.Join(dir, "errors"), out)
	d, err := dataflow.Parse([]byte(doc), "order.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := engine.Compile(d, engine.Options{Registry: all.Registry(), Compiler: exprs.NewStep(exprs.Options{}), CompileExpr: exprs.Compiler(nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if res, err := f.RunOnce(ctx); err != nil || len(res) != 1 || res[0].Counts.Delivered != 5000 {
		t.Fatalf("run: %v %+v", err, res)
	}
	data, err := os.ReadFile(filepath.Join(out, "rows.csv.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 5000 {
		t.Fatalf("%d lines", len(lines))
	}
	for i, l := range lines {
		if want := fmt.Sprintf(`{"id":"%d","name":"name %d"}`, i, i); l != want {
			t.Fatalf("line %d: %s, want %s", i+1, l, want)
		}
	}
}
