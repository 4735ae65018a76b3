package mcpcmd

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/connectplus/connectplus/assist/assisttest"
	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/all"
)

func call(t *testing.T, cs *mcp.ClientSession, name string, args any, out any) string {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.IsError {
		return res.Content[0].(*mcp.TextContent).Text
	}
	if out != nil {
		b, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
	return ""
}

// The command in-process, over pipes: the Go SDK client sees the tools and
// creates a Draft as the token's user.
func TestStdioInProcess(t *testing.T) {
	e := assisttest.New(t)
	cmd := NewCommand(Deps{Version: "test", Registry: func() *block.Registry { return all.Registry() }})
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	cmd.SetIn(inR)
	cmd.SetOut(outW)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"--data-dir", e.DataDir, "--token", e.EditorA.Token})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(ctx, &mcp.IOTransport{Reader: outR, Writer: inW}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Saved bool `json:"saved"`
		Valid bool `json:"valid"`
	}
	if msg := call(t, cs, "create_draft", map[string]any{"template": "csv_to_jsonl", "parameters": map[string]string{"name": "stdio_flow"}}, &d); msg != "" || !d.Saved || !d.Valid {
		t.Fatalf("create_draft: %s %+v", msg, d)
	}
	cs.Close()
	inW.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("command: %v", err)
	}
}

func TestStdioNeedsAGoodToken(t *testing.T) {
	e := assisttest.New(t)
	for _, c := range []struct{ args []string }{
		{[]string{"--data-dir", e.DataDir}},
		{[]string{"--data-dir", e.DataDir, "--token", "cpt_wrong"}},
		{[]string{"--data-dir", filepath.Join(e.DataDir, "nope"), "--token", e.EditorA.Token}},
	} {
		t.Setenv(EnvToken, "")
		cmd := NewCommand(Deps{Registry: all.Registry})
		cmd.SetArgs(c.args)
		cmd.SetIn(strings.NewReader(""))
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		if err := cmd.Execute(); err == nil {
			t.Errorf("%v: no error", c.args)
		}
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// The real binary over stdio, as Claude Desktop starts it: initialize,
// list tools, create a Draft from a template, validate, preview; a viewer's
// token cannot create; org B's token cannot read org A's dataflow.
func TestStdioBinary(t *testing.T) {
	e := assisttest.New(t)
	bin := filepath.Join(t.TempDir(), "connectplus")
	build := exec.Command("go", "build", "-o", bin, "./cmd/connectplus")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	connect := func(token string) *mcp.ClientSession {
		c := exec.Command(bin, "mcp", "--data-dir", e.DataDir)
		c.Env = append(os.Environ(), EnvToken+"="+token)
		c.Stderr = os.Stderr
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		t.Cleanup(cancel)
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(ctx, &mcp.CommandTransport{Command: c}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs.Close() })
		return cs
	}
	ed := connect(e.EditorA.Token)
	if ir := ed.InitializeResult(); ir.ServerInfo.Name != "connectplus" || ir.Instructions == "" {
		t.Fatalf("initialize: %+v", ir)
	}
	lt, err := ed.ListTools(context.Background(), nil)
	if err != nil || len(lt.Tools) < 15 {
		t.Fatalf("tools: %v %d", err, len(lt.Tools))
	}
	for _, tl := range lt.Tools {
		if tl.InputSchema == nil {
			t.Errorf("%s has no input schema", tl.Name)
		}
	}
	var d struct {
		Saved  bool   `json:"saved"`
		FlowID string `json:"flowId"`
	}
	if msg := call(t, ed, "create_draft", map[string]any{"template": "add_transactions", "parameters": map[string]string{"name": "tx_from_claude"}}, &d); msg != "" || !d.Saved {
		t.Fatalf("create_draft: %s %+v", msg, d)
	}
	var v struct{ Valid bool }
	if msg := call(t, ed, "validate", map[string]any{"flowId": d.FlowID}, &v); msg != "" || !v.Valid {
		t.Fatalf("validate: %s %+v", msg, v)
	}
	var ti struct{ Sample string }
	call(t, ed, "describe_template", map[string]any{"name": "add_transactions"}, &ti)
	var p struct {
		Ran    bool `json:"ran"`
		Result struct {
			Counts struct{ In int } `json:"counts"`
		} `json:"result"`
	}
	if msg := call(t, ed, "preview", map[string]any{"flowId": d.FlowID, "sample": ti.Sample}, &p); msg != "" || !p.Ran || p.Result.Counts.In == 0 {
		t.Fatalf("preview: %s %+v", msg, p)
	}
	if msg := call(t, connect(e.ViewerA.Token), "create_draft", map[string]any{"template": "add_customer", "parameters": map[string]string{"name": "v"}}, nil); !strings.Contains(msg, "editor role") {
		t.Fatalf("viewer: %q", msg)
	}
	if msg := call(t, connect(e.AdminB.Token), "get_dataflow", map[string]any{"flowId": d.FlowID}, nil); !strings.HasPrefix(msg, "not found") {
		t.Fatalf("org B: %q", msg)
	}
}
