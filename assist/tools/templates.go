package tools

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/examples"
)

// TemplateParam is one parameter a template takes.
type TemplateParam struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Required    bool   `json:"required,omitempty"`
	Default     string `json:"default,omitempty"`
	// Type is string, text, integer, boolean or enum.
	Type    string   `json:"type,omitempty"`
	Secret  bool     `json:"secret,omitempty" jsonschema:"the value is the name of an Extension Configuration"`
	Options []string `json:"options,omitempty"`
}

// TemplateInfo describes one template.
type TemplateInfo struct {
	Name        string          `json:"name"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Category    string          `json:"category"`
	Destination string          `json:"destination,omitempty" jsonschema:"the API or file destination it delivers to"`
	Tags        []string        `json:"tags,omitempty"`
	Blocks      []string        `json:"blocks" jsonschema:"block types, in document order"`
	Parameters  []TemplateParam `json:"parameters"`
	// Docs is the template's documentation (the commented document).
	Docs string `json:"docs,omitempty"`
	// Sample is a sample file for preview, when the template ships one.
	Sample     string `json:"sample,omitempty"`
	SampleName string `json:"sampleName,omitempty"`
}

// TemplateSource is where templates come from.
type TemplateSource interface {
	// List returns every template (without Docs and Sample).
	List() ([]TemplateInfo, error)
	// Get returns one template with its docs; ErrNoTemplate when unknown.
	Get(name string) (TemplateInfo, error)
	// Render returns the dataflow document the template makes with params.
	Render(name string, params map[string]string) ([]byte, error)
}

// ErrNoTemplate is returned for an unknown template name.
var ErrNoTemplate = errors.New("no such template")

// ExampleTemplates serves the bundled example dataflows (package examples)
// as templates of category "Example". Parameters: name, description, and baseDirectory, which
// replaces the examples' directory root (examples.DemoRoot) in every path.
type ExampleTemplates struct{}

// exampleSamples pairs an example with the sample file its source reads.
var exampleSamples = map[string]string{
	"add_customer": "customers.csv", "bulk_add_customers": "customers.csv",
	"add_transactions": "transactions.csv", "csv_to_jsonl": "transactions.csv",
}

func (ExampleTemplates) load(name string) (TemplateInfo, []byte, error) {
	var ti TemplateInfo
	if name == "" || strings.ContainsAny(name, "/\\.") {
		return ti, nil, ErrNoTemplate
	}
	data, err := examples.FS.ReadFile(name + ".yaml")
	if err != nil {
		return ti, nil, ErrNoTemplate
	}
	doc, err := dataflow.Parse(data, name+".yaml")
	if err != nil {
		return ti, nil, fmt.Errorf("template %s: %w", name, err)
	}
	ti = TemplateInfo{Name: name, Title: doc.Name, Description: doc.Description, Category: "Example", Tags: doc.Tags, Blocks: []string{},
		Parameters: []TemplateParam{
			{Name: "name", Description: "name of the new dataflow (unique in the organisation)", Required: true, Type: "string"},
			{Name: "description", Description: "its description", Default: doc.Description, Type: "string"},
			{Name: "baseDirectory", Description: "directory root of every path the template reads and writes (replaces " + examples.DemoRoot + ")", Default: examples.DemoRoot, Type: "string"},
		}}
	for _, b := range doc.Blocks {
		ti.Blocks = append(ti.Blocks, b.Type)
	}
	return ti, data, nil
}

// List implements TemplateSource.
func (e ExampleTemplates) List() ([]TemplateInfo, error) {
	names, err := fs.Glob(examples.FS, "*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := []TemplateInfo{}
	for _, n := range names {
		ti, _, err := e.load(strings.TrimSuffix(n, ".yaml"))
		if err != nil {
			return nil, err
		}
		out = append(out, ti)
	}
	return out, nil
}

// Get implements TemplateSource.
func (e ExampleTemplates) Get(name string) (TemplateInfo, error) {
	ti, data, err := e.load(name)
	if err != nil {
		return ti, err
	}
	ti.Docs = string(data)
	if s, ok := exampleSamples[name]; ok {
		if b, err := examples.FS.ReadFile(path.Join("data", s)); err == nil {
			ti.Sample, ti.SampleName = string(b), s
		}
	}
	return ti, nil
}

// Render implements TemplateSource.
func (e ExampleTemplates) Render(name string, params map[string]string) ([]byte, error) {
	ti, data, err := e.load(name)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, p := range ti.Parameters {
		known[p.Name] = true
	}
	for k := range params {
		if !known[k] {
			return nil, fmt.Errorf("template %s has no parameter %q (it takes name, description, baseDirectory)", name, k)
		}
	}
	if strings.TrimSpace(params["name"]) == "" {
		return nil, fmt.Errorf("template %s: parameter name is required", name)
	}
	text := string(data)
	if root := strings.TrimRight(params["baseDirectory"], "/"); root != "" {
		if !strings.HasPrefix(root, "/") {
			return nil, fmt.Errorf("template %s: baseDirectory must be an absolute path", name)
		}
		text = strings.ReplaceAll(text, examples.DemoRoot, root)
	}
	doc, err := dataflow.Parse([]byte(text), name+".yaml")
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	doc.Name = params["name"]
	if d, ok := params["description"]; ok {
		doc.Description = d
	}
	return dataflow.Marshal(doc, "yaml")
}

// ListTemplatesOut lists the templates.
type ListTemplatesOut struct {
	Templates []TemplateInfo `json:"templates"`
}

func (h *handlers) listTemplates(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, ListTemplatesOut, error) {
	out := ListTemplatesOut{Templates: []TemplateInfo{}}
	if _, err := h.actor(ctx); err != nil {
		return nil, out, err
	}
	ts, err := h.t.d.Templates.List()
	if err != nil {
		return nil, out, h.fail(err)
	}
	out.Templates = append(out.Templates, ts...)
	return nil, out, nil
}

// DescribeTemplateIn names a template.
type DescribeTemplateIn struct {
	Name string `json:"name" jsonschema:"template name from list_templates"`
}

func (h *handlers) describeTemplate(ctx context.Context, _ *mcp.CallToolRequest, in DescribeTemplateIn) (*mcp.CallToolResult, TemplateInfo, error) {
	if _, err := h.actor(ctx); err != nil {
		return nil, TemplateInfo{}, err
	}
	ti, err := h.t.d.Templates.Get(in.Name)
	if errors.Is(err, ErrNoTemplate) {
		return nil, ti, userErr("no template %q; list_templates lists them", in.Name)
	}
	if err != nil {
		return nil, ti, h.fail(err)
	}
	return nil, ti, nil
}
