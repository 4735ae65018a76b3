package sandbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"
)

// authenticator issues and checks access tokens. Tokens are self-contained
// (expiry + nonce, signed with a per-server random key), so validation needs no
// lock or token table and memory does not grow with the number of logins.
type authenticator struct {
	key, secret string
	ttl         time.Duration
	basic       bool
	now         func() time.Time
	signKey     [32]byte
}

var errTokenExpired = errors.New("token expired")

func newAuthenticator(cfg Config) *authenticator {
	a := &authenticator{key: cfg.ClientKey, secret: cfg.ClientSecret, ttl: cfg.TokenTTL, basic: !cfg.DisableBasicAuth, now: cfg.Now}
	if _, err := rand.Read(a.signKey[:]); err != nil {
		panic("sandbox: no randomness for token signing: " + err.Error())
	}
	return a
}

func (a *authenticator) credentialsOK(key, secret string) bool {
	k := subtle.ConstantTimeCompare([]byte(key), []byte(a.key))
	s := subtle.ConstantTimeCompare([]byte(secret), []byte(a.secret))
	return k&s == 1
}

// issue returns a token of the form sbx.<payload>.<mac>, payload = expiry
// (unix nanoseconds) + 8 random bytes.
func (a *authenticator) issue() (string, time.Time) {
	exp := a.now().Add(a.ttl)
	var payload [16]byte
	binary.BigEndian.PutUint64(payload[:8], uint64(exp.UnixNano()))
	_, _ = rand.Read(payload[8:])
	m := hmac.New(sha256.New, a.signKey[:])
	m.Write(payload[:])
	return "sbx." + base64.RawURLEncoding.EncodeToString(payload[:]) + "." + hex.EncodeToString(m.Sum(nil)[:16]), exp
}

func (a *authenticator) verify(tok string) error {
	rest, ok := strings.CutPrefix(tok, "sbx.")
	if !ok {
		return errors.New("malformed token")
	}
	p, mac, ok := strings.Cut(rest, ".")
	if !ok {
		return errors.New("malformed token")
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || len(payload) != 16 {
		return errors.New("malformed token")
	}
	want, err := hex.DecodeString(mac)
	if err != nil {
		return errors.New("malformed token")
	}
	m := hmac.New(sha256.New, a.signKey[:])
	m.Write(payload)
	if !hmac.Equal(m.Sum(nil)[:16], want) {
		return errors.New("invalid token signature")
	}
	exp := time.Unix(0, int64(binary.BigEndian.Uint64(payload[:8])))
	if !a.now().Before(exp) {
		return errTokenExpired
	}
	return nil
}

// check authenticates an API request: X-CAP-API-OAUTH-TOKEN (Capillary's
// header), "Authorization: Bearer", or, unless disabled, Basic key:secret.
func (a *authenticator) check(r *http.Request) error {
	if tok := r.Header.Get("X-CAP-API-OAUTH-TOKEN"); tok != "" {
		return a.verify(tok)
	}
	h := r.Header.Get("Authorization")
	if tok, ok := cutPrefixFold(h, "Bearer "); ok {
		return a.verify(strings.TrimSpace(tok))
	}
	if _, ok := cutPrefixFold(h, "Basic "); ok {
		if !a.basic {
			return errors.New("basic auth is disabled on this sandbox")
		}
		k, s, ok := r.BasicAuth()
		if !ok || !a.credentialsOK(k, s) {
			return errors.New("invalid basic credentials")
		}
		return nil
	}
	return errors.New("missing X-CAP-API-OAUTH-TOKEN header")
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}

// handleToken serves both token styles:
//   - Capillary's POST /v3/oauth/token/generate with JSON {"key","secret"},
//     answered with {"data":{"accessToken","ttlSeconds"},"errors":null};
//   - OAuth2 client credentials (form grant_type=client_credentials with
//     client_id/client_secret in the form or in Basic auth), answered with
//     the RFC 6749 fields, which golang.org/x/oauth2/clientcredentials reads.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, body []byte) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" {
		s.handleTokenForm(w, r, body)
		return
	}
	var req struct {
		Key          string `json:"key"`
		Secret       string `json:"secret"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"data": nil, "errors": []apiError{{Code: 400, Message: "Invalid request body: " + err.Error()}}})
		return
	}
	key, secret := req.Key, req.Secret
	if key == "" && secret == "" {
		key, secret = req.ClientID, req.ClientSecret
	}
	if !s.auth.credentialsOK(key, secret) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"data": nil, "errors": []apiError{{Code: 401, Message: "Invalid client key or secret"}}})
		return
	}
	tok, exp := s.auth.issue()
	s.st.Load().recordToken()
	ttl := int64(exp.Sub(s.auth.now()).Round(time.Second) / time.Second)
	writeJSON(w, http.StatusOK, map[string]any{
		"data":   map[string]any{"accessToken": tok, "ttlSeconds": ttl},
		"errors": nil,
		// The standard names too, so generic OAuth2 clients that POST JSON work.
		"access_token": tok, "token_type": "bearer", "expires_in": ttl,
	})
}

func (s *Server) handleTokenForm(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := parseForm(body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": err.Error()})
		return
	}
	if gt := form.Get("grant_type"); gt != "" && gt != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if !s.auth.credentialsOK(id, secret) {
		w.Header().Set("WWW-Authenticate", `Basic realm="sandbox"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Invalid client key or secret"})
		return
	}
	tok, exp := s.auth.issue()
	s.st.Load().recordToken()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "bearer",
		"expires_in":   int64(exp.Sub(s.auth.now()).Round(time.Second) / time.Second),
	})
}
