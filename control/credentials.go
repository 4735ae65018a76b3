package control

import (
	"context"
	"errors"

	"github.com/connectplus/connectplus/store"
)

// revokeAllTokens revokes every unrevoked token of a user in every
// organisation, auditing each in its own organisation's log (by actor a,
// with reason). It returns how many it revoked.
func (s *Service) revokeAllTokens(ctx context.Context, q *store.Queries, a Actor, userID, reason string) (int, error) {
	ts, err := q.ListUserTokens(ctx, userID)
	if err != nil {
		return 0, err
	}
	now := s.clock()
	for _, t := range ts {
		if err := q.RevokeToken(ctx, t.OrgID, t.ID, now); err != nil && !errors.Is(err, ErrNotFound) {
			return 0, err
		}
		in := a
		in.OrgID = t.OrgID
		if err := s.audit(ctx, q, in, "token.revoke", "token", t.ID, map[string]any{"name": t.Name, "scope": t.Scope, "user": t.Username},
			map[string]any{"revoked": true, "reason": reason}); err != nil {
			return 0, err
		}
	}
	return len(ts), nil
}

// RevokeMyTokens revokes every API token of the actor's user, in every
// organisation ("revoke all my tokens" after a compromise: a password
// change alone ends sessions but leaves tokens valid). It returns how many
// were revoked.
func (s *Service) RevokeMyTokens(ctx context.Context, a Actor) (int, error) {
	if a.UserID == "" {
		return 0, ErrUnauthenticated
	}
	n := 0
	err := s.st.Tx(ctx, func(q *store.Queries) error {
		var err error
		n, err = s.revokeAllTokens(ctx, q, a, a.UserID, "revoke-all")
		return err
	})
	return n, err
}

// ResetPassword is an admin-forced password reset: it sets a new password,
// ends every session of the user and revokes every API token they hold in
// any organisation, so whoever had compromised the account keeps nothing.
//
// An org admin may reset only a member who belongs to no organisation the
// admin does not administer and who is not an admin: the password is
// global, so anything else would let one organisation's admin take over an
// account in another, or take over a fellow admin and approve as them.
// Platform administrators may reset anyone but themselves (their own
// password changes through POST /auth/password, which asks for the old
// one).
func (s *Service) ResetPassword(ctx context.Context, a Actor, userID, newPassword string) error {
	if err := a.require(RoleAdmin); err != nil {
		return err
	}
	if userID == a.UserID {
		return forbidden("change your own password with the current one (POST /auth/password)")
	}
	if err := checkPasswordPolicy(newPassword); err != nil {
		return err
	}
	hash, err := HashPassword(newPassword)
	if err != nil {
		return err
	}
	return s.st.Tx(ctx, func(q *store.Queries) error {
		m, err := q.GetMembership(ctx, a.OrgID, userID)
		if err != nil {
			return err
		}
		u, err := q.GetUser(ctx, userID)
		if err != nil {
			return err
		}
		if !a.PlatformAdmin {
			if u.PlatformAdmin || m.Role == RoleAdmin {
				return forbidden("only a platform administrator resets an admin's password")
			}
			ms, err := q.ListMemberships(ctx, "", userID)
			if err != nil {
				return err
			}
			for _, om := range ms {
				if om.OrgID == a.OrgID {
					continue
				}
				if mine, err := q.GetMembership(ctx, om.OrgID, a.UserID); err != nil || mine.Role != RoleAdmin {
					return forbidden("%s also belongs to an organisation you do not administer; a platform administrator resets them", u.Username)
				}
			}
		}
		if err := q.SetPassword(ctx, u.ID, hash, s.clock()); err != nil {
			return err
		}
		if err := q.DeleteUserSessions(ctx, u.ID); err != nil {
			return err
		}
		n, err := s.revokeAllTokens(ctx, q, a, u.ID, "password-reset")
		if err != nil {
			return err
		}
		return s.audit(ctx, q, a, "user.password-reset", "user", u.ID, nil,
			map[string]any{"username": u.Username, "password": Mask, "sessionsEnded": true, "tokensRevoked": n})
	})
}
