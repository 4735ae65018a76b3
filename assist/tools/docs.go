package tools

import (
	"context"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/connectplus/connectplus/assist/docsearch"
	"github.com/connectplus/connectplus/block/blockdoc"
	"github.com/connectplus/connectplus/docs"
)

// docIndex indexes what search_docs searches: the bundled product docs
// (docs/*.md, embedded), every block's docs (the text `connectplus blocks
// TYPE` prints, from its spec) and every template's docs (as the template
// resources serve them). Built once per Toolset.
func docIndex(cat *catalog, ts TemplateSource) (*docsearch.Index, error) {
	ds, err := docsearch.FromFS(docs.FS, "docs")
	if err != nil {
		return nil, fmt.Errorf("tools: bundled docs: %w", err)
	}
	for _, s := range cat.specs {
		ds = append(ds, docsearch.Doc{Path: "blocks/" + s.Type, Title: s.Label + " block (" + s.Type + ")", Text: blockdoc.Text(s), Plain: true})
	}
	if list, err := ts.List(); err == nil {
		for _, ti := range list {
			full, err := ts.Get(ti.Name)
			if err != nil {
				continue
			}
			ds = append(ds, docsearch.Doc{Path: "templates/" + ti.Name, Title: ti.Title + " template (" + ti.Name + ")", Text: templateDoc(full), Plain: true})
		}
	}
	return docsearch.New(ds), nil
}

// SearchDocsIn is a product question.
type SearchDocsIn struct {
	Query string `json:"query" jsonschema:"the question or its keywords, e.g. how does maker-checker approval work"`
	Limit int    `json:"limit,omitempty" jsonschema:"how many passages (1-10, default 5)"`
}

// SearchDocsOut are the best passages, best first.
type SearchDocsOut struct {
	Results []docsearch.Hit `json:"results"`
	Note    string          `json:"note"`
}

func (h *handlers) searchDocs(ctx context.Context, _ *mcp.CallToolRequest, in SearchDocsIn) (*mcp.CallToolResult, SearchDocsOut, error) {
	out := SearchDocsOut{Results: []docsearch.Hit{}}
	if _, err := h.actor(ctx); err != nil {
		return nil, out, err
	}
	if len(docsearch.Tokens(in.Query)) == 0 {
		return nil, out, userErr("query has no searchable words")
	}
	if len(in.Query) > 2000 {
		return nil, out, userErr("query is longer than 2000 characters")
	}
	out.Results = append(out.Results, h.t.docs.Search(in.Query, in.Limit)...)
	out.Note = "Passages of the Connect+ documentation (docs/…), block docs (blocks/TYPE) and template docs (templates/NAME), ranked by BM25. Answer from them and cite the path and heading."
	if len(out.Results) == 0 {
		out.Note = "Nothing in the documentation matches; say so rather than guess, or try other words."
	}
	return nil, out, nil
}
