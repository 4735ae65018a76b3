package tools

import (
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func readOnly() *mcp.ToolAnnotations { return &mcp.ToolAnnotations{ReadOnlyHint: true} }

// writes marks a tool that saves a Draft (and nothing further).
func writes() *mcp.ToolAnnotations {
	f := false
	return &mcp.ToolAnnotations{DestructiveHint: &f}
}

// register adds every tool, resource and prompt to srv. The tools here are
// the product's tool list: MCP clients and the assistant's model see
// exactly these.
func (h *handlers) register(srv *mcp.Server) {
	mcp.AddTool(srv, &mcp.Tool{Name: "list_blocks", Title: "List block types", Annotations: readOnly(),
		Description: "The block catalogue: every block type with its class (source or executor), category, input and output kind. Filter by category or text."}, h.listBlocks)
	mcp.AddTool(srv, &mcp.Tool{Name: "describe_block", Title: "Describe a block type", Annotations: readOnly(),
		Description: "One block type's config fields (key, type, default, enum, required, secret, NiFi EL support), relations, documentation and an example configuration."}, h.describeBlock)
	mcp.AddTool(srv, &mcp.Tool{Name: "list_templates", Title: "List templates", Annotations: readOnly(),
		Description: "Dataflow templates a Draft can be created from (create_draft with template and parameters)."}, h.listTemplates)
	mcp.AddTool(srv, &mcp.Tool{Name: "describe_template", Title: "Describe a template", Annotations: readOnly(),
		Description: "One template: its parameters, blocks, documentation and a sample file to preview it with."}, h.describeTemplate)
	mcp.AddTool(srv, &mcp.Tool{Name: "list_configs", Title: "List Extension Configurations", Annotations: readOnly(),
		Description: "Names of the organisation's Extension Configurations (never their values), for {\"$config\": \"name\"} references."}, h.listConfigs)
	mcp.AddTool(srv, &mcp.Tool{Name: "list_dataflows", Title: "List dataflows", Annotations: readOnly(),
		Description: "The organisation's dataflows with their status and Live and latest version."}, h.listDataflows)
	mcp.AddTool(srv, &mcp.Tool{Name: "create_draft", Title: "Create a Draft", Annotations: writes(),
		Description: "Create a new dataflow whose version 1 is a Draft, from a document or from a template and its parameters. Returns the validation problems; nothing is submitted or approved."}, h.createDraft)
	mcp.AddTool(srv, &mcp.Tool{Name: "get_dataflow", Title: "Read a dataflow", Annotations: readOnly(),
		Description: "A dataflow, its versions and one version's document (YAML; inline secret values masked) with the revision update_draft needs."}, h.getDataflow)
	mcp.AddTool(srv, &mcp.Tool{Name: "update_draft", Title: "Change a Draft", Annotations: writes(),
		Description: "Change a Draft by a JSON Patch (RFC 6902) on its JSON form, or replace its whole document; pass the revision you read (a stale one fails). Only Drafts change."}, h.updateDraft)
	mcp.AddTool(srv, &mcp.Tool{Name: "validate", Title: "Validate", Annotations: readOnly(),
		Description: "The checks submission runs (blocks, fields, graph, expressions, crons, Extension Configurations) on an unsaved document or a saved version; every problem has a path, block and field."}, h.validate)
	mcp.AddTool(srv, &mcp.Tool{Name: "preview", Title: "Preview on a sample", Annotations: readOnly(),
		Description: "Run a document on a sample file with every destination replaced (APIs by a sandbox, files by a capture): per-block records in and out, failures with reasons, the HTTP requests that would be sent, the result file."}, h.preview)
	mcp.AddTool(srv, &mcp.Tool{Name: "list_runs", Title: "List runs", Annotations: readOnly(),
		Description: "Runs (one per source file) with their status and counts, newest first."}, h.listRuns)
	mcp.AddTool(srv, &mcp.Tool{Name: "explain_run", Title: "Explain a run", Annotations: readOnly(),
		Description: "A run's counts, status codes, per-block counters and its failure reasons grouped (from the result file), with a summary."}, h.explainRun)
	mcp.AddTool(srv, &mcp.Tool{Name: "get_result_rows", Title: "Read result rows", Annotations: readOnly(),
		Description: "Rows of a run's result file (original columns plus status_code, error_message, entity_id, line_number), all or only failed, paged."}, h.getResultRows)
	mcp.AddTool(srv, &mcp.Tool{Name: "eval_nifi_expression", Title: "Evaluate NiFi EL", Annotations: readOnly(),
		Description: "Evaluate a NiFi Expression Language property value against attributes, as a block would (text, or a relation condition as a boolean)."}, h.evalNiFi)
	mcp.AddTool(srv, &mcp.Tool{Name: "eval_jslt", Title: "Evaluate JSLT", Annotations: readOnly(),
		Description: "Run a JSLT transformation on a JSON input, as a jslt_transform block would."}, h.evalJSLT)
	mcp.AddTool(srv, &mcp.Tool{Name: "copy_dataflow", Title: "Copy a dataflow", Annotations: writes(),
		Description: "Copy a saved version of a dataflow (default: the Draft, else the latest) into your personal dataflow store, with a description (required), to paste it into another organisation. The trigger, the tags and any secret value are not copied; the source is unchanged."}, h.copyDataflow)
	mcp.AddTool(srv, &mcp.Tool{Name: "list_copies", Title: "View my dataflow store", Annotations: readOnly(),
		Description: "Your personal dataflow store: the last 10 dataflows you copied, from any organisation, newest first."}, h.listCopies)
	mcp.AddTool(srv, &mcp.Tool{Name: "paste_dataflow", Title: "Paste a dataflow", Annotations: writes(),
		Description: "Paste a copy from your personal dataflow store into this organisation as a new dataflow whose version 1 is a Draft (editors), validated here: Extension Configurations the copy references must exist in this organisation before it can be submitted."}, h.pasteDataflow)
	mcp.AddTool(srv, &mcp.Tool{Name: "search_docs", Title: "Search the documentation", Annotations: readOnly(),
		Description: "Answer product questions from the bundled Connect+ documentation, block docs and template docs: the best passages (ranked keyword search, BM25), each with its document path and heading."}, h.searchDocs)
	h.registerResources(srv)
	h.registerPrompts(srv)
}
