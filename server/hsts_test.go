package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Over TLS every answer tells browsers to use HTTPS only (HSTS); over plain
// HTTP the header would be meaningless and is not sent.
func TestHSTSOnlyOverTLS(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	tlsSrv := httptest.NewTLSServer(s)
	defer tlsSrv.Close()
	plainSrv := httptest.NewServer(s)
	defer plainSrv.Close()
	for _, c := range []struct {
		client *http.Client
		url    string
		want   string
	}{
		{tlsSrv.Client(), tlsSrv.URL, "max-age=31536000"},
		{plainSrv.Client(), plainSrv.URL, ""},
	} {
		for _, path := range []string{"/openapi.json", "/api/v1/auth/me", "/no-such-route"} {
			res, err := c.client.Get(c.url + path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if got := res.Header.Get("Strict-Transport-Security"); got != c.want {
				t.Errorf("%s%s: Strict-Transport-Security %q, want %q", c.url, path, got, c.want)
			}
		}
	}
}
