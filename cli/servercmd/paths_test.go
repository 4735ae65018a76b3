package servercmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/connectplus/connectplus/fsroot"
	"github.com/connectplus/connectplus/store"
)

func perm(t *testing.T, p string) os.FileMode {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// TestStartMakesDataDirPrivate: a data directory an older server left
// world-readable — directory 0755, database and WAL 0644, result files
// 0644 — is made 0700/0600 when the server starts, and what the server
// creates is private too.
func TestStartMakesDataDirPrivate(t *testing.T) {
	t.Setenv(EnvAdminPassword, "")
	t.Setenv("CONNECTPLUS_MASTER_KEY", "")
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	results := filepath.Join(dir, "results", "org_x", "flow_y")
	if err := os.MkdirAll(results, 0o755); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "connectplus.db")
	st, err := store.Open(context.Background(), "sqlite://"+db)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	res := filepath.Join(results, "run_result_1_x.csv")
	if err := os.WriteFile(res, []byte("a,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "results"), results} {
		os.Chmod(p, 0o755)
	}
	for _, p := range []string{db, db + "-wal", db + "-shm", res} {
		if _, err := os.Stat(p); err == nil {
			os.Chmod(p, 0o644)
		}
	}
	startCmd(t, freeAddr(t), "--data-dir", dir, "--metrics-listen", "")
	for _, p := range []string{dir, filepath.Join(dir, "results"), results} {
		if m := perm(t, p); m != 0o700 {
			t.Errorf("%s: %o, want 700", p, m)
		}
	}
	for _, p := range []string{db, db + "-wal", db + "-shm", res, filepath.Join(dir, "master.key")} {
		if m := perm(t, p); m != 0o600 {
			t.Errorf("%s: %o, want 600", p, m)
		}
	}
}

// TestPathFlagsNeverReachDataDir: a files root or an allowed path that
// contains (or lies in) the data directory, or is relative, stops the
// server at start (as does an idempotency header that is no header name).
func TestPathFlagsNeverReachDataDir(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	for name, args := range map[string][]string{
		"files root in data dir": {"--files-root", filepath.Join(data, "files")},
		"files root above it":    {"--files-root", tmp},
		"allow everything":       {"--allow-path", "/"},
		"allow the data dir":     {"--allow-path", data},
		"allow relative":         {"--allow-path", "shared"},
		"allow the key file dir": {"--allow-path", filepath.Join(tmp, "keys"), "--master-key-file", filepath.Join(tmp, "keys", "k")},
		"bad idempotency header": {"--idempotency-header", "Idem Key"},
		"allow the shared dir":   {"--allow-path", filepath.Join(tmp, "cluster"), "--shared-dir", filepath.Join(tmp, "cluster", "shared")},
	} {
		cmd := NewServerCommand(Deps{Version: "t"})
		var out syncBuffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append([]string{"--listen", "127.0.0.1:0", "--metrics-listen", "", "--data-dir", data}, args...))
		err := cmd.ExecuteContext(context.Background())
		if err == nil || !strings.Contains(err.Error(), "--allow-path") && !strings.Contains(err.Error(), "--files-root") && !strings.Contains(err.Error(), "--idempotency-header") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestOrgPolicies(t *testing.T) {
	tmp := t.TempDir()
	r, err := newPathRules(options{dataDir: filepath.Join(tmp, "data"), filesRoot: filepath.Join(tmp, "files"), allowPaths: []string{filepath.Join(tmp, "shared")}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := r.policy("org_a")
	if err != nil {
		t.Fatal(err)
	}
	if a.Home() != filepath.Join(tmp, "files", "org_a") {
		t.Fatalf("home %s", a.Home())
	}
	for _, p := range []string{filepath.Join(tmp, "files", "org_b", "x"), filepath.Join(tmp, "data", "master.key"), filepath.Join(tmp, "data")} {
		if err := a.Check(p); !errors.Is(err, fsroot.ErrOutside) {
			t.Errorf("org_a may use %s: %v", p, err)
		}
	}
	for _, p := range []string{"in", filepath.Join(tmp, "shared", "x")} {
		if err := a.Check(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	for _, bad := range []string{"", "..", "../data", "a/b"} {
		if _, err := r.policy(bad); err == nil {
			t.Errorf("org id %q accepted", bad)
		}
	}
}
