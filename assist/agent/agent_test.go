package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/connectplus/connectplus/assist/agent"
	"github.com/connectplus/connectplus/assist/assisttest"
	"github.com/connectplus/connectplus/assist/tools"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/store"
)

// apiKey is the model's API key (a secret Extension Configuration): it
// goes in the Authorization header and nowhere else.
const apiKey = "sk-test-KEY-0c9a"

// step answers one chat-completions request.
type step func(t *testing.T, req map[string]any) (status int, body string)

// model is the scripted OpenAI-compatible endpoint: it replays a recorded
// tool-calling conversation and records every request it gets.
type model struct {
	t     *testing.T
	srv   *httptest.Server
	mu    sync.Mutex
	next  int
	steps []step
	// bodies and headers of every request, as sent.
	bodies  []string
	headers []http.Header
	// hang makes every request wait until the client gives up.
	hang bool
}

func newModel(t *testing.T, steps ...step) *model {
	m := &model{t: t, steps: steps}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *model) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	m.mu.Lock()
	m.bodies = append(m.bodies, string(b))
	m.headers = append(m.headers, r.Header.Clone())
	i := m.next
	m.next++
	hang := m.hang
	m.mu.Unlock()
	if hang {
		<-r.Context().Done()
		return
	}
	if r.URL.Path != "/v1/chat/completions" {
		http.Error(w, "wrong path "+r.URL.Path, 404)
		return
	}
	var req map[string]any
	if err := json.Unmarshal(b, &req); err != nil {
		http.Error(w, "bad json", 400)
		return
	}
	if i >= len(m.steps) {
		m.t.Errorf("model called %d times, script has %d steps", i+1, len(m.steps))
		http.Error(w, "script exhausted", 500)
		return
	}
	status, body := m.steps[i](m.t, req)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// toolCall answers with one tool call.
func toolCall(name string, args any) step {
	return func(*testing.T, map[string]any) (int, string) { return 200, callBody(name, args) }
}

var callN int

func callBody(name string, args any) string {
	a, _ := json.Marshal(args)
	callN++
	b, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"finish_reason": "tool_calls", "message": map[string]any{
		"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"id": fmt.Sprintf("call_%d", callN), "type": "function",
			"function": map[string]any{"name": name, "arguments": string(a)}}}}}}})
	return string(b)
}

func say(text string) step {
	return func(*testing.T, map[string]any) (int, string) {
		b, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": text}}}})
		return 200, string(b)
	}
}

// lastTool is the content of the last tool message the model was sent.
func lastTool(req map[string]any) string {
	msgs, _ := req["messages"].([]any)
	for i := len(msgs) - 1; i >= 0; i-- {
		m, _ := msgs[i].(map[string]any)
		if m["role"] == "tool" {
			s, _ := m["content"].(string)
			return s
		}
	}
	return ""
}

func expectTool(want string, then step) step {
	return func(t *testing.T, req map[string]any) (int, string) {
		if got := lastTool(req); !strings.Contains(got, want) {
			t.Errorf("the model was sent %q, want it to contain %q", got, want)
		}
		return then(t, req)
	}
}

type fixture struct {
	e  *assisttest.Env
	as *agent.Assistant
	ts *tools.Toolset
}

func setup(t *testing.T, m *model, timeout time.Duration) *fixture {
	t.Helper()
	e := assisttest.New(t)
	if m != nil {
		e.SetConfig(t, agent.ConfigBaseURL, m.srv.URL+"/v1", false)
		e.SetConfig(t, agent.ConfigModel, "scripted-1", false)
		e.SetConfig(t, agent.ConfigAPIKey, apiKey, true)
	}
	ts, err := tools.New(tools.Deps{Service: e.Service, Redactor: e.Redactor, TempRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	as, err := agent.New(agent.Options{Tools: ts, Service: e.Service, Resolve: e.Store.ResolveConfig, CallTimeout: timeout, Redactor: e.Redactor})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{e: e, as: as, ts: ts}
}

func (f *fixture) flows(t *testing.T) []store.Dataflow {
	t.Helper()
	p, err := f.e.Service.ListDataflows(context.Background(), f.e.AdminA.Actor, store.FlowFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Items
}

// noSecrets greps every recorded request for secret values: the secret
// Extension Configuration, an inline secret held by a Draft, and the API
// key outside its Authorization header.
func (m *model) noSecrets(t *testing.T, extra ...string) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, b := range m.bodies {
		for _, s := range append([]string{assisttest.SecretValue, apiKey}, extra...) {
			if strings.Contains(b, s) {
				t.Errorf("request %d to the model holds a secret value %q", i, s)
			}
		}
		for k, vs := range m.headers[i] {
			for _, v := range vs {
				if strings.Contains(v, assisttest.SecretValue) || (k != "Authorization" && strings.Contains(v, apiKey)) {
					t.Errorf("request %d header %s holds a secret", i, k)
				}
			}
		}
		if got := m.headers[i].Get("Authorization"); got != "Bearer "+apiKey {
			t.Errorf("request %d Authorization %q", i, got)
		}
	}
}

// bad is a proposal the validator rejects: an unknown block type and a
// relation to a block that does not exist.
var bad = map[string]any{"name": "sftp_to_bulk", "blocks": []any{
	map[string]any{"type": "sftp_reader", "name": "read", "config": map[string]any{}, "relations": []any{map[string]any{"to": "convert"}}},
}}

// A wrong first proposal is refused by the validator and fed back; the
// repair round fixes it; nothing is saved before the user accepts, and
// accepting saves exactly a Draft.
func TestRepairThenAccept(t *testing.T) {
	m := newModel(t,
		toolCall("describe_template", map[string]any{"name": "bulk_add_customers"}),
		expectTool("baseDirectory", toolCall("create_draft", map[string]any{"document": bad})),
		expectTool("does not validate", toolCall("create_draft", map[string]any{"template": "bulk_add_customers",
			"parameters": map[string]string{"name": "sftp_to_bulk", "baseDirectory": "/data/sftp"}})),
		expectTool("Proposed a new dataflow", say("read: picks up CSVs; convert: groups of 10; transform: the bulk payload; post: /v2/customers/bulk.")),
	)
	f := setup(t, m, 0)
	ctx := context.Background()
	res, err := f.as.Run(ctx, f.e.EditorA.Actor, agent.Request{Prompt: "Read a CSV from SFTP, convert it to JSON and call the v2 customer bulk API", Mode: agent.ModeDraft})
	if err != nil {
		t.Fatal(err)
	}
	if res.Proposal == nil || res.Proposal.Kind != "create" || res.Repairs != 1 || !strings.Contains(res.Reply, "/v2/customers/bulk") ||
		!strings.Contains(res.Diff, "post") || !strings.Contains(res.Proposal.Document, "/data/sftp") {
		t.Fatalf("response: %+v", res)
	}
	if fs := f.flows(t); len(fs) != 0 {
		t.Fatalf("saved before acceptance: %+v", fs)
	}
	// The refused proposal never reaches the store, even when a client
	// sends it to Accept.
	badText, _ := json.Marshal(bad)
	if _, err := f.as.Accept(ctx, f.e.EditorA.Actor, tools.Proposal{Kind: "create", Name: "sftp_to_bulk", Document: string(badText)}); err == nil {
		t.Fatal("an invalid proposal was accepted")
	}
	// A viewer cannot accept.
	if _, err := f.as.Accept(ctx, f.e.ViewerA.Actor, *res.Proposal); !errors.Is(err, control.ErrForbidden) {
		t.Fatalf("viewer accept: %v", err)
	}
	acc, err := f.as.Accept(ctx, f.e.EditorA.Actor, *res.Proposal)
	if err != nil {
		t.Fatal(err)
	}
	if acc.State != store.StateDraft || acc.Version != 1 {
		t.Fatalf("accept: %+v", acc)
	}
	vs, err := f.e.Service.ListVersions(ctx, f.e.EditorA.Actor, acc.FlowID)
	if err != nil || len(vs) != 1 || vs[0].State != store.StateDraft || vs[0].SubmittedBy != "" {
		t.Fatalf("versions: %v %+v", err, vs)
	}
	m.noSecrets(t)
}

// Modify the open Draft by prompt: the model patches it; the proposal
// carries the revision it was based on, so a concurrent edit wins.
func TestModifyOpenDraft(t *testing.T) {
	var flowID string
	var rev int64
	m := newModel(t,
		func(t *testing.T, req map[string]any) (int, string) {
			// The open Draft came with the request: flowId and revision.
			msgs, _ := json.Marshal(req["messages"])
			if !strings.Contains(string(msgs), flowID) || !strings.Contains(string(msgs), "groupSize: 10") {
				t.Errorf("the open Draft was not sent: %s", msgs)
			}
			return 200, callBody("update_draft", map[string]any{"flowId": flowID, "revision": rev,
				"patch": []any{map[string]any{"op": "replace", "path": "/blocks/1/config/groupSize", "value": 20}}})
		},
		expectTool("Proposed a change", say("Changed the group size of convert from 10 to 20.")),
	)
	f := setup(t, m, 0)
	ctx := context.Background()
	text, err := tools.ExampleTemplates{}.Render("bulk_add_customers", map[string]string{"name": "bulk"})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := f.e.Service.CreateDataflow(ctx, f.e.EditorA.Actor, control.CreateFlowInput{Name: "bulk", Document: string(text)})
	if err != nil {
		t.Fatal(err)
	}
	flowID, rev = cr.Dataflow.ID, cr.Version.Revision
	res, err := f.as.Run(ctx, f.e.EditorA.Actor, agent.Request{Prompt: "update the group size from 10 to 20", FlowID: flowID})
	if err != nil {
		t.Fatal(err)
	}
	if res.Proposal == nil || res.Proposal.Kind != "update" || res.Proposal.Revision != rev || !strings.Contains(res.Diff, "groupSize") || res.Repairs != 0 {
		t.Fatalf("response: %+v", res)
	}
	v, _ := f.e.Service.GetVersion(ctx, f.e.EditorA.Actor, flowID, 1)
	if v.Revision != rev || strings.Contains(v.Document, "groupSize: 20") {
		t.Fatalf("the Draft changed before acceptance: %+v", v)
	}
	acc, err := f.as.Accept(ctx, f.e.EditorA.Actor, *res.Proposal)
	if err != nil {
		t.Fatal(err)
	}
	v, _ = f.e.Service.GetVersion(ctx, f.e.EditorA.Actor, flowID, 1)
	if acc.Revision != rev+1 || !strings.Contains(v.Document, "groupSize: 20") || v.State != store.StateDraft {
		t.Fatalf("accepted: %+v %s", acc, v.Document)
	}
	// Accepting the same (now stale) proposal again fails: someone saved.
	if _, err := f.as.Accept(ctx, f.e.EditorA.Actor, *res.Proposal); !errors.Is(err, control.ErrConflict) {
		t.Fatalf("stale accept: %v", err)
	}
	m.noSecrets(t)
}

// Explaining a Draft that holds an inline secret (saved through the REST
// API) sends the model the masked document; list_configs and a preview
// send names and placeholders, never values.
func TestNoSecretReachesTheModel(t *testing.T) {
	const inline = "inline-SECRET-value-55"
	var flowID string
	m := newModel(t,
		toolCall("list_configs", map[string]any{}),
		func(t *testing.T, req map[string]any) (int, string) {
			return 200, callBody("get_dataflow", map[string]any{"flowId": flowID})
		},
		expectTool("****", func(t *testing.T, req map[string]any) (int, string) {
			tpl, _ := tools.ExampleTemplates{}.Get("add_customer")
			doc, _ := tools.ExampleTemplates{}.Render("add_customer", map[string]string{"name": "x"})
			return 200, callBody("preview", map[string]any{"document": string(doc), "sample": tpl.Sample, "maxRecords": 2})
		}),
		expectTool("capillary_client_secret\\\" is replaced by a placeholder", say("post sends each customer to /v2/customers with the configured credentials.")),
	)
	f := setup(t, m, 0)
	ctx := context.Background()
	doc, _ := tools.ExampleTemplates{}.Render("add_customer", map[string]string{"name": "held"})
	d, err := dataflow.Parse(doc, "d.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i := range d.Blocks {
		if d.Blocks[i].Type == "http_write" {
			d.Blocks[i].Config["clientSecret"] = inline
		}
	}
	withInline, _ := dataflow.Marshal(d, "yaml")
	cr, err := f.e.Service.CreateDataflow(ctx, f.e.EditorA.Actor, control.CreateFlowInput{Name: "held", Document: string(doc)})
	if err != nil {
		t.Fatal(err)
	}
	flowID = cr.Dataflow.ID
	// As a Draft saved before control refused inline secrets.
	f.e.SetDocument(t, f.e.EditorA.Actor.OrgID, flowID, 1, string(withInline))
	// Resolve the secret once, as the runtime does, so the redactor knows
	// it too.
	if v, err := f.e.Store.ResolveConfig(ctx, f.e.EditorA.Actor.OrgID, "capillary_client_secret"); err != nil || v != assisttest.SecretValue {
		t.Fatal(err)
	}
	res, err := f.as.Run(ctx, f.e.ViewerA.Actor, agent.Request{Prompt: "explain the held dataflow block by block", Mode: agent.ModeExplain})
	if err != nil {
		t.Fatal(err)
	}
	if res.Proposal != nil || !strings.Contains(res.Reply, "/v2/customers") || len(res.Steps) != 3 {
		t.Fatalf("response: %+v", res)
	}
	m.noSecrets(t, inline, "client-key-1", "sftp.example.com")
}

// A model that answers garbage — not JSON, no choices, tool arguments
// that are not JSON — is asked again a bounded number of times, then the
// turn fails; nothing is saved.
func TestGarbage(t *testing.T) {
	junk := func(body string) step { return func(*testing.T, map[string]any) (int, string) { return 200, body } }
	m := newModel(t,
		junk("<html>not json</html>"),
		junk(`{"choices": []}`),
		func(*testing.T, map[string]any) (int, string) {
			return 200, strings.Replace(callBody("create_draft", map[string]any{}), `"arguments":"{}"`, `"arguments":"{\"document\": {oops"`, 1)
		},
		expectTool("not a JSON object", junk(`{"choices":[{"message":{"role":"assistant"}}]}`)),
	)
	f := setup(t, m, 0)
	_, err := f.as.Run(context.Background(), f.e.EditorA.Actor, agent.Request{Prompt: "make me a flow", Mode: agent.ModeDraft})
	var me *agent.ModelError
	if !errors.As(err, &me) {
		t.Fatalf("want a model error, got %v", err)
	}
	if fs := f.flows(t); len(fs) != 0 {
		t.Fatalf("saved: %+v", fs)
	}
	// An endpoint error is reported with its status.
	m2 := newModel(t, func(*testing.T, map[string]any) (int, string) { return 401, `{"error":{"message":"bad key"}}` })
	f2 := setup(t, m2, 0)
	if _, err := f2.as.Run(context.Background(), f2.e.EditorA.Actor, agent.Request{Prompt: "hi"}); err == nil || !strings.Contains(err.Error(), "answered 401") {
		t.Fatalf("401: %v", err)
	}
}

// A model that does not answer in time ends the turn with a plain error.
func TestTimeout(t *testing.T) {
	m := newModel(t)
	m.hang = true
	f := setup(t, m, 300*time.Millisecond)
	_, err := f.as.Run(context.Background(), f.e.EditorA.Actor, agent.Request{Prompt: "make me a flow", Mode: agent.ModeDraft})
	if err == nil || !strings.Contains(err.Error(), "did not answer within 300ms") {
		t.Fatalf("timeout: %v", err)
	}
	if fs := f.flows(t); len(fs) != 0 {
		t.Fatalf("saved: %+v", fs)
	}
}

// Without a configured model the assistant says so; nothing else breaks.
func TestNotConfigured(t *testing.T) {
	f := setup(t, nil, 0)
	st, err := f.as.Status(context.Background(), f.e.EditorA.Actor)
	if err != nil || st.Configured || !strings.Contains(st.Message, agent.ConfigBaseURL) {
		t.Fatalf("status: %+v %v", st, err)
	}
	if _, err := f.as.Run(context.Background(), f.e.EditorA.Actor, agent.Request{Prompt: "hi"}); !errors.Is(err, agent.ErrNotConfigured) {
		t.Fatalf("run: %v", err)
	}
	// A key stored as a plain entry is refused (it would be readable).
	f.e.SetConfig(t, agent.ConfigBaseURL, "http://127.0.0.1:1/v1", false)
	f.e.SetConfig(t, agent.ConfigModel, "m", false)
	f.e.SetConfig(t, agent.ConfigAPIKey, "plain-key", false)
	if st, _ := f.as.Status(context.Background(), f.e.EditorA.Actor); st.Configured || !strings.Contains(st.Message, "must be a secret") {
		t.Fatalf("plain key: %+v", st)
	}
}

// The model is offered exactly the MCP server's tools.
func TestToolListsAreOne(t *testing.T) {
	m := newModel(t, say("Connect+ moves files into Capillary."))
	f := setup(t, m, 0)
	if _, err := f.as.Run(context.Background(), f.e.ViewerA.Actor, agent.Request{Prompt: "what is Connect+?"}); err != nil {
		t.Fatal(err)
	}
	var req struct {
		Tools []struct {
			Function struct{ Name string } `json:"function"`
		} `json:"tools"`
	}
	if err := json.Unmarshal([]byte(m.bodies[0]), &req); err != nil {
		t.Fatal(err)
	}
	var offered []string
	for _, tl := range req.Tools {
		offered = append(offered, tl.Function.Name)
	}
	srv := f.ts.Server(tools.Session{Actor: func(context.Context) (control.Actor, error) { return f.e.ViewerA.Actor, nil }})
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(context.Background(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t"}, nil).Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	lt, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, tl := range lt.Tools {
		served = append(served, tl.Name)
	}
	sort.Strings(offered)
	sort.Strings(served)
	if strings.Join(offered, ",") != strings.Join(served, ",") || len(served) < 15 {
		t.Fatalf("offered %v\nserved  %v", offered, served)
	}
}
