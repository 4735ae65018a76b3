package e2e

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/runstate"
)

// TestLifecycleScheduleRunNowResults: a dataflow made and approved by two
// different admins through the API picks files up from a real SFTP server on
// its schedule and on run-now, delivers them to the sandbox, writes result
// files to the SFTP error folder, moves the inputs to processed, and reports
// runs, result downloads and the accuracy summary.
func TestLifecycleScheduleRunNowResults(t *testing.T) {
	e := newEnv(t)

	// The schedule: the runtime has no option for a sub-5-minute test
	// schedule, so the cron fires once a day at a second computed to fall
	// shortly after go-live (a daily cron passes the 5-minute minimum).
	var org struct {
		TimeZone string `json:"timeZone"`
	}
	e.admin.do("GET", "/org", nil, 200, &org)
	loc, err := time.LoadLocation(org.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	tick := time.Now().In(loc).Add(10 * time.Second).Truncate(time.Second)
	cron := fmt.Sprintf("%d %d %d * * ?", tick.Second(), tick.Minute(), tick.Hour())

	// A schedule under the minimum is refused at submit.
	var bad struct {
		Dataflow struct{ ID string } `json:"dataflow"`
	}
	e.admin.do("POST", "/dataflows", map[string]any{"name": "too-often", "document": e.document(flowSpec{name: "too-often", cron: "0 0/1 * * * ?", tag: "x"})}, 201, &bad)
	var ae apiError
	e.admin.do("POST", "/dataflows/"+bad.Dataflow.ID+"/versions/1/submit", nil, 400, &ae)
	if ae.Error.Code != "validation_failed" || !strings.Contains(fmt.Sprintf("%+v", ae), "minimum interval") {
		t.Fatalf("submit of a 1-minute schedule: %+v", ae)
	}

	f := e.createLiveFlow(flowSpec{name: "customers-sftp", cron: cron, tag: "v1"})
	st := e.status(f)
	if st.Status != runstate.StatusActive || st.NextRun == nil || !st.NextRun.Equal(tick) {
		t.Fatalf("status after go-live: %+v, want next run %s", st, tick)
	}
	if time.Now().After(tick.Add(-time.Second)) {
		t.Fatalf("setup took too long: the tick at %s is (nearly) past", tick)
	}

	// 1. The scheduled tick picks up a file nobody asked to run. The
	// go-live poll saw an empty folder; give it a moment to finish listing
	// so the file cannot be picked up by it.
	time.Sleep(300 * time.Millisecond)
	e.dropFile("tick.csv", customersCSV("tick", 5))
	rs := e.waitRuns(f, time.Until(tick)+15*time.Second, "tick.csv")
	r := rs["tick.csv"]
	if r.Started.Before(tick) || r.Status != runstate.RunSuccess || r.RecordsIn != 5 || r.Delivered != 5 {
		t.Fatalf("scheduled run: %+v (tick at %s)", r, tick)
	}
	t.Logf("scheduled tick at %s picked tick.csv up at %s", tick.Format(time.TimeOnly), r.Started.In(loc).Format("15:04:05.000"))
	if st := e.status(f); st.NextRun == nil || !st.NextRun.After(tick.Add(23*time.Hour)) {
		t.Fatalf("next run after the tick: %+v", st)
	}

	// 2. Run now: two files, one with two rows the API rejects.
	e.dropFile("a.csv", customersCSV("a", 20, 4, 17))
	e.dropFile("b.csv", customersCSV("b", 10))
	e.operate(f, "run-now")
	rs = e.waitRuns(f, 30*time.Second, "a.csv", "b.csv")
	a, b := rs["a.csv"], rs["b.csv"]
	if a.Status != runstate.RunPartial || a.RecordsIn != 20 || a.Delivered != 18 || a.Failed != 2 || a.StatusCodes["200"] != 18 || a.Version != 1 {
		t.Fatalf("run of a.csv: %+v", a)
	}
	if b.Status != runstate.RunSuccess || b.RecordsIn != 10 || b.Delivered != 10 || b.Failed != 0 {
		t.Fatalf("run of b.csv: %+v", b)
	}

	// Inputs moved to processed; results written to the error folder.
	if got := e.sftpFiles(inDir); len(got) != 0 {
		t.Fatalf("source folder still holds %v", got)
	}
	if got := strings.Join(e.sftpFiles(processedDir), " "); got != "a.csv b.csv tick.csv" {
		t.Fatalf("processed folder: %s", got)
	}
	resultRE := regexp.MustCompile(`^result_\d{14}_(a|b|tick)\.csv$`)
	results := e.sftpFiles(errorsDir)
	if len(results) != 3 {
		t.Fatalf("error folder: %v", results)
	}
	var aResult string
	for _, n := range results {
		if !resultRE.MatchString(n) {
			t.Fatalf("result file name %q", n)
		}
		if strings.HasSuffix(n, "_a.csv") {
			aResult = n
		}
	}
	if a.ResultName != aResult {
		t.Fatalf("run result name %q, error folder has %q", a.ResultName, aResult)
	}
	onSFTP, err := os.ReadFile(e.sshd.LocalPath(errorsDir + "/" + aResult))
	if err != nil {
		t.Fatal(err)
	}
	// The same result through the API.
	downloaded := e.admin.do("GET", "/runs/"+a.ID+"/result", nil, 200, nil)
	if !bytes.Equal(downloaded, onSFTP) {
		t.Fatalf("downloaded result differs from the SFTP one:\n%s\n---\n%s", downloaded, onSFTP)
	}
	rows, err := csv.NewReader(bytes.NewReader(downloaded)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"external_id", "status_code", "error_message", "entity_id"} {
		if _, ok := col[h]; !ok {
			t.Fatalf("result header %v lacks %s", rows[0], h)
		}
	}
	if len(rows) != 21 {
		t.Fatalf("result has %d rows, want 20 + header", len(rows)-1)
	}
	for i, row := range rows[1:] {
		line := i + 1
		id, code, msg := row[col["external_id"]], row[col["status_code"]], row[col["error_message"]]
		if id != fmt.Sprintf("a-%06d", line) {
			t.Fatalf("result row %d is %s: rows out of source order", line, id)
		}
		wantBad := line == 4 || line == 17
		if wantBad != (code != "200") || wantBad != (msg != "") || wantBad != (row[col["entity_id"]] == "") {
			t.Fatalf("result row %d: %v", line, row)
		}
	}

	// Runs and the summary: accuracy = delivered ÷ input.
	var sum runstate.Summary
	e.admin.do("GET", "/dataflows/"+f.ID+"/summary?window=1h", nil, 200, &sum)
	if sum.Runs != 3 || sum.RecordsIn != 35 || sum.Delivered != 33 || sum.Failed != 2 || sum.ByStatus[runstate.RunSuccess] != 2 || sum.ByStatus[runstate.RunPartial] != 1 {
		t.Fatalf("summary: %+v", sum)
	}
	if want := 33.0 / 35.0 * 100; math.Abs(sum.AccuracyPct-want) > 1e-9 {
		t.Fatalf("accuracy %.4f%%, want %.4f%%", sum.AccuracyPct, want)
	}
	// (Entities that fail validation are not keyed: 33 unique keys.)
	sb := e.stats()
	if sb.ReceivedEntities != 35 || sb.AcceptedEntities != 33 || sb.UniqueKeys != 33 || sb.Duplicates != 0 {
		t.Fatalf("sandbox stats: %+v", sb)
	}
	t.Logf("summary: %d runs, %d in, %d delivered, accuracy %.2f%%", sum.Runs, sum.RecordsIn, sum.Delivered, sum.AccuracyPct)
}
