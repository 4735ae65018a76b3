package servercmd

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/runstate"
)

// TestSharedStoreFlags: --shared-store opens the bucket once at start
// (refusing wrong keys without quoting them, and --shared-dir beside it)
// and hands the runtime the store and the database journal.
func TestSharedStoreFlags(t *testing.T) {
	t.Setenv(EnvAdminPassword, "")
	t.Setenv("CONNECTPLUS_MASTER_KEY", "")
	srv := testenv.S3(t)
	srv.CreateBucket(t, "shared")
	start := func(t *testing.T, secret string, extra ...string) (RuntimeConfig, error) {
		t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
		t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
		got := make(chan RuntimeConfig, 1)
		factory := func(_ runstate.Repo, _ *slog.Logger, rc RuntimeConfig) (runstate.Controller, func(context.Context) error, error) {
			got <- rc
			return control.NoopController{}, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, nil
		}
		cmd := NewServerCommand(Deps{Version: "t", Runtime: factory})
		var out syncBuffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append([]string{"--listen", freeAddr(t), "--data-dir", t.TempDir(), "--metrics-listen", freeAddr(t)}, extra...))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- cmd.ExecuteContext(ctx) }()
		select {
		case rc := <-got:
			cancel()
			<-done
			return rc, nil
		case err := <-done:
			return RuntimeConfig{}, err
		case <-time.After(30 * time.Second):
			t.Fatalf("server neither started nor failed: %s", out.String())
		}
		return RuntimeConfig{}, nil
	}
	s3Flags := []string{"--shared-store", "s3://shared/c1", "--shared-store-endpoint", srv.Endpoint, "--shared-store-region", srv.Region}

	rc, err := start(t, srv.SecretKey, s3Flags...)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Shared == nil || rc.Shared.Dir() != "" || !strings.Contains(rc.Shared.Describe(), "s3://shared/c1") || rc.Journal == nil {
		t.Fatalf("runtime config: shared %v, journal %v", rc.Shared, rc.Journal)
	}
	if _, err := start(t, "wrong-"+srv.SecretKey, s3Flags...); err == nil || !strings.Contains(err.Error(), "--shared-store") || strings.Contains(err.Error(), srv.SecretKey) {
		t.Fatalf("wrong secret key: %v", err)
	}
	if _, err := start(t, srv.SecretKey, append(s3Flags, "--shared-dir", t.TempDir())...); err == nil || !strings.Contains(err.Error(), "give one") {
		t.Fatalf("both shared flags: %v", err)
	}
	rc, err = start(t, srv.SecretKey, "--shared-dir", t.TempDir())
	if err != nil || rc.Shared == nil || rc.Shared.Dir() == "" || rc.Journal != nil {
		t.Fatalf("--shared-dir: %+v %v", rc, err)
	}
}
