// Package store persists the control plane — organisations, users, sessions,
// API tokens, dataflows and their versions, Extension Configurations, the
// audit log — and the runtime's claims, checkpoints and runs, in SQLite
// (modernc.org/sqlite, pure Go) or PostgreSQL (pgx). One set of embedded SQL
// migrations serves both dialects. Every query is parameterised.
//
// The store holds no business rules beyond the invariants the database can
// guarantee itself (one Live and one Draft version per dataflow, unique
// names); the lifecycle lives in package control.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"

	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/secrets"
	"github.com/connectplus/connectplus/secrets/redact"
)

// Typed errors. ErrNotFound is runstate.ErrNotFound so the runtime can test
// for it without importing this package.
var (
	ErrNotFound  = runstate.ErrNotFound
	ErrConflict  = errors.New("conflict")
	ErrDuplicate = errors.New("duplicate")
)

// Dialect names.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is an open database.
type Store struct {
	*Queries
	db       *sql.DB
	dialect  string
	keyring  *secrets.Keyring
	redactor *redact.Redactor
	url      string
}

// URL is the database URL the store was opened with (the cluster
// dispatcher opens its own pgx pool on the same PostgreSQL).
func (s *Store) URL() string { return s.url }

// Option configures Open.
type Option func(*Store)

// WithKeyring lets ResolveConfig decrypt secret Extension Configurations.
func WithKeyring(kr *secrets.Keyring) Option { return func(s *Store) { s.keyring = kr } }

// WithRedactor registers every secret ResolveConfig decrypts with r, and
// keeps those values out of the run errors and paths stored and read back.
func WithRedactor(r *redact.Redactor) Option { return func(s *Store) { s.redactor = r } }

// Open connects to url and applies pending migrations:
//
//	sqlite:///abs/path/db.sqlite, sqlite:relative.db, or a bare file path
//	postgres://user@host:5432/db?sslmode=disable (also postgresql://)
func Open(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	s := &Store{}
	for _, o := range opts {
		o(s)
	}
	var err error
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		s.dialect = Postgres
		s.db, err = sql.Open("pgx", rawURL)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		s.db.SetMaxOpenConns(16)
	default:
		s.dialect = SQLite
		path, err := sqlitePath(rawURL)
		if err != nil {
			return nil, err
		}
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("store: %w", err)
			}
		}
		if err := privateSQLiteFiles(path, true); err != nil {
			return nil, err
		}
		// WAL lets readers run beside the writer; busy_timeout makes writers
		// queue instead of failing; _txlock=immediate takes the write lock at
		// BEGIN so two read-then-write transactions cannot deadlock on lock
		// upgrade.
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(15000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
		s.db, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		s.db.SetMaxOpenConns(8)
	}
	s.Queries = &Queries{q: s.db, dialect: s.dialect, keyring: s.keyring, redactor: s.redactor}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	if s.dialect == SQLite {
		// The first connection made the WAL and shared-memory files (SQLite
		// gives them the database's mode); an older server may have left
		// them world-readable.
		path, _ := sqlitePath(rawURL)
		if err := privateSQLiteFiles(path, false); err != nil {
			s.db.Close()
			return nil, err
		}
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	if s.dialect == Postgres {
		if err := migrateRiver(ctx, rawURL); err != nil {
			s.db.Close()
			return nil, err
		}
	}
	s.url = rawURL
	return s, nil
}

// privateSQLiteFiles makes the database file and its companions (WAL,
// shared memory, rollback journal) readable by the server's user only: they
// hold password hashes, session hashes and encrypted secrets. With create,
// a missing database file is created empty with mode 0600 first, so SQLite
// never makes it with the process umask (0644).
func privateSQLiteFiles(path string, create bool) error {
	if path == ":memory:" || strings.HasPrefix(path, ":memory:") {
		return nil
	}
	if create {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		switch {
		case err == nil:
			f.Close()
		case !errors.Is(err, fs.ErrExist):
			return fmt.Errorf("store: create %s: %w", path, err)
		}
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		st, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if !st.Mode().IsRegular() || st.Mode().Perm() == 0o600 {
			continue
		}
		if err := os.Chmod(p, 0o600); err != nil {
			return fmt.Errorf("store: make %s private (0600): %w", p, err)
		}
	}
	return nil
}

func sqlitePath(raw string) (string, error) {
	p := raw
	switch {
	case strings.HasPrefix(raw, "sqlite://"):
		p = strings.TrimPrefix(raw, "sqlite://")
	case strings.HasPrefix(raw, "sqlite:"):
		p = strings.TrimPrefix(raw, "sqlite:")
	case strings.HasPrefix(raw, "file:"):
		p = strings.TrimPrefix(raw, "file:")
	}
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if p == "" {
		return "", errors.New("store: empty SQLite path")
	}
	return p, nil
}

// Dialect is "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// DB exposes the handle (tests and health checks).
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks the connection (health endpoint).
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Tx runs fn in a transaction, committing when it returns nil.
func (s *Store) Tx(ctx context.Context, fn func(q *Queries) error) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(&Queries{q: tx, dialect: s.dialect, keyring: s.keyring, redactor: s.redactor}); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", mapErr(err))
	}
	return nil
}

// Queries runs statements on the database or inside a transaction.
type Queries struct {
	q        querier
	dialect  string
	keyring  *secrets.Keyring
	redactor *redact.Redactor
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// rebind turns the portable "?" placeholders into PostgreSQL's "$n". Queries
// in this package never contain a literal '?', so the rewrite is exact.
func (q *Queries) rebind(query string) string {
	if q.dialect != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

func (q *Queries) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := q.q.ExecContext(ctx, q.rebind(query), args...)
	return res, mapErr(err)
}

func (q *Queries) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := q.q.QueryContext(ctx, q.rebind(query), args...)
	return rows, mapErr(err)
}

func (q *Queries) row(ctx context.Context, query string, args ...any) *sql.Row {
	return q.q.QueryRowContext(ctx, q.rebind(query), args...)
}

// queryAll runs a query and reads every row with scan, the function that
// also reads a single row of the same columns. No rows give a nil slice.
func queryAll[T any](ctx context.Context, q *Queries, scan func(interface{ Scan(...any) error }) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, mapErr(rows.Err())
}

// queryList is queryAll for the lists that answer an empty slice, not
// nil, when no row matches (they are encoded as [] rather than null).
func queryList[T any](ctx context.Context, q *Queries, scan func(interface{ Scan(...any) error }) (T, error), query string, args ...any) ([]T, error) {
	out, err := queryAll(ctx, q, scan, query, args...)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []T{}
	}
	return out, nil
}

// mapErr turns driver constraint errors into ErrDuplicate / ErrConflict.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case 2067, 1555: // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
			return fmt.Errorf("%w: %v", ErrDuplicate, err)
		case 787, 275: // SQLITE_CONSTRAINT_FOREIGNKEY, SQLITE_CONSTRAINT_CHECK
			return fmt.Errorf("%w: %v", ErrConflict, err)
		}
		if se.Code()&0xff == 19 && strings.Contains(se.Error(), "UNIQUE") {
			return fmt.Errorf("%w: %v", ErrDuplicate, err)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return fmt.Errorf("%w: %v", ErrDuplicate, err)
		case "23503", "23514", "40001":
			return fmt.Errorf("%w: %v", ErrConflict, err)
		}
	}
	return err
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(filepath.Base(name), ".sql")
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", version, err)
		}
		err = s.Tx(ctx, func(q *Queries) error {
			if s.dialect == Postgres {
				// Two servers starting together must not both apply a
				// migration; the lock is released at commit.
				if _, err := q.exec(ctx, `SELECT pg_advisory_xact_lock(727172)`); err != nil {
					return err
				}
			}
			var n int
			if err := q.row(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, stmt := range splitStatements(s.dialectSQL(string(body))) {
				if _, err := q.q.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%w\n%s", err, stmt)
				}
			}
			_, err := q.exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, micros(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", version, err)
		}
	}
	return nil
}

// dialectSQL rewrites the few type placeholders of the migrations.
func (s *Store) dialectSQL(body string) string {
	if s.dialect == Postgres {
		return strings.NewReplacer("{{AUTOID}}", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "{{BLOB}}", "BYTEA", "{{WITHOUT_ROWID}}", "").Replace(body)
	}
	return strings.NewReplacer("{{AUTOID}}", "INTEGER PRIMARY KEY AUTOINCREMENT", "{{BLOB}}", "BLOB", "{{WITHOUT_ROWID}}", "WITHOUT ROWID").Replace(body)
}

// splitStatements splits on semicolons that end a line, dropping comments.
func splitStatements(body string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(body, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}

// NewID returns a random id with a readable prefix ("flw_…").
func NewID(prefix string) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("store: random id: %v", err))
	}
	return prefix + "_" + hex.EncodeToString(b[:])
}

func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

func ptrTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// escapeLike escapes LIKE metacharacters so user text matches literally.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// affected returns ErrNotFound when an UPDATE/DELETE touched no row.
func affected(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
