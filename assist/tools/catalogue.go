package tools

import (
	"errors"
	"fmt"
	"strings"

	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/templates"
)

// CatalogueTemplates serves the template catalogue (package templates):
// parameters with their types and defaults, the template's sample for
// preview. The dataflow's name is the parameter "name" (default: the
// template's name) unless the template declares a parameter of that name.
type CatalogueTemplates struct {
	C *templates.Catalogue
}

func (c CatalogueTemplates) info(t *templates.Template, full bool) TemplateInfo {
	ti := TemplateInfo{Name: t.Name, Title: t.Label, Description: strings.TrimSpace(t.Description), Category: t.Category,
		Destination: t.Destination, Blocks: append([]string{}, t.Blocks...), Parameters: []TemplateParam{}}
	if !declares(t, "name") {
		ti.Parameters = append(ti.Parameters, TemplateParam{Name: "name", Description: "name of the new dataflow (default: the template's name)", Type: templates.ParamString})
	}
	for _, p := range t.Parameters {
		desc := p.Label
		if p.Description != "" {
			desc += ": " + p.Description
		}
		if p.Secret {
			desc += " (the name of an Extension Configuration, never its value)"
		}
		ti.Parameters = append(ti.Parameters, TemplateParam{Name: p.Name, Description: desc, Required: p.Required, Default: p.Default,
			Type: p.Type, Secret: p.Secret, Options: p.Options})
	}
	if full {
		if src, err := t.Source(); err == nil {
			ti.Docs = strings.TrimSpace(t.Description) + "\n\n" + string(src)
		}
		if len(t.Samples) > 0 {
			if b, err := c.C.Sample(t, t.Samples[0]); err == nil {
				ti.Sample, ti.SampleName = string(b), t.Samples[0]
			}
		}
	}
	return ti
}

func declares(t *templates.Template, name string) bool {
	for _, p := range t.Parameters {
		if p.Name == name {
			return true
		}
	}
	return false
}

// List implements TemplateSource.
func (c CatalogueTemplates) List() ([]TemplateInfo, error) {
	out := []TemplateInfo{}
	for _, t := range c.C.All() {
		out = append(out, c.info(t, false))
	}
	return out, nil
}

// Get implements TemplateSource.
func (c CatalogueTemplates) Get(name string) (TemplateInfo, error) {
	t, ok := c.C.Get(name)
	if !ok {
		return TemplateInfo{}, ErrNoTemplate
	}
	return c.info(t, true), nil
}

// Render implements TemplateSource.
func (c CatalogueTemplates) Render(name string, params map[string]string) ([]byte, error) {
	t, ok := c.C.Get(name)
	if !ok {
		return nil, ErrNoTemplate
	}
	given := map[string]string{}
	flowName := ""
	for k, v := range params {
		if k == "name" && !declares(t, "name") {
			flowName = v
			continue
		}
		given[k] = v
	}
	doc, err := t.Instantiate(flowName, given)
	if err != nil {
		return nil, err
	}
	return dataflow.Marshal(doc, "yaml")
}

// Sources serves several template sources as one: the first that knows a
// name wins.
type Sources []TemplateSource

// List implements TemplateSource.
func (s Sources) List() ([]TemplateInfo, error) {
	var out []TemplateInfo
	seen := map[string]bool{}
	for _, src := range s {
		ts, err := src.List()
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			if !seen[t.Name] {
				seen[t.Name] = true
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// Get implements TemplateSource.
func (s Sources) Get(name string) (TemplateInfo, error) {
	for _, src := range s {
		t, err := src.Get(name)
		if !errors.Is(err, ErrNoTemplate) {
			return t, err
		}
	}
	return TemplateInfo{}, ErrNoTemplate
}

// Render implements TemplateSource.
func (s Sources) Render(name string, params map[string]string) ([]byte, error) {
	for _, src := range s {
		b, err := src.Render(name, params)
		if !errors.Is(err, ErrNoTemplate) {
			return b, err
		}
	}
	return nil, ErrNoTemplate
}

// DefaultTemplates is the template catalogue followed by the bundled
// example dataflows (category "Example").
func DefaultTemplates() (TemplateSource, error) {
	c, err := templates.Load()
	if err != nil {
		return nil, fmt.Errorf("template catalogue: %w", err)
	}
	return Sources{CatalogueTemplates{C: c}, ExampleTemplates{}}, nil
}
