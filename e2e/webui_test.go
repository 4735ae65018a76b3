package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/internal/testenv"
)

// TestWebUI runs the browser end-to-end suite (web/e2e/run.mjs: playwright-core
// driving Debian's Chromium) against `connectplus demo` on a loopback port:
// log in, build a dataflow on the canvas, validate, preview, save; submit as
// one admin, see the approval refused, approve as the second, make Live, run
// and download the result; a viewer cannot edit; a 409 on concurrent save.
// The observability and alert pages (issue 17) are driven too: the System
// Snapshot, the Performance tab, a custom alert made in the UI that opens
// an issue notified to a loopback webhook, acknowledged and closed, and a
// summary report sent to mailpit (the demo's --smtp).
// Screenshots go to $CP_SCREENSHOTS (default: the test's temp dir).
// `make test` installs Chromium and the web dependencies first; alone:
//
//	CP_SCREENSHOTS=/tmp/shots go test -run TestWebUI ./e2e/
func TestWebUI(t *testing.T) {
	web, node, out := browserTools(t)
	const pw = "webui-e2e-password"
	// Alert emails and the summary report go to a real SMTP server.
	mail := testenv.Mailpit(t)
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	d := startDemo(t, ctx, pw, "--smtp", mail.SMTPHost+":"+strconv.Itoa(mail.SMTPPort))
	url := d.url
	run := exec.CommandContext(ctx, node, "e2e/run.mjs")
	run.Dir = web
	run.Env = append(os.Environ(), "CP_URL="+url, "CP_PASSWORD="+pw, "CP_OUT="+out, "CP_MAILPIT="+mail.API)
	res, err := run.CombinedOutput()
	t.Logf("browser suite (screenshots in %s):\n%s", out, res)
	if err != nil {
		t.Fatalf("browser suite failed: %v\ndemo log:\n%s", err, tail(d.log, 40))
	}
	shots, _ := filepath.Glob(filepath.Join(out, "*.png"))
	if len(shots) < 5 {
		t.Fatalf("only %d screenshots in %s", len(shots), out)
	}
	if !strings.Contains(string(res), "ok ") {
		t.Fatal("the browser suite reported no passing step")
	}
}
