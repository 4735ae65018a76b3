package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/secrets"
	"github.com/connectplus/connectplus/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t     *testing.T
	st    *store.Store
	kr    *secrets.Keyring
	clock *clock
	svc   *Service
	admin control.Actor
	org   store.Org
}

func newEnv(t *testing.T, url string) *env {
	t.Helper()
	ctx := context.Background()
	kr, err := secrets.NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if url == "" {
		url = "sqlite://" + filepath.Join(t.TempDir(), "db.sqlite")
	}
	st, err := store.Open(ctx, url, store.WithKeyring(kr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, kr: kr, clock: &clock{t: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)}}
	e.org = store.Org{ID: "org_alerts", Name: "alerts", TimeZone: "Asia/Kolkata", CreatedAt: e.clock.Now()}
	if err := st.CreateOrg(ctx, e.org); err != nil {
		t.Fatal(err)
	}
	e.admin = control.Actor{UserID: "usr_admin", Username: "alice", OrgID: e.org.ID, Role: control.RoleAdmin}
	e.svc = New(Options{Store: st, Now: e.clock.Now, Owner: "node-a", BaseURL: "https://connect.example.com", AllowPrivateTargets: true,
		WebhookBackoff: 5 * time.Millisecond})
	return e
}

// secret stores a secret Extension Configuration.
func (e *env) secret(name, value string) {
	e.t.Helper()
	kid, ct, err := e.kr.Seal([]byte(value), store.ConfigAAD(e.org.ID, name))
	if err != nil {
		e.t.Fatal(err)
	}
	now := e.clock.Now()
	c := &store.Config{ID: store.NewID("cfg"), OrgID: e.org.ID, Name: name, Ciphertext: ct, KeyID: kid, IsSecret: true,
		CreatedBy: "alice", UpdatedBy: "alice", ApprovedBy: "bob", CreatedAt: now, UpdatedAt: now}
	if err := e.st.PutConfig(context.Background(), c); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) flow(name string) store.Dataflow {
	e.t.Helper()
	now := e.clock.Now()
	f := store.Dataflow{ID: store.NewID("flw"), OrgID: e.org.ID, Name: name, Status: "Active", CreatedBy: "alice", CreatedAt: now, UpdatedAt: now}
	if err := e.st.CreateDataflow(context.Background(), f); err != nil {
		e.t.Fatal(err)
	}
	return f
}

// receiver is a loopback HTTP endpoint that records what it is sent and
// answers 503 to the first failFirst requests.
type receiver struct {
	mu        sync.Mutex
	failFirst int
	reqs      []received
	srv       *httptest.Server
}

type received struct {
	header http.Header
	body   []byte
	status int
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{failFirst: failFirst}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := 200
		if len(r.reqs) < r.failFirst {
			status = 503
		}
		r.reqs = append(r.reqs, received{header: req.Header.Clone(), body: b, status: status})
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.reqs...)
}

// verify checks a webhook delivery's signature as a receiver would.
func verify(t *testing.T, key string, rq received, now time.Time) {
	t.Helper()
	ts := rq.header.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Unix()-sec > 300 || sec-now.Unix() > 300 {
		t.Fatalf("timestamp %q not within 5 minutes of %s", ts, now)
	}
	want := Sign(key, ts, rq.body)
	if !hmac.Equal([]byte(want), []byte(rq.header.Get(HeaderSignature))) {
		t.Fatalf("bad signature %q, want %q", rq.header.Get(HeaderSignature), want)
	}
	var v map[string]any
	if err := json.Unmarshal(rq.body, &v); err != nil {
		t.Fatalf("webhook body is not JSON: %s", rq.body)
	}
}

func f(v float64) *float64 { return &v }

func blockItem(name string) block.Item { return block.Item{Name: name, Key: "/in/" + name} }

func countsOf(in, delivered, failed int64) block.Outcomes {
	return block.Outcomes{In: in, Delivered: delivered, Failed: failed}
}
