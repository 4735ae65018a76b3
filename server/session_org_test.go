package server

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/store"
)

// TestSessionKeepsItsOrganisation: a cookie session acts in the
// organisation it was signed in to, not in the user's first one, when a
// request carries no X-Connectplus-Org (a reload or a new tab of the UI,
// whose organisation switcher signs in again with the chosen org). A
// request may still name another organisation of the user's; a session
// whose organisation the user left falls back to the first one.
func TestSessionKeepsItsOrganisation(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		first := h.login("admin", h.adminPassword)
		var me MeResponse
		first.must(200, "GET", "/api/v1/auth/me", nil, &me)
		home := me.OrgID
		var second store.Org
		first.must(201, "POST", "/api/v1/orgs", map[string]string{"name": "second"}, &second)
		first.must(201, "POST", "/api/v1/dataflows", map[string]string{"name": "in home"}, nil)
		inSecond := h.login("admin", h.adminPassword)
		inSecond.org = second.ID
		inSecond.must(201, "POST", "/api/v1/dataflows", map[string]string{"name": "in second"}, nil)

		names := func(c *client) []string {
			t.Helper()
			var page control.Page[store.Dataflow]
			c.must(200, "GET", "/api/v1/dataflows", nil, &page)
			var out []string
			for _, f := range page.Items {
				out = append(out, f.Name)
			}
			return out
		}

		// Signed in to the second organisation, by name and by id: the
		// session's requests, without any header, act there.
		for _, org := range []string{"second", second.ID} {
			c := h.anon()
			r := c.do("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": h.adminPassword, "org": org})
			if r.code != 200 {
				t.Fatalf("login into %s: %d %s", org, r.code, r.body)
			}
			var lr LoginResponse
			r.decode(t, &lr)
			c.csrf = lr.CSRFToken
			c.must(200, "GET", "/api/v1/auth/me", nil, &me)
			if me.OrgID != second.ID {
				t.Fatalf("session signed in to %s acts in %s, want %s", org, me.OrgID, second.ID)
			}
			if got := names(c); !slices.Contains(got, "in second") || slices.Contains(got, "in home") {
				t.Fatalf("session in %s lists %v", org, got)
			}
			// Unsafe methods too (they need the CSRF token, not the org).
			var created struct{ Dataflow store.Dataflow }
			c.must(201, "POST", "/api/v1/dataflows", map[string]string{"name": "made in " + org}, &created)
			if created.Dataflow.OrgID != second.ID {
				t.Fatalf("dataflow made in org %s", created.Dataflow.OrgID)
			}
			// A request may name another organisation of the user's.
			c.org = home
			if got := names(c); len(got) != 1 || got[0] != "in home" {
				t.Fatalf("with the header for the home org: %v", got)
			}
			c.org = ""
		}

		// A login without an org is in the first organisation, as before.
		plain := h.login("admin", h.adminPassword)
		plain.must(200, "GET", "/api/v1/auth/me", nil, &me)
		if me.OrgID != home {
			t.Fatalf("plain login acts in %s, want %s", me.OrgID, home)
		}

		// Switching (signing in again from the same browser) replaces the
		// browser's session: the old cookie no longer works.
		u0, _ := url.Parse(h.http.URL)
		var oldCookie string
		for _, k := range plain.http.Jar.Cookies(u0) {
			if k.Name == SessionCookie {
				oldCookie = k.Value
			}
		}
		if r := plain.do("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": h.adminPassword, "org": "second"}); r.code != 200 {
			t.Fatalf("switch: %d %s", r.code, r.body)
		}
		stale := h.anon()
		if r := stale.raw("GET", "/api/v1/auth/me", nil, map[string]string{"Cookie": SessionCookie + "=" + oldCookie}); r.code != http.StatusUnauthorized {
			t.Fatalf("the replaced session still answers: %d %s", r.code, r.body)
		}
		plain.must(200, "GET", "/api/v1/auth/me", nil, &me)
		if me.OrgID != second.ID {
			t.Fatalf("after the switch: %s", me.OrgID)
		}

		// The user leaves the session's organisation: the session falls
		// back to the first one instead of answering every call with 404.
		c := h.anon()
		r := c.do("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": h.adminPassword, "org": second.ID})
		if r.code != 200 {
			t.Fatalf("login: %d %s", r.code, r.body)
		}
		var u store.User
		var err error
		if u, err = h.st.GetUserByName(t.Context(), "admin"); err != nil {
			t.Fatal(err)
		}
		if err := h.st.DeleteMembership(t.Context(), second.ID, u.ID); err != nil {
			t.Fatal(err)
		}
		c.must(200, "GET", "/api/v1/auth/me", nil, &me)
		if me.OrgID != home {
			t.Fatalf("after leaving the session's org: acts in %s, want %s", me.OrgID, home)
		}
		// Naming the organisation left is refused.
		c.org = second.ID
		if r := c.do("GET", "/api/v1/dataflows", nil); r.code != http.StatusNotFound {
			t.Fatalf("dataflows of an organisation left: %d %s", r.code, r.body)
		}
	})
}
