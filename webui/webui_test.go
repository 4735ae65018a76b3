package webui

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func testHandler(t *testing.T) *Handler {
	t.Helper()
	big := strings.Repeat("console.log('connect+');\n", 200)
	h, err := NewFS(fstest.MapFS{
		"index.html":              {Data: []byte(`<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>`)},
		"assets/index-abc123.js":  {Data: []byte(big)},
		"assets/index-abc123.css": {Data: []byte("body{margin:0}")},
		"favicon.svg":             {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func checkSecurityHeaders(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": ContentSecurityPolicy,
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"X-Content-Type-Options":  "nosniff",
	}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestServesIndexAndAssets(t *testing.T) {
	h := testHandler(t)
	cases := []struct {
		target, ctype, cache string
		status               int
	}{
		{"/", "text/html; charset=utf-8", CacheRevalidate, 200},
		{"/index.html", "text/html; charset=utf-8", CacheRevalidate, 200},
		{"/assets/index-abc123.js", "text/javascript; charset=utf-8", CacheImmutable, 200},
		{"/assets/index-abc123.css", "text/css; charset=utf-8", CacheImmutable, 200},
		{"/favicon.svg", "image/svg+xml", CacheRevalidate, 200},
	}
	for _, c := range cases {
		rec := get(t, h, "GET", c.target, nil)
		if rec.Code != c.status {
			t.Fatalf("%s: status %d", c.target, rec.Code)
		}
		if got := rec.Header().Get("Content-Type"); got != c.ctype {
			t.Errorf("%s: Content-Type %q, want %q", c.target, got, c.ctype)
		}
		if got := rec.Header().Get("Cache-Control"); got != c.cache {
			t.Errorf("%s: Cache-Control %q, want %q", c.target, got, c.cache)
		}
		if rec.Header().Get("ETag") == "" {
			t.Errorf("%s: no ETag", c.target)
		}
		checkSecurityHeaders(t, rec)
	}
}

func TestSPAFallback(t *testing.T) {
	h := testHandler(t)
	index := get(t, h, "GET", "/", nil).Body.String()
	for _, target := range []string{"/dataflows", "/dataflows/abc/versions/3", "/runs?flowId=x", "/login"} {
		rec := get(t, h, "GET", target, map[string]string{"Accept": "text/html,application/xhtml+xml"})
		if rec.Code != 200 || rec.Body.String() != index {
			t.Errorf("%s: status %d, body is index: %v", target, rec.Code, rec.Body.String() == index)
		}
		if rec.Header().Get("Cache-Control") != CacheRevalidate {
			t.Errorf("%s: Cache-Control %q", target, rec.Header().Get("Cache-Control"))
		}
		checkSecurityHeaders(t, rec)
		// Without Accept (curl, fetch): no extension is still a route.
		if rec := get(t, h, "GET", target, nil); rec.Code != 200 {
			t.Errorf("%s without Accept: status %d", target, rec.Code)
		}
	}
	// HEAD too, without a body.
	if rec := get(t, h, "HEAD", "/dataflows", nil); rec.Code != 200 || rec.Body.Len() != 0 {
		t.Errorf("HEAD /dataflows: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	// A missing asset is a 404, never index.html served as a script.
	rec := get(t, h, "GET", "/assets/index-gone.js", map[string]string{"Accept": "*/*"})
	if rec.Code != 404 {
		t.Errorf("missing asset: status %d", rec.Code)
	}
	checkSecurityHeaders(t, rec)
}

func TestReservedPathsNeverFallBack(t *testing.T) {
	h := testHandler(t)
	for _, target := range []string{"/api", "/api/v1/nope", "/api/v2/x", "/metrics", "/healthz", "/openapi.json"} {
		rec := get(t, h, "GET", target, map[string]string{"Accept": "text/html"})
		if rec.Code != 404 {
			t.Errorf("%s: status %d, want 404", target, rec.Code)
		}
	}
	// Prefixes that merely start like a reserved path are routes.
	for _, target := range []string{"/apis", "/api-keys", "/metricsview"} {
		if Reserved(target) {
			t.Errorf("%s reserved", target)
		}
	}
}

func TestMethodsAndConditionalRequests(t *testing.T) {
	h := testHandler(t)
	if rec := get(t, h, "POST", "/", nil); rec.Code != 405 {
		t.Errorf("POST /: %d", rec.Code)
	}
	first := get(t, h, "GET", "/assets/index-abc123.css", nil)
	rec := get(t, h, "GET", "/assets/index-abc123.css", map[string]string{"If-None-Match": first.Header().Get("ETag")})
	if rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d", rec.Code)
	}
	// Path tricks stay inside the bundle.
	// Path tricks stay inside the bundle: at most index.html.
	index := get(t, h, "GET", "/", nil).Body.String()
	if rec := get(t, h, "GET", "/../../etc/passwd", nil); rec.Body.String() != index {
		t.Errorf("traversal: status %d, body %.80q", rec.Code, rec.Body.String())
	}
	if rec := get(t, h, "GET", "/assets/../../go.mod", nil); rec.Code != 404 {
		t.Errorf("traversal to a file: status %d", rec.Code)
	}
}

func TestGzip(t *testing.T) {
	h := testHandler(t)
	plain := get(t, h, "GET", "/assets/index-abc123.js", nil)
	rec := get(t, h, "GET", "/assets/index-abc123.js", map[string]string{"Accept-Encoding": "br, gzip"})
	if rec.Header().Get("Content-Encoding") != "gzip" || !strings.Contains(rec.Header().Get("Vary"), "Accept-Encoding") {
		t.Fatalf("headers %v", rec.Header())
	}
	if rec.Header().Get("ETag") == plain.Header().Get("ETag") {
		t.Error("gzip and identity share an ETag")
	}
	zr, err := gzip.NewReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(zr)
	if string(got) != plain.Body.String() {
		t.Error("gzip body differs")
	}
	if rec := get(t, h, "GET", "/assets/index-abc123.js", map[string]string{"Accept-Encoding": "gzip;q=0"}); rec.Header().Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 got gzip")
	}
}

// TestEmbeddedBundle checks the committed bundle: index.html loads its
// scripts from files and has no inline script or style, which the CSP
// would block.
func TestEmbeddedBundle(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	rec := get(t, h, "GET", "/", nil)
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	if !strings.Contains(body, `<script type="module"`) || !strings.Contains(body, `src="/assets/`) {
		t.Errorf("index.html loads no module script from /assets/:\n%s", body)
	}
	for _, bad := range []string{"<style", "onload=", "onclick=", "javascript:"} {
		if strings.Contains(strings.ToLower(body), bad) {
			t.Errorf("index.html contains %q, which the CSP blocks", bad)
		}
	}
	for i := 0; ; {
		j := strings.Index(body[i:], "<script")
		if j < 0 {
			break
		}
		tag := body[i+j:]
		end := strings.Index(tag, ">")
		if !strings.Contains(tag[:end], "src=") {
			t.Errorf("inline script in index.html: %s", tag[:min(len(tag), 80)])
		}
		i += j + end
	}
	for name, f := range h.files {
		if f.hashed {
			if rec := get(t, h, "GET", "/"+name, nil); rec.Code != 200 || rec.Header().Get("Cache-Control") != CacheImmutable {
				t.Errorf("%s: %d %q", name, rec.Code, rec.Header().Get("Cache-Control"))
			}
		}
	}
}
