package cli

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/connectplus/connectplus/bench/gen"
	"github.com/connectplus/connectplus/blocks/httpwrite"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/sandbox"
)

// Kill points of the exactly-once property test. A `connectplus run`
// process is killed with SIGKILL from inside the sandbox, while it serves
// the run's n-th API request, so the kill lands at a reproducible point of
// the protocol rather than at a moment of the clock:
const (
	// killBeforeApply: the request left (its write-ahead entry is synced)
	// but the destination never applies it.
	killBeforeApply = iota
	// killAfterApply: the destination applied it; the answer never reaches
	// the process.
	killAfterApply
	// killAfterAnswer: the answer was written back and the process dies
	// right after, having handled it or not.
	killAfterAnswer
	killPhases
)

var phaseNames = [killPhases]string{"before-apply", "after-apply", "after-answer"}

// killer wraps the sandbox: armed with (n, phase, path), it kills the
// current process at the n-th request whose path has the prefix.
type killer struct {
	h http.Handler

	mu     sync.Mutex
	seen   int
	at     int
	phase  int
	prefix string
	proc   *os.Process
	exited <-chan struct{}
	fired  bool
}

func (k *killer) arm(p *os.Process, exited <-chan struct{}, at, phase int, prefix string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.seen, k.at, k.phase, k.prefix, k.proc, k.exited, k.fired = 0, at, phase, prefix, p, exited, false
}

// disarm reports whether the armed kill fired.
func (k *killer) disarm() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.proc = nil
	return k.fired
}

// hit reports whether this request is the one to kill at.
func (k *killer) hit(r *http.Request) (int, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.proc == nil || k.fired || strings.HasPrefix(r.URL.Path, "/_sandbox") || !strings.HasPrefix(r.URL.Path, k.prefix) {
		return 0, false
	}
	k.seen++
	if k.seen != k.at {
		return 0, false
	}
	k.fired = true
	return k.phase, true
}

// kill ends the process and waits until it is gone, so nothing it would do
// after this point happens.
func (k *killer) kill() {
	k.mu.Lock()
	p, exited := k.proc, k.exited
	k.mu.Unlock()
	_ = p.Signal(syscall.SIGKILL)
	<-exited
}

// discard is where an applied request's answer goes when the process must
// never see it.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func (k *killer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	phase, ok := k.hit(r)
	if !ok {
		k.h.ServeHTTP(w, r)
		return
	}
	switch phase {
	case killBeforeApply:
		k.kill()
	case killAfterApply:
		k.h.ServeHTTP(&discard{h: http.Header{}}, r)
		k.kill()
	case killAfterAnswer:
		k.h.ServeHTTP(w, r)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		k.kill()
	}
}

// killRun is one process of a schedule.
type killRun struct {
	bin  string
	args []string
}

// start runs the process; the returned channel closes when it exited.
func (kr killRun) start(t *testing.T) (*exec.Cmd, *bytes.Buffer, chan struct{}) {
	t.Helper()
	cmd := exec.Command(kr.bin, kr.args...)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	return cmd, out, exited
}

// expectedTxns counts the rows add_transactions.yaml posts (paid or refunded).
func expectedTxns(t *testing.T, data []byte) int64 {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for i, h := range recs[0] {
		if h == "status" {
			col = i
		}
	}
	var n int64
	for _, r := range recs[1:] {
		if s := r[col]; s == "paid" || s == "refunded" {
			n++
		}
	}
	return n
}

// readResults reads the one result file of tx.csv in dir.
func readResults(t *testing.T, dir, out string) [][]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "result_*_tx.csv"))
	if len(files) != 1 {
		t.Fatalf("result files %v; output %s", files, out)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestExactlyOnceKillSchedules is the property test: over a small
// transaction file, many seeded schedules of SIGKILLs at random protocol
// points (the n-th request, before or after the destination applied it,
// lookups included), each followed by a restart on the same checkpoint
// directory with its real write-ahead log and checkpoints, every one ending
// with each bill accepted exactly once, a final exit 0 and a result file
// whose rows are all delivered. CP_KILL_SCHEDULES and CP_KILL_SEED replay
// more schedules or one failing seed.
func TestExactlyOnceKillSchedules(t *testing.T) {
	schedules, base := 20, uint64(2026)
	if v := os.Getenv("CP_KILL_SCHEDULES"); v != "" {
		schedules, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("CP_KILL_SEED"); v != "" {
		n, _ := strconv.ParseUint(v, 10, 64)
		base, schedules = n, 1
	}
	bin := buildConnectplus(t)
	totalKills := 0
	for i := range schedules {
		seed := base + uint64(i)
		totalKills += killSchedule(t, bin, seed)
		if t.Failed() {
			t.Fatalf("schedule seed %d failed (replay: CP_KILL_SEED=%d go test -run TestExactlyOnceKillSchedules ./cli/)", seed, seed)
		}
	}
	t.Logf("%d schedules, %d kills: every one exactly once", schedules, totalKills)
}

// killSchedule runs one seeded schedule and returns how many kills it made.
func killSchedule(t *testing.T, bin string, seed uint64) int {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x20))
	rows := 40 + rng.IntN(40)
	group := 2 + rng.IntN(6)
	dir := t.TempDir()
	sb := sandbox.New(sandbox.Config{Faults: sandbox.FaultConfig{Seed: seed, Global: sandbox.FaultRule{LatencyMax: sandbox.Duration(4 * time.Millisecond)}}})
	k := &killer{h: sb}
	ts := httptest.NewServer(k)
	defer ts.Close()

	flow := exampleIn(t, "add_transactions.yaml", dir)
	doc, err := os.ReadFile(flow)
	if err != nil {
		t.Fatal(err)
	}
	doc = bytes.ReplaceAll(doc, []byte("https://eu.api.capillarytech.com"), []byte(ts.URL))
	doc = bytes.ReplaceAll(doc, []byte("groupSize: 100"), []byte("groupSize: "+strconv.Itoa(group)))
	doc = append(doc, []byte("      concurrency: 3\n")...)
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
	expected := expectedTxns(t, data.Bytes())
	// Checkpoints from every few milliseconds to never within a short run,
	// so kills meet every state of the checkpoint.
	interval := []string{"3ms", "20ms", "250ms", "10s"}[rng.IntN(4)]
	kr := killRun{bin: bin, args: []string{"run", flow, "--input", input, "--result-dir", dir, "--checkpoint-dir", filepath.Join(dir, "cp"),
		"--no-progress", "--checkpoint-interval", interval,
		"--config", "capillary_client_key=" + sandbox.DefaultClientKey, "--config", "capillary_client_secret=" + sandbox.DefaultClientSecret}}
	requests := int(expected)/group + 2
	maxKills := 1 + rng.IntN(4)
	var trace []string
	kills, code := 0, -1
	var out *bytes.Buffer
	for {
		cmd, o, exited := kr.start(t)
		out = o
		armed := kills < maxKills
		if armed {
			// Counted over every API request of this process (token, bulk
			// posts, the lookups of a resume).
			at, phase := 1+rng.IntN(requests+2), rng.IntN(killPhases)
			k.arm(cmd.Process, exited, at, phase, "/v2/")
			trace = append(trace, fmt.Sprintf("kill at request %d %s", at, phaseNames[phase]))
		}
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("seed %d: run hung; %s", seed, out)
		}
		fired := armed && k.disarm()
		if fired {
			kills++
			continue
		}
		if armed {
			trace[len(trace)-1] += " (finished first)"
		}
		code = cmd.ProcessState.ExitCode()
		break
	}
	st := sb.Stats()
	lookups := st.Requests["GET /v2/transactions/getByBillNumber/{bill}"]
	t.Logf("seed %d: %d rows (%d posted), group %d, checkpoint every %s: %s; accepted %d, duplicates %d, lookups %v",
		seed, rows, expected, group, interval, strings.Join(trace, ", "), st.AcceptedEntities, st.Duplicates, lookups)
	if st.Duplicates != 0 || st.AcceptedEntities != expected {
		t.Errorf("seed %d: %d duplicate arrivals (%v), %d accepted of %d", seed, st.Duplicates, st.DuplicateKeys, st.AcceptedEntities, expected)
		return kills
	}
	if code != 0 {
		t.Errorf("seed %d: final run exit %d: %s", seed, code, out)
		return kills
	}
	res := readResults(t, dir, out.String())
	col := map[string]int{}
	for i, n := range res[0] {
		col[n] = i
	}
	delivered := int64(0)
	for _, row := range res[1:] {
		if c := row[col["status_code"]]; c != "" && c != "200" {
			t.Errorf("seed %d: result row not delivered: %v", seed, row)
			return kills
		}
		if row[col["entity_id"]] != "" {
			delivered++
		}
	}
	if len(res)-1 != rows || delivered != expected {
		t.Errorf("seed %d: result file has %d rows (want %d), %d with an entity id (want %d)", seed, len(res)-1, rows, delivered, expected)
	}
	return kills
}

// TestDuplicateCodeInDoubtIsDelivered: where the endpoint has no lookup
// (coupon redemption) and the destination honours no idempotency key
// (--idempotency-header -), a record whose request was applied before the
// process was killed is in doubt on the restart, is sent again, and the
// destination's documented duplicate answer (604 "coupon already used") is
// recorded as delivered before the crash with that reason, never as a
// failure: exit 0, every row status 200.
func TestDuplicateCodeInDoubtIsDelivered(t *testing.T) {
	bin := buildConnectplus(t)
	dir := t.TempDir()
	sb := sandbox.New(sandbox.Config{})
	k := &killer{h: sb}
	ts := httptest.NewServer(k)
	defer ts.Close()
	const rows = 12
	var data strings.Builder
	data.WriteString("mobile,coupon_code,bill_number,bill_amount\n")
	for i := range rows {
		fmt.Fprintf(&data, "91980000%04d,CPN%04d,B%04d,%d\n", i, i, i, 100+i)
	}
	input := filepath.Join(dir, "tx.csv")
	if err := os.WriteFile(input, []byte(data.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	flow := filepath.Join(dir, "coupons.yaml")
	doc := fmt.Sprintf(`name: coupons_in_doubt
blocks:
  - type: file_read
    name: read
    config:
      sourceDirectory: %[1]s/in
      fileRegex: '.*\.csv'
      processedDirectory: %[1]s/processed
      apiErrorFilePath: %[1]s/errors
    relations: [convert]
  - type: convert_csv_to_json
    name: convert
    config:
      groupSize: 1
    relations: [transform]
  - type: jslt_transform
    name: transform
    config:
      sendEachRecordSeparately: "true"
      transformation: |
        { "mobile": .mobile, "source": "INSTORE", "redeemCoupons": [ { "code": .coupon_code } ],
          "transactionNumber": .bill_number, "billAmount": number(.bill_amount) }
    relations: [post]
  - type: http_write
    name: post
    config:
      clientKey: {$config: capillary_client_key}
      clientSecret: {$config: capillary_client_secret}
      apiBaseUrl: %[2]s
      oAuthBaseUrl: %[2]s
      apiEndPoint: /v2/coupon/redeem
      apiMethod: POST
      bulkSupport: "false"
      parseResponse: "true"
      requestSplitPath: "$"
      responseSplitPath: "$"
      parsePathMap: '{"status_code": "$.errors[0].code", "error_message": "$.errors[0].message", "entity_id": "$.createdId"}'
      concurrency: 1
`, dir, ts.URL)
	if err := os.WriteFile(flow, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	kr := killRun{bin: bin, args: []string{"run", flow, "--input", input, "--result-dir", dir, "--checkpoint-dir", filepath.Join(dir, "cp"),
		"--no-progress", "--idempotency-header", "-", "--checkpoint-interval", "10s",
		"--config", "capillary_client_key=" + sandbox.DefaultClientKey, "--config", "capillary_client_secret=" + sandbox.DefaultClientSecret}}

	// Killed once the destination applied the 5th redemption, before its
	// answer reached the process.
	cmd, out, exited := kr.start(t)
	k.arm(cmd.Process, exited, 5, killAfterApply, "/v2/coupon/redeem")
	<-exited
	if !k.disarm() {
		t.Fatalf("the run ended before its kill: %s", out)
	}
	var wals []string
	_ = filepath.WalkDir(filepath.Join(dir, "cp"), func(p string, d os.DirEntry, err error) error {
		// The lineage's log (its .sent marker file beside it is not a log).
		if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) == "wal" && filepath.Ext(p) == ".log" {
			wals = append(wals, p)
		}
		return nil
	})
	if len(wals) != 1 {
		t.Fatalf("write-ahead logs left by the killed run: %v", wals)
	}
	before := sb.Stats()
	if before.AcceptedEntities != 5 {
		t.Fatalf("the killed run got %d redemptions applied, want 5", before.AcceptedEntities)
	}

	cmd, out, exited = kr.start(t)
	<-exited
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("restarted run exit %d: %s\n%v", code, out, readResults(t, dir, out.String()))
	}
	st := sb.Stats()
	t.Logf("sandbox: accepted %d, duplicates %d (%v), requests %v", st.AcceptedEntities, st.Duplicates, st.DuplicateKeys, st.Requests["POST /v2/coupon/redeem"])
	if st.AcceptedEntities != rows {
		t.Fatalf("accepted %d redemptions, want %d", st.AcceptedEntities, rows)
	}
	// Without a lookup or a key the destination sees the in-doubt
	// redemption again (that is what the reason records), and only that one.
	if st.Duplicates != 1 {
		t.Fatalf("%d duplicate arrivals: want the one redemption in doubt (the answered ones take their logged outcome)", st.Duplicates)
	}
	res := readResults(t, dir, out.String())
	col := map[string]int{}
	for i, n := range res[0] {
		col[n] = i
	}
	inDoubt := 0
	for _, row := range res[1:] {
		if row[col["status_code"]] != "200" {
			t.Fatalf("result row not delivered: %v", row)
		}
		if msg := row[col["error_message"]]; msg != "" {
			if msg != httpwrite.MsgDuplicateInDoubt+" (604)" {
				t.Fatalf("result row reason %q", msg)
			}
			inDoubt++
		}
	}
	if len(res)-1 != rows || inDoubt < 1 || int64(inDoubt) != st.Duplicates {
		t.Fatalf("result file: %d rows, %d delivered before the crash (sandbox duplicates %d)", len(res)-1, inDoubt, st.Duplicates)
	}
	// The 5th redemption (line 6) is the one the kill interrupted.
	if row := res[5]; row[col["line_number"]] != "6" || !strings.Contains(row[col["error_message"]], "delivered before crash") {
		t.Fatalf("the redemption applied at the kill: %v", row)
	}
}

const kafkaToCustomersFlow = `name: kafka_to_customers
blocks:
  - type: kafka_topic_read
    name: read
    config:
      topics: signups
      brokers: %s
      groupId: exactly-once
      windowDuration: 2s
      batchSize: 50
      sessionTimeout: 6s
    relations: [post]
  - type: http_write
    name: post
    config:
      apiBaseUrl: %s
      oAuthBaseUrl: %s
      clientKey: k
      clientSecret: {$config: api_secret}
      apiEndPoint: /v2/customers/bulk
      bulkSupport: "true"
      parseResponse: "true"
      responseSplitPath: "$.*"
      parsePathMap: '{"status_code": "$.[''errors''].*.code", "error_message": "$.[''errors''].*.message", "entity_id": "$.entity.id"}'
      concurrency: 2
      rate: 1000000
      timeUnit: SECONDS
`

// TestKafkaKillExactlyOnce: a stream's records read again after a kill
// (those past the last offset commit) are resolved like a file's in-doubt
// records, by their position: SIGKILLed three times while it posts Kafka
// messages to /v2/customers/bulk (which honours no idempotency key), the
// consuming `connectplus run` leaves every customer accepted exactly once
// — the records answered before a kill take their logged outcome, those in
// flight are looked up — where it used to re-send every record past the
// commit (TestKafkaKillResume's stated window).
func TestKafkaKillExactlyOnce(t *testing.T) {
	const n, kills = 6000, 3
	bin := buildConnectplus(t)
	dir := t.TempDir()
	api, broker := kafkaSandbox(t, bin, "--faults", "latency=3ms-12ms")
	var lines []string
	for i := range n {
		lines = append(lines, fmt.Sprintf(`c%d	{"profiles":[{"firstName":"F%d","lastName":"L","source":"INSTORE","identifiers":[{"type":"externalId","value":"X%06d"}]}],"loyaltyInfo":{"loyaltyType":"loyalty"}}`, i, i, i))
	}
	testenv.KcatProduce(t, broker, "signups", lines)
	flow := filepath.Join(dir, "flow.yaml")
	if err := os.WriteFile(flow, fmt.Appendf(nil, kafkaToCustomersFlow, broker, api, api), 0o644); err != nil {
		t.Fatal(err)
	}
	stats := func() sandbox.Stats {
		res, err := http.Get(api + "/_sandbox/stats")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var st sandbox.Stats
		if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	kr := killRun{bin: bin, args: []string{"run", flow, "--checkpoint-dir", filepath.Join(dir, "cp"), "--no-progress",
		"--checkpoint-interval", "50ms", "--config", "api_secret=s"}}
	rng := rand.New(rand.NewPCG(20, 5))
	for k := 1; k <= kills; k++ {
		cmd, out, exited := kr.start(t)
		target := int64(k * n / (kills + 1))
		deadline := time.Now().Add(2 * time.Minute)
		for stats().AcceptedEntities < target {
			select {
			case <-exited:
				t.Fatalf("kill %d: the run ended first: %s", k, out)
			default:
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("kill %d: only %d of %d customers accepted: %s", k, stats().AcceptedEntities, target, out)
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		t.Logf("kill %d: %d accepted", k, stats().AcceptedEntities)
	}
	kr.args = append(kr.args, "--idle-exit", "3s")
	cmd, out, exited := kr.start(t)
	select {
	case <-exited:
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("final run did not finish: %s", out)
	}
	st := stats()
	t.Logf("kill -9 x%d over %d messages: accepted %d, duplicates %d, lookups %v; final exit %d", kills, n, st.AcceptedEntities, st.Duplicates,
		st.Requests["GET /v2/customers/lookup"], cmd.ProcessState.ExitCode())
	if st.Duplicates != 0 || st.AcceptedEntities != n {
		t.Fatalf("%d duplicate arrivals (%v), %d accepted of %d", st.Duplicates, st.DuplicateKeys, st.AcceptedEntities, n)
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("final run exit %d: %s", code, out)
	}
}

// TestRunIdempotencyHeaderFlag: a name that is no HTTP header stops the
// run at the command line instead of failing every request.
func TestRunIdempotencyHeaderFlag(t *testing.T) {
	dir := t.TempDir()
	flow := exampleIn(t, "add_transactions.yaml", dir)
	input := filepath.Join(dir, "tx.csv")
	if err := os.WriteFile(input, []byte(gen.TransactionHeader+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, "run", flow, "--input", input, "--checkpoint-dir", filepath.Join(dir, "cp"), "--no-progress",
		"--idempotency-header", "Idem Key", "--config", "capillary_client_key=k", "--config", "capillary_client_secret=s")
	if code != ExitError || !strings.Contains(stderr, `--idempotency-header: "Idem Key" is not an HTTP header name`) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// TestDuplicateBillInDoubtIsDelivered is the issue's own case of a lookup
// that cannot tell: a count-only destination keeps no bills to find, so
// the bills of the bulk request applied when `connectplus run` was killed
// are sent again on the restart and answered 604 "duplicate bill number";
// being in doubt, they are recorded delivered before the crash (status 200,
// the reason naming 604), and the run exits 0.
func TestDuplicateBillInDoubtIsDelivered(t *testing.T) {
	bin := buildConnectplus(t)
	dir := t.TempDir()
	sb := sandbox.New(sandbox.Config{CountOnly: true})
	k := &killer{h: sb}
	ts := httptest.NewServer(k)
	defer ts.Close()
	flow := exampleIn(t, "add_transactions.yaml", dir)
	doc, err := os.ReadFile(flow)
	if err != nil {
		t.Fatal(err)
	}
	doc = bytes.ReplaceAll(doc, []byte("https://eu.api.capillarytech.com"), []byte(ts.URL))
	doc = bytes.ReplaceAll(doc, []byte("groupSize: 100"), []byte("groupSize: 10"))
	doc = append(doc, []byte("      concurrency: 1\n")...)
	if err := os.WriteFile(flow, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	var data bytes.Buffer
	if _, err := gen.WriteTransactions(&data, 100, 3); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(dir, "tx.csv")
	if err := os.WriteFile(input, data.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	expected := expectedTxns(t, data.Bytes())
	kr := killRun{bin: bin, args: []string{"run", flow, "--input", input, "--result-dir", dir, "--checkpoint-dir", filepath.Join(dir, "cp"),
		"--no-progress", "--idempotency-header", "-",
		"--config", "capillary_client_key=" + sandbox.DefaultClientKey, "--config", "capillary_client_secret=" + sandbox.DefaultClientSecret}}
	cmd, out, exited := kr.start(t)
	k.arm(cmd.Process, exited, 3, killAfterApply, "/v2/transactions/bulk")
	<-exited
	if !k.disarm() {
		t.Fatalf("the run ended before its kill: %s", out)
	}
	applied := sb.Stats().AcceptedEntities
	cmd, out, exited = kr.start(t)
	<-exited
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("restarted run exit %d: %s", code, out)
	}
	st := sb.Stats()
	t.Logf("killed with %d bills applied; sandbox: accepted %d of %d, duplicates %d, lookups %v", applied, st.AcceptedEntities, expected, st.Duplicates, st.Requests["GET /v2/transactions/getByBillNumber/{bill}"])
	if st.AcceptedEntities != expected || st.Duplicates == 0 || st.Duplicates > 10 {
		t.Fatalf("accepted %d of %d, %d duplicate arrivals (want the one in-doubt request's bills)", st.AcceptedEntities, expected, st.Duplicates)
	}
	res := readResults(t, dir, out.String())
	col := map[string]int{}
	for i, n := range res[0] {
		col[n] = i
	}
	inDoubt := int64(0)
	for _, row := range res[1:] {
		if c := row[col["status_code"]]; c != "" && c != "200" {
			t.Fatalf("result row not delivered: %v", row)
		}
		if row[col["error_message"]] == httpwrite.MsgDuplicateInDoubt+" (604)" {
			inDoubt++
		}
	}
	if inDoubt != st.Duplicates {
		t.Fatalf("%d rows delivered before the crash by their 604, %d duplicate arrivals", inDoubt, st.Duplicates)
	}
}
