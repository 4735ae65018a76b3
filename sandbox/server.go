package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is the Capillary API sandbox. It is an http.Handler; Start serves it
// on a listener and NewTestServer wraps it in an httptest.Server.
type Server struct {
	cfg     Config
	auth    *authenticator
	mux     *http.ServeMux
	faults  atomic.Pointer[injector]
	limiter *rateLimiter
	st      atomic.Pointer[store]
	feed    feed
	bufs    sync.Pool

	closeOnce sync.Once
	closing   chan struct{}
	httpMu    sync.Mutex
	httpSrv   *http.Server
}

// New builds a server. It panics on an invalid configuration, since that is a
// programming error in the caller; use Config.Validate first for user input.
func New(cfg Config) *Server {
	if err := cfg.Validate(); err != nil {
		panic("sandbox: " + err.Error())
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:     cfg,
		auth:    newAuthenticator(cfg),
		mux:     http.NewServeMux(),
		closing: make(chan struct{}),
		bufs:    sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
	s.faults.Store(newInjector(cfg.Faults))
	s.st.Store(newStore(cfg.CountOnly, cfg.Now()))
	s.feed.size = int64(cfg.FeedSize)
	if cfg.RateLimit.RequestsPerSecond > 0 {
		s.limiter = newRateLimiter(cfg.RateLimit)
	}
	s.routes()
	return s
}

// NewTestServer starts a sandbox on a loopback port for tests. Close the
// returned httptest.Server (it also releases hanging fault handlers).
func NewTestServer(cfg Config) (*Server, *httptest.Server) {
	s := New(cfg)
	ts := httptest.NewUnstartedServer(s)
	ts.Config.RegisterOnShutdown(s.releaseWaiters)
	ts.Start()
	return s, ts
}

// Credentials returns the client key and secret the sandbox accepts.
func (s *Server) Credentials() (key, secret string) { return s.cfg.ClientKey, s.cfg.ClientSecret }

// IssueToken returns a valid access token without an HTTP round trip, for
// tests that are not about the token flow.
func (s *Server) IssueToken() string {
	tok, _ := s.auth.issue()
	return tok
}

// Stats returns the same counters as GET /_sandbox/stats.
func (s *Server) Stats() Stats { return s.st.Load().snapshot() }

// Entities lists stored entities of one kind (all kinds when empty).
func (s *Server) Entities(kind string) []*Entity {
	es, _ := s.st.Load().list(kind, nil, 0, int(^uint(0)>>1))
	return es
}

// Reset forgets every entity and counter; tokens stay valid and faults stay.
func (s *Server) Reset() {
	s.st.Store(newStore(s.cfg.CountOnly, s.cfg.Now()))
	s.resetFeed()
}

// SetFaults replaces the fault configuration at runtime.
func (s *Server) SetFaults(f FaultConfig) error {
	if err := f.Validate(); err != nil {
		return err
	}
	s.faults.Store(newInjector(f))
	return nil
}

// Faults returns the current fault configuration.
func (s *Server) Faults() FaultConfig { return s.faults.Load().cfg }

// Start serves the sandbox on addr ("127.0.0.1:9300", or port 0 for any) in
// the background and returns its base URL. Stop it with Shutdown.
func (s *Server) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	srv.RegisterOnShutdown(s.releaseWaiters)
	s.httpMu.Lock()
	s.httpSrv = srv
	s.httpMu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// Shutdown stops a server started with Start, waiting for in-flight requests
// (hanging fault handlers are released first) until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.releaseWaiters()
	s.httpMu.Lock()
	srv := s.httpSrv
	s.httpMu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Shutdown(ctx)
}

func (s *Server) releaseWaiters() { s.closeOnce.Do(func() { close(s.closing) }) }

// ServeHTTP routes a request. Capillary serves some APIs under /api_gateway
// (badges, goodwill); the prefix is dropped so both spellings work.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api_gateway/"); ok {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + rest
		r2.URL.RawPath = ""
		r = r2
	}
	s.mux.ServeHTTP(w, r)
}

type apiHandler func(w http.ResponseWriter, r *http.Request, body []byte)

type routeKind int

const (
	routeAPI   routeKind = iota // auth + faults + rate limit
	routeToken                  // faults only when configured for its path
	routeAdmin                  // /_sandbox: none of the above
	routeOpen                   // faults + rate limit, no Capillary token (webhooks, Databricks check their own)
)

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// handle registers pattern ("POST /v2/transactions/bulk") with the request
// pipeline: rate limit → faults → auth → bounded body read → handler. Faults
// come before anything is parsed or stored, so a faulted request leaves no
// trace except in the request and fault counters.
func (s *Server) handle(pattern string, kind routeKind, h apiHandler) {
	_, patternPath, _ := strings.Cut(pattern, " ")
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		st := s.st.Load()
		defer func() {
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			if kind != routeAdmin {
				st.recordRequest(pattern, sw.status)
			}
		}()
		if (kind == routeAPI || kind == routeOpen) && s.limiter != nil {
			if ok, wait := s.limiter.allow(); !ok {
				st.recordFault("rate_limited")
				writeTooMany(sw, wait, "Rate limit exceeded")
				return
			}
		}
		if kind != routeAdmin {
			d := s.faults.Load().decide(r.URL.Path, patternPath, kind == routeToken)
			if d.latency > 0 && !s.wait(r.Context(), d.latency) {
				return
			}
			switch d.kind {
			case fault429:
				st.recordFault("429")
				writeTooMany(sw, d.retryAfter, "Too many requests (injected by sandbox)")
				return
			case fault5xx:
				st.recordFault(strconv.Itoa(d.code))
				writeJSON(sw, d.code, errorsBody(apiError{Code: d.code, Message: http.StatusText(d.code) + " (injected by sandbox)"}))
				return
			case faultTimeout:
				st.recordFault("timeout")
				if s.wait(r.Context(), d.hang) {
					writeJSON(sw, http.StatusGatewayTimeout, errorsBody(apiError{Code: 504, Message: "Gateway timeout (injected by sandbox)"}))
				} else {
					sw.status = http.StatusGatewayTimeout
				}
				return
			}
		}
		if kind == routeAPI && !s.cfg.DisableAuth {
			if err := s.auth.check(r); err != nil {
				writeJSON(sw, http.StatusUnauthorized, errorsBody(apiError{Code: 401, Message: "Unauthorized: " + err.Error()}))
				return
			}
		}
		var body []byte
		if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
			buf := s.bufs.Get().(*bytes.Buffer)
			buf.Reset()
			defer func() {
				if buf.Cap() <= 4<<20 {
					s.bufs.Put(buf)
				}
			}()
			if _, err := buf.ReadFrom(http.MaxBytesReader(sw, r.Body, s.cfg.MaxBodyBytes)); err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					writeJSON(sw, http.StatusRequestEntityTooLarge, errorsBody(apiError{Code: 413, Message: fmt.Sprintf("Request body exceeds %d bytes", mbe.Limit)}))
					return
				}
				writeJSON(sw, http.StatusBadRequest, errorsBody(invalid("Could not read request body: %v", err)))
				return
			}
			body = buf.Bytes()
		}
		if kind == routeAPI && s.idempotent(st, sw, r, pattern, func(w http.ResponseWriter) { h(w, r, body) }) {
			return
		}
		h(sw, r, body)
	})
}

// wait sleeps for d unless the client goes away or the server shuts down; it
// reports whether the full duration passed.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

func writeTooMany(w http.ResponseWriter, retryAfter int, msg string) {
	if retryAfter < 1 {
		retryAfter = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	writeJSON(w, http.StatusTooManyRequests, errorsBody(apiError{Code: 429, Message: msg}))
}

func errorsBody(errs ...apiError) map[string]any {
	return map[string]any{"errors": errs, "warnings": []apiError{}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errors":[{"status":false,"code":500,"message":"sandbox could not encode its response"}]}`)
	}
	writeRawJSON(w, status, b)
}

func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// rateLimiter is a token bucket; it answers how long to wait when empty.
type rateLimiter struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newRateLimiter(c RateLimitConfig) *rateLimiter {
	return &rateLimiter{rate: c.RequestsPerSecond, burst: float64(c.Burst), tokens: float64(c.Burst), last: time.Now()}
}

func (l *rateLimiter) allow() (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	if l.tokens >= 1 {
		l.tokens--
		return true, 0
	}
	wait := (1 - l.tokens) / l.rate
	return false, int(wait + 0.999)
}
