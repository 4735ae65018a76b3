// Package server is the control plane's HTTP API under /api/v1 (chi): it
// authenticates (password sessions with CSRF protection, or bearer API
// tokens), authorises every route by role, decodes strictly, calls package
// control and encodes JSON. It also serves /openapi.json (generated from the
// same route table the router is built from), /healthz, and /metrics: on
// the API only with a metrics token, else through MetricsHandler on a
// listener of its own.
package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/connectplus/connectplus/alerts"
	"github.com/connectplus/connectplus/assist/agent"
	"github.com/connectplus/connectplus/assist/tools"
	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/obs"
	"github.com/connectplus/connectplus/preview"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/secrets/redact"
	"github.com/connectplus/connectplus/templates"
	"github.com/connectplus/connectplus/webui"
)

// DefaultMaxBody is the request body limit (a dataflow document is at most
// 4 MiB; JSON string escaping adds a little).
const DefaultMaxBody = 4<<20 + 64<<10

// Config configures a Server.
type Config struct {
	Service *control.Service
	Logger  *slog.Logger
	// SecureCookies marks cookies Secure (set when serving TLS).
	SecureCookies bool
	// MaxBodyBytes limits request bodies (DefaultMaxBody when 0).
	MaxBodyBytes int64
	// Version is reported by /healthz.
	Version string
	// Now is the clock for throttling (tests); nil is time.Now.
	Now func() time.Time
	// Collectors are extra Prometheus metrics served at /metrics (the
	// runtime's records and files counters).
	Collectors []prometheus.Collector
	// MetricsToken, when set, lets GET /metrics on the API answer callers
	// that send "Authorization: Bearer <MetricsToken>". Without it the API
	// does not serve /metrics at all: the metrics name every organisation's
	// flows and counts, so they are served on a separate (loopback)
	// listener through MetricsHandler instead.
	MetricsToken string
	// Redactor removes decrypted secret values from error messages before
	// they are answered (a conflict names the host a secret points at).
	Redactor *redact.Redactor
	// Obs answers the observability routes (nil: they answer 503).
	Obs *obs.Querier
	// Alerts answers the alert, issue and report routes (nil: 503).
	Alerts *alerts.Service
	// Cluster answers GET /api/v1/cluster in a cluster (nil: this server
	// reports itself as the only node).
	Cluster runstate.ClusterReporter
	// OpenResult opens a result file a run or reconciliation names that
	// is not a local path: an object of the cluster's shared store
	// (s3://…). Nil: only local result files are served.
	OpenResult func(ctx context.Context, ref string) (io.ReadCloser, error)
	// UI serves the web application at / (every GET or HEAD that no API
	// route matches, except the reserved paths; see webui.Reserved). Nil
	// serves the bundle embedded in package webui.
	UI http.Handler
}

// Server is the HTTP API.
type Server struct {
	svc      *control.Service
	log      *slog.Logger
	secure   bool
	maxBody  int64
	version  string
	now      func() time.Time
	router   chi.Router
	routes   []route
	throttle *throttle
	metrics  *metrics
	openapi  []byte
	redactor *redact.Redactor
	mtoken   string
	ui       http.Handler
	blocks   *catalogue
	// tools is the MCP tool layer served at /mcp.
	tools *tools.Toolset
	// assistant is the canvas chat panel's model loop over the same tools.
	assistant      *agent.Assistant
	assistantLimit *preview.Limiter
	// templates is the embedded template catalogue.
	templates *templates.Catalogue
	// previewLimit bounds previews per user.
	previewLimit *preview.Limiter
	// bodyLimits are per-path body limits above maxBody (the preview's sample).
	bodyLimits map[string]int64
	obs        *obs.Querier
	openResult func(ctx context.Context, ref string) (io.ReadCloser, error)
	alerts     *alerts.Service
	cluster    runstate.ClusterReporter
}

type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	logins   *prometheus.CounterVec
}

// New builds the server and its routes.
func New(cfg Config) (*Server, error) {
	s := &Server{svc: cfg.Service, log: cfg.Logger, secure: cfg.SecureCookies, maxBody: cfg.MaxBodyBytes, version: cfg.Version, now: cfg.Now, redactor: cfg.Redactor, mtoken: cfg.MetricsToken, obs: cfg.Obs, alerts: cfg.Alerts, cluster: cfg.Cluster, openResult: cfg.OpenResult}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.throttle = newThrottle(s.now)
	s.previewLimit = preview.NewLimiter(previewPerMin, s.now)
	var reg *block.Registry
	if cfg.Service != nil {
		reg = cfg.Service.Registry()
	}
	cat, err := newCatalogue(reg)
	if err != nil {
		return nil, fmt.Errorf("block catalogue: %w", err)
	}
	s.blocks = cat
	if cfg.Service != nil {
		if s.tools, err = tools.New(tools.Deps{Previews: s.previewLimit, Service: cfg.Service, Redactor: cfg.Redactor, Logger: s.log, Version: cfg.Version, OpenResult: cfg.OpenResult}); err != nil {
			return nil, fmt.Errorf("mcp tools: %w", err)
		}
		if s.assistant, err = agent.New(agent.Options{Tools: s.tools, Service: cfg.Service, Resolve: cfg.Service.Store().ResolveConfig,
			Logger: s.log, Redactor: cfg.Redactor}); err != nil {
			return nil, fmt.Errorf("assistant: %w", err)
		}
	}
	s.assistantLimit = preview.NewLimiter(assistantPerMin, s.now)
	if s.templates, err = templates.Load(); err != nil {
		return nil, err
	}
	s.ui = cfg.UI
	if s.ui == nil {
		ui, err := webui.New()
		if err != nil {
			return nil, err
		}
		s.ui = ui
	}
	s.metrics = newMetrics()
	for _, c := range cfg.Collectors {
		if err := s.metrics.reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	s.routes = s.routeTable()
	s.bodyLimits = map[string]int64{}
	for _, rt := range s.routes {
		if rt.maxBody > 0 {
			s.bodyLimits[rt.path] = rt.maxBody
		}
	}
	s.router = s.buildRouter()
	doc, err := s.openAPI()
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	s.openapi = doc
	return s, nil
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connectplus_http_requests_total", Help: "HTTP requests by route and status."},
		[]string{"method", "route", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "connectplus_http_request_duration_seconds", Help: "HTTP request latency.",
		Buckets: prometheus.DefBuckets}, []string{"method", "route"})
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connectplus_logins_total", Help: "Password logins by outcome."}, []string{"outcome"})
	m.reg.MustRegister(m.requests, m.duration, m.logins, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Router exposes the chi router (route walking in tests).
func (s *Server) Router() chi.Router { return s.router }

// reqInfo is filled in as a request proceeds, for the access log.
type reqInfo struct {
	requestID string
	user      string
	org       string
}

type ctxKey struct{}

func infoFrom(ctx context.Context) *reqInfo {
	i, _ := ctx.Value(ctxKey{}).(*reqInfo)
	return i
}

// hstsValue keeps browsers on HTTPS for a year once they have seen it.
// includeSubDomains is left out: other hosts under the server's name are
// not this server's to constrain.
const hstsValue = "max-age=31536000"

// apiCSP is the Content-Security-Policy of every non-UI response.
const apiCSP = "default-src 'none'; frame-ancestors 'none'"

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._\-]{1,64}$`)

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
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
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe assigns the request id, limits the body, recovers panics, sets
// safety headers, and logs and counts every request. The log line names
// method, route, status, user and duration — never headers, cookies, query
// strings or bodies, where credentials and secrets travel.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !requestIDRE.MatchString(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		info := &reqInfo{requestID: id}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, info))
		sw := &statusWriter{ResponseWriter: w}
		h := sw.Header()
		h.Set("X-Request-ID", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		// API answers are data, never a page: nothing in them may run or be
		// framed. The UI handler replaces this with the UI's policy.
		h.Set("Content-Security-Policy", apiCSP)
		if r.TLS != nil {
			// Only over TLS: browsers ignore HSTS received over plain HTTP,
			// and a server behind a TLS-terminating proxy leaves it to the
			// proxy.
			h.Set("Strict-Transport-Security", hstsValue)
		}
		if r.Body != nil {
			limit := s.maxBody
			if l, ok := s.bodyLimits[r.URL.Path]; ok && l > limit {
				limit = l
			}
			r.Body = http.MaxBytesReader(sw, r.Body, limit)
		}
		defer func() {
			if p := recover(); p != nil {
				s.log.ErrorContext(r.Context(), "panic", "request_id", id, "panic", fmt.Sprint(p))
				if sw.status == 0 {
					writeJSON(sw, http.StatusInternalServerError, ErrorBody{Error: APIError{Code: "internal", Message: "internal error"}})
				}
			}
			routePattern := "unmatched"
			if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
				routePattern = rc.RoutePattern()
			}
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			d := time.Since(start)
			s.metrics.requests.WithLabelValues(r.Method, routePattern, strconv.Itoa(sw.status)).Inc()
			s.metrics.duration.WithLabelValues(r.Method, routePattern).Observe(d.Seconds())
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("route", routePattern),
				slog.String("path", r.URL.Path), slog.Int("status", sw.status), slog.Int64("bytes", sw.bytes),
				slog.Duration("duration", d), slog.String("user", info.user), slog.String("org", info.org))
		}()
		next.ServeHTTP(sw, r)
	})
}

func (s *Server) buildRouter() chi.Router {
	r := chi.NewRouter()
	r.Use(s.observe)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !webui.Reserved(r.URL.Path) {
			s.ui.ServeHTTP(w, r)
			return
		}
		writeJSON(w, http.StatusNotFound, ErrorBody{Error: APIError{Code: "not_found", Message: "no such route"}})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, ErrorBody{Error: APIError{Code: "method_not_allowed", Message: "method not allowed"}})
	})
	for _, rt := range s.routes {
		r.Method(rt.method, rt.path, s.wrap(rt))
	}
	return r
}

// wrap authenticates (unless the route is public), checks the route's
// minimum role and runs the handler. Control methods check roles again.
func (s *Server) wrap(rt route) http.Handler {
	if rt.public != nil {
		return rt.public
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.authenticate(w, r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if rt.role != "" && !atLeast(a.Role, rt.role) {
			s.fail(w, r, fmt.Errorf("%w: this action needs the %s role (you have %s)", control.ErrForbidden, rt.role, a.Role))
			return
		}
		if err := rt.handler(w, r, a); err != nil {
			s.fail(w, r, err)
		}
	})
}

func atLeast(have, want string) bool { return control.MinRole(have, want) == want }

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.svc.Store().Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "down"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.version})
}

// MetricsHandler serves the Prometheus metrics, for a listener of their
// own. With a MetricsToken it asks for the token there too.
func (s *Server) MetricsHandler() http.Handler {
	h := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
	if s.mtoken == "" {
		return h
	}
	return s.requireMetricsToken(h)
}

// apiMetrics is /metrics on the API listener: only with a token.
func (s *Server) apiMetrics() http.Handler {
	if s.mtoken == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusNotFound, ErrorBody{Error: APIError{Code: "not_found",
				Message: "metrics are served on the metrics listener (--metrics-listen), or here with a --metrics-token"}})
		})
	}
	return s.requireMetricsToken(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
}

func (s *Server) requireMetricsToken(next http.Handler) http.Handler {
	want := sha256.Sum256([]byte("Bearer " + s.mtoken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Compared as hashes in constant time: neither the length nor a
		// prefix of the token leaks through timing.
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			writeJSON(w, http.StatusUnauthorized, ErrorBody{Error: APIError{Code: "unauthenticated", Message: "metrics need the metrics bearer token"}})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	_, _ = w.Write(s.openapi)
}
