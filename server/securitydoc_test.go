package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// routeRoleTable renders the route table as the Markdown table of
// docs/SECURITY.md: who may call each route.
func routeRoleTable(rts []route) string {
	var b strings.Builder
	b.WriteString("| Method | Path | Who | What |\n|---|---|---|---|\n")
	for _, rt := range rts {
		who := rt.role
		switch {
		case rt.public != nil:
			who = "public"
		case who == "":
			who = "any member"
		}
		b.WriteString("| " + rt.method + " | `" + rt.path + "` | " + who + " | " + strings.ReplaceAll(rt.summary, "|", `\|`) + " |\n")
	}
	return b.String()
}

// TestSecurityDocRoleTable keeps the role table of docs/SECURITY.md equal
// to the route table the router is built from: a new route, or a changed
// minimum role, fails until the document says so.
func TestSecurityDocRoleTable(t *testing.T) {
	h := newHarness(t, sqliteURL(t))
	doc, err := os.ReadFile(filepath.Join("..", "docs", "SECURITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- routes:begin -->\n", "<!-- routes:end -->"
	text := string(doc)
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		t.Fatalf("docs/SECURITY.md has no %q … %q section", strings.TrimSpace(begin), end)
	}
	want := routeRoleTable(h.srv.routeTable())
	if got := text[i+len(begin) : j]; got != want {
		t.Fatalf("docs/SECURITY.md role table is out of date; replace the section with:\n%s", want)
	}
	// Every documented public route is in the document's public list too.
	for k := range documentedPublic {
		if !strings.Contains(text, "`"+strings.SplitN(k, " ", 2)[1]+"`") {
			t.Errorf("docs/SECURITY.md does not mention public route %s", k)
		}
	}
}
