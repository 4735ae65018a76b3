package dataflow

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t testing.TB, src, filename string) *Document {
	t.Helper()
	doc, err := Parse([]byte(src), filename)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return doc
}

// sameContent compares documents ignoring recorded positions.
func sameContent(a, b *Document) bool {
	ac, bc := *a, *b
	ac.positions, bc.positions = nil, nil
	return reflect.DeepEqual(ac, bc)
}

func TestParseYAML(t *testing.T) {
	doc := mustParse(t, validYAML, "flow.yaml")
	if doc.Name != "Bulk add customers" || len(doc.Tags) != 2 || doc.Trigger.Cron != "0 0/5 * * * ?" || doc.Trigger.TimeZone != "Asia/Kolkata" {
		t.Fatalf("header: %+v %+v", doc, doc.Trigger)
	}
	if len(doc.Blocks) != 6 {
		t.Fatalf("blocks: %d", len(doc.Blocks))
	}
	read := doc.Blocks[0].Config
	if _, ok := read["port"].(int64); !ok {
		t.Errorf("port should decode as int64, got %T", read["port"])
	}
	if v, ok := read["unzipFiles"].(bool); !ok || v {
		t.Errorf("unzipFiles = %#v", read["unzipFiles"])
	}
	if n, ok := RefName(read["hostname"]); !ok || n != "sftp_host" {
		t.Errorf("hostname reference = %#v", read["hostname"])
	}
	if l, ok := doc.Blocks[1].Config["sortHeaders"].([]any); !ok || len(l) != 2 {
		t.Errorf("sortHeaders = %#v", doc.Blocks[1].Config["sortHeaders"])
	}
	if m, ok := doc.Blocks[4].Config["parsePathMap"].(map[string]any); !ok || m["status_code"] != "$.errors.*.code" {
		t.Errorf("parsePathMap = %#v", doc.Blocks[4].Config["parsePathMap"])
	}
	if got := doc.Blocks[0].Relations; !reflect.DeepEqual(got, []Relation{{To: "convert"}}) {
		t.Errorf("short relation form: %+v", got)
	}
	if got := doc.Blocks[3].Relations; !reflect.DeepEqual(got, []Relation{{To: "post"}, {To: "post_vip", On: "${tier:equals('vip')}"}}) {
		t.Errorf("full relation form: %+v", got)
	}
	if !doc.Blocks[5].Disabled {
		t.Error("post_vip should be disabled")
	}
	if !strings.HasSuffix(doc.Blocks[2].Config["jslt"].(string), "]\n") {
		t.Errorf("literal block: %q", doc.Blocks[2].Config["jslt"])
	}
	for path, want := range map[string]Position{
		"name":                          {1, 7},
		"trigger.cron":                  {5, 9},
		"blocks[0]":                     {8, 5},
		"blocks[0].config.fileRegex":    {15, 18},
		"blocks[0].relations[0].to":     {18, 17},
		"blocks[3].relations[1].on":     {41, 13},
		"blocks[4].config.parsePathMap": {49, 21},
	} {
		if got, ok := doc.PositionOf(path); !ok || got != want {
			t.Errorf("PositionOf(%q) = %v %v, want %v", path, got, ok, want)
		}
	}
}

func TestParseJSONWithPositions(t *testing.T) {
	src := `{
  "name": "j",
  "blocks": [
    {"type": "sftp_read", "name": "read", "config": {"port": 22, "ratio": 0.5, "big": 1e3, "x": null},
     "relations": ["next", {"to": "other", "on": "failure"}]}
  ]
}`
	doc := mustParse(t, src, "")
	cfg := doc.Blocks[0].Config
	if cfg["port"] != int64(22) || cfg["ratio"] != 0.5 || cfg["big"] != int64(1000) || cfg["x"] != nil {
		t.Errorf("config = %#v", cfg)
	}
	if got := doc.Blocks[0].Relations; !reflect.DeepEqual(got, []Relation{{To: "next"}, {To: "other", On: "failure"}}) {
		t.Errorf("relations = %+v", got)
	}
	for path, want := range map[string]Position{
		"name":                        {2, 11},
		"blocks[0]":                   {4, 5},
		"blocks[0].config.ratio":      {4, 75},
		"blocks[0].relations[1].on":   {5, 50},
		"blocks[0].relations[0].to":   {5, 20},
		"blocks[0].relations[1]":      {5, 28},
		"blocks[0].config":            {4, 53},
		"blocks[0].relations":         {5, 19},
		"blocks[0].config.port":       {4, 62},
		"blocks[0].type":              {4, 14},
		"blocks[0].name":              {4, 35},
		"blocks[0].config.big":        {4, 87},
		"blocks[0].relations[1].to":   {5, 35},
		"blocks[0].config.x":          {4, 97},
		"blocks":                      {3, 13},
		"blocks[0].relations[0]":      {5, 20},
		"blocks[0].config.ratio.none": {},
	} {
		if path == "blocks[0].config.ratio.none" {
			if _, ok := doc.PositionOf(path); ok {
				t.Errorf("unexpected position for %s", path)
			}
			continue
		}
		if got, ok := doc.PositionOf(path); !ok || got != want {
			t.Errorf("PositionOf(%q) = %v %v, want %v", path, got, ok, want)
		}
	}
}

func TestParseScalarTypes(t *testing.T) {
	doc := mustParse(t, `name: s
blocks:
  - type: t
    name: b
    config:
      zip: 0123
      hex: 0x1F
      float: 2.50
      intish: 3.0
      str: "5"
      date: 2024-01-02
      empty:
      list: [1, "a", true]
`, "s.yaml")
	cfg := doc.Blocks[0].Config
	want := map[string]any{"zip": "0123", "hex": int64(31), "float": 2.5, "intish": int64(3), "str": "5",
		"date": "2024-01-02", "empty": nil, "list": []any{int64(1), "a", true}}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("config = %#v\nwant %#v", cfg, want)
	}
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name, src, file string
		path            string
		pos             Position
		msg             string
	}{
		{"unknown top-level key", "name: a\nnmae: b\nblocks: []\n", "", "nmae", Position{2, 1}, `unknown key "nmae"`},
		{"unknown block key", "name: a\nblocks:\n  - type: t\n    name: b\n    confg: {}\n", "", "blocks[0].confg", Position{5, 5}, `unknown key "confg" in block`},
		{"duplicate top-level key", "name: a\nname: b\nblocks: []\n", "", "name", Position{2, 1}, `duplicate key "name"`},
		{"duplicate config key", "name: a\nblocks:\n  - type: t\n    name: b\n    config:\n      k: 1\n      k: 2\n", "", "blocks[0].config.k", Position{7, 7}, `duplicate key "k"`},
		{"duplicate JSON key", "{\"name\": \"a\",\n \"blocks\": [], \"name\": \"c\"}", "f.json", "name", Position{2, 16}, `duplicate key "name"`},
		{"name not a string", "name: [a]\nblocks: []\n", "", "name", Position{1, 7}, "expected a string, got a list"},
		{"blocks not a list", "name: a\nblocks: x\n", "", "blocks", Position{2, 9}, "expected a list of blocks, got a string"},
		{"block not a mapping", "name: a\nblocks: [x]\n", "", "blocks[0]", Position{2, 10}, "expected a block"},
		{"type not a string", "name: a\nblocks:\n  - type: 5\n    name: b\n", "", "blocks[0].type", Position{3, 11}, "expected a string, got a number"},
		{"tags not a list", "name: a\ntags: x\nblocks: []\n", "", "tags", Position{2, 7}, "expected a list of strings"},
		{"config not a mapping", "name: a\nblocks:\n  - type: t\n    name: b\n    config: [1]\n", "", "blocks[0].config", Position{5, 13}, "expected a mapping of config keys"},
		{"relation element wrong type", "name: a\nblocks:\n  - type: t\n    name: b\n    relations: [3]\n", "", "blocks[0].relations[0]", Position{5, 17}, "expected a block name or {to, on}"},
		{"unknown relation key", "name: a\nblocks:\n  - type: t\n    name: b\n    relations: [{to: c, when: x}]\n", "", "blocks[0].relations[0].when", Position{5, 25}, `unknown key "when" in relation`},
		{"position not numeric", "name: a\nblocks:\n  - type: t\n    name: b\n    position: {x: a, y: 1}\n", "", "blocks[0].position.x", Position{5, 19}, "expected a number"},
		{"disabled not a bool", "name: a\nblocks:\n  - type: t\n    name: b\n    disabled: yes\n", "", "blocks[0].disabled", Position{5, 15}, "expected true or false"},
		{"unknown trigger key", "name: a\ntrigger: {crn: x}\nblocks: []\n", "", "trigger.crn", Position{2, 11}, `unknown key "crn" in trigger`},
		{"merge key", "name: a\nbase: &b {x: 1}\nblocks: []\n", "", "base", Position{2, 1}, `unknown key "base"`},
		{"merge key in config", "name: a\nblocks:\n  - type: t\n    name: b\n    config:\n      <<: {x: 1}\n", "", "blocks[0].config", Position{6, 7}, "merge keys (<<) are not supported"},
		{"infinite number", "name: a\nblocks:\n  - type: t\n    name: b\n    config: {n: .inf}\n", "", "blocks[0].config.n", Position{5, 17}, "numbers must be finite"},
		{"custom tag", "name: a\nblocks:\n  - type: t\n    name: b\n    config: {n: !foo x}\n", "", "blocks[0].config.n", Position{5, 17}, "unsupported YAML tag"},
		{"not a mapping", "- a\n- b\n", "", "", Position{1, 1}, "must be a mapping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), tc.file)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("want *ParseError, got %v", err)
			}
			for _, p := range pe.Problems {
				if p.Path == tc.path && strings.Contains(p.Message, tc.msg) {
					if p.Pos == nil || *p.Pos != tc.pos {
						t.Fatalf("position = %v, want %v (%v)", p.Pos, tc.pos, p)
					}
					return
				}
			}
			t.Fatalf("no problem at %q containing %q in %v", tc.path, tc.msg, pe)
		})
	}
}

func TestParseReturnsPartialDocument(t *testing.T) {
	doc, err := Parse([]byte("name: a\nextra: 1\nblocks:\n  - type: t\n    name: b\n"), "x.yaml")
	if err == nil || doc == nil || doc.Name != "a" || len(doc.Blocks) != 1 {
		t.Fatalf("doc=%+v err=%v", doc, err)
	}
}

func TestParseSyntaxErrors(t *testing.T) {
	tests := []struct {
		name, src, file string
		line, col       int
		msg             string
	}{
		{"yaml indentation", "name: a\nblocks:\n  - type: t\n   name: b\n", "", 2, 0, "YAML syntax error"},
		{"json syntax", "{\"name\": \"a\",\n  \"blocks\": [,]}", "x.json", 2, 14, "JSON syntax error"},
		{"json trailing data", "{\"name\": \"a\"} {}", "x.json", 1, 15, "unexpected data after"},
		{"json truncated", "{\"name\": \"a\",", "x.json", 1, 14, "unexpected end"},
		{"empty", "", "", 0, 0, "empty document"},
		{"two documents", "name: a\n---\nname: b\n", "", 2, 0, "more than one YAML document"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(tc.src), tc.file)
			if doc != nil || err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("doc=%v err=%v, want %q", doc, err, tc.msg)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("want *SyntaxError, got %T", err)
			}
			if se.Pos.Line != tc.line || se.Pos.Column != tc.col {
				t.Errorf("position = %v, want %d:%d", se.Pos, tc.line, tc.col)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	big := make([]byte, MaxDocumentBytes+1)
	if _, err := Parse(big, "big.yaml"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("size limit: %v", err)
	}
	var b strings.Builder
	b.WriteString("name: a\nblocks:\n")
	for i := 0; i <= MaxBlocks; i++ {
		b.WriteString("  - {type: t, name: b}\n")
	}
	_, err := Parse([]byte(b.String()), "")
	if err == nil || !strings.Contains(err.Error(), "more than the limit") {
		t.Errorf("block limit: %v", err)
	}
	// A billion-laughs document: ten levels of ten aliases each.
	bomb := `name: a
blocks:
  - type: t
    name: b
    config:
      a0: &a0 [x, x, x, x, x, x, x, x, x, x]
      a1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]
      a2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]
      a3: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]
      a4: &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]
      a5: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]
      a6: &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]
      a7: &a7 [*a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6]
      a8: &a8 [*a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7]
`
	_, err = Parse([]byte(bomb), "")
	if err == nil || !strings.Contains(err.Error(), "too complex") {
		t.Errorf("alias bomb: %v", err)
	}
	deep := "name: a\nblocks:\n  - type: t\n    name: b\n    config:\n      k: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n"
	if _, err = Parse([]byte(deep), ""); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("depth limit: %v", err)
	}
	deepJSON := `{"name":"a","blocks":[{"type":"t","name":"b","config":{"k":` + strings.Repeat("[", 200000) + strings.Repeat("]", 200000) + `}}]}`
	if _, err = Parse([]byte(deepJSON), "x.json"); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("JSON depth limit: %v", err)
	}
}

func TestAliasesAreExpanded(t *testing.T) {
	doc := mustParse(t, `name: a
blocks:
  - type: t
    name: b
    config: &cfg
      k: v
  - type: t
    name: c
    config: *cfg
`, "")
	if !reflect.DeepEqual(doc.Blocks[0].Config, doc.Blocks[1].Config) || doc.Blocks[1].Config["k"] != "v" {
		t.Errorf("aliased config: %#v", doc.Blocks[1].Config)
	}
}

func TestRoundTrip(t *testing.T) {
	doc := mustParse(t, validYAML, "flow.yaml")
	for _, format := range []string{"yaml", "json"} {
		out, err := Marshal(doc, format)
		if err != nil {
			t.Fatalf("Marshal %s: %v", format, err)
		}
		again, err := Parse(out, "x."+format)
		if err != nil {
			t.Fatalf("re-Parse %s: %v\n%s", format, err, out)
		}
		if !sameContent(doc, again) {
			t.Errorf("%s round trip changed the document:\n%s", format, out)
		}
		out2, err := Marshal(again, format)
		if err != nil || string(out2) != string(out) {
			t.Errorf("%s output is not stable:\n%s\n---\n%s", format, out, out2)
		}
	}
}

func TestMarshalOrderAndForms(t *testing.T) {
	doc := &Document{
		Name:    "order",
		Trigger: &Trigger{Preset: "daily at 02:00"},
		Blocks: []Block{{
			Type: "sftp_read", Name: "read", Disabled: true,
			Config:    map[string]any{"zeta": "z", "alpha": 1, "html": "<xml>", "multi": "a\nb\n", "list": []string{"x"}},
			Relations: []Relation{{To: "next"}, {To: "err", On: "failure"}},
			Position:  &Point{X: 10, Y: 2.5},
		}},
	}
	y, err := Marshal(doc, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	wantYAML := `name: order
trigger:
  preset: daily at 02:00
blocks:
  - type: sftp_read
    name: read
    disabled: true
    config:
      alpha: 1
      html: <xml>
      list:
        - x
      multi: |
        a
        b
      zeta: z
    relations:
      - next
      - to: err
        on: failure
    position:
      x: 10
      y: 2.5
`
	if string(y) != wantYAML {
		t.Errorf("yaml:\n%s\nwant:\n%s", y, wantYAML)
	}
	j, err := Marshal(doc, "json")
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `{
  "name": "order",
  "trigger": {
    "preset": "daily at 02:00"
  },
  "blocks": [
    {
      "type": "sftp_read",
      "name": "read",
      "disabled": true,
      "config": {
        "alpha": 1,
        "html": "<xml>",
        "list": [
          "x"
        ],
        "multi": "a\nb\n",
        "zeta": "z"
      },
      "relations": [
        {
          "to": "next"
        },
        {
          "to": "err",
          "on": "failure"
        }
      ],
      "position": {
        "x": 10,
        "y": 2.5
      }
    }
  ]
}
`
	if string(j) != wantJSON {
		t.Errorf("json:\n%s\nwant:\n%s", j, wantJSON)
	}
	if _, err := Marshal(doc, "toml"); err == nil {
		t.Error("unknown format accepted")
	}
}
