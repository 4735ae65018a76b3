package tools_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/assist/assisttest"
	"github.com/connectplus/connectplus/assist/tools"
	"github.com/connectplus/connectplus/dataflow"
)

// Copy/paste through the MCP tools (Go SDK client): the editor copies a
// dataflow of org A with a description, sees it in the personal store from
// an org B token too, and pastes it there as a Draft validated against org
// B; nobody else reads or pastes the copy, a viewer cannot paste, and no
// secret value is in any answer — the copy holds {$config: name}
// references only.
func TestCopyPasteTools(t *testing.T) {
	e := assisttest.New(t)
	edB := e.JoinOrgB(t, "editor", "editor")
	viewerB := e.JoinOrgB(t, "viewer", "viewer")
	edA := connect(t, e, e.EditorA.Token)
	var outputs []string
	record := func(v any) {
		b, _ := json.Marshal(v)
		outputs = append(outputs, string(b))
	}

	ti, err := tools.ExampleTemplates{}.Render("add_customer", map[string]string{"name": "AddCutomerV2"})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := dataflow.Parse(ti, "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc.Tags = []string{"nightly"}
	doc.Trigger = &dataflow.Trigger{Cron: "0 0/15 * * * ?"}
	text, _ := dataflow.Marshal(doc, "yaml")
	if !strings.Contains(string(text), "$config") {
		t.Fatalf("the template references no Extension Configuration:\n%s", text)
	}
	var d tools.DraftOut
	if msg := call(t, edA, "create_draft", map[string]any{"document": string(text)}, &d); msg != "" || !d.Valid {
		t.Fatalf("create: %s %+v", msg, d)
	}

	// The description is required, by the schema and by control.
	if msg := call(t, edA, "copy_dataflow", map[string]any{"name": "AddCutomerV2"}, nil); !strings.Contains(msg, "description") {
		t.Fatalf("copy without a description: %q", msg)
	}
	if msg := call(t, edA, "copy_dataflow", map[string]any{"name": "AddCutomerV2", "description": " "}, nil); !strings.Contains(msg, "needs a description") {
		t.Fatalf("copy with a blank description: %q", msg)
	}
	var cp tools.CopyOut
	if msg := call(t, edA, "copy_dataflow", map[string]any{"name": "AddCutomerV2", "version": 1, "description": "Move to ANB organization"}, &cp); msg != "" {
		t.Fatal(msg)
	}
	record(cp)
	if cp.CopyID == "" || cp.Org != "default" || cp.Version != 1 || len(cp.Removed) != 2 {
		t.Fatalf("copy: %+v", cp)
	}

	// View my dataflow store — from org B's token as well.
	b := connect(t, e, edB.Token)
	var l tools.ListCopiesOut
	if msg := call(t, b, "list_copies", map[string]any{}, &l); msg != "" || len(l.Copies) != 1 || l.Copies[0].CopyID != cp.CopyID || l.Copies[0].Description != "Move to ANB organization" {
		t.Fatalf("list in org B: %s %+v", msg, l)
	}
	// Org B's admin (another user) neither sees nor pastes it.
	bob := connect(t, e, e.AdminB.Token)
	if msg := call(t, bob, "list_copies", map[string]any{}, &l); msg != "" || len(l.Copies) != 0 {
		t.Fatalf("bob's store: %s %+v", msg, l)
	}
	if msg := call(t, bob, "paste_dataflow", map[string]any{"copyId": cp.CopyID}, nil); !strings.HasPrefix(msg, "not found") {
		t.Fatalf("bob pastes the editor's copy: %q", msg)
	}
	// A viewer copies but cannot paste.
	vb := connect(t, e, viewerB.Token)
	var vc tools.CopyOut
	if msg := call(t, connect(t, e, e.ViewerA.Token), "copy_dataflow", map[string]any{"flowId": d.FlowID, "description": "look"}, &vc); msg != "" {
		t.Fatal(msg)
	}
	if msg := call(t, vb, "paste_dataflow", map[string]any{"copyId": vc.CopyID}, nil); !strings.Contains(msg, "editor role") {
		t.Fatalf("viewer paste: %q", msg)
	}

	// The paste: a Draft in org B, which lacks org A's configurations.
	var p tools.DraftOut
	if msg := call(t, b, "paste_dataflow", map[string]any{"copyId": cp.CopyID}, &p); msg != "" {
		t.Fatal(msg)
	}
	record(p)
	if !p.Saved || p.State != "Draft" || p.Version != 1 || p.Valid || !strings.Contains(p.Message, "from default") {
		t.Fatalf("paste: %+v", p)
	}
	missing := 0
	for _, q := range p.Problems {
		if strings.Contains(q.Message, "does not exist in this organisation") {
			missing++
		}
	}
	if missing == 0 {
		t.Fatalf("paste problems: %+v", p.Problems)
	}
	var g tools.DataflowOut
	if msg := call(t, b, "get_dataflow", map[string]any{"flowId": p.FlowID}, &g); msg != "" {
		t.Fatal(msg)
	}
	record(g)
	if strings.Contains(g.Document, "trigger") || strings.Contains(g.Document, "nightly") || len(g.Tags) != 0 || !strings.Contains(g.Document, "$config") {
		t.Fatalf("pasted document:\n%s", g.Document)
	}
	// Org A's own listing does not show it; org B's does.
	var la, lb tools.ListDataflowsOut
	call(t, edA, "list_dataflows", map[string]any{}, &la)
	call(t, b, "list_dataflows", map[string]any{}, &lb)
	if len(la.Dataflows) != 1 || len(lb.Dataflows) != 1 || lb.Dataflows[0].FlowID != p.FlowID {
		t.Fatalf("listings: A %+v B %+v", la, lb)
	}

	// A Draft holding an inline secret (saved before they were refused):
	// the copy leaves the value behind.
	e.SetDocument(t, e.EditorA.Actor.OrgID, d.FlowID, 1, withConfig(t, string(text), "http_write", "clientSecret", assisttest.SecretValue))
	var lc tools.CopyOut
	if msg := call(t, edA, "copy_dataflow", map[string]any{"flowId": d.FlowID, "description": "legacy"}, &lc); msg != "" {
		t.Fatal(msg)
	}
	record(lc)
	if len(lc.Removed) == 0 || !strings.Contains(strings.Join(lc.Removed, ","), "clientSecret") {
		t.Fatalf("legacy copy: %+v", lc)
	}
	var lp tools.DraftOut
	if msg := call(t, b, "paste_dataflow", map[string]any{"copyId": lc.CopyID, "name": "legacy"}, &lp); msg != "" {
		t.Fatal(msg)
	}
	record(lp)
	call(t, b, "get_dataflow", map[string]any{"flowId": lp.FlowID}, &g)
	record(g)
	if strings.Contains(g.Document, "****") || strings.Contains(g.Document, "clientSecret") {
		t.Fatalf("legacy paste:\n%s", g.Document)
	}
	stored, err := e.Store.GetCopy(context.Background(), e.EditorA.Actor.UserID, lc.CopyID)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, stored.Document)
	for _, o := range outputs {
		for _, s := range []string{assisttest.SecretValue, assisttest.SFTPPassword} {
			if strings.Contains(o, s) {
				t.Fatalf("a secret value in %s", o)
			}
		}
	}
}
