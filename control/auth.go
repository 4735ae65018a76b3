package control

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/connectplus/connectplus/store"
)

// Password hashing: argon2id with OWASP's minimum (19 MiB, 2 passes, 1
// lane), encoded in the PHC string format so parameters can be raised later
// without invalidating stored hashes.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	// MinPasswordLength is the shortest accepted password.
	MinPasswordLength = 12
	// SessionTTL is how long a login lasts.
	SessionTTL = 12 * time.Hour
	// TokenPrefix starts every API token, so leaked tokens are recognisable
	// by secret scanners.
	TokenPrefix = "cpt_"
	// DefaultOrg is the organisation created on first run.
	DefaultOrg = "default"
	// BootstrapAdmin is the first user's name.
	BootstrapAdmin = "admin"
)

// HashPassword returns an argon2id PHC string.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword compares in constant time.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<21 || t > 16 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash makes a login for an unknown user cost the same as for a known
// one, so timing does not reveal which usernames exist. It is computed on
// first use, not at init: every process (connectplus run too) would
// otherwise pay an argon2id hash, ~20 MB and tens of milliseconds, at start.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("connectplus-timing-equaliser")
	return h
})

func checkPasswordPolicy(pw string) error {
	if len([]rune(pw)) < MinPasswordLength {
		return invalid("password", "password must be at least %d characters", MinPasswordLength)
	}
	if len(pw) > 1024 {
		return invalid("password", "password is longer than 1024 bytes")
	}
	return nil
}

// RandomToken returns n random bytes, base64url-encoded.
func RandomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("control: random: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret is the SHA-256 of a bearer secret (API token, session cookie):
// the secrets are 256-bit random, so a fast hash is enough and lookups stay
// indexable.
func HashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Bootstrap creates the "default" organisation and an "admin" user on first
// run (no users yet). The password is adminPassword, else a random one; it
// is returned so the caller can show it once. created is false when users
// already exist.
func (s *Service) Bootstrap(ctx context.Context, adminPassword string) (created bool, password string, err error) {
	n, err := s.st.CountUsers(ctx)
	if err != nil {
		return false, "", fmt.Errorf("bootstrap: %w", err)
	}
	if n > 0 {
		return false, "", nil
	}
	password = adminPassword
	if password == "" {
		password = RandomToken(18)
	} else if err := checkPasswordPolicy(password); err != nil {
		return false, "", fmt.Errorf("bootstrap admin password: %w", err)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return false, "", err
	}
	now := s.clock()
	err = s.st.Tx(ctx, func(q *store.Queries) error {
		org, err := q.GetOrgByName(ctx, DefaultOrg)
		if errors.Is(err, store.ErrNotFound) {
			org = store.Org{ID: store.NewID("org"), Name: DefaultOrg, TimeZone: "UTC", CreatedAt: now}
			if err := q.CreateOrg(ctx, org); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		u := store.User{ID: store.NewID("usr"), Username: BootstrapAdmin, DisplayName: "Administrator", PasswordHash: hash, PlatformAdmin: true, CreatedAt: now, UpdatedAt: now}
		if err := q.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := q.UpsertMembership(ctx, store.Membership{OrgID: org.ID, UserID: u.ID, Role: RoleAdmin, CreatedAt: now}); err != nil {
			return err
		}
		a := Actor{UserID: u.ID, Username: "system", OrgID: org.ID, Role: RoleAdmin}
		return s.audit(ctx, q, a, "user.bootstrap", "user", u.ID, nil, map[string]any{"username": u.Username, "role": RoleAdmin, "org": org.Name})
	})
	if err != nil {
		return false, "", fmt.Errorf("bootstrap: %w", err)
	}
	return true, password, nil
}

// Login checks a username and password. Unknown users and wrong passwords
// give the same error after the same work.
func (s *Service) Login(ctx context.Context, username, password string) (store.User, error) {
	u, err := s.st.GetUserByName(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		CheckPassword(dummyHash(), password)
		return store.User{}, ErrUnauthenticated
	}
	if err != nil {
		return store.User{}, err
	}
	if !CheckPassword(u.PasswordHash, password) || u.Disabled {
		return store.User{}, ErrUnauthenticated
	}
	return u, nil
}

// NewSession starts a session for a logged-in user in organisation orgID
// (an id the caller resolved with ActorFor: the session's requests act in it
// unless they name another). It returns the cookie value and the CSRF token
// bound to the session; only their hashes are stored.
func (s *Service) NewSession(ctx context.Context, u store.User, orgID string) (cookie, csrf string, sess store.Session, err error) {
	cookie = RandomToken(32)
	csrf = RandomToken(32)
	now := s.clock()
	sess = store.Session{IDHash: HashSecret(cookie), UserID: u.ID, CSRFHash: HashSecret(csrf), OrgID: orgID, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
	if err := s.st.CreateSession(ctx, sess); err != nil {
		return "", "", store.Session{}, fmt.Errorf("create session: %w", err)
	}
	_ = s.st.PurgeSessions(ctx, now)
	return cookie, csrf, sess, nil
}

// SessionUser resolves a session cookie.
func (s *Service) SessionUser(ctx context.Context, cookie string) (store.Session, store.User, error) {
	sess, err := s.st.GetSession(ctx, HashSecret(cookie), s.clock())
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return sess, store.User{}, ErrUnauthenticated
		}
		return sess, store.User{}, err
	}
	u, err := s.st.GetUser(ctx, sess.UserID)
	if err != nil || u.Disabled {
		return sess, store.User{}, ErrUnauthenticated
	}
	return sess, u, nil
}

// SessionActor builds the actor of a session's request: in organisation
// orgID when the request names one (X-Connectplus-Org or ?org=), else in
// the organisation the session was opened in. A session whose organisation
// the user has since left acts in the user's first organisation (as a
// session opened before sessions kept their organisation does), rather
// than locking the user out of the rest.
func (s *Service) SessionActor(ctx context.Context, sess store.Session, u store.User, orgID string) (Actor, error) {
	if orgID != "" || sess.OrgID == "" {
		return s.ActorFor(ctx, u, orgID, "")
	}
	a, err := s.ActorFor(ctx, u, sess.OrgID, "")
	if errors.Is(err, ErrNotFound) {
		return s.ActorFor(ctx, u, "", "")
	}
	return a, err
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, cookie string) error {
	return s.st.DeleteSession(ctx, HashSecret(cookie))
}

// TokenUser resolves a bearer token to its token row and user; revoked,
// expired or malformed tokens and disabled users fail.
func (s *Service) TokenUser(ctx context.Context, bearer string) (store.APIToken, store.User, error) {
	if !strings.HasPrefix(bearer, TokenPrefix) || len(bearer) > 200 {
		return store.APIToken{}, store.User{}, ErrUnauthenticated
	}
	t, err := s.st.GetTokenByHash(ctx, HashSecret(bearer))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return t, store.User{}, ErrUnauthenticated
		}
		return t, store.User{}, err
	}
	now := s.clock()
	if t.RevokedAt != nil || (t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)) {
		return t, store.User{}, ErrUnauthenticated
	}
	u, err := s.st.GetUser(ctx, t.UserID)
	if err != nil || u.Disabled {
		return t, store.User{}, ErrUnauthenticated
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		_ = s.st.TouchToken(ctx, t.ID, now)
	}
	return t, u, nil
}

// ActorFor builds the actor of user u in organisation orgID (its first
// membership when orgID is empty); maxRole caps the role (a token's scope).
// A user outside the organisation gets ErrNotFound.
func (s *Service) ActorFor(ctx context.Context, u store.User, orgID, maxRole string) (Actor, error) {
	var m store.Membership
	var err error
	if orgID == "" {
		ms, err := s.st.ListMemberships(ctx, "", u.ID)
		if err != nil {
			return Actor{}, err
		}
		if len(ms) == 0 {
			return Actor{}, fmt.Errorf("%w: user belongs to no organisation", ErrNotFound)
		}
		m = ms[0]
	} else if m, err = s.st.GetMembership(ctx, orgID, u.ID); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			return Actor{}, err
		}
		// An organisation given by name is accepted too.
		org, oerr := s.st.GetOrgByName(ctx, orgID)
		if oerr != nil {
			return Actor{}, fmt.Errorf("%w: organisation", ErrNotFound)
		}
		if m, err = s.st.GetMembership(ctx, org.ID, u.ID); err != nil {
			return Actor{}, fmt.Errorf("%w: organisation", ErrNotFound)
		}
	}
	role := m.Role
	if maxRole != "" {
		role = MinRole(role, maxRole)
	}
	return Actor{UserID: u.ID, Username: u.Username, OrgID: m.OrgID, Role: role, PlatformAdmin: u.PlatformAdmin && maxRole == ""}, nil
}

// RecordLogin audits a successful login or a logout.
func (s *Service) RecordLogin(ctx context.Context, a Actor, action string) error {
	return s.st.Tx(ctx, func(q *store.Queries) error {
		return s.audit(ctx, q, a, action, "user", a.UserID, nil, nil)
	})
}

// CreateTokenInput describes a new API token.
type CreateTokenInput struct {
	Name  string `json:"name"`
	Scope string `json:"scope"`
	// ExpiresInDays: 0 means no expiry.
	ExpiresInDays int `json:"expiresInDays,omitempty"`
}

// CreateToken issues an API token for the actor in its organisation. The
// secret is returned once; only its hash is stored. The scope may not exceed
// the actor's role.
func (s *Service) CreateToken(ctx context.Context, a Actor, in CreateTokenInput) (string, store.APIToken, error) {
	if err := a.require(RoleViewer); err != nil {
		return "", store.APIToken{}, err
	}
	if err := checkText("name", in.Name, 100, true); err != nil {
		return "", store.APIToken{}, err
	}
	switch in.Scope {
	case store.ScopeRead, store.ScopeWrite, store.ScopeAdmin:
	default:
		return "", store.APIToken{}, invalid("scope", "scope must be read, write or admin")
	}
	if roleRank[ScopeRole(in.Scope)] > roleRank[a.Role] {
		return "", store.APIToken{}, forbidden("a %s token needs the %s role", in.Scope, ScopeRole(in.Scope))
	}
	if in.ExpiresInDays < 0 || in.ExpiresInDays > 3650 {
		return "", store.APIToken{}, invalid("expiresInDays", "expiresInDays must be between 0 and 3650")
	}
	secret := TokenPrefix + RandomToken(32)
	now := s.clock()
	t := store.APIToken{ID: store.NewID("tok"), Hash: HashSecret(secret), Prefix: secret[:len(TokenPrefix)+6], UserID: a.UserID, Username: a.Username,
		OrgID: a.OrgID, Name: in.Name, Scope: in.Scope, CreatedAt: now}
	if in.ExpiresInDays > 0 {
		exp := now.AddDate(0, 0, in.ExpiresInDays)
		t.ExpiresAt = &exp
	}
	err := s.st.Tx(ctx, func(q *store.Queries) error {
		if err := q.CreateToken(ctx, t); err != nil {
			return err
		}
		return s.audit(ctx, q, a, "token.create", "token", t.ID, nil, map[string]any{"name": t.Name, "scope": t.Scope, "prefix": t.Prefix, "user": a.Username})
	})
	if err != nil {
		return "", store.APIToken{}, fmt.Errorf("create token: %w", err)
	}
	return secret, t, nil
}

// ListTokens lists the actor's tokens, or every token of the organisation
// for an admin asking for all.
func (s *Service) ListTokens(ctx context.Context, a Actor, all bool) ([]store.APIToken, error) {
	if err := a.require(RoleViewer); err != nil {
		return nil, err
	}
	user := a.UserID
	if all {
		if err := a.require(RoleAdmin); err != nil {
			return nil, err
		}
		user = ""
	}
	return s.st.ListTokens(ctx, a.OrgID, user)
}

// RevokeToken revokes one of the actor's tokens (admins: anyone's in the
// organisation). Another user's token is invisible to non-admins.
func (s *Service) RevokeToken(ctx context.Context, a Actor, id string) error {
	if err := a.require(RoleViewer); err != nil {
		return err
	}
	return s.st.Tx(ctx, func(q *store.Queries) error {
		t, err := q.GetToken(ctx, a.OrgID, id)
		if err != nil {
			return err
		}
		if t.UserID != a.UserID && a.Role != RoleAdmin {
			return ErrNotFound
		}
		if t.RevokedAt != nil {
			return conflict("token already revoked")
		}
		if err := q.RevokeToken(ctx, a.OrgID, id, s.clock()); err != nil {
			return err
		}
		return s.audit(ctx, q, a, "token.revoke", "token", id, map[string]any{"name": t.Name, "scope": t.Scope, "user": t.Username}, map[string]any{"revoked": true})
	})
}
