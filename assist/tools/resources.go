package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/connectplus/connectplus/block/blockdoc"
	"github.com/connectplus/connectplus/dataflow"
)

// Resource URIs.
const (
	blockURI    = "connectplus://blocks/"
	templateURI = "connectplus://templates/"
	// SchemaURI is the JSON Schema of a dataflow document.
	SchemaURI = "connectplus://schema/dataflow.json"
)

// registerResources adds the block docs (one resource per block type, the
// text `connectplus blocks TYPE` prints), the template docs and the
// dataflow JSON Schema. Reading one needs an authenticated caller, like
// every tool.
func (h *handlers) registerResources(srv *mcp.Server) {
	for _, s := range h.t.catalog.specs {
		spec := s
		srv.AddResource(&mcp.Resource{URI: blockURI + s.Type, Name: s.Type, Title: s.Label + " block",
			Description: "Documentation of the " + s.Label + " block: fields, defaults, relations.", MIMEType: "text/plain"},
			func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
				if _, err := h.actor(ctx); err != nil {
					return nil, err
				}
				return text(req.Params.URI, "text/plain", blockdoc.Text(spec)), nil
			})
	}
	if ts, err := h.t.d.Templates.List(); err == nil {
		for _, ti := range ts {
			name := ti.Name
			srv.AddResource(&mcp.Resource{URI: templateURI + name, Name: "template " + name, Title: ti.Title + " (template)",
				Description: ti.Description, MIMEType: "application/yaml"},
				func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
					if _, err := h.actor(ctx); err != nil {
						return nil, err
					}
					full, err := h.t.d.Templates.Get(name)
					if err != nil {
						return nil, mcp.ResourceNotFoundError(req.Params.URI)
					}
					return text(req.Params.URI, "application/yaml", templateDoc(full)), nil
				})
		}
	} else {
		h.t.d.Logger.Warn("templates unavailable as resources", "err", err)
	}
	srv.AddResource(&mcp.Resource{URI: SchemaURI, Name: "dataflow schema", Title: "Dataflow document JSON Schema",
		Description: "JSON Schema (draft 2020-12) of a dataflow document, generated from the block specs.", MIMEType: "application/schema+json"},
		func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			if _, err := h.actor(ctx); err != nil {
				return nil, err
			}
			b, err := dataflow.Schema(h.t.d.Service.Registry())
			if err != nil {
				return nil, h.fail(err)
			}
			return text(req.Params.URI, "application/schema+json", string(b)), nil
		})
}

func text(uri, mime, s string) *mcp.ReadResourceResult {
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: mime, Text: s}}}
}

// templateDoc renders a template's documentation: its parameters, then the
// document.
func templateDoc(ti TemplateInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Template %s: %s\n# %s\n# Parameters:\n", ti.Name, ti.Title, ti.Description)
	for _, p := range ti.Parameters {
		req := ""
		if p.Required {
			req = " (required)"
		}
		fmt.Fprintf(&b, "#   %s%s: %s\n", p.Name, req, p.Description)
	}
	b.WriteString(ti.Docs)
	return b.String()
}

// registerPrompts adds the prompts an MCP client offers its user.
func (h *handlers) registerPrompts(srv *mcp.Server) {
	srv.AddPrompt(&mcp.Prompt{Name: "new_ingestion_dataflow", Title: "New ingestion dataflow",
		Description: "Build a new dataflow that picks up files and loads them into Capillary, from a template or from scratch.",
		Arguments: []*mcp.PromptArgument{
			{Name: "goal", Description: "what to ingest, from where, to which API (e.g. CSV from SFTP to the v2 customer bulk API)", Required: true},
			{Name: "name", Description: "name of the new dataflow"},
		}}, func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		if _, err := h.actor(ctx); err != nil {
			return nil, err
		}
		a := req.Params.Arguments
		name := a["name"]
		if name == "" {
			name = "a short snake_case name you choose"
		}
		return prompt("New ingestion dataflow", fmt.Sprintf(`Build a Connect+ dataflow for: %s
Name it %s.
1. Call list_templates; if one fits, describe_template and start from it (create_draft with template and parameters).
   Otherwise call list_blocks and describe_block for each block you need, and write the document yourself:
   a source block (file_read, sftp_read, s3_read…), converters (convert_csv_to_json), transforms (jslt_transform) and a destination (http_write…), chained by relations.
2. Secret fields take {"$config": "name"} references (list_configs shows the names); never write a value.
3. validate the document and fix every problem; preview it on a sample (describe_template has one).
4. Save it with create_draft. Explain each block in one line. Do not submit it: a human reviews and submits.`, a["goal"], name)), nil
	})
	srv.AddPrompt(&mcp.Prompt{Name: "add_filter", Title: "Add a filter",
		Description: "Insert a filter block into a Draft so that only matching records pass.",
		Arguments: []*mcp.PromptArgument{
			{Name: "dataflow", Description: "dataflow name or id", Required: true},
			{Name: "condition", Description: "which records pass, e.g. only source INSTORE", Required: true},
			{Name: "between", Description: "the two blocks to put it between (optional)"},
		}}, func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		if _, err := h.actor(ctx); err != nil {
			return nil, err
		}
		a := req.Params.Arguments
		where := ""
		if a["between"] != "" {
			where = " between " + a["between"]
		}
		return prompt("Add a filter", fmt.Sprintf(`In the Connect+ dataflow %q, add a filter%s so that %s.
1. get_dataflow (by name or flowId) to read the Draft and its revision.
2. describe_block filter_on_condition to see how its condition is written; check a condition with eval_nifi_expression or eval_jslt.
3. update_draft with a JSON Patch: add the filter block, point the previous block's relation at it and the filter's at the next block. Pass the revision.
4. validate, then preview on a sample to show which records pass. Summarise the change.`, a["dataflow"], where, a["condition"])), nil
	})
	srv.AddPrompt(&mcp.Prompt{Name: "explain_dataflow", Title: "Explain this dataflow",
		Description: "Explain a dataflow block by block or overall, and its recent runs.",
		Arguments: []*mcp.PromptArgument{
			{Name: "dataflow", Description: "dataflow name or id", Required: true},
			{Name: "level", Description: "block-by-block (default) or overall"},
		}}, func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		if _, err := h.actor(ctx); err != nil {
			return nil, err
		}
		a := req.Params.Arguments
		level := a["level"]
		if level == "" {
			level = "block-by-block"
		}
		return prompt("Explain this dataflow", fmt.Sprintf(`Explain the Connect+ dataflow %q (%s).
Call get_dataflow, then describe_block for each block type you are not sure of. Say where files come from, what each block does to them,
where records go and what happens to failures. Then list_runs for it and, for a recent run with failures, explain_run.
Change nothing.`, a["dataflow"], level)), nil
	})
}

func prompt(desc, text string) *mcp.GetPromptResult {
	return &mcp.GetPromptResult{Description: desc, Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: text}}}}
}
