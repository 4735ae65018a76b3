package store

import (
	"context"
	"database/sql"
	"time"
)

// Invitation states.
const (
	InvitePending  = "Pending"
	InviteAwaiting = "Awaiting Approval"
	InviteAccepted = "Accepted"
	InviteRevoked  = "Revoked"
)

// Invitation offers a role in an organisation to whoever redeems its
// one-time code; only the code's SHA-256 is stored.
type Invitation struct {
	ID          string     `json:"id"`
	OrgID       string     `json:"orgId"`
	CodeHash    string     `json:"-"`
	Username    string     `json:"username"`
	DisplayName string     `json:"displayName,omitempty"`
	Role        string     `json:"role"`
	Status      string     `json:"status"`
	InvitedBy   string     `json:"invitedBy"`
	ApprovedBy  string     `json:"approvedBy,omitempty"`
	Failures    int        `json:"-"`
	CreatedAt   time.Time  `json:"createdAt"`
	ExpiresAt   time.Time  `json:"expiresAt"`
	AcceptedAt  *time.Time `json:"acceptedAt,omitempty"`
}

const inviteCols = `id, org_id, code_hash, username, display_name, role, status, invited_by, approved_by, failures, created_at, expires_at, accepted_at`

func scanInvitation(r interface{ Scan(...any) error }) (Invitation, error) {
	var i Invitation
	var ca, ea int64
	var aa sql.NullInt64
	err := r.Scan(&i.ID, &i.OrgID, &i.CodeHash, &i.Username, &i.DisplayName, &i.Role, &i.Status, &i.InvitedBy, &i.ApprovedBy, &i.Failures, &ca, &ea, &aa)
	i.CreatedAt, i.ExpiresAt, i.AcceptedAt = fromMicros(ca), fromMicros(ea), ptrTime(aa)
	return i, mapErr(err)
}

// CreateInvitation stores an invitation.
func (q *Queries) CreateInvitation(ctx context.Context, i Invitation) error {
	_, err := q.exec(ctx, `INSERT INTO invitations (`+inviteCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		i.ID, i.OrgID, i.CodeHash, i.Username, i.DisplayName, i.Role, i.Status, i.InvitedBy, i.ApprovedBy, i.Failures,
		micros(i.CreatedAt), micros(i.ExpiresAt), nullMicros(i.AcceptedAt))
	return err
}

// GetInvitation reads an invitation of an organisation.
func (q *Queries) GetInvitation(ctx context.Context, orgID, id string) (Invitation, error) {
	return scanInvitation(q.row(ctx, `SELECT `+inviteCols+` FROM invitations WHERE org_id = ? AND id = ?`, orgID, id))
}

// GetInvitationByCode finds an invitation by the SHA-256 of its code.
func (q *Queries) GetInvitationByCode(ctx context.Context, codeHash string) (Invitation, error) {
	return scanInvitation(q.row(ctx, `SELECT `+inviteCols+` FROM invitations WHERE code_hash = ?`, codeHash))
}

// ListInvitations lists an organisation's invitations, newest first.
func (q *Queries) ListInvitations(ctx context.Context, orgID string) ([]Invitation, error) {
	return queryAll(ctx, q, scanInvitation, `SELECT `+inviteCols+` FROM invitations WHERE org_id = ? ORDER BY created_at DESC, id`, orgID)
}

// UpdateInvitation writes an invitation's status, approver, failure count
// and acceptance time when its status is still fromStatus (ErrConflict
// otherwise: a code is redeemed at most once).
func (q *Queries) UpdateInvitation(ctx context.Context, i Invitation, fromStatus string) error {
	res, err := q.exec(ctx, `UPDATE invitations SET status = ?, approved_by = ?, failures = ?, accepted_at = ? WHERE id = ? AND status = ?`,
		i.Status, i.ApprovedBy, i.Failures, nullMicros(i.AcceptedAt), i.ID, fromStatus)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	return nil
}

// Role request states reuse the config request states.

// RoleRequest asks for a role (the admin role) to be granted to a member
// (UserID) or through an invitation (InvitationID); a second admin decides.
type RoleRequest struct {
	ID           string     `json:"id"`
	OrgID        string     `json:"orgId"`
	UserID       string     `json:"userId,omitempty"`
	InvitationID string     `json:"invitationId,omitempty"`
	Username     string     `json:"username"`
	Role         string     `json:"role"`
	Status       string     `json:"status"`
	RequestedBy  string     `json:"requestedBy"`
	DecidedBy    string     `json:"decidedBy,omitempty"`
	Comment      string     `json:"comment,omitempty"`
	CreatedAt    time.Time  `json:"createdAt"`
	DecidedAt    *time.Time `json:"decidedAt,omitempty"`
}

const roleReqCols = `id, org_id, user_id, invitation_id, username, role, status, requested_by, decided_by, comment, created_at, decided_at`

func scanRoleRequest(r interface{ Scan(...any) error }) (RoleRequest, error) {
	var x RoleRequest
	var ca int64
	var da sql.NullInt64
	err := r.Scan(&x.ID, &x.OrgID, &x.UserID, &x.InvitationID, &x.Username, &x.Role, &x.Status, &x.RequestedBy, &x.DecidedBy, &x.Comment, &ca, &da)
	x.CreatedAt, x.DecidedAt = fromMicros(ca), ptrTime(da)
	return x, mapErr(err)
}

// CreateRoleRequest stores a pending role request.
func (q *Queries) CreateRoleRequest(ctx context.Context, x RoleRequest) error {
	_, err := q.exec(ctx, `INSERT INTO role_requests (`+roleReqCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		x.ID, x.OrgID, x.UserID, x.InvitationID, x.Username, x.Role, x.Status, x.RequestedBy, x.DecidedBy, x.Comment, micros(x.CreatedAt), nullMicros(x.DecidedAt))
	return err
}

// GetRoleRequest reads a role request of an organisation.
func (q *Queries) GetRoleRequest(ctx context.Context, orgID, id string) (RoleRequest, error) {
	return scanRoleRequest(q.row(ctx, `SELECT `+roleReqCols+` FROM role_requests WHERE org_id = ? AND id = ?`, orgID, id))
}

// ListRoleRequests lists an organisation's role requests (of one status
// when status is set), newest first.
func (q *Queries) ListRoleRequests(ctx context.Context, orgID, status string) ([]RoleRequest, error) {
	query := `SELECT ` + roleReqCols + ` FROM role_requests WHERE org_id = ?`
	args := []any{orgID}
	if status != "" {
		query += ` AND status = ?`
		args = append(args, status)
	}
	return queryAll(ctx, q, scanRoleRequest, query+` ORDER BY created_at DESC, id`, args...)
}

// DecideRoleRequest approves or rejects a pending role request
// (ErrConflict when it is no longer pending).
func (q *Queries) DecideRoleRequest(ctx context.Context, orgID, id, status, by, comment string, at time.Time) error {
	res, err := q.exec(ctx, `UPDATE role_requests SET status = ?, decided_by = ?, comment = ?, decided_at = ? WHERE org_id = ? AND id = ? AND status = 'Pending'`,
		status, by, comment, micros(at), orgID, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	return nil
}
