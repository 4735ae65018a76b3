package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/sandbox"
	"github.com/connectplus/connectplus/store"
)

// reconIngestDoc posts transactions read from dir; with reingest it reads
// a reconciliation results directory and sends only the rows marked
// missing, as spec §8.4 says: header CAP_API_STATUS, condition
// ${header_value:equals(0)}.
func (e *env) reconIngestDoc(name, dir string, reingest bool) string {
	csv, next, filter := "", "transform", ""
	if reingest {
		csv, next = "      header_value: CAP_API_STATUS\n", "missing_only"
		filter = `  - type: filter_on_condition
    name: missing_only
    config:
      filterCondition: "${header_value:equals(0)}"
    relations: [transform]
`
	}
	return fmt.Sprintf(`name: %s
trigger: {cron: "0 0 3 * * ?"}
blocks:
  - type: file_read
    name: read
    config: {sourceDirectory: %q, processedDirectory: %q, apiErrorFilePath: %q, fileRegex: '.*\.csv', stabilityWait: 0s}
    relations: [convert]
  - type: convert_csv_to_json
    name: convert
    config:
      groupSize: 50
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
      clientKey: {$config: capillary_client_key}
      clientSecret: {$config: capillary_client_secret}
      apiBaseUrl: %s
      oAuthBaseUrl: %s
      apiEndPoint: /v2/transactions/bulk
      bulkSupport: "true"
      parseResponse: "true"
      responseSplitPath: "$.response[*]"
      parsePathMap: '{"status_code": "$.errors[0].code", "error_message": "$.errors[0].message", "entity_id": "$.entityId"}'
`, name, dir, e.local(name+"_done"), e.local(name+"_errors"), csv, next, filter, e.sbURL, e.sbURL)
}

// reconcileDoc reads source files, reconciles them against the sandbox and
// writes the results (CAP_API_STATUS added) to results, the reports to
// reports.
func (e *env) reconcileDoc(name, in, results, reports string) string {
	return e.reconcileDocWith(name, in, results, reports, "      lookupMode: sandbox\n")
}

// reconcileDocWith is reconcileDoc with the lines that say what to compare
// with.
func (e *env) reconcileDocWith(name, in, results, reports, compare string) string {
	return fmt.Sprintf(`name: %s
trigger: {cron: "0 0 3 * * ?"}
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
      apiBaseUrl: %s
      clientKey: {$config: capillary_client_key}
      clientSecret: {$config: capillary_client_secret}
%s      batchSize: 64
    relations: [write_results, {to: write_report, on: report}]
  - type: file_write
    name: write_results
    config: {remotePath: %q, createRemoteDirectory: "true", conflictResolution: REPLACE}
  - type: file_write
    name: write_report
    config: {remotePath: %q, createRemoteDirectory: "true", conflictResolution: REPLACE}
`, name, in, e.local(name+"_done"), e.local(name+"_errors"), results, e.sbURL, compare, results, reports)
}

// local makes and returns a directory under the server's allowed path.
func (e *env) local(name string) string {
	p := filepath.Join(e.localDir, name)
	if err := os.MkdirAll(p, 0o700); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// createLiveDoc creates a dataflow from a document and makes it Live
// (maker-checker), waiting for the runtime's first poll.
func (e *env) createLiveDoc(name, doc string) flowRef {
	e.t.Helper()
	var cr struct {
		Dataflow store.Dataflow `json:"dataflow"`
	}
	e.admin.do("POST", "/dataflows", map[string]any{"name": name, "document": doc, "tags": []string{"e2e"}}, 201, &cr)
	f := flowRef{ID: cr.Dataflow.ID}
	e.approveAndGoLive(f, 1)
	e.waitFor("first poll of "+name, 20*time.Second, func() (bool, string) {
		st := e.status(f)
		return st.LastPoll != nil && st.LiveVersion == 1, fmt.Sprintf("%+v", st)
	})
	return f
}

// runFile drops a file into a Live dataflow's source directory, polls the
// source now and waits for the file's run to finish successfully.
func (e *env) runFile(f flowRef, dir, name string, data []byte) runstate.Run {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		e.t.Fatal(err)
	}
	e.operate(f, "run-now")
	r := e.waitRuns(f, 60*time.Second, name)[name]
	if r.Status != runstate.RunSuccess {
		e.t.Fatalf("run of %s: %+v", name, r)
	}
	return r
}

// TestReconciliationLoopThroughServer is spec §8 and the "done means" of
// issue 20 run as Live dataflows of the server: a faulty ingestion (the
// sandbox loses every 7th transaction after accepting it), a reconciliation
// against our delivery ledger (the ingestion's kept result file: nothing
// missing there, and the report says the ledger answered), a reconciliation
// whose stored report — read through the API — finds exactly the lost
// records, the re-ingestion dataflow of §8.4 reading the results directory
// and sending exactly those, and a second reconciliation whose stored report
// shows 0 missing. The results file downloaded from the API is the one the
// dataflow wrote.
func TestReconciliationLoopThroughServer(t *testing.T) {
	e := newEnv(t)
	const rows = 200
	var b strings.Builder
	b.WriteString("bill_no,bill_date,mobile,amount\n")
	for i := 1; i <= rows; i++ {
		fmt.Fprintf(&b, "BILL-%04d,2025-01-%02d,9198%08d,%d.50\n", i, 1+i%28, i, 100+i)
	}
	source := []byte(b.String())

	// 1. Faulty ingestion: every record accepted, then some lost.
	ingestIn := e.local("ingest_in")
	ingest := e.createLiveDoc("ingest", e.reconIngestDoc("ingest", ingestIn, false))
	if r := e.runFile(ingest, ingestIn, "bills.csv", source); r.Delivered != rows {
		t.Fatalf("ingestion: %+v", r)
	}
	billOf := map[int64]string{}
	for _, x := range e.sb.Entities(sandbox.KindTransaction) {
		billOf[x.ID] = x.Attributes["billNumber"]
	}
	lostIDs, apiErr := e.sb.Lose(sandbox.LoseRequest{Kind: sandbox.KindTransaction, Every: 7, Offset: 3})
	if apiErr != nil {
		t.Fatal(apiErr)
	}
	var lost []string
	for _, id := range lostIDs {
		lost = append(lost, billOf[id])
	}
	sort.Strings(lost)
	if len(lost) != 29 {
		t.Fatalf("lost %d bills, want 29", len(lost))
	}

	// 1b. Our own delivery ledger — what the ingestion's run recorded as
	// delivered, with entity ids — has every bill: the report says the
	// ledger answered, and only the destination shows what it lost.
	ledgerIn := e.local("ledger_in")
	byLedger := e.createLiveDoc("reconcile-ledger", e.reconcileDocWith("reconcile-ledger", ledgerIn, e.local("ledger_results"), e.local("ledger_reports"),
		"      compareWith: ledger\n      ledgerDataflow: ingest\n"))
	e.runFile(byLedger, ledgerIn, "bills.csv", source)
	if l := e.reconciliations(byLedger, 1)[0]; l.Source != "ledger" || l.Totals.Expected != rows || l.Totals.Present != rows || l.Totals.Missing != 0 || l.LookupRequests != 1 {
		t.Fatalf("ledger reconciliation: %+v", l)
	}

	// 2. Reconcile: the stored report finds exactly the lost bills.
	reconIn, results, reports := e.local("recon_in"), e.local("results"), e.local("reports")
	recon := e.createLiveDoc("reconcile", e.reconcileDoc("reconcile", reconIn, results, reports))
	run1 := e.runFile(recon, reconIn, "bills.csv", source)
	first := e.reconciliations(recon, 1)[0]
	if first.RunID != run1.ID || first.Source != "sandbox" || first.Totals.Expected != rows || first.Totals.Missing != 29 ||
		first.Totals.Present != rows-29 || first.Totals.Mismatched != 0 || first.Totals.Duplicates != 0 || first.Records != 29 || first.Block != "map_fields" {
		t.Fatalf("first reconciliation: %+v", first)
	}
	var got []string
	for cursor := "0"; cursor != ""; {
		var page struct {
			Items []runstate.ReconRecord `json:"items"`
			Next  string                 `json:"next"`
		}
		e.admin.do("GET", "/reconciliations/"+first.ID+"/records?kind=missing&limit=10&cursor="+cursor, nil, 200, &page)
		for _, r := range page.Items {
			got = append(got, r.Key["bill_number"])
		}
		cursor = page.Next
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(lost, ",") {
		t.Fatalf("missing records %v, want the lost bills %v", got, lost)
	}
	dl := e.admin.do("GET", "/reconciliations/"+first.ID+"/results", nil, 200, nil)
	written, err := os.ReadFile(filepath.Join(results, "bills.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if string(dl) != string(written) || strings.Count(string(dl), ",0\n") != 29 {
		t.Fatalf("downloaded results differ from the written ones or lack the 29 zeros:\n%s", dl)
	}

	// 3. Re-ingest from the results directory: only the missing rows go.
	before := e.stats()
	reingest := e.createLiveDoc("reingest", e.reconIngestDoc("reingest", results, true))
	if r := e.waitRuns(reingest, 60*time.Second, "bills.csv")["bills.csv"]; r.Status != runstate.RunSuccess || r.Delivered != 29 || r.Filtered != rows-29 || r.Failed != 0 {
		t.Fatalf("re-ingestion: %+v", r)
	}
	after := e.stats()
	if sent := after.ReceivedEntities - before.ReceivedEntities; sent != 29 || after.Duplicates != 0 {
		t.Fatalf("re-ingestion sent %d records (want 29), %d duplicates", sent, after.Duplicates)
	}

	// 4. Reconcile again: the second stored report shows 0 missing.
	run2 := e.runFile(recon, reconIn, "bills-again.csv", source)
	list := e.reconciliations(recon, 2)
	second := list[0]
	if second.RunID != run2.ID || second.Totals.Missing != 0 || second.Totals.Present != rows || second.Records != 0 || list[1].ID != first.ID || list[1].Totals.Missing != 29 {
		t.Fatalf("reconciliations: second %+v, then %+v", second, list[1])
	}
	t.Logf("first reconciliation: %d missing of %d; after re-ingestion: %d missing", first.Totals.Missing, first.Totals.Expected, second.Totals.Missing)
}

// reconciliations lists a dataflow's stored reconciliations (newest first)
// once there are n of them.
func (e *env) reconciliations(f flowRef, n int) []runstate.Reconciliation {
	e.t.Helper()
	var p struct {
		Items []runstate.Reconciliation `json:"items"`
	}
	e.waitFor(fmt.Sprintf("%d stored reconciliations", n), 20*time.Second, func() (bool, string) {
		e.admin.do("GET", "/dataflows/"+f.ID+"/reconciliations", nil, 200, &p)
		return len(p.Items) == n, fmt.Sprintf("%+v", p.Items)
	})
	return p.Items
}
