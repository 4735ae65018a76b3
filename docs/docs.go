// Package docs embeds the product documentation (docs/*.md) in the binary,
// so the assistant and the MCP search_docs tool answer product questions
// from the documentation of the very version that runs, with no files to
// ship beside it.
package docs

import "embed"

// FS holds the Markdown documents of this directory (*.md).
//
//go:embed *.md
var FS embed.FS
