package tools_test

import (
	"strings"
	"testing"

	"github.com/connectplus/connectplus/assist/assisttest"
	"github.com/connectplus/connectplus/assist/tools"
)

// search_docs over MCP finds the bundled docs, the block docs (from the
// specs) and the template docs, each passage with its path and heading.
func TestSearchDocs(t *testing.T) {
	e := assisttest.New(t)
	cs := connect(t, e, e.ViewerA.Token)
	for _, c := range []struct{ q, path string }{
		{"Claude Desktop configuration for connectplus mcp", "docs/mcp.md"},
		{"Quartz cron expression minimum interval between runs", "blocks/cron_trigger"},
		{"bulk_add_customers template parameters", "templates/bulk_add_customers"},
	} {
		var out tools.SearchDocsOut
		if msg := call(t, cs, "search_docs", map[string]any{"query": c.q, "limit": 3}, &out); msg != "" {
			t.Fatal(msg)
		}
		found := false
		for _, r := range out.Results {
			if r.Heading == "" || r.Text == "" || r.Score <= 0 {
				t.Errorf("%q: empty passage %+v", c.q, r)
			}
			found = found || r.Path == c.path
		}
		if !found || len(out.Results) > 3 {
			var paths []string
			for _, r := range out.Results {
				paths = append(paths, r.Path+" ["+r.Heading+"]")
			}
			t.Errorf("%q: want %s in %v", c.q, c.path, paths)
		}
	}
	if msg := call(t, cs, "search_docs", map[string]any{"query": "?? !!"}, nil); !strings.Contains(msg, "no searchable words") {
		t.Fatalf("empty query: %q", msg)
	}
}
