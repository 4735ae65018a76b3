package control

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/connectplus/connectplus/store"
)

// Invitation limits.
const (
	// InvitationTTL is how long an invitation code can be redeemed.
	InvitationTTL = 7 * 24 * time.Hour
	// InvitationPrefix starts every invitation code (recognisable by
	// secret scanners, like TokenPrefix).
	InvitationPrefix = "cpi_"
	// maxInviteFailures revokes an invitation after this many wrong
	// passwords for an existing account: the code must not become a way to
	// guess that account's password.
	maxInviteFailures = 5
)

// InviteInput invites someone into the organisation under a username:
// an unknown one becomes a new account, an existing one joins only if its
// owner redeems the code with its password.
type InviteInput struct {
	Username    string `json:"username"`
	DisplayName string `json:"displayName,omitempty"`
	Role        string `json:"role"`
}

// InvitationCreated returns the one-time code once. Whether the username
// exists is not said: the answer is the same either way.
type InvitationCreated struct {
	Invitation store.Invitation `json:"invitation"`
	// Code is redeemed at POST /api/v1/invitations/accept by the invited
	// person; hand it over out of band.
	Code string `json:"code"`
	// RoleRequest is set when the admin role waits for another admin.
	RoleRequest *store.RoleRequest `json:"roleRequest,omitempty"`
}

// Invite creates an invitation (admins). It never looks the username up
// among accounts — so its answer, and the time it takes, are the same for
// existing and unknown names (issue 14.8) — only among this
// organisation's members, whom an admin sees anyway. An invitation with
// the admin role by an org admin (not a platform administrator) waits for
// another admin's approval before it can be redeemed (issue 14.3).
func (s *Service) Invite(ctx context.Context, a Actor, in InviteInput) (InvitationCreated, error) {
	var res InvitationCreated
	if err := a.require(RoleAdmin); err != nil {
		return res, err
	}
	if !usernameRE.MatchString(in.Username) {
		return res, invalid("username", "username must be 1-100 letters, digits or _.@+- and start with a letter or digit")
	}
	if err := checkText("displayName", in.DisplayName, 200, false); err != nil {
		return res, err
	}
	if !ValidRole(in.Role) {
		return res, invalid("role", "role must be viewer, editor or admin")
	}
	code := InvitationPrefix + RandomToken(32)
	now := s.clock()
	inv := store.Invitation{ID: store.NewID("inv"), OrgID: a.OrgID, CodeHash: HashSecret(code), Username: in.Username, DisplayName: in.DisplayName,
		Role: in.Role, Status: store.InvitePending, InvitedBy: a.Username, CreatedAt: now, ExpiresAt: now.Add(InvitationTTL)}
	needsGrant := in.Role == RoleAdmin && !a.PlatformAdmin
	if needsGrant {
		inv.Status = store.InviteAwaiting
	}
	err := s.st.Tx(ctx, func(q *store.Queries) error {
		ms, err := q.ListMemberships(ctx, a.OrgID, "")
		if err != nil {
			return err
		}
		for _, m := range ms {
			if strings.EqualFold(m.Username, in.Username) {
				return fmt.Errorf("%w: %q is already a member", ErrDuplicate, m.Username)
			}
		}
		if err := q.CreateInvitation(ctx, inv); err != nil {
			return err
		}
		after := map[string]any{"username": inv.Username, "role": inv.Role, "status": inv.Status, "expiresAt": inv.ExpiresAt}
		if in.Role == RoleAdmin && a.PlatformAdmin {
			after["grantedBy"], after["platformAdmin"] = a.Username, true
		}
		if err := s.audit(ctx, q, a, "invitation.create", "invitation", inv.ID, nil, after); err != nil {
			return err
		}
		if needsGrant {
			r, err := s.requestGrant(ctx, q, a, store.RoleRequest{InvitationID: inv.ID, Username: inv.Username, Role: inv.Role})
			if err != nil {
				return err
			}
			res.RoleRequest = &r
		}
		return nil
	})
	if err != nil {
		return InvitationCreated{}, err
	}
	res.Invitation, res.Code = inv, code
	return res, nil
}

// ListInvitations lists the organisation's invitations (admins; codes are
// never shown again).
func (s *Service) ListInvitations(ctx context.Context, a Actor) ([]store.Invitation, error) {
	if err := a.require(RoleAdmin); err != nil {
		return nil, err
	}
	return s.st.ListInvitations(ctx, a.OrgID)
}

// RevokeInvitation withdraws an invitation not yet redeemed (admins).
func (s *Service) RevokeInvitation(ctx context.Context, a Actor, id string) error {
	if err := a.require(RoleAdmin); err != nil {
		return err
	}
	return s.st.Tx(ctx, func(q *store.Queries) error {
		inv, err := q.GetInvitation(ctx, a.OrgID, id)
		if err != nil {
			return err
		}
		if inv.Status != store.InvitePending && inv.Status != store.InviteAwaiting {
			return conflict("the invitation is %s", inv.Status)
		}
		from := inv.Status
		inv.Status = store.InviteRevoked
		if err := q.UpdateInvitation(ctx, inv, from); err != nil {
			return err
		}
		return s.audit(ctx, q, a, "invitation.revoke", "invitation", id, map[string]any{"status": from}, map[string]any{"status": inv.Status})
	})
}

// AcceptInput redeems an invitation code: Password is the new account's
// password, or — when the invitation names an existing account — that
// account's current password, which proves its owner consents.
type AcceptInput struct {
	Code        string `json:"code"`
	Password    string `json:"password"`
	DisplayName string `json:"displayName,omitempty"`
}

// ErrInvitation is the single answer to an unknown, expired, revoked,
// not-yet-approved or already redeemed code, and to a wrong password for an
// existing account, so redeeming reveals nothing to whoever lacks both the
// code and the account.
var ErrInvitation = errors.New("invalid invitation code or credentials")

// AcceptInvitation redeems a code (no authentication: the code is the
// credential). It creates the account, or checks the existing account's
// password, then adds the membership. Wrong passwords count against the
// invitation, which is revoked after a few.
func (s *Service) AcceptInvitation(ctx context.Context, in AcceptInput) (store.Membership, error) {
	var out store.Membership
	if !strings.HasPrefix(in.Code, InvitationPrefix) || len(in.Code) > 200 {
		CheckPassword(dummyHash(), in.Password)
		return out, ErrInvitation
	}
	inv, err := s.st.GetInvitationByCode(ctx, HashSecret(in.Code))
	if err != nil {
		CheckPassword(dummyHash(), in.Password)
		if errors.Is(err, ErrNotFound) {
			return out, ErrInvitation
		}
		return out, err
	}
	now := s.clock()
	if inv.Status != store.InvitePending || !now.Before(inv.ExpiresAt) {
		CheckPassword(dummyHash(), in.Password)
		return out, ErrInvitation
	}
	if err := checkText("displayName", in.DisplayName, 200, false); err != nil {
		return out, err
	}
	// Both branches below cost one argon2id computation, so the time taken
	// does not tell an existing account from a new one either.
	u, uerr := s.st.GetUserByName(ctx, inv.Username)
	var hash string
	switch {
	case errors.Is(uerr, ErrNotFound):
		if err := checkPasswordPolicy(in.Password); err != nil {
			return out, err
		}
		if hash, err = HashPassword(in.Password); err != nil {
			return out, err
		}
	case uerr != nil:
		return out, uerr
	default:
		if !CheckPassword(u.PasswordHash, in.Password) || u.Disabled {
			inv.Failures++
			if inv.Failures >= maxInviteFailures {
				inv.Status = store.InviteRevoked
			}
			if err := s.st.UpdateInvitation(ctx, inv, store.InvitePending); err != nil && !errors.Is(err, ErrConflict) {
				return out, err
			}
			return out, ErrInvitation
		}
	}
	err = s.st.Tx(ctx, func(q *store.Queries) error {
		if hash != "" {
			name := in.DisplayName
			if name == "" {
				name = inv.DisplayName
			}
			u = store.User{ID: store.NewID("usr"), Username: inv.Username, DisplayName: name, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
			if err := q.CreateUser(ctx, u); err != nil {
				if errors.Is(err, ErrDuplicate) {
					// Someone took the name since the lookup.
					return ErrInvitation
				}
				return err
			}
		}
		if _, err := q.GetMembership(ctx, inv.OrgID, u.ID); err == nil {
			return fmt.Errorf("%w: you are already a member of this organisation", ErrDuplicate)
		}
		acc := inv
		acc.Status, acc.AcceptedAt = store.InviteAccepted, &now
		if err := q.UpdateInvitation(ctx, acc, store.InvitePending); err != nil {
			if errors.Is(err, ErrConflict) {
				return ErrInvitation
			}
			return err
		}
		if err := q.UpsertMembership(ctx, store.Membership{OrgID: inv.OrgID, UserID: u.ID, Role: inv.Role, CreatedAt: now}); err != nil {
			return err
		}
		a := Actor{UserID: u.ID, Username: u.Username, OrgID: inv.OrgID, Role: inv.Role}
		if hash != "" {
			if err := s.audit(ctx, q, a, "user.create", "user", u.ID, nil, map[string]any{"username": u.Username, "invitation": inv.ID}); err != nil {
				return err
			}
		}
		after := map[string]any{"username": u.Username, "role": inv.Role, "invitation": inv.ID, "invitedBy": inv.InvitedBy}
		if inv.ApprovedBy != "" {
			after["approvedBy"] = inv.ApprovedBy
		}
		if err := s.audit(ctx, q, a, "invitation.accept", "invitation", inv.ID, nil, after); err != nil {
			return err
		}
		if err := s.audit(ctx, q, a, "member.add", "user", u.ID, nil, after); err != nil {
			return err
		}
		out, err = q.GetMembership(ctx, inv.OrgID, u.ID)
		return err
	})
	return out, err
}
