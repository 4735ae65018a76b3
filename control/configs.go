package control

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/store"
)

// Mask replaces every secret value shown to anyone.
const Mask = "****"

// MaxConfigValue caps an Extension Configuration value (keys and
// certificates fit comfortably).
const MaxConfigValue = 64 << 10

// configNameRE is the block package's rule for reference names.
var configNameRE = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,128}$`)

// ConfigView is an entry as the API shows it: secret values masked.
type ConfigView struct {
	Name       string     `json:"name"`
	Value      string     `json:"value"`
	IsSecret   bool       `json:"isSecret"`
	Revision   int64      `json:"revision"`
	CreatedBy  string     `json:"createdBy"`
	UpdatedBy  string     `json:"updatedBy"`
	ApprovedBy string     `json:"approvedBy"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	SyncedAt   *time.Time `json:"syncedAt,omitempty"`
}

func viewConfig(c store.Config) ConfigView {
	v := ConfigView{Name: c.Name, Value: c.Value, IsSecret: c.IsSecret, Revision: c.Revision, CreatedBy: c.CreatedBy, UpdatedBy: c.UpdatedBy,
		ApprovedBy: c.ApprovedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, SyncedAt: c.SyncedAt}
	if c.IsSecret {
		v.Value = Mask
	}
	return v
}

func maskRequest(r store.ConfigRequest) store.ConfigRequest {
	if r.IsSecret {
		r.Value = Mask
	}
	r.Ciphertext = ""
	return r
}

func auditConfig(name, value string, secret bool, rev int64) map[string]any {
	if secret {
		value = Mask
	}
	return map[string]any{"name": name, "value": value, "isSecret": secret, "revision": rev}
}

// ListConfigs lists the organisation's entries, secrets masked.
func (s *Service) ListConfigs(ctx context.Context, a Actor) ([]ConfigView, error) {
	if err := a.require(RoleViewer); err != nil {
		return nil, err
	}
	cs, err := s.st.ListConfigs(ctx, a.OrgID)
	if err != nil {
		return nil, err
	}
	out := make([]ConfigView, 0, len(cs))
	for _, c := range cs {
		out = append(out, viewConfig(c))
	}
	return out, nil
}

// GetConfig reads one entry, secret masked.
func (s *Service) GetConfig(ctx context.Context, a Actor, name string) (ConfigView, error) {
	if err := a.require(RoleViewer); err != nil {
		return ConfigView{}, err
	}
	c, err := s.st.GetConfig(ctx, a.OrgID, name)
	if err != nil {
		return ConfigView{}, err
	}
	return viewConfig(c), nil
}

// ConfigRequestInput proposes a new value for an entry.
type ConfigRequestInput struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	IsSecret bool   `json:"isSecret"`
}

// RequestConfig records an add or change request (editors); it takes effect
// when an admin other than the requester approves it. A secret value is
// sealed before it is stored, in the request as in the entry.
func (s *Service) RequestConfig(ctx context.Context, a Actor, in ConfigRequestInput) (store.ConfigRequest, error) {
	if err := a.require(RoleEditor); err != nil {
		return store.ConfigRequest{}, err
	}
	if !configNameRE.MatchString(in.Name) {
		return store.ConfigRequest{}, invalid("name", "name must be 1-128 letters, digits or _.-")
	}
	if len(in.Value) > MaxConfigValue {
		return store.ConfigRequest{}, invalid("value", "value is longer than %d bytes", MaxConfigValue)
	}
	now := s.clock()
	r := store.ConfigRequest{ID: store.NewID("cfr"), OrgID: a.OrgID, Name: in.Name, Kind: "add", IsSecret: in.IsSecret,
		Status: store.RequestPending, RequestedBy: a.Username, CreatedAt: now}
	err := s.st.Tx(ctx, func(q *store.Queries) error {
		cur, err := q.GetConfig(ctx, a.OrgID, in.Name)
		switch {
		case err == nil:
			r.Kind, r.BaseRevision = "change", cur.Revision
			if cur.IsSecret && !in.IsSecret {
				return invalid("isSecret", "a secret entry stays secret: once masked, a value cannot be unmasked")
			}
		case !errors.Is(err, ErrNotFound):
			return err
		}
		if in.IsSecret {
			if s.kr == nil {
				return errors.New("no master key configured for secrets")
			}
			r.KeyID, r.Ciphertext, err = s.kr.Seal([]byte(in.Value), store.ConfigAAD(a.OrgID, in.Name))
			if err != nil {
				return err
			}
		} else {
			r.Value = in.Value
		}
		if err := q.CreateConfigRequest(ctx, r); err != nil {
			return err
		}
		return s.audit(ctx, q, a, "config.request", "config_request", r.ID, nil,
			map[string]any{"kind": r.Kind, "entry": auditConfig(in.Name, in.Value, in.IsSecret, r.BaseRevision)})
	})
	return maskRequest(r), err
}

// ListConfigRequests lists requests (optionally by status), secrets masked.
func (s *Service) ListConfigRequests(ctx context.Context, a Actor, status string) ([]store.ConfigRequest, error) {
	if err := a.require(RoleViewer); err != nil {
		return nil, err
	}
	rs, err := s.st.ListConfigRequests(ctx, a.OrgID, status)
	if err != nil {
		return nil, err
	}
	out := make([]store.ConfigRequest, 0, len(rs))
	for _, r := range rs {
		out = append(out, maskRequest(r))
	}
	return out, nil
}

// ApproveConfigRequest applies a pending request (admins other than the
// requester). A change whose entry moved on since the request fails with
// ErrConflict (the request stays pending so it can be rejected).
func (s *Service) ApproveConfigRequest(ctx context.Context, a Actor, id, comment string) (ConfigView, error) {
	if err := a.require(RoleAdmin); err != nil {
		return ConfigView{}, err
	}
	if err := checkText("comment", comment, 2000, false); err != nil {
		return ConfigView{}, err
	}
	var out ConfigView
	err := s.st.Tx(ctx, func(q *store.Queries) error {
		r, err := q.GetConfigRequest(ctx, a.OrgID, id)
		if err != nil {
			return err
		}
		if r.Status != store.RequestPending {
			return conflict("request is already %s", r.Status)
		}
		if r.RequestedBy == a.Username {
			return forbidden("maker-checker: you requested this change, so someone else must approve it")
		}
		now := s.clock()
		cur, err := q.GetConfig(ctx, a.OrgID, r.Name)
		var before any
		switch {
		case err == nil:
			if r.Kind == "add" || cur.Revision != r.BaseRevision {
				return conflict("entry %q changed since the request was made (revision %d, request based on %d)", r.Name, cur.Revision, r.BaseRevision)
			}
			before = auditConfig(cur.Name, cur.Value, cur.IsSecret, cur.Revision)
		case errors.Is(err, ErrNotFound):
			if r.Kind == "change" {
				return conflict("entry %q no longer exists", r.Name)
			}
			cur = store.Config{ID: store.NewID("cfg"), OrgID: a.OrgID, Name: r.Name, CreatedBy: r.RequestedBy, CreatedAt: now}
		default:
			return err
		}
		cur.Value, cur.Ciphertext, cur.IsSecret, cur.KeyID = r.Value, r.Ciphertext, r.IsSecret, r.KeyID
		cur.UpdatedBy, cur.ApprovedBy, cur.UpdatedAt = r.RequestedBy, a.Username, now
		if err := q.PutConfig(ctx, &cur); err != nil {
			return err
		}
		if err := q.DecideConfigRequest(ctx, a.OrgID, id, store.RequestApproved, a.Username, comment, now); err != nil {
			return err
		}
		out = viewConfig(cur)
		return s.audit(ctx, q, a, "config.approve", "config", cur.ID, before,
			map[string]any{"request": id, "entry": auditConfig(cur.Name, cur.Value, cur.IsSecret, cur.Revision)})
	})
	return out, err
}

// RejectConfigRequest declines a pending request (admins); a secret's
// ciphertext is discarded.
func (s *Service) RejectConfigRequest(ctx context.Context, a Actor, id, comment string) error {
	if err := a.require(RoleAdmin); err != nil {
		return err
	}
	if err := checkText("comment", comment, 2000, false); err != nil {
		return err
	}
	return s.st.Tx(ctx, func(q *store.Queries) error {
		r, err := q.GetConfigRequest(ctx, a.OrgID, id)
		if err != nil {
			return err
		}
		if r.Status != store.RequestPending {
			return conflict("request is already %s", r.Status)
		}
		if err := q.DecideConfigRequest(ctx, a.OrgID, id, store.RequestRejected, a.Username, comment, s.clock()); err != nil {
			return err
		}
		return s.audit(ctx, q, a, "config.reject", "config_request", id, nil, map[string]any{"name": r.Name, "comment": comment})
	})
}

// SyncInput selects what Sync re-resolves: one dataflow (FlowID) or every
// dataflow whose Live version references an entry (Name).
type SyncInput struct {
	FlowID string `json:"flowId,omitempty"`
	Name   string `json:"name,omitempty"`
}

// SyncedFlow is one dataflow Sync touched.
type SyncedFlow struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	ConfigRevision int64  `json:"configRevision"`
}

// SyncResult lists the dataflows whose configuration revision moved.
type SyncResult struct {
	Flows []SyncedFlow `json:"flows"`
}

// Sync makes the runtime re-resolve Extension Configuration references
// after a rotation (editors). It bumps the dataflows' configuration revision
// — the runtime picks the new values for the next file — and records the
// sync in the audit log. It changes no version and needs no approval: the
// approved document holds references, not values, and the value change was
// itself approved through a config request (see docs/CONTROL_PLANE.md).
func (s *Service) Sync(ctx context.Context, a Actor, in SyncInput) (SyncResult, error) {
	res := SyncResult{Flows: []SyncedFlow{}}
	if err := a.require(RoleEditor); err != nil {
		return res, err
	}
	if (in.FlowID == "") == (in.Name == "") {
		return res, invalid("", "give exactly one of flowId or name")
	}
	err := s.st.Tx(ctx, func(q *store.Queries) error {
		now := s.clock()
		var flowIDs []string
		if in.FlowID != "" {
			if _, err := q.GetDataflow(ctx, a.OrgID, in.FlowID); err != nil {
				return err
			}
			if _, err := q.VersionInState(ctx, a.OrgID, in.FlowID, store.StateLive); err != nil {
				if errors.Is(err, ErrNotFound) {
					return conflict("the dataflow has no Live version to sync")
				}
				return err
			}
			flowIDs = []string{in.FlowID}
		} else {
			if _, err := q.GetConfig(ctx, a.OrgID, in.Name); err != nil {
				return fmt.Errorf("extension configuration %q: %w", in.Name, err)
			}
			cands, err := q.FlowsReferencing(ctx, a.OrgID, in.Name)
			if err != nil {
				return err
			}
			for _, id := range cands {
				live, err := q.VersionInState(ctx, a.OrgID, id, store.StateLive)
				if err != nil {
					return err
				}
				doc, _, err := s.DecodeDocument([]byte(live.Document), FormatYAML)
				if err != nil {
					continue
				}
				for _, ref := range dataflow.References(doc, s.reg) {
					if ref.Name == in.Name {
						flowIDs = append(flowIDs, id)
						break
					}
				}
			}
			if err := q.MarkConfigSynced(ctx, a.OrgID, in.Name, now); err != nil {
				return err
			}
		}
		for _, id := range flowIDs {
			f, err := q.GetDataflow(ctx, a.OrgID, id)
			if err != nil {
				return err
			}
			rev, err := q.BumpConfigRevision(ctx, a.OrgID, id, now)
			if err != nil {
				return err
			}
			res.Flows = append(res.Flows, SyncedFlow{ID: id, Name: f.Name, ConfigRevision: rev})
			if err := s.audit(ctx, q, a, "config.sync", "dataflow", id, map[string]any{"configRevision": f.ConfigRevision},
				map[string]any{"configRevision": rev, "entry": in.Name}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if len(res.Flows) > 0 {
		s.reload(ctx)
	}
	return res, nil
}

// RotateMasterKey re-wraps every secret's data key with the keyring's
// current master key (after adding a new key and keeping the old one as a
// decryption key). Values and revisions are unchanged. It returns how many
// entries were re-wrapped.
func (s *Service) RotateMasterKey(ctx context.Context) (int, error) {
	if s.kr == nil {
		return 0, errors.New("no master key configured")
	}
	n := 0
	err := s.st.Tx(ctx, func(q *store.Queries) error {
		cs, err := q.ListAllSecretConfigs(ctx)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.KeyID == s.kr.CurrentID() {
				continue
			}
			kid, ct, err := s.kr.Rewrap(c.KeyID, c.Ciphertext)
			if err != nil {
				return fmt.Errorf("entry %q: %w", c.Name, err)
			}
			if err := q.RewrapConfig(ctx, c.ID, kid, ct); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
