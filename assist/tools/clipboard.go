package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/connectplus/connectplus/control"
)

// Copy and paste between organisations (spec §9.1), over control's
// personal dataflow store: copy_dataflow puts a saved version into the
// caller's store, list_copies shows the last 10, paste_dataflow creates a
// new dataflow (a Draft) from one in the caller's organisation — the
// token's, so pasting into another organisation means a token of that
// organisation; the store is the user's, whichever token reads it.
//
// In proposal mode (the assistant) copying happens at once — it changes no
// dataflow, only the user's own store, which is what the user asked for —
// while a paste is a proposal like create_draft: validated in the target
// organisation and saved only when the user accepts it.

// CopyIn names the version to copy.
type CopyIn struct {
	FlowID      string `json:"flowId,omitempty" jsonschema:"dataflow id (flw_…)"`
	Name        string `json:"name,omitempty" jsonschema:"dataflow name (exact), when the id is not known"`
	Version     int    `json:"version,omitempty" jsonschema:"version number (default: the Draft, else the latest — the version on the canvas)"`
	Description string `json:"description" jsonschema:"required: what the copy is for, e.g. Move to ANB organization"`
}

// CopyOut is the copy made.
type CopyOut struct {
	CopyID      string   `json:"copyId" jsonschema:"pass it to paste_dataflow"`
	Dataflow    string   `json:"dataflow"`
	Version     int      `json:"version"`
	Org         string   `json:"org"`
	Description string   `json:"description"`
	Removed     []string `json:"removed" jsonschema:"what the copy leaves out (trigger, tags, inline secret values)"`
	Message     string   `json:"message"`
}

func (h *handlers) copyDataflow(ctx context.Context, _ *mcp.CallToolRequest, in CopyIn) (*mcp.CallToolResult, CopyOut, error) {
	out := CopyOut{Removed: []string{}}
	a, err := h.actor(ctx)
	if err != nil {
		return nil, out, err
	}
	f, _, n, err := h.resolveFlow(ctx, a, FlowRef{FlowID: in.FlowID, Name: in.Name, Version: in.Version})
	if err != nil {
		return nil, out, err
	}
	if n == 0 {
		return nil, out, userErr("dataflow %q has no saved version to copy", f.Name)
	}
	c, err := h.t.d.Service.CopyVersion(ctx, a, f.ID, n, control.CopyInput{Description: in.Description})
	if err != nil {
		return nil, out, h.fail(err)
	}
	out = CopyOut{CopyID: c.ID, Dataflow: c.SourceFlowName, Version: c.SourceVersion, Org: c.SourceOrgName, Description: c.Description, Removed: c.Removed,
		Message: fmt.Sprintf("Copied version %d of %q into your personal dataflow store; paste it into any organisation where you are an editor (paste_dataflow with copyId %s).",
			c.SourceVersion, c.SourceFlowName, c.ID)}
	return nil, out, nil
}

// CopyInfo is one entry of the personal dataflow store.
type CopyInfo struct {
	CopyID      string    `json:"copyId"`
	Description string    `json:"description"`
	Dataflow    string    `json:"dataflow"`
	Version     int       `json:"version"`
	Org         string    `json:"org" jsonschema:"the organisation it was copied from"`
	CopiedAt    time.Time `json:"copiedAt"`
}

// ListCopiesOut lists the store.
type ListCopiesOut struct {
	Copies []CopyInfo `json:"copies"`
}

func (h *handlers) listCopies(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, ListCopiesOut, error) {
	out := ListCopiesOut{Copies: []CopyInfo{}}
	a, err := h.actor(ctx)
	if err != nil {
		return nil, out, err
	}
	cs, err := h.t.d.Service.ListCopies(ctx, a)
	if err != nil {
		return nil, out, h.fail(err)
	}
	for _, c := range cs {
		out.Copies = append(out.Copies, CopyInfo{CopyID: c.ID, Description: c.Description, Dataflow: c.SourceFlowName, Version: c.SourceVersion,
			Org: c.SourceOrgName, CopiedAt: c.CreatedAt})
	}
	return nil, out, nil
}

// PasteIn names the copy and, optionally, the new dataflow.
type PasteIn struct {
	CopyID      string `json:"copyId" jsonschema:"a copy of your personal dataflow store (list_copies)"`
	Name        string `json:"name,omitempty" jsonschema:"name of the new dataflow (default: the copied dataflow's)"`
	Description string `json:"description,omitempty"`
}

func (h *handlers) pasteDataflow(ctx context.Context, _ *mcp.CallToolRequest, in PasteIn) (*mcp.CallToolResult, DraftOut, error) {
	out := DraftOut{Problems: []Problem{}}
	a, err := h.actor(ctx)
	if err != nil {
		return nil, out, err
	}
	if in.CopyID == "" {
		return nil, out, userErr("copyId is required (list_copies lists your copies)")
	}
	svc := h.t.d.Service
	if h.s.Proposals != nil {
		text, name, desc, _, err := svc.PasteDocument(ctx, a, in.CopyID, control.PasteInput{Name: in.Name, Description: in.Description})
		if err != nil {
			return nil, out, h.fail(err)
		}
		c, err := h.check(ctx, a, []byte(text), control.FormatYAML)
		if err != nil {
			return nil, out, err
		}
		out.Problems, out.Valid, out.Name = c.problems, c.valid, name
		if c.doc == nil || !c.valid {
			return nil, out, userErr("the copy does not validate in this organisation, so it cannot be proposed; tell the user what is missing (they can paste it from the Paste dialog and fix it there):\n%s", problemText(c.problems))
		}
		h.s.Proposals.add(Proposal{Kind: "create", Name: name, Description: desc, Document: text, Warnings: warnings(c.problems)})
		out.Message = "Proposed pasting the copy as a new dataflow " + quote(name) + ": the user accepts (saved as a Draft) or rejects it."
		return nil, out, nil
	}
	if !atLeast(a.Role, control.RoleEditor) {
		return nil, out, h.fail(fmt.Errorf("%w: pasting a dataflow needs the editor role (you have %s)", control.ErrForbidden, a.Role))
	}
	res, err := svc.Paste(ctx, a, in.CopyID, control.PasteInput{Name: in.Name, Description: in.Description})
	if err != nil {
		return nil, out, h.fail(err)
	}
	saved, _, err := svc.DecodeDocument([]byte(res.Version.Document), control.FormatYAML)
	if err != nil {
		return nil, out, h.fail(err)
	}
	out.Saved, out.FlowID, out.Name, out.Valid = true, res.Dataflow.ID, res.Dataflow.Name, res.Valid
	out.Version, out.State, out.Revision = res.Version.Number, res.Version.State, res.Version.Revision
	out.Problems = append(h.problems(saved, res.Problems, "error"), h.problems(saved, append(res.Notes, res.Warnings...), "warning")...)
	out.Message = fmt.Sprintf("Pasted %q (version %d of %q from %s) as dataflow %q version 1, a Draft.", res.Source.Description, res.Source.SourceVersion,
		res.Source.SourceFlowName, res.Source.SourceOrgName, out.Name)
	if !res.Valid {
		out.Message += " It has problems to fix here (update_draft) before it can be submitted."
	}
	return nil, out, nil
}
