package server

import (
	"crypto/subtle"
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/store"
)

// Cookie and header names.
const (
	SessionCookie = "cp_session"
	CSRFCookie    = "cp_csrf"
	CSRFHeader    = "X-CSRF-Token"
	// OrgHeader selects the organisation of one cookie-session request (also
	// ?org=); without it the request acts in the organisation the session
	// was opened in (the login's org). A token is bound to its organisation.
	OrgHeader = "X-Connectplus-Org"
)

// authenticate resolves the request's credentials to an actor. Bearer tokens
// need no CSRF token (browsers never attach them by themselves); cookie
// sessions must echo the session's CSRF token in X-CSRF-Token on every
// unsafe method (double submit, bound to the session).
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (control.Actor, error) {
	ctx := r.Context()
	var a control.Actor
	var err error
	if h := r.Header.Get("Authorization"); h != "" {
		bearer, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return a, control.ErrUnauthenticated
		}
		t, u, err := s.svc.TokenUser(ctx, strings.TrimSpace(bearer))
		if err != nil {
			return a, err
		}
		a, err = s.svc.ActorFor(ctx, u, t.OrgID, control.ScopeRole(t.Scope))
		if err != nil {
			// The token's organisation membership is gone.
			return a, control.ErrUnauthenticated
		}
	} else {
		c, cerr := r.Cookie(SessionCookie)
		if cerr != nil || c.Value == "" {
			return a, control.ErrUnauthenticated
		}
		sess, u, err := s.svc.SessionUser(ctx, c.Value)
		if err != nil {
			return a, err
		}
		if !safeMethod(r.Method) {
			got := r.Header.Get(CSRFHeader)
			// The store keeps only the token's hash: compare hashes.
			if got == "" || subtle.ConstantTimeCompare([]byte(control.HashSecret(got)), []byte(sess.CSRFHash)) != 1 {
				return a, newHTTPError(http.StatusForbidden, "csrf_failed", "missing or wrong %s header for a cookie-authenticated request", CSRFHeader)
			}
		}
		org := r.Header.Get(OrgHeader)
		if org == "" {
			org = r.URL.Query().Get("org")
		}
		if a, err = s.svc.SessionActor(ctx, sess, u, org); err != nil {
			return a, err
		}
	}
	a.RequestID = ""
	if info := infoFrom(ctx); info != nil {
		info.user, info.org = a.Username, a.OrgID
		a.RequestID = info.requestID
	}
	return a, err
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// LoginRequest is the body of POST /auth/login.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// Org selects the organisation (id or name); default the first.
	Org string `json:"org,omitempty"`
}

// LoginResponse returns the CSRF token to echo in X-CSRF-Token (also set as
// the readable cp_csrf cookie) and the user's organisations.
type LoginResponse struct {
	User      store.User         `json:"user"`
	CSRFToken string             `json:"csrfToken"`
	ExpiresAt time.Time          `json:"expiresAt"`
	Orgs      []store.Membership `json:"orgs"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var in LoginRequest
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	key := strings.ToLower(in.Username) + "|" + clientIP(r)
	if wait := s.throttle.wait(key); wait > 0 {
		s.metrics.logins.WithLabelValues("throttled").Inc()
		he := newHTTPError(http.StatusTooManyRequests, "too_many_attempts", "too many failed logins; try again in %d seconds", secs(wait))
		he.header = http.Header{"Retry-After": {strconv.Itoa(secs(wait))}}
		s.fail(w, r, he)
		return
	}
	u, err := s.svc.Login(r.Context(), in.Username, in.Password)
	if err != nil {
		if errors.Is(err, control.ErrUnauthenticated) {
			s.throttle.failure(key)
			s.metrics.logins.WithLabelValues("failure").Inc()
			s.log.WarnContext(r.Context(), "login failed", "request_id", infoFrom(r.Context()).requestID, "ip", clientIP(r))
			s.fail(w, r, newHTTPError(http.StatusUnauthorized, "invalid_credentials", "wrong username or password"))
			return
		}
		s.fail(w, r, err)
		return
	}
	a, err := s.svc.ActorFor(r.Context(), u, in.Org, "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.throttle.success(key)
	s.metrics.logins.WithLabelValues("success").Inc()
	// The session remembers the organisation signed in to: a reload or a new
	// tab (requests without X-Connectplus-Org) stays in it.
	cookie, csrf, sess, err := s.svc.NewSession(r.Context(), u, a.OrgID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The browser's previous session (the organisation switcher signs in
	// again) is replaced, not left alive until it expires: its cookie is
	// overwritten below.
	if old, err := r.Cookie(SessionCookie); err == nil && old.Value != "" {
		if err := s.svc.Logout(r.Context(), old.Value); err != nil {
			s.log.WarnContext(r.Context(), "login: ending the previous session", "request_id", infoFrom(r.Context()).requestID, "error", err)
		}
	}
	if info := infoFrom(r.Context()); info != nil {
		info.user, info.org = u.Username, a.OrgID
		a.RequestID = info.requestID
	}
	if err := s.svc.RecordLogin(r.Context(), a, "auth.login"); err != nil {
		s.fail(w, r, err)
		return
	}
	orgs, err := s.svc.Orgs(r.Context(), a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: cookie, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode, Expires: sess.ExpiresAt})
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: csrf, Path: "/", HttpOnly: false, Secure: s.secure, SameSite: http.SameSiteLaxMode, Expires: sess.ExpiresAt})
	writeJSON(w, http.StatusOK, LoginResponse{User: u, CSRFToken: csrf, ExpiresAt: sess.ExpiresAt, Orgs: orgs})
}

func secs(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

func (s *Server) logout(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	if c, err := r.Cookie(SessionCookie); err == nil && r.Header.Get("Authorization") == "" {
		if err := s.svc.Logout(r.Context(), c.Value); err != nil {
			return err
		}
	}
	if err := s.svc.RecordLogin(r.Context(), a, "auth.logout"); err != nil {
		return err
	}
	for _, name := range []string{SessionCookie, CSRFCookie} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: name == SessionCookie, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// MeResponse describes the caller.
type MeResponse struct {
	UserID        string             `json:"userId"`
	Username      string             `json:"username"`
	OrgID         string             `json:"orgId"`
	Role          string             `json:"role"`
	PlatformAdmin bool               `json:"platformAdmin"`
	Orgs          []store.Membership `json:"orgs"`
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	orgs, err := s.svc.Orgs(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, MeResponse{UserID: a.UserID, Username: a.Username, OrgID: a.OrgID, Role: a.Role, PlatformAdmin: a.PlatformAdmin, Orgs: orgs})
	return nil
}

// PasswordRequest changes the caller's password. RevokeTokens also
// revokes every API token the caller holds, in every organisation.
type PasswordRequest struct {
	OldPassword  string `json:"oldPassword"`
	NewPassword  string `json:"newPassword"`
	RevokeTokens bool   `json:"revokeTokens,omitempty"`
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in PasswordRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	return noContent(w, s.svc.ChangePassword(r.Context(), a, in.OldPassword, in.NewPassword, in.RevokeTokens))
}

// throttle locks a username+IP out after repeated failures, doubling the
// lockout with each further failure (1 s after the 5th, capped at 15 min).
type throttle struct {
	mu      sync.Mutex
	now     func() time.Time
	entries map[string]*throttleEntry
}

type throttleEntry struct {
	failures int
	until    time.Time
	last     time.Time
}

const (
	throttleFree = 5
	throttleBase = time.Second
	throttleMax  = 15 * time.Minute
	throttleIdle = time.Hour
)

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, entries: map[string]*throttleEntry{}}
}

func (t *throttle) wait(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	if e == nil {
		return 0
	}
	if d := e.until.Sub(t.now()); d > 0 {
		return d
	}
	return 0
}

func (t *throttle) failure(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.entries) > 100_000 {
		for k, e := range t.entries {
			if now.Sub(e.last) > throttleIdle {
				delete(t.entries, k)
			}
		}
	}
	e := t.entries[key]
	if e == nil || now.Sub(e.last) > throttleIdle {
		e = &throttleEntry{}
		t.entries[key] = e
	}
	e.failures++
	e.last = now
	if e.failures >= throttleFree {
		d := throttleBase << min(e.failures-throttleFree, 20)
		if d > throttleMax || d <= 0 {
			d = throttleMax
		}
		e.until = now.Add(d)
	}
}

func (t *throttle) success(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, key)
}
