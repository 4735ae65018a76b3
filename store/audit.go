package store

import (
	"context"
	"encoding/json"
	"time"
)

// AuditEntry is one recorded state change. Before and After are JSON
// snapshots with secrets already masked by the caller.
type AuditEntry struct {
	Seq        int64           `json:"seq"`
	OrgID      string          `json:"orgId"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	ObjectType string          `json:"objectType"`
	ObjectID   string          `json:"objectId"`
	Before     json.RawMessage `json:"before,omitempty"`
	After      json.RawMessage `json:"after,omitempty"`
	RequestID  string          `json:"requestId,omitempty"`
}

// AuditFilter selects audit entries of one organisation, newest first.
type AuditFilter struct {
	OrgID      string
	Actor      string
	Action     string
	ObjectType string
	ObjectID   string
	Since      time.Time
	Until      time.Time
	// BeforeSeq is the cursor: only entries older than it (0: from newest).
	BeforeSeq int64
	Limit     int
}

// AppendAudit appends an entry (the table is never updated or deleted).
func (q *Queries) AppendAudit(ctx context.Context, e AuditEntry) error {
	_, err := q.exec(ctx, `INSERT INTO audit (org_id, at, actor, action, object_type, object_id, before_json, after_json, request_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.OrgID, micros(e.At), e.Actor, e.Action, e.ObjectType, e.ObjectID, string(e.Before), string(e.After), e.RequestID)
	return err
}

// ListAudit returns one page of entries and whether older ones follow.
func (q *Queries) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, bool, error) {
	query := `SELECT seq, org_id, at, actor, action, object_type, object_id, before_json, after_json, request_id FROM audit WHERE org_id = ?`
	args := []any{f.OrgID}
	for _, c := range []struct {
		col, val string
	}{{"actor", f.Actor}, {"action", f.Action}, {"object_type", f.ObjectType}, {"object_id", f.ObjectID}} {
		if c.val != "" {
			query += ` AND ` + c.col + ` = ?`
			args = append(args, c.val)
		}
	}
	if !f.Since.IsZero() {
		query += ` AND at >= ?`
		args = append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		query += ` AND at < ?`
		args = append(args, micros(f.Until))
	}
	if f.BeforeSeq > 0 {
		query += ` AND seq < ?`
		args = append(args, f.BeforeSeq)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	query += ` ORDER BY seq DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		var before, after string
		if err := rows.Scan(&e.Seq, &e.OrgID, &at, &e.Actor, &e.Action, &e.ObjectType, &e.ObjectID, &before, &after, &e.RequestID); err != nil {
			return nil, false, err
		}
		e.At = fromMicros(at)
		if before != "" {
			e.Before = json.RawMessage(before)
		}
		if after != "" {
			e.After = json.RawMessage(after)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, mapErr(err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}
