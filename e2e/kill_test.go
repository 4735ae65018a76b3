package e2e

import (
	"bytes"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/bench/gen"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/store"
)

// TestKill9ResumesAfterLastCheckpoint: the server binary is killed with
// SIGKILL in the middle of a 50,000-customer file and restarted on the same
// SQLite data directory. The run shows the interruption, the file resumes
// after its last checkpoint, every customer arrives exactly once: the
// customers delivered after the last checkpoint were written ahead, so the
// resumed run looks them up instead of sending them again.
func TestKill9ResumesAfterLastCheckpoint(t *testing.T) {
	const (
		rows        = 50000
		groupSize   = 100
		concurrency = 2
		// The engine saves progress every 250 ms (engine.Options.CheckpointInterval).
		checkpointInterval = 250 * time.Millisecond
	)
	e := newEnv(t)
	f := e.createLiveFlow(flowSpec{name: "kill9", cron: neverCron, tag: "k", groupSize: groupSize, concurrency: concurrency})
	e.setLatency(15 * time.Millisecond)
	var csv bytes.Buffer
	if _, err := gen.WriteCustomers(&csv, rows, 7); err != nil {
		t.Fatal(err)
	}
	e.sshd.WriteFile(t, "hold/.keep", nil)
	e.dropFile("customers.csv", csv.Bytes())

	start := time.Now()
	e.operate(f, "run-now")
	var prog progress
	var run runstate.Run
	e.waitFor("the run to show progress", 60*time.Second, func() (bool, string) {
		n := e.stats().ReceivedEntities
		prog.add(time.Now(), n)
		run = e.runs(f)["customers.csv"]
		return n >= rows/4 && run.Status == runstate.RunRunning, fmt.Sprintf("received %d, run %s", n, run.Status)
	})
	e.srv.kill()
	killedAt := time.Now()
	rate := prog.rate()
	// Requests the dead server had sent may still be applied (the sandbox
	// reads a body after its latency); wait until nothing more arrives.
	var atKill int64
	waitFor(t, "deliveries to stop after the kill", 10*time.Second, func() (bool, string) {
		n := e.stats().ReceivedEntities
		ok := n == atKill && time.Since(killedAt) > 200*time.Millisecond
		atKill = n
		return ok, fmt.Sprint(n)
	})
	if atKill >= rows {
		t.Fatalf("the whole file was delivered before the kill (%d)", atKill)
	}
	t.Logf("killed after %.2fs with %d of %d customers received (%.0f records/s)", killedAt.Sub(start).Seconds(), atKill, rows, rate)
	cp := lastCheckpoint(t, e.dataDir)
	acked := cp.Counts.Delivered + cp.Counts.Failed + cp.Counts.Filtered
	if cp.LineageID != run.ID || acked != cp.Watermark+int64(len(cp.Done)) || acked > atKill {
		t.Fatalf("checkpoint left by the killed server: lineage %s, watermark %d, %d done above it, counts %+v (received %d)", cp.LineageID, cp.Watermark, len(cp.Done), cp.Counts, atKill)
	}

	// While the server is down the SFTP folder is taken away, so the
	// restarted server cannot resume at once and the run shows what happened.
	src, hold := e.sshd.LocalPath(inDir+"/customers.csv"), e.sshd.LocalPath("/upload/hold/customers.csv")
	if err := os.Rename(src, hold); err != nil {
		t.Fatal(err)
	}
	e.srv = startServer(t, e.dataDir, e.srv.addr, e.srvArgs...)
	e.connect()
	var r runstate.Run
	e.waitFor("the run to be marked Interrupted", 20*time.Second, func() (bool, string) {
		r = e.runs(f)["customers.csv"]
		return r.Status == runstate.RunInterrupted, r.Status
	})
	if r.ID != run.ID || !strings.Contains(r.Error, "resumes after its last acknowledged record") {
		t.Fatalf("interrupted run: %+v", r)
	}
	if err := os.Rename(hold, src); err != nil {
		t.Fatal(err)
	}
	resumeAt := time.Now()
	e.operate(f, "run-now")
	r = e.waitRuns(f, 60*time.Second, "customers.csv")["customers.csv"]
	resumed := time.Since(resumeAt)

	sb := e.stats()
	dups := sb.Duplicates
	t.Logf("resumed run finished in %.2fs (whole test file %.2fs): %s, in %d, delivered %d, failed %d, interruptions %d; sandbox received %d, unique %d, duplicates %d",
		resumed.Seconds(), time.Since(start).Seconds(), r.Status, r.RecordsIn, r.Delivered, r.Failed, r.Interruptions, sb.ReceivedEntities, sb.UniqueKeys, dups)
	// No loss: every customer key arrived and was stored once.
	if sb.UniqueKeys != rows || sb.AcceptedEntities != rows || sb.ReceivedEntities != rows+dups {
		t.Fatalf("sandbox: %+v", sb)
	}
	// Exactly once (issue 20): the batches in flight at the kill were
	// written ahead, so the resumed run knew exactly which customers were in
	// doubt and looked each up (GET /v2/customers/lookup) instead of sending
	// it again: nothing arrived twice and nothing failed.
	if dups != 0 || sb.UniqueKeys != rows || sb.AcceptedEntities != rows {
		t.Fatalf("%d duplicate arrivals after kill -9 (sandbox %+v)", dups, sb)
	}
	if r.ID != run.ID || r.Interruptions < 1 || r.RecordsIn != rows || r.Delivered != rows || r.Failed != 0 || r.Status != runstate.RunSuccess {
		t.Fatalf("resumed run: %+v", r)
	}
	lookups := sb.Requests["GET /v2/customers/lookup"]["200"]
	t.Logf("in doubt at the kill: %d customers beyond the checkpoint's %d, resolved by %d lookups found (%v)", atKill-acked, acked, lookups, sb.Requests["GET /v2/customers/lookup"])
	if lookups > atKill-acked {
		t.Fatalf("%d lookups found a customer, more than the %d in doubt beyond the last checkpoint (answered requests take their logged result)", lookups, atKill-acked)
	}
	if got := e.sftpFiles(processedDir); len(got) != 1 || got[0] != "customers.csv" {
		t.Fatalf("processed folder: %v", got)
	}
}

// lastCheckpoint reads the checkpoint a dead server left in its SQLite
// database (the one claim still held).
func lastCheckpoint(t *testing.T, dataDir string) engine.Checkpoint {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "connectplus.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var raw []byte
	if err := db.QueryRow(`SELECT checkpoint FROM claims WHERE state = 'claimed'`).Scan(&raw); err != nil {
		t.Fatalf("reading the claim: %v", err)
	}
	var cp engine.Checkpoint
	if err := json.Unmarshal(raw, &cp); err != nil {
		t.Fatalf("checkpoint %s: %v", raw, err)
	}
	return cp
}

// TestKill9LoopResultFile kills the server with SIGKILL several times in the
// middle of a 200,000-row file and restarts it on the same data directory
// each time; before the second kill a new version goes Live, so the old one
// is still draining the file when it dies and the new one resumes it. The
// file is processed to the end, resuming after each kill, and its result
// file has exactly one row per input record, each line once, and no NUL
// byte (the new version looked for the spool in its own work directory and
// filled the acknowledged rows with NULs).
func TestKill9LoopResultFile(t *testing.T) {
	const rows, kills = 200000, 4
	e := newEnv(t)
	f := e.createLiveFlow(flowSpec{name: "kill9loop", cron: neverCron, tag: "l", groupSize: 100, concurrency: 2})
	e.dropFile("customers.csv", customersCSV("L", rows))
	e.operate(f, "run-now")
	for killed := 0; killed < kills; killed++ {
		// Killed once this server saved progress of its own past the
		// next target.
		target := int64(rows) * int64(killed+1) / (kills + 2)
		from := checkpointWatermark(e.dataDir)
		if killed == 1 {
			// Once the restarted server has the file in flight again (else
			// the new version would find it, not resume the old one's).
			e.waitFor("the file in flight after the restart", 30*time.Second, func() (bool, string) {
				st := e.status(f)
				return st.InFlight == 1, fmt.Sprintf("%+v", st)
			})
			var vs []store.Version
			e.admin.do("GET", "/dataflows/"+f.ID+"/versions", nil, 200, &vs)
			doc := e.document(flowSpec{name: "kill9loop", cron: neverCron, tag: "l2", groupSize: 100, concurrency: 2})
			e.admin.do("PUT", fmt.Sprintf("/dataflows/%s/versions/2", f.ID), map[string]any{"document": doc}, 200, nil, "If-Match", fmt.Sprintf(`"r%d"`, vs[0].Revision))
			e.approveAndGoLive(f, 2)
			if st := e.status(f); st.LiveVersion != 2 || len(st.Draining) != 1 {
				t.Fatalf("v2 went live with the file no longer in flight: %+v", st)
			}
		}
		e.waitFor(fmt.Sprintf("kill %d: a checkpoint past %d", killed+1, target), 60*time.Second, func() (bool, string) {
			wm := checkpointWatermark(e.dataDir)
			return wm >= target && wm > from, fmt.Sprintf("watermark %d (from %d)", wm, from)
		})
		time.Sleep(time.Duration(killed*40) * time.Millisecond)
		e.srv.kill()
		// The restarted server runs the tick it missed at once: the file
		// resumes without run-now.
		e.srv = startServer(t, e.dataDir, e.srv.addr, e.srvArgs...)
		e.connect()
	}
	r := e.waitRuns(f, 120*time.Second, "customers.csv")["customers.csv"]
	if r.RecordsIn != rows || r.Delivered+r.Failed != rows || r.Interruptions != kills {
		t.Fatalf("run after %d kills: %+v", kills, r)
	}
	var results []string
	for _, n := range e.sftpFiles(errorsDir) {
		if strings.HasPrefix(n, "result_") && strings.HasSuffix(n, "_customers.csv") {
			results = append(results, n)
		}
	}
	if len(results) != 1 {
		t.Fatalf("result files in %s: %v", errorsDir, e.sftpFiles(errorsDir))
	}
	b, err := os.ReadFile(e.sshd.LocalPath(errorsDir + "/" + results[0]))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte{0}); n > 0 {
		t.Fatalf("the result file holds %d NUL bytes", n)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("result file: %v", err)
	}
	col := -1
	for i, h := range recs[0] {
		if h == "line_number" {
			col = i
		}
	}
	if col < 0 || len(recs)-1 != rows {
		t.Fatalf("result file: header %v, %d rows for %d records", recs[0], len(recs)-1, rows)
	}
	seen := make(map[string]bool, rows)
	for i, rec := range recs[1:] {
		if want := strconv.Itoa(i + 2); rec[col] != want || seen[rec[col]] {
			t.Fatalf("result row %d has line %s, want %s", i+1, rec[col], want)
		}
		seen[rec[col]] = true
	}
	if left, _ := filepath.Glob(filepath.Join(e.dataDir, "state", "lineages", "*")); len(left) != 0 {
		t.Fatalf("spools left: %v", left)
	}
	sb := e.stats()
	t.Logf("killed %d times; run %s: in %d, delivered %d, failed %d (sent again after a kill: %d; lookups %v)", kills, r.Status, r.RecordsIn, r.Delivered, r.Failed, sb.Duplicates, sb.Requests["GET /v2/customers/lookup"])
	// Exactly once at the destination (issue 20): every kill's in-doubt
	// batches were resolved by lookup, never re-sent.
	if sb.Duplicates != 0 || sb.AcceptedEntities != int64(rows) || r.Failed != 0 || r.Delivered != int64(rows) {
		t.Fatalf("after %d kills: %d duplicate arrivals, %d accepted, run delivered %d failed %d", kills, sb.Duplicates, sb.AcceptedEntities, r.Delivered, r.Failed)
	}
}

// checkpointWatermark reads the watermark of the claimed item's checkpoint
// in a server's SQLite database, 0 when there is none (yet).
func checkpointWatermark(dataDir string) int64 {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "connectplus.db")+"?mode=ro")
	if err != nil {
		return 0
	}
	defer db.Close()
	var raw []byte
	if err := db.QueryRow(`SELECT checkpoint FROM claims WHERE state = 'claimed'`).Scan(&raw); err != nil {
		return 0
	}
	var cp engine.Checkpoint
	if json.Unmarshal(raw, &cp) != nil {
		return 0
	}
	return cp.Watermark
}

// TestKill9TwentyKillsWithFaults is issue 20's server variant: a Live
// dataflow posting 20,000 customers to a sandbox that answers 10% of
// requests 429, 5% 5xx and lets 2% time out (the `connectplus sandbox
// --faults 429=0.1,5xx=0.05,timeout=0.02` faults, with 2–20 ms latency),
// while `connectplus server` is killed with SIGKILL 20 times at seeded
// random moments and restarted on the same data directory. Every customer
// arrives exactly once (/_sandbox/stats: duplicates 0, acceptedEntities
// 20,000), the run ends Success with every record delivered, and its result
// file has one status-200 row per record.
func TestKill9TwentyKillsWithFaults(t *testing.T) {
	const rows, kills, seed = 20000, 20, 20
	e := newEnv(t)
	faults := e.setFaults(seed, "429=0.1,5xx=0.05,timeout=0.02,latency=2ms-20ms")
	f := e.createLiveFlow(flowSpec{name: "kill9faults", cron: neverCron, tag: "f", groupSize: 100, concurrency: 4,
		// Enough retries that a record survives a run of faults; a timed-out
		// request is given up after 2 s (the sandbox would hang 30 s). A 429
		// makes its own worker wait the Retry-After (1 s) rather than the
		// whole destination, so the test takes a minute, not three.
		recoverable: "429,521,502,503,504", yielding: "-",
		maxRetries: 10, post: []string{`retryBackoff: 50ms`, `maxRetryBackoff: 1s`, `responseTimeout: 2s`}})
	e.dropFile("customers.csv", customersCSV("F", rows))
	rng := rand.New(rand.NewPCG(seed, 9))
	midFile := 0
	start := time.Now()
	e.operate(f, "run-now")
	for killed := 0; killed < kills; killed++ {
		// A random moment once this server saved progress of its own past
		// the next target.
		target := int64(rows) * int64(killed+1) / (kills + 2)
		from := checkpointWatermark(e.dataDir)
		e.waitFor(fmt.Sprintf("kill %d: a checkpoint past %d", killed+1, target), 90*time.Second, func() (bool, string) {
			wm := checkpointWatermark(e.dataDir)
			return wm >= target && wm > from, fmt.Sprintf("watermark %d (from %d)", wm, from)
		})
		time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
		e.srv.kill()
		// A kill that lands after the file's last record (while its result
		// file is written) interrupts no delivery and is not counted.
		if cp, ok := heldCheckpoint(e.dataDir); ok && !cp.Completing && !cp.Ended {
			midFile++
		}
		e.srv = startServer(t, e.dataDir, e.srv.addr, e.srvArgs...)
		e.connect()
	}
	killedFor := time.Since(start)
	r := e.waitRuns(f, 180*time.Second, "customers.csv")["customers.csv"]
	sb := e.stats()
	lookups := sb.Requests["GET /v2/customers/lookup"]
	t.Logf("faults %+v: %d kills (%d mid-file) in %.1fs, run %s after %.1fs: in %d, delivered %d, failed %d, interruptions %d; sandbox accepted %d, duplicates %d, idempotent replays %d, faults %v, lookups %v",
		faults.Global, kills, midFile, killedFor.Seconds(), r.Status, time.Since(start).Seconds(), r.RecordsIn, r.Delivered, r.Failed, r.Interruptions,
		sb.AcceptedEntities, sb.Duplicates, sb.IdempotentReplays, sb.Faults, lookups)
	if sb.Duplicates != 0 || sb.AcceptedEntities != rows {
		t.Fatalf("sandbox after %d kills: %d duplicate arrivals (%v), %d accepted of %d", kills, sb.Duplicates, sb.DuplicateKeys, sb.AcceptedEntities, rows)
	}
	if r.Status != runstate.RunSuccess || r.RecordsIn != rows || r.Delivered != rows || r.Failed != 0 || r.Interruptions < midFile || r.Interruptions > kills || midFile < kills-2 {
		t.Fatalf("run after %d kills: %+v", kills, r)
	}
	if sb.Faults["429"] == 0 || sb.Faults["timeout"] == 0 {
		t.Fatalf("the faults were not injected: %v", sb.Faults)
	}
	var results []string
	for _, n := range e.sftpFiles(errorsDir) {
		if strings.HasPrefix(n, "result_") && strings.HasSuffix(n, "_customers.csv") {
			results = append(results, n)
		}
	}
	if len(results) != 1 {
		t.Fatalf("result files in %s: %v", errorsDir, e.sftpFiles(errorsDir))
	}
	b, err := os.ReadFile(e.sshd.LocalPath(errorsDir + "/" + results[0]))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("result file: %v", err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	if len(recs)-1 != rows {
		t.Fatalf("result file: %d rows for %d records", len(recs)-1, rows)
	}
	for _, rec := range recs[1:] {
		if rec[col["status_code"]] != "200" || rec[col["entity_id"]] == "" {
			t.Fatalf("result row not a success: %v", rec)
		}
	}
}

// heldCheckpoint reads the checkpoint of the claim a dead server still
// holds, if any.
func heldCheckpoint(dataDir string) (engine.Checkpoint, bool) {
	var cp engine.Checkpoint
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "connectplus.db")+"?mode=ro")
	if err != nil {
		return cp, false
	}
	defer db.Close()
	var raw []byte
	if err := db.QueryRow(`SELECT checkpoint FROM claims WHERE state = 'claimed'`).Scan(&raw); err != nil {
		return cp, false
	}
	return cp, json.Unmarshal(raw, &cp) == nil
}
