package control

import (
	"context"
	"errors"
	"fmt"

	"github.com/connectplus/connectplus/store"
)

// SeedUser is one user SeedUsers creates.
type SeedUser struct {
	Username, DisplayName, Password, Role string
}

// SeedUsers creates users with their roles in the bootstrap organisation,
// as Bootstrap creates the first admin: for `connectplus demo`, which needs
// a second admin (so maker-checker can be tried), an editor and a viewer
// before anyone is logged in. Existing usernames are left alone. Each
// creation is audited as "user.seed".
func (s *Service) SeedUsers(ctx context.Context, users []SeedUser) error {
	now := s.clock()
	return s.st.Tx(ctx, func(q *store.Queries) error {
		org, err := q.GetOrgByName(ctx, DefaultOrg)
		if err != nil {
			return fmt.Errorf("seed users: organisation %q: %w", DefaultOrg, err)
		}
		for _, su := range users {
			if !ValidRole(su.Role) {
				return fmt.Errorf("seed user %s: unknown role %q", su.Username, su.Role)
			}
			if _, err := q.GetUserByName(ctx, su.Username); err == nil {
				continue
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err := checkPasswordPolicy(su.Password); err != nil {
				return fmt.Errorf("seed user %s: %w", su.Username, err)
			}
			hash, err := HashPassword(su.Password)
			if err != nil {
				return err
			}
			u := store.User{ID: store.NewID("usr"), Username: su.Username, DisplayName: su.DisplayName, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
			if err := q.CreateUser(ctx, u); err != nil {
				return err
			}
			if err := q.UpsertMembership(ctx, store.Membership{OrgID: org.ID, UserID: u.ID, Role: su.Role, CreatedAt: now}); err != nil {
				return err
			}
			a := Actor{UserID: u.ID, Username: "system", OrgID: org.ID, Role: RoleAdmin}
			if err := s.audit(ctx, q, a, "user.seed", "user", u.ID, nil, map[string]any{"username": u.Username, "role": su.Role, "org": org.Name}); err != nil {
				return err
			}
		}
		return nil
	})
}
