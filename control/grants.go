package control

import (
	"context"
	"errors"

	"github.com/connectplus/connectplus/store"
)

// requestGrant records a pending admin grant by a (issue 14.3).
func (s *Service) requestGrant(ctx context.Context, q *store.Queries, a Actor, r store.RoleRequest) (store.RoleRequest, error) {
	r.ID, r.OrgID, r.Status, r.RequestedBy, r.CreatedAt = store.NewID("rrq"), a.OrgID, store.RequestPending, a.Username, s.clock()
	if err := q.CreateRoleRequest(ctx, r); err != nil {
		return r, err
	}
	return r, s.audit(ctx, q, a, "role.request", "role_request", r.ID, nil,
		map[string]any{"username": r.Username, "role": r.Role, "userId": r.UserID, "invitationId": r.InvitationID, "requestedBy": a.Username})
}

// ListRoleRequests lists the organisation's admin grants (admins).
func (s *Service) ListRoleRequests(ctx context.Context, a Actor, status string) ([]store.RoleRequest, error) {
	if err := a.require(RoleAdmin); err != nil {
		return nil, err
	}
	return s.st.ListRoleRequests(ctx, a.OrgID, status)
}

// ApproveRoleRequest grants a pending admin role (admins other than the
// requester and the grantee). A member is promoted; an invitation becomes
// redeemable. The audit entry names both the requester and the approver.
func (s *Service) ApproveRoleRequest(ctx context.Context, a Actor, id, comment string) (store.RoleRequest, error) {
	if err := a.require(RoleAdmin); err != nil {
		return store.RoleRequest{}, err
	}
	if err := checkText("comment", comment, 2000, false); err != nil {
		return store.RoleRequest{}, err
	}
	var out store.RoleRequest
	err := s.st.Tx(ctx, func(q *store.Queries) error {
		r, err := q.GetRoleRequest(ctx, a.OrgID, id)
		if err != nil {
			return err
		}
		if r.Status != store.RequestPending {
			return conflict("request is already %s", r.Status)
		}
		if r.RequestedBy == a.Username {
			return forbidden("maker-checker: you asked for this grant, so another admin must approve it")
		}
		if r.Username == a.Username {
			return forbidden("maker-checker: nobody approves their own promotion")
		}
		now := s.clock()
		pair := map[string]any{"username": r.Username, "role": r.Role, "requestedBy": r.RequestedBy, "approvedBy": a.Username, "request": r.ID}
		switch {
		case r.UserID != "":
			m, err := q.GetMembership(ctx, a.OrgID, r.UserID)
			if err != nil {
				if errors.Is(err, ErrNotFound) {
					return conflict("%s is no longer a member", r.Username)
				}
				return err
			}
			before := map[string]any{"username": m.Username, "role": m.Role}
			m.Role = r.Role
			if err := q.UpsertMembership(ctx, m); err != nil {
				return err
			}
			if err := s.audit(ctx, q, a, "member.role", "user", r.UserID, before, pair); err != nil {
				return err
			}
		default:
			inv, err := q.GetInvitation(ctx, a.OrgID, r.InvitationID)
			if err != nil {
				return err
			}
			if inv.Status != store.InviteAwaiting {
				return conflict("the invitation is %s", inv.Status)
			}
			inv.Status, inv.ApprovedBy = store.InvitePending, a.Username
			if err := q.UpdateInvitation(ctx, inv, store.InviteAwaiting); err != nil {
				return err
			}
			if err := s.audit(ctx, q, a, "invitation.approve", "invitation", inv.ID, nil, pair); err != nil {
				return err
			}
		}
		if err := q.DecideRoleRequest(ctx, a.OrgID, id, store.RequestApproved, a.Username, comment, now); err != nil {
			return err
		}
		if err := s.audit(ctx, q, a, "role.approve", "role_request", id, nil, pair); err != nil {
			return err
		}
		out, err = q.GetRoleRequest(ctx, a.OrgID, id)
		return err
	})
	return out, err
}

// RejectRoleRequest declines a pending admin grant (admins); a rejected
// invitation is revoked.
func (s *Service) RejectRoleRequest(ctx context.Context, a Actor, id, comment string) error {
	if err := a.require(RoleAdmin); err != nil {
		return err
	}
	if err := checkText("comment", comment, 2000, false); err != nil {
		return err
	}
	return s.st.Tx(ctx, func(q *store.Queries) error {
		r, err := q.GetRoleRequest(ctx, a.OrgID, id)
		if err != nil {
			return err
		}
		if r.Status != store.RequestPending {
			return conflict("request is already %s", r.Status)
		}
		if r.InvitationID != "" {
			inv, err := q.GetInvitation(ctx, a.OrgID, r.InvitationID)
			if err != nil {
				return err
			}
			if inv.Status == store.InviteAwaiting {
				inv.Status = store.InviteRevoked
				if err := q.UpdateInvitation(ctx, inv, store.InviteAwaiting); err != nil {
					return err
				}
			}
		}
		if err := q.DecideRoleRequest(ctx, a.OrgID, id, store.RequestRejected, a.Username, comment, s.clock()); err != nil {
			return err
		}
		return s.audit(ctx, q, a, "role.reject", "role_request", id, nil,
			map[string]any{"username": r.Username, "role": r.Role, "requestedBy": r.RequestedBy, "rejectedBy": a.Username, "comment": comment})
	})
}
