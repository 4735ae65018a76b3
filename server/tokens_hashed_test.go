package server

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/connectplus/connectplus/control"
)

// TestSessionAndCSRFTokensStoredHashed logs in, then reads the database
// directly: the sessions table holds only SHA-256 hashes, and neither the
// cookie value nor the CSRF token appears anywhere in the database files
// (WAL included). The CSRF check still works against the hash.
func TestSessionAndCSRFTokensStoredHashed(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "cp.sqlite")
	h := newHarness(t, "sqlite://"+dbPath)
	c := h.login("admin", testAdminPassword)
	u, _ := url.Parse(h.http.URL)
	var cookie string
	for _, k := range c.http.Jar.Cookies(u) {
		if k.Name == SessionCookie {
			cookie = k.Value
		}
	}
	if cookie == "" || c.csrf == "" {
		t.Fatalf("cookie %q csrf %q", cookie, c.csrf)
	}
	rows, err := h.st.DB().Query(`SELECT id_hash, csrf_hash FROM sessions`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var id, csrf string
		if err := rows.Scan(&id, &csrf); err != nil {
			t.Fatal(err)
		}
		n++
		if id != control.HashSecret(cookie) || csrf != control.HashSecret(c.csrf) {
			t.Fatalf("stored session (%s, %s) is not the hashes of the tokens", id, csrf)
		}
	}
	rows.Close()
	if n != 1 {
		t.Fatalf("%d sessions", n)
	}
	for _, f := range []string{dbPath, dbPath + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, secret := range []string{cookie, c.csrf} {
			if bytes.Contains(b, []byte(secret)) {
				t.Fatalf("%s holds a raw session token", filepath.Base(f))
			}
		}
	}
	// The session works, with the right CSRF token only.
	if r := c.do("POST", "/api/v1/tokens", map[string]any{"name": "t1", "scope": "read"}); r.code != 201 {
		t.Fatalf("with CSRF: %d %s", r.code, r.body)
	}
	good := c.csrf
	c.csrf = control.HashSecret(good) // the stored value is no token
	if r := c.do("POST", "/api/v1/tokens", map[string]any{"name": "t2", "scope": "read"}); r.code != 403 {
		t.Fatalf("with the stored hash as token: %d %s", r.code, r.body)
	}
}
