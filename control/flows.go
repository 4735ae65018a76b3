package control

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/fsroot"
	"github.com/connectplus/connectplus/store"
)

// Limits on dataflow metadata.
const (
	MaxFlowName    = 128
	MaxTags        = dataflow.MaxTags
	MaxTagLength   = dataflow.MaxTagLength
	MaxDescription = dataflow.MaxDescription
)

// Document formats accepted on input.
const (
	FormatAuto        = ""
	FormatYAML        = "yaml"
	FormatJSON        = "json"
	FormatConnectPlus = "connectplus"
)

// versionView is the audit snapshot of a version: its state and a hash of
// its document (documents are in the versions table; the hash shows whether
// it changed).
func versionView(v store.Version) map[string]any {
	return map[string]any{"number": v.Number, "state": v.State, "revision": v.Revision, "documentSha256": sha(v.Document)}
}

func flowView(f store.Dataflow) map[string]any {
	return map[string]any{"name": f.Name, "description": f.Description, "tags": f.Tags, "status": f.Status, "deactivated": f.Deactivated}
}

// DecodeDocument turns uploaded text into a document. format is yaml, json,
// connectplus (Connect+'s block JSON, converted with ImportConnectPlus) or
// empty (YAML or JSON by content). Structural problems are a
// *ValidationError listing each with its path; import notes from a
// Connect+ conversion are returned as notes.
func (s *Service) DecodeDocument(data []byte, format string) (doc *dataflow.Document, notes []dataflow.Problem, err error) {
	if len(data) == 0 {
		return nil, nil, invalid("document", "document is empty")
	}
	if len(data) > dataflow.MaxDocumentBytes {
		return nil, nil, invalid("document", "document is larger than %d bytes", dataflow.MaxDocumentBytes)
	}
	switch strings.ToLower(format) {
	case FormatConnectPlus:
		doc, notes = dataflow.ImportConnectPlus(data, s.reg)
		if doc == nil {
			return nil, nil, &ValidationError{Message: "cannot read the Connect+ export", Problems: notes}
		}
		return doc, notes, nil
	case FormatYAML, "yml", FormatJSON, FormatAuto:
	default:
		return nil, nil, invalid("format", "format must be yaml, json or connectplus")
	}
	name := "document"
	if format != "" {
		name += "." + strings.ToLower(format)
	}
	doc, err = dataflow.Parse(data, name)
	if err != nil {
		var pe *dataflow.ParseError
		if errors.As(err, &pe) {
			return nil, nil, &ValidationError{Message: "the document has structural problems", Problems: pe.Problems}
		}
		return nil, nil, &ValidationError{Message: "cannot read the document", Problems: []dataflow.Problem{{Path: "document", Message: err.Error()}}}
	}
	return doc, nil, nil
}

// canonical stores documents in one deterministic YAML form so versions diff
// cleanly; a document without a name takes the dataflow's.
func canonical(doc *dataflow.Document, flowName string) (string, error) {
	if doc.Name == "" {
		doc.Name = flowName
	}
	if doc.Blocks == nil {
		doc.Blocks = []dataflow.Block{}
	}
	b, err := dataflow.Marshal(doc, "yaml")
	if err != nil {
		return "", invalid("document", "cannot encode the document: %v", err)
	}
	return string(b), nil
}

func normTags(tags []string) ([]string, error) {
	seen := map[string]bool{}
	out := []string{}
	for i, t := range tags {
		if err := checkText("tags["+strconv.Itoa(i)+"]", t, MaxTagLength, true); err != nil {
			return nil, err
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if len(out) > MaxTags {
		return nil, invalid("tags", "a dataflow has at most %d tags", MaxTags)
	}
	sort.Strings(out)
	return out, nil
}

// CreateFlowInput describes a new dataflow. Document is optional (an empty
// dataflow is created); Format as in DecodeDocument.
type CreateFlowInput struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	Document    string   `json:"document,omitempty"`
	Format      string   `json:"format,omitempty"`
}

// CreateResult is a new dataflow with its first Draft and import notes.
type CreateResult struct {
	Dataflow store.Dataflow     `json:"dataflow"`
	Version  store.Version      `json:"version"`
	Notes    []dataflow.Problem `json:"notes,omitempty"`
}

// CreateDataflow creates a dataflow with version 1 in Draft (editors).
func (s *Service) CreateDataflow(ctx context.Context, a Actor, in CreateFlowInput) (CreateResult, error) {
	return s.createDataflow(ctx, a, in, nil)
}

// createDataflow is CreateDataflow; also, when set, runs in the same
// transaction once the dataflow exists (paste records its source there, so
// the dataflow and that record commit together).
func (s *Service) createDataflow(ctx context.Context, a Actor, in CreateFlowInput, also func(q *store.Queries, res *CreateResult) error) (CreateResult, error) {
	var res CreateResult
	if err := a.require(RoleEditor); err != nil {
		return res, err
	}
	var doc *dataflow.Document
	if in.Document != "" {
		var err error
		if doc, res.Notes, err = s.DecodeDocument([]byte(in.Document), in.Format); err != nil {
			return res, err
		}
		if err := s.refuseInlineSecrets(doc); err != nil {
			return res, err
		}
		if in.Name == "" {
			in.Name = doc.Name
		}
		if in.Description == "" {
			in.Description = doc.Description
		}
		if in.Tags == nil {
			in.Tags = doc.Tags
		}
	} else {
		doc = &dataflow.Document{}
	}
	if err := checkText("name", in.Name, MaxFlowName, true); err != nil {
		return res, err
	}
	if err := checkText("description", strings.ReplaceAll(in.Description, "\n", " "), MaxDescription, false); err != nil {
		return res, err
	}
	tags, err := normTags(in.Tags)
	if err != nil {
		return res, err
	}
	text, err := canonical(doc, in.Name)
	if err != nil {
		return res, err
	}
	now := s.clock()
	f := store.Dataflow{ID: store.NewID("flw"), OrgID: a.OrgID, Name: in.Name, Description: in.Description, Tags: tags, Status: "Active",
		CreatedBy: a.Username, CreatedAt: now, UpdatedAt: now, Revision: 1}
	v := store.Version{ID: store.NewID("ver"), FlowID: f.ID, OrgID: a.OrgID, Number: 1, State: store.StateDraft, Document: text,
		CreatedBy: a.Username, UpdatedBy: a.Username, CreatedAt: now, UpdatedAt: now, Revision: 1}
	err = s.st.Tx(ctx, func(q *store.Queries) error {
		if err := q.CreateDataflow(ctx, f); err != nil {
			if errors.Is(err, ErrDuplicate) {
				return fmt.Errorf("%w: a dataflow named %q exists in this organisation", ErrDuplicate, in.Name)
			}
			return err
		}
		if err := q.CreateVersion(ctx, v); err != nil {
			return err
		}
		if err := q.AddVersionAuthor(ctx, v.ID, a.Username); err != nil {
			return err
		}
		if err := s.audit(ctx, q, a, "dataflow.create", "dataflow", f.ID, nil, flowView(f)); err != nil {
			return err
		}
		if err := s.audit(ctx, q, a, "version.create", "version", v.ID, nil, versionView(v)); err != nil {
			return err
		}
		if res.Dataflow, err = q.GetDataflow(ctx, a.OrgID, f.ID); err != nil {
			return err
		}
		res.Version = v
		if also != nil {
			return also(q, &res)
		}
		return nil
	})
	res.Version = v
	return res, err
}

// ListDataflows lists the organisation's dataflows.
func (s *Service) ListDataflows(ctx context.Context, a Actor, f store.FlowFilter) (Page[store.Dataflow], error) {
	var p Page[store.Dataflow]
	if err := a.require(RoleViewer); err != nil {
		return p, err
	}
	f.OrgID = a.OrgID
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	items, more, err := s.st.ListDataflows(ctx, f)
	if err != nil {
		return p, err
	}
	p.Items = items
	if p.Items == nil {
		p.Items = []store.Dataflow{}
	}
	if more {
		p.Next = strconv.Itoa(f.Offset + f.Limit)
	}
	return p, nil
}

// GetDataflow reads one dataflow.
func (s *Service) GetDataflow(ctx context.Context, a Actor, id string) (store.Dataflow, error) {
	if err := a.require(RoleViewer); err != nil {
		return store.Dataflow{}, err
	}
	return s.st.GetDataflow(ctx, a.OrgID, id)
}

// UpdateFlowInput changes a dataflow's metadata; nil fields stay.
type UpdateFlowInput struct {
	Name        *string   `json:"name,omitempty"`
	Description *string   `json:"description,omitempty"`
	Tags        *[]string `json:"tags,omitempty"`
	Revision    int64     `json:"revision,omitempty"`
}

// UpdateDataflow renames a dataflow or changes its description or tags
// (admins, as in Neo; optimistic concurrency on the dataflow's revision).
func (s *Service) UpdateDataflow(ctx context.Context, a Actor, id string, in UpdateFlowInput) (store.Dataflow, error) {
	if err := a.require(RoleAdmin); err != nil {
		return store.Dataflow{}, err
	}
	if in.Revision == 0 {
		return store.Dataflow{}, ErrPreconditionRequired
	}
	var out store.Dataflow
	err := s.st.Tx(ctx, func(q *store.Queries) error {
		f, err := q.GetDataflow(ctx, a.OrgID, id)
		if err != nil {
			return err
		}
		before := flowView(f)
		if f.Revision != in.Revision {
			return conflict("the dataflow changed since revision %d (now %d)", in.Revision, f.Revision)
		}
		if in.Name != nil {
			if err := checkText("name", *in.Name, MaxFlowName, true); err != nil {
				return err
			}
			f.Name = *in.Name
		}
		if in.Description != nil {
			if err := checkText("description", strings.ReplaceAll(*in.Description, "\n", " "), MaxDescription, false); err != nil {
				return err
			}
			f.Description = *in.Description
		}
		if in.Tags != nil {
			if f.Tags, err = normTags(*in.Tags); err != nil {
				return err
			}
		}
		f.UpdatedAt = s.clock()
		if err := q.UpdateDataflow(ctx, f); err != nil {
			if errors.Is(err, ErrDuplicate) {
				return fmt.Errorf("%w: a dataflow named %q exists in this organisation", ErrDuplicate, f.Name)
			}
			return err
		}
		if err := s.audit(ctx, q, a, "dataflow.update", "dataflow", f.ID, before, flowView(f)); err != nil {
			return err
		}
		out, err = q.GetDataflow(ctx, a.OrgID, id)
		return err
	})
	return out, err
}

// SetActive deactivates or re-activates a dataflow (admins; dataflows are
// never deleted). The runtime reloads so a deactivated flow stops polling.
func (s *Service) SetActive(ctx context.Context, a Actor, id string, active bool) (store.Dataflow, error) {
	if err := a.require(RoleAdmin); err != nil {
		return store.Dataflow{}, err
	}
	var out store.Dataflow
	err := s.st.Tx(ctx, func(q *store.Queries) error {
		f, err := q.GetDataflow(ctx, a.OrgID, id)
		if err != nil {
			return err
		}
		if f.Deactivated == !active {
			return conflict("the dataflow is already %s", map[bool]string{true: "active", false: "deactivated"}[active])
		}
		before := flowView(f)
		f.Deactivated = !active
		f.UpdatedAt = s.clock()
		if err := q.UpdateDataflow(ctx, f); err != nil {
			return err
		}
		action := "dataflow.deactivate"
		if active {
			action = "dataflow.activate"
		}
		if err := s.audit(ctx, q, a, action, "dataflow", f.ID, before, flowView(f)); err != nil {
			return err
		}
		out, err = q.GetDataflow(ctx, a.OrgID, id)
		return err
	})
	if err == nil {
		s.reload(ctx)
	}
	return out, err
}

// ListVersions lists a dataflow's versions, newest first (no documents).
func (s *Service) ListVersions(ctx context.Context, a Actor, flowID string) ([]store.Version, error) {
	if err := a.require(RoleViewer); err != nil {
		return nil, err
	}
	if _, err := s.st.GetDataflow(ctx, a.OrgID, flowID); err != nil {
		return nil, err
	}
	return s.st.ListVersions(ctx, a.OrgID, flowID)
}

// GetVersion reads a version with its document and authors.
func (s *Service) GetVersion(ctx context.Context, a Actor, flowID string, number int) (store.Version, error) {
	if err := a.require(RoleViewer); err != nil {
		return store.Version{}, err
	}
	v, err := s.st.GetVersion(ctx, a.OrgID, flowID, number)
	if err != nil {
		return v, err
	}
	if v.Document, err = s.maskStoredSecrets(v.Document); err != nil {
		return v, err
	}
	v.Authors, err = s.st.VersionAuthors(ctx, v.ID)
	return v, err
}

// SaveInput is a new document for a Draft. Revision is the version revision
// the editor read (required: two editors, one wins).
type SaveInput struct {
	Document string `json:"document"`
	Format   string `json:"format,omitempty"`
	Revision int64  `json:"revision,omitempty"`
}

// SaveResult is the saved version and any import notes.
type SaveResult struct {
	Version store.Version      `json:"version"`
	Notes   []dataflow.Problem `json:"notes,omitempty"`
}

// SaveDraft replaces a Draft's document (editors). Only a Draft can change:
// Awaiting, Approved and Live versions are immutable and a Rejected one must
// be reopened first. A stale revision fails with ErrConflict.
func (s *Service) SaveDraft(ctx context.Context, a Actor, flowID string, number int, in SaveInput) (SaveResult, error) {
	var res SaveResult
	if err := a.require(RoleEditor); err != nil {
		return res, err
	}
	if in.Revision == 0 {
		return res, ErrPreconditionRequired
	}
	doc, notes, err := s.DecodeDocument([]byte(in.Document), in.Format)
	if err != nil {
		return res, err
	}
	if err := s.refuseInlineSecrets(doc); err != nil {
		return res, err
	}
	res.Notes = notes
	err = s.st.Tx(ctx, func(q *store.Queries) error {
		f, err := q.GetDataflow(ctx, a.OrgID, flowID)
		if err != nil {
			return err
		}
		v, err := q.GetVersion(ctx, a.OrgID, flowID, number)
		if err != nil {
			return err
		}
		if err := editable(v); err != nil {
			return err
		}
		if v.Revision != in.Revision {
			return conflict("version %d changed since revision %d (now %d): reload and reapply your edits", v.Number, in.Revision, v.Revision)
		}
		before := versionView(v)
		if v.Document, err = canonical(doc, f.Name); err != nil {
			return err
		}
		v.UpdatedBy, v.UpdatedAt = a.Username, s.clock()
		if err := q.UpdateVersion(ctx, &v, store.StateDraft); err != nil {
			if errors.Is(err, ErrConflict) {
				return conflict("version %d changed concurrently: reload and reapply your edits", v.Number)
			}
			return err
		}
		if err := q.AddVersionAuthor(ctx, v.ID, a.Username); err != nil {
			return err
		}
		res.Version = v
		return s.audit(ctx, q, a, "version.save", "version", v.ID, before, versionView(v))
	})
	return res, err
}

func editable(v store.Version) error {
	switch v.State {
	case store.StateDraft:
		return nil
	case store.StateRejected:
		return conflict("version %d was rejected: reopen it for editing first (POST …/versions/%d/edit)", v.Number, v.Number)
	default:
		return conflict("version %d is %s and cannot be edited; edit the Draft instead", v.Number, v.State)
	}
}

// PutDraft saves a document as the dataflow's Draft: it updates the Draft
// when one exists (Revision required) and otherwise starts a new Draft
// version (no revision needed). It is what `connectplus flows apply` uses.
func (s *Service) PutDraft(ctx context.Context, a Actor, flowID string, in SaveInput) (SaveResult, error) {
	var res SaveResult
	if err := a.require(RoleEditor); err != nil {
		return res, err
	}
	draft, err := s.st.VersionInState(ctx, a.OrgID, flowID, store.StateDraft)
	if err == nil {
		return s.SaveDraft(ctx, a, flowID, draft.Number, in)
	}
	if !errors.Is(err, ErrNotFound) {
		return res, err
	}
	doc, notes, err := s.DecodeDocument([]byte(in.Document), in.Format)
	if err != nil {
		return res, err
	}
	if err := s.refuseInlineSecrets(doc); err != nil {
		return res, err
	}
	res.Notes = notes
	err = s.st.Tx(ctx, func(q *store.Queries) error {
		f, err := q.GetDataflow(ctx, a.OrgID, flowID)
		if err != nil {
			return err
		}
		open, err := q.CountOpenVersions(ctx, flowID)
		if err != nil {
			return err
		}
		if open > 0 {
			return conflict("a version is awaiting approval or was rejected: decide or reopen it before starting a new Draft")
		}
		text, err := canonical(doc, f.Name)
		if err != nil {
			return err
		}
		v, err := s.newDraft(ctx, q, a, f, text)
		res.Version = v
		if err != nil {
			return err
		}
		// The caller wrote this document; an automatic copy (ensureNextDraft)
		// has no author of its own.
		return q.AddVersionAuthor(ctx, v.ID, a.Username)
	})
	return res, err
}

// newDraft creates the next version as a Draft.
func (s *Service) newDraft(ctx context.Context, q *store.Queries, a Actor, f store.Dataflow, document string) (store.Version, error) {
	n, err := q.MaxVersion(ctx, f.ID)
	if err != nil {
		return store.Version{}, err
	}
	now := s.clock()
	v := store.Version{ID: store.NewID("ver"), FlowID: f.ID, OrgID: f.OrgID, Number: n + 1, State: store.StateDraft, Document: document,
		CreatedBy: a.Username, UpdatedBy: a.Username, CreatedAt: now, UpdatedAt: now, Revision: 1}
	if err := q.CreateVersion(ctx, v); err != nil {
		if errors.Is(err, ErrDuplicate) {
			return v, conflict("the dataflow already has a Draft")
		}
		return v, err
	}
	return v, s.audit(ctx, q, a, "version.create", "version", v.ID, nil, versionView(v))
}

// ensureNextDraft creates the next Draft as a copy of document unless work
// is already open (a Draft, or a version awaiting approval or rejected).
func (s *Service) ensureNextDraft(ctx context.Context, q *store.Queries, a Actor, f store.Dataflow, document string) error {
	open, err := q.CountOpenVersions(ctx, f.ID)
	if err != nil || open > 0 {
		return err
	}
	_, err = s.newDraft(ctx, q, a, f, document)
	return err
}

// Reopen moves a Rejected version back to Draft ("Edit" in Connect+).
func (s *Service) Reopen(ctx context.Context, a Actor, flowID string, number int) (store.Version, error) {
	if err := a.require(RoleEditor); err != nil {
		return store.Version{}, err
	}
	var out store.Version
	err := s.st.Tx(ctx, func(q *store.Queries) error {
		v, err := versionIn(ctx, q, a.OrgID, flowID, number, store.StateRejected, "only a Rejected version can be reopened")
		if err != nil {
			return err
		}
		before := versionView(v)
		v.State, v.UpdatedBy, v.UpdatedAt = store.StateDraft, a.Username, s.clock()
		if err := q.UpdateVersion(ctx, &v, store.StateRejected); err != nil {
			if errors.Is(err, ErrDuplicate) {
				return conflict("the dataflow already has a Draft")
			}
			return err
		}
		out = v
		return s.audit(ctx, q, a, "version.reopen", "version", v.ID, before, versionView(v))
	})
	return out, err
}

// Check validates a document the way submission does: against the block
// registry and against the organisation's Extension Configurations (every
// reference must name an existing entry).
func (s *Service) Check(ctx context.Context, q *store.Queries, orgID string, doc *dataflow.Document) ([]dataflow.Problem, error) {
	probs := dataflow.ValidateWith(doc, s.reg, s.vopt)
	names, err := q.ConfigNames(ctx, orgID)
	if err != nil {
		return nil, err
	}
	for _, ref := range dataflow.References(doc, s.reg) {
		if !names[ref.Name] {
			probs = append(probs, dataflow.Problem{Path: ref.Path, Message: fmt.Sprintf("Extension Configuration %q does not exist in this organisation", ref.Name)})
		}
	}
	lp, err := s.checkLocalPaths(orgID, doc)
	if err != nil {
		return nil, err
	}
	return append(probs, lp...), nil
}

// checkLocalPaths reports every local file or directory the document names
// outside the organisation's files root (and the platform administrator's
// allowed directories). Values from Extension Configurations are checked
// when the version is deployed, once resolved.
func (s *Service) checkLocalPaths(orgID string, doc *dataflow.Document) ([]dataflow.Problem, error) {
	if s.paths == nil {
		return nil, nil
	}
	var pol *fsroot.Policy
	var probs []dataflow.Problem
	for i, b := range doc.Blocks {
		spec, ok := s.reg.Lookup(b.Type)
		if !ok || spec.LocalPaths == nil {
			continue
		}
		c, _ := spec.ParseConfig(b.Config, nil)
		for _, lp := range spec.LocalPaths(c) {
			if pol == nil {
				var err error
				if pol, err = s.paths(orgID); err != nil {
					return nil, fmt.Errorf("local-path policy: %w", err)
				}
			}
			if err := pol.Check(lp.Path); err != nil {
				p := dataflow.Problem{Path: fmt.Sprintf("blocks[%d].config.%s", i, lp.Key), Message: err.Error(), Block: b.Name}
				if pos, ok := doc.PositionOf(p.Path); ok {
					p.Pos = &pos
				}
				probs = append(probs, p)
			}
		}
	}
	return probs, nil
}

// ValidateVersion reports a version's problems without changing it.
func (s *Service) ValidateVersion(ctx context.Context, a Actor, flowID string, number int) ([]dataflow.Problem, error) {
	if err := a.require(RoleViewer); err != nil {
		return nil, err
	}
	v, err := s.st.GetVersion(ctx, a.OrgID, flowID, number)
	if err != nil {
		return nil, err
	}
	doc, _, err := s.DecodeDocument([]byte(v.Document), FormatYAML)
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return ve.Problems, nil
		}
		return nil, err
	}
	probs, err := s.Check(ctx, s.st.Queries, a.OrgID, doc)
	if probs == nil && err == nil {
		probs = []dataflow.Problem{}
	}
	return probs, err
}

// Submit sends a Draft for approval (editors) — only when it validates.
// revision, when non-zero, must match.
func (s *Service) Submit(ctx context.Context, a Actor, flowID string, number int, revision int64) (store.Version, error) {
	if err := a.require(RoleEditor); err != nil {
		return store.Version{}, err
	}
	var out store.Version
	err := s.st.Tx(ctx, func(q *store.Queries) error {
		v, err := versionIn(ctx, q, a.OrgID, flowID, number, store.StateDraft, "only a Draft can be submitted")
		if err != nil {
			return err
		}
		if revision != 0 && revision != v.Revision {
			return conflict("version %d changed since revision %d (now %d)", v.Number, revision, v.Revision)
		}
		doc, _, err := s.DecodeDocument([]byte(v.Document), FormatYAML)
		if err != nil {
			return err
		}
		probs, err := s.Check(ctx, q, a.OrgID, doc)
		if err != nil {
			return err
		}
		if len(probs) > 0 {
			return &ValidationError{Message: fmt.Sprintf("version %d does not validate; fix it before submitting", v.Number), Problems: probs}
		}
		before := versionView(v)
		now := s.clock()
		v.State, v.SubmittedBy, v.SubmittedAt, v.UpdatedAt = store.StateAwaiting, a.Username, &now, now
		v.ApprovedBy, v.RejectedBy, v.Reason, v.Comment, v.DecidedAt = "", "", "", "", nil
		if err := q.UpdateVersion(ctx, &v, store.StateDraft); err != nil {
			return err
		}
		out = v
		return s.audit(ctx, q, a, "version.submit", "version", v.ID, before, versionView(v))
	})
	return out, err
}

// versionIn reads a version for a lifecycle step that starts only from
// state; rule ("only a Draft can be submitted") opens the conflict error
// for a version in any other state.
func versionIn(ctx context.Context, q *store.Queries, orgID, flowID string, number int, state, rule string) (store.Version, error) {
	v, err := q.GetVersion(ctx, orgID, flowID, number)
	if err != nil {
		return store.Version{}, err
	}
	if v.State != state {
		return store.Version{}, conflict("%s; version %d is %s", rule, v.Number, v.State)
	}
	return v, nil
}

// decisionText checks the reason of an approval or the comment of a
// rejection: trimmed, required (missing says why), and at most 2000
// characters of text once its line breaks count as spaces.
func decisionText(field, text, missing string) (string, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return "", invalid(field, "%s", missing)
	}
	if err := checkText(field, strings.ReplaceAll(text, "\n", " "), 2000, true); err != nil {
		return "", err
	}
	return text, nil
}

// Approve approves a version awaiting approval (admins). Maker-checker:
// nobody approves a version they submitted or authored (saved any revision
// of), admins included. A reason is required. The next Draft is created as a copy when no work is open.
func (s *Service) Approve(ctx context.Context, a Actor, flowID string, number int, reason string) (store.Version, error) {
	if err := a.require(RoleAdmin); err != nil {
		return store.Version{}, err
	}
	reason, err := decisionText("reason", reason, "approval needs a reason")
	if err != nil {
		return store.Version{}, err
	}
	var out store.Version
	err = s.st.Tx(ctx, func(q *store.Queries) error {
		f, err := q.GetDataflow(ctx, a.OrgID, flowID)
		if err != nil {
			return err
		}
		v, err := versionIn(ctx, q, a.OrgID, flowID, number, store.StateAwaiting, "only a version awaiting approval can be approved")
		if err != nil {
			return err
		}
		if v.SubmittedBy == a.Username {
			return forbidden("maker-checker: you submitted version %d, so someone else must approve it", v.Number)
		}
		authors, err := q.VersionAuthors(ctx, v.ID)
		if err != nil {
			return err
		}
		for _, au := range authors {
			if au == a.Username {
				return forbidden("maker-checker: you saved a revision of version %d, so someone else must approve it", v.Number)
			}
		}
		before := versionView(v)
		now := s.clock()
		v.State, v.ApprovedBy, v.Reason, v.DecidedAt, v.UpdatedAt = store.StateApproved, a.Username, reason, &now, now
		if err := q.UpdateVersion(ctx, &v, store.StateAwaiting); err != nil {
			return err
		}
		after := versionView(v)
		after["reason"] = reason
		after["authors"] = authors
		after["submittedBy"] = v.SubmittedBy
		if err := s.audit(ctx, q, a, "version.approve", "version", v.ID, before, after); err != nil {
			return err
		}
		out = v
		return s.ensureNextDraft(ctx, q, a, f, v.Document)
	})
	return out, err
}

// Reject rejects a version awaiting approval (admins), with a comment.
func (s *Service) Reject(ctx context.Context, a Actor, flowID string, number int, comment string) (store.Version, error) {
	if err := a.require(RoleAdmin); err != nil {
		return store.Version{}, err
	}
	comment, err := decisionText("comment", comment, "rejection needs a comment")
	if err != nil {
		return store.Version{}, err
	}
	var out store.Version
	err = s.st.Tx(ctx, func(q *store.Queries) error {
		v, err := versionIn(ctx, q, a.OrgID, flowID, number, store.StateAwaiting, "only a version awaiting approval can be rejected")
		if err != nil {
			return err
		}
		before := versionView(v)
		now := s.clock()
		v.State, v.RejectedBy, v.Comment, v.DecidedAt, v.UpdatedAt = store.StateRejected, a.Username, comment, &now, now
		if err := q.UpdateVersion(ctx, &v, store.StateAwaiting); err != nil {
			return err
		}
		out = v
		after := versionView(v)
		after["comment"] = comment
		return s.audit(ctx, q, a, "version.reject", "version", v.ID, before, after)
	})
	return out, err
}

// MakeLive makes an Approved version Live (admins). The previous Live
// version goes back to Approved, so making an older Approved version Live is
// the rollback. The runtime is asked first whether the version's source or
// error folders clash with another Live dataflow, and reloads afterwards.
func (s *Service) MakeLive(ctx context.Context, a Actor, flowID string, number int) (store.Version, error) {
	if err := a.require(RoleAdmin); err != nil {
		return store.Version{}, err
	}
	f, err := s.st.GetDataflow(ctx, a.OrgID, flowID)
	if err != nil {
		return store.Version{}, err
	}
	v, err := s.st.GetVersion(ctx, a.OrgID, flowID, number)
	if err != nil {
		return store.Version{}, err
	}
	if v.State != store.StateApproved {
		return store.Version{}, conflict("only an Approved version can go Live; version %d is %s", v.Number, v.State)
	}
	if f.Deactivated {
		return store.Version{}, conflict("the dataflow is deactivated: activate it first")
	}
	if err := s.ctl.CheckSourceConflict(ctx, a.OrgID, flowID, []byte(v.Document)); err != nil {
		return store.Version{}, conflict("%v", err)
	}
	var out store.Version
	err = s.st.Tx(ctx, func(q *store.Queries) error {
		v, err := versionIn(ctx, q, a.OrgID, flowID, number, store.StateApproved, "only an Approved version can go Live")
		if err != nil {
			return err
		}
		now := s.clock()
		prev, err := q.VersionInState(ctx, a.OrgID, flowID, store.StateLive)
		var prevView map[string]any
		switch {
		case err == nil:
			prevView = versionView(prev)
			pb := versionView(prev)
			prev.State, prev.UpdatedAt = store.StateApproved, now
			if err := q.UpdateVersion(ctx, &prev, store.StateLive); err != nil {
				return err
			}
			if err := s.audit(ctx, q, a, "version.unlive", "version", prev.ID, pb, versionView(prev)); err != nil {
				return err
			}
		case !errors.Is(err, ErrNotFound):
			return err
		}
		before := versionView(v)
		v.State, v.LiveAt, v.UpdatedAt = store.StateLive, &now, now
		if err := q.UpdateVersion(ctx, &v, store.StateApproved); err != nil {
			if errors.Is(err, ErrDuplicate) {
				return conflict("another version went Live concurrently")
			}
			return err
		}
		after := versionView(v)
		after["previousLive"] = prevView
		if err := s.audit(ctx, q, a, "version.live", "version", v.ID, before, after); err != nil {
			return err
		}
		out = v
		return s.ensureNextDraft(ctx, q, a, f, v.Document)
	})
	if err != nil {
		return store.Version{}, err
	}
	s.reload(ctx)
	return out, nil
}

// reload asks the runtime to re-read Live deployments. The change is already
// committed; a failure is logged and the runtime's own periodic reload
// catches up.
func (s *Service) reload(ctx context.Context) {
	if err := s.ctl.Reload(ctx); err != nil {
		s.log.WarnContext(ctx, "runtime reload failed", "err", err)
	}
}

// DiffResult compares two versions.
type DiffResult struct {
	From    int              `json:"from"`
	To      int              `json:"to"`
	Changes dataflow.Changes `json:"changes"`
	Text    string           `json:"text"`
}

// Diff compares two versions of a dataflow (any states).
func (s *Service) Diff(ctx context.Context, a Actor, flowID string, from, to int) (DiffResult, error) {
	res := DiffResult{From: from, To: to}
	if err := a.require(RoleViewer); err != nil {
		return res, err
	}
	docs := make([]*dataflow.Document, 2)
	for i, n := range []int{from, to} {
		v, err := s.st.GetVersion(ctx, a.OrgID, flowID, n)
		if err != nil {
			return res, fmt.Errorf("version %d: %w", n, err)
		}
		if docs[i], _, err = s.DecodeDocument([]byte(v.Document), FormatYAML); err != nil {
			return res, err
		}
	}
	res.Changes = dataflow.DiffWith(docs[0], docs[1], s.reg)
	res.Text = res.Changes.String()
	return res, nil
}

var exportNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._ \-]{0,127}$`)

// CheckExportName refuses a requested download name that could escape a
// directory (separators, "..") or break a header (control characters).
func CheckExportName(name string) error {
	if !exportNameRE.MatchString(name) || strings.Contains(name, "..") {
		return invalid("filename", "filename must be 1-128 letters, digits, spaces or ._- with no path separators or \"..\"")
	}
	return nil
}

// SafeFileName turns any text into a harmless file name.
func SafeFileName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 100 {
			break
		}
	}
	out := strings.Trim(b.String(), "_")
	if out == "" {
		out = "dataflow"
	}
	return out
}

// Export returns a version's document as yaml or json and a safe file name.
// Documents hold Extension Configuration references, never secret values;
// an inline value in a field the block spec marks secret (possible only in
// an unvalidated Draft) is masked as well.
func (s *Service) Export(ctx context.Context, a Actor, flowID string, number int, format, filename string) ([]byte, string, error) {
	if err := a.require(RoleViewer); err != nil {
		return nil, "", err
	}
	if format == "" {
		format = FormatYAML
	}
	if format != FormatYAML && format != FormatJSON {
		return nil, "", invalid("format", "format must be yaml or json")
	}
	if filename != "" {
		if err := CheckExportName(filename); err != nil {
			return nil, "", err
		}
	}
	f, err := s.st.GetDataflow(ctx, a.OrgID, flowID)
	if err != nil {
		return nil, "", err
	}
	v, err := s.st.GetVersion(ctx, a.OrgID, flowID, number)
	if err != nil {
		return nil, "", err
	}
	doc, _, err := s.DecodeDocument([]byte(v.Document), FormatYAML)
	if err != nil {
		return nil, "", err
	}
	s.maskInlineSecrets(doc)
	out, err := dataflow.Marshal(doc, format)
	if err != nil {
		return nil, "", fmt.Errorf("export: %w", err)
	}
	if filename == "" {
		filename = fmt.Sprintf("%s_v%d.%s", SafeFileName(f.Name), v.Number, format)
	}
	return out, filename, nil
}

func (s *Service) maskInlineSecrets(doc *dataflow.Document) {
	for i := range doc.Blocks {
		b := &doc.Blocks[i]
		spec, ok := s.reg.Lookup(b.Type)
		for k, val := range b.Config {
			if _, isRef := dataflow.RefName(val); isRef {
				continue
			}
			secret := false
			if ok {
				if fld, found := spec.Field(k); found {
					secret = fld.Secret
				}
			}
			if secret && val != nil && val != "" {
				b.Config[k] = "****"
			}
		}
	}
}
