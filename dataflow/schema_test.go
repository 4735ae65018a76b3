package dataflow

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := Schema(testRegistry(t))
	if err != nil {
		t.Fatalf("Schema: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	// Compiling checks the schema against the 2020-12 meta-schema.
	sch, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	return sch
}

// asInstance turns a YAML document into the JSON instance the schema sees.
func asInstance(t *testing.T, src string) any {
	t.Helper()
	var v any
	doc, err := Parse([]byte(src), "")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	out, err := Marshal(doc, "json")
	if err != nil {
		t.Fatal(err)
	}
	if v, err = jsonschema.UnmarshalJSON(bytes.NewReader(out)); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSchemaAcceptsValidDocuments(t *testing.T) {
	sch := compileSchema(t)
	reg := testRegistry(t)
	for name, src := range map[string]string{
		"full":                             validYAML,
		"mini":                             miniFlow,
		"strings for numbers and booleans": strings.Replace(miniFlow, "sourceDirectory: /in", `sourceDirectory: /in, port: "2222", unzipFiles: "true", password: "null"`, 1),
		"legacy type":                      strings.Replace(miniFlow, "type: sftp_read", "type: sftp_pull", 1),
		"alias key":                        strings.Replace(miniFlow, "name: conv,", "name: conv, config: {Group size: 5},", 1),
		"preset trigger":                   strings.Replace(miniFlow, "name: t", "name: t\ntrigger: {preset: daily at 01:00}", 1),
	} {
		if probs := Validate(mustParse(t, src, ""), reg); len(probs) != 0 {
			t.Fatalf("%s: the example itself is invalid: %v", name, probs)
		}
		if err := sch.Validate(asInstance(t, src)); err != nil {
			t.Errorf("%s: schema rejects a valid document: %v", name, err)
		}
	}
}

func TestSchemaRejectsInvalidDocuments(t *testing.T) {
	sch := compileSchema(t)
	for name, src := range map[string]string{
		"unknown type":           strings.Replace(miniFlow, "type: http_write", "type: http_wirte", 1),
		"unknown config key":     strings.Replace(miniFlow, "hostname: h", "hostname: h, hostnme: x", 1),
		"missing required field": strings.Replace(miniFlow, ", sourceDirectory: /in", "", 1),
		"bad enum":               strings.Replace(miniFlow, "apiEndPoint: /e", "apiEndPoint: /e, method: PATCH", 1),
		"inline secret":          strings.Replace(miniFlow, "sourceDirectory: /in", "sourceDirectory: /in, password: hunter2", 1),
		"integer out of range":   strings.Replace(miniFlow, "sourceDirectory: /in", "sourceDirectory: /in, port: 70000", 1),
		"non-numeric integer":    strings.Replace(miniFlow, "sourceDirectory: /in", "sourceDirectory: /in, port: abc", 1),
		"reference not allowed":  strings.Replace(miniFlow, "sourceDirectory: /in", "sourceDirectory: {$config: dir}", 1),
		"bad block name":         strings.Replace(miniFlow, "name: out", "name: out-1", 1),
		"too many tags":          strings.Replace(miniFlow, "name: t", "name: t\ntags: [a, b, c, d, e, f]", 1),
		"cron and preset":        strings.Replace(miniFlow, "name: t", "name: t\ntrigger: {cron: '0 0 * * * ?', preset: daily at 01:00}", 1),
		"bad relation":           strings.Replace(miniFlow, "relations: [out]", "relations: ['not a name']", 1),
		"no blocks":              "name: t\nblocks: []\n",
	} {
		if err := sch.Validate(asInstance(t, src)); err == nil {
			t.Errorf("%s: schema accepts an invalid document", name)
		}
	}
}

func TestSchemaStructure(t *testing.T) {
	raw, err := Schema(testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", s["$schema"])
	}
	defs := s["$defs"].(map[string]any)
	if n := len(defs["block"].(map[string]any)["oneOf"].([]any)); n != 7 {
		t.Errorf("oneOf has %d branches, want one per spec (7)", n)
	}
	read := defs["block_sftp_read"].(map[string]any)
	props := read["properties"].(map[string]any)
	if e := props["type"].(map[string]any)["enum"]; len(e.([]any)) != 3 {
		t.Errorf("sftp_read type enum = %v, want the type and its two legacy names", e)
	}
	cfg := props["config"].(map[string]any)
	req := cfg["required"].([]any)
	if len(req) != 3 || req[0] != "hostname" || req[1] != "username" || req[2] != "sourceDirectory" {
		t.Errorf("required = %v (fileRegex has a default, so it is not required)", req)
	}
	fields := cfg["properties"].(map[string]any)
	host := fields["hostname"].(map[string]any)
	if host["x-fromConfigs"] != true || host["title"] != "Hostname" {
		t.Errorf("hostname = %v", host)
	}
	pw := fields["password"].(map[string]any)
	if pw["x-secret"] != true {
		t.Errorf("password = %v", pw)
	}
	port := fields["port"].(map[string]any)
	if port["default"] != float64(22) || port["x-advanced"] != true {
		t.Errorf("port = %v", port)
	}
	if unzip := fields["unzipFiles"].(map[string]any); unzip["default"] != false {
		t.Errorf("unzipFiles default = %v", unzip["default"])
	}
	filter := defs["block_filter_on_condition"].(map[string]any)["properties"].(map[string]any)["config"].(map[string]any)["properties"].(map[string]any)
	if filter["filterCondition"].(map[string]any)["x-supportsExpressions"] != true {
		t.Error("filterCondition lacks x-supportsExpressions")
	}
	conv := defs["block_convert_csv_to_json"].(map[string]any)["properties"].(map[string]any)["config"].(map[string]any)["properties"].(map[string]any)
	if alias := conv["Group size"].(map[string]any); alias["deprecated"] != true {
		t.Errorf("alias entry = %v", alias)
	}
	// Empty registries still give a usable schema.
	if _, err := Schema(nil); err != nil {
		t.Errorf("Schema(nil): %v", err)
	}
}
