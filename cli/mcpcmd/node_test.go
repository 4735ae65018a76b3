package mcpcmd

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/assist/assisttest"
	"github.com/connectplus/connectplus/server"
)

// TestNodeSDK runs mcp/node-test/test.mjs: the official TypeScript MCP SDK
// drives `connectplus mcp` (stdio, the real binary) and the server's /mcp
// (streamable HTTP) — initialize, list tools, a Draft from a template,
// validate, preview, a viewer refused, org B refused. Its node_modules come
// from `make mcp-node-deps` (part of `make test`); when they are missing
// the test installs them with npm ci from the committed lock file.
func TestNodeSDK(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "mcp", "node-test")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "sdk")); err != nil {
		ci := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		ci.Dir = dir
		if out, err := ci.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in mcp/node-test (or run make mcp-node-deps): %v\n%s", err, out)
		}
	}
	e := assisttest.New(t)
	bin := filepath.Join(t.TempDir(), "connectplus")
	build := exec.Command("go", "build", "-o", bin, "./cmd/connectplus")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	srv, err := server.New(server.Config{Service: e.Service, Redactor: e.Redactor, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cmd := exec.Command("node", "test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CP_BIN="+bin, "CP_DATA_DIR="+e.DataDir, "CP_URL="+hs.URL,
		"CP_EDITOR="+e.EditorA.Token, "CP_VIEWER="+e.ViewerA.Token, "CP_ORG_B="+e.AdminB.Token)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node test.mjs: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "stdio: ok") || !strings.Contains(string(out), "http: ok") {
		t.Fatalf("node test.mjs:\n%s", out)
	}
	t.Logf("%s", out)
}
