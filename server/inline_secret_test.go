package server

import (
	"context"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/store"
)

// TestInlineSecrets: a secret field must be a {$config: name} reference.
// Saving an inline value is refused on every write path without echoing
// it, and a document stored with one before is masked on every read
// (issue 14.5).
func TestInlineSecrets(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		tm := h.team()
		h.configs(tm)
		const plain = "S3cr3t-Plaintext-INLINE"
		inline := strings.Replace(flowDoc("Inline", "/in"), "password: {$config: sftp_password}", "password: "+plain, 1)

		check := func(what string, r *resp) {
			t.Helper()
			if r.code != 400 || r.errCode(t) != "validation_failed" || !strings.Contains(string(r.body), `"path":"blocks[0].config.password"`) ||
				strings.Contains(string(r.body), plain) {
				t.Fatalf("%s with an inline secret: %d %s", what, r.code, r.body)
			}
		}
		check("create", tm.editor.do("POST", "/api/v1/dataflows", map[string]any{"name": "Inline", "document": inline}))
		check("import", tm.editor.do("POST", "/api/v1/dataflows/import", map[string]any{"name": "Inline", "document": inline}))
		res := createFlow(t, tm.editor, "Inline", flowDoc("Inline", "/in"))
		id := res.Dataflow.ID
		check("save", tm.editor.do("PUT", vpath(id, 1, ""), map[string]any{"document": inline, "revision": res.Version.Revision}))
		check("put draft", tm.editor.do("PUT", "/api/v1/dataflows/"+id+"/draft", map[string]any{"document": inline, "revision": res.Version.Revision}))
		// Empty and null mean "not set", and are fine.
		var saved struct {
			Version store.Version `json:"version"`
		}
		unset := strings.Replace(flowDoc("Inline", "/in"), "password: {$config: sftp_password}", `password: ""`, 1)
		tm.editor.must(200, "PUT", vpath(id, 1, ""), map[string]any{"document": unset, "revision": res.Version.Revision}, &saved)

		// A Draft stored with an inline value before the rule existed is
		// masked in the version read, the diff and the export.
		ctx := context.Background()
		err := h.st.Tx(ctx, func(q *store.Queries) error {
			v, err := q.GetVersion(ctx, res.Dataflow.OrgID, id, 1)
			if err != nil {
				return err
			}
			v.Document = inline
			return q.UpdateVersion(ctx, &v, store.StateDraft)
		})
		if err != nil {
			t.Fatal(err)
		}
		h.mu.Lock()
		h.responses.Reset()
		h.mu.Unlock()
		var v store.Version
		tm.viewer.must(200, "GET", vpath(id, 1, ""), nil, &v)
		if !strings.Contains(v.Document, "****") || !strings.Contains(v.Document, "sourceDirectory: /in") {
			t.Fatalf("stored inline secret not masked: %s", v.Document)
		}
		tm.viewer.must(200, "GET", vpath(id, 1, "/export"), nil, nil)
		tm.viewer.must(200, "GET", vpath(id, 1, "/export?format=json"), nil, nil)
		tm.viewer.must(200, "POST", vpath(id, 1, "/validate"), nil, nil)
		assertNoLeak(t, h, secretValue)
		h.mu.Lock()
		leaked := strings.Contains(h.responses.String(), plain)
		h.mu.Unlock()
		if leaked {
			t.Fatal("an inline secret was answered")
		}
	})
}
