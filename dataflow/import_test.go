package dataflow

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func importFixture(t *testing.T, name string) (*Document, []Problem) {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	doc, probs := ImportConnectPlus(data, testRegistry(t))
	if doc == nil {
		t.Fatalf("no document: %v", probs)
	}
	return doc, probs
}

func hasProblem(probs []Problem, path, msg string) bool {
	for _, p := range probs {
		if p.Path == path && strings.Contains(p.Message, msg) {
			return true
		}
	}
	return false
}

func TestImportNeoRuleVersion(t *testing.T) {
	doc, probs := importFixture(t, "neo_rule_version.json")
	if doc.Name != "Bulk add customer" || !reflect.DeepEqual(doc.Tags, []string{"customers"}) || doc.Trigger == nil || doc.Trigger.Cron != "0 0/5 * * * ?" {
		t.Fatalf("header: %+v %+v", doc, doc.Trigger)
	}
	var types, names []string
	for _, b := range doc.Blocks {
		types = append(types, b.Type)
		names = append(names, b.Name)
	}
	if want := []string{"sftp_read", "decrypt_content", "convert_csv_to_json", "jslt_transform", "http_write", "sftp_write"}; !reflect.DeepEqual(types, want) {
		t.Errorf("types = %v, want %v (legacy types mapped)", types, want)
	}
	if want := []string{"Connect_to_source", "decrypt", "csv_to_json", "payload", "post", "archive"}; !reflect.DeepEqual(names, want) {
		t.Errorf("names = %v", names)
	}
	read := doc.Blocks[0]
	if n, ok := RefName(read.Config["hostname"]); !ok || n != "sftp_host" {
		t.Errorf("hostname: the configuration reference should win over the static value: %#v", read.Config["hostname"])
	}
	if read.Config["File Delimiter"] != "," || read.Config["port"] != int64(22) || read.Config["unzipFiles"] != "false" {
		t.Errorf("config keys and values must be kept exactly: %#v", read.Config)
	}
	if read.Position == nil || *read.Position != (Point{X: 100, Y: 40.5}) {
		t.Errorf("position = %v", read.Position)
	}
	if !reflect.DeepEqual(read.Relations, []Relation{{To: "decrypt"}}) {
		t.Errorf("relations = %v", read.Relations)
	}
	if d := doc.Blocks[1]; !d.Disabled || d.Config != nil {
		t.Errorf("isEnabled=false in config (undeclared by the spec) should disable the block: %+v", d)
	}
	if c := doc.Blocks[2]; c.Config["Group size"] != "10" || !reflect.DeepEqual(c.Relations, []Relation{{To: "payload"}, {To: "archive", On: "failure"}}) {
		t.Errorf("csv_to_json = %+v", c)
	}
	if p := doc.Blocks[3]; !reflect.DeepEqual(p.Relations, []Relation{{To: "post", On: "${loyaltyType:equals('loyalty')}"}, {To: "post", On: "getValueByKey('x') == 1"}}) {
		t.Errorf("payload relations = %+v", p.Relations)
	}
	if n, ok := RefName(doc.Blocks[4].Config["clientSecret"]); !ok || n != "oauth_secret" {
		t.Errorf("clientSecret = %#v", doc.Blocks[4].Config["clientSecret"])
	}
	if !doc.Blocks[5].Disabled {
		t.Error("isEnabled: false on the block should disable it")
	}
	for _, want := range []struct{ path, msg string }{
		{"blocks[0].name", `"Connect-to-source" renamed to "Connect_to_source"`},
		{"blocks[3].relations[1]", `relation expression "getValueByKey('x') == 1" has no Connect+ Go equivalent`},
		{"blocks[3].relations[1]", "status filter [200] is not supported"},
	} {
		if !hasProblem(probs, want.path, want.msg) {
			t.Errorf("missing import problem %s: %s; got:\n%s", want.path, want.msg, problemList(probs))
		}
	}
	if len(probs) != 3 {
		t.Errorf("unexpected import problems:\n%s", problemList(probs))
	}
	// The unsupported expression is left for validation to refuse.
	vp := Validate(doc, testRegistry(t))
	if !hasProblem(vp, "blocks[3].relations[1].on", "unknown relation") {
		t.Errorf("validation should refuse the unsupported relation; got:\n%s", problemList(vp))
	}
	// Apart from that, the imported flow is valid and round-trips.
	doc.Blocks[3].Relations = doc.Blocks[3].Relations[:1]
	doc.Blocks[0].Config["sourceDirectory"] = "/in"
	if vp := Validate(doc, testRegistry(t)); len(vp) != 0 {
		t.Errorf("imported document has problems:\n%s", problemList(vp))
	}
	out, err := Marshal(doc, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	if again := mustParse(t, string(out), "x.yaml"); !sameContent(doc, again) {
		t.Errorf("imported document does not round-trip:\n%s", out)
	}
}

func TestImportDIYResponse(t *testing.T) {
	doc, probs := importFixture(t, "diy_response.json")
	if doc.Name != "DIYDEMONEO_TESTDOC" || doc.Trigger == nil || doc.Trigger.Preset != "every 15 minutes" {
		t.Fatalf("header: %+v %+v", doc, doc.Trigger)
	}
	src := doc.Blocks[0]
	if src.Type != "sftp_read" || src.Name != "Connect_to_source" {
		t.Errorf("source = %+v", src)
	}
	if _, has := src.Config["fileRegex"]; has || src.Config["username"] != "capillary" {
		t.Errorf("fields: a null value leaves the spec default: %#v", src.Config)
	}
	if !reflect.DeepEqual(src.Relations, []Relation{{To: "Transform_Data"}}) {
		t.Errorf("splits→success, terminated failure dropped: %+v", src.Relations)
	}
	if doc.Blocks[1].Type != "convert_csv_to_json" || doc.Blocks[1].Config["Group size"] != "1" {
		t.Errorf("transform = %+v", doc.Blocks[1])
	}
	if doc.Blocks[2].Type != "http_write" || !reflect.DeepEqual(doc.Blocks[2].Relations, []Relation{{To: "Connect_to_Destination"}}) {
		t.Errorf("neo transformer = %+v", doc.Blocks[2])
	}
	if doc.Blocks[3].Type != "retro_destination" || !hasProblem(probs, "blocks[3].type", `unknown block type "retro_destination"`) {
		t.Errorf("unknown type kept and reported: %+v\n%s", doc.Blocks[3], problemList(probs))
	}
}

func TestImportDIYRequestChainsByOrder(t *testing.T) {
	doc, probs := importFixture(t, "diy_request.json")
	rel := map[string][]Relation{}
	for _, b := range doc.Blocks {
		rel[b.Name] = b.Relations
	}
	want := map[string][]Relation{
		"Connect_to_source":      {{To: "Transform_Data"}},
		"Transform_Data":         {{To: "Connect_to_source_2"}},
		"Connect_to_source_2":    {{To: "Connect_to_Destination"}},
		"Connect_to_Destination": nil,
	}
	if !reflect.DeepEqual(rel, want) {
		t.Errorf("chain = %v, want %v", rel, want)
	}
	if doc.Blocks[3].Type != "decrypt_content" {
		t.Errorf("legacy decrypt type = %s", doc.Blocks[3].Type)
	}
	if !hasProblem(probs, "blocks[3].name", `renamed to "Connect_to_source_2"`) {
		t.Errorf("duplicate name not reported:\n%s", problemList(probs))
	}
}

func TestImportShapes(t *testing.T) {
	tests := []struct {
		name, src string
		path, msg string
		check     func(*Document) bool
	}{
		{"not JSON", "nope", "", "read Connect+ export", nil},
		{"no blocks", `{"name": "x"}`, "blocks", "no blocks list", nil},
		{"no name", `{"blocks": []}`, "name", "no dataflow name", nil},
		{"block without type", `{"name":"x","blocks":[{"name":"a"}]}`, "blocks[0].type", "has no type", nil},
		{"gen-1 transform", `{"name":"x","blocks":[{"name":"a","type":"transform_to_customer"}]}`, "blocks[0].type", "became convert_csv_to_json → jslt_transform", nil},
		{"unexpressible schedule", `{"name":"x","schedule":{"cronFrequencyInSeconds":7200},"blocks":[]}`, "schedule", "cannot be expressed", nil},
		{"top-level edges", `{"name":"x","blocks":[{"name":"a","type":"sftp_read"},{"name":"b","type":"convert_csv_to_json"}],"edges":[{"from":"a","to":"b","relation":"failure"},{"from":"zz","to":"b"}]}`,
			"edges[1]", `edge from unknown block "zz"`, func(d *Document) bool {
				return reflect.DeepEqual(d.Blocks[0].Relations, []Relation{{To: "b", On: "failure"}})
			}},
		{"tags and string schedule", `{"name":"x","tags":["a","b"],"tag":"a","schedule":"0 0 1 * * ?","blocks":[{"name":"a","type":"sftp_read"}]}`,
			"", "", func(d *Document) bool {
				return reflect.DeepEqual(d.Tags, []string{"a", "b"}) && d.Trigger.Cron == "0 0 1 * * ?"
			}},
		{"wrapped in data", `{"data":{"name":"w","blocks":[{"name":"a","type":"sftp_read"}]}}`, "", "", func(d *Document) bool {
			return d.Name == "w" && len(d.Blocks) == 1
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, probs := ImportConnectPlus([]byte(tc.src), testRegistry(t))
			if tc.msg != "" && !hasProblem(probs, tc.path, tc.msg) {
				t.Errorf("missing problem %s: %s; got:\n%s", tc.path, tc.msg, problemList(probs))
			}
			if tc.msg == "" && len(probs) != 0 {
				t.Errorf("unexpected problems:\n%s", problemList(probs))
			}
			if tc.check != nil && (doc == nil || !tc.check(doc)) {
				t.Errorf("document = %+v", doc)
			}
		})
	}
	if doc, _ := ImportConnectPlus([]byte(`{"name":"x","blocks":[{"name":"a","type":"sftp_pull"}]}`), nil); doc.Blocks[0].Type != "sftp_pull" {
		t.Errorf("without a registry types are kept: %v", doc.Blocks[0].Type)
	}
}
