package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// Every route the router serves is described in /openapi.json, and every
// described operation is served.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	h := newHarness(t, sqliteURL(t))
	r := h.anon().must(200, "GET", "/openapi.json", nil, nil)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	r.decode(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	served := map[string]bool{}
	err := chi.Walk(h.srv.Router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		key := strings.ToLower(method) + " " + route
		served[key] = true
		if _, ok := doc.Paths[route][strings.ToLower(method)]; !ok {
			t.Errorf("route %s %s is not in the OpenAPI document", method, route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, ops := range doc.Paths {
		for m, op := range ops {
			if !served[m+" "+path] {
				t.Errorf("OpenAPI describes %s %s, which is not served", m, path)
			}
			var o struct {
				Security []any  `json:"security"`
				MinRole  string `json:"x-min-role"`
				Public   bool   `json:"x-public"`
			}
			json.Unmarshal(op, &o)
			if strings.HasPrefix(path, Base) && !o.Public && (len(o.Security) == 0 || o.MinRole == "") {
				t.Errorf("%s %s: no security or minimum role documented", m, path)
			}
		}
	}
	if len(served) < 50 {
		t.Fatalf("only %d routes", len(served))
	}
	// Request schemas reject unknown fields, as the decoder does.
	if !strings.Contains(string(r.body), `"additionalProperties": false`) || !strings.Contains(string(r.body), `"CreateFlowInput"`) {
		t.Fatal("schemas missing")
	}
}

func TestHealthAndMetrics(t *testing.T) {
	h := newHarness(t, sqliteURL(t))
	h.anon().must(200, "GET", "/healthz", nil, nil)
	h.login("admin", h.adminPassword)
	// Without a metrics token the API listener does not serve metrics; the
	// metrics listener does.
	if r := h.anon().do("GET", "/metrics", nil); r.code != 404 || strings.Contains(string(r.body), "connectplus_") {
		t.Fatalf("metrics on the API without a token: %d %s", r.code, r.body)
	}
	rec := httptest.NewRecorder()
	h.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`connectplus_http_requests_total{code="200",method="POST",route="/api/v1/auth/login"}`, `connectplus_logins_total{outcome="success"} 1`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Every request is logged with its id and route; the login body is not.
	logs := h.logs.String()
	if !strings.Contains(logs, `"route":"/api/v1/auth/login"`) || !strings.Contains(logs, `"request_id"`) || strings.Contains(logs, h.adminPassword) {
		t.Fatalf("logs: %s", logs)
	}
	if r := h.anon().do("GET", "/api/v1/nope", nil); r.code != 404 || r.errCode(t) != "not_found" {
		t.Fatalf("unknown route: %d %s", r.code, r.body)
	}
}
