package server

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/store"
	"github.com/connectplus/connectplus/templates"
)

// TemplateSummary is one catalogue entry as listed.
type TemplateSummary struct {
	Name        string `json:"name"`
	Label       string `json:"label"`
	Category    string `json:"category"`
	Description string `json:"description"`
	// Destination is the API (method and path) or file destination.
	Destination string `json:"destination"`
	// Spec is the spec section the template follows.
	Spec string `json:"spec,omitempty"`
	// Blocks are the flow's block types in document order.
	Blocks     []string              `json:"blocks"`
	Parameters []templates.Parameter `json:"parameters"`
	Samples    []string              `json:"samples"`
}

// TemplatesResponse is the catalogue.
type TemplatesResponse struct {
	// Categories in display order.
	Categories []string          `json:"categories"`
	Templates  []TemplateSummary `json:"templates"`
}

// TemplateSample is one sample input file.
type TemplateSample struct {
	Name string `json:"name"`
	Size int    `json:"size"`
	// Content is the file's text; empty with Binary for a binary file
	// (encrypted, zipped).
	Content string `json:"content,omitempty"`
	Binary  bool   `json:"binary,omitempty"`
}

// TemplateDetail is one template with its flow, samples and the outcome
// its sample run must have.
type TemplateDetail struct {
	// TemplateSummary is embedded untagged, so its fields stand at the top
	// of the JSON object (and of the OpenAPI schema) as in the listing.
	TemplateSummary
	// Flow is the dataflow document (YAML) with {$param: name} and
	// {{name}} placeholders.
	Flow         string                 `json:"flow"`
	SampleFiles  []TemplateSample       `json:"sampleFiles"`
	Sandbox      templates.SandboxSetup `json:"sandbox"`
	ExpectedRuns []templates.FileRun    `json:"expectedRuns"`
	// Expected are the golden text files of the sample run (result files,
	// sandbox entities, file outputs) by path.
	Expected map[string]string `json:"expected"`
}

// TemplateRenderRequest gives parameter values (defaults for the rest).
type TemplateRenderRequest struct {
	// Name of the dataflow (default: the template's name).
	Name       string            `json:"name,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
}

// TemplateRenderResponse is the document a template makes with the values.
// With problems of severity error (status 422) it cannot be created.
type TemplateRenderResponse struct {
	Document string            `json:"document"`
	Valid    bool              `json:"valid"`
	Problems []DocumentProblem `json:"problems"`
}

// TemplateInstantiateRequest creates a dataflow in the organisation from a
// template ("copy a template into my org").
type TemplateInstantiateRequest struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Parameters  map[string]string `json:"parameters,omitempty"`
}

// TemplateInstantiateResponse is the new dataflow and its Draft. Problems
// are warnings left for the Draft's author, such as Extension
// Configurations that do not exist yet in the organisation.
type TemplateInstantiateResponse struct {
	Dataflow store.Dataflow     `json:"dataflow"`
	Version  store.Version      `json:"version"`
	Notes    []dataflow.Problem `json:"notes,omitempty"`
	Template string             `json:"template"`
	Problems []DocumentProblem  `json:"problems"`
}

func summary(t *templates.Template) TemplateSummary {
	return TemplateSummary{Name: t.Name, Label: t.Label, Category: t.Category, Description: t.Description, Destination: t.Destination,
		Spec: t.Spec, Blocks: t.Blocks, Parameters: t.Parameters, Samples: t.Samples}
}

func (s *Server) listTemplates(w http.ResponseWriter, _ *http.Request, _ control.Actor) error {
	out := TemplatesResponse{Categories: templates.Categories(), Templates: []TemplateSummary{}}
	for _, t := range s.templates.All() {
		out.Templates = append(out.Templates, summary(t))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) template(r *http.Request) (*templates.Template, error) {
	name := chi.URLParam(r, "name")
	t, ok := s.templates.Get(name)
	if !ok {
		return nil, newHTTPError(http.StatusNotFound, "not_found", "no template %q", name)
	}
	return t, nil
}

func (s *Server) getTemplate(w http.ResponseWriter, r *http.Request, _ control.Actor) error {
	t, err := s.template(r)
	if err != nil {
		return err
	}
	src, err := t.Source()
	if err != nil {
		return err
	}
	d := TemplateDetail{TemplateSummary: summary(t), Flow: string(src), SampleFiles: []TemplateSample{}, Sandbox: t.Sandbox,
		ExpectedRuns: []templates.FileRun{}, Expected: map[string]string{}}
	for _, name := range t.Samples {
		b, err := s.templates.Sample(t, name)
		if err != nil {
			return err
		}
		smp := TemplateSample{Name: name, Size: len(b)}
		if utf8.Valid(b) && !strings.ContainsRune(string(b), 0) {
			smp.Content = string(b)
		} else {
			smp.Binary = true
		}
		d.SampleFiles = append(d.SampleFiles, smp)
	}
	exp, err := s.templates.Expected(t)
	if err != nil {
		return err
	}
	for p, b := range exp {
		if utf8.Valid(b) {
			d.Expected[p] = string(b)
		}
	}
	if runs, err := t.ExpectedRuns(exp); err == nil {
		d.ExpectedRuns = runs
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// renderTemplate makes the document and checks it as creating it would.
func (s *Server) renderTemplate(r *http.Request, a control.Actor, t *templates.Template, name string, params map[string]string) (*dataflow.Document, string, []DocumentProblem, error) {
	vals, err := t.Values(params)
	if err != nil {
		return nil, "", paramProblems(err), nil
	}
	doc, err := t.Instantiate(name, vals)
	if err != nil {
		return nil, "", []DocumentProblem{{Path: "parameters", Message: err.Error(), Severity: "error"}}, nil
	}
	text, err := dataflow.Marshal(doc, "yaml")
	if err != nil {
		return nil, "", nil, err
	}
	doc, probs, err := s.checkDocument(r, a, string(text), "yaml")
	if err != nil {
		return nil, "", nil, err
	}
	return doc, string(text), configsLater(doc, s, probs), nil
}

// paramProblems turns Values' joined errors into one problem each.
func paramProblems(err error) []DocumentProblem {
	var out []DocumentProblem
	var joined interface{ Unwrap() []error }
	errs := []error{err}
	if errors.As(err, &joined) {
		errs = joined.Unwrap()
	}
	for _, e := range errs {
		out = append(out, DocumentProblem{Path: "parameters", Message: e.Error(), Severity: "error"})
	}
	return out
}

// configsLater makes "Extension Configuration X does not exist" a warning:
// a Draft may be created before its configurations, and submitting it
// checks them again.
func configsLater(doc *dataflow.Document, s *Server, probs []DocumentProblem) []DocumentProblem {
	if doc == nil {
		return probs
	}
	refs := map[string]bool{}
	for _, ref := range dataflow.References(doc, s.svc.Registry()) {
		refs[ref.Path] = true
	}
	for i, p := range probs {
		if refs[p.Path] && strings.Contains(p.Message, "does not exist") {
			probs[i].Severity = "warning"
			probs[i].Message = fmt.Sprintf("%s: create it (or set the parameter to an existing one) before submitting", p.Message)
		}
	}
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Severity == "error" && probs[j].Severity != "error" })
	return probs
}

func (s *Server) postTemplateRender(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	t, err := s.template(r)
	if err != nil {
		return err
	}
	var in TemplateRenderRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	_, text, probs, err := s.renderTemplate(r, a, t, in.Name, in.Parameters)
	if err != nil {
		return err
	}
	if probs == nil {
		probs = []DocumentProblem{}
	}
	status := http.StatusOK
	if hasErrors(probs) {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, TemplateRenderResponse{Document: text, Valid: !hasErrors(probs), Problems: probs})
	return nil
}

func (s *Server) postTemplateInstantiate(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	t, err := s.template(r)
	if err != nil {
		return err
	}
	var in TemplateInstantiateRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Name) == "" {
		return newHTTPError(http.StatusBadRequest, "validation_failed", "name is required: the new dataflow's name")
	}
	_, text, probs, err := s.renderTemplate(r, a, t, in.Name, in.Parameters)
	if err != nil {
		return err
	}
	if hasErrors(probs) {
		writeJSON(w, http.StatusUnprocessableEntity, TemplateRenderResponse{Document: text, Problems: probs})
		return nil
	}
	desc := in.Description
	if desc == "" {
		desc = t.Label + " (from template " + t.Name + ")"
	}
	tags := in.Tags
	if tags == nil {
		tags = []string{"template:" + t.Name}
	}
	res, err := s.svc.CreateDataflow(r.Context(), a, control.CreateFlowInput{Name: in.Name, Description: desc, Tags: tags, Document: text, Format: "yaml"})
	if err != nil {
		return err
	}
	if probs == nil {
		probs = []DocumentProblem{}
	}
	w.Header().Set("Location", Base+"/dataflows/"+res.Dataflow.ID)
	writeJSON(w, http.StatusCreated, TemplateInstantiateResponse{Dataflow: res.Dataflow, Version: res.Version, Notes: res.Notes, Template: t.Name, Problems: probs})
	return nil
}
