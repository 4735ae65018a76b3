package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// With a metrics token, /metrics on the API answers only callers that send
// it, and the metrics listener asks for it too.
func TestMetricsNeedTheToken(t *testing.T) {
	const token = "metrics-token-0123456789abcdef"
	s, err := New(Config{MetricsToken: token})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(s)
	defer api.Close()
	own := httptest.NewServer(s.MetricsHandler())
	defer own.Close()
	for _, base := range []string{api.URL, own.URL} {
		for _, c := range []struct {
			auth string
			want int
		}{
			{"", 401},
			{"Bearer wrong", 401},
			{"Bearer " + token + "x", 401},
			{"Basic " + token, 401},
			{token, 401},
			{"Bearer " + token, 200},
		} {
			req, _ := http.NewRequest("GET", base+"/metrics", nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != c.want || (c.want == 200) != strings.Contains(string(b), "go_goroutines") {
				t.Errorf("%s with %q: %d %.200s", base, c.auth, res.StatusCode, b)
			}
		}
	}
}
