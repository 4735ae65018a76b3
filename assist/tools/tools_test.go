package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/connectplus/connectplus/assist/assisttest"
	"github.com/connectplus/connectplus/assist/tools"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/runstate"
)

// connect serves the tools of the token's user over an in-memory transport
// and returns a connected Go SDK client session.
func connect(t *testing.T, e *assisttest.Env, token string) *mcp.ClientSession {
	t.Helper()
	ts, err := tools.New(tools.Deps{Service: e.Service, Redactor: e.Redactor, TempRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv := ts.Server(tools.Session{Actor: func(ctx context.Context) (control.Actor, error) { return e.TokenActor(ctx, token) }})
	st, ct := mcp.NewInMemoryTransports()
	ctx := context.Background()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// call runs a tool and decodes its structured output into out; it returns
// the error text of a failed call ("" on success).
func call(t *testing.T, cs *mcp.ClientSession, name string, args any, out any) string {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.IsError {
		var b strings.Builder
		for _, c := range res.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				b.WriteString(tc.Text)
			}
		}
		if b.Len() == 0 {
			t.Fatalf("%s failed without a message", name)
		}
		return b.String()
	}
	if out != nil {
		data, err := json.Marshal(res.StructuredContent)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s output: %v: %s", name, err, data)
		}
	}
	return ""
}

func TestBlocksAndTemplates(t *testing.T) {
	e := assisttest.New(t)
	cs := connect(t, e, e.ViewerA.Token)
	var lb tools.ListBlocksOut
	if msg := call(t, cs, "list_blocks", map[string]any{}, &lb); msg != "" || len(lb.Blocks) < 10 {
		t.Fatalf("list_blocks: %s %d", msg, len(lb.Blocks))
	}
	var db tools.DescribeBlockOut
	if msg := call(t, cs, "describe_block", map[string]any{"type": "http_write"}, &db); msg != "" {
		t.Fatal(msg)
	}
	secret := false
	for _, f := range db.Fields {
		if f.Key == "clientSecret" && f.Secret {
			secret = true
		}
	}
	if !secret || db.Docs == "" || db.Example == nil || db.Class != "executor" {
		t.Fatalf("describe_block: %+v", db)
	}
	if msg := call(t, cs, "describe_block", map[string]any{"type": "http_writ"}, nil); !strings.Contains(msg, `did you mean "http_write"`) {
		t.Fatalf("unknown block: %q", msg)
	}
	var lt tools.ListTemplatesOut
	if msg := call(t, cs, "list_templates", map[string]any{}, &lt); msg != "" || len(lt.Templates) < 3 {
		t.Fatalf("list_templates: %s %+v", msg, lt)
	}
	var ti tools.TemplateInfo
	if msg := call(t, cs, "describe_template", map[string]any{"name": "bulk_add_customers"}, &ti); msg != "" || ti.Sample == "" || len(ti.Parameters) == 0 {
		t.Fatalf("describe_template: %s %+v", msg, ti)
	}
	// A revoked or unknown token gets nothing.
	bad := connect(t, e, "cpt_not-a-token")
	if msg := call(t, bad, "list_blocks", map[string]any{}, nil); !strings.Contains(msg, "not authenticated") {
		t.Fatalf("bad token: %q", msg)
	}
}

func TestDraftLifecycle(t *testing.T) {
	e := assisttest.New(t)
	ed := connect(t, e, e.EditorA.Token)

	// From a template: saved as a Draft, version 1, valid.
	var d tools.DraftOut
	if msg := call(t, ed, "create_draft", map[string]any{"template": "bulk_add_customers", "parameters": map[string]string{"name": "customers_v2", "baseDirectory": "/data/in"}}, &d); msg != "" {
		t.Fatal(msg)
	}
	if !d.Saved || d.Version != 1 || d.State != "Draft" || !d.Valid || d.FlowID == "" {
		t.Fatalf("create_draft: %+v", d)
	}
	var g tools.DataflowOut
	if msg := call(t, ed, "get_dataflow", map[string]any{"name": "customers_v2"}, &g); msg != "" {
		t.Fatal(msg)
	}
	if g.FlowID != d.FlowID || g.Revision != d.Revision || !strings.Contains(g.Document, "/data/in/customers/in") {
		t.Fatalf("get_dataflow: %+v", g)
	}

	// A JSON Patch changes the group size; the stale revision then fails.
	blocksIdx := blockIndex(t, g.Document, "convert_csv_to_json")
	patch := []map[string]any{{"op": "replace", "path": fmt.Sprintf("/blocks/%d/config/groupSize", blocksIdx), "value": 20}}
	var u tools.DraftOut
	if msg := call(t, ed, "update_draft", map[string]any{"flowId": d.FlowID, "revision": g.Revision, "patch": patch}, &u); msg != "" {
		t.Fatal(msg)
	}
	if !u.Saved || u.Revision != g.Revision+1 || !u.Valid {
		t.Fatalf("update_draft: %+v", u)
	}
	if msg := call(t, ed, "update_draft", map[string]any{"flowId": d.FlowID, "revision": g.Revision, "patch": patch}, nil); !strings.Contains(msg, "changed since revision") {
		t.Fatalf("stale revision: %q", msg)
	}
	call(t, ed, "get_dataflow", map[string]any{"flowId": d.FlowID}, &g)
	if !strings.Contains(g.Document, "groupSize: 20") {
		t.Fatalf("patched document:\n%s", g.Document)
	}

	// validate points at the block and field of each problem.
	var v tools.ValidateOut
	broken := strings.Replace(g.Document, "groupSize: 20", "groupSize: lots", 1)
	if msg := call(t, ed, "validate", map[string]any{"document": broken}, &v); msg != "" {
		t.Fatal(msg)
	}
	if v.Valid || len(v.Problems) == 0 || v.Problems[0].Field != "groupSize" || v.Problems[0].Block == "" || v.Problems[0].Line == 0 {
		t.Fatalf("validate: %+v", v)
	}
	if msg := call(t, ed, "validate", map[string]any{"flowId": d.FlowID}, &v); msg != "" || !v.Valid {
		t.Fatalf("validate saved: %s %+v", msg, v)
	}

	// preview runs the Draft on the template's sample through the sandbox.
	var ti tools.TemplateInfo
	call(t, ed, "describe_template", map[string]any{"name": "bulk_add_customers"}, &ti)
	var p tools.PreviewOut
	if msg := call(t, ed, "preview", map[string]any{"flowId": d.FlowID, "sample": ti.Sample, "sampleName": ti.SampleName, "maxRecords": 5}, &p); msg != "" {
		t.Fatal(msg)
	}
	res, _ := json.Marshal(p.Result)
	if !p.Ran || !strings.Contains(string(res), `"replaced":"sandbox"`) || !strings.Contains(string(res), "/v2/customers/bulk") {
		t.Fatalf("preview: %+v %s", p, res)
	}
}

func TestAuthorisation(t *testing.T) {
	e := assisttest.New(t)
	ed := connect(t, e, e.EditorA.Token)
	var d tools.DraftOut
	if msg := call(t, ed, "create_draft", map[string]any{"template": "add_customer", "parameters": map[string]string{"name": "orders"}}, &d); msg != "" {
		t.Fatal(msg)
	}
	// A viewer reads but cannot create or change.
	vw := connect(t, e, e.ViewerA.Token)
	if msg := call(t, vw, "create_draft", map[string]any{"template": "add_customer", "parameters": map[string]string{"name": "viewer_flow"}}, nil); !strings.Contains(msg, "editor role") {
		t.Fatalf("viewer create: %q", msg)
	}
	var g tools.DataflowOut
	if msg := call(t, vw, "get_dataflow", map[string]any{"flowId": d.FlowID}, &g); msg != "" {
		t.Fatal(msg)
	}
	if msg := call(t, vw, "update_draft", map[string]any{"flowId": d.FlowID, "revision": g.Revision, "document": g.Document}, nil); !strings.Contains(msg, "editor role") {
		t.Fatalf("viewer update: %q", msg)
	}
	// Org B's token cannot see org A's dataflow: it does not exist there.
	b := connect(t, e, e.AdminB.Token)
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"get_dataflow", map[string]any{"flowId": d.FlowID}},
		{"validate", map[string]any{"flowId": d.FlowID}},
		{"update_draft", map[string]any{"flowId": d.FlowID, "revision": g.Revision, "document": g.Document}},
		{"preview", map[string]any{"flowId": d.FlowID, "sample": "a,b\n1,2\n"}},
	} {
		if msg := call(t, b, c.tool, c.args, nil); !strings.HasPrefix(msg, "not found") {
			t.Errorf("org B %s: %q", c.tool, msg)
		}
	}
	var l tools.ListDataflowsOut
	if msg := call(t, b, "list_dataflows", map[string]any{}, &l); msg != "" || len(l.Dataflows) != 0 {
		t.Fatalf("org B lists: %s %+v", msg, l)
	}
}

func TestSecretsNeverLeave(t *testing.T) {
	e := assisttest.New(t)
	ad := connect(t, e, e.AdminA.Token)
	var cfg tools.ListConfigsOut
	if msg := call(t, ad, "list_configs", map[string]any{}, &cfg); msg != "" || len(cfg.Configs) != 4 {
		t.Fatalf("list_configs: %s %+v", msg, cfg)
	}
	raw, _ := json.Marshal(cfg)
	if strings.Contains(string(raw), assisttest.SecretValue) || strings.Contains(string(raw), assisttest.SFTPPassword) || strings.Contains(string(raw), "client-key-1") || strings.Contains(string(raw), "sftp.example.com") {
		t.Fatalf("list_configs shows values: %s", raw)
	}
	// A secret given inline is refused, on create and on update, by
	// document and by patch; the refusal does not echo it.
	ti, err := tools.ExampleTemplates{}.Render("add_customer", map[string]string{"name": "inline"})
	if err != nil {
		t.Fatal(err)
	}
	inline := withConfig(t, string(ti), "http_write", "clientSecret", assisttest.SecretValue)
	msg := call(t, ad, "create_draft", map[string]any{"document": inline}, nil)
	if !strings.Contains(msg, "clientSecret is a secret") || strings.Contains(msg, assisttest.SecretValue) {
		t.Fatalf("inline secret: %q", msg)
	}
	var l tools.ListDataflowsOut
	if call(t, ad, "list_dataflows", map[string]any{}, &l); len(l.Dataflows) != 0 {
		t.Fatalf("an inline secret was saved: %+v", l)
	}
	var d tools.DraftOut
	if msg := call(t, ad, "create_draft", map[string]any{"document": string(ti)}, &d); msg != "" || !d.Valid {
		t.Fatalf("clean create: %s %+v", msg, d)
	}
	var g tools.DataflowOut
	call(t, ad, "get_dataflow", map[string]any{"flowId": d.FlowID}, &g)
	idx := blockIndex(t, g.Document, "http_write")
	patch := []map[string]any{{"op": "replace", "path": fmt.Sprintf("/blocks/%d/config/clientSecret", idx), "value": assisttest.SecretValue}}
	if msg := call(t, ad, "update_draft", map[string]any{"flowId": d.FlowID, "revision": g.Revision, "patch": patch}, nil); !strings.Contains(msg, "is a secret") {
		t.Fatalf("patched inline secret: %q", msg)
	}
	// A Draft holding an inline secret (saved before control refused
	// them) is read back masked, and a patch test cannot probe the value.
	e.SetDocument(t, e.AdminA.Actor.OrgID, d.FlowID, 1, inline)
	call(t, ad, "get_dataflow", map[string]any{"flowId": d.FlowID}, &g)
	if strings.Contains(g.Document, assisttest.SecretValue) || !strings.Contains(g.Document, "****") {
		t.Fatalf("inline secret read back:\n%s", g.Document)
	}
	probe := []map[string]any{{"op": "test", "path": fmt.Sprintf("/blocks/%d/config/clientSecret", idx), "value": assisttest.SecretValue}}
	if msg := call(t, ad, "update_draft", map[string]any{"flowId": d.FlowID, "revision": g.Revision, "patch": probe}, nil); !strings.Contains(msg, "test failed") {
		t.Fatalf("probe: %q", msg)
	}
}

// blockIndex is the index of the first block of type typ in a document.
func blockIndex(t *testing.T, doc, typ string) int {
	t.Helper()
	d, err := dataflow.Parse([]byte(doc), "doc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range d.Blocks {
		if b.Type == typ {
			return i
		}
	}
	t.Fatalf("no %s block in\n%s", typ, doc)
	return -1
}

// withConfig sets one config key of the first block of type typ.
func withConfig(t *testing.T, doc, typ, key string, value any) string {
	t.Helper()
	d, err := dataflow.Parse([]byte(doc), "doc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d.Blocks[blockIndex(t, doc, typ)].Config[key] = value
	out, err := dataflow.Marshal(d, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestRunsAndLanguages(t *testing.T) {
	e := assisttest.New(t)
	ed := connect(t, e, e.EditorA.Token)
	var d tools.DraftOut
	if msg := call(t, ed, "create_draft", map[string]any{"template": "add_customer", "parameters": map[string]string{"name": "one_by_one"}}, &d); msg != "" {
		t.Fatal(msg)
	}
	// A finished run with a result file, as the runtime records it.
	result := filepath.Join(t.TempDir(), "result_20240315000000_customers.csv")
	rows := "firstname;lastname;status_code;error_message;entity_id;line_number;lineage_id\n" +
		"Ann;Lee;200;;1001;2;lin_1\n" +
		"Bob;;400;lastname is required;;3;lin_1\n" +
		"Cid;;400;lastname is required;;4;lin_1\n" +
		"Dee;Ray;500;\"upstream; timeout\";;5;lin_1\n"
	if err := os.WriteFile(result, []byte(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	done := time.Now().UTC()
	run := runstate.Run{ID: "lin_1", OrgID: e.EditorA.Actor.OrgID, FlowID: d.FlowID, FlowName: "one_by_one", Version: 1, Source: "read",
		FileName: "customers.csv", Status: "Partial", Started: done.Add(-time.Second), Finished: &done, RecordsIn: 4, Delivered: 1, Failed: 3,
		ResultName: filepath.Base(result), ResultPath: result, StatusCodes: map[string]int64{"200": 1, "400": 2, "500": 1}}
	if err := e.Store.UpsertRun(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	var lr tools.ListRunsOut
	if msg := call(t, ed, "list_runs", map[string]any{"flowId": d.FlowID}, &lr); msg != "" || len(lr.Runs) != 1 || lr.Runs[0].Failed != 3 {
		t.Fatalf("list_runs: %s %+v", msg, lr)
	}
	var ex tools.ExplainRunOut
	if msg := call(t, ed, "explain_run", map[string]any{"runId": "lin_1"}, &ex); msg != "" {
		t.Fatal(msg)
	}
	if ex.ResultRows != 4 || len(ex.Failures) != 2 || ex.Failures[0].Reason != "lastname is required" || ex.Failures[0].Count != 2 ||
		ex.Failures[0].StatusCode != "400" || fmt.Sprint(ex.Failures[0].Lines) != "[3 4]" || ex.Failures[1].Reason != "upstream; timeout" ||
		!strings.Contains(ex.Explanation, "2× lastname is required (status 400)") {
		t.Fatalf("explain_run: %+v", ex)
	}
	var rr tools.ResultRowsOut
	if msg := call(t, ed, "get_result_rows", map[string]any{"runId": "lin_1", "only": "failed", "limit": 2}, &rr); msg != "" {
		t.Fatal(msg)
	}
	if len(rr.Rows) != 2 || rr.Next != 2 || rr.Rows[0]["firstname"] != "Bob" || rr.Columns[0] != "firstname" {
		t.Fatalf("get_result_rows: %+v", rr)
	}
	if msg := call(t, connect(t, e, e.AdminB.Token), "explain_run", map[string]any{"runId": "lin_1"}, nil); !strings.HasPrefix(msg, "not found") {
		t.Fatalf("org B explain_run: %q", msg)
	}

	var ev struct {
		Result any    `json:"result"`
		Error  string `json:"error"`
	}
	call(t, ed, "eval_nifi_expression", map[string]any{"expression": "${filename:substringBefore('.')}.json", "attributes": map[string]string{"filename": "orders.csv"}}, &ev)
	if ev.Result != "orders.json" || ev.Error != "" {
		t.Fatalf("nifi: %+v", ev)
	}
	call(t, ed, "eval_nifi_expression", map[string]any{"expression": "${source:equals('INSTORE')}", "attributes": map[string]string{"source": "INSTORE"}, "asBoolean": true}, &ev)
	if ev.Result != true {
		t.Fatalf("nifi condition: %+v", ev)
	}
	call(t, ed, "eval_nifi_expression", map[string]any{"expression": "${nosuchfn()}"}, &ev)
	if ev.Error == "" {
		t.Fatalf("nifi error: %+v", ev)
	}
	call(t, ed, "eval_jslt", map[string]any{"query": `{"name": .firstname + " " + .lastname, "n": size(.tags)}`, "input": map[string]any{"firstname": "Ann", "lastname": "Lee", "tags": []string{"a", "b"}}}, &ev)
	if fmt.Sprint(ev.Result) != "map[n:2 name:Ann Lee]" {
		t.Fatalf("jslt: %+v", ev)
	}
	call(t, ed, "eval_jslt", map[string]any{"query": `{"a": }`}, &ev)
	if !strings.Contains(ev.Error, "invalid query") {
		t.Fatalf("jslt error: %+v", ev)
	}
}

func TestResourcesAndPrompts(t *testing.T) {
	e := assisttest.New(t)
	cs := connect(t, e, e.ViewerA.Token)
	ctx := context.Background()
	lr, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	uris := map[string]bool{}
	for _, r := range lr.Resources {
		uris[r.URI] = true
	}
	for _, want := range []string{"connectplus://blocks/http_write", "connectplus://templates/bulk_add_customers", tools.SchemaURI} {
		if !uris[want] {
			t.Errorf("no resource %s", want)
		}
	}
	rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "connectplus://blocks/http_write"})
	if err != nil || !strings.Contains(rr.Contents[0].Text, "clientSecret") {
		t.Fatalf("block doc: %v %+v", err, rr)
	}
	rr, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "connectplus://templates/bulk_add_customers"})
	if err != nil || !strings.Contains(rr.Contents[0].Text, "baseDirectory") {
		t.Fatalf("template doc: %v %+v", err, rr)
	}
	lp, err := cs.ListPrompts(ctx, nil)
	if err != nil || len(lp.Prompts) != 3 {
		t.Fatalf("prompts: %v %+v", err, lp)
	}
	gp, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "add_filter", Arguments: map[string]string{"dataflow": "orders", "condition": "only source INSTORE passes"}})
	if err != nil || !strings.Contains(gp.Messages[0].Content.(*mcp.TextContent).Text, "only source INSTORE passes") {
		t.Fatalf("prompt: %v %+v", err, gp)
	}
}

// The template catalogue (package templates): a Draft from Transaction V2
// add with its parameters, validated and previewed on its own sample.
func TestCatalogueTemplate(t *testing.T) {
	e := assisttest.New(t)
	ed := connect(t, e, e.EditorA.Token)
	var lt tools.ListTemplatesOut
	call(t, ed, "list_templates", map[string]any{}, &lt)
	found := false
	for _, ti := range lt.Templates {
		if ti.Name == "transaction_v2_add" && ti.Category == "Data Ingestion" && ti.Destination != "" {
			found = true
		}
	}
	if !found {
		t.Fatalf("transaction_v2_add not listed: %+v", lt)
	}
	var ti tools.TemplateInfo
	if msg := call(t, ed, "describe_template", map[string]any{"name": "transaction_v2_add"}, &ti); msg != "" || ti.Sample == "" || !strings.Contains(ti.Docs, "$param") {
		t.Fatalf("describe_template: %s %+v", msg, ti)
	}
	var d tools.DraftOut
	if msg := call(t, ed, "create_draft", map[string]any{"template": "transaction_v2_add", "parameters": map[string]string{"name": "bills", "sourceDirectory": "/bills/in"}}, &d); msg != "" {
		t.Fatal(msg)
	}
	if !d.Saved || !d.Valid {
		t.Fatalf("create_draft: %+v", d)
	}
	if msg := call(t, ed, "create_draft", map[string]any{"template": "transaction_v2_add", "parameters": map[string]string{"name": "x", "nope": "1"}}, nil); !strings.Contains(msg, `no parameter "nope"`) {
		t.Fatalf("unknown parameter: %q", msg)
	}
	var p tools.PreviewOut
	if msg := call(t, ed, "preview", map[string]any{"flowId": d.FlowID, "sample": ti.Sample, "sampleName": ti.SampleName}, &p); msg != "" || !p.Ran {
		t.Fatalf("preview: %s %+v", msg, p)
	}
}

// Every property schema of every tool is a JSON object: the TypeScript
// SDK rejects boolean schemas ("true" for an untyped field), and model
// endpoints read these as function parameters.
func TestToolSchemasAreObjects(t *testing.T) {
	e := assisttest.New(t)
	cs := connect(t, e, e.ViewerA.Token)
	lt, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(tool, path string, v any)
	walk = func(tool, path string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			t.Errorf("%s: %s is %v, not a schema object", tool, path, v)
			return
		}
		for _, key := range []string{"properties", "$defs"} {
			props, _ := m[key].(map[string]any)
			for k, p := range props {
				walk(tool, path+"."+k, p)
			}
		}
		if it, ok := m["items"]; ok {
			walk(tool, path+"[]", it)
		}
	}
	for _, tl := range lt.Tools {
		for name, s := range map[string]any{"input": tl.InputSchema, "output": tl.OutputSchema} {
			if s == nil {
				t.Errorf("%s has no %s schema", tl.Name, name)
				continue
			}
			b, _ := json.Marshal(s)
			var v any
			json.Unmarshal(b, &v)
			walk(tl.Name, name, v)
		}
	}
}
