package server

import (
	"strings"
	"testing"

	"github.com/connectplus/connectplus/store"
)

// TestMakerCheckerAuthors: an admin who saved a revision of a version may
// not approve it, even when an editor pressed Submit (issue 14.2).
func TestMakerCheckerAuthors(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		tm := h.team()
		h.configs(tm)
		res := createFlow(t, tm.editor, "Authored", flowDoc("Authored", "/in"))
		id := res.Dataflow.ID

		// The admin saves the document; the editor submits it.
		var v store.Version
		tm.admin.must(200, "GET", vpath(id, 1, ""), nil, &v)
		tm.admin.must(200, "PUT", vpath(id, 1, ""), map[string]any{"document": flowDoc("Authored", "/admin-wrote-this"), "revision": v.Revision}, nil)
		tm.editor.must(200, "POST", vpath(id, 1, "/submit"), nil, nil)

		r := tm.admin.do("POST", vpath(id, 1, "/approve"), map[string]string{"reason": "looks fine to me"})
		if r.code != 403 || !strings.Contains(string(r.body), "maker-checker") {
			t.Fatalf("an author approved their own document: %d %s", r.code, r.body)
		}
		// The approver sees who wrote it.
		tm.admin2.must(200, "GET", vpath(id, 1, ""), nil, &v)
		if !contains(v.Authors, "admin") || !contains(v.Authors, "editor") || v.SubmittedBy != "editor" {
			t.Fatalf("authors: %+v", v)
		}
		tm.admin2.must(200, "POST", vpath(id, 1, "/approve"), map[string]string{"reason": "reviewed"}, nil)

		// The automatic next Draft is a copy, not authored by the approver:
		// an editor's change to it can be approved by either admin who did
		// not write it.
		var v2 store.Version
		tm.editor.must(200, "GET", vpath(id, 2, ""), nil, &v2)
		if len(v2.Authors) != 0 {
			t.Fatalf("copy has authors: %+v", v2.Authors)
		}
		tm.editor.must(200, "PUT", vpath(id, 2, ""), map[string]any{"document": flowDoc("Authored", "/v2"), "revision": v2.Revision}, nil)
		tm.editor.must(200, "POST", vpath(id, 2, "/submit"), nil, nil)
		tm.admin2.must(200, "POST", vpath(id, 2, "/approve"), map[string]string{"reason": "ok"}, nil)

		var aud struct {
			Items []store.AuditEntry `json:"items"`
		}
		tm.admin.must(200, "GET", "/api/v1/audit?action=version.approve", nil, &aud)
		if len(aud.Items) != 2 || !strings.Contains(string(aud.Items[1].After), `"authors":["admin","editor"]`) {
			t.Fatalf("approve audit: %+v", aud.Items)
		}
	})
}
