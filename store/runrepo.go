package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/connectplus/connectplus/runstate"
)

// The Store is the runtime's repository.
var _ runstate.Repo = (*Store)(nil)

// Claim states.
const (
	claimClaimed  = "claimed"
	claimReleased = "released"
	claimDone     = "done"
)

// LiveDeployments lists the Live version of every active dataflow.
func (q *Queries) LiveDeployments(ctx context.Context) ([]runstate.Deployment, error) {
	rows, err := q.query(ctx, `SELECT d.org_id, d.id, d.name, v.id, v.number, v.document, d.status, o.time_zone, d.config_revision,
			CASE WHEN d.updated_at > v.updated_at THEN d.updated_at ELSE v.updated_at END
		FROM versions v JOIN dataflows d ON d.id = v.flow_id JOIN orgs o ON o.id = d.org_id
		WHERE v.state = 'Live' AND d.deactivated = 0
		ORDER BY d.org_id, d.name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []runstate.Deployment
	for rows.Next() {
		var d runstate.Deployment
		var doc string
		var at int64
		if err := rows.Scan(&d.OrgID, &d.FlowID, &d.FlowName, &d.VersionID, &d.Version, &doc, &d.Status, &d.TimeZone, &d.ConfigRevision, &at); err != nil {
			return nil, err
		}
		d.Document = []byte(doc)
		d.UpdatedAt = fromMicros(at)
		out = append(out, d)
	}
	return out, mapErr(rows.Err())
}

// ClaimItem claims an item for owner. A fresh item, a released one or one
// the same owner already holds is granted (with its saved checkpoint); a
// done item or one held by another owner is refused (ok=false).
func (s *Store) ClaimItem(ctx context.Context, flowKey, itemKey, owner string) (checkpoint []byte, ok bool, err error) {
	checkpoint, ok, err = s.claim(ctx, flowKey, itemKey, owner, `(state = 'released' OR (state = 'claimed' AND owner = ?))`, owner)
	if err != nil {
		return nil, false, fmt.Errorf("claim %s %s: %w", flowKey, itemKey, err)
	}
	return checkpoint, ok, nil
}

// claim gives owner a fresh item, or an item already claimed when its row
// also meets cond (with condArgs): ClaimItem and TakeOverItem differ only
// in whose claim may be taken. ok says whether owner holds the item now;
// checkpoint is the progress saved on it (nil for none).
func (s *Store) claim(ctx context.Context, flowKey, itemKey, owner, cond string, condArgs ...any) (checkpoint []byte, ok bool, err error) {
	err = s.Tx(ctx, func(q *Queries) error {
		now := micros(time.Now())
		res, err := q.exec(ctx, `INSERT INTO claims (flow_key, item_key, owner, state, updated_at) VALUES (?, ?, ?, 'claimed', ?)
			ON CONFLICT (flow_key, item_key) DO NOTHING`, flowKey, itemKey, owner, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			ok = true
			return nil
		}
		res, err = q.exec(ctx, `UPDATE claims SET owner = ?, state = 'claimed', updated_at = ?
			WHERE flow_key = ? AND item_key = ? AND `+cond, append([]any{owner, now, flowKey, itemKey}, condArgs...)...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		ok = true
		return mapErr(q.row(ctx, `SELECT checkpoint FROM claims WHERE flow_key = ? AND item_key = ?`, flowKey, itemKey).Scan(&checkpoint))
	})
	if err != nil {
		return nil, false, err
	}
	if len(checkpoint) == 0 {
		checkpoint = nil
	}
	return checkpoint, ok, nil
}

// SaveCheckpoint stores owner's progress on a claimed item; it fails with
// ErrConflict when owner no longer holds the claim.
func (q *Queries) SaveCheckpoint(ctx context.Context, flowKey, itemKey, owner string, checkpoint []byte) error {
	res, err := q.exec(ctx, `UPDATE claims SET checkpoint = ?, updated_at = ? WHERE flow_key = ? AND item_key = ? AND owner = ? AND state = 'claimed'`,
		checkpoint, micros(time.Now()), flowKey, itemKey, owner)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("save checkpoint %s %s: %w: not claimed by %s", flowKey, itemKey, ErrConflict, owner)
	}
	return nil
}

// CompleteItem marks an item done; it is never claimed again.
func (q *Queries) CompleteItem(ctx context.Context, flowKey, itemKey string) error {
	_, err := q.exec(ctx, `UPDATE claims SET state = 'done', checkpoint = NULL, updated_at = ? WHERE flow_key = ? AND item_key = ?`,
		micros(time.Now()), flowKey, itemKey)
	return err
}

// ReleaseItem makes an item claimable again, keeping its checkpoint (the
// runtime saves an empty checkpoint first when it wants a fresh start).
func (q *Queries) ReleaseItem(ctx context.Context, flowKey, itemKey string) error {
	_, err := q.exec(ctx, `UPDATE claims SET state = 'released', updated_at = ? WHERE flow_key = ? AND item_key = ? AND state = 'claimed'`,
		micros(time.Now()), flowKey, itemKey)
	return err
}

// ReleaseOwner releases every claim of a dead owner.
func (q *Queries) ReleaseOwner(ctx context.Context, owner string) error {
	_, err := q.exec(ctx, `UPDATE claims SET state = 'released', updated_at = ? WHERE owner = ? AND state = 'claimed'`, micros(time.Now()), owner)
	return err
}

// UpsertRun inserts or replaces a run. Secret values are redacted from its
// error and file path (a secret used as a host or directory ends up in both).
func (q *Queries) UpsertRun(ctx context.Context, r runstate.Run) error {
	q.redactRun(&r)
	codes := ""
	if len(r.StatusCodes) > 0 {
		b, err := json.Marshal(r.StatusCodes)
		if err != nil {
			return err
		}
		codes = string(b)
	}
	var finished any
	if r.Finished != nil {
		finished = micros(*r.Finished)
	}
	var stats any
	if len(r.BlockStats) > 0 {
		stats = r.BlockStats
	}
	_, err := q.exec(ctx, `INSERT INTO runs (id, org_id, flow_id, flow_name, version_id, version, source, file_name, file_path, file_size, status, error,
			started, finished, records_in, delivered, filtered, failed, retry_exhausted, avg_record_micros, interruptions, result_name, result_path, status_codes, block_stats, node)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET org_id = excluded.org_id, flow_id = excluded.flow_id, flow_name = excluded.flow_name,
			version_id = excluded.version_id, version = excluded.version, source = excluded.source, file_name = excluded.file_name,
			file_path = excluded.file_path, file_size = excluded.file_size, status = excluded.status, error = excluded.error,
			started = excluded.started, finished = excluded.finished, records_in = excluded.records_in, delivered = excluded.delivered,
			filtered = excluded.filtered, failed = excluded.failed, retry_exhausted = excluded.retry_exhausted,
			avg_record_micros = excluded.avg_record_micros, interruptions = excluded.interruptions, result_name = excluded.result_name,
			result_path = excluded.result_path, status_codes = excluded.status_codes, block_stats = excluded.block_stats, node = excluded.node`,
		r.ID, r.OrgID, r.FlowID, r.FlowName, r.VersionID, r.Version, r.Source, r.FileName, r.FilePath, r.FileSize, r.Status, r.Error,
		micros(r.Started), finished, r.RecordsIn, r.Delivered, r.Filtered, r.Failed, r.RetryExhausted, r.AvgRecordMicros, r.Interruptions,
		r.ResultName, r.ResultPath, codes, stats, r.Node)
	return err
}

const runCols = `id, org_id, flow_id, flow_name, version_id, version, source, file_name, file_path, file_size, status, error, started, finished,
	records_in, delivered, filtered, failed, retry_exhausted, avg_record_micros, interruptions, result_name, result_path, status_codes, block_stats, node`

func scanRun(r interface{ Scan(...any) error }) (runstate.Run, error) {
	var run runstate.Run
	var started int64
	var finished sql.NullInt64
	var codes string
	var stats []byte
	err := r.Scan(&run.ID, &run.OrgID, &run.FlowID, &run.FlowName, &run.VersionID, &run.Version, &run.Source, &run.FileName, &run.FilePath,
		&run.FileSize, &run.Status, &run.Error, &started, &finished, &run.RecordsIn, &run.Delivered, &run.Filtered, &run.Failed,
		&run.RetryExhausted, &run.AvgRecordMicros, &run.Interruptions, &run.ResultName, &run.ResultPath, &codes, &stats, &run.Node)
	if err != nil {
		return run, mapErr(err)
	}
	run.Started = fromMicros(started)
	run.Finished = ptrTime(finished)
	if codes != "" {
		if err := json.Unmarshal([]byte(codes), &run.StatusCodes); err != nil {
			return run, fmt.Errorf("run %s status codes: %w", run.ID, err)
		}
	}
	if len(stats) > 0 {
		run.BlockStats = stats
	}
	return run, nil
}

// redactRun removes registered secret values from the text a run carries.
// Reads redact too, for rows stored before the redactor knew a value.
func (q *Queries) redactRun(r *runstate.Run) {
	r.Error = q.redactor.String(r.Error)
	r.FilePath = q.redactor.String(r.FilePath)
}

// GetRun reads a run of an organisation.
func (q *Queries) GetRun(ctx context.Context, orgID, id string) (runstate.Run, error) {
	r, err := scanRun(q.row(ctx, `SELECT `+runCols+` FROM runs WHERE org_id = ? AND id = ?`, orgID, id))
	q.redactRun(&r)
	return r, err
}

// ListRuns lists runs, newest first.
func (q *Queries) ListRuns(ctx context.Context, f runstate.RunFilter) ([]runstate.Run, error) {
	query := `SELECT ` + runCols + ` FROM runs WHERE 1 = 1`
	var args []any
	for _, c := range []struct{ col, val string }{{"org_id", f.OrgID}, {"flow_id", f.FlowID}, {"status", f.Status}} {
		if c.val != "" {
			query += ` AND ` + c.col + ` = ?`
			args = append(args, c.val)
		}
	}
	if !f.Since.IsZero() {
		query += ` AND started >= ?`
		args = append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		query += ` AND started < ?`
		args = append(args, micros(f.Until))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	query += ` ORDER BY started DESC, id LIMIT ? OFFSET ?`
	args = append(args, limit, f.Offset)
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []runstate.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		q.redactRun(&r)
		out = append(out, r)
	}
	return out, mapErr(rows.Err())
}

// PurgeRuns deletes finished runs that started before the cut-off, and the
// reconciliations of that time.
func (q *Queries) PurgeRuns(ctx context.Context, before time.Time) (int, error) {
	if err := q.purgeReconciliations(ctx, before); err != nil {
		return 0, fmt.Errorf("store: purge reconciliations: %w", err)
	}
	res, err := q.exec(ctx, `DELETE FROM runs WHERE started < ? AND status <> ?`, micros(before), runstate.RunRunning)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
