package nifiel

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestFunctionCatalog keeps the catalogue (Functions) and the function
// table equal, and each entry's arguments in line with its arity.
func TestFunctionCatalog(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Functions() {
		if seen[d.Name] {
			t.Errorf("%s listed twice", d.Name)
		}
		seen[d.Name] = true
		def, ok := functions[d.Name]
		if !ok {
			t.Errorf("%s is in the catalogue but not a function", d.Name)
			continue
		}
		switch {
		case def.max >= 0 && len(d.Args) != def.max:
			t.Errorf("%s: %d arguments documented, takes at most %d", d.Name, len(d.Args), def.max)
		case def.max < 0 && len(d.Args) != 1:
			t.Errorf("%s: a repeating argument is documented as one, got %d", d.Name, len(d.Args))
		}
		if (def.subject == subjNone) != (d.Subject == "") {
			t.Errorf("%s: subject %q does not match the function's subject rule", d.Name, d.Subject)
		}
		if d.Summary == "" || d.Returns == "" || d.Group == "" {
			t.Errorf("%s: incomplete entry %+v", d.Name, d)
		}
	}
	for name := range functions {
		if !seen[name] {
			t.Errorf("function %s is missing from the catalogue", name)
		}
	}
	for name, want := range map[string]string{
		"substring":    "String:substring(startingIndex Number[, endingIndex Number]) String",
		"in":           "String:in(value String, ...) Boolean",
		"now":          "now() Date",
		"toDate":       "String:toDate([format String][, timeZone String]) Date",
		"getUri":       "getUri(scheme String, userInfo String, host String, port Number, path String, query String, fragment String) String",
		"plusDuration": "Date:plusDuration(amount String[, timeZone String]) Date",
	} {
		for _, d := range Functions() {
			if d.Name == name && d.Signature() != want {
				t.Errorf("%s: signature %q, want %q", name, d.Signature(), want)
			}
		}
	}
}

// functionDocTable renders the catalogue as the Markdown table of
// docs/EXPRESSIONS.md.
func functionDocTable() string {
	var b strings.Builder
	b.WriteString("| Function | Signature (subject:function(arguments) result) | Since | What it does |\n|---|---|---|---|\n")
	group := ""
	for _, d := range Functions() {
		if d.Group != group {
			group = d.Group
			fmt.Fprintf(&b, "| **%s** | | | |\n", group)
		}
		since := ""
		if d.NiFi2 {
			since = "NiFi 2.x"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", d.Name, strings.ReplaceAll(d.Signature(), "|", `\|`), since, strings.ReplaceAll(d.Summary, "|", `\|`))
	}
	return b.String()
}

// TestFunctionDocTable checks that docs/EXPRESSIONS.md lists every function
// with its signature; with NIFIEL_PRINT_FUNCTIONS=1 it prints the table to
// paste between the markers.
func TestFunctionDocTable(t *testing.T) {
	table := functionDocTable()
	if os.Getenv("NIFIEL_PRINT_FUNCTIONS") != "" {
		fmt.Print(table)
	}
	doc, err := os.ReadFile("../../docs/EXPRESSIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- nifi-functions:begin -->\n", "<!-- nifi-functions:end -->"
	s := string(doc)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("docs/EXPRESSIONS.md has no %q ... %q section", begin, end)
	}
	if got := s[i+len(begin) : j]; got != table {
		t.Errorf("docs/EXPRESSIONS.md function table is stale; regenerate it with NIFIEL_PRINT_FUNCTIONS=1 go test -run TestFunctionDocTable ./lang/nifiel/")
	}
}
