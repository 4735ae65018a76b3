package tools

import (
	"context"
	"io/fs"
	"sort"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/blockdoc"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/examples"
)

// catalog is the block catalogue, built once: specs do not change while a
// process runs.
type catalog struct {
	reg   *block.Registry
	specs []*block.Spec
	// usedIn maps a block type to an example block config of that type
	// (from the bundled examples), for describe_block.
	usedIn map[string]BlockExample
}

// BlockExample is one block of a bundled example dataflow.
type BlockExample struct {
	Dataflow string         `json:"dataflow"`
	Block    string         `json:"block"`
	Config   map[string]any `json:"config,omitempty"`
}

func newCatalog(reg *block.Registry) (*catalog, error) {
	c := &catalog{reg: reg, usedIn: map[string]BlockExample{}}
	c.specs = append(c.specs, reg.Specs()...)
	sort.SliceStable(c.specs, func(i, j int) bool {
		a, b := c.specs[i], c.specs[j]
		if a.Category != b.Category {
			return a.Category < b.Category
		}
		return a.Type < b.Type
	})
	names, err := fs.Glob(examples.FS, "*.yaml")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		data, err := examples.FS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		doc, err := dataflow.Parse(data, n)
		if err != nil {
			continue
		}
		for _, b := range doc.Blocks {
			spec, ok := reg.Lookup(b.Type)
			if !ok {
				continue
			}
			if _, seen := c.usedIn[spec.Type]; !seen {
				c.usedIn[spec.Type] = BlockExample{Dataflow: doc.Name, Block: b.Name, Config: b.Config}
			}
		}
	}
	return c, nil
}

// BlockSummary is one line of the catalogue.
type BlockSummary struct {
	Type        string     `json:"type"`
	Label       string     `json:"label"`
	Class       string     `json:"class" jsonschema:"source (starts a flow) or executor"`
	Category    string     `json:"category"`
	Input       block.Kind `json:"input" jsonschema:"what the block accepts: none, file, records or any"`
	Output      block.Kind `json:"output"`
	Description string     `json:"description,omitempty"`
	Deprecated  bool       `json:"deprecated,omitempty"`
}

// ListBlocksIn filters the catalogue.
type ListBlocksIn struct {
	Category string `json:"category,omitempty" jsonschema:"only this category (exact)"`
	Query    string `json:"query,omitempty" jsonschema:"case-insensitive text to find in type, label or description"`
}

// ListBlocksOut is the catalogue.
type ListBlocksOut struct {
	Blocks []BlockSummary `json:"blocks"`
}

func summary(s *block.Spec) BlockSummary {
	return BlockSummary{Type: s.Type, Label: s.Label, Class: string(s.Class), Category: s.Category, Input: s.Input, Output: s.Output,
		Description: s.Description, Deprecated: s.Deprecated}
}

func (h *handlers) listBlocks(ctx context.Context, _ *mcp.CallToolRequest, in ListBlocksIn) (*mcp.CallToolResult, ListBlocksOut, error) {
	out := ListBlocksOut{Blocks: []BlockSummary{}}
	if _, err := h.actor(ctx); err != nil {
		return nil, out, err
	}
	q := strings.ToLower(in.Query)
	for _, s := range h.t.catalog.specs {
		if in.Category != "" && s.Category != in.Category {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(s.Type+" "+s.Label+" "+s.Description), q) {
			continue
		}
		out.Blocks = append(out.Blocks, summary(s))
	}
	return nil, out, nil
}

// DescribeBlockIn names a block type.
type DescribeBlockIn struct {
	Type string `json:"type" jsonschema:"block type, e.g. file_read or http_write (legacy names accepted)"`
}

// FieldInfo is one config field of a block type.
type FieldInfo struct {
	Key                 string   `json:"key"`
	Label               string   `json:"label"`
	Type                string   `json:"type"`
	Description         string   `json:"description,omitempty"`
	Required            bool     `json:"required,omitempty"`
	Default             string   `json:"default,omitempty"`
	Enum                []string `json:"enum,omitempty"`
	Advanced            bool     `json:"advanced,omitempty"`
	Secret              bool     `json:"secret,omitempty" jsonschema:"the value must be a {$config: name} reference"`
	SupportsExpressions bool     `json:"supportsExpressions,omitempty" jsonschema:"the value may use NiFi Expression Language"`
	FromConfigs         bool     `json:"fromConfigs,omitempty" jsonschema:"usually an Extension Configuration reference"`
	Min                 *float64 `json:"min,omitempty"`
	Max                 *float64 `json:"max,omitempty"`
	Example             string   `json:"example,omitempty"`
}

// DescribeBlockOut is a block type's fields, defaults, docs and an example.
type DescribeBlockOut struct {
	BlockSummary
	Relations []string      `json:"relations" jsonschema:"relations it emits (or use a NiFi EL condition)"`
	Fields    []FieldInfo   `json:"fields"`
	Docs      string        `json:"docs" jsonschema:"the block's documentation text"`
	Example   *BlockExample `json:"example,omitempty" jsonschema:"how a bundled example configures it"`
}

func (h *handlers) describeBlock(ctx context.Context, _ *mcp.CallToolRequest, in DescribeBlockIn) (*mcp.CallToolResult, DescribeBlockOut, error) {
	var out DescribeBlockOut
	if _, err := h.actor(ctx); err != nil {
		return nil, out, err
	}
	s, ok := h.t.catalog.reg.Lookup(in.Type)
	if !ok {
		msg := "unknown block type " + quote(in.Type)
		if sug := h.t.catalog.reg.Suggest(in.Type); sug != "" {
			msg += " (did you mean " + quote(sug) + "?)"
		}
		return nil, out, userErr("%s; list_blocks lists them", msg)
	}
	return nil, describe(s, h.t.catalog.usedIn), nil
}

func describe(s *block.Spec, usedIn map[string]BlockExample) DescribeBlockOut {
	out := DescribeBlockOut{BlockSummary: summary(s), Docs: blockdoc.Text(s), Fields: []FieldInfo{}}
	out.Relations = append([]string{block.RelSuccess, block.RelFailure}, s.Relations...)
	for _, f := range s.Fields {
		out.Fields = append(out.Fields, FieldInfo{Key: f.Key, Label: f.Label, Type: string(f.Type), Description: f.Description, Required: f.Required,
			Default: f.Default, Enum: f.Enum, Advanced: f.Advanced, Secret: f.Secret, SupportsExpressions: f.SupportsExpressions,
			FromConfigs: f.FromConfigs, Min: f.Min, Max: f.Max, Example: f.Example})
	}
	if ex, ok := usedIn[s.Type]; ok {
		out.Example = &ex
	}
	return out
}

func quote(s string) string { return `"` + s + `"` }
