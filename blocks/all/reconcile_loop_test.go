package all_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/blocks/all"
	"github.com/connectplus/connectplus/blocks/reconcile"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/sandbox"
)

// ingestDoc posts transactions from dir; with reingest it reads a
// reconciliation results directory and sends only the rows marked missing,
// exactly as spec §8.4 says: filter header CAP_API_STATUS, condition
// ${header_value:equals(0)}.
func ingestDoc(dir, done, errs, base, key string, reingest bool) string {
	csv := "      groupSize: 50\n"
	filter := ""
	next := "transform"
	if reingest {
		csv += "      header_value: CAP_API_STATUS\n"
		next = "missing_only"
		filter = `  - type: filter_on_condition
    name: missing_only
    config:
      filterCondition: "${header_value:equals(0)}"
    relations: [transform]
`
	}
	return fmt.Sprintf(`name: ingest
blocks:
  - type: file_read
    name: read
    config: {sourceDirectory: %q, processedDirectory: %q, apiErrorFilePath: %q, fileRegex: '.*\.csv', stabilityWait: 0s}
    relations: [convert]
  - type: convert_csv_to_json
    name: convert
    config:
%s    relations: [%s]
%s  - type: jslt_transform
    name: transform
    config:
      sendEachRecordSeparately: "false"
      transformation: |
        [ for (.) {"billNumber": .bill_no, "billingDate": .bill_date + "T10:00:00Z", "type": "REGULAR",
                   "billAmount": number(.amount), "identifierType": "mobile", "identifierValue": .mobile, "source": "INSTORE"} ]
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
`, dir, done, errs, csv, next, filter, key, base, base)
}

func reconcileDoc(dir, done, errs, results, reports, base, key string) string {
	return fmt.Sprintf(`name: reconcile
blocks:
  - type: file_read
    name: read
    config: {sourceDirectory: %q, processedDirectory: %q, apiErrorFilePath: %q, fileRegex: '.*\.csv', stabilityWait: 0s}
    relations: [map_fields]
  - type: diff_tool
    name: map_fields
    config:
      fileTemplate: '{"regular_transaction_line_items": {"bill_number": "bill_no", "bill_date": "bill_date", "customer_identifier": "mobile", "bill_amount": "amount"}}'
      diffPath: %q
      existingDateFormat: yyyy-MM-dd
      minimumYear: "2024"
      apiBaseUrl: %q
      clientKey: %q
      clientSecret: {$config: secret}
      lookupMode: sandbox
      batchSize: 64
    relations: [write_results, {to: write_report, on: report}]
  - type: file_write
    name: write_results
    config: {remotePath: %q, createRemoteDirectory: "true", conflictResolution: REPLACE}
  - type: file_write
    name: write_report
    config: {remotePath: %q, createRemoteDirectory: "true", conflictResolution: REPLACE}
`, dir, done, errs, results, base, key, results, reports)
}

func runDoc(t *testing.T, src string, secret string) []engine.LineageResult {
	t.Helper()
	reg := all.Registry()
	doc, err := dataflow.Parse([]byte(src), "flow.yaml")
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, src)
	}
	if vp := dataflow.Validate(doc, reg); len(vp) > 0 {
		t.Fatalf("validate: %v", vp)
	}
	f, err := engine.Compile(doc, engine.Options{Registry: reg, Resolver: secrets{"secret": secret}, WorkDir: t.TempDir(),
		Compiler: exprs.NewStep(exprs.Options{}), CompileExpr: exprs.Compiler(nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := f.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Error != "" {
			t.Fatalf("run %s: %s", r.Item.Name, r.Error)
		}
	}
	return res
}

func readReport(t *testing.T, dir string) reconcile.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "reconciliation_bills.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r reconcile.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReconciliationLoop is spec §8 end to end: an ingestion whose
// destination loses some records (the sandbox drops every 7th on purpose),
// a reconciliation that finds exactly those, the re-ingestion dataflow of
// §8.4 reading the results directory, and a second reconciliation that
// finds nothing missing.
func TestReconciliationLoop(t *testing.T) {
	s, ts := sandbox.NewTestServer(sandbox.Config{})
	defer ts.Close()
	key, secret := s.Credentials()
	root := t.TempDir()
	dir := func(n string) string {
		p := filepath.Join(root, n)
		os.MkdirAll(p, 0o700)
		return p
	}
	const rows = 200
	var b strings.Builder
	b.WriteString("bill_no,bill_date,mobile,amount\n")
	for i := 1; i <= rows; i++ {
		fmt.Fprintf(&b, "BILL-%04d,2025-01-%02d,9198%08d,%d.50\n", i, 1+i%28, i, 100+i)
	}
	source := b.String()
	os.WriteFile(filepath.Join(dir("in"), "bills.csv"), []byte(source), 0o600)

	// 1. Faulty ingestion: every record accepted, then some lost.
	res := runDoc(t, ingestDoc(dir("in"), dir("in_done"), dir("in_err"), ts.URL, key, false), secret)
	if c := res[0].Counts; c.Delivered != rows {
		t.Fatalf("ingestion counts %+v", c)
	}
	billOf := map[int64]string{}
	for _, e := range s.Entities(sandbox.KindTransaction) {
		billOf[e.ID] = e.Attributes["billNumber"]
	}
	lostIDs, apiErr := s.Lose(sandbox.LoseRequest{Kind: sandbox.KindTransaction, Every: 7, Offset: 3})
	if apiErr != nil {
		t.Fatal(apiErr)
	}
	lost := map[string]bool{}
	for _, id := range lostIDs {
		lost[billOf[id]] = true
	}
	if len(lost) != 29 { // every 7th of 200 from the 4th
		t.Fatalf("lost %d bills, want 29", len(lost))
	}

	// 2. Reconcile: exactly the lost bills are 0.
	os.WriteFile(filepath.Join(dir("recon_in"), "bills.csv"), []byte(source), 0o600)
	runDoc(t, reconcileDoc(dir("recon_in"), dir("recon_done"), dir("recon_err"), dir("results"), dir("reports"), ts.URL, key), secret)
	out, err := os.ReadFile(filepath.Join(root, "results", "bills.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if lines[0] != "bill_no,bill_date,mobile,amount,CAP_API_STATUS" || len(lines) != rows+1 {
		t.Fatalf("results file: header %q, %d lines", lines[0], len(lines))
	}
	for _, l := range lines[1:] {
		bill := l[:strings.IndexByte(l, ',')]
		want := "1"
		if lost[bill] {
			want = "0"
		}
		if !strings.HasSuffix(l, ","+want) {
			t.Fatalf("%s: want CAP_API_STATUS %s", l, want)
		}
	}
	rep := readReport(t, filepath.Join(root, "reports"))
	if rep.Source != reconcile.SourceSandbox || rep.Totals.Expected != rows || rep.Totals.Missing != int64(len(lost)) ||
		rep.Totals.Present != rows-int64(len(lost)) || rep.Totals.Mismatched != 0 || rep.Totals.Duplicates != 0 {
		t.Fatalf("first report: source %s totals %+v", rep.Source, rep.Totals)
	}
	for _, d := range rep.Differences {
		if d.Kind != "missing" || !lost[d.Key["bill_number"]] {
			t.Fatalf("difference %+v", d)
		}
	}

	// 3. Re-ingest from the results directory: only the missing rows go.
	before := s.Stats()
	res = runDoc(t, ingestDoc(dir("results"), dir("re_done"), dir("re_err"), ts.URL, key, true), secret)
	if c := res[0].Counts; c.Delivered != int64(len(lost)) || c.Filtered != rows-int64(len(lost)) || c.Failed != 0 {
		t.Fatalf("re-ingestion counts %+v", c)
	}
	after := s.Stats()
	if sent := after.ReceivedEntities - before.ReceivedEntities; sent != int64(len(lost)) || after.Duplicates != 0 {
		t.Fatalf("re-ingestion sent %d records (want %d), %d duplicates", sent, len(lost), after.Duplicates)
	}

	// 4. Reconcile again: nothing missing.
	os.WriteFile(filepath.Join(root, "recon_in", "bills.csv"), []byte(source), 0o600)
	runDoc(t, reconcileDoc(dir("recon_in"), dir("recon_done2"), dir("recon_err"), dir("results2"), dir("reports2"), ts.URL, key), secret)
	rep = readReport(t, filepath.Join(root, "reports2"))
	if rep.Totals.Missing != 0 || rep.Totals.Present != rows || len(rep.Differences) != 0 {
		t.Fatalf("second report: totals %+v, differences %d", rep.Totals, len(rep.Differences))
	}
}
