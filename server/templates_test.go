package server

import (
	"sort"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/blocks/all"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/quartz"
	"github.com/connectplus/connectplus/store"
	"github.com/connectplus/connectplus/templates"
)

func templateHarness(t *testing.T) *harness {
	return newHarnessWith(t, sqliteURL(t), harnessOptions{
		registry: all.Registry(), validate: dataflow.ValidateOptions{CronCheck: quartz.Check},
	})
}

// TestTemplatesAPIListsTheCatalogue: GET /templates names exactly the
// catalogue's folders; GET /templates/{name} has the same metadata plus the
// flow, the samples and the golden outcome.
func TestTemplatesAPIListsTheCatalogue(t *testing.T) {
	h := templateHarness(t)
	tm := h.team()
	cat, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	var list TemplatesResponse
	tm.viewer.must(200, "GET", "/api/v1/templates", nil, &list)
	var names []string
	for _, s := range list.Templates {
		names = append(names, s.Name)
		tp, ok := cat.Get(s.Name)
		if !ok || s.Category != tp.Category || s.Destination != tp.Destination || strings.Join(s.Blocks, ",") != strings.Join(tp.Blocks, ",") || len(s.Parameters) != len(tp.Parameters) {
			t.Errorf("%s: %+v", s.Name, s)
		}
	}
	sort.Strings(names)
	if strings.Join(names, ",") != strings.Join(cat.Names(), ",") {
		t.Fatalf("API lists %v, catalogue has %v", names, cat.Names())
	}
	if strings.Join(list.Categories, "|") != strings.Join(templates.Categories(), "|") {
		t.Errorf("categories %v", list.Categories)
	}
	for _, n := range cat.Names() {
		var d TemplateDetail
		tm.viewer.must(200, "GET", "/api/v1/templates/"+n, nil, &d)
		if d.Name != n || d.Flow == "" || len(d.SampleFiles) != len(d.Samples) || len(d.ExpectedRuns) != len(d.Samples) || d.Expected["run.json"] == "" {
			t.Errorf("%s detail: flow %d bytes, %d sample files, %d expected runs", n, len(d.Flow), len(d.SampleFiles), len(d.ExpectedRuns))
		}
	}
	var d TemplateDetail
	tm.viewer.must(200, "GET", "/api/v1/templates/transaction_v2_add", nil, &d)
	if !strings.Contains(d.SampleFiles[0].Content, "BN10000001") || !strings.Contains(d.Flow, "{$param: sourceDirectory}") {
		t.Errorf("detail: %+v", d.SampleFiles)
	}
	if r := tm.viewer.do("GET", "/api/v1/templates/no_such", nil); r.code != 404 {
		t.Errorf("unknown template: %d", r.code)
	}
}

// TestTemplateInstantiate: an editor creates a Draft from a template with
// five values; bad values are 422 with the parameter named; the Draft
// validates once its Extension Configurations exist and can be submitted.
func TestTemplateInstantiate(t *testing.T) {
	h := templateHarness(t)
	tm := h.team()
	params := map[string]string{
		"sftpHost": "sftp.brand.example", "sourceDirectory": "/brand/tx/in", "processedDirectory": "/brand/tx/done",
		"apiErrorFilePath": "/brand/tx/errors", "apiBaseUrl": "https://eu.api.capillarytech.com",
	}
	// Render: the document with the values, nothing created.
	var rr TemplateRenderResponse
	tm.viewer.must(200, "POST", "/api/v1/templates/transaction_v2_add/render", map[string]any{"name": "tx_brand", "parameters": params}, &rr)
	if !rr.Valid || !strings.Contains(rr.Document, "sourceDirectory: /brand/tx/in") || !strings.Contains(rr.Document, "name: tx_brand") {
		t.Fatalf("render: %+v", rr)
	}
	// Missing Extension Configurations are warnings, not errors.
	warned := false
	for _, p := range rr.Problems {
		warned = warned || p.Severity == "warning" && strings.Contains(p.Message, "sftp_password")
	}
	if !warned {
		t.Errorf("no warning for the missing sftp_password: %+v", rr.Problems)
	}
	// The gallery's preview: the rendered document on the template's sample.
	var d TemplateDetail
	tm.viewer.must(200, "GET", "/api/v1/templates/transaction_v2_add", nil, &d)
	var pv PreviewResponse
	tm.viewer.must(200, "POST", "/api/v1/preview", map[string]any{"document": rr.Document, "format": "yaml", "sample": d.SampleFiles[0].Content, "sampleName": d.SampleFiles[0].Name}, &pv)
	if pv.Result == nil || len(pv.Files) != 1 || pv.Counts.In != 8 || pv.Counts.Failed != 3 || pv.Counts.Filtered != 1 {
		t.Fatalf("preview of the sample: %+v", pv.Result)
	}
	r := tm.viewer.do("POST", "/api/v1/templates/transaction_v2_add/render", map[string]any{"parameters": map[string]string{"decryptEnabled": "maybe", "colour": "red"}})
	if r.code != 422 || !strings.Contains(string(r.body), "decryptEnabled") || !strings.Contains(string(r.body), `no parameter \"colour\"`) {
		t.Fatalf("bad values: %d %s", r.code, r.body)
	}
	r = tm.editor.do("POST", "/api/v1/templates/transaction_v2_add/instantiate", map[string]any{"name": "tx_bad", "parameters": map[string]string{"fileRegex": "(["}})
	if r.code != 422 || !strings.Contains(string(r.body), "fileRegex") {
		t.Fatalf("invalid document: %d %s", r.code, r.body)
	}
	if r := tm.viewer.do("POST", "/api/v1/templates/transaction_v2_add/instantiate", map[string]any{"name": "tx_brand", "parameters": params}); r.code != 403 {
		t.Fatalf("viewer instantiates: %d %s", r.code, r.body)
	}
	if r := tm.editor.do("POST", "/api/v1/templates/transaction_v2_add/instantiate", map[string]any{"parameters": params}); r.code != 400 {
		t.Fatalf("no name: %d %s", r.code, r.body)
	}

	var res TemplateInstantiateResponse
	tm.editor.must(201, "POST", "/api/v1/templates/transaction_v2_add/instantiate", map[string]any{"name": "tx_brand", "parameters": params}, &res)
	if res.Version.State != store.StateDraft || res.Version.Number != 1 || res.Template != "transaction_v2_add" || res.Dataflow.Name != "tx_brand" {
		t.Fatalf("created: %+v", res)
	}
	if len(res.Dataflow.Tags) != 1 || res.Dataflow.Tags[0] != "template:transaction_v2_add" {
		t.Errorf("tags %v", res.Dataflow.Tags)
	}
	doc, err := dataflow.Parse([]byte(res.Version.Document), "v1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src, _ := doc.BlockByName("connect_to_source")
	if src.Config["hostname"] != "sftp.brand.example" || src.Config["sourceDirectory"] != "/brand/tx/in" {
		t.Errorf("values not in the Draft: %v", src.Config)
	}
	if r := tm.editor.do("POST", "/api/v1/templates/transaction_v2_add/instantiate", map[string]any{"name": "tx_brand", "parameters": params}); r.code != 409 {
		t.Fatalf("duplicate name: %d %s", r.code, r.body)
	}
	// Once its Extension Configurations exist the Draft validates and can
	// be sent for approval.
	for _, c := range []struct {
		name   string
		secret bool
	}{{"sftp_password", true}, {"capillary_client_key", false}, {"capillary_client_secret", true}} {
		var req store.ConfigRequest
		tm.editor.must(201, "POST", "/api/v1/config-requests", map[string]any{"name": c.name, "value": "value-of-" + c.name, "isSecret": c.secret}, &req)
		tm.admin.must(200, "POST", "/api/v1/config-requests/"+req.ID+"/approve", map[string]string{"comment": "ok"}, nil)
	}
	var val ValidateResponse
	tm.editor.must(200, "POST", vpath(res.Dataflow.ID, 1, "/validate"), nil, &val)
	if !val.Valid {
		t.Fatalf("Draft does not validate: %+v", val)
	}
	var sub store.Version
	tm.editor.must(200, "POST", vpath(res.Dataflow.ID, 1, "/submit"), nil, &sub)
	if sub.State == store.StateDraft {
		t.Fatalf("submitted: %+v", sub)
	}
}
