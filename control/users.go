package control

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/connectplus/connectplus/store"
)

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@+\-]{0,99}$`)

// Orgs lists the organisations the actor's user belongs to.
func (s *Service) Orgs(ctx context.Context, a Actor) ([]store.Membership, error) {
	if a.UserID == "" {
		return nil, ErrUnauthenticated
	}
	return s.st.ListMemberships(ctx, "", a.UserID)
}

// Org returns the actor's current organisation.
func (s *Service) Org(ctx context.Context, a Actor) (store.Org, error) {
	if err := a.require(RoleViewer); err != nil {
		return store.Org{}, err
	}
	return s.st.GetOrg(ctx, a.OrgID)
}

// CreateOrgInput describes a new organisation.
type CreateOrgInput struct {
	Name     string `json:"name"`
	TimeZone string `json:"timeZone,omitempty"`
}

// CreateOrg creates an organisation (platform administrators only); the
// creator becomes its admin.
func (s *Service) CreateOrg(ctx context.Context, a Actor, in CreateOrgInput) (store.Org, error) {
	if a.UserID == "" {
		return store.Org{}, ErrUnauthenticated
	}
	if !a.PlatformAdmin {
		return store.Org{}, forbidden("only platform administrators create organisations")
	}
	if err := checkText("name", in.Name, 100, true); err != nil {
		return store.Org{}, err
	}
	if in.TimeZone == "" {
		in.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(in.TimeZone); err != nil {
		return store.Org{}, invalid("timeZone", "unknown time zone %q", in.TimeZone)
	}
	now := s.clock()
	org := store.Org{ID: store.NewID("org"), Name: in.Name, TimeZone: in.TimeZone, CreatedAt: now}
	err := s.st.Tx(ctx, func(q *store.Queries) error {
		if err := q.CreateOrg(ctx, org); err != nil {
			return err
		}
		if err := q.UpsertMembership(ctx, store.Membership{OrgID: org.ID, UserID: a.UserID, Role: RoleAdmin, CreatedAt: now}); err != nil {
			return err
		}
		na := a
		na.OrgID = org.ID
		return s.audit(ctx, q, na, "org.create", "org", org.ID, nil, org)
	})
	if errors.Is(err, ErrDuplicate) {
		return store.Org{}, fmt.Errorf("%w: an organisation named %q exists", ErrDuplicate, in.Name)
	}
	return org, err
}

// Members lists the organisation's users and roles.
func (s *Service) Members(ctx context.Context, a Actor) ([]store.Membership, error) {
	if err := a.require(RoleViewer); err != nil {
		return nil, err
	}
	return s.st.ListMemberships(ctx, a.OrgID, "")
}

// SetRole changes a member's role (admins only). The last admin of an
// organisation cannot be demoted. Making someone an admin is a grant:
// unless the actor is a platform administrator it only records a pending
// RoleRequest (returned, with the membership unchanged) that another admin
// decides (ApproveRoleRequest), so one admin cannot create the second admin
// that maker-checker asks for.
func (s *Service) SetRole(ctx context.Context, a Actor, userID, role string) (store.Membership, *store.RoleRequest, error) {
	if err := a.require(RoleAdmin); err != nil {
		return store.Membership{}, nil, err
	}
	if !ValidRole(role) {
		return store.Membership{}, nil, invalid("role", "role must be viewer, editor or admin")
	}
	var out store.Membership
	var req *store.RoleRequest
	err := s.st.Tx(ctx, func(q *store.Queries) error {
		m, err := q.GetMembership(ctx, a.OrgID, userID)
		if err != nil {
			return err
		}
		if m.Role == RoleAdmin && role != RoleAdmin {
			if err := lastAdminCheck(ctx, q, a.OrgID); err != nil {
				return err
			}
		}
		if role == RoleAdmin && m.Role != RoleAdmin && !a.PlatformAdmin {
			r, err := s.requestGrant(ctx, q, a, store.RoleRequest{UserID: userID, Username: m.Username, Role: role})
			req, out = &r, m
			return err
		}
		nm := m
		nm.Role = role
		if err := q.UpsertMembership(ctx, nm); err != nil {
			return err
		}
		out = nm
		after := map[string]any{"username": m.Username, "role": role}
		if role == RoleAdmin && m.Role != RoleAdmin {
			after["grantedBy"], after["platformAdmin"] = a.Username, true
		}
		return s.audit(ctx, q, a, "member.role", "user", userID, map[string]any{"username": m.Username, "role": m.Role}, after)
	})
	return out, req, err
}

// RemoveMember takes a user out of the organisation (admins only).
func (s *Service) RemoveMember(ctx context.Context, a Actor, userID string) error {
	if err := a.require(RoleAdmin); err != nil {
		return err
	}
	return s.st.Tx(ctx, func(q *store.Queries) error {
		m, err := q.GetMembership(ctx, a.OrgID, userID)
		if err != nil {
			return err
		}
		if m.Role == RoleAdmin {
			if err := lastAdminCheck(ctx, q, a.OrgID); err != nil {
				return err
			}
		}
		if err := q.DeleteMembership(ctx, a.OrgID, userID); err != nil {
			return err
		}
		return s.audit(ctx, q, a, "member.remove", "user", userID, map[string]any{"username": m.Username, "role": m.Role}, nil)
	})
}

func lastAdminCheck(ctx context.Context, q *store.Queries, orgID string) error {
	ms, err := q.ListMemberships(ctx, orgID, "")
	if err != nil {
		return err
	}
	admins := 0
	for _, m := range ms {
		if m.Role == RoleAdmin {
			admins++
		}
	}
	if admins <= 1 {
		return conflict("an organisation needs at least one admin")
	}
	return nil
}

// ChangePassword changes the actor's own password and ends their sessions;
// with revokeTokens it also revokes every API token they hold (after a
// compromise, the attacker's tokens would otherwise survive the change).
func (s *Service) ChangePassword(ctx context.Context, a Actor, oldPassword, newPassword string, revokeTokens bool) error {
	if a.UserID == "" {
		return ErrUnauthenticated
	}
	if err := checkPasswordPolicy(newPassword); err != nil {
		return err
	}
	u, err := s.st.GetUser(ctx, a.UserID)
	if err != nil {
		return err
	}
	if !CheckPassword(u.PasswordHash, oldPassword) {
		return forbidden("the current password is wrong")
	}
	hash, err := HashPassword(newPassword)
	if err != nil {
		return err
	}
	return s.st.Tx(ctx, func(q *store.Queries) error {
		if err := q.SetPassword(ctx, u.ID, hash, s.clock()); err != nil {
			return err
		}
		if err := q.DeleteUserSessions(ctx, u.ID); err != nil {
			return err
		}
		n := 0
		if revokeTokens {
			if n, err = s.revokeAllTokens(ctx, q, a, u.ID, "password-change"); err != nil {
				return err
			}
		}
		return s.audit(ctx, q, a, "user.password", "user", u.ID, nil, map[string]any{"password": "****", "tokensRevoked": n})
	})
}
