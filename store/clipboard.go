package store

import (
	"context"
	"time"
)

// ClipboardKeep is how many copies a user's personal dataflow store keeps:
// the spec lists "the last 10"; older copies are dropped when a new one is
// made, so the store cannot grow without bound.
const ClipboardKeep = 10

// Copy is one entry of a user's personal dataflow store: a copied version's
// document and where it came from.
type Copy struct {
	ID             string    `json:"id"`
	UserID         string    `json:"userId"`
	SourceOrgID    string    `json:"sourceOrgId"`
	SourceOrgName  string    `json:"sourceOrgName"`
	SourceFlowID   string    `json:"sourceFlowId"`
	SourceFlowName string    `json:"sourceFlowName"`
	SourceVersion  int       `json:"sourceVersion"`
	Description    string    `json:"description"`
	Document       string    `json:"document,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
}

const copyCols = `id, user_id, source_org_id, source_org_name, source_flow_id, source_flow_name, source_version, description, document, created_at`

func scanCopy(r interface{ Scan(...any) error }) (Copy, error) {
	var c Copy
	var at int64
	err := r.Scan(&c.ID, &c.UserID, &c.SourceOrgID, &c.SourceOrgName, &c.SourceFlowID, &c.SourceFlowName, &c.SourceVersion, &c.Description, &c.Document, &at)
	c.CreatedAt = fromMicros(at)
	return c, mapErr(err)
}

// AddCopy stores a copy and drops the user's copies beyond the newest
// keep. Run it in a transaction so the insert and the pruning are one.
func (q *Queries) AddCopy(ctx context.Context, c Copy, keep int) error {
	if _, err := q.exec(ctx, `INSERT INTO clipboard (`+copyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.UserID, c.SourceOrgID, c.SourceOrgName, c.SourceFlowID, c.SourceFlowName, c.SourceVersion, c.Description, c.Document, micros(c.CreatedAt)); err != nil {
		return err
	}
	if keep <= 0 {
		return nil
	}
	_, err := q.exec(ctx, `DELETE FROM clipboard WHERE user_id = ? AND seq NOT IN (
		SELECT seq FROM (SELECT seq FROM clipboard WHERE user_id = ? ORDER BY seq DESC LIMIT ?) newest)`,
		c.UserID, c.UserID, keep)
	return err
}

// ListCopies lists a user's copies, newest first, at most limit (without
// their documents).
func (q *Queries) ListCopies(ctx context.Context, userID string, limit int) ([]Copy, error) {
	if limit <= 0 {
		limit = ClipboardKeep
	}
	return queryList(ctx, q, scanCopy, `SELECT id, user_id, source_org_id, source_org_name, source_flow_id, source_flow_name, source_version, description, '', created_at
		FROM clipboard WHERE user_id = ? ORDER BY seq DESC LIMIT ?`, userID, limit)
}

// GetCopy reads one of a user's copies with its document; another user's
// copy is ErrNotFound.
func (q *Queries) GetCopy(ctx context.Context, userID, id string) (Copy, error) {
	return scanCopy(q.row(ctx, `SELECT `+copyCols+` FROM clipboard WHERE user_id = ? AND id = ?`, userID, id))
}

// DeleteCopy removes one of a user's copies.
func (q *Queries) DeleteCopy(ctx context.Context, userID, id string) error {
	res, err := q.exec(ctx, `DELETE FROM clipboard WHERE user_id = ? AND id = ?`, userID, id)
	if err != nil {
		return err
	}
	return affected(res)
}
