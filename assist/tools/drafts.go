package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/store"
)

// docText turns a document argument (an object, or YAML/JSON text) into
// text and its format for control.DecodeDocument.
func docText(doc any, format string) ([]byte, string, error) {
	switch d := doc.(type) {
	case nil:
		return nil, "", userErr("document is required")
	case string:
		if strings.TrimSpace(d) == "" {
			return nil, "", userErr("document is empty")
		}
		return []byte(d), format, nil
	case map[string]any:
		b, err := json.Marshal(d)
		if err != nil {
			return nil, "", userErr("document: %v", err)
		}
		return b, control.FormatJSON, nil
	}
	return nil, "", userErr("document must be an object ({name, blocks}) or its YAML/JSON text")
}

// inlineSecrets finds secret fields holding a value instead of a
// {$config: name} reference. The value itself is never quoted.
func inlineSecrets(doc *dataflow.Document, reg *block.Registry) []dataflow.Problem {
	var out []dataflow.Problem
	for i, b := range doc.Blocks {
		spec, ok := reg.Lookup(b.Type)
		if !ok {
			continue
		}
		keys := make([]string, 0, len(b.Config))
		for k := range b.Config {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f, ok := spec.Field(k)
			if !ok || !f.Secret {
				continue
			}
			v := b.Config[k]
			if _, isRef := dataflow.RefName(v); isRef || v == nil || v == "" || v == "null" {
				continue
			}
			out = append(out, dataflow.Problem{Path: "blocks[" + strconv.Itoa(i) + "].config." + k,
				Message: fmt.Sprintf("%s is a secret: give a {\"$config\": \"name\"} reference to an Extension Configuration (list_configs), never the value", f.Key)})
		}
	}
	return out
}

// checked is a document and what validation said about it.
type checked struct {
	doc      *dataflow.Document
	problems []Problem
	// valid: no errors (warnings allowed).
	valid bool
	// secrets: the document holds a secret value inline.
	secrets bool
}

// check validates text as submission does (control's DecodeDocument and
// Check: block registry, expressions, crons, Extension Configurations of
// the organisation), plus the inline-secret rule of this layer.
func (h *handlers) check(ctx context.Context, a control.Actor, text []byte, format string) (checked, error) {
	svc := h.t.d.Service
	doc, notes, err := svc.DecodeDocument(text, format)
	if err != nil {
		var ve *control.ValidationError
		if errors.As(err, &ve) {
			return checked{problems: h.problems(nil, ve.Problems, "error")}, nil
		}
		return checked{}, h.fail(err)
	}
	probs, err := svc.Check(ctx, svc.Store().Queries, a.OrgID, doc)
	if err != nil {
		return checked{}, h.fail(err)
	}
	sec := inlineSecrets(doc, svc.Registry())
	c := checked{doc: doc, secrets: len(sec) > 0}
	c.problems = h.problems(doc, append(sec, probs...), "error")
	c.valid = len(c.problems) == 0
	c.problems = append(c.problems, h.problems(doc, notes, "warning")...)
	return c, nil
}

func problemText(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		if p.Severity != "error" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString("- ")
		if p.Path != "" {
			b.WriteString(p.Path + ": ")
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

// Proposal is a document the assistant proposes; nothing is saved until
// the user accepts it.
type Proposal struct {
	// Kind is "create" (a new dataflow) or "update" (a Draft).
	Kind        string   `json:"kind"`
	FlowID      string   `json:"flowId,omitempty"`
	Version     int      `json:"version,omitempty"`
	Revision    int64    `json:"revision,omitempty"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	// Document is the proposed document (canonical YAML).
	Document string    `json:"document"`
	Warnings []Problem `json:"warnings,omitempty"`
}

// Proposals collects one assistant turn's proposals.
type Proposals struct {
	mu   sync.Mutex
	list []Proposal
}

func (p *Proposals) add(pr Proposal) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, pr)
	return len(p.list)
}

// Last returns the latest proposal.
func (p *Proposals) Last() (Proposal, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.list) == 0 {
		return Proposal{}, false
	}
	return p.list[len(p.list)-1], true
}

// Len is the number of proposals made.
func (p *Proposals) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.list)
}

// CreateDraftIn creates a dataflow (version 1, a Draft) from a document or
// a template.
type CreateDraftIn struct {
	Name        string            `json:"name,omitempty" jsonschema:"dataflow name (default: the document's name)"`
	Description string            `json:"description,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Document    any               `json:"document,omitempty" jsonschema:"the dataflow document: an object {name, description, blocks: [{type, name, config, relations: [{to, on}]}]} or its YAML/JSON text"`
	Format      string            `json:"format,omitempty" jsonschema:"format of a text document: yaml, json or connectplus (Connect+ block JSON); default: detected"`
	Template    string            `json:"template,omitempty" jsonschema:"create from this template (list_templates) instead of a document"`
	Parameters  map[string]string `json:"parameters,omitempty" jsonschema:"the template's parameters (describe_template)"`
}

// DraftOut is a saved (or, for the assistant, proposed) Draft.
type DraftOut struct {
	Saved    bool      `json:"saved" jsonschema:"false: a proposal the user still has to accept"`
	FlowID   string    `json:"flowId,omitempty"`
	Name     string    `json:"name"`
	Version  int       `json:"version,omitempty"`
	State    string    `json:"state,omitempty"`
	Revision int64     `json:"revision,omitempty" jsonschema:"pass it to update_draft"`
	Valid    bool      `json:"valid" jsonschema:"no errors: it could be submitted for approval"`
	Problems []Problem `json:"problems"`
	Message  string    `json:"message"`
}

// draftWriter is the caller of a tool that writes a Draft (doing says
// what, for the refusal): an editor, or anyone when the server only turns
// such writes into proposals that the user accepts.
func (h *handlers) draftWriter(ctx context.Context, doing string) (control.Actor, error) {
	a, err := h.actor(ctx)
	if err != nil {
		return a, err
	}
	if h.s.Proposals == nil && !atLeast(a.Role, control.RoleEditor) {
		return a, h.fail(fmt.Errorf("%w: %s needs the editor role (you have %s)", control.ErrForbidden, doing, a.Role))
	}
	return a, nil
}

func (h *handlers) createDraft(ctx context.Context, _ *mcp.CallToolRequest, in CreateDraftIn) (*mcp.CallToolResult, DraftOut, error) {
	out := DraftOut{Problems: []Problem{}}
	a, err := h.draftWriter(ctx, "creating a dataflow")
	if err != nil {
		return nil, out, err
	}
	var text []byte
	format := in.Format
	switch {
	case in.Template != "" && in.Document != nil:
		return nil, out, userErr("give a document or a template, not both")
	case in.Template != "":
		params := map[string]string{}
		for k, v := range in.Parameters {
			params[k] = v
		}
		if _, ok := params["name"]; !ok && in.Name != "" {
			params["name"] = in.Name
		}
		if text, err = h.t.d.Templates.Render(in.Template, params); err != nil {
			if errors.Is(err, ErrNoTemplate) {
				return nil, out, userErr("no template %q; list_templates lists them", in.Template)
			}
			return nil, out, userErr("%s", err.Error())
		}
		format = control.FormatYAML
	default:
		if text, format, err = docText(in.Document, in.Format); err != nil {
			return nil, out, err
		}
	}
	c, err := h.check(ctx, a, text, format)
	if err != nil {
		return nil, out, err
	}
	out.Problems, out.Valid = c.problems, c.valid
	if c.doc == nil {
		return nil, out, userErr("the document cannot be read:\n%s", problemText(c.problems))
	}
	if c.secrets {
		return nil, out, userErr("nothing was saved:\n%s", problemText(c.problems))
	}
	name := in.Name
	if name == "" {
		name = c.doc.Name
	}
	if h.s.Proposals != nil {
		if !c.valid {
			return nil, out, userErr("the proposal does not validate; fix these and propose again:\n%s", problemText(c.problems))
		}
		c.doc.Name = name
		if in.Description != "" {
			c.doc.Description = in.Description
		}
		canon, err := dataflow.Marshal(c.doc, "yaml")
		if err != nil {
			return nil, out, h.fail(err)
		}
		h.s.Proposals.add(Proposal{Kind: "create", Name: name, Description: c.doc.Description, Tags: in.Tags, Document: string(canon), Warnings: warnings(c.problems)})
		out.Name = name
		out.Message = "Proposed a new dataflow " + quote(name) + ": the user sees it and accepts (saved as a Draft) or rejects it."
		return nil, out, nil
	}
	// The canonical text of the checked document: the inline-secret check
	// above ran on exactly this.
	canon, err := dataflow.Marshal(c.doc, "yaml")
	if err != nil {
		return nil, out, h.fail(err)
	}
	res, err := h.t.d.Service.CreateDataflow(ctx, a, control.CreateFlowInput{Name: name, Description: in.Description, Tags: in.Tags, Document: string(canon), Format: control.FormatYAML})
	if err != nil {
		return nil, out, h.fail(err)
	}
	out.Saved, out.FlowID, out.Name = true, res.Dataflow.ID, res.Dataflow.Name
	out.Version, out.State, out.Revision = res.Version.Number, res.Version.State, res.Version.Revision
	out.Message = fmt.Sprintf("Saved dataflow %q version %d as a Draft.", out.Name, out.Version)
	if !c.valid {
		out.Message += " It has problems to fix (update_draft) before it can be submitted."
	}
	return nil, out, nil
}

func warnings(ps []Problem) []Problem {
	var out []Problem
	for _, p := range ps {
		if p.Severity != "error" {
			out = append(out, p)
		}
	}
	return out
}

func atLeast(have, want string) bool { return control.MinRole(have, want) == want }

// FlowRef names a dataflow by id or exact name, and optionally a version.
type FlowRef struct {
	FlowID  string `json:"flowId,omitempty" jsonschema:"dataflow id (flw_…)"`
	Name    string `json:"name,omitempty" jsonschema:"dataflow name (exact), when the id is not known"`
	Version int    `json:"version,omitempty" jsonschema:"version number (default: the Draft, else the latest)"`
}

// resolveFlow finds the dataflow and the version number ref means.
func (h *handlers) resolveFlow(ctx context.Context, a control.Actor, ref FlowRef) (store.Dataflow, []store.Version, int, error) {
	svc := h.t.d.Service
	var f store.Dataflow
	var err error
	switch {
	case ref.FlowID != "":
		f, err = svc.GetDataflow(ctx, a, ref.FlowID)
	case ref.Name != "":
		var page control.Page[store.Dataflow]
		page, err = svc.ListDataflows(ctx, a, store.FlowFilter{Name: ref.Name, Limit: 200})
		if err == nil {
			err = fmt.Errorf("%w: no dataflow named %q", control.ErrNotFound, ref.Name)
			for _, x := range page.Items {
				if x.Name == ref.Name {
					f, err = x, nil
					break
				}
			}
		}
	default:
		return f, nil, 0, userErr("give flowId or name")
	}
	if err != nil {
		return f, nil, 0, h.fail(err)
	}
	vs, err := svc.ListVersions(ctx, a, f.ID)
	if err != nil {
		return f, nil, 0, h.fail(err)
	}
	n := ref.Version
	if n == 0 {
		for _, v := range vs {
			if v.State == store.StateDraft {
				n = v.Number
			}
		}
		if n == 0 && len(vs) > 0 {
			n = vs[0].Number
		}
	}
	return f, vs, n, nil
}

// VersionInfo is one version of a dataflow.
type VersionInfo struct {
	Number    int       `json:"number"`
	State     string    `json:"state"`
	Revision  int64     `json:"revision"`
	UpdatedBy string    `json:"updatedBy,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// DataflowOut is a dataflow with one version's document.
type DataflowOut struct {
	FlowID      string        `json:"flowId"`
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Tags        []string      `json:"tags"`
	Status      string        `json:"status"`
	LiveVersion int           `json:"liveVersion"`
	Versions    []VersionInfo `json:"versions"`
	Version     int           `json:"version" jsonschema:"the version whose document this is"`
	State       string        `json:"state"`
	Revision    int64         `json:"revision" jsonschema:"pass it to update_draft"`
	// Document is YAML with inline secret values masked (****).
	Document string `json:"document"`
}

func (h *handlers) getDataflow(ctx context.Context, _ *mcp.CallToolRequest, in FlowRef) (*mcp.CallToolResult, DataflowOut, error) {
	var out DataflowOut
	a, err := h.actor(ctx)
	if err != nil {
		return nil, out, err
	}
	f, vs, n, err := h.resolveFlow(ctx, a, in)
	if err != nil {
		return nil, out, err
	}
	out = DataflowOut{FlowID: f.ID, Name: f.Name, Description: f.Description, Tags: f.Tags, Status: f.Status, LiveVersion: f.LiveVersion, Versions: []VersionInfo{}, Version: n}
	for _, v := range vs {
		out.Versions = append(out.Versions, VersionInfo{Number: v.Number, State: v.State, Revision: v.Revision, UpdatedBy: v.UpdatedBy, UpdatedAt: v.UpdatedAt})
		if v.Number == n {
			out.State, out.Revision = v.State, v.Revision
		}
	}
	if n == 0 {
		return nil, out, nil
	}
	// Export masks inline secret values: the document never carries one out.
	doc, _, err := h.t.d.Service.Export(ctx, a, f.ID, n, control.FormatYAML, "")
	if err != nil {
		return nil, out, h.fail(err)
	}
	out.Document = h.t.d.Redactor.String(string(doc))
	return nil, out, nil
}

// UpdateDraftIn changes a Draft by a JSON Patch or a whole document.
type UpdateDraftIn struct {
	FlowID   string    `json:"flowId"`
	Version  int       `json:"version,omitempty" jsonschema:"the Draft's version number (default: the Draft)"`
	Revision int64     `json:"revision" jsonschema:"the revision get_dataflow returned (a stale one fails: reload and reapply)"`
	Patch    []PatchOp `json:"patch,omitempty" jsonschema:"JSON Patch (RFC 6902) on the document's JSON form"`
	Document any       `json:"document,omitempty" jsonschema:"or the whole new document (object or YAML/JSON text)"`
	Format   string    `json:"format,omitempty"`
}

func (h *handlers) updateDraft(ctx context.Context, _ *mcp.CallToolRequest, in UpdateDraftIn) (*mcp.CallToolResult, DraftOut, error) {
	out := DraftOut{Problems: []Problem{}}
	a, err := h.draftWriter(ctx, "editing a Draft")
	if err != nil {
		return nil, out, err
	}
	if (len(in.Patch) == 0) == (in.Document == nil) {
		return nil, out, userErr("give a patch or a document (one of them)")
	}
	f, vs, n, err := h.resolveFlow(ctx, a, FlowRef{FlowID: in.FlowID, Version: in.Version})
	if err != nil {
		return nil, out, err
	}
	var cur *store.Version
	for i := range vs {
		if vs[i].Number == n {
			cur = &vs[i]
		}
	}
	if cur == nil {
		return nil, out, userErr("dataflow %s has no version %d", f.ID, n)
	}
	if cur.State != store.StateDraft {
		return nil, out, userErr("version %d is %s: only a Draft can change (the dataflow's Draft, or a new one from the UI)", n, cur.State)
	}
	if in.Revision == 0 {
		return nil, out, h.fail(control.ErrPreconditionRequired)
	}
	if in.Revision != cur.Revision {
		return nil, out, userErr("version %d changed since revision %d (now %d): get_dataflow again and reapply your edit", n, in.Revision, cur.Revision)
	}
	var text []byte
	format := in.Format
	if len(in.Patch) > 0 {
		// The patch applies to the masked document, so a "test" operation
		// cannot probe a secret value held inline.
		base, _, err := h.t.d.Service.Export(ctx, a, f.ID, n, control.FormatJSON, "")
		if err != nil {
			return nil, out, h.fail(err)
		}
		if text, err = applyPatch(base, in.Patch); err != nil {
			return nil, out, userErr("%s", err.Error())
		}
		format = control.FormatJSON
	} else if text, format, err = docText(in.Document, in.Format); err != nil {
		return nil, out, err
	}
	c, err := h.check(ctx, a, text, format)
	if err != nil {
		return nil, out, err
	}
	out.Problems, out.Valid, out.FlowID, out.Name = c.problems, c.valid, f.ID, f.Name
	if c.doc == nil {
		return nil, out, userErr("the document cannot be read:\n%s", problemText(c.problems))
	}
	if c.secrets {
		return nil, out, userErr("nothing was saved:\n%s", problemText(c.problems))
	}
	canon, err := dataflow.Marshal(c.doc, "yaml")
	if err != nil {
		return nil, out, h.fail(err)
	}
	if h.s.Proposals != nil {
		if !c.valid {
			return nil, out, userErr("the proposal does not validate; fix these and propose again:\n%s", problemText(c.problems))
		}
		h.s.Proposals.add(Proposal{Kind: "update", FlowID: f.ID, Version: n, Revision: cur.Revision, Name: f.Name, Document: string(canon), Warnings: warnings(c.problems)})
		out.Version, out.State, out.Revision = n, cur.State, cur.Revision
		out.Message = fmt.Sprintf("Proposed a change to %q version %d: the user sees the diff and accepts (saved to the Draft) or rejects it.", f.Name, n)
		return nil, out, nil
	}
	res, err := h.t.d.Service.SaveDraft(ctx, a, f.ID, n, control.SaveInput{Document: string(canon), Format: control.FormatYAML, Revision: in.Revision})
	if err != nil {
		return nil, out, h.fail(err)
	}
	out.Saved, out.Version, out.State, out.Revision = true, res.Version.Number, res.Version.State, res.Version.Revision
	out.Message = fmt.Sprintf("Saved the Draft of %q (version %d, revision %d).", f.Name, out.Version, out.Revision)
	if !c.valid {
		out.Message += " It still has problems to fix before it can be submitted."
	}
	return nil, out, nil
}

// documentOrFlow is the text and format of what validate and preview
// check: the document given, or else flowID's version (exported as YAML).
func (h *handlers) documentOrFlow(ctx context.Context, a control.Actor, doc any, format, flowID string, version int) ([]byte, string, error) {
	if flowID == "" {
		return docText(doc, format)
	}
	if doc != nil {
		return nil, "", userErr("give a document or a flowId, not both")
	}
	f, _, n, err := h.resolveFlow(ctx, a, FlowRef{FlowID: flowID, Version: version})
	if err != nil {
		return nil, "", err
	}
	text, _, err := h.t.d.Service.Export(ctx, a, f.ID, n, control.FormatYAML, "")
	if err != nil {
		return nil, "", h.fail(err)
	}
	return text, control.FormatYAML, nil
}

// ValidateIn is a document, or a saved version, to validate.
type ValidateIn struct {
	Document any    `json:"document,omitempty" jsonschema:"an unsaved document (object or YAML/JSON text)"`
	Format   string `json:"format,omitempty"`
	FlowID   string `json:"flowId,omitempty" jsonschema:"or a saved dataflow"`
	Version  int    `json:"version,omitempty"`
}

// ValidateOut lists the problems.
type ValidateOut struct {
	Valid    bool      `json:"valid"`
	Problems []Problem `json:"problems"`
}

func (h *handlers) validate(ctx context.Context, _ *mcp.CallToolRequest, in ValidateIn) (*mcp.CallToolResult, ValidateOut, error) {
	out := ValidateOut{Problems: []Problem{}}
	a, err := h.actor(ctx)
	if err != nil {
		return nil, out, err
	}
	text, format, err := h.documentOrFlow(ctx, a, in.Document, in.Format, in.FlowID, in.Version)
	if err != nil {
		return nil, out, err
	}
	c, err := h.check(ctx, a, text, format)
	if err != nil {
		return nil, out, err
	}
	out.Valid, out.Problems = c.valid, c.problems
	return nil, out, nil
}

// ConfigName is an Extension Configuration without its value.
type ConfigName struct {
	Name     string `json:"name"`
	IsSecret bool   `json:"isSecret"`
}

// ListConfigsOut lists the organisation's Extension Configurations.
type ListConfigsOut struct {
	Configs []ConfigName `json:"configs"`
	Note    string       `json:"note"`
}

func (h *handlers) listConfigs(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, ListConfigsOut, error) {
	out := ListConfigsOut{Configs: []ConfigName{}, Note: `Reference one as {"$config": "name"}. Values are never shown here; an admin adds or changes them (maker-checker).`}
	a, err := h.actor(ctx)
	if err != nil {
		return nil, out, err
	}
	cs, err := h.t.d.Service.ListConfigs(ctx, a)
	if err != nil {
		return nil, out, h.fail(err)
	}
	for _, c := range cs {
		out.Configs = append(out.Configs, ConfigName{Name: c.Name, IsSecret: c.IsSecret})
	}
	return nil, out, nil
}

// ListDataflowsIn filters the organisation's dataflows.
type ListDataflowsIn struct {
	Name string `json:"name,omitempty" jsonschema:"case-insensitive substring of the name"`
	Tag  string `json:"tag,omitempty"`
}

// DataflowSummary is one dataflow.
type DataflowSummary struct {
	FlowID        string   `json:"flowId"`
	Name          string   `json:"name"`
	Description   string   `json:"description"`
	Tags          []string `json:"tags"`
	Status        string   `json:"status"`
	LiveVersion   int      `json:"liveVersion"`
	LatestVersion int      `json:"latestVersion"`
}

// ListDataflowsOut lists dataflows.
type ListDataflowsOut struct {
	Dataflows []DataflowSummary `json:"dataflows"`
}

func (h *handlers) listDataflows(ctx context.Context, _ *mcp.CallToolRequest, in ListDataflowsIn) (*mcp.CallToolResult, ListDataflowsOut, error) {
	out := ListDataflowsOut{Dataflows: []DataflowSummary{}}
	a, err := h.actor(ctx)
	if err != nil {
		return nil, out, err
	}
	page, err := h.t.d.Service.ListDataflows(ctx, a, store.FlowFilter{Name: in.Name, Tag: in.Tag, Limit: 200})
	if err != nil {
		return nil, out, h.fail(err)
	}
	for _, f := range page.Items {
		out.Dataflows = append(out.Dataflows, DataflowSummary{FlowID: f.ID, Name: f.Name, Description: f.Description, Tags: f.Tags, Status: f.Status,
			LiveVersion: f.LiveVersion, LatestVersion: f.LatestVersion})
	}
	return nil, out, nil
}

// Check validates a document text as the validate tool does: the checks
// submission runs plus the inline-secret rule. The assistant uses it again
// when a proposal is accepted.
func (t *Toolset) Check(ctx context.Context, a control.Actor, text, format string) (ValidateOut, error) {
	h := &handlers{t: t}
	c, err := h.check(ctx, a, []byte(text), format)
	if err != nil {
		return ValidateOut{}, err
	}
	return ValidateOut{Valid: c.valid && c.doc != nil, Problems: c.problems}, nil
}
