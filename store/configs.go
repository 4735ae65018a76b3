package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Config request states.
const (
	RequestPending  = "Pending"
	RequestApproved = "Approved"
	RequestRejected = "Rejected"
)

// Config is an Extension Configuration entry. A secret entry has an empty
// Value and its sealed value in Ciphertext/KeyID.
type Config struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"orgId"`
	Name       string     `json:"name"`
	Value      string     `json:"value"`
	Ciphertext string     `json:"-"`
	IsSecret   bool       `json:"isSecret"`
	KeyID      string     `json:"-"`
	Revision   int64      `json:"revision"`
	CreatedBy  string     `json:"createdBy"`
	UpdatedBy  string     `json:"updatedBy"`
	ApprovedBy string     `json:"approvedBy"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	SyncedAt   *time.Time `json:"syncedAt,omitempty"`
}

// ConfigRequest is a proposed add or change awaiting an admin.
type ConfigRequest struct {
	ID           string     `json:"id"`
	OrgID        string     `json:"orgId"`
	Name         string     `json:"name"`
	Kind         string     `json:"kind"`
	Value        string     `json:"value"`
	Ciphertext   string     `json:"-"`
	IsSecret     bool       `json:"isSecret"`
	KeyID        string     `json:"-"`
	BaseRevision int64      `json:"baseRevision"`
	Status       string     `json:"status"`
	RequestedBy  string     `json:"requestedBy"`
	DecidedBy    string     `json:"decidedBy,omitempty"`
	Comment      string     `json:"comment,omitempty"`
	CreatedAt    time.Time  `json:"createdAt"`
	DecidedAt    *time.Time `json:"decidedAt,omitempty"`
}

const configCols = `id, org_id, name, value, ciphertext, is_secret, key_id, revision, created_by, updated_by, approved_by, created_at, updated_at, synced_at`

func scanConfig(r interface{ Scan(...any) error }) (Config, error) {
	var c Config
	var sec int
	var ca, ua int64
	var sa sql.NullInt64
	err := r.Scan(&c.ID, &c.OrgID, &c.Name, &c.Value, &c.Ciphertext, &sec, &c.KeyID, &c.Revision, &c.CreatedBy, &c.UpdatedBy, &c.ApprovedBy, &ca, &ua, &sa)
	c.IsSecret = sec != 0
	c.CreatedAt, c.UpdatedAt, c.SyncedAt = fromMicros(ca), fromMicros(ua), ptrTime(sa)
	return c, mapErr(err)
}

// GetConfig reads an entry by name.
func (q *Queries) GetConfig(ctx context.Context, orgID, name string) (Config, error) {
	return scanConfig(q.row(ctx, `SELECT `+configCols+` FROM configs WHERE org_id = ? AND name = ?`, orgID, name))
}

// ListConfigs lists an organisation's entries by name.
func (q *Queries) ListConfigs(ctx context.Context, orgID string) ([]Config, error) {
	return queryAll(ctx, q, scanConfig, `SELECT `+configCols+` FROM configs WHERE org_id = ? ORDER BY name`, orgID)
}

// ListAllSecretConfigs lists every secret entry of every organisation
// (master key rotation).
func (q *Queries) ListAllSecretConfigs(ctx context.Context) ([]Config, error) {
	return queryAll(ctx, q, scanConfig, `SELECT `+configCols+` FROM configs WHERE is_secret = 1 ORDER BY org_id, name`)
}

// ConfigNames returns the set of an organisation's entry names.
func (q *Queries) ConfigNames(ctx context.Context, orgID string) (map[string]bool, error) {
	rows, err := q.query(ctx, `SELECT name FROM configs WHERE org_id = ?`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, mapErr(rows.Err())
}

// PutConfig inserts an entry (c.Revision == 0) or replaces it when the
// stored revision still equals c.Revision.
func (q *Queries) PutConfig(ctx context.Context, c *Config) error {
	if c.Revision == 0 {
		_, err := q.exec(ctx, `INSERT INTO configs (id, org_id, name, value, ciphertext, is_secret, key_id, revision, created_by, updated_by, approved_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)`,
			c.ID, c.OrgID, c.Name, c.Value, c.Ciphertext, boolInt(c.IsSecret), c.KeyID, c.CreatedBy, c.UpdatedBy, c.ApprovedBy, micros(c.CreatedAt), micros(c.UpdatedAt))
		if err != nil {
			return err
		}
		c.Revision = 1
		return nil
	}
	res, err := q.exec(ctx, `UPDATE configs SET value = ?, ciphertext = ?, is_secret = ?, key_id = ?, updated_by = ?, approved_by = ?, updated_at = ?, revision = revision + 1
		WHERE org_id = ? AND name = ? AND revision = ?`,
		c.Value, c.Ciphertext, boolInt(c.IsSecret), c.KeyID, c.UpdatedBy, c.ApprovedBy, micros(c.UpdatedAt), c.OrgID, c.Name, c.Revision)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	c.Revision++
	return nil
}

// RewrapConfig replaces a secret's ciphertext (master key rotation) without
// changing its revision: the value is unchanged.
func (q *Queries) RewrapConfig(ctx context.Context, id, keyID, ciphertext string) error {
	res, err := q.exec(ctx, `UPDATE configs SET key_id = ?, ciphertext = ? WHERE id = ?`, keyID, ciphertext, id)
	if err != nil {
		return err
	}
	return affected(res)
}

// MarkConfigSynced records when an entry was last synced.
func (q *Queries) MarkConfigSynced(ctx context.Context, orgID, name string, at time.Time) error {
	res, err := q.exec(ctx, `UPDATE configs SET synced_at = ? WHERE org_id = ? AND name = ?`, micros(at), orgID, name)
	if err != nil {
		return err
	}
	return affected(res)
}

const requestCols = `id, org_id, name, kind, value, ciphertext, is_secret, key_id, base_revision, status, requested_by, decided_by, comment, created_at, decided_at`

func scanRequest(r interface{ Scan(...any) error }) (ConfigRequest, error) {
	var c ConfigRequest
	var sec int
	var ca int64
	var da sql.NullInt64
	err := r.Scan(&c.ID, &c.OrgID, &c.Name, &c.Kind, &c.Value, &c.Ciphertext, &sec, &c.KeyID, &c.BaseRevision, &c.Status, &c.RequestedBy, &c.DecidedBy, &c.Comment, &ca, &da)
	c.IsSecret = sec != 0
	c.CreatedAt, c.DecidedAt = fromMicros(ca), ptrTime(da)
	return c, mapErr(err)
}

// CreateConfigRequest stores a pending request.
func (q *Queries) CreateConfigRequest(ctx context.Context, r ConfigRequest) error {
	_, err := q.exec(ctx, `INSERT INTO config_requests (id, org_id, name, kind, value, ciphertext, is_secret, key_id, base_revision, status, requested_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.OrgID, r.Name, r.Kind, r.Value, r.Ciphertext, boolInt(r.IsSecret), r.KeyID, r.BaseRevision, r.Status, r.RequestedBy, micros(r.CreatedAt))
	return err
}

// GetConfigRequest reads a request.
func (q *Queries) GetConfigRequest(ctx context.Context, orgID, id string) (ConfigRequest, error) {
	return scanRequest(q.row(ctx, `SELECT `+requestCols+` FROM config_requests WHERE org_id = ? AND id = ?`, orgID, id))
}

// ListConfigRequests lists requests, newest first, optionally by status.
func (q *Queries) ListConfigRequests(ctx context.Context, orgID, status string) ([]ConfigRequest, error) {
	query := `SELECT ` + requestCols + ` FROM config_requests WHERE org_id = ?`
	args := []any{orgID}
	if status != "" {
		query += ` AND status = ?`
		args = append(args, status)
	}
	query += ` ORDER BY created_at DESC, id`
	return queryAll(ctx, q, scanRequest, query, args...)
}

// DecideConfigRequest moves a Pending request to Approved or Rejected; a
// request already decided gives ErrConflict.
func (q *Queries) DecideConfigRequest(ctx context.Context, orgID, id, status, by, comment string, at time.Time) error {
	res, err := q.exec(ctx, `UPDATE config_requests SET status = ?, decided_by = ?, comment = ?, decided_at = ?,
		ciphertext = CASE WHEN ? = 'Rejected' THEN '' ELSE ciphertext END
		WHERE org_id = ? AND id = ? AND status = 'Pending'`, status, by, comment, micros(at), status, orgID, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := q.GetConfigRequest(ctx, orgID, id); err != nil {
			return err
		}
		return ErrConflict
	}
	return nil
}

// ResolveConfig returns an entry's value, decrypting secrets (runstate.Repo).
func (q *Queries) ResolveConfig(ctx context.Context, orgID, name string) (string, error) {
	c, err := q.GetConfig(ctx, orgID, name)
	if err != nil {
		return "", fmt.Errorf("extension configuration %q: %w", name, err)
	}
	if !c.IsSecret {
		return c.Value, nil
	}
	if q.keyring == nil {
		return "", errors.New("store: no master key to decrypt secret extension configurations")
	}
	pt, err := q.keyring.Open(c.KeyID, c.Ciphertext, ConfigAAD(orgID, name))
	if err != nil {
		return "", fmt.Errorf("extension configuration %q: %w", name, err)
	}
	// Registered before anyone holds the value: from here on no log line,
	// run record or API answer can show it, whatever field it was used in.
	q.redactor.Add(string(pt))
	return string(pt), nil
}

// ConfigIsSecret reports whether an entry is a secret
// (runstate.ConfigSecrecy), without decrypting it.
func (q *Queries) ConfigIsSecret(ctx context.Context, orgID, name string) (bool, error) {
	c, err := q.GetConfig(ctx, orgID, name)
	if err != nil {
		return false, fmt.Errorf("extension configuration %q: %w", name, err)
	}
	return c.IsSecret, nil
}

// ConfigAAD binds a secret's ciphertext to its organisation and name, so a
// ciphertext copied onto another entry does not decrypt.
func ConfigAAD(orgID, name string) []byte {
	b, _ := json.Marshal([]string{"config", orgID, name})
	return b
}
