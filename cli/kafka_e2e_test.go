package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/sandbox"
)

// kafkaSandbox runs `connectplus sandbox --kafka` as its own process, so it
// outlives the runs a test kills, and returns the API URL and broker.
func kafkaSandbox(t testing.TB, bin string, extra ...string) (api, broker string) {
	t.Helper()
	args := append([]string{"sandbox", "--listen", "127.0.0.1:0", "--kafka", "127.0.0.1:0", "--client-key", "k", "--client-secret", "s"}, extra...)
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	apiRE, kRE := regexp.MustCompile(`listening on (http://\S+)`), regexp.MustCompile(`Kafka sandbox broker listening on (\S+)`)
	sc := bufio.NewScanner(out)
	for (api == "" || broker == "") && sc.Scan() {
		if m := apiRE.FindStringSubmatch(sc.Text()); m != nil && api == "" {
			api = m[1]
		}
		if m := kRE.FindStringSubmatch(sc.Text()); m != nil {
			broker = m[1]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if api == "" || broker == "" {
		t.Fatalf("sandbox did not print its addresses (api %q, kafka %q)", api, broker)
	}
	return api, broker
}

// neoDeliveries counts, per message id, how often the sandbox's
// /x/neo/<name> endpoint received it (bulk bodies are arrays of messages).
func neoDeliveries(t *testing.T, api string) map[string]int {
	t.Helper()
	got := map[string]int{}
	for offset := 0; ; offset += 10000 {
		res, err := http.Get(fmt.Sprintf("%s/_sandbox/entities?kind=neo&limit=10000&offset=%d", api, offset))
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Total    int `json:"total"`
			Entities []struct {
				Body json.RawMessage `json:"body"`
			} `json:"entities"`
		}
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entities {
			var msgs []struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(e.Body, &msgs); err != nil {
				t.Fatalf("neo body %s: %v", e.Body, err)
			}
			for _, m := range msgs {
				got[m.ID]++
			}
		}
		if offset+len(page.Entities) >= page.Total || len(page.Entities) == 0 {
			return got
		}
	}
}

const kafkaToNeoFlow = `name: kafka_to_neo
blocks:
  - type: kafka_topic_read
    name: read
    config:
      topics: events
      brokers: %s
      groupId: kill-test
      windowDuration: 2s
      batchSize: %d
      sessionTimeout: 6s
    relations: [post]
  - type: http_write
    name: post
    config:
      apiBaseUrl: %s
      oAuthBaseUrl: %s
      clientKey: k
      clientSecret: {$config: api_secret}
      apiEndPoint: /x/neo/ingest
      bulkSupport: "true"
      parseResponse: "false"
      concurrency: 1
      rate: 1000000
      timeUnit: SECONDS
`

// TestKafkaKillResume kills a consuming `connectplus run` with SIGKILL
// three times mid-stream and restarts it: every message reaches the
// sandbox (0 lost) and none twice. Messages read again after a kill (past
// the last offset commit) that were answered before it take their logged
// outcome (the position write-ahead log, blocks/httpwrite/streamwal.go);
// the request in flight at each kill — Neo has neither a lookup nor a
// duplicate code — is re-sent exactly as logged, with its idempotency key,
// before the re-read messages are batched again, so the sandbox replays
// its answer instead of storing the messages twice (before, a re-read
// batch of other messages carried another key: up to one batch of
// duplicates per kill).
func TestKafkaKillResume(t *testing.T) {
	const (
		n, batch   = 30000, 100
		kills      = 3
		cpInterval = 50 * time.Millisecond
		latency    = 5 * time.Millisecond // per API call, so the rate is bounded
	)
	dir := t.TempDir()
	bin := filepath.Join(dir, "connectplus")
	build := exec.Command("go", "build", "-o", bin, "./cmd/connectplus")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	api, broker := kafkaSandbox(t, bin, "--faults", fmt.Sprintf("latency=%s-%s", latency, latency))
	var lines []string
	for i := 0; i < n; i++ {
		lines = append(lines, fmt.Sprintf("k%d\t{\"id\":\"e%d\",\"amount\":%d}", i, i, i%1000))
	}
	testenv.KcatProduce(t, broker, "events", lines)

	flow := filepath.Join(dir, "flow.yaml")
	if err := os.WriteFile(flow, fmt.Appendf(nil, kafkaToNeoFlow, broker, batch, api, api), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(idle bool) *exec.Cmd {
		args := []string{"run", flow, "--checkpoint-dir", filepath.Join(dir, "cp"), "--no-progress",
			"--checkpoint-interval", cpInterval.String(), "--config", "api_secret=s"}
		if idle {
			args = append(args, "--idle-exit", "3s")
		}
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	delivered := func() int {
		d := 0
		for _, c := range neoDeliveries(t, api) {
			d += c
		}
		return d
	}
	for k := 1; k <= kills; k++ {
		cmd := run(false)
		target := k * n / (kills + 1)
		deadline := time.Now().Add(2 * time.Minute)
		for delivered() < target {
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("kill %d: only %d of %d messages delivered", k, delivered(), target)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
	}
	final := run(true)
	done := make(chan error, 1)
	go func() { done <- final.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("final run: %v", err)
		}
	case <-time.After(3 * time.Minute):
		_ = final.Process.Kill()
		t.Fatal("final run did not finish")
	}
	got := neoDeliveries(t, api)
	lost, dups := 0, 0
	for i := 0; i < n; i++ {
		c := got[fmt.Sprintf("e%d", i)]
		if c == 0 {
			lost++
		}
		if c > 1 {
			dups += c - 1
		}
	}
	res, err := http.Get(api + "/_sandbox/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st sandbox.Stats
	err = json.NewDecoder(res.Body).Decode(&st)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kill -9 x%d over %d messages: %d lost, %d duplicates, %d idempotent replays", kills, n, lost, dups, st.IdempotentReplays)
	if lost != 0 || dups != 0 {
		t.Errorf("%d messages lost, %d duplicates", lost, dups)
	}
	if strings.Contains(fmt.Sprint(got[""]), "1") {
		t.Errorf("messages without an id reached the sandbox")
	}
}

// TestRunSandboxKafka: `run --sandbox` points every Kafka block at the
// sandbox broker whatever connection the dataflow names (here one whose
// Extension Configurations do not exist), runs the stream until it is
// idle, and reports its window like a file.
func TestRunSandboxKafka(t *testing.T) {
	kb, err := sandbox.StartKafka(sandbox.KafkaConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer kb.Close()
	var lines []string
	for i := 0; i < 40; i++ {
		lines = append(lines, fmt.Sprintf("c%d\t{\"customerId\":\"c%d\",\"points\":%d}", i, i, i*10))
	}
	lines = append(lines, "bad\tnot json")
	testenv.KcatProduce(t, kb.Addr(), "points", lines)
	dir := t.TempDir()
	flow := filepath.Join(dir, "flow.yaml")
	doc := `name: points_relay
blocks:
  - type: kafka_topic_read
    name: read
    config: {topics: points, kafkaConnectionService: brand-kafka, windowDuration: 1m}
    relations: [write]
  - type: kafka_topic_write
    name: write
    config: {topics: points.out, kafkaConnectionService: brand-kafka, kafkakey: "${customerId}"}
`
	if err := os.WriteFile(flow, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, "run", flow, "--sandbox", "--kafka-broker", kb.Addr(), "--idle-exit", "2s",
		"--checkpoint-dir", filepath.Join(dir, "cp"), "--json")
	if code != ExitPartial {
		t.Fatalf("exit %d (want %d: one message is not JSON)\n%s\n%s", code, ExitPartial, stdout, stderr)
	}
	var report struct {
		Files []struct {
			Counts struct{ In, Delivered, Failed int64 }
		}
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(report.Files) != 1 || report.Files[0].Counts.In != 41 || report.Files[0].Counts.Delivered != 40 || report.Files[0].Counts.Failed != 1 {
		t.Fatalf("report %+v", report.Files)
	}
	kept, _ := filepath.Glob(filepath.Join(dir, "cp", "results", "*_result_*_points_*"))
	if len(kept) != 1 {
		t.Fatalf("kept result files %v", kept)
	}
	if b, _ := os.ReadFile(kept[0]); !strings.Contains(string(b), "not valid JSON") || strings.Count(string(b), "\n") != 42 {
		t.Errorf("result file:\n%s", b)
	}
	out := testenv.KcatConsume(t, kb.Addr(), "points.out", 40, 30*time.Second)
	for _, m := range out {
		var v struct{ CustomerID string }
		if err := json.Unmarshal([]byte(m.Payload), &v); err != nil || m.Key != v.CustomerID {
			t.Errorf("message %q key %q", m.Payload, m.Key)
		}
	}
}
