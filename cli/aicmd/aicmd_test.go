package aicmd

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/connectplus/connectplus/assist/agent"
	"github.com/connectplus/connectplus/assist/assisttest"
	"github.com/connectplus/connectplus/server"
	"github.com/connectplus/connectplus/store"
)

func run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := NewCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// `connectplus ai draft` against a server whose model is a scripted
// OpenAI-compatible endpoint: answering no saves nothing, yes saves a
// Draft.
func TestDraft(t *testing.T) {
	e := assisttest.New(t)
	srv, err := server.New(server.Config{Service: e.Service, Redactor: e.Redactor})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("CONNECTPLUS_SERVER", hs.URL)
	t.Setenv("CONNECTPLUS_TOKEN", e.EditorA.Token)

	out, err := run(t, "", "status")
	if err != nil || !strings.Contains(out, `"configured": false`) {
		t.Fatalf("status: %v %s", err, out)
	}
	if _, err := run(t, "", "draft", "anything"); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Fatalf("unconfigured draft: %v", err)
	}

	var mu sync.Mutex
	n := 0
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		i := n
		n++
		mu.Unlock()
		if i%2 == 0 {
			io.WriteString(w, `{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"create_draft","arguments":"{\"template\":\"bulk_add_customers\",\"parameters\":{\"name\":\"sftp_bulk\"}}"}}]}}]}`)
			return
		}
		io.WriteString(w, `{"choices":[{"message":{"role":"assistant","content":"Reads CSVs, converts them in groups of 10 and posts them to /v2/customers/bulk."}}]}`)
	}))
	t.Cleanup(model.Close)
	e.SetConfig(t, agent.ConfigBaseURL, model.URL, false)
	e.SetConfig(t, agent.ConfigModel, "scripted", false)
	e.SetConfig(t, agent.ConfigAPIKey, "sk-cli", true)

	prompt := "Read a CSV from SFTP, convert it to JSON and call the v2 customer bulk API"
	out, err = run(t, "n\n", "draft", prompt)
	if err != nil || !strings.Contains(out, "/v2/customers/bulk") || !strings.Contains(out, "Not saved.") {
		t.Fatalf("draft, declined: %v %s", err, out)
	}
	count := func() int {
		p, err := e.Service.ListDataflows(context.Background(), e.EditorA.Actor, store.FlowFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(p.Items)
	}
	if count() != 0 {
		t.Fatal("a declined proposal was saved")
	}
	out, err = run(t, "y\n", "draft", prompt)
	if err != nil || !strings.Contains(out, "as a Draft") {
		t.Fatalf("draft, accepted: %v %s", err, out)
	}
	if count() != 1 {
		t.Fatal("the accepted proposal was not saved")
	}
}

// `connectplus ai ask` runs a turn in ask mode: the scripted model searches
// the docs and answers from the passage it got.
func TestAsk(t *testing.T) {
	e := assisttest.New(t)
	srv, err := server.New(server.Config{Service: e.Service, Redactor: e.Redactor})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("CONNECTPLUS_SERVER", hs.URL)
	t.Setenv("CONNECTPLUS_TOKEN", e.ViewerA.Token)
	var mu sync.Mutex
	var bodies []string
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		i := len(bodies)
		mu.Unlock()
		if i == 1 {
			io.WriteString(w, `{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"search_docs","arguments":"{\"query\":\"maker-checker approve own submission\"}"}}]}}]}`)
			return
		}
		// The answer quotes whether the passage reached the model.
		answer := "no passage"
		if strings.Contains(string(b), "Maker-checker") {
			answer = "Nobody approves their own submission (docs/SECURITY.md, Maker-checker)."
		}
		io.WriteString(w, `{"choices":[{"message":{"role":"assistant","content":"`+answer+`"}}]}`)
	}))
	t.Cleanup(model.Close)
	e.SetConfig(t, agent.ConfigBaseURL, model.URL, false)
	e.SetConfig(t, agent.ConfigModel, "scripted", false)
	e.SetConfig(t, agent.ConfigAPIKey, "sk-cli", true)
	out, err := run(t, "", "ask", "Can an admin approve their own submission?")
	if err != nil || !strings.Contains(out, "docs/SECURITY.md, Maker-checker") {
		t.Fatalf("ask: %v %s", err, out)
	}
	if !strings.Contains(bodies[0], `"ask"`) && !strings.Contains(bodies[0], "product question") {
		t.Fatalf("not in ask mode: %.300s", bodies[0])
	}
}
