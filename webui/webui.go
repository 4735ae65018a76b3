// Package webui serves the web application: the production build of web/
// (Vite writes it into webui/dist, and the bundle is committed), embedded in
// the binary so that `go run ./cmd/connectplus …` from a fresh clone serves
// the UI with no Node step.
//
// Content-hashed assets (assets/*) are cached for a year; index.html and
// every client route (SPA fallback) are revalidated on each load, so a new
// release is picked up at once. Every response carries the strict security
// headers of the UI contract (no inline script, no framing).
package webui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

// Header values of every UI response (UI-CONTRACT.md).
const (
	ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	// CacheImmutable is for content-hashed assets: their name changes with
	// their content.
	CacheImmutable = "public, max-age=31536000, immutable"
	// CacheRevalidate is for index.html and other unhashed files.
	CacheRevalidate = "no-cache"
)

// SetSecurityHeaders sets the UI's security headers on h.
func SetSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
}

// Reserved reports whether p belongs to the server rather than the UI: the
// API, the metrics, the health check and the OpenAPI document never fall back
// to index.html (an unknown API path must stay a JSON 404).
func Reserved(p string) bool {
	switch {
	case p == "/api" || strings.HasPrefix(p, "/api/"):
		return true
	case p == "/metrics" || p == "/healthz" || p == "/openapi.json":
		return true
	}
	return false
}

// file is one embedded file, prepared once: its type, validator and, for
// text worth compressing, a gzip copy.
type file struct {
	name    string
	data    []byte
	gz      []byte
	etag    string
	ctype   string
	hashed  bool
	modTime time.Time
}

// Handler serves the embedded bundle.
type Handler struct {
	files map[string]*file
	index *file
}

// New prepares the embedded bundle for serving.
func New() (*Handler, error) {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, fmt.Errorf("webui: %w", err)
	}
	return NewFS(sub)
}

// NewFS serves the files of fsys (tests; a bundle on disk).
func NewFS(fsys fs.FS) (*Handler, error) {
	h := &Handler{files: map[string]*file{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		f := &file{
			name: p, data: data, etag: `"` + hex.EncodeToString(sum[:12]) + `"`,
			ctype: contentType(p, data), hashed: strings.HasPrefix(p, "assets/"),
		}
		if compressible(f.ctype) && len(data) >= 1024 {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			_, _ = zw.Write(data)
			_ = zw.Close()
			if buf.Len() < len(data) {
				f.gz = buf.Bytes()
			}
		}
		h.files[p] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("webui: reading the bundle: %w", err)
	}
	h.index = h.files["index.html"]
	if h.index == nil {
		return nil, fmt.Errorf("webui: the bundle has no index.html")
	}
	return h, nil
}

// contentType names a file's media type by extension, with explicit types
// for what a Vite bundle holds (the system's mime table may lack them).
func contentType(name string, data []byte) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json", ".map":
		return "application/json"
	case ".webmanifest":
		return "application/manifest+json"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".woff2":
		return "font/woff2"
	case ".woff":
		return "font/woff"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".wasm":
		return "application/wasm"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return http.DetectContentType(data)
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.HasPrefix(ctype, "application/json") ||
		strings.HasPrefix(ctype, "image/svg") || strings.HasPrefix(ctype, "application/manifest")
}

// ServeHTTP serves a file of the bundle, or index.html for a client route.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	SetSecurityHeaders(hdr)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		hdr.Set("Cache-Control", "no-store")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if Reserved(p) {
		hdr.Set("Cache-Control", "no-store")
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+p), "/")
	if name == "" {
		name = "index.html"
	}
	f, ok := h.files[name]
	if !ok {
		if !clientRoute(r, name) {
			hdr.Set("Cache-Control", "no-store")
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		f = h.index
	}
	h.serve(w, r, f)
}

// clientRoute reports whether a request for a file the bundle does not
// have is a client-side route: a browser navigation (Accept: text/html) or
// a path without a file extension. A missing script or image is a 404, not
// index.html (which the browser would refuse as the wrong type anyway).
func clientRoute(r *http.Request, name string) bool {
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		return true
	}
	return path.Ext(name) == ""
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, f *file) {
	hdr := w.Header()
	if f.hashed {
		hdr.Set("Cache-Control", CacheImmutable)
	} else {
		hdr.Set("Cache-Control", CacheRevalidate)
	}
	hdr.Set("Content-Type", f.ctype)
	data, etag := f.data, f.etag
	if f.gz != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			data, etag = f.gz, strings.TrimSuffix(f.etag, `"`)+`-gz"`
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", etag)
	http.ServeContent(w, r, f.name, f.modTime, bytes.NewReader(data))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		// "gzip;q=0" refuses gzip; any other weight accepts it.
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if v, err := strconv.ParseFloat(strings.TrimSpace(q), 64); err == nil && v == 0 {
				return false
			}
		}
		return true
	}
	return false
}
