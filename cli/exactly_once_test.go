package cli

import (
	"bytes"
	"encoding/csv"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connectplus/connectplus/bench/gen"
	"github.com/connectplus/connectplus/sandbox"
)

// exactlyOnceRun is the issue-20 scenario: transaction rows through
// examples/add_transactions.yaml against a sandbox with 2–20 ms latency,
// `connectplus run` killed with SIGKILL at random moments and run again on
// the same checkpoint directory. It returns the sandbox stats, the final
// run's exit code and output, and the result file's rows.
type exactlyOnceRun struct {
	stats    sandbox.Stats
	code     int
	out      string
	results  [][]string
	expected int64
	killed   int
	seconds  float64
}

func runExactlyOnce(t *testing.T, bin string, rows, kills int, seed uint64, faults sandbox.FaultRule) exactlyOnceRun {
	t.Helper()
	dir := t.TempDir()
	rule := faults
	rule.LatencyMin, rule.LatencyMax = sandbox.Duration(2*time.Millisecond), sandbox.Duration(20*time.Millisecond)
	sb, ts := sandbox.NewTestServer(sandbox.Config{Faults: sandbox.FaultConfig{Seed: seed, Global: rule}})
	t.Cleanup(ts.Close)

	flow := exampleIn(t, "add_transactions.yaml", dir)
	doc, err := os.ReadFile(flow)
	if err != nil {
		t.Fatal(err)
	}
	doc = bytes.ReplaceAll(doc, []byte("https://eu.api.capillarytech.com"), []byte(ts.URL))
	if err := os.WriteFile(flow, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	var data bytes.Buffer
	if _, err := gen.WriteTransactions(&data, rows, seed); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(dir, "tx.csv")
	if err := os.WriteFile(input, data.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var expected int64
	recs, err := csv.NewReader(bytes.NewReader(data.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	statusCol := -1
	for i, h := range recs[0] {
		if h == "status" {
			statusCol = i
		}
	}
	for _, r := range recs[1:] {
		if s := r[statusCol]; s == "paid" || s == "refunded" {
			expected++
		}
	}
	cpDir := filepath.Join(dir, "cp")
	args := []string{"run", flow, "--input", input, "--result-dir", dir, "--checkpoint-dir", cpDir, "--no-progress",
		"--config", "capillary_client_key=" + sandbox.DefaultClientKey, "--config", "capillary_client_secret=" + sandbox.DefaultClientSecret}
	rng := rand.New(rand.NewPCG(seed, 20))
	start := time.Now()
	res := exactlyOnceRun{expected: expected}
	for attempt := 0; res.killed < kills && attempt < 4*kills; attempt++ {
		cmd := exec.Command(bin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		// A random moment once the run is sending: some progress of its
		// own saved, then up to 60 ms more.
		from := watermark(cpDir)
		deadline := time.Now().Add(20 * time.Second)
		for watermark(cpDir) <= from && time.Now().Before(deadline) {
			select {
			case <-exited:
				t.Fatalf("run %d ended before it could be killed: %s", attempt, out.String())
			default:
			}
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		if st := cmd.ProcessState; st != nil && st.Exited() {
			t.Fatalf("run %d finished before its kill: %s", attempt, out.String())
		}
		res.killed++
		t.Logf("kill %d at %.1fs: watermark %d → %d", res.killed, time.Since(start).Seconds(), from, watermark(cpDir))
	}
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	res.code, res.out = cmd.ProcessState.ExitCode(), out.String()
	_ = err
	res.seconds = time.Since(start).Seconds()
	res.stats = sb.Stats()
	files, _ := filepath.Glob(filepath.Join(dir, "result_*_tx.csv"))
	if len(files) != 1 {
		t.Fatalf("result files %v; output %s", files, res.out)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if res.results, err = csv.NewReader(f).ReadAll(); err != nil {
		t.Fatal(err)
	}
	return res
}

func buildConnectplus(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "connectplus")
	build := exec.Command("go", "build", "-o", bin, "./cmd/connectplus")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// checkExactlyOnce asserts the "done": nothing lost, nothing
// arrived twice, final exit 0, every delivered row a success.
func checkExactlyOnce(t *testing.T, r exactlyOnceRun) {
	t.Helper()
	st := r.stats
	lookups := st.Requests["GET /v2/transactions/getByBillNumber/{bill}"]
	t.Logf("%d kills, %.1fs: sandbox accepted %d of %d, duplicates %d, idempotent replays %d, lookups %v, faults %v; exit %d",
		r.killed, r.seconds, st.AcceptedEntities, r.expected, st.Duplicates, st.IdempotentReplays, lookups, st.Faults, r.code)
	if st.Duplicates != 0 || st.AcceptedEntities != r.expected {
		t.Fatalf("sandbox: %d duplicate arrivals (%v), %d accepted of %d", st.Duplicates, st.DuplicateKeys, st.AcceptedEntities, r.expected)
	}
	if r.code != 0 {
		t.Fatalf("final run exit %d: %s", r.code, r.out)
	}
	h := r.results[0]
	col := map[string]int{}
	for i, n := range h {
		col[n] = i
	}
	delivered := int64(0)
	for _, row := range r.results[1:] {
		code, _ := strconv.Atoi(row[col["status_code"]])
		if code >= 400 || strings.Contains(strings.ToLower(row[col["error_message"]]), "duplicate bill") && !strings.Contains(row[col["error_message"]], "delivered before crash") {
			t.Fatalf("result row not a success: %v", row)
		}
		if row[col["entity_id"]] != "" {
			delivered++
		}
	}
	if delivered != r.expected {
		t.Fatalf("%d result rows carry an entity id, want %d", delivered, r.expected)
	}
}

// TestExactlyOnceRunKills: 8 SIGKILLs of `connectplus run` over 10,000
// transactions end with every bill accepted once and a clean final run.
func TestExactlyOnceRunKills(t *testing.T) {
	rows := 10000
	if v := os.Getenv("CP_EXACTLY_ONCE_ROWS"); v != "" {
		rows, _ = strconv.Atoi(v)
	}
	kills := 8
	if v := os.Getenv("CP_EXACTLY_ONCE_KILLS"); v != "" {
		kills, _ = strconv.Atoi(v)
	}
	r := runExactlyOnce(t, buildConnectplus(t), rows, kills, 7, sandbox.FaultRule{})
	checkExactlyOnce(t, r)
}
