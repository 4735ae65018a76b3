package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// rssKB reads a process's resident set size from /proc.
func rssKB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// BenchmarkKafkaFailingDestinationRSS runs `connectplus run` on a topic
// holding far more messages than it can get rid of, into an API that
// answers every call with 503 (retried, then failed with the reason), for
// CONNECTPLUS_RSS_SECONDS (default 60) seconds, sampling the run's RSS.
// Back-pressure stops fetching while the destination is busy, so the RSS
// stays flat instead of growing with the backlog: rss-growth-MB compares
// the last third of the samples with the middle third. The run gets a
// 64 MiB heap budget (GOMEMLIMIT), so a leak would show as RSS past it.
// Run with -benchtime 1x.
func BenchmarkKafkaFailingDestinationRSS(b *testing.B) {
	secs := 60
	if v, err := strconv.Atoi(os.Getenv("CONNECTPLUS_RSS_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "connectplus")
	build := exec.Command("go", "build", "-o", bin, "./cmd/connectplus")
	build.Dir = repoRoot(b)
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	api, broker := kafkaSandbox(b, bin, "--store=false", "--faults", "5xx=1,codes=503")
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.AllowAutoTopicCreation(), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	const backlog = 300_000
	recs := make([]*kgo.Record, 0, 10000)
	for i := 0; i < backlog; i++ {
		recs = append(recs, &kgo.Record{Topic: "events", Value: []byte(fmt.Sprintf(`{"id":"e%d","pad":"%0200d"}`, i, i))})
		if len(recs) == cap(recs) {
			if err := cl.ProduceSync(b.Context(), recs...).FirstErr(); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	flow := filepath.Join(dir, "flow.yaml")
	doc := fmt.Sprintf(kafkaToNeoFlow, broker, 500, api, api) +
		"      maxRetries: 3\n      retryBackoff: 200ms\n      maxRetryBackoff: 1s\n"
	doc = strings.Replace(doc, "      concurrency: 1\n", "      concurrency: 4\n", 1)
	if err := os.WriteFile(flow, []byte(doc), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		cmd := exec.Command(bin, "run", flow, "--checkpoint-dir", filepath.Join(dir, "cp"), "--no-progress", "--config", "api_secret=s", "--json")
		var stdout bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, io.Discard
		// A tighter heap budget than run's default 150 MiB: growth would
		// show as RSS past it, garbage alone does not.
		cmd.Env = append(os.Environ(), "GOMEMLIMIT=64MiB")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		var samples []int64
		start := time.Now()
		for time.Since(start) < time.Duration(secs)*time.Second {
			time.Sleep(500 * time.Millisecond)
			if kb, err := rssKB(cmd.Process.Pid); err == nil {
				samples = append(samples, kb)
			}
		}
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if len(samples) < 20 {
			b.Fatalf("only %d RSS samples", len(samples))
		}
		// Growth is the mean of the last third against the middle third
		// (the first third builds caches and pools).
		third := len(samples) / 3
		mean := func(xs []int64) int64 {
			var t int64
			for _, x := range xs {
				t += x
			}
			return t / int64(len(xs))
		}
		warm, last := mean(samples[third:2*third]), mean(samples[2*third:])
		peak := int64(0)
		for _, s := range samples {
			peak = max(peak, s)
		}
		var report struct {
			Files []struct {
				Counts struct{ In, Failed int64 }
			}
		}
		if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
			b.Fatalf("run report: %v\n%s", err, stdout.String())
		}
		var in, failed int64
		for _, f := range report.Files {
			in, failed = in+f.Counts.In, failed+f.Counts.Failed
		}
		if failed == 0 || failed != in || in >= backlog {
			b.Fatalf("%d of %d messages failed (backlog %d): every call should have, and the backlog must outlast the run", failed, in, backlog)
		}
		b.ReportMetric(float64(failed)/float64(secs), "failed-msgs/s")
		b.ReportMetric(float64(warm)/1024, "rss-mid-MB")
		b.ReportMetric(float64(last)/1024, "rss-last-MB")
		b.ReportMetric(float64(peak)/1024, "rss-peak-MB")
		b.ReportMetric(float64(last-warm)/1024, "rss-growth-MB")
		b.Logf("%ds at 100%% 503: %d messages failed with the reason (backlog %d); RSS middle third %.1f MB, last third %.1f MB, peak %.1f MB (%d samples)",
			secs, failed, backlog, float64(warm)/1024, float64(last)/1024, float64(peak)/1024, len(samples))
	}
}
