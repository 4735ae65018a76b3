package dataflow

import (
	"reflect"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	a := mustParse(t, validYAML, "")
	b := mustParse(t, validYAML, "")
	if c := Diff(a, b); !c.Empty() || c.String() != "no changes\n" {
		t.Fatalf("identical documents differ: %+v", c)
	}
	b.Name = "Bulk add customers v2"
	b.Tags = []string{"customers", "hourly"}
	b.Trigger.Cron = "0 0 * * * ?"
	b.Blocks[0].Config["fileRegex"] = "data_.*"
	b.Blocks[0].Config["password"] = map[string]any{"$config": "sftp_password_2"}
	b.Blocks[0].Position = &Point{X: 50, Y: 0}
	b.Blocks[2].Config["jslt"] = "[ for (.) {\n  \"profiles\": [ { \"firstName\": .first_name } ]\n} ]\n"
	b.Blocks[3].Relations = []Relation{{To: "post"}, {To: "post_vip", On: "failure"}}
	b.Blocks[4].Position = &Point{X: 1, Y: 1} // layout only
	b.Blocks[5].Disabled = false
	b.Blocks[5].Config["clientSecret"] = "inline-secret"
	delete(b.Blocks[1].Config, "groupSize")
	b.Blocks = append(b.Blocks, Block{Type: "sftp_write", Name: "archive", Config: map[string]any{"remotePath": "/archive"}})
	c := DiffWith(a, b, testRegistry(t))

	wantFields := []FieldChange{
		{Path: "name", Old: `"Bulk add customers"`, New: `"Bulk add customers v2"`, OldSet: true, NewSet: true},
		{Path: "trigger.cron", Old: `"0 0/5 * * * ?"`, New: `"0 0 * * * ?"`, OldSet: true, NewSet: true},
	}
	if !reflect.DeepEqual(c.Fields, wantFields) {
		t.Errorf("fields = %+v", c.Fields)
	}
	if !reflect.DeepEqual(c.TagsAdded, []string{"hourly"}) || !reflect.DeepEqual(c.TagsRemoved, []string{"daily"}) {
		t.Errorf("tags +%v -%v", c.TagsAdded, c.TagsRemoved)
	}
	if !reflect.DeepEqual(c.Added, []BlockInfo{{Name: "archive", Type: "sftp_write"}}) || len(c.Removed) != 0 {
		t.Errorf("added %v removed %v", c.Added, c.Removed)
	}
	if !reflect.DeepEqual(c.Moved, []string{"post"}) {
		t.Errorf("moved = %v", c.Moved)
	}
	if c.LayoutOnly() {
		t.Error("LayoutOnly with real changes")
	}
	got := c.String()
	for _, want := range []string{
		`~ name: "Bulk add customers" → "Bulk add customers v2"`,
		`~ trigger.cron: "0 0/5 * * * ?" → "0 0 * * * ?"`,
		`+ tag "hourly"`, `- tag "daily"`,
		"+ block archive (sftp_write)",
		"~ block read (sftp_read), moved\n",
		`    ~ config.fileRegex: "customers_.*\\.csv" → "data_.*"`,
		"    ~ config.password: $config:sftp_password → $config:sftp_password_2",
		"~ block convert (convert_csv_to_json)\n    - config.groupSize: 10",
		"~ block payload (jslt_transform)\n    ~ config.jslt:\n        @@ line 1\n        - [ for (.) { \"profiles\": [ { \"firstName\": .firstname } ] } ]\n        + [ for (.) {\n        +   \"profiles\": [ { \"firstName\": .first_name } ]\n        + } ]\n",
		"    + relation → post_vip (failure)",
		"    - relation → post_vip (${tier:equals('vip')})",
		"~ block post_vip (http_write)\n    ~ disabled: true → false\n    + config.clientSecret: ****\n",
		"moved (layout only): post",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("rendering lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "inline-secret") {
		t.Errorf("secret value leaked:\n%s", got)
	}
}

func TestDiffLayoutOnlyAndRename(t *testing.T) {
	a := mustParse(t, validYAML, "")
	b := mustParse(t, validYAML, "")
	b.Blocks[0].Position = &Point{X: 9, Y: 9}
	c := Diff(a, b)
	if !c.LayoutOnly() || !reflect.DeepEqual(c.Moved, []string{"read"}) {
		t.Errorf("layout-only change: %+v", c)
	}
	// Renaming a block (and the relation pointing at it) is a rename, not a
	// removal and an addition.
	b = mustParse(t, validYAML, "")
	b.Blocks[1].Name = "to_records"
	b.Blocks[0].Relations = []Relation{{To: "to_records"}}
	c = Diff(a, b)
	if !reflect.DeepEqual(c.Renamed, []Rename{{From: "convert", To: "to_records", Type: "convert_csv_to_json"}}) || len(c.Added)+len(c.Removed) != 0 {
		t.Errorf("rename: %+v", c)
	}
	if !strings.Contains(c.String(), "~ block convert renamed to to_records (convert_csv_to_json)") {
		t.Errorf("rendering:\n%s", c)
	}
	// Removal, and the heuristic mask without a registry.
	b = mustParse(t, validYAML, "")
	b.Blocks = b.Blocks[:5]
	b.Blocks[4].Config["myPassword"] = "p"
	a.Blocks[4].Config["myPassword"] = "q"
	c = Diff(a, b)
	if !reflect.DeepEqual(c.Removed, []BlockInfo{{Name: "post_vip", Type: "http_write"}}) {
		t.Errorf("removed = %v", c.Removed)
	}
	if s := c.String(); !strings.Contains(s, "config.myPassword: **** → **** (changed)") || strings.Contains(s, `"p"`) {
		t.Errorf("masking:\n%s", s)
	}
	if c := Diff(nil, &Document{Name: "n"}); len(c.Fields) != 1 || c.Fields[0].OldSet {
		t.Errorf("diff from nothing: %+v", c)
	}
}

func TestLineDiff(t *testing.T) {
	got := lineDiff("a\nb\nc\nd", "a\nB\nc\nd\ne")
	want := []string{"@@ line 2", "- b", "+ B", "@@ line 5", "+ e"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lineDiff = %q, want %q", got, want)
	}
	long := strings.Repeat("x\n", maxDiffLines+1)
	if got := lineDiff(long, "y"); len(got) != 1 || !strings.Contains(got[0], "lines →") {
		t.Errorf("long diff = %q", got)
	}
}
