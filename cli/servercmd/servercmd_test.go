package servercmd

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/runstate"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestServerStartsRuntimeAndBootstraps(t *testing.T) {
	t.Setenv(EnvAdminPassword, "")
	t.Setenv("CONNECTPLUS_MASTER_KEY", "")
	dir := t.TempDir()
	addr := freeAddr(t)
	var repoSeen runstate.Repo
	ran := make(chan struct{})
	factory := func(repo runstate.Repo, _ *slog.Logger, _ RuntimeConfig) (runstate.Controller, func(context.Context) error, error) {
		repoSeen = repo
		return control.NoopController{}, func(ctx context.Context) error {
			close(ran)
			<-ctx.Done()
			return ctx.Err()
		}, nil
	}
	cmd := NewServerCommand(Deps{Version: "t", Runtime: factory})
	var stdout, stderr syncBuffer
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs([]string{"--listen", addr, "--data-dir", dir, "--metrics-listen", freeAddr(t)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	var res *http.Response
	var err error
	for i := 0; i < 100; i++ {
		if res, err = http.Get("http://" + addr + "/healthz"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v\n%s", res, err, stderr.String())
	}
	res.Body.Close()
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("runtime not started")
	}
	if repoSeen == nil {
		t.Fatal("runtime got no repo")
	}
	out := stdout.String()
	i := strings.Index(out, "Admin password (shown once, change it): ")
	if i < 0 {
		t.Fatalf("no bootstrap password: %q", out)
	}
	pw := strings.TrimSpace(out[i+len("Admin password (shown once, change it): "):])
	if strings.Contains(stderr.String(), pw) {
		t.Fatal("admin password in the log")
	}
	body := strings.NewReader(`{"username":"admin","password":"` + pw + `"}`)
	if res, err := http.Post("http://"+addr+"/api/v1/auth/login", "application/json", body); err != nil || res.StatusCode != 200 {
		t.Fatalf("login with printed password: %v %v", res, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "master.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key: %v %v", fi, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("server: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}

	// Second start: no new admin, same key; rewrap-secrets runs.
	cmd = NewServerCommand(Deps{})
	stdout = syncBuffer{}
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs([]string{"rewrap-secrets", "--data-dir", dir})
	if err := cmd.Execute(); err != nil || !strings.Contains(stdout.String(), "Re-wrapped 0") {
		t.Fatalf("rewrap: %v %s", err, stdout.String())
	}
}
