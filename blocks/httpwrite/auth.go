package httpwrite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// tokenSource fetches Capillary OAuth tokens (POST {key, secret} to the
// token URL, answer {"data":{"accessToken","ttlSeconds"}}) and shares one
// token between every worker of a block. Concurrent callers that find no
// valid token wait for a single fetch (a hand-rolled singleflight: x/sync is
// not a dependency).
type tokenSource struct {
	url, key, secret string
	client           *http.Client
	now              func() time.Time

	mu     sync.Mutex
	tok    string
	exp    time.Time // refresh from here on (already minus the margin)
	flight *tokenFetch
}

type tokenFetch struct {
	done chan struct{}
	tok  string
	err  error
}

// tokenError is a failed token request. Rejected credentials (4xx) are
// permanent; 5xx and network errors are retried like a recoverable answer.
type tokenError struct {
	status int
	msg    string
}

func (e *tokenError) Error() string {
	if e.status == 0 {
		return "Failed to generate OAuth token: " + e.msg
	}
	if e.status == http.StatusUnauthorized || e.status == http.StatusForbidden {
		return fmt.Sprintf("Failed to generate OAuth token: access forbidden (HTTP %d: %s)", e.status, e.msg)
	}
	return fmt.Sprintf("Failed to generate OAuth token: HTTP %d: %s", e.status, e.msg)
}

func (e *tokenError) permanent() bool { return e.status >= 400 && e.status < 500 && e.status != 429 }

// token returns a valid token, fetching one when none is cached or the
// cached one is about to expire.
func (t *tokenSource) token(ctx context.Context) (string, error) {
	t.mu.Lock()
	if t.tok != "" && t.now().Before(t.exp) {
		tok := t.tok
		t.mu.Unlock()
		return tok, nil
	}
	f := t.flight
	if f == nil {
		f = &tokenFetch{done: make(chan struct{})}
		t.flight = f
		// The fetch outlives the caller that started it: other workers wait
		// on it, so it must not die with one caller's context.
		go t.fetch(context.WithoutCancel(ctx), f)
	}
	t.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// invalidate drops tok after the API rejected it (401), unless another
// worker already replaced it.
func (t *tokenSource) invalidate(tok string) {
	t.mu.Lock()
	if t.tok == tok {
		t.tok = ""
	}
	t.mu.Unlock()
}

func (t *tokenSource) fetch(ctx context.Context, f *tokenFetch) {
	tok, ttl, err := t.request(ctx)
	t.mu.Lock()
	if err == nil {
		// Refresh a little before expiry: a request sent with a token that
		// expires in flight would come back 401 and cost a round trip.
		margin := min(time.Minute, ttl/10)
		t.tok, t.exp = tok, t.now().Add(ttl-margin)
	}
	t.flight = nil
	t.mu.Unlock()
	f.tok, f.err = tok, err
	close(f.done)
}

func (t *tokenSource) request(ctx context.Context) (string, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	body, _ := json.Marshal(map[string]string{"key": t.key, "secret": t.secret})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return "", 0, &tokenError{msg: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return "", 0, &tokenError{msg: err.Error()}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, &tokenError{status: resp.StatusCode, msg: "reading the token answer: " + err.Error()}
	}
	var ans struct {
		Data *struct {
			AccessToken string          `json:"accessToken"`
			TTL         json.RawMessage `json:"ttlSeconds"`
		} `json:"data"`
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		Errors      []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(raw, &ans)
	if resp.StatusCode/100 != 2 {
		msg := http.StatusText(resp.StatusCode)
		if len(ans.Errors) > 0 && ans.Errors[0].Message != "" {
			msg = ans.Errors[0].Message
		}
		return "", 0, &tokenError{status: resp.StatusCode, msg: msg}
	}
	tok, ttlRaw := ans.AccessToken, ans.ExpiresIn
	if ans.Data != nil && ans.Data.AccessToken != "" {
		tok, ttlRaw = ans.Data.AccessToken, ans.Data.TTL
	}
	if tok == "" {
		return "", 0, &tokenError{status: resp.StatusCode, msg: "the answer holds no accessToken"}
	}
	ttl := time.Hour // Capillary's default client setting when the answer omits it
	var secs float64
	if err := json.Unmarshal([]byte(strings.Trim(string(ttlRaw), `"`)), &secs); err == nil && secs > 0 {
		ttl = time.Duration(secs * float64(time.Second))
	}
	return tok, ttl, nil
}
