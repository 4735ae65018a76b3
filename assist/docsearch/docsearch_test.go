package docsearch

import (
	"strings"
	"testing"

	"github.com/connectplus/connectplus/docs"
)

func TestTokens(t *testing.T) {
	got := strings.Join(Tokens("How do I approve the sftp_read blocks? Maker-checker approvals, approving."), " ")
	want := "approv sftp read sftpread block maker checker makerchecker approv approv"
	if got != want {
		t.Fatalf("tokens:\n got %q\nwant %q", got, want)
	}
}

func TestSplit(t *testing.T) {
	d := Doc{Path: "docs/x.md", Title: "x", Text: "# Guide\nintro\n## Setup\n```\n# not a heading\n```\nstep\n### Deep\ndeep text\n## Other\nother\n"}
	ps := split(d)
	var hs []string
	for _, p := range ps {
		hs = append(hs, p.Heading)
	}
	if strings.Join(hs, "|") != "Guide|Guide > Setup|Guide > Setup > Deep|Guide > Other" || !strings.Contains(ps[1].Text, "# not a heading") {
		t.Fatalf("passages: %q %+v", hs, ps)
	}
	plain := split(Doc{Path: "templates/t", Title: "t", Text: "# Template t\n#   name: x\nblocks: []\n", Plain: true})
	if len(plain) != 1 || plain[0].Heading != "t" {
		t.Fatalf("plain: %+v", plain)
	}
	long := strings.Repeat("word word word word.\n\n", 300)
	if cs := chunks(long); len(cs) < 3 || len(cs[0]) > maxPassage {
		t.Fatalf("chunks: %d", len(cs))
	}
}

// Over the documentation the binary embeds, questions find their section.
func TestSearchTheBundledDocs(t *testing.T) {
	ds, err := FromFS(docs.FS, "docs")
	if err != nil || len(ds) < 5 {
		t.Fatalf("docs: %d %v", len(ds), err)
	}
	ix := New(append(ds, Doc{Path: "blocks/cron_trigger", Title: "Cron block", Plain: true,
		Text: "cron_trigger — Cron (Trigger)\nSchedules the dataflow with a Quartz cron expression. The minimum interval between runs is 5 minutes."}))
	for _, c := range []struct{ q, path, heading string }{
		{"How do I configure Claude Desktop to use connectplus mcp?", "docs/mcp.md", ""},
		{"maker-checker: can an admin approve a version they submitted?", "", "approv"},
		{"minimum interval of a cron schedule", "blocks/cron_trigger", ""},
		{"which Extension Configurations configure the assistant model", "docs/mcp.md", ""},
	} {
		hits := ix.Search(c.q, 3)
		if len(hits) == 0 {
			t.Fatalf("%q: no hits", c.q)
		}
		ok := false
		for _, h := range hits {
			if (c.path == "" || h.Path == c.path) && (c.heading == "" || strings.Contains(strings.ToLower(h.Heading+h.Text), c.heading)) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%q: top hits %s", c.q, show(hits))
		}
		for i := 1; i < len(hits); i++ {
			if hits[i].Score > hits[i-1].Score {
				t.Fatalf("%q: not ranked: %s", c.q, show(hits))
			}
		}
	}
	if hits := ix.Search("zzqx nonexistentword", 5); len(hits) != 0 {
		t.Fatalf("nonsense matched: %s", show(hits))
	}
	if hits := ix.Search("dataflow", 50); len(hits) != 5 {
		t.Fatalf("limit: %d", len(hits))
	}
}

func show(hs []Hit) string {
	var b strings.Builder
	for _, h := range hs {
		b.WriteString("\n  " + h.Path + " [" + h.Heading + "] ")
		b.WriteString(strings.ReplaceAll(h.Text[:min(80, len(h.Text))], "\n", " "))
	}
	return b.String()
}

// BenchmarkIndexAndSearch: building the index of the bundled docs, and one
// search over it (go test -bench . ./assist/docsearch/).
func BenchmarkIndexAndSearch(b *testing.B) {
	ds, err := FromFS(docs.FS, "docs")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("index", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			New(ds)
		}
	})
	ix := New(ds)
	b.Run("search", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ix.Search("can an admin approve a version they submitted", 5)
		}
	})
}
