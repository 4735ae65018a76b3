package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectplus/connectplus/alerts"
	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/obs"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/secrets"
	"github.com/connectplus/connectplus/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// dialects runs fn once on SQLite and once on PostgreSQL.
func dialects(t *testing.T, fn func(t *testing.T, url string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqliteURL(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, testenv.Postgres(t).DSN) })
}

func newNothing(*block.Config, *block.Env) (block.Block, error) { return struct{}{}, nil }

// testRegistry has a source with a config-referenced host and a secret
// password, and a sink: enough for valid and invalid documents.
func testRegistry(t testing.TB) *block.Registry {
	reg := block.NewRegistry()
	err := reg.Register(
		&block.Spec{Type: "src_read", Label: "Source", Class: block.ClassSource, Category: "Source", Description: "Reads files.",
			Input: block.KindNone, Output: block.KindFile, New: newNothing,
			Fields: []block.Field{
				{Key: "hostname", Label: "Host", Type: block.TypeString, Required: true, FromConfigs: true},
				{Key: "password", Label: "Password", Type: block.TypeString, Secret: true},
				{Key: "sourceDirectory", Label: "Source Directory", Type: block.TypeString, Required: true},
			}},
		&block.Spec{Type: "sink_write", Label: "Sink", Class: block.ClassExecutor, Category: "Destination", Description: "Writes files.",
			Input: block.KindFile, Output: block.KindFile, New: newNothing,
			Fields: []block.Field{{Key: "remotePath", Label: "Remote path", Type: block.TypeString, Required: true}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// flowDoc is a valid document referencing two Extension Configurations.
func flowDoc(name, dir string) string {
	return fmt.Sprintf(`name: %s
blocks:
  - type: src_read
    name: read
    config:
      hostname: {$config: sftp_host}
      password: {$config: sftp_password}
      sourceDirectory: %s
    relations:
      - to: write
  - type: sink_write
    name: write
    config:
      remotePath: /out
`, name, dir)
}

// fakeController records runtime calls.
type fakeController struct {
	mu       sync.Mutex
	calls    []string
	conflict error
	reloads  int
}

func (f *fakeController) rec(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}
func (f *fakeController) Pause(_ context.Context, _, id string) error {
	f.rec("pause " + id)
	return nil
}
func (f *fakeController) Stop(_ context.Context, _, id string) error { f.rec("stop " + id); return nil }
func (f *fakeController) Start(_ context.Context, _, id string) error {
	f.rec("start " + id)
	return nil
}
func (f *fakeController) RunNow(_ context.Context, _, id string) error {
	f.rec("run-now " + id)
	return nil
}
func (f *fakeController) Status(_ context.Context, _, id string) (runstate.FlowRuntime, error) {
	return runstate.FlowRuntime{FlowID: id, InFlight: 2}, nil
}
func (f *fakeController) Reload(context.Context) error {
	f.mu.Lock()
	f.reloads++
	f.mu.Unlock()
	return nil
}
func (f *fakeController) CheckSourceConflict(_ context.Context, _, id string, _ []byte) error {
	f.rec("check " + id)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conflict
}

// lockedBuffer collects log output from concurrent handlers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type harness struct {
	t     *testing.T
	st    *store.Store
	svc   *control.Service
	srv   *Server
	http  *httptest.Server
	ctl   *fakeController
	logs  *lockedBuffer
	clock *fakeClock

	mu        sync.Mutex
	responses bytes.Buffer

	adminPassword string
}

type fakeClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

const testAdminPassword = "admin-Password-1234"

// sqliteURL is a fresh SQLite database in the test's temporary directory.
func sqliteURL(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "cp.sqlite") }

func newHarness(t *testing.T, url string) *harness {
	t.Helper()
	return newHarnessWith(t, url, harnessOptions{})
}

// harnessOptions change what newHarnessWith builds.
type harnessOptions struct {
	registry *block.Registry          // default: testRegistry
	validate dataflow.ValidateOptions // expression and cron checks
}

func newHarnessWith(t *testing.T, url string, o harnessOptions) *harness {
	t.Helper()
	if o.registry == nil {
		o.registry = testRegistry(t)
	}
	ctx := context.Background()
	kr, err := secrets.NewKeyring(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, url, store.WithKeyring(kr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, st: st, ctl: &fakeController{}, logs: &lockedBuffer{}, clock: &fakeClock{}}
	log := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.svc = control.New(control.Options{Store: st, Keyring: kr, Registry: o.registry, Validate: o.validate, Controller: h.ctl, Logger: log})
	created, pw, err := h.svc.Bootstrap(ctx, testAdminPassword)
	if err != nil || !created || pw != testAdminPassword {
		t.Fatalf("bootstrap: %v %v", created, err)
	}
	h.adminPassword = pw
	h.srv, err = New(Config{Service: h.svc, Logger: log, Version: "test", Now: h.clock.Now, Obs: obs.NewQuerier(st),
		Alerts: alerts.New(alerts.Options{Store: st, Now: h.clock.Now})})
	if err != nil {
		t.Fatal(err)
	}
	h.http = httptest.NewServer(h.srv)
	t.Cleanup(h.http.Close)
	return h
}

type client struct {
	h     *harness
	name  string
	http  *http.Client
	token string
	csrf  string
	org   string
}

type resp struct {
	code int
	body []byte
	hdr  http.Header
}

func (r *resp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r *resp) errCode(t *testing.T) string {
	t.Helper()
	var e ErrorBody
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("not an error body: %s", r.body)
	}
	return e.Error.Code
}

func (h *harness) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{h: h, name: "anonymous", http: &http.Client{Jar: jar}}
}

// login logs in with a password and keeps the session cookie and CSRF token.
func (h *harness) login(user, password string) *client {
	h.t.Helper()
	c := h.anon()
	c.name = user
	r := c.do("POST", "/api/v1/auth/login", map[string]string{"username": user, "password": password})
	if r.code != 200 {
		h.t.Fatalf("login %s: %d %s", user, r.code, r.body)
	}
	var lr LoginResponse
	r.decode(h.t, &lr)
	c.csrf = lr.CSRFToken
	return c
}

// raw sends a request as-is (no CSRF header unless given).
func (c *client) raw(method, path string, body io.Reader, hdr map[string]string) *resp {
	c.h.t.Helper()
	req, err := http.NewRequest(method, c.h.http.URL+path, body)
	if err != nil {
		c.h.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.org != "" {
		req.Header.Set(OrgHeader, c.org)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	c.h.mu.Lock()
	c.h.responses.Write(b)
	for k, vs := range res.Header {
		if k != "Set-Cookie" {
			c.h.responses.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
		}
	}
	c.h.mu.Unlock()
	return &resp{code: res.StatusCode, body: b, hdr: res.Header}
}

// do sends JSON (body may be a string of raw JSON) with the CSRF header.
func (c *client) do(method, path string, body any, hdr ...string) *resp {
	c.h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.h.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	h := map[string]string{"Content-Type": "application/json"}
	if c.csrf != "" {
		h[CSRFHeader] = c.csrf
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		h[hdr[i]] = hdr[i+1]
	}
	return c.raw(method, path, rd, h)
}

// must asserts the status and decodes into v (when non-nil).
func (c *client) must(code int, method, path string, body any, v any, hdr ...string) *resp {
	c.h.t.Helper()
	r := c.do(method, path, body, hdr...)
	if r.code != code {
		c.h.t.Fatalf("%s %s %s: want %d, got %d: %s", c.name, method, path, code, r.code, r.body)
	}
	if v != nil {
		r.decode(c.h.t, v)
	}
	return r
}
