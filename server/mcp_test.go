package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/connectplus/connectplus/assist/assisttest"
)

// assistServer serves the API of e's service (the assistant and /mcp
// included) on a test listener.
func assistServer(t *testing.T, e *assisttest.Env) *httptest.Server {
	t.Helper()
	srv, err := New(Config{Service: e.Service, Redactor: e.Redactor, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs
}

// bearer adds an API token to every request of an MCP client.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

func mcpClient(t *testing.T, url, token string) *mcp.ClientSession {
	t.Helper()
	tr := &mcp.StreamableClientTransport{Endpoint: url + MCPPath, HTTPClient: &http.Client{Transport: bearer{token, http.DefaultTransport}}, DisableStandaloneSSE: true}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(context.Background(), tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func mcpCall(t *testing.T, cs *mcp.ClientSession, name string, args any, out any) string {
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

// The MCP endpoint over streamable HTTP, driven by the Go SDK's client:
// initialize, list tools, create a Draft from a template, validate,
// preview; a viewer cannot create; org B cannot read org A.
func TestMCPOverHTTP(t *testing.T) {
	e := assisttest.New(t)
	hs := assistServer(t, e)

	ed := mcpClient(t, hs.URL, e.EditorA.Token)
	if ir := ed.InitializeResult(); ir == nil || ir.ServerInfo.Name != "connectplus" || ir.Capabilities.Tools == nil {
		t.Fatalf("initialize: %+v", ir)
	}
	lt, err := ed.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range lt.Tools {
		names = append(names, tl.Name)
	}
	sort.Strings(names)
	for _, want := range []string{"create_draft", "describe_block", "eval_jslt", "preview", "update_draft", "validate"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Fatalf("tools: %v", names)
		}
	}
	var d struct {
		Saved  bool   `json:"saved"`
		FlowID string `json:"flowId"`
		Valid  bool   `json:"valid"`
	}
	if msg := mcpCall(t, ed, "create_draft", map[string]any{"template": "bulk_add_customers", "parameters": map[string]string{"name": "over_http"}}, &d); msg != "" || !d.Saved || !d.Valid {
		t.Fatalf("create_draft: %s %+v", msg, d)
	}
	var v struct{ Valid bool }
	if msg := mcpCall(t, ed, "validate", map[string]any{"flowId": d.FlowID}, &v); msg != "" || !v.Valid {
		t.Fatalf("validate: %s %+v", msg, v)
	}
	var p struct{ Ran bool }
	sample := "firstname,lastname,value,source,loyaltyType,identifierType\nJohn,Doe,919812345678,INSTORE,loyalty,mobile\n"
	if msg := mcpCall(t, ed, "preview", map[string]any{"flowId": d.FlowID, "sample": sample}, &p); msg != "" || !p.Ran {
		t.Fatalf("preview: %s %+v", msg, p)
	}

	vw := mcpClient(t, hs.URL, e.ViewerA.Token)
	if msg := mcpCall(t, vw, "create_draft", map[string]any{"template": "add_customer", "parameters": map[string]string{"name": "nope"}}, nil); !strings.Contains(msg, "editor role") {
		t.Fatalf("viewer create: %q", msg)
	}
	b := mcpClient(t, hs.URL, e.AdminB.Token)
	if msg := mcpCall(t, b, "get_dataflow", map[string]any{"flowId": d.FlowID}, nil); !strings.HasPrefix(msg, "not found") {
		t.Fatalf("org B read: %q", msg)
	}

	// No token, a bad token or a cookie alone: 401 before any MCP.
	for _, hdr := range []string{"", "Bearer cpt_nope", "Basic eDp5"} {
		req, _ := http.NewRequest("POST", hs.URL+MCPPath, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if hdr != "" {
			req.Header.Set("Authorization", hdr)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%q: %d", hdr, res.StatusCode)
		}
	}
}

// Copy/paste over /mcp: the editor copies with org A's token and pastes
// with their token of org B; org B's admin cannot paste the editor's copy.
func TestMCPCopyPasteOverHTTP(t *testing.T) {
	e := assisttest.New(t)
	edB := e.JoinOrgB(t, "editor", "editor")
	hs := assistServer(t, e)
	a := mcpClient(t, hs.URL, e.EditorA.Token)
	var d struct{ FlowID string }
	if msg := mcpCall(t, a, "create_draft", map[string]any{"template": "bulk_add_customers", "parameters": map[string]string{"name": "to_copy"}}, &d); msg != "" {
		t.Fatal(msg)
	}
	var c struct{ CopyID string }
	if msg := mcpCall(t, a, "copy_dataflow", map[string]any{"flowId": d.FlowID, "description": "Move to org-b"}, &c); msg != "" || c.CopyID == "" {
		t.Fatalf("copy: %s %+v", msg, c)
	}
	if msg := mcpCall(t, mcpClient(t, hs.URL, e.AdminB.Token), "paste_dataflow", map[string]any{"copyId": c.CopyID}, nil); !strings.HasPrefix(msg, "not found") {
		t.Fatalf("another user's paste: %q", msg)
	}
	var p struct {
		Saved  bool
		FlowID string
		State  string
	}
	if msg := mcpCall(t, mcpClient(t, hs.URL, edB.Token), "paste_dataflow", map[string]any{"copyId": c.CopyID}, &p); msg != "" || !p.Saved || p.State != "Draft" {
		t.Fatalf("paste: %s %+v", msg, p)
	}
	f, err := e.Store.GetDataflow(context.Background(), e.OrgB.ID, p.FlowID)
	if err != nil || f.Name != "to_copy" {
		t.Fatalf("pasted into org B: %+v %v", f, err)
	}
}
