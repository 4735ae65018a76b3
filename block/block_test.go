package block

import (
	"strings"
	"testing"

	"github.com/connectplus/connectplus/jsonv"
)

var testSpec = &Spec{
	Type: "t_read", Label: "T", Class: ClassSource, Input: KindNone, Output: KindFile,
	Fields: []Field{
		{Key: "hostname", Label: "Host", Type: TypeString, Required: true, FromConfigs: true},
		{Key: "password", Label: "Password", Type: TypeString, Secret: true},
		{Key: "port", Label: "Port", Type: TypeInt, Default: "22", Min: Bound(1), Max: Bound(65535)},
		{Key: "fileRegex", Label: "Regex", Type: TypeRegex, Default: ".*.csv"},
		{Key: "mode", Label: "Mode", Type: TypeEnum, Enum: []string{"all", "failure"}, Default: "all"},
		{Key: "unzip", Label: "Unzip", Type: TypeBool, Default: "false", Aliases: []string{"Unzip Files"}},
		{Key: "headers", Label: "Headers", Type: TypeList},
		{Key: "map", Label: "Map", Type: TypeJSON},
	},
	New: func(*Config, *Env) (Block, error) { return nil, nil },
}

type mapResolver map[string]string

func (m mapResolver) Resolve(n string) (string, error) {
	if v, ok := m[n]; ok {
		return v, nil
	}
	return "", errString("missing")
}

type errString string

func (e errString) Error() string { return string(e) }

func TestParseConfigDefaultsRefsAndProblems(t *testing.T) {
	c, probs := testSpec.ParseConfig(map[string]any{
		"hostname": map[string]any{"$config": "sftp_host"}, "password": map[string]any{"$config": "sftp_pw"},
		"Unzip Files": true, "headers": []any{"a", " b "}, "map": map[string]any{"x": 1},
	}, mapResolver{"sftp_host": "h.example", "sftp_pw": "s3cret"})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if c.String("hostname") != "h.example" || c.Int("port", 0) != 22 || !c.Bool("unzip") || strings.Join(c.List("headers"), "|") != "a|b" {
		t.Fatalf("values %v", c.Values())
	}
	if c.Redacted()["password"] != "****" {
		t.Fatal("secret not redacted")
	}
	if n, _ := c.Ref("password"); n != "sftp_pw" {
		t.Fatal("ref lost")
	}
	_, probs = testSpec.ParseConfig(map[string]any{
		"password": "inline", "port": 0, "fileRegex": "([a-", "mode": "some", "bogus": 1, "hostnme": "x",
	}, nil)
	text := ""
	for _, p := range probs {
		text += p.Error() + "\n"
	}
	for _, want := range []string{"must reference an Extension Configuration", "at least 1", "not a valid regular expression", "must be one of all, failure", `unknown field "bogus"`, `did you mean "hostname"`, "missing required field \"hostname\""} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in\n%s", want, text)
		}
	}
}

func TestRegistryAndRegex(t *testing.T) {
	r := NewRegistry()
	legacy := *testSpec
	legacy.Type, legacy.LegacyTypes = "t_read2", []string{"old_read"}
	if err := r.Register(testSpec, &legacy); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(testSpec); err == nil {
		t.Fatal("duplicate type accepted")
	}
	if s, ok := r.Lookup("old_read"); !ok || s.Type != "t_read2" {
		t.Fatal("legacy lookup")
	}
	if r.Suggest("t_raed") != "t_read" {
		t.Fatal("suggest")
	}
	if len(r.Scoped(func(s *Spec) bool { return s.Type == "t_read" }).Types()) != 1 {
		t.Fatal("scoped")
	}
	re, err := CompileJavaRegexWhole(`file.*\.csv`)
	if err != nil || !re.MatchString("file_1.csv") || re.MatchString("xfile_1.csv") || re.MatchString("file_1.csv.bak") {
		t.Fatal("whole-name match")
	}
	if _, err := CompileJavaRegex(`(?<=a)b`); err == nil {
		t.Fatal("lookbehind must be refused by RE2")
	}
}

func TestBatchJSONMatchesValue(t *testing.T) {
	b := &Batch{Header: NewHeader([]string{"id", "note"}), Records: []Record{{Cols: []string{"1", "a \"q\", b"}}, {Cols: []string{"2", "\u2028"}}}}
	fast := string(b.AppendJSON(nil))
	for i := range b.Records {
		b.Value(i)
	}
	slow := string(b.AppendJSON(nil))
	if fast != slow || fast != `[{"id":"1","note":"a \"q\", b"},{"id":"2","note":"\u2028"}]` {
		t.Fatalf("fast %s\nslow %s", fast, slow)
	}
	l := RecordLookup{Unit: &Unit{Attrs: Attributes{"filename": "f"}}, Batch: b, Index: 0}
	if v, _ := l.Get("note"); v != `a "q", b` {
		t.Fatal("lookup field")
	}
	if v, _ := l.Get("filename"); v != "f" {
		t.Fatal("lookup attr")
	}
	if ScalarString(mustParse(`{"a":1}`)) != `{"a":1}` {
		t.Fatal("scalar")
	}
}

func mustParse(s string) any {
	v, err := jsonv.ParseString(s)
	if err != nil {
		panic(err)
	}
	return v
}

// Rows with a plain source line (nothing to escape) are copied column by
// column; the bytes are those of the escaping encoder either way.
func TestAppendRecordJSONPlainLines(t *testing.T) {
	h := NewHeader([]string{"a", "b\"", "c"})
	for _, cols := range [][]string{
		{"1", "two words", "x/y:z"},
		{"q\"uote", "back\\slash", "tab\t"},
		{"héllo", "\u2028", ""},
		{"", "", ""},
	} {
		raw := strings.Join(cols, ",")
		b := &Batch{Header: h, Records: []Record{{Cols: cols, Raw: raw}, {Cols: cols}}}
		want := jsonv.Marshal(b.rowObject(cols))
		if got := b.AppendRecordJSON(nil, 0); string(got) != string(want) {
			t.Errorf("with raw line: %s, want %s", got, want)
		}
		if got := b.AppendRecordJSON(nil, 1); string(got) != string(want) {
			t.Errorf("without: %s, want %s", got, want)
		}
	}
}
