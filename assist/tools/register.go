package tools

import (
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// readOnly marks a tool that changes nothing.
func readOnly() *mcp.ToolAnnotations {
	return &mcp.ToolAnnotations{ReadOnlyHint: true}
}

// register adds every tool, resource and prompt to srv. The names here are
// the product's tool list: the assistant's model sees exactly these.
func (h *handlers) register(srv *mcp.Server) {
	mcp.AddTool(srv, &mcp.Tool{Name: "list_blocks", Title: "List block types", Annotations: readOnly(),
		Description: "The block catalogue: every block type with its class (source or executor), category, input and output kind. Filter by category or text."}, h.listBlocks)
	mcp.AddTool(srv, &mcp.Tool{Name: "describe_block", Title: "Describe a block type", Annotations: readOnly(),
		Description: "One block type's config fields (key, type, default, enum, required, secret, NiFi EL support), relations, documentation and an example configuration."}, h.describeBlock)
	mcp.AddTool(srv, &mcp.Tool{Name: "list_templates", Title: "List templates", Annotations: readOnly(),
		Description: "Dataflow templates a Draft can be created from (create_draft with template and parameters)."}, h.listTemplates)
	mcp.AddTool(srv, &mcp.Tool{Name: "describe_template", Title: "Describe a template", Annotations: readOnly(),
		Description: "One template: its parameters, blocks, documentation and a sample file to preview it with."}, h.describeTemplate)
}
