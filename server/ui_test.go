package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/webui"
)

func getWith(t *testing.T, url, accept string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// The server serves the embedded UI at / with the SPA fallback and the UI's
// security headers, while /api, /metrics, /healthz and /openapi.json keep
// their JSON answers and headers.
func TestUIMounted(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()

	_, index := getWith(t, ts.URL+"/", "")
	if !strings.Contains(index, `src="/assets/`) {
		t.Fatalf("/ is not the UI's index.html: %.200s", index)
	}
	for _, p := range []string{"/", "/dataflows", "/dataflows/abc/versions/2/canvas", "/login"} {
		res, body := getWith(t, ts.URL+p, "text/html")
		if res.StatusCode != 200 || body != index {
			t.Errorf("%s: %d, index: %v", p, res.StatusCode, body == index)
		}
		h := res.Header
		for k, want := range map[string]string{
			"Content-Security-Policy": webui.ContentSecurityPolicy, "X-Frame-Options": "DENY",
			"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
			"Cache-Control": "no-cache", "Content-Type": "text/html; charset=utf-8",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", p, k, got, want)
			}
		}
		if h.Get("X-Request-ID") == "" {
			t.Errorf("%s: no X-Request-ID", p)
		}
	}
	// Every asset index.html names is served with the long cache.
	for _, part := range strings.Split(index, `src="`)[1:] {
		src := part[:strings.Index(part, `"`)]
		res, _ := getWith(t, ts.URL+src, "*/*")
		if res.StatusCode != 200 || res.Header.Get("Cache-Control") != webui.CacheImmutable ||
			!strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("%s: %d %q %q", src, res.StatusCode, res.Header.Get("Cache-Control"), res.Header.Get("Content-Type"))
		}
	}

	// The API is untouched: an unknown API path is still a JSON 404, even
	// when a browser asks for HTML.
	for _, p := range []string{"/api/v1/no-such-route", "/api/v1", "/api", "/api/v2/x", "/metrics"} {
		res, body := getWith(t, ts.URL+p, "text/html")
		if res.StatusCode != 404 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || !strings.Contains(body, `"not_found"`) {
			t.Errorf("%s: %d %q %s", p, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	}
	res, body := getWith(t, ts.URL+"/api/v1/auth/me", "text/html")
	if res.StatusCode != 401 || !strings.Contains(body, "unauthenticated") {
		t.Errorf("/api/v1/auth/me: %d %s", res.StatusCode, body)
	}
	res, _ = getWith(t, ts.URL+"/openapi.json", "text/html")
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Errorf("/openapi.json: %q", res.Header.Get("Content-Type"))
	}
	// API answers keep their own safety headers, not the UI's policy.
	for _, p := range []string{"/api/v1/auth/me", "/api/v1/nope", "/openapi.json"} {
		res, _ := getWith(t, ts.URL+p, "")
		h := res.Header
		for k, want := range map[string]string{
			"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
			"Content-Security-Policy": apiCSP,
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", p, k, got, want)
			}
		}
	}
	if res, _ := getWith(t, ts.URL+"/api/v1/nope", ""); res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("API Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	// Unsafe methods on UI paths are not the UI's: JSON 404 as before.
	pres, err := http.Post(ts.URL+"/dataflows", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	pres.Body.Close()
	if pres.StatusCode != 404 || !strings.HasPrefix(pres.Header.Get("Content-Type"), "application/json") {
		t.Errorf("POST /dataflows: %d %q", pres.StatusCode, pres.Header.Get("Content-Type"))
	}
}
