package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// kcatBin is kcat (librdkafka's command-line client, Debian package kcat);
// override with KCAT_BIN.
func kcatBin() string { return firstExisting(os.Getenv("KCAT_BIN"), "/usr/bin/kcat") }

// KcatMessage is one message as kcat -J prints it.
type KcatMessage struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Payload   string
	Headers   map[string]string
}

// KcatProduce produces one message per line of lines to topic on broker
// with kcat: "key<TAB>value" lines are keyed; every message carries the
// given headers (name=value).
func KcatProduce(t testing.TB, broker, topic string, lines []string, headers ...string) {
	t.Helper()
	bin := kcatBin()
	requireBinary(t, bin)
	args := []string{"-P", "-b", broker, "-t", topic, "-K", "\t", "-X", "enable.idempotence=true"}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat -P %s: %v\n%s", topic, err, stderr.String())
	}
}

// KcatConsume reads n messages of topic from the beginning with kcat
// (failing after within).
func KcatConsume(t testing.TB, broker, topic string, n int, within time.Duration) []KcatMessage {
	t.Helper()
	bin := kcatBin()
	requireBinary(t, bin)
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-C", "-b", broker, "-t", topic, "-o", "beginning", "-c", fmt.Sprint(n), "-J", "-q")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat -C %s: %v (got %d lines)\n%s", topic, err, strings.Count(stdout.String(), "\n"), stderr.String())
	}
	var out []KcatMessage
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if line == "" {
			continue
		}
		var m struct {
			Topic     string   `json:"topic"`
			Partition int32    `json:"partition"`
			Offset    int64    `json:"offset"`
			Key       *string  `json:"key"`
			Payload   *string  `json:"payload"`
			Headers   []string `json:"headers"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("kcat -J line %q: %v", line, err)
		}
		km := KcatMessage{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Headers: map[string]string{}}
		if m.Key != nil {
			km.Key = *m.Key
		}
		if m.Payload != nil {
			km.Payload = *m.Payload
		}
		for i := 0; i+1 < len(m.Headers); i += 2 {
			km.Headers[m.Headers[i]] = m.Headers[i+1]
		}
		out = append(out, km)
	}
	return out
}
