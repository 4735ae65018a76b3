package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/connectplus/connectplus/runstate"
)

// recordsPerInsert is how many records one INSERT carries: a reconciliation
// of a large file can keep a million of them, one statement each would
// take minutes. The full-size INSERT is prepared once per save (parsing a
// 1,000-placeholder statement again for every batch cost a fifth of the
// time on SQLite).
const recordsPerInsert = 200

type reconDetail struct {
	DiffPath   string   `json:"diffPath,omitempty"`
	MatchedOn  []string `json:"matchedOn"`
	Compared   []string `json:"compared"`
	Unverified []string `json:"unverified,omitempty"`
	FromYear   int      `json:"fromYear,omitempty"`
}

const reconCols = `id, org_id, flow_id, flow_name, version, run_id, block, file_name, source, entity, diff_path, started, finished,
	rows_total, expected, present, missing, mismatched, duplicates, before_year, invalid, lookup_requests, resumed_rows, records,
	detail, result_name, result_path, status`

// SaveReconciliation stores a reconciliation and its records, replacing
// what was kept under its ID (a resumed run reports again), in one
// transaction. records yields the records in file order.
func (s *Store) SaveReconciliation(ctx context.Context, r runstate.Reconciliation, records func(yield func(runstate.ReconRecord) error) error) error {
	return s.Tx(ctx, func(q *Queries) error { return q.saveReconciliation(ctx, r, records) })
}

func (q *Queries) saveReconciliation(ctx context.Context, r runstate.Reconciliation, records func(yield func(runstate.ReconRecord) error) error) error {
	r.DiffPath = q.redactor.String(r.DiffPath)
	if _, err := q.exec(ctx, `DELETE FROM reconciliation_records WHERE recon_id = ?`, r.ID); err != nil {
		return fmt.Errorf("store: reconciliation %s: %w", r.ID, err)
	}
	if _, err := q.exec(ctx, `DELETE FROM reconciliations WHERE id = ?`, r.ID); err != nil {
		return fmt.Errorf("store: reconciliation %s: %w", r.ID, err)
	}
	var n int64
	if records != nil {
		ins, err := q.newRecordInserter(ctx, r.ID, 0)
		if err != nil {
			return err
		}
		defer ins.close()
		if err := records(ins.add); err != nil {
			return err
		}
		if err := ins.flush(); err != nil {
			return err
		}
		n = ins.seq
	}
	r.Records = n
	detail, err := json.Marshal(reconDetail{DiffPath: r.DiffPath, MatchedOn: r.MatchedOn, Compared: r.Compared, Unverified: r.Unverified, FromYear: r.FromYear})
	if err != nil {
		return err
	}
	t := r.Totals
	status := r.Status
	if status == "" {
		status = runstate.ReconFinished
	}
	_, err = q.exec(ctx, `INSERT INTO reconciliations (`+reconCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.OrgID, r.FlowID, r.FlowName, r.Version, r.RunID, r.Block, r.File, r.Source, r.Entity, r.DiffPath, micros(r.Started), micros(r.Finished),
		t.Rows, t.Expected, t.Present, t.Missing, t.Mismatched, t.Duplicates, t.BeforeYear, t.Invalid, r.LookupRequests, r.ResumedRows, r.Records,
		string(detail), r.ResultName, r.ResultPath, status)
	if err != nil {
		return fmt.Errorf("store: reconciliation %s: %w", r.ID, err)
	}
	return nil
}

// recordInserter inserts a reconciliation's records recordsPerInsert a
// statement, the full-size statement prepared once.
type recordInserter struct {
	q     *Queries
	ctx   context.Context
	id    string
	seq   int64 // the last record's seq
	batch []any
	full  *sql.Stmt
}

func recordsInsert(rows int) string {
	return `INSERT INTO reconciliation_records (recon_id, seq, line, kind, doc) VALUES ` + strings.TrimSuffix(strings.Repeat(`(?, ?, ?, ?, ?), `, rows), ", ")
}

func (q *Queries) newRecordInserter(ctx context.Context, id string, seq int64) (*recordInserter, error) {
	ins := &recordInserter{q: q, ctx: ctx, id: id, seq: seq, batch: make([]any, 0, recordsPerInsert*5)}
	if p, ok := q.q.(preparer); ok {
		st, err := p.PrepareContext(ctx, q.rebind(recordsInsert(recordsPerInsert)))
		if err != nil {
			return nil, fmt.Errorf("store: reconciliation %s records: %w", id, mapErr(err))
		}
		ins.full = st
	}
	return ins, nil
}

func (ins *recordInserter) add(rec runstate.ReconRecord) error {
	doc, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	ins.seq++
	ins.batch = append(ins.batch, ins.id, ins.seq, rec.Line, rec.Kind, string(doc))
	if len(ins.batch) >= recordsPerInsert*5 {
		return ins.flush()
	}
	return nil
}

func (ins *recordInserter) flush() error {
	if len(ins.batch) == 0 {
		return nil
	}
	rows := len(ins.batch) / 5
	var err error
	if ins.full != nil && rows == recordsPerInsert {
		_, err = ins.full.ExecContext(ins.ctx, ins.batch...)
		err = mapErr(err)
	} else {
		_, err = ins.q.exec(ins.ctx, recordsInsert(rows), ins.batch...)
	}
	if err != nil {
		return fmt.Errorf("store: reconciliation %s records: %w", ins.id, err)
	}
	ins.batch = ins.batch[:0]
	return nil
}

func (ins *recordInserter) close() {
	if ins.full != nil {
		ins.full.Close()
	}
}

// recordsPerTx is how many records one transaction of
// SaveReconciliationChunked stores: SQLite has one writer, and a
// million-record transaction would hold it for ~20 s, past the other
// writers' busy timeout (15 s).
const recordsPerTx = 20000

// SaveReconciliationChunked stores a reconciliation like
// SaveReconciliation, but its records in transactions of recordsPerTx
// (on PostgreSQL one COPY each):
// the reconciliation is visible at once with r.Status (saving) and its
// records as they are stored; the last transaction sets the record count
// and status finished. Interrupted, it is started over (the first
// transaction replaces what was kept).
func (s *Store) SaveReconciliationChunked(ctx context.Context, r runstate.Reconciliation, records func(yield func(runstate.ReconRecord) error) error) error {
	saving := r
	saving.Status = runstate.ReconSaving
	if err := s.SaveReconciliation(ctx, saving, nil); err != nil {
		return err
	}
	var seq int64
	var chunk []runstate.ReconRecord
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if s.dialect == Postgres {
			err := s.copyRecords(ctx, r.ID, seq, chunk)
			seq += int64(len(chunk))
			chunk = chunk[:0]
			return err
		}
		err := s.Tx(ctx, func(q *Queries) error {
			ins, err := q.newRecordInserter(ctx, r.ID, seq)
			if err != nil {
				return err
			}
			defer ins.close()
			for _, rec := range chunk {
				if err := ins.add(rec); err != nil {
					return err
				}
			}
			if err := ins.flush(); err != nil {
				return err
			}
			seq = ins.seq
			return nil
		})
		chunk = chunk[:0]
		return err
	}
	if records != nil {
		err := records(func(rec runstate.ReconRecord) error {
			if chunk = append(chunk, rec); len(chunk) >= recordsPerTx {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := flush(); err != nil {
		return err
	}
	status := r.Status
	if status == "" || status == runstate.ReconSaving {
		status = runstate.ReconFinished
	}
	if _, err := s.exec(ctx, `UPDATE reconciliations SET records = ?, status = ? WHERE id = ?`, seq, status, r.ID); err != nil {
		return fmt.Errorf("store: reconciliation %s: %w", r.ID, err)
	}
	return nil
}

// copyRecords stores records with PostgreSQL's COPY (one statement, so
// atomic by itself), seq continuing after from.
func (s *Store) copyRecords(ctx context.Context, id string, from int64, recs []runstate.ReconRecord) error {
	rows := make([][]any, len(recs))
	for i, rec := range recs {
		doc, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		rows[i] = []any{id, from + int64(i) + 1, rec.Line, rec.Kind, string(doc)}
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: reconciliation %s records: %w", id, err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("not a pgx connection (%T)", dc)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{"reconciliation_records"}, []string{"recon_id", "seq", "line", "kind", "doc"}, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: reconciliation %s records (COPY): %w", id, mapErr(err))
	}
	return nil
}

// preparer is the part of *sql.Tx and *sql.DB saveReconciliation uses to
// prepare its batch INSERT once.
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// SetReconciliationStatus changes a kept reconciliation's status (saving,
// finished, failed) without touching its records.
func (s *Store) SetReconciliationStatus(ctx context.Context, id, status string) error {
	res, err := s.exec(ctx, `UPDATE reconciliations SET status = ? WHERE id = ?`, status, id)
	if err != nil {
		return fmt.Errorf("store: reconciliation %s status: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func scanRecon(row interface{ Scan(...any) error }) (runstate.Reconciliation, error) {
	var r runstate.Reconciliation
	var started, finished int64
	var detail string
	t := &r.Totals
	err := row.Scan(&r.ID, &r.OrgID, &r.FlowID, &r.FlowName, &r.Version, &r.RunID, &r.Block, &r.File, &r.Source, &r.Entity, &r.DiffPath, &started, &finished,
		&t.Rows, &t.Expected, &t.Present, &t.Missing, &t.Mismatched, &t.Duplicates, &t.BeforeYear, &t.Invalid, &r.LookupRequests, &r.ResumedRows, &r.Records,
		&detail, &r.ResultName, &r.ResultPath, &r.Status)
	if err != nil {
		return r, mapErr(err)
	}
	r.Started, r.Finished = fromMicros(started), fromMicros(finished)
	var d reconDetail
	if err := json.Unmarshal([]byte(detail), &d); err != nil {
		return r, fmt.Errorf("store: reconciliation %s detail: %w", r.ID, err)
	}
	r.MatchedOn, r.Compared, r.Unverified, r.FromYear = d.MatchedOn, d.Compared, d.Unverified, d.FromYear
	return r, nil
}

// GetReconciliation reads a reconciliation of an organisation.
func (q *Queries) GetReconciliation(ctx context.Context, orgID, id string) (runstate.Reconciliation, error) {
	r, err := scanRecon(q.row(ctx, `SELECT `+reconCols+` FROM reconciliations WHERE org_id = ? AND id = ?`, orgID, id))
	r.DiffPath = q.redactor.String(r.DiffPath)
	return r, err
}

// ListReconciliations lists an organisation's reconciliations, newest
// first; flowID "" lists every dataflow's, runID "" every run's.
func (q *Queries) ListReconciliations(ctx context.Context, orgID, flowID, runID string, limit, offset int) ([]runstate.Reconciliation, error) {
	if limit <= 0 {
		limit = 100
	}
	query := `SELECT ` + reconCols + ` FROM reconciliations WHERE org_id = ?`
	args := []any{orgID}
	if flowID != "" {
		query += ` AND flow_id = ?`
		args = append(args, flowID)
	}
	if runID != "" {
		query += ` AND run_id = ?`
		args = append(args, runID)
	}
	query += ` ORDER BY finished DESC, id LIMIT ? OFFSET ?`
	args = append(args, limit, offset)
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []runstate.Reconciliation{}
	for rows.Next() {
		r, err := scanRecon(rows)
		if err != nil {
			return nil, err
		}
		r.DiffPath = q.redactor.String(r.DiffPath)
		out = append(out, r)
	}
	return out, mapErr(rows.Err())
}

// ListReconRecords pages the records of one reconciliation of the
// organisation, in file order, optionally of one kind. A reconciliation
// of another organisation is ErrNotFound.
func (q *Queries) ListReconRecords(ctx context.Context, f runstate.ReconFilter) ([]runstate.ReconRecord, error) {
	var n int
	if err := q.row(ctx, `SELECT COUNT(*) FROM reconciliations WHERE org_id = ? AND id = ?`, f.OrgID, f.ID).Scan(&n); err != nil {
		return nil, mapErr(err)
	}
	if n == 0 {
		return nil, ErrNotFound
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	query := `SELECT doc FROM reconciliation_records WHERE recon_id = ?`
	args := []any{f.ID}
	if f.Kind != "" {
		query += ` AND kind = ?`
		args = append(args, f.Kind)
	}
	query += ` ORDER BY seq LIMIT ? OFFSET ?`
	args = append(args, limit, f.Offset)
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []runstate.ReconRecord{}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, mapErr(err)
		}
		var rec runstate.ReconRecord
		if err := json.Unmarshal([]byte(doc), &rec); err != nil {
			return nil, fmt.Errorf("store: reconciliation %s record: %w", f.ID, err)
		}
		out = append(out, rec)
	}
	return out, mapErr(rows.Err())
}

// purgeReconciliations deletes reconciliations (and their records) that
// started before the cut-off, with the runs they belong to.
func (q *Queries) purgeReconciliations(ctx context.Context, before time.Time) error {
	if _, err := q.exec(ctx, `DELETE FROM reconciliation_records WHERE recon_id IN (SELECT id FROM reconciliations WHERE started < ?)`, micros(before)); err != nil {
		return err
	}
	_, err := q.exec(ctx, `DELETE FROM reconciliations WHERE started < ?`, micros(before))
	return err
}
