package httpwrite

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/jsonv"
	"github.com/connectplus/connectplus/sandbox"
)

// capture is a block.Output recording what a Process call did.
type capture struct {
	mu      sync.Mutex
	acked   []*block.Unit
	emitted map[string][]*block.Unit
}

func newCapture() *capture { return &capture{emitted: map[string][]*block.Unit{}} }

func (c *capture) Emit(_ context.Context, rel string, u *block.Unit) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.emitted[rel] = append(c.emitted[rel], u)
	return nil
}

func (c *capture) Ack(u *block.Unit, _ []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.acked = append(c.acked, u)
}

func (c *capture) Progress(int64) {}

// records returns the records emitted on rel, in emission order.
func (c *capture) records(rel string) []block.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []block.Record
	for _, u := range c.emitted[rel] {
		out = append(out, u.Batch.Records...)
	}
	return out
}

func (c *capture) ackedCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, u := range c.acked {
		n += len(u.Batch.Records)
	}
	return n
}

// fakeClock is a movable clock shared by the sandbox and the block.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testEnv(opts ...func(*block.Env)) *block.Env {
	env := &block.Env{Flow: "t", Block: "post", CompileExpr: exprs.Compiler(nil, nil), Options: map[string]string{}}
	for _, o := range opts {
		o(env)
	}
	return env
}

// build validates values against spec (so Check runs), then builds the block.
// Secret fields are set after validation, as a resolved Extension
// Configuration would be.
func build(t *testing.T, spec *block.Spec, values map[string]string, env *block.Env) *writer {
	t.Helper()
	w, err := tryBuild(spec, values, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

func tryBuild(spec *block.Spec, values map[string]string, env *block.Env) (*writer, error) {
	raw := map[string]any{}
	for k, v := range values {
		if f, ok := spec.Field(k); ok && f.Secret {
			raw[k] = map[string]any{"$config": "secret." + k}
			continue
		}
		raw[k] = v
	}
	cfg, probs := spec.ParseConfig(raw, mapResolver(values))
	if len(probs) > 0 {
		return nil, fmt.Errorf("config problems: %v", probs)
	}
	b, err := spec.New(cfg, env)
	if err != nil {
		return nil, err
	}
	return b.(*writer), nil
}

// mapResolver resolves secret.<key> to values[key].
type mapResolver map[string]string

func (m mapResolver) Resolve(name string) (string, error) {
	if k, ok := strings.CutPrefix(name, "secret."); ok {
		if v, ok := m[k]; ok {
			return v, nil
		}
	}
	if v, ok := m[name]; ok {
		return v, nil
	}
	return "", fmt.Errorf("no configuration %q", name)
}

// sandboxValues are http_write settings pointing at a sandbox.
func sandboxValues(ts *httptest.Server, s *sandbox.Server, extra map[string]string) map[string]string {
	key, secret := s.Credentials()
	v := map[string]string{
		"clientKey": key, "clientSecret": secret,
		"apiBaseUrl": ts.URL, "oAuthBaseUrl": ts.URL,
		"retryBackoff": "5ms", "maxRetryBackoff": "50ms", "rate": "100000",
	}
	for k, x := range extra {
		v[k] = x
	}
	return v
}

// objBatch builds a batch of records whose values are the given JSON texts,
// with sequence numbers from 1 and source lines from 2.
func objBatch(t *testing.T, docs ...string) *block.Batch {
	t.Helper()
	b := &block.Batch{}
	for i, d := range docs {
		v, err := jsonv.ParseString(d)
		if err != nil {
			t.Fatalf("doc %d: %v", i, err)
		}
		b.Records = append(b.Records, block.Record{Seq: int64(i + 1), Line: int64(i + 2), Value: v})
	}
	return b
}

func txn(bill string, amount string) string {
	return fmt.Sprintf(`{"identifierType":"mobile","identifierValue":"919800000001","source":"INSTORE","type":"REGULAR","billNumber":%q,"billAmount":%q,"billingDate":"2025-04-11T11:00:00+05:30"}`, bill, amount)
}

func customer(mobile string) string {
	return fmt.Sprintf(`{"profiles":[{"firstName":"A","lastName":"B","source":"INSTORE","identifiers":[{"type":"mobile","value":%q}]}],"loyaltyInfo":{"loyaltyType":"loyalty"}}`, mobile)
}

func process(t *testing.T, w *writer, u *block.Unit) *capture {
	t.Helper()
	out := newCapture()
	if err := w.Process(context.Background(), u, out); err != nil {
		t.Fatalf("Process: %v", err)
	}
	return out
}

// recorder is an httptest handler that records requests and answers with
// a scripted function.
type recorder struct {
	mu     sync.Mutex
	reqs   []recorded
	answer func(n int, r *http.Request, body []byte) (int, http.Header, string)
}

type recorded struct {
	at     time.Time
	method string
	url    string
	header http.Header
	body   string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := len(rc.reqs)
	rc.reqs = append(rc.reqs, recorded{at: time.Now(), method: r.Method, url: r.URL.String(), header: r.Header.Clone(), body: string(body)})
	rc.mu.Unlock()
	status, h, ans := 200, http.Header(nil), `{"status":{"code":200}}`
	if rc.answer != nil {
		status, h, ans = rc.answer(n, r, body)
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(ans))
}

func (rc *recorder) all() []recorded {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]recorded(nil), rc.reqs...)
}

func newRecorder(t *testing.T, answer func(n int, r *http.Request, body []byte) (int, http.Header, string)) (*recorder, *httptest.Server) {
	rc := &recorder{answer: answer}
	ts := httptest.NewServer(rc)
	t.Cleanup(ts.Close)
	return rc, ts
}
