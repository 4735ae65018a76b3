package templatecmd

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/all"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/quartz"
	"github.com/connectplus/connectplus/templates"
)

func deps() Deps {
	reg := all.Registry()
	return Deps{Registry: func() *block.Registry { return reg }, Validate: dataflow.ValidateOptions{CronCheck: quartz.Check}}
}

// run executes one of the commands with args and returns stdout, stderr.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	var cmd = Commands(deps())[0]
	if args[0] == "new" {
		cmd = Commands(deps())[1]
	}
	cmd.SetArgs(args[1:])
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), errb.String(), err
}

func catalogue(t *testing.T) *templates.Catalogue {
	t.Helper()
	c, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestListShowsEveryTemplate: the table and the JSON list name exactly the
// catalogue's folders, with category, destination and blocks.
func TestListShowsEveryTemplate(t *testing.T) {
	c := catalogue(t)
	out, _, err := run(t, "templates")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "CATEGORY") || !strings.Contains(lines[0], "DESTINATION") || !strings.Contains(lines[0], "BLOCKS") {
		t.Fatalf("header %q", lines[0])
	}
	listed := map[string]bool{}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > 0 && !strings.HasSuffix(l, "for one") {
			listed[f[0]] = true
		}
	}
	for _, tp := range c.All() {
		if !listed[tp.Name] {
			t.Errorf("%s not listed", tp.Name)
		}
		for _, l := range lines {
			if strings.HasPrefix(l, tp.Name+" ") && (!strings.Contains(l, tp.Destination) || !strings.Contains(l, strings.Join(tp.Blocks, " → "))) {
				t.Errorf("row %q lacks destination or blocks", l)
			}
		}
	}
	if len(listed) != len(c.Names()) {
		t.Errorf("listed %d, catalogue has %d", len(listed), len(c.Names()))
	}
	js, _, err := run(t, "templates", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got []templates.Template
	if err := json.Unmarshal([]byte(js), &got); err != nil || len(got) != len(c.Names()) {
		t.Fatalf("json list: %v, %d entries", err, len(got))
	}
}

func TestShow(t *testing.T) {
	out, _, err := run(t, "templates", "show", "transaction_v2_add")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Transaction V2 add", "POST /v2/transactions/bulk", "sourceDirectory", "secret (Extension Configuration name)", "transactions_20250115.csv", "{$param: sourceDirectory}", "connectplus new my_flow --template transaction_v2_add"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := run(t, "templates", "show", "no_such"); err == nil || !strings.Contains(err.Error(), "no template") {
		t.Fatalf("unknown template: %v", err)
	}
	flow, _, err := run(t, "templates", "show", "transaction_v2_add", "--flow")
	if err != nil || !strings.HasPrefix(flow, "name: transaction_v2_add") {
		t.Fatalf("--flow: %v %q", err, flow)
	}
}

// TestNewWritesValidDocument: new substitutes the values, turns secrets into
// Extension Configuration references, writes a document that validates, and
// refuses to overwrite without --force.
func TestNewWritesValidDocument(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "tx_eu.yaml")
	_, stderr, err := run(t, "new", "tx_eu", "--template", "transaction_v2_add", "--set", "sourceDirectory=/eu/in", "--set", "sftpPassword=eu_sftp", "--set", "transactionDateFormat=yyyy-MM-dd HH:mm:ss", "-o", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "wrote "+out) {
		t.Errorf("stderr %q", stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := dataflow.Parse(b, out)
	if err != nil {
		t.Fatal(err)
	}
	if probs := dataflow.ValidateWith(doc, all.Registry(), deps().Validate); len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	src, _ := doc.BlockByName("connect_to_source")
	if doc.Name != "tx_eu" || src.Config["sourceDirectory"] != "/eu/in" || src.Config["processedDirectory"] != "/transactions/processed" {
		t.Errorf("values: %s %v", doc.Name, src.Config)
	}
	if name, ok := dataflow.RefName(src.Config["password"]); !ok || name != "eu_sftp" {
		t.Errorf("password %v is not a reference to eu_sftp", src.Config["password"])
	}
	tr, _ := doc.BlockByName("transform_data")
	if !strings.Contains(tr.Config["transformation"].(string), `parse-time(.bill_date, "yyyy-MM-dd HH:mm:ss")`) {
		t.Errorf("date format not spliced: %v", tr.Config["transformation"])
	}
	if _, _, err := run(t, "new", "tx_eu", "--template", "transaction_v2_add", "-o", out); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("overwrite: %v", err)
	}
	if _, _, err := run(t, "new", "tx_eu", "--template", "transaction_v2_add", "-o", out, "--force"); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := run(t, "new", "x", "--template", "transaction_v2_add", "-o", "-")
	if err != nil || !strings.HasPrefix(stdout, "name: x\n") {
		t.Fatalf("stdout: %v %q", err, stdout)
	}
}

func TestNewRejectsBadValues(t *testing.T) {
	cases := map[string][]string{
		"no parameter":    {"--set", "nope=1"},
		"not one of":      {"--set", "transactionDateFormat=yyyy"},
		"not true or":     {"--set", "decryptEnabled=yes"},
		"want name=value": {"--set", "novalue"},
	}
	for want, extra := range cases {
		args := append([]string{"new", "x", "--template", "transaction_v2_add", "-o", "-"}, extra...)
		if _, _, err := run(t, args...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: %v, want %q", extra, err, want)
		}
	}
	if _, _, err := run(t, "new", "x", "-o", "-"); err == nil || !strings.Contains(err.Error(), "--template is required") {
		t.Errorf("no template: %v", err)
	}
	// A value that makes the document invalid is reported with its path.
	if _, _, err := run(t, "new", "x", "--template", "transaction_v2_add", "-o", "-", "--set", "fileRegex=(["); err == nil || !strings.Contains(err.Error(), "fileRegex") {
		t.Errorf("invalid regex: %v", err)
	}
}

// TestTemplatesTest: the test command passes over the whole catalogue
// (exit 0), and --update writes goldens equal to the embedded ones.
func TestTemplatesTest(t *testing.T) {
	out, _, err := run(t, "templates", "test")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "ok   transaction_v2_add") {
		t.Errorf("output %q", out)
	}
	dir := t.TempDir()
	if _, _, err := run(t, "templates", "test", "transaction_v2_add", "--update", dir); err != nil {
		t.Fatal(err)
	}
	c := catalogue(t)
	tp, _ := c.Get("transaction_v2_add")
	want, _ := c.Expected(tp)
	for name, b := range want {
		got, err := os.ReadFile(filepath.Join(dir, "transaction_v2_add", "expected", filepath.FromSlash(name)))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := run(t, "templates", "test", "no_such"); err == nil {
		t.Error("unknown template passed")
	}
}
