package e2e

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/internal/testenv"
)

// TestObsWalkthrough is issue 17's "Done means" as one browser walkthrough
// (web/e2e/walkthrough.mjs) against `connectplus demo`: a newcomer
// schedules a daily summary report for the coming minute, sees the System
// Snapshot tiles, the dataflow list's figures and the Performance charts
// move while a dataflow runs a dropped file, creates Slack and email
// channels and a custom alert (API filter included) from the UI, breaks
// the API sandbox on purpose (every call 500), receives the alert email in
// mailpit and a Slack Block Kit message on a loopback incoming webhook,
// acknowledges and closes the issue in the Issues page (both notified),
// and receives the daily report once its time of day passes. The demo
// evaluates every 5 s (--alert-interval): the walkthrough takes about a
// minute and a half.
//
//	CP_SCREENSHOTS=/tmp/shots go test -run TestObsWalkthrough ./e2e/
func TestObsWalkthrough(t *testing.T) {
	web, node, out := browserTools(t)
	const pw = "walkthrough-e2e-password"
	mail := testenv.Mailpit(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	p := startDemo(t, ctx, pw, "--smtp", mail.SMTPHost+":"+strconv.Itoa(mail.SMTPPort), "--alert-interval", "5s")
	run := exec.CommandContext(ctx, node, "e2e/walkthrough.mjs")
	run.Dir = web
	run.Env = append(os.Environ(), "CP_URL="+p.url, "CP_PASSWORD="+pw, "CP_OUT="+out, "CP_MAILPIT="+mail.API,
		"CP_FILES="+p.files, "CP_SANDBOX="+p.sandbox)
	t0 := time.Now()
	res, err := run.CombinedOutput()
	t.Logf("walkthrough (%v, screenshots in %s):\n%s", time.Since(t0).Round(time.Second), out, res)
	if err != nil {
		t.Fatalf("walkthrough failed: %v\ndemo log:\n%s", err, tail(p.log, 40))
	}
	if !strings.Contains(string(res), "walkthrough complete") {
		t.Fatal("the walkthrough did not reach its end")
	}
}

// browserTools checks what a browser suite needs (Debian's Chromium,
// playwright-core in web/, node) and returns the web/ folder, node's path
// and where screenshots go ($CP_SCREENSHOTS, else the test's temp dir).
func browserTools(t *testing.T) (web, node, out string) {
	t.Helper()
	web, err := filepath.Abs("../web")
	if err != nil {
		t.Fatal(err)
	}
	for _, need := range []string{"/usr/bin/chromium", filepath.Join(web, "node_modules", "playwright-core")} {
		if _, err := os.Stat(need); err != nil {
			t.Fatalf("%s is missing: run `make test` (it installs Chromium and runs npm ci in web/)", need)
		}
	}
	if node, err = exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed (Node 20 is needed for the browser tests)")
	}
	if out = os.Getenv("CP_SCREENSHOTS"); out == "" {
		out = t.TempDir()
	}
	return web, node, out
}

// demo is a running `connectplus demo` and what it printed.
type demo struct {
	// url is the web UI, files the local folders' root, sandbox the API
	// sandbox's base URL, log the file its stderr goes to.
	url, files, sandbox, log string
}

// startDemo starts `connectplus demo` on a free loopback port with a fresh
// data directory and one password for every user, waits until it has
// printed its URL, folders and sandbox, and stops it (SIGINT, then kill)
// when the test ends.
func startDemo(t *testing.T, ctx context.Context, password string, args ...string) demo {
	t.Helper()
	cmd := exec.CommandContext(ctx, serverBin, append([]string{"demo", "--listen", freeAddr(t), "--data-dir", t.TempDir(), "--password", password}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), "demo.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
		logf.Close()
	})
	// The lines a newcomer reads: the URL, the local folders and the
	// sandbox's address.
	found := make(chan demo, 1)
	go func() {
		d := demo{log: logf.Name()}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "http://127.0.0.1:"):
				d.url = strings.TrimSpace(line)
			case strings.HasPrefix(line, "Local files: "):
				d.files, _, _ = strings.Cut(strings.TrimPrefix(line, "Local files: "), " (")
			case strings.HasPrefix(line, "API sandbox: "):
				d.sandbox, _, _ = strings.Cut(strings.TrimPrefix(line, "API sandbox: "), " (")
			}
			if d.url != "" && d.files != "" && d.sandbox != "" {
				found <- d
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case d := <-found:
		return d
	case <-time.After(60 * time.Second):
		t.Fatalf("the demo did not print its URL, folders and sandbox; log:\n%s", tail(logf.Name(), 40))
	}
	return demo{}
}
