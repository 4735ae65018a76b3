package server

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/store"
)

// clipboardRegistry is testRegistry plus a trigger block, which a copy
// leaves out like the document's trigger.
func clipboardRegistry(t *testing.T) *block.Registry {
	reg := testRegistry(t)
	if err := reg.Register(&block.Spec{Type: "tick", Label: "Tick", Class: block.ClassSource, Category: "Trigger", Description: "Schedules.",
		Input: block.KindNone, Output: block.KindNone, New: newNothing,
		Fields: []block.Field{{Key: "cron", Label: "Cron", Type: block.TypeString}}}); err != nil {
		t.Fatal(err)
	}
	return reg
}

// A document with everything a copy leaves out: the trigger, tags and a
// trigger block; the secret is a reference, which a copy keeps.
const copySource = `name: AddCutomerV2
description: adds customers
tags: [loyalty, nightly]
trigger:
  cron: 0 0/15 * * * ?
blocks:
  - type: tick
    name: schedule
    config:
      cron: 0 0/15 * * * ?
  - type: src_read
    name: read
    config:
      hostname: {$config: sftp_host}
      password: {$config: sftp_password}
      sourceDirectory: /in
    relations:
      - to: write
  - type: sink_write
    name: write
    config:
      remotePath: /out
`

// TestCopyPaste covers copy/paste between organisations (spec §9.1): the
// copy goes to the user's personal store with the trigger, tags and secret
// values left out; the user pastes it into another organisation they are an
// editor of as a new Draft, validated there; nobody else reads the copy,
// a viewer cannot paste, and nobody pastes into an organisation they do not
// belong to.
func TestCopyPaste(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		h := newHarnessWith(t, dsn, harnessOptions{registry: clipboardRegistry(t)})
		tm := h.team()
		h.configs(tm)
		ctx := context.Background()

		var orgB, orgC store.Org
		tm.admin.must(201, "POST", "/api/v1/orgs", map[string]string{"name": "ANB"}, &orgB)
		tm.admin.must(201, "POST", "/api/v1/orgs", map[string]string{"name": "nobody-here"}, &orgC)
		adminB := h.login("admin", h.adminPassword)
		adminB.org = orgB.ID
		// The editor of org A is an editor of ANB too; the viewer of org A
		// is a viewer there; "bee" belongs to ANB only.
		h.addUser(adminB, "editor", "editor-Password-1234", "editor")
		h.addUser(adminB, "viewer", "viewer-Password-1234", "viewer")
		h.addUser(adminB, "bee", "bee-Password-1234", "editor")
		bee := h.login("bee", "bee-Password-1234")
		bee.org = orgB.ID

		src := createFlow(t, tm.editor, "AddCutomerV2", copySource)
		flowID := src.Dataflow.ID
		var before store.Version
		tm.editor.must(200, "GET", vpath(flowID, 1, ""), nil, &before)

		// The description is required.
		if r := tm.editor.do("POST", vpath(flowID, 1, "/copy"), map[string]string{"description": "  "}); r.code != 400 || !strings.Contains(string(r.body), "description") {
			t.Fatalf("copy without a description: %d %s", r.code, r.body)
		}
		if r := tm.editor.do("POST", vpath(flowID, 7, "/copy"), map[string]string{"description": "x"}); r.code != 404 {
			t.Fatalf("copy of a missing version: %d %s", r.code, r.body)
		}
		var cp control.CopyResult
		tm.editor.must(201, "POST", vpath(flowID, 1, "/copy"), map[string]string{"description": "Move to ANB organization"}, &cp)
		if cp.UserID == "" || cp.SourceOrgName != "default" || cp.SourceFlowName != "AddCutomerV2" || cp.SourceVersion != 1 || cp.Description != "Move to ANB organization" {
			t.Fatalf("copy: %+v", cp)
		}
		for _, gone := range []string{"trigger", "tags", "loyalty", "schedule", "tick"} {
			if strings.Contains(cp.Document, gone) {
				t.Errorf("the copy carries %q:\n%s", gone, cp.Document)
			}
		}
		if !strings.Contains(cp.Document, "$config: sftp_password") || !strings.Contains(cp.Document, "- write") {
			t.Errorf("the copy lost the blocks:\n%s", cp.Document)
		}
		if len(cp.Removed) != 3 {
			t.Errorf("removed: %q", cp.Removed)
		}

		// The personal store follows its user into every organisation.
		var list []store.Copy
		tm.editor.must(200, "GET", "/api/v1/clipboard", nil, &list)
		if len(list) != 1 || list[0].ID != cp.ID || list[0].Document != "" {
			t.Fatalf("list: %+v", list)
		}
		editorB := h.login("editor", "editor-Password-1234")
		editorB.org = orgB.ID
		editorB.must(200, "GET", "/api/v1/clipboard", nil, &list)
		if len(list) != 1 || list[0].ID != cp.ID {
			t.Fatalf("list in ANB: %+v", list)
		}
		// Nobody else reads it: not a colleague of org A, not a member of
		// org B — the same answer as for a copy that does not exist.
		missing := "/api/v1/clipboard/cpy_000000000000000000000000"
		for _, c := range []*client{tm.viewer, tm.admin, bee} {
			for _, m := range []string{"GET", "DELETE"} {
				r, rm := c.do(m, "/api/v1/clipboard/"+cp.ID, nil), c.do(m, missing, nil)
				if r.code != 404 || rm.code != 404 || r.errCode(t) != rm.errCode(t) {
					t.Errorf("%s %s another user's copy: %d %s (missing: %d)", c.name, m, r.code, r.body, rm.code)
				}
			}
			// (The viewer is refused for its role before anything is read.)
			if r := c.do("POST", "/api/v1/clipboard/"+cp.ID+"/paste", map[string]string{}); r.code != 404 && (c != tm.viewer || r.code != 403) {
				t.Errorf("%s pastes another user's copy: %d %s", c.name, r.code, r.body)
			}
			var theirs []store.Copy
			c.must(200, "GET", "/api/v1/clipboard", nil, &theirs)
			if len(theirs) != 0 {
				t.Errorf("%s sees %+v", c.name, theirs)
			}
		}

		// A viewer may copy but not paste, here or in ANB.
		var vc control.CopyResult
		tm.viewer.must(201, "POST", vpath(flowID, 1, "/copy"), map[string]string{"description": "for later"}, &vc)
		viewerB := h.login("viewer", "viewer-Password-1234")
		viewerB.org = orgB.ID
		for _, c := range []*client{tm.viewer, viewerB} {
			if r := c.do("POST", "/api/v1/clipboard/"+vc.ID+"/paste", map[string]string{}); r.code != 403 || r.errCode(t) != "forbidden" {
				t.Fatalf("viewer paste: %d %s", r.code, r.body)
			}
		}
		// An editor's read-only token cannot paste either.
		ro := tokenClient(h, editorB, "ro", store.ScopeRead)
		if r := ro.do("POST", "/api/v1/clipboard/"+cp.ID+"/paste", map[string]string{}); r.code != 403 {
			t.Fatalf("read token paste: %d %s", r.code, r.body)
		}
		// Not into an organisation the user does not belong to.
		editorC := h.login("editor", "editor-Password-1234")
		editorC.org = orgC.ID
		if r := editorC.do("POST", "/api/v1/clipboard/"+cp.ID+"/paste", map[string]string{}); r.code != 404 {
			t.Fatalf("paste into a foreign organisation: %d %s", r.code, r.body)
		}

		// Paste into ANB: a new dataflow whose version 1 is a Draft, checked
		// against ANB, which has none of org A's Extension Configurations.
		var pr control.PasteResult
		editorB.must(201, "POST", "/api/v1/clipboard/"+cp.ID+"/paste", map[string]string{}, &pr)
		if pr.Dataflow.OrgID != orgB.ID || pr.Dataflow.Name != "AddCutomerV2" || len(pr.Dataflow.Tags) != 0 || pr.Version.Number != 1 ||
			pr.Version.State != store.StateDraft || pr.Source.ID != cp.ID || pr.Source.Document != "" {
			t.Fatalf("paste: %+v", pr)
		}
		if pr.Valid || len(pr.Problems) != 2 || !strings.Contains(pr.Problems[0].Message, "does not exist in this organisation") {
			t.Fatalf("paste problems: %+v", pr.Problems)
		}
		if strings.Contains(pr.Version.Document, "trigger") || strings.Contains(pr.Version.Document, "tick") {
			t.Fatalf("pasted document:\n%s", pr.Version.Document)
		}
		var inB control.Page[store.Dataflow]
		editorB.must(200, "GET", "/api/v1/dataflows", nil, &inB)
		if len(inB.Items) != 1 || inB.Items[0].ID != pr.Dataflow.ID {
			t.Fatalf("ANB's dataflows: %+v", inB.Items)
		}
		// The same name again is refused; another name is a second dataflow,
		// here through an API token of ANB.
		if r := editorB.do("POST", "/api/v1/clipboard/"+cp.ID+"/paste", map[string]string{}); r.code != 409 || !strings.Contains(string(r.body), "another name") {
			t.Fatalf("duplicate paste: %d %s", r.code, r.body)
		}
		rw := tokenClient(h, editorB, "rw", store.ScopeWrite)
		var pr2 control.PasteResult
		rw.must(201, "POST", "/api/v1/clipboard/"+cp.ID+"/paste", map[string]string{"name": "AddCustomerV2 (ANB)", "description": "moved"}, &pr2)
		if pr2.Dataflow.OrgID != orgB.ID || pr2.Dataflow.Name != "AddCustomerV2 (ANB)" || pr2.Dataflow.Description != "moved" {
			t.Fatalf("second paste: %+v", pr2.Dataflow)
		}
		// Paste back into org A, where the references resolve: valid.
		var prA control.PasteResult
		tm.editor.must(201, "POST", "/api/v1/clipboard/"+cp.ID+"/paste", map[string]string{"name": "AddCutomerV2 copy"}, &prA)
		if !prA.Valid || len(prA.Problems) != 0 {
			t.Fatalf("paste into the source organisation: %+v", prA.Problems)
		}
		// A copy, not a move: the source is unchanged.
		var after store.Version
		tm.editor.must(200, "GET", vpath(flowID, 1, ""), nil, &after)
		if after.Document != before.Document || after.Revision != before.Revision {
			t.Fatalf("the source changed:\n%s", after.Document)
		}
		var srcFlow store.Dataflow
		tm.editor.must(200, "GET", "/api/v1/dataflows/"+flowID, nil, &srcFlow)
		if strings.Join(srcFlow.Tags, ",") != "orders" {
			t.Fatalf("source tags: %v", srcFlow.Tags)
		}
		// The paste is in ANB's audit log with its source.
		var audit control.Page[store.AuditEntry]
		adminB.must(200, "GET", "/api/v1/audit?action=dataflow.paste", nil, &audit)
		if len(audit.Items) != 2 || !strings.Contains(string(audit.Items[0].After), flowID) {
			t.Fatalf("audit: %+v", audit.Items)
		}

		// The store keeps the last 10.
		for i := 0; i < store.ClipboardKeep+2; i++ {
			tm.editor.must(201, "POST", vpath(flowID, 1, "/copy"), map[string]string{"description": fmt.Sprintf("copy %d", i)}, nil)
		}
		tm.editor.must(200, "GET", "/api/v1/clipboard", nil, &list)
		if len(list) != store.ClipboardKeep || list[0].Description != fmt.Sprintf("copy %d", store.ClipboardKeep+1) {
			t.Fatalf("last 10: %d %+v", len(list), list[0])
		}
		if r := tm.editor.do("GET", "/api/v1/clipboard/"+cp.ID, nil); r.code != 404 {
			t.Fatalf("the 13th copy back is still there: %d", r.code)
		}
		tm.editor.must(204, "DELETE", "/api/v1/clipboard/"+list[0].ID, nil, nil)
		tm.editor.must(200, "GET", "/api/v1/clipboard", nil, &list)
		if len(list) != store.ClipboardKeep-1 {
			t.Fatalf("after delete: %d", len(list))
		}

		// A Draft saved before inline secrets were refused still holds one:
		// its copy drops the value and the paste reports the field.
		legacy := createFlow(t, tm.editor, "Legacy", flowDoc("Legacy", "/legacy"))
		v, err := h.st.GetVersion(ctx, legacy.Dataflow.OrgID, legacy.Dataflow.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		inline := secretValue + "-inline"
		v.Document = strings.Replace(flowDoc("Legacy", "/legacy"), "password: {$config: sftp_password}", "password: "+inline, 1)
		if err := h.st.UpdateVersion(ctx, &v, v.State); err != nil {
			t.Fatal(err)
		}
		var lc control.CopyResult
		tm.editor.must(201, "POST", vpath(legacy.Dataflow.ID, 1, "/copy"), map[string]string{"description": "legacy"}, &lc)
		if strings.Contains(lc.Document, inline) || strings.Contains(lc.Document, "****") || len(lc.Removed) != 1 || !strings.Contains(lc.Removed[0], "password") {
			t.Fatalf("legacy copy: %q\n%s", lc.Removed, lc.Document)
		}
		tm.editor.must(200, "GET", "/api/v1/clipboard/"+lc.ID, nil, nil)
		var lp control.PasteResult
		editorB.must(201, "POST", "/api/v1/clipboard/"+lc.ID+"/paste", map[string]string{}, &lp)
		assertNoLeak(t, h, secretValue, inline)
	})
}
