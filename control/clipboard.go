package control

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/store"
)

// Copy and paste of dataflows between organisations (spec §9.1): a copy
// goes into the user's personal dataflow store — linked to the user, not to
// an organisation — and is pasted as a new dataflow whose version 1 is a
// Draft, in any organisation where the user is an editor or admin. It is a
// copy, not a move: the source stays as it is. The trigger and the tags are
// not copied; neither is anything secret (documents hold only
// {$config: name} references, and an inline secret value left by an old
// Draft is dropped). Paste goes through CreateDataflow — the import path —
// and reports what validation says in the target organisation, typically
// the Extension Configurations that exist only in the source.

// triggerCategory is the block category of trigger blocks (cron_trigger):
// like the document's trigger, they are the schedule and are not copied.
const triggerCategory = "Trigger"

// CopyInput describes a copy. The description is required, as in aiRA
// Coder ("the copy prompt must include a description"): it is what the
// user recognises the copy by when pasting.
type CopyInput struct {
	Description string `json:"description"`
}

// CopyResult is the stored copy with its document and what was left out.
type CopyResult struct {
	store.Copy
	// Removed says what the copy leaves out: trigger, tags, trigger
	// blocks, inline secret values.
	Removed []string `json:"removed"`
}

// CopyVersion copies a saved version of a dataflow of the actor's
// organisation into the actor's personal dataflow store (viewers may copy:
// it reads what Export reads). The store keeps the newest
// store.ClipboardKeep copies.
func (s *Service) CopyVersion(ctx context.Context, a Actor, flowID string, number int, in CopyInput) (CopyResult, error) {
	var res CopyResult
	if err := a.require(RoleViewer); err != nil {
		return res, err
	}
	in.Description = strings.TrimSpace(in.Description)
	if in.Description == "" {
		return res, invalid("description", "a copy needs a description (what it is for, e.g. \"Move to ANB organization\")")
	}
	if err := checkText("description", strings.ReplaceAll(in.Description, "\n", " "), MaxDescription, true); err != nil {
		return res, err
	}
	f, err := s.st.GetDataflow(ctx, a.OrgID, flowID)
	if err != nil {
		return res, err
	}
	v, err := s.st.GetVersion(ctx, a.OrgID, flowID, number)
	if err != nil {
		return res, fmt.Errorf("version %d: %w", number, err)
	}
	org, err := s.st.GetOrg(ctx, a.OrgID)
	if err != nil {
		return res, err
	}
	doc, _, err := s.DecodeDocument([]byte(v.Document), FormatYAML)
	if err != nil {
		return res, err
	}
	res.Removed = s.stripForCopy(doc)
	text, err := dataflow.Marshal(doc, FormatYAML)
	if err != nil {
		return res, fmt.Errorf("copy: %w", err)
	}
	res.Copy = store.Copy{ID: store.NewID("cpy"), UserID: a.UserID, SourceOrgID: org.ID, SourceOrgName: org.Name, SourceFlowID: f.ID,
		SourceFlowName: f.Name, SourceVersion: v.Number, Description: in.Description, Document: string(text), CreatedAt: s.clock()}
	err = s.st.Tx(ctx, func(q *store.Queries) error {
		if err := q.AddCopy(ctx, res.Copy, store.ClipboardKeep); err != nil {
			return err
		}
		return s.audit(ctx, q, a, "dataflow.copy", "dataflow", f.ID, nil,
			map[string]any{"copyId": res.Copy.ID, "version": v.Number, "description": in.Description, "documentSha256": sha(res.Copy.Document)})
	})
	if err != nil {
		return CopyResult{}, err
	}
	if res.Removed == nil {
		res.Removed = []string{}
	}
	return res, nil
}

// stripForCopy removes from doc what a copy does not carry and says what
// it removed.
func (s *Service) stripForCopy(doc *dataflow.Document) []string {
	var removed []string
	if doc.Trigger != nil {
		removed = append(removed, "the trigger (schedule)")
		doc.Trigger = nil
	}
	if len(doc.Tags) > 0 {
		removed = append(removed, "the tags")
		doc.Tags = nil
	}
	gone := map[string]bool{}
	kept := doc.Blocks[:0]
	for _, b := range doc.Blocks {
		if spec, ok := s.reg.Lookup(b.Type); ok && spec.Category == triggerCategory {
			gone[b.Name] = true
			removed = append(removed, fmt.Sprintf("the trigger block %q", b.Name))
			continue
		}
		kept = append(kept, b)
	}
	doc.Blocks = kept
	for i := range doc.Blocks {
		b := &doc.Blocks[i]
		if len(gone) > 0 {
			rels := b.Relations[:0]
			for _, r := range b.Relations {
				if !gone[r.To] {
					rels = append(rels, r)
				}
			}
			b.Relations = rels
		}
		spec, ok := s.reg.Lookup(b.Type)
		if !ok {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(b.Config)) {
			if fld, found := spec.Field(k); found && fld.Secret && isInlineValue(b.Config[k]) {
				// A Draft saved before inline secrets were refused: the
				// value stays behind; the paste reports the field as
				// missing, to be given as a {$config: name} reference.
				delete(b.Config, k)
				removed = append(removed, fmt.Sprintf("the inline value of secret field %s of block %q", k, b.Name))
			}
		}
	}
	return removed
}

// ListCopies lists the actor's personal dataflow store, newest first: the
// last store.ClipboardKeep copies, from any organisation, without their
// documents.
func (s *Service) ListCopies(ctx context.Context, a Actor) ([]store.Copy, error) {
	if err := a.require(RoleViewer); err != nil {
		return nil, err
	}
	return s.st.ListCopies(ctx, a.UserID, store.ClipboardKeep)
}

// GetCopy reads one of the actor's copies with its document. Another
// user's copy is ErrNotFound.
func (s *Service) GetCopy(ctx context.Context, a Actor, id string) (store.Copy, error) {
	if err := a.require(RoleViewer); err != nil {
		return store.Copy{}, err
	}
	return s.st.GetCopy(ctx, a.UserID, id)
}

// DeleteCopy removes one of the actor's copies.
func (s *Service) DeleteCopy(ctx context.Context, a Actor, id string) error {
	if err := a.require(RoleViewer); err != nil {
		return err
	}
	return s.st.Tx(ctx, func(q *store.Queries) error {
		if err := q.DeleteCopy(ctx, a.UserID, id); err != nil {
			return err
		}
		return s.audit(ctx, q, a, "clipboard.delete", "copy", id, nil, nil)
	})
}

// PasteInput names the new dataflow; empty fields take the copy's.
type PasteInput struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// PasteResult is the new dataflow with its Draft, and what validating it
// in the target organisation found (a Draft may have problems; they must
// be fixed before it is submitted).
type PasteResult struct {
	CreateResult
	Source   store.Copy         `json:"source"`
	Valid    bool               `json:"valid"`
	Problems []dataflow.Problem `json:"problems"`
	Warnings []dataflow.Problem `json:"warnings"`
}

// Paste creates, in the actor's organisation, a new dataflow from one of
// the actor's copies: version 1, a Draft (editors; nothing is submitted).
// The name defaults to the source dataflow's; a name taken in the
// organisation is ErrDuplicate.
func (s *Service) Paste(ctx context.Context, a Actor, copyID string, in PasteInput) (PasteResult, error) {
	var res PasteResult
	if err := a.require(RoleEditor); err != nil {
		return res, err
	}
	text, name, desc, c, err := s.PasteDocument(ctx, a, copyID, in)
	if err != nil {
		return res, err
	}
	source := c
	source.Document = ""
	res.CreateResult, err = s.createDataflow(ctx, a, CreateFlowInput{Name: name, Description: desc, Tags: []string{}, Document: text, Format: FormatYAML},
		func(q *store.Queries, cr *CreateResult) error {
			return s.audit(ctx, q, a, "dataflow.paste", "dataflow", cr.Dataflow.ID, nil, map[string]any{"copyId": c.ID, "sourceOrgId": c.SourceOrgID,
				"sourceOrgName": c.SourceOrgName, "sourceFlowId": c.SourceFlowID, "sourceFlowName": c.SourceFlowName, "sourceVersion": c.SourceVersion})
		})
	if err != nil {
		if errors.Is(err, ErrDuplicate) {
			return PasteResult{}, fmt.Errorf("%w (paste it under another name)", err)
		}
		return PasteResult{}, err
	}
	res.Source = source
	saved, _, err := s.DecodeDocument([]byte(res.Version.Document), FormatYAML)
	if err != nil {
		return res, err
	}
	if res.Problems, err = s.Check(ctx, s.st.Queries, a.OrgID, saved); err != nil {
		return res, err
	}
	if res.Problems == nil {
		res.Problems = []dataflow.Problem{}
	}
	res.Valid = len(res.Problems) == 0
	res.Warnings = s.Warnings(saved)
	if res.Warnings == nil {
		res.Warnings = []dataflow.Problem{}
	}
	return res, nil
}

// PasteDocument is the document Paste would create from one of the
// actor's copies, with its name and description (empty input fields take
// the copy's), and the copy. It saves nothing: the assistant proposes it
// and the user accepts.
func (s *Service) PasteDocument(ctx context.Context, a Actor, copyID string, in PasteInput) (text, name, description string, c store.Copy, err error) {
	if err = a.require(RoleViewer); err != nil {
		return "", "", "", c, err
	}
	if c, err = s.st.GetCopy(ctx, a.UserID, copyID); err != nil {
		return "", "", "", c, err
	}
	doc, _, err := s.DecodeDocument([]byte(c.Document), FormatYAML)
	if err != nil {
		return "", "", "", c, err
	}
	// A copy made before a rule changed is stripped again, so what is
	// pasted never carries a trigger, tags or an inline secret.
	s.stripForCopy(doc)
	name = strings.TrimSpace(in.Name)
	if name == "" {
		name = c.SourceFlowName
	}
	description = in.Description
	if description == "" {
		description = doc.Description
	}
	doc.Name, doc.Description = name, description
	out, err := dataflow.Marshal(doc, FormatYAML)
	if err != nil {
		return "", "", "", c, fmt.Errorf("paste: %w", err)
	}
	return string(out), name, description, c, nil
}
