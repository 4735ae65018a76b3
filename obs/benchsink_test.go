package obs

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/connectplus/connectplus/store"
)

// benchTables are the three metric tables seedBench writes, in the order
// of its table numbers, with their columns.
var benchTables = func() [3]struct {
	name string
	cols []string
} {
	var h []string
	for i := 0; i < store.LatencyBuckets; i++ {
		h = append(h, fmt.Sprintf("h%02d", i))
	}
	counts := strings.Split("org_id, flow_id, block, res, at, units_in, units_out, records_in, records_out, filtered, failed, warnings, retry_exhausted, bytes, files, files_failed, files_partial, busy_us", ", ")
	httpc := append(strings.Split("org_id, flow_id, block, endpoint, res, at, calls, s2xx, s3xx, s4xx, s5xx, no_answer, attempts, exhausted, latency_us", ", "), h...)
	errs := strings.Split("org_id, flow_id, block, code, message, res, at, count", ", ")
	return [3]struct {
		name string
		cols []string
	}{{"obs_counts", counts}, {"obs_http", httpc}, {"obs_errors", errs}}
}()

// sink receives seedBench's rows: table k (0 counts, 1 http, 2 errors).
type sink interface {
	add(k int, args ...any)
	flush()
}

// sqliteSink inserts through prepared statements, committing every 200k
// rows.
type sqliteSink struct {
	b     *testing.B
	db    *sql.DB
	tx    *sql.Tx
	stmts [3]*sql.Stmt
	n     int
}

func newSQLiteSink(b *testing.B, db *sql.DB) *sqliteSink {
	s := &sqliteSink{b: b, db: db}
	s.begin()
	return s
}

func (s *sqliteSink) begin() {
	var err error
	ctx := context.Background()
	if s.tx, err = s.db.BeginTx(ctx, nil); err != nil {
		s.b.Fatal(err)
	}
	for i, t := range benchTables {
		q := "INSERT INTO " + t.name + " (" + strings.Join(t.cols, ", ") + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", len(t.cols)), ", ") + ")"
		if s.stmts[i], err = s.tx.PrepareContext(ctx, q); err != nil {
			s.b.Fatal(err)
		}
	}
}

func (s *sqliteSink) add(k int, args ...any) {
	if _, err := s.stmts[k].Exec(args...); err != nil {
		s.b.Fatal(err)
	}
	if s.n++; s.n%200000 == 0 {
		s.flush()
		s.begin()
	}
}

func (s *sqliteSink) flush() {
	if err := s.tx.Commit(); err != nil {
		s.b.Fatal(err)
	}
}

// pgSink copies rows in batches of 50k per table (COPY FROM STDIN):
// row-by-row inserts of 5 million rows over TCP would take most of an hour
// for the same final tables.
type pgSink struct {
	b    *testing.B
	conn *pgx.Conn
	buf  [3][][]any
}

func (s *pgSink) add(k int, args ...any) {
	s.buf[k] = append(s.buf[k], args)
	if len(s.buf[k]) >= 50000 {
		s.copy(k)
	}
}

func (s *pgSink) copy(k int) {
	if len(s.buf[k]) == 0 {
		return
	}
	t := benchTables[k]
	if _, err := s.conn.CopyFrom(context.Background(), pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(s.buf[k])); err != nil {
		s.b.Fatalf("copy into %s: %v", t.name, err)
	}
	s.buf[k] = s.buf[k][:0]
}

func (s *pgSink) flush() {
	for k := range s.buf {
		s.copy(k)
	}
}
