package servercmd

import (
	"context"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// startCmd runs `connectplus server args...` in-process until the test ends
// and waits for /healthz on addr.
func startCmd(t *testing.T, addr string, args ...string) *syncBuffer {
	t.Helper()
	cmd := NewServerCommand(Deps{Version: "t"})
	var out syncBuffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(append([]string{"--listen", addr, "--data-dir", t.TempDir()}, args...))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	for i := 0; ; i++ {
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
			return &out
		}
		select {
		case err := <-done:
			t.Fatalf("server exited: %v\n%s", err, out.String())
		default:
		}
		if i > 200 {
			t.Fatalf("server did not start: %v\n%s", err, out.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func get(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// /metrics is not public: by default it is served only on a loopback
// listener of its own; with a token, on the API listener too, to callers
// that send it.
func TestMetricsAreNotPublic(t *testing.T) {
	t.Setenv(EnvMetricsToken, "")
	t.Setenv(EnvAdminPassword, "admin-password-1234")
	t.Setenv("CONNECTPLUS_MASTER_KEY", "")
	cmd := NewServerCommand(Deps{})
	def := cmd.Flags().Lookup("metrics-listen").DefValue
	if ap, err := netip.ParseAddrPort(def); err != nil || !ap.Addr().IsLoopback() {
		t.Fatalf("--metrics-listen defaults to %q, not a loopback address", def)
	}
	if strings.Contains(cmd.Example, "0.0.0.0") {
		t.Fatalf("the documented example binds every interface:\n%s", cmd.Example)
	}

	t.Run("no token", func(t *testing.T) {
		api, metrics := freeAddr(t), freeAddr(t)
		startCmd(t, api, "--metrics-listen", metrics)
		if code, body := get(t, "http://"+api+"/metrics", ""); code != 404 || strings.Contains(body, "go_goroutines") {
			t.Fatalf("API /metrics: %d %.200s", code, body)
		}
		if code, body := get(t, "http://"+metrics+"/metrics", ""); code != 200 || !strings.Contains(body, "connectplus_http_requests_total") {
			t.Fatalf("metrics listener: %d %.200s", code, body)
		}
	})
	t.Run("token", func(t *testing.T) {
		const token = "a-metrics-token-of-32-characters"
		t.Setenv(EnvMetricsToken, token)
		api, metrics := freeAddr(t), freeAddr(t)
		out := startCmd(t, api, "--metrics-listen", metrics)
		for _, base := range []string{"http://" + api, "http://" + metrics} {
			if code, _ := get(t, base+"/metrics", ""); code != 401 {
				t.Errorf("%s/metrics without the token: %d", base, code)
			}
			if code, body := get(t, base+"/metrics", "Bearer "+token); code != 200 || !strings.Contains(body, "go_goroutines") {
				t.Errorf("%s/metrics with the token: %d %.200s", base, code, body)
			}
		}
		if strings.Contains(out.String(), token) {
			t.Fatal("the metrics token is in the log")
		}
	})
	t.Run("short token refused", func(t *testing.T) {
		cmd := NewServerCommand(Deps{})
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		cmd.SetArgs([]string{"--listen", freeAddr(t), "--data-dir", t.TempDir(), "--metrics-listen", "", "--metrics-token", "short"})
		if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "at least 16") {
			t.Fatalf("short token: %v", err)
		}
	})
}
