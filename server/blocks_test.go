package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block/blockdoc"
	"github.com/connectplus/connectplus/blocks/all"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/quartz"
)

type blockJSON struct {
	Type     string                     `json:"type"`
	Label    string                     `json:"label"`
	Class    string                     `json:"class"`
	Category string                     `json:"category"`
	Input    string                     `json:"input"`
	Output   string                     `json:"output"`
	Fields   []map[string]any           `json:"fields"`
	Schema   map[string]json.RawMessage `json:"schema"`
	Docs     string                     `json:"docs"`
}

func TestBlocksCatalogue(t *testing.T) {
	h := newHarness(t, sqliteURL(t))
	tm := h.team()

	if r := h.anon().do("GET", "/api/v1/blocks", nil); r.code != 401 {
		t.Fatalf("anonymous: %d", r.code)
	}
	var cat struct {
		Blocks []blockJSON `json:"blocks"`
	}
	tm.viewer.must(200, "GET", "/api/v1/blocks", nil, &cat)
	// Sorted by category: Destination before Source.
	if len(cat.Blocks) != 2 || cat.Blocks[0].Type != "sink_write" || cat.Blocks[1].Type != "src_read" {
		t.Fatalf("catalogue: %+v", cat.Blocks)
	}
	src := cat.Blocks[1]
	if src.Class != "source" || src.Input != "none" || src.Output != "file" || len(src.Fields) != 3 || src.Fields[0]["key"] != "hostname" || src.Fields[0]["required"] != true {
		t.Fatalf("spec: %+v", src)
	}
	spec, _ := h.svc.Registry().Lookup("src_read")
	if src.Docs != blockdoc.Text(spec) {
		t.Errorf("docs differ from `connectplus blocks src_read`:\n%s", src.Docs)
	}
	if string(src.Schema["$schema"]) != `"https://json-schema.org/draft/2020-12/schema"` || string(src.Schema["type"]) != `"object"` ||
		!strings.Contains(string(src.Schema["required"]), "sourceDirectory") || !strings.Contains(string(src.Schema["$defs"]), "configRef") {
		t.Fatalf("schema: %s", mustJSON(src.Schema))
	}
	// The secret field takes only a reference, and the reference resolves.
	if !strings.Contains(string(src.Schema["properties"]), `"password":{"title":"Password","anyOf":[{"$ref":"#/$defs/configRef"}`) {
		t.Errorf("password schema: %s", src.Schema["properties"])
	}

	var one blockJSON
	tm.viewer.must(200, "GET", "/api/v1/blocks/src_read", nil, &one)
	if one.Type != "src_read" || one.Docs != src.Docs {
		t.Fatalf("one: %+v", one)
	}
	r := tm.viewer.do("GET", "/api/v1/blocks/src_reed", nil)
	if r.code != 404 || r.errCode(t) != "not_found" || !strings.Contains(string(r.body), `did you mean \"src_read\"`) {
		t.Fatalf("unknown: %d %s", r.code, r.body)
	}
}

// Every block of the product registry has a catalogue entry whose schema
// is the config schema of `connectplus blocks --schema`.
func TestCatalogueOfEveryBlock(t *testing.T) {
	reg := all.Registry()
	cat, err := newCatalogue(reg)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.list) != len(reg.Specs()) || len(cat.list) < 30 {
		t.Fatalf("%d entries for %d specs", len(cat.list), len(reg.Specs()))
	}
	full, err := dataflow.Schema(reg)
	if err != nil {
		t.Fatal(err)
	}
	var root struct {
		Defs map[string]struct {
			Properties struct {
				Config map[string]any `json:"config"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(full, &root); err != nil {
		t.Fatal(err)
	}
	for i, b := range cat.list {
		if i > 0 {
			p := cat.list[i-1]
			if p.Category > b.Category || (p.Category == b.Category && p.Label > b.Label) {
				t.Errorf("not sorted: %s/%s before %s/%s", p.Category, p.Label, b.Category, b.Label)
			}
		}
		var got map[string]any
		if err := json.Unmarshal(b.Schema, &got); err != nil {
			t.Fatalf("%s: %v", b.Type, err)
		}
		want := root.Defs["block_"+b.Type].Properties.Config
		for k, v := range want {
			if string(mustJSON(got[k])) != string(mustJSON(v)) {
				t.Errorf("%s: schema %s differs from the dataflow schema", b.Type, k)
			}
		}
		if b.Docs == "" || !strings.HasPrefix(b.Docs, b.Type+" — ") {
			t.Errorf("%s: docs %.40q", b.Type, b.Docs)
		}
	}
}

func TestValidateUnsavedDocument(t *testing.T) {
	h := newHarnessWith(t, sqliteURL(t), harnessOptions{registry: all.Registry(),
		validate: dataflow.ValidateOptions{CronCheck: quartz.Check}})
	tm := h.team()
	validate := func(c *client, doc, format string) ValidateDocumentResponse {
		t.Helper()
		var out ValidateDocumentResponse
		c.must(200, "POST", "/api/v1/validate", map[string]string{"document": doc, "format": format}, &out)
		return out
	}
	good := `{"name":"ok","blocks":[{"type":"file_read","name":"read","config":{"sourceDirectory":"/in","fileRegex":".*\\.csv",` +
		`"processedDirectory":"/done","apiErrorFilePath":"/err"},"relations":[{"to":"write"}]},` +
		`{"type":"file_write","name":"write","config":{"remotePath":"/out","conflictResolution":"REPLACE"}}]}`
	if v := validate(tm.viewer, good, "json"); !v.Valid || len(v.Problems) != 0 {
		t.Fatalf("valid document: %+v", v)
	}
	// A bad regex, a missing required field and an unknown Extension
	// Configuration: every problem, with the block path, line and column.
	bad := "name: bad\nblocks:\n  - type: file_read\n    name: read\n    config:\n      sourceDirectory: /in\n      fileRegex: \"[unclosed\"\n    relations: [write]\n" +
		"  - type: http_write\n    name: write\n    config:\n      clientKey: {$config: no_such_entry}\n"
	v := validate(tm.viewer, bad, "yaml")
	if v.Valid {
		t.Fatalf("invalid document valid: %+v", v)
	}
	byPath := map[string]DocumentProblem{}
	for _, p := range v.Problems {
		byPath[p.Path] = p
		if p.Severity != "error" || !strings.HasPrefix(p.Path, "blocks[") {
			t.Errorf("problem %+v", p)
		}
	}
	re, ok := byPath["blocks[0].config.fileRegex"]
	if !ok || re.Position == nil || re.Position.Line != 7 {
		t.Errorf("fileRegex problem: %+v (all: %+v)", re, v.Problems)
	}
	found := false
	for _, p := range v.Problems {
		if strings.HasPrefix(p.Path, "blocks[1]") && strings.Contains(p.Message, `"no_such_entry" does not exist`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no unknown-configuration problem: %+v", v.Problems)
	}
	// Unparseable text: problems, not an error status.
	if v := validate(tm.viewer, "{not json", "json"); v.Valid || len(v.Problems) == 0 || v.Problems[0].Position == nil {
		t.Errorf("broken JSON: %+v", v)
	}
	if v := validate(tm.viewer, "", ""); v.Valid || v.Problems[0].Path != "document" {
		t.Errorf("empty: %+v", v)
	}
	// The same checks as the saved-version route.
	res := createFlow(t, tm.editor, "Bad", bad)
	var saved ValidateResponse
	tm.viewer.must(200, "POST", vpath(res.Dataflow.ID, res.Version.Number, "/validate"), nil, &saved)
	if len(saved.Problems) != len(v.Problems) {
		t.Errorf("version validate found %d problems, unsaved %d", len(saved.Problems), len(v.Problems))
	}
	// Body rules as everywhere: unknown fields refused, CSRF needed.
	if r := tm.viewer.do("POST", "/api/v1/validate", map[string]string{"document": good, "bogus": "1"}); r.code != 400 {
		t.Errorf("unknown field: %d", r.code)
	}
	nocsrf := *tm.viewer
	nocsrf.csrf = ""
	if r := nocsrf.do("POST", "/api/v1/validate", map[string]string{"document": good}); r.code != 403 {
		t.Errorf("without CSRF: %d", r.code)
	}
}
