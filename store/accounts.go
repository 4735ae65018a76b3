package store

import (
	"context"
	"database/sql"
	"time"
)

// Roles, weakest first.
const (
	RoleViewer = "viewer"
	RoleEditor = "editor"
	RoleAdmin  = "admin"
)

// Token scopes.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
	ScopeAdmin = "admin"
)

// Org is an organisation: the boundary of every other object.
type Org struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	TimeZone  string    `json:"timeZone"`
	CreatedAt time.Time `json:"createdAt"`
}

// User is a person or automation account.
type User struct {
	ID            string    `json:"id"`
	Username      string    `json:"username"`
	DisplayName   string    `json:"displayName"`
	PasswordHash  string    `json:"-"`
	PlatformAdmin bool      `json:"platformAdmin"`
	Disabled      bool      `json:"disabled"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// Membership gives a user a role in an organisation.
type Membership struct {
	OrgID       string    `json:"orgId"`
	OrgName     string    `json:"orgName,omitempty"`
	UserID      string    `json:"userId"`
	Username    string    `json:"username,omitempty"`
	DisplayName string    `json:"displayName,omitempty"`
	Role        string    `json:"role"`
	CreatedAt   time.Time `json:"createdAt"`
}

// Session is a logged-in browser session; only the hashes of its cookie
// value and of its CSRF token are stored.
type Session struct {
	IDHash   string
	UserID   string
	CSRFHash string
	// OrgID is the organisation the session was opened in: requests without
	// an X-Connectplus-Org header act in it. Empty: the first membership.
	OrgID     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// APIToken is an automation credential; only its SHA-256 is stored.
type APIToken struct {
	ID         string     `json:"id"`
	Hash       string     `json:"-"`
	Prefix     string     `json:"prefix"`
	UserID     string     `json:"userId"`
	Username   string     `json:"username,omitempty"`
	OrgID      string     `json:"orgId"`
	Name       string     `json:"name"`
	Scope      string     `json:"scope"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
}

// CreateOrg inserts an organisation.
func (q *Queries) CreateOrg(ctx context.Context, o Org) error {
	_, err := q.exec(ctx, `INSERT INTO orgs (id, name, time_zone, created_at) VALUES (?, ?, ?, ?)`,
		o.ID, o.Name, o.TimeZone, micros(o.CreatedAt))
	return err
}

// GetOrg reads an organisation by id.
func (q *Queries) GetOrg(ctx context.Context, id string) (Org, error) {
	var o Org
	var at int64
	err := q.row(ctx, `SELECT id, name, time_zone, created_at FROM orgs WHERE id = ?`, id).Scan(&o.ID, &o.Name, &o.TimeZone, &at)
	o.CreatedAt = fromMicros(at)
	return o, mapErr(err)
}

// GetOrgByName reads an organisation by name.
func (q *Queries) GetOrgByName(ctx context.Context, name string) (Org, error) {
	var o Org
	var at int64
	err := q.row(ctx, `SELECT id, name, time_zone, created_at FROM orgs WHERE name = ?`, name).Scan(&o.ID, &o.Name, &o.TimeZone, &at)
	o.CreatedAt = fromMicros(at)
	return o, mapErr(err)
}

// CountUsers counts users (first-run bootstrap).
func (q *Queries) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := q.row(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, mapErr(err)
}

// CreateUser inserts a user.
func (q *Queries) CreateUser(ctx context.Context, u User) error {
	_, err := q.exec(ctx, `INSERT INTO users (id, username, display_name, password_hash, platform_admin, disabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Username, u.DisplayName, u.PasswordHash, boolInt(u.PlatformAdmin), boolInt(u.Disabled), micros(u.CreatedAt), micros(u.UpdatedAt))
	return err
}

const userCols = `id, username, display_name, password_hash, platform_admin, disabled, created_at, updated_at`

func scanUser(r interface{ Scan(...any) error }) (User, error) {
	var u User
	var pa, dis int
	var ca, ua int64
	err := r.Scan(&u.ID, &u.Username, &u.DisplayName, &u.PasswordHash, &pa, &dis, &ca, &ua)
	u.PlatformAdmin, u.Disabled = pa != 0, dis != 0
	u.CreatedAt, u.UpdatedAt = fromMicros(ca), fromMicros(ua)
	return u, mapErr(err)
}

// GetUser reads a user by id.
func (q *Queries) GetUser(ctx context.Context, id string) (User, error) {
	return scanUser(q.row(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
}

// GetUserByName reads a user by username.
func (q *Queries) GetUserByName(ctx context.Context, username string) (User, error) {
	return scanUser(q.row(ctx, `SELECT `+userCols+` FROM users WHERE username = ?`, username))
}

// SetPassword replaces a user's password hash.
func (q *Queries) SetPassword(ctx context.Context, userID, hash string, at time.Time) error {
	res, err := q.exec(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, micros(at), userID)
	if err != nil {
		return err
	}
	return affected(res)
}

// SetUserDisabled enables or disables a user.
func (q *Queries) SetUserDisabled(ctx context.Context, userID string, disabled bool, at time.Time) error {
	res, err := q.exec(ctx, `UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?`, boolInt(disabled), micros(at), userID)
	if err != nil {
		return err
	}
	return affected(res)
}

// UpsertMembership sets a user's role in an organisation.
func (q *Queries) UpsertMembership(ctx context.Context, m Membership) error {
	_, err := q.exec(ctx, `INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role`,
		m.OrgID, m.UserID, m.Role, micros(m.CreatedAt))
	return err
}

// DeleteMembership removes a user from an organisation.
func (q *Queries) DeleteMembership(ctx context.Context, orgID, userID string) error {
	res, err := q.exec(ctx, `DELETE FROM memberships WHERE org_id = ? AND user_id = ?`, orgID, userID)
	if err != nil {
		return err
	}
	return affected(res)
}

// GetMembership reads a user's role in an organisation.
func (q *Queries) GetMembership(ctx context.Context, orgID, userID string) (Membership, error) {
	var m Membership
	var at int64
	err := q.row(ctx, `SELECT m.org_id, o.name, m.user_id, u.username, u.display_name, m.role, m.created_at
		FROM memberships m JOIN orgs o ON o.id = m.org_id JOIN users u ON u.id = m.user_id
		WHERE m.org_id = ? AND m.user_id = ?`, orgID, userID).
		Scan(&m.OrgID, &m.OrgName, &m.UserID, &m.Username, &m.DisplayName, &m.Role, &at)
	m.CreatedAt = fromMicros(at)
	return m, mapErr(err)
}

// ListMemberships lists an organisation's members (orgID set) or a user's
// organisations (userID set).
func (q *Queries) ListMemberships(ctx context.Context, orgID, userID string) ([]Membership, error) {
	query := `SELECT m.org_id, o.name, m.user_id, u.username, u.display_name, m.role, m.created_at
		FROM memberships m JOIN orgs o ON o.id = m.org_id JOIN users u ON u.id = m.user_id WHERE 1 = 1`
	var args []any
	if orgID != "" {
		query += ` AND m.org_id = ?`
		args = append(args, orgID)
	}
	if userID != "" {
		query += ` AND m.user_id = ?`
		args = append(args, userID)
	}
	query += ` ORDER BY m.created_at, o.name, u.username`
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Membership
	for rows.Next() {
		var m Membership
		var at int64
		if err := rows.Scan(&m.OrgID, &m.OrgName, &m.UserID, &m.Username, &m.DisplayName, &m.Role, &at); err != nil {
			return nil, err
		}
		m.CreatedAt = fromMicros(at)
		out = append(out, m)
	}
	return out, mapErr(rows.Err())
}

// CreateSession stores a session.
func (q *Queries) CreateSession(ctx context.Context, s Session) error {
	_, err := q.exec(ctx, `INSERT INTO sessions (id_hash, user_id, csrf_hash, org_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		s.IDHash, s.UserID, s.CSRFHash, s.OrgID, micros(s.CreatedAt), micros(s.ExpiresAt))
	return err
}

// GetSession reads an unexpired session by the hash of its cookie.
func (q *Queries) GetSession(ctx context.Context, idHash string, now time.Time) (Session, error) {
	var s Session
	var ca, ea int64
	err := q.row(ctx, `SELECT id_hash, user_id, csrf_hash, org_id, created_at, expires_at FROM sessions WHERE id_hash = ? AND expires_at > ?`,
		idHash, micros(now)).Scan(&s.IDHash, &s.UserID, &s.CSRFHash, &s.OrgID, &ca, &ea)
	s.CreatedAt, s.ExpiresAt = fromMicros(ca), fromMicros(ea)
	return s, mapErr(err)
}

// DeleteSession ends a session.
func (q *Queries) DeleteSession(ctx context.Context, idHash string) error {
	_, err := q.exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
	return err
}

// DeleteUserSessions ends every session of a user (password change,
// disabling).
func (q *Queries) DeleteUserSessions(ctx context.Context, userID string) error {
	_, err := q.exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	return err
}

// PurgeSessions deletes expired sessions.
func (q *Queries) PurgeSessions(ctx context.Context, now time.Time) error {
	_, err := q.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, micros(now))
	return err
}

// CreateToken stores an API token (its hash only).
func (q *Queries) CreateToken(ctx context.Context, t APIToken) error {
	_, err := q.exec(ctx, `INSERT INTO api_tokens (id, token_hash, prefix, user_id, org_id, name, scope, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Hash, t.Prefix, t.UserID, t.OrgID, t.Name, t.Scope, micros(t.CreatedAt), nullMicros(t.ExpiresAt))
	return err
}

const tokenCols = `t.id, t.token_hash, t.prefix, t.user_id, u.username, t.org_id, t.name, t.scope, t.created_at, t.expires_at, t.last_used_at, t.revoked_at`

func scanToken(r interface{ Scan(...any) error }) (APIToken, error) {
	var t APIToken
	var ca int64
	var ea, lu, ra sql.NullInt64
	err := r.Scan(&t.ID, &t.Hash, &t.Prefix, &t.UserID, &t.Username, &t.OrgID, &t.Name, &t.Scope, &ca, &ea, &lu, &ra)
	t.CreatedAt = fromMicros(ca)
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = ptrTime(ea), ptrTime(lu), ptrTime(ra)
	return t, mapErr(err)
}

// GetTokenByHash finds a token by the SHA-256 of its secret.
func (q *Queries) GetTokenByHash(ctx context.Context, hash string) (APIToken, error) {
	return scanToken(q.row(ctx, `SELECT `+tokenCols+` FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`, hash))
}

// GetToken reads a token of an organisation.
func (q *Queries) GetToken(ctx context.Context, orgID, id string) (APIToken, error) {
	return scanToken(q.row(ctx, `SELECT `+tokenCols+` FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.org_id = ? AND t.id = ?`, orgID, id))
}

// ListTokens lists an organisation's tokens, of one user when userID is set.
func (q *Queries) ListTokens(ctx context.Context, orgID, userID string) ([]APIToken, error) {
	query := `SELECT ` + tokenCols + ` FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.org_id = ?`
	args := []any{orgID}
	if userID != "" {
		query += ` AND t.user_id = ?`
		args = append(args, userID)
	}
	query += ` ORDER BY t.created_at, t.id`
	return queryAll(ctx, q, scanToken, query, args...)
}

// RevokeToken marks a token revoked (kept for the audit trail).
func (q *Queries) RevokeToken(ctx context.Context, orgID, id string, at time.Time) error {
	res, err := q.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE org_id = ? AND id = ? AND revoked_at IS NULL`, micros(at), orgID, id)
	if err != nil {
		return err
	}
	return affected(res)
}

// TouchToken records a token's last use.
func (q *Queries) TouchToken(ctx context.Context, id string, at time.Time) error {
	_, err := q.exec(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, micros(at), id)
	return err
}

// ListUserTokens lists every unrevoked token of a user, in every
// organisation (revoking them all after a compromise).
func (q *Queries) ListUserTokens(ctx context.Context, userID string) ([]APIToken, error) {
	return queryAll(ctx, q, scanToken, `SELECT `+tokenCols+` FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.user_id = ? AND t.revoked_at IS NULL ORDER BY t.org_id, t.created_at, t.id`, userID)
}
