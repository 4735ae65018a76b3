package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PGUser is the superuser of the test cluster (trust authentication).
const PGUser = "app"

// PG is a fresh, empty database on the shared test PostgreSQL server.
type PG struct {
	// DSN is "postgres://app@127.0.0.1:PORT/DBNAME?sslmode=disable".
	DSN      string
	Host     string
	Port     int
	User     string
	Database string
	// AdminDSN connects to the "postgres" maintenance database.
	AdminDSN string
}

// pgBinDir finds the PostgreSQL server programs: $PG_BIN, else the newest
// /usr/lib/postgresql/*/bin.
func pgBinDir() string {
	if v := os.Getenv("PG_BIN"); v != "" {
		return v
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	if len(dirs) > 0 {
		return dirs[0]
	}
	return "/usr/lib/postgresql/15/bin"
}

// pgServer is the one PostgreSQL server of this test binary.
type pgServer struct {
	dir  string
	port int
	proc *process
}

var (
	pgMu     sync.Mutex
	pgShared *pgServer
	pgErr    error
	pgSeq    atomic.Int64
)

// Postgres returns a new empty database on a PostgreSQL server that is
// started on first use (initdb into a temporary directory, then postgres on
// a free 127.0.0.1 port, fsync off) and shared by the whole test binary.
// The database is dropped (WITH (FORCE)) by t.Cleanup; the server is
// stopped by Shutdown, or, if the binary exits without calling it, by the
// fast-shutdown signal the kernel sends when its parent dies.
func Postgres(t testing.TB) *PG {
	t.Helper()
	srv := sharedPostgres(t)
	name := fmt.Sprintf("t_%s_%d", sanitizeName(t.Name(), 40), pgSeq.Add(1))
	pg := &PG{
		Host:     "127.0.0.1",
		Port:     srv.port,
		User:     PGUser,
		Database: name,
		AdminDSN: pgDSN(srv.port, "postgres"),
		DSN:      pgDSN(srv.port, name),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := pgExec(ctx, pg.AdminDSN, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testenv: Postgres: create database %s: %v\nlog tail:\n%s", name, err, srv.proc.logTail())
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := pgExec(ctx, pg.AdminDSN, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("testenv: Postgres: drop database %s: %v", name, err)
		}
	})
	return pg
}

// Connect opens a connection to the database, closed by t.Cleanup.
func (p *PG) Connect(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.DSN)
	if err != nil {
		t.Fatalf("testenv: PG.Connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func pgDSN(port int, db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", PGUser, port, db)
}

func pgExec(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

func sharedPostgres(t testing.TB) *pgServer {
	t.Helper()
	bin := pgBinDir()
	requireBinary(t, filepath.Join(bin, "initdb"))
	requireBinary(t, filepath.Join(bin, "postgres"))
	var cred *syscall.Credential
	var owner *user.User
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			unmet(t, "running as root needs the 'postgres' system user (from the postgresql package): %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
		owner = u
	}

	pgMu.Lock()
	defer pgMu.Unlock()
	if pgShared != nil {
		if !pgShared.proc.exited() {
			return pgShared
		}
		t.Logf("testenv: Postgres: shared server had exited; log tail:\n%s", pgShared.proc.logTail())
		os.RemoveAll(pgShared.dir)
		pgShared, pgErr = nil, nil
	}
	if pgErr != nil {
		t.Fatalf("testenv: Postgres: %v", pgErr)
	}
	srv, err := startPostgres(bin, cred, owner)
	if err != nil {
		pgErr = err
		t.Fatalf("testenv: Postgres: %v", err)
	}
	pgShared = srv
	return srv
}

func startPostgres(bin string, cred *syscall.Credential, owner *user.User) (*pgServer, error) {
	dir, err := makeTempDir("cppg-", 0o700)
	if err != nil {
		return nil, err
	}
	if owner != nil {
		uid, _ := strconv.Atoi(owner.Uid)
		gid, _ := strconv.Atoi(owner.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	logPath := filepath.Join(dir, "postgres.log")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", data, "-U", PGUser, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions")
	initdb.Env = baseEnv()
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}

	proc, port, err := startWithRetry("postgres", func(port int) (*process, string, error) {
		p, err := startProcess(procSpec{
			name: "postgres",
			path: filepath.Join(bin, "postgres"),
			args: []string{"-D", data, "-p", strconv.Itoa(port), "-k", dir,
				"-c", "listen_addresses=127.0.0.1",
				"-c", "fsync=off",
				"-c", "synchronous_commit=off",
				"-c", "full_page_writes=off",
				"-c", "max_connections=200",
				"-c", "log_min_messages=warning",
			},
			dir:       dir,
			logPath:   logPath,
			cred:      cred,
			pdeathsig: syscall.SIGINT, // fast shutdown if the test binary dies
			stopSig:   syscall.SIGINT,
		})
		return p, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), err
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// Accepting TCP is not the same as accepting queries ("the database
	// system is starting up"): wait for a real query.
	deadline := time.Now().Add(StartTimeout)
	for {
		qctx, qcancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := pgExec(qctx, pgDSN(port, "postgres"), "SELECT 1")
		qcancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) || proc.exited() {
			proc.stop()
			os.RemoveAll(dir)
			return nil, fmt.Errorf("postgres did not accept queries on port %d within %v: %v; log tail:\n%s", port, StartTimeout, err, proc.logTail())
		}
		time.Sleep(25 * time.Millisecond)
	}
	return &pgServer{dir: dir, port: port, proc: proc}, nil
}

// Shutdown stops the servers shared by a test binary (the PostgreSQL
// server) and removes their files. Call it from TestMain after m.Run, or
// use Main. Postgres may be called again afterwards; it starts a new server.
func Shutdown() {
	pgMu.Lock()
	defer pgMu.Unlock()
	if pgShared != nil {
		pgShared.proc.stop()
		os.RemoveAll(pgShared.dir)
		pgShared = nil
	}
	pgErr = nil
}

// Main runs the tests and then Shutdown, and exits. Use it as
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	Shutdown()
	os.Exit(code)
}
