package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Version states (Connect+ §5.1).
const (
	StateDraft    = "Draft"
	StateAwaiting = "Awaiting Approval"
	StateRejected = "Rejected"
	StateApproved = "Approved"
	StateLive     = "Live"
)

// Dataflow is the unit of work; its content lives in versions.
type Dataflow struct {
	ID             string    `json:"id"`
	OrgID          string    `json:"orgId"`
	Name           string    `json:"name"`
	Description    string    `json:"description"`
	Tags           []string  `json:"tags"`
	Status         string    `json:"status"`
	Deactivated    bool      `json:"deactivated"`
	ConfigRevision int64     `json:"configRevision"`
	Revision       int64     `json:"revision"`
	CreatedBy      string    `json:"createdBy"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
	// LiveVersion is the number of the Live version (0: none).
	LiveVersion int `json:"liveVersion"`
	// LatestVersion is the highest version number.
	LatestVersion int `json:"latestVersion"`
	// LatestState is the state of the highest version ("" without any).
	LatestState string `json:"latestState"`
	// LastRun is the most recently started run; filled in by
	// ListDataflows only (nil there: never run), so that a list page needs
	// no query per row.
	LastRun *LastRun `json:"lastRun,omitempty"`
}

// LastRun is the gist of a dataflow's latest run, for list columns.
type LastRun struct {
	ID       string     `json:"id"`
	Status   string     `json:"status"`
	Started  time.Time  `json:"started"`
	Finished *time.Time `json:"finished,omitempty"`
}

// Version is one snapshot of a dataflow's document.
type Version struct {
	ID          string     `json:"id"`
	FlowID      string     `json:"flowId"`
	OrgID       string     `json:"orgId"`
	Number      int        `json:"number"`
	State       string     `json:"state"`
	Document    string     `json:"document,omitempty"`
	CreatedBy   string     `json:"createdBy"`
	UpdatedBy   string     `json:"updatedBy,omitempty"`
	SubmittedBy string     `json:"submittedBy,omitempty"`
	ApprovedBy  string     `json:"approvedBy,omitempty"`
	RejectedBy  string     `json:"rejectedBy,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	Comment     string     `json:"comment,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	SubmittedAt *time.Time `json:"submittedAt,omitempty"`
	DecidedAt   *time.Time `json:"decidedAt,omitempty"`
	LiveAt      *time.Time `json:"liveAt,omitempty"`
	Revision    int64      `json:"revision"`
	// Authors are the users who saved any revision of the version (filled
	// in by single-version reads): none of them may approve it.
	Authors []string `json:"authors,omitempty"`
}

// FlowFilter selects dataflows of one organisation.
type FlowFilter struct {
	OrgID  string
	Status string
	Tag    string
	// Name matches case-insensitively as a substring.
	Name string
	// Deactivated: nil lists all, else only (in)active dataflows.
	Deactivated *bool
	// Sort is the order of the list (FlowSort*; "" is by name); Desc
	// reverses it. The order is applied before Limit and Offset, so pages
	// follow one another in it.
	Sort   string
	Desc   bool
	Limit  int
	Offset int
}

// Orders of a dataflow list.
const (
	FlowSortName    = "name"
	FlowSortStatus  = "status"
	FlowSortLastRun = "lastRun"
	FlowSortUpdated = "updated"
)

// FlowSorts are the valid FlowFilter.Sort values.
var FlowSorts = []string{FlowSortName, FlowSortStatus, FlowSortLastRun, FlowSortUpdated}

// flowOrder is the ORDER BY expression of each sort; ties fall back to the
// name and then the id, so the order is total and pagination stable.
// Never-run dataflows sort as the oldest (0), the same on both dialects
// (SQLite puts NULLs first, PostgreSQL last).
var flowOrder = map[string]string{
	FlowSortName:    `d.name`,
	FlowSortStatus:  `d.status`,
	FlowSortLastRun: `COALESCE((SELECT MAX(r.started) FROM runs r WHERE r.org_id = d.org_id AND r.flow_id = d.id), 0)`,
	FlowSortUpdated: `d.updated_at`,
}

// ErrBadSort reports an unknown FlowFilter.Sort.
var ErrBadSort = errors.New("store: unknown dataflow sort")

// CreateDataflow inserts a dataflow with its tags.
func (q *Queries) CreateDataflow(ctx context.Context, f Dataflow) error {
	_, err := q.exec(ctx, `INSERT INTO dataflows (id, org_id, name, description, status, deactivated, config_revision, revision, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.OrgID, f.Name, f.Description, f.Status, boolInt(f.Deactivated), f.ConfigRevision, 1, f.CreatedBy, micros(f.CreatedAt), micros(f.UpdatedAt))
	if err != nil {
		return err
	}
	return q.setTags(ctx, f.ID, f.Tags)
}

func (q *Queries) setTags(ctx context.Context, flowID string, tags []string) error {
	if _, err := q.exec(ctx, `DELETE FROM dataflow_tags WHERE flow_id = ?`, flowID); err != nil {
		return err
	}
	for _, t := range tags {
		if _, err := q.exec(ctx, `INSERT INTO dataflow_tags (flow_id, tag) VALUES (?, ?)`, flowID, t); err != nil {
			return err
		}
	}
	return nil
}

const flowCols = `d.id, d.org_id, d.name, d.description, d.status, d.deactivated, d.config_revision, d.revision, d.created_by, d.created_at, d.updated_at,
	COALESCE((SELECT MAX(v.number) FROM versions v WHERE v.flow_id = d.id AND v.state = 'Live'), 0),
	COALESCE((SELECT MAX(v.number) FROM versions v WHERE v.flow_id = d.id), 0),
	COALESCE((SELECT v.state FROM versions v WHERE v.flow_id = d.id ORDER BY v.number DESC LIMIT 1), '')`

func scanFlow(r interface{ Scan(...any) error }) (Dataflow, error) {
	var f Dataflow
	var deact int
	var ca, ua int64
	err := r.Scan(&f.ID, &f.OrgID, &f.Name, &f.Description, &f.Status, &deact, &f.ConfigRevision, &f.Revision, &f.CreatedBy, &ca, &ua, &f.LiveVersion, &f.LatestVersion, &f.LatestState)
	f.Deactivated = deact != 0
	f.CreatedAt, f.UpdatedAt = fromMicros(ca), fromMicros(ua)
	return f, mapErr(err)
}

func (q *Queries) loadTags(ctx context.Context, flows []Dataflow) error {
	if len(flows) == 0 {
		return nil
	}
	idx := map[string]int{}
	ph := make([]string, len(flows))
	args := make([]any, len(flows))
	for i := range flows {
		idx[flows[i].ID] = i
		ph[i] = "?"
		args[i] = flows[i].ID
		flows[i].Tags = []string{}
	}
	rows, err := q.query(ctx, `SELECT flow_id, tag FROM dataflow_tags WHERE flow_id IN (`+strings.Join(ph, ",")+`)`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, tag string
		if err := rows.Scan(&id, &tag); err != nil {
			return err
		}
		flows[idx[id]].Tags = append(flows[idx[id]].Tags, tag)
	}
	for i := range flows {
		sort.Strings(flows[i].Tags)
	}
	return mapErr(rows.Err())
}

// GetDataflow reads a dataflow of an organisation.
func (q *Queries) GetDataflow(ctx context.Context, orgID, id string) (Dataflow, error) {
	f, err := scanFlow(q.row(ctx, `SELECT `+flowCols+` FROM dataflows d WHERE d.org_id = ? AND d.id = ?`, orgID, id))
	if err != nil {
		return f, err
	}
	fs := []Dataflow{f}
	err = q.loadTags(ctx, fs)
	return fs[0], err
}

// GetDataflowByName reads a dataflow by its (exact) name.
func (q *Queries) GetDataflowByName(ctx context.Context, orgID, name string) (Dataflow, error) {
	f, err := scanFlow(q.row(ctx, `SELECT `+flowCols+` FROM dataflows d WHERE d.org_id = ? AND d.name = ?`, orgID, name))
	if err != nil {
		return f, err
	}
	fs := []Dataflow{f}
	err = q.loadTags(ctx, fs)
	return fs[0], err
}

// ListDataflows lists an organisation's dataflows in f's order (by name
// by default), each with its last run. It returns one page and whether more
// follow.
func (q *Queries) ListDataflows(ctx context.Context, f FlowFilter) ([]Dataflow, bool, error) {
	key := f.Sort
	if key == "" {
		key = FlowSortName
	}
	order, ok := flowOrder[key]
	if !ok {
		return nil, false, fmt.Errorf("%w %q (want one of %s)", ErrBadSort, f.Sort, strings.Join(FlowSorts, ", "))
	}
	dir := " ASC"
	if f.Desc {
		dir = " DESC"
	}
	query := `SELECT ` + flowCols + ` FROM dataflows d WHERE d.org_id = ?`
	args := []any{f.OrgID}
	if f.Status != "" {
		query += ` AND d.status = ?`
		args = append(args, f.Status)
	}
	if f.Deactivated != nil {
		query += ` AND d.deactivated = ?`
		args = append(args, boolInt(*f.Deactivated))
	}
	if f.Name != "" {
		query += ` AND LOWER(d.name) LIKE ? ESCAPE '\'`
		args = append(args, "%"+escapeLike(strings.ToLower(f.Name))+"%")
	}
	if f.Tag != "" {
		query += ` AND EXISTS (SELECT 1 FROM dataflow_tags t WHERE t.flow_id = d.id AND t.tag = ?)`
		args = append(args, f.Tag)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	if key == FlowSortName {
		query += ` ORDER BY d.name` + dir + `, d.id` + dir
	} else {
		query += ` ORDER BY ` + order + dir + `, d.name, d.id`
	}
	query += ` LIMIT ? OFFSET ?`
	args = append(args, limit+1, f.Offset)
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, false, err
	}
	var out []Dataflow
	for rows.Next() {
		fl, err := scanFlow(rows)
		if err != nil {
			rows.Close()
			return nil, false, err
		}
		out = append(out, fl)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, false, mapErr(err)
	}
	rows.Close()
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	if err := q.loadTags(ctx, out); err != nil {
		return nil, false, err
	}
	if err := q.loadLastRuns(ctx, f.OrgID, out); err != nil {
		return nil, false, err
	}
	return out, more, nil
}

// loadLastRuns fills in each dataflow's latest run with one query for the
// page (the runs_flow index answers each MAX).
func (q *Queries) loadLastRuns(ctx context.Context, orgID string, flows []Dataflow) error {
	if len(flows) == 0 {
		return nil
	}
	idx := map[string]int{}
	args := []any{orgID}
	for i := range flows {
		idx[flows[i].ID] = i
		args = append(args, flows[i].ID)
	}
	rows, err := q.query(ctx, `SELECT r.flow_id, r.id, r.status, r.started, r.finished FROM runs r
		WHERE r.org_id = ? AND r.flow_id IN (`+placeholders(len(flows))+`)
		AND r.started = (SELECT MAX(x.started) FROM runs x WHERE x.org_id = r.org_id AND x.flow_id = r.flow_id)`, args...)
	if err != nil {
		return fmt.Errorf("store: last runs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var flowID string
		var lr LastRun
		var started int64
		var finished sql.NullInt64
		if err := rows.Scan(&flowID, &lr.ID, &lr.Status, &started, &finished); err != nil {
			return fmt.Errorf("store: last runs: %w", err)
		}
		lr.Started, lr.Finished = fromMicros(started), ptrTime(finished)
		f := &flows[idx[flowID]]
		// Two runs started in the same microsecond: the greater id, so the
		// answer does not depend on the row order.
		if f.LastRun == nil || lr.ID > f.LastRun.ID {
			f.LastRun = &lr
		}
	}
	return mapErr(rows.Err())
}

// UpdateDataflow saves name, description, tags and deactivated when the
// stored revision still equals f.Revision (optimistic concurrency); it
// returns ErrConflict otherwise.
func (q *Queries) UpdateDataflow(ctx context.Context, f Dataflow) error {
	res, err := q.exec(ctx, `UPDATE dataflows SET name = ?, description = ?, deactivated = ?, updated_at = ?, revision = revision + 1
		WHERE org_id = ? AND id = ? AND revision = ?`,
		f.Name, f.Description, boolInt(f.Deactivated), micros(f.UpdatedAt), f.OrgID, f.ID, f.Revision)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := q.GetDataflow(ctx, f.OrgID, f.ID); err != nil {
			return err
		}
		return ErrConflict
	}
	return q.setTags(ctx, f.ID, f.Tags)
}

// SetFlowStatus records Active/Paused/Stopped (runstate.Repo).
func (q *Queries) SetFlowStatus(ctx context.Context, orgID, flowID, status string) error {
	res, err := q.exec(ctx, `UPDATE dataflows SET status = ?, updated_at = ? WHERE org_id = ? AND id = ?`, status, micros(time.Now()), orgID, flowID)
	if err != nil {
		return err
	}
	return affected(res)
}

// BumpConfigRevision increments a dataflow's configuration revision (Sync)
// and returns the new value.
func (q *Queries) BumpConfigRevision(ctx context.Context, orgID, flowID string, at time.Time) (int64, error) {
	res, err := q.exec(ctx, `UPDATE dataflows SET config_revision = config_revision + 1, updated_at = ? WHERE org_id = ? AND id = ?`, micros(at), orgID, flowID)
	if err != nil {
		return 0, err
	}
	if err := affected(res); err != nil {
		return 0, err
	}
	var rev int64
	err = q.row(ctx, `SELECT config_revision FROM dataflows WHERE org_id = ? AND id = ?`, orgID, flowID).Scan(&rev)
	return rev, mapErr(err)
}

const versionCols = `id, flow_id, org_id, number, state, document, created_by, updated_by, submitted_by, approved_by, rejected_by, reason, comment,
	created_at, updated_at, submitted_at, decided_at, live_at, revision`

const versionColsNoDoc = `id, flow_id, org_id, number, state, '', created_by, updated_by, submitted_by, approved_by, rejected_by, reason, comment,
	created_at, updated_at, submitted_at, decided_at, live_at, revision`

func scanVersion(r interface{ Scan(...any) error }) (Version, error) {
	var v Version
	var ca, ua int64
	var sa, da, la sql.NullInt64
	err := r.Scan(&v.ID, &v.FlowID, &v.OrgID, &v.Number, &v.State, &v.Document, &v.CreatedBy, &v.UpdatedBy, &v.SubmittedBy, &v.ApprovedBy,
		&v.RejectedBy, &v.Reason, &v.Comment, &ca, &ua, &sa, &da, &la, &v.Revision)
	v.CreatedAt, v.UpdatedAt = fromMicros(ca), fromMicros(ua)
	v.SubmittedAt, v.DecidedAt, v.LiveAt = ptrTime(sa), ptrTime(da), ptrTime(la)
	return v, mapErr(err)
}

// CreateVersion inserts a version. A second Draft or Live version of the
// same dataflow fails with ErrDuplicate (unique partial indexes).
func (q *Queries) CreateVersion(ctx context.Context, v Version) error {
	_, err := q.exec(ctx, `INSERT INTO versions (id, flow_id, org_id, number, state, document, created_by, updated_by, created_at, updated_at, revision)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		v.ID, v.FlowID, v.OrgID, v.Number, v.State, v.Document, v.CreatedBy, v.CreatedBy, micros(v.CreatedAt), micros(v.UpdatedAt))
	return err
}

// GetVersion reads a version by dataflow and number.
func (q *Queries) GetVersion(ctx context.Context, orgID, flowID string, number int) (Version, error) {
	return scanVersion(q.row(ctx, `SELECT `+versionCols+` FROM versions WHERE org_id = ? AND flow_id = ? AND number = ?`, orgID, flowID, number))
}

// VersionInState returns the version of a dataflow in state (Draft, Live),
// of which there is at most one.
func (q *Queries) VersionInState(ctx context.Context, orgID, flowID, state string) (Version, error) {
	return scanVersion(q.row(ctx, `SELECT `+versionCols+` FROM versions WHERE org_id = ? AND flow_id = ? AND state = ? ORDER BY number DESC LIMIT 1`, orgID, flowID, state))
}

// ListVersions lists a dataflow's versions, newest first, without documents.
func (q *Queries) ListVersions(ctx context.Context, orgID, flowID string) ([]Version, error) {
	return queryAll(ctx, q, scanVersion, `SELECT `+versionColsNoDoc+` FROM versions WHERE org_id = ? AND flow_id = ? ORDER BY number DESC`, orgID, flowID)
}

// MaxVersion returns the highest version number of a dataflow (0: none).
func (q *Queries) MaxVersion(ctx context.Context, flowID string) (int, error) {
	var n int
	err := q.row(ctx, `SELECT COALESCE(MAX(number), 0) FROM versions WHERE flow_id = ?`, flowID).Scan(&n)
	return n, mapErr(err)
}

// CountOpenVersions counts Draft, Awaiting Approval and Rejected versions:
// work in progress that blocks creating another Draft.
func (q *Queries) CountOpenVersions(ctx context.Context, flowID string) (int, error) {
	var n int
	err := q.row(ctx, `SELECT COUNT(*) FROM versions WHERE flow_id = ? AND state IN ('Draft', 'Awaiting Approval', 'Rejected')`, flowID).Scan(&n)
	return n, mapErr(err)
}

// UpdateVersion writes every mutable column of v when the stored revision
// and state still equal v.Revision and fromState (optimistic concurrency: a
// concurrent change makes it fail with ErrConflict). It increments the
// revision in v on success.
func (q *Queries) UpdateVersion(ctx context.Context, v *Version, fromState string) error {
	res, err := q.exec(ctx, `UPDATE versions SET state = ?, document = ?, updated_by = ?, submitted_by = ?, approved_by = ?, rejected_by = ?,
		reason = ?, comment = ?, updated_at = ?, submitted_at = ?, decided_at = ?, live_at = ?, revision = revision + 1
		WHERE id = ? AND org_id = ? AND revision = ? AND state = ?`,
		v.State, v.Document, v.UpdatedBy, v.SubmittedBy, v.ApprovedBy, v.RejectedBy, v.Reason, v.Comment, micros(v.UpdatedAt),
		nullMicros(v.SubmittedAt), nullMicros(v.DecidedAt), nullMicros(v.LiveAt), v.ID, v.OrgID, v.Revision, fromState)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrConflict
	}
	v.Revision++
	return nil
}

// FlowsReferencing lists the ids of an organisation's dataflows whose Live
// document mentions text (a cheap pre-filter; callers confirm by parsing).
func (q *Queries) FlowsReferencing(ctx context.Context, orgID, text string) ([]string, error) {
	rows, err := q.query(ctx, `SELECT DISTINCT flow_id FROM versions WHERE org_id = ? AND state = 'Live' AND document LIKE ? ESCAPE '\' ORDER BY flow_id`,
		orgID, "%"+escapeLike(text)+"%")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, mapErr(rows.Err())
}

// AddVersionAuthor records that username saved a revision of a version
// (maker-checker: authors never approve it). Recording twice is a no-op.
func (q *Queries) AddVersionAuthor(ctx context.Context, versionID, username string) error {
	_, err := q.exec(ctx, `INSERT INTO version_authors (version_id, username) VALUES (?, ?) ON CONFLICT (version_id, username) DO NOTHING`,
		versionID, username)
	return err
}

// VersionAuthors lists the usernames that saved a revision of a version,
// sorted.
func (q *Queries) VersionAuthors(ctx context.Context, versionID string) ([]string, error) {
	rows, err := q.query(ctx, `SELECT username FROM version_authors WHERE version_id = ? ORDER BY username`, versionID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, mapErr(rows.Err())
}
