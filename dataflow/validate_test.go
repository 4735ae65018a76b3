package dataflow

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/connectplus/connectplus/quartz"
)

// miniFlow is a valid three-block flow written one block per line, so that
// positions in the cases below are easy to read off.
const miniFlow = `name: t
blocks:
  - {type: sftp_read, name: read, config: {hostname: h, username: u, sourceDirectory: /in}, relations: [conv]}
  - {type: convert_csv_to_json, name: conv, relations: [out]}
  - {type: http_write, name: out, config: {apiBaseUrl: u, apiEndPoint: /e}}
`

const readLine = "  - {type: sftp_read, name: read, config: {hostname: h, username: u, sourceDirectory: /in}, relations: [conv]}\n"

func TestValidateValid(t *testing.T) {
	reg := testRegistry(t)
	for name, src := range map[string]string{"mini": miniFlow, "full": validYAML} {
		doc := mustParse(t, src, "")
		if probs := Validate(doc, reg); len(probs) != 0 {
			t.Errorf("%s: unexpected problems: %v", name, probs)
		}
	}
	legacy := strings.Replace(miniFlow, "type: sftp_read", "type: sftp_pull", 1)
	if probs := Validate(mustParse(t, legacy, ""), reg); len(probs) != 0 {
		t.Errorf("legacy type: %v", probs)
	}
}

func TestValidateRules(t *testing.T) {
	reg := testRegistry(t)
	failingCron := func(expr string) error {
		if strings.HasPrefix(expr, "0 0/1 ") {
			return errors.New("runs more often than every 5 minutes")
		}
		return quartz.CheckSyntax(expr)
	}
	tests := []struct {
		name string
		src  string
		path string
		pos  loc
		msg  string
	}{
		{"name required", strings.Replace(miniFlow, "name: t\n", "", 1), "name", at(1, "blocks"), "a dataflow name is required"},
		{"name pattern", strings.Replace(miniFlow, "name: t", "name: '-bad/name'", 1), "name", at(1, "'-bad"), "may contain only"},
		{"description cap", strings.Replace(miniFlow, "name: t", "name: t\ndescription: "+strings.Repeat("x", MaxDescription+1), 1), "description", at(2, "xxx"), "longer than 2000"},
		{"too many tags", strings.Replace(miniFlow, "name: t", "name: t\ntags: [a, b, c, d, e, f]", 1), "tags", at(2, "[a"), "6 tags, at most 5"},
		{"duplicate tag", strings.Replace(miniFlow, "name: t", "name: t\ntags: [a, A]", 1), "tags[1]", at(2, "A]"), `duplicate tag "A"`},
		{"empty tag", strings.Replace(miniFlow, "name: t", "name: t\ntags: ['']", 1), "tags[0]", at(2, "''"), "empty tag"},
		{"cron and preset", strings.Replace(miniFlow, "name: t", "name: t\ntrigger: {cron: '0 0 * * * ?', preset: daily at 01:00}", 1), "trigger", at(2, "{cron"), "not both"},
		{"empty trigger", strings.Replace(miniFlow, "name: t", "name: t\ntrigger: {}", 1), "trigger", at(2, "{}"), "needs cron or preset"},
		{"cron syntax", strings.Replace(miniFlow, "name: t", "name: t\ntrigger: {cron: '0 0 25 * * ?'}", 1), "trigger.cron", at(2, "'0 0 25"), "hours field"},
		{"cron hook", strings.Replace(miniFlow, "name: t", "name: t\ntrigger: {cron: '0 0/1 * * * ?'}", 1), "trigger.cron", at(2, "'0 0/1"), "more often than every 5 minutes"},
		{"preset unknown", strings.Replace(miniFlow, "name: t", "name: t\ntrigger: {preset: fortnightly}", 1), "trigger.preset", at(2, "fortnightly"), "unknown schedule preset"},
		{"preset through hook", strings.Replace(miniFlow, "name: t", "name: t\ntrigger: {preset: every 1 minutes}", 1), "trigger.preset", at(2, "every"), "minimum interval between runs is 5m0s"},
		{"time zone", strings.Replace(miniFlow, "name: t", "name: t\ntrigger: {cron: '0 0 1 * * ?', timeZone: Mars/Olympus}", 1), "trigger.timeZone", at(2, "Mars"), "unknown time zone"},
		{"no blocks", "name: t\nblocks: []\n", "blocks", at(2, "[]"), "at least one block"},
		{"block name required", strings.Replace(miniFlow, "name: out, ", "", 1), "blocks[2].name", at(5, "{type: http"), "block name is required"},
		{"block name pattern", strings.Replace(miniFlow, "name: out", "name: out-1", 1), "blocks[2].name", at(5, "out-1"), "only letters, digits and underscores"},
		{"block name unique", strings.Replace(miniFlow, "name: out", "name: conv", 1), "blocks[2].name", at(5, "conv"), `"conv" is already used by blocks[1]`},
		{"type required", strings.Replace(miniFlow, "type: http_write, ", "", 1), "blocks[2].type", at(5, "{name"), "block type is required"},
		{"unknown type", strings.Replace(miniFlow, "type: http_write", "type: http_wirte", 1), "blocks[2].type", at(5, "http_wirte"), `unknown block type "http_wirte" (did you mean "http_write"?)`},
		{"unknown config field", strings.Replace(miniFlow, "hostname: h", "hostname: h, hostnme: x", 1), "blocks[0].config.hostnme", at(3, "x, user"), `unknown field "hostnme"`},
		{"missing required config", strings.Replace(miniFlow, ", sourceDirectory: /in", "", 1), "blocks[0].config.sourceDirectory", at(3, "{hostname"), `missing required field "sourceDirectory"`},
		{"missing config entirely", strings.Replace(miniFlow, ", config: {apiBaseUrl: u, apiEndPoint: /e}", "", 1), "blocks[2].config.apiBaseUrl", at(5, "{type"), `missing required field "apiBaseUrl"`},
		{"config wrong type", strings.Replace(miniFlow, "sourceDirectory: /in", "sourceDirectory: [a]", 1), "blocks[0].config.sourceDirectory", at(3, "[a]"), "expected a string value, got a list"},
		{"config bad enum", strings.Replace(miniFlow, "apiEndPoint: /e", "apiEndPoint: /e, method: PATCH", 1), "blocks[2].config.method", at(5, "PATCH"), "must be one of GET, POST, PUT"},
		{"config bad integer", strings.Replace(miniFlow, "sourceDirectory: /in", "sourceDirectory: /in, port: 70000", 1), "blocks[0].config.port", at(3, "70000"), "at most 65535"},
		{"config invalid regex", strings.Replace(miniFlow, "sourceDirectory: /in", "sourceDirectory: /in, fileRegex: '(('", 1), "blocks[0].config.fileRegex", at(3, "'(('"), "not a valid regular expression"},
		{"config inline secret", strings.Replace(miniFlow, "sourceDirectory: /in", "sourceDirectory: /in, password: hunter2", 1), "blocks[0].config.password", at(3, "hunter2"), "must reference an Extension Configuration"},
		{"config reference not allowed", strings.Replace(miniFlow, "sourceDirectory: /in", "sourceDirectory: {$config: dir}", 1), "blocks[0].config.sourceDirectory", at(3, "{$config"), "does not take Extension Configuration references"},
		{"dangling relation", strings.Replace(miniFlow, "relations: [out]", "relations: [outt]", 1), "blocks[1].relations[0].to", at(4, "outt"), `unknown block "outt" (did you mean "out"?)`},
		{"self loop", strings.Replace(miniFlow, "relations: [out]", "relations: [out, conv]", 1), "blocks[1].relations[1].to", at(4, "conv]"), "relation to itself"},
		{"empty relation target", strings.Replace(miniFlow, "relations: [out]", "relations: [out, {on: failure}]", 1), "blocks[1].relations[1].to", at(4, "{on"), "target is required"},
		{"duplicate relation", strings.Replace(miniFlow, "relations: [out]", "relations: [out, {to: out, on: success}]", 1), "blocks[1].relations[1]", at(4, "{to"), "duplicate relation"},
		{"unknown relation name", strings.Replace(miniFlow, "relations: [out]", "relations: [{to: out, on: retry_exhausted}]", 1), "blocks[1].relations[0].on", at(4, "retry"), `unknown relation "retry_exhausted" for block type convert_csv_to_json`},
		{"bad condition shape", strings.Replace(miniFlow, "relations: [out]", "relations: [{to: out, on: '${a:equals(1)'}]", 1), "blocks[1].relations[0].on", at(4, "'${"), "invalid relation condition"},
		{"condition hook", strings.Replace(miniFlow, "relations: [out]", "relations: [{to: out, on: '${a:bogus()}'}]", 1), "blocks[1].relations[0].on", at(4, "'${"), "NiFi condition line 1, column 5: unknown function 'bogus'"},
		{"cycle", strings.Replace(miniFlow, "apiEndPoint: /e}", "apiEndPoint: /e}, relations: [conv]", 1), "blocks[2].relations[0]", at(5, "conv]"), "cycle: conv → out → conv"},
		{"no source block", "name: t\nblocks:\n  - {type: jslt_transform, name: j, config: {jslt: .}}\n", "blocks", at(3, "- {"), "needs a source block"},
		{"source with incoming edge", strings.Replace(miniFlow, "relations: [out]", "relations: [out, {to: read, on: failure}]", 1), "blocks[1].relations[1].to", at(4, "read"), "blocks[0] (sftp_read) is a source block"},
		{"file into record block", strings.Replace(miniFlow, "relations: [conv]", "relations: [conv, out]", 1), "blocks[0].relations[1].to", at(3, "out]"),
			"blocks[2] (http_write) takes records but blocks[0] (sftp_read) emits files: add a convert_csv_to_json block between them"},
		{"records into file block", strings.Replace(miniFlow, "apiEndPoint: /e}", "apiEndPoint: /e}, relations: [put]", 1) + "  - {type: sftp_write, name: put, config: {remotePath: /out}}\n", "blocks[2].relations[0].to", at(5, "put]"),
			"blocks[3] (sftp_write) takes files but blocks[2] (http_write) emits records: add a block converting records to files between them"},
		{"failure edge carries the input", strings.Replace(miniFlow, "relations: [out]", "relations: [out, {to: out, on: failure}]", 1), "blocks[1].relations[1].to", at(4, "out, on"),
			"blocks[2] (http_write) takes records but blocks[1] (convert_csv_to_json) emits files"},
		{"disabled converter passes files", strings.Replace(miniFlow, "name: conv,", "name: conv, disabled: true,", 1), "blocks[1].relations[0].to", at(4, "out]"),
			"emits files (it is disabled, so it passes its input through)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(tc.src), "case.yaml")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			probs := ValidateWith(doc, reg, ValidateOptions{CronCheck: failingCron})
			assertProblem(t, probs, tc.path, tc.pos.in(tc.src), tc.msg)
		})
	}
}

// loc names a position by its line and the text that starts there, which
// keeps the expected columns in the table readable and checkable.
type loc struct {
	line   int
	marker string
}

func at(line int, marker string) loc { return loc{line, marker} }

func (l loc) in(src string) *Position {
	lines := strings.Split(src, "\n")
	i := strings.Index(lines[l.line-1], l.marker)
	if i < 0 {
		panic(fmt.Sprintf("marker %q not on line %d: %q", l.marker, l.line, lines[l.line-1]))
	}
	return &Position{Line: l.line, Column: utf8.RuneCountInString(lines[l.line-1][:i]) + 1}
}

func assertProblem(t *testing.T, probs []Problem, path string, pos *Position, msg string) {
	t.Helper()
	for _, p := range probs {
		if p.Path == path && strings.Contains(p.Message, msg) {
			switch {
			case pos == nil && p.Pos != nil:
				t.Fatalf("unexpected position %v for %v", *p.Pos, p)
			case pos != nil && (p.Pos == nil || *p.Pos != *pos):
				t.Fatalf("position = %v, want %v (%v)", p.Pos, *pos, p)
			}
			return
		}
	}
	t.Fatalf("no problem at %q containing %q; got:\n%s", path, msg, problemList(probs))
}

func problemList(probs []Problem) string {
	var b strings.Builder
	for _, p := range probs {
		fmt.Fprintf(&b, "  %v\n", p)
	}
	return b.String()
}

func TestValidateCycleMessage(t *testing.T) {
	doc := mustParse(t, strings.Replace(miniFlow, "apiEndPoint: /e}", "apiEndPoint: /e}, relations: [conv]", 1), "")
	probs := Validate(doc, testRegistry(t))
	var cycles []string
	for _, p := range probs {
		if strings.HasPrefix(p.Message, "cycle:") {
			cycles = append(cycles, p.Path+": "+p.Message)
		}
	}
	want := "blocks[2].relations[0]: cycle: conv → out → conv (dataflows are one-way)"
	if len(cycles) != 1 || cycles[0] != want {
		t.Errorf("cycles = %q, want %q", cycles, want)
	}
}

func TestValidateReportsEverything(t *testing.T) {
	src := `name: ""
tags: [a, a]
trigger: {cron: "* * * * *"}
blocks:
  - {type: sftp_read, name: read, config: {port: x}, relations: [nowhere]}
  - {type: nope, name: "bad name"}
`
	probs := Validate(mustParse(t, src, ""), testRegistry(t))
	paths := map[string]bool{}
	for _, p := range probs {
		paths[p.Path] = true
	}
	for _, want := range []string{"name", "tags[1]", "trigger.cron", "blocks[0].config.port", "blocks[0].config.hostname",
		"blocks[0].relations[0].to", "blocks[1].type", "blocks[1].name"} {
		if !paths[want] {
			t.Errorf("missing problem at %s; got:\n%s", want, problemList(probs))
		}
	}
}

func TestValidateBuiltDocumentHasNoPositions(t *testing.T) {
	doc := &Document{Name: "b", Blocks: []Block{{Type: "sftp_read", Name: "r"}}}
	probs := Validate(doc, testRegistry(t))
	assertProblem(t, probs, "blocks[0].config.hostname", nil, "missing required field")
}

func TestValidateJSONPositions(t *testing.T) {
	src := "{\"name\": \"j\", \"blocks\": [\n  {\"type\": \"sftp_read\", \"name\": \"r\", \"config\": {\"hostname\": \"h\", \"username\": \"u\", \"sourceDirectory\": \"/in\", \"port\": \"abc\"}}]}"
	probs := Validate(mustParse(t, src, ""), testRegistry(t))
	assertProblem(t, probs, "blocks[0].config.port", &Position{2, 117}, "must be an integer")
}

func TestNearestPosition(t *testing.T) {
	doc := &Document{}
	doc.SetPositions(map[string]Position{"": {1, 1}, "blocks[2]": {9, 5}, "blocks[2].config": {10, 7}})
	for path, want := range map[string]Position{
		"blocks[2].config.a.b":      {10, 7},
		"blocks[2].relations[0].to": {9, 5},
		"blocks[3]":                 {1, 1},
		"name":                      {1, 1},
	} {
		if got, ok := doc.nearestPosition(path); !ok || got != want {
			t.Errorf("nearestPosition(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestReferences(t *testing.T) {
	doc := mustParse(t, validYAML, "")
	refs := References(doc, testRegistry(t))
	want := []ConfigRef{
		{Block: "read", Key: "hostname", Name: "sftp_host", Path: "blocks[0].config.hostname"},
		{Block: "read", Key: "password", Name: "sftp_password", Path: "blocks[0].config.password"},
		{Block: "read", Key: "username", Name: "sftp_user", Path: "blocks[0].config.username"},
		{Block: "post", Key: "apiBaseUrl", Name: "api_host", Path: "blocks[4].config.apiBaseUrl"},
		{Block: "post", Key: "clientSecret", Name: "oauth_secret", Path: "blocks[4].config.clientSecret"},
	}
	if fmt.Sprint(refs) != fmt.Sprint(want) {
		t.Errorf("References = %+v\nwant %+v", refs, want)
	}
	// An alias key is reported under the canonical key.
	aliased := &Document{Blocks: []Block{{Type: "convert_csv_to_json", Name: "c", Config: map[string]any{"Group size": map[string]any{"$config": "g"}}}}}
	if r := References(aliased, testRegistry(t)); len(r) != 1 || r[0].Key != "groupSize" {
		t.Errorf("alias reference: %+v", r)
	}
	if r := References(aliased, nil); len(r) != 1 || r[0].Key != "Group size" {
		t.Errorf("reference without registry: %+v", r)
	}
}
