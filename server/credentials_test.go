package server

import (
	"context"
	"testing"
	"time"

	"github.com/connectplus/connectplus/store"
)

func tokenClient(h *harness, c *client, name, scope string) *client {
	h.t.Helper()
	var tc TokenCreated
	c.must(201, "POST", "/api/v1/tokens", map[string]string{"name": name, "scope": scope}, &tc)
	bot := h.anon()
	bot.name, bot.token = c.name+"/"+name, tc.Token
	return bot
}

func memberID(t *testing.T, c *client, username string) string {
	t.Helper()
	var ms []store.Membership
	c.must(200, "GET", "/api/v1/users", nil, &ms)
	for _, m := range ms {
		if m.Username == username {
			return m.UserID
		}
	}
	t.Fatalf("no member %s", username)
	return ""
}

// TestTokensAfterCompromise: a password change ends sessions but, on its
// own, leaves API tokens valid; "revoke all my tokens" (also a flag of the
// password change) and an admin-forced reset revoke every token the user
// holds in every organisation (issue 14.11).
func TestTokensAfterCompromise(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		tm := h.team()
		ctx := context.Background()

		// The editor is also a member of a second organisation, with a
		// token there.
		var other store.Org
		tm.admin.must(201, "POST", "/api/v1/orgs", map[string]string{"name": "second"}, &other)
		u, err := h.st.GetUserByName(ctx, "editor")
		if err != nil {
			t.Fatal(err)
		}
		if err := h.st.UpsertMembership(ctx, store.Membership{OrgID: other.ID, UserID: u.ID, Role: store.RoleEditor, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		mint := func() (*client, *client) {
			t.Helper()
			sess := h.login("editor", "editor-Password-1234")
			here := tokenClient(h, sess, "ci", "write")
			sess.org = other.ID
			there := tokenClient(h, sess, "ci-second", "write")
			return here, there
		}
		alive := func(want bool, cs ...*client) {
			t.Helper()
			for _, c := range cs {
				r := c.do("GET", "/api/v1/auth/me", nil)
				if (r.code == 200) != want {
					t.Fatalf("%s: want alive=%v, got %d %s", c.name, want, r.code, r.body)
				}
			}
		}

		// A plain password change keeps tokens (CI keeps working)...
		here, there := mint()
		sess := h.login("editor", "editor-Password-1234")
		sess.must(204, "POST", "/api/v1/auth/password", map[string]string{"oldPassword": "editor-Password-1234", "newPassword": "editor-Password-5678"}, nil)
		alive(true, here, there)
		// ...revokeTokens revokes them all, in both organisations.
		sess = h.login("editor", "editor-Password-5678")
		sess.must(204, "POST", "/api/v1/auth/password", map[string]any{"oldPassword": "editor-Password-5678", "newPassword": "editor-Password-1234", "revokeTokens": true}, nil)
		alive(false, here, there)

		// "Revoke all my tokens", through a session or a token.
		here, there = mint()
		var rv RevokedTokens
		here.must(200, "POST", "/api/v1/tokens/revoke-all", nil, &rv)
		if rv.Revoked != 2 {
			t.Fatalf("revoked %d", rv.Revoked)
		}
		alive(false, here, there)

		// An admin-forced reset ends sessions and revokes every token.
		here, there = mint()
		sess = h.login("editor", "editor-Password-1234")
		editorID := memberID(t, tm.admin, "editor")
		// admin2 does not administer "second", where the editor is a member.
		if r := tm.admin2.do("POST", "/api/v1/users/"+editorID+"/password", map[string]string{"newPassword": "reset-Password-0000"}); r.code != 403 {
			t.Fatalf("reset of a member of another organisation: %d %s", r.code, r.body)
		}
		alive(true, here, there, sess)
		tm.admin.must(204, "POST", "/api/v1/users/"+editorID+"/password", map[string]string{"newPassword": "reset-Password-0000"}, nil)
		alive(false, here, there, sess)
		h.login("editor", "reset-Password-0000")

		// Org admins cannot reset a fellow admin (and approve as them), nor
		// themselves without the old password.
		if r := tm.admin2.do("POST", "/api/v1/users/"+memberID(t, tm.admin, "admin")+"/password", map[string]string{"newPassword": "taken-Over-123456"}); r.code != 403 {
			t.Fatalf("admin resets an admin: %d %s", r.code, r.body)
		}
		if r := tm.admin.do("POST", "/api/v1/users/"+memberID(t, tm.admin, "admin")+"/password", map[string]string{"newPassword": "taken-Over-123456"}); r.code != 403 {
			t.Fatalf("self reset: %d %s", r.code, r.body)
		}
		// admin2 resets the viewer, who belongs to this organisation only.
		viewerTok := tokenClient(h, tm.viewer, "ro", "read")
		tm.admin2.must(204, "POST", "/api/v1/users/"+memberID(t, tm.admin, "viewer")+"/password", map[string]string{"newPassword": "viewer-Password-9999"}, nil)
		alive(false, viewerTok, tm.viewer)

		var aud struct {
			Items []store.AuditEntry `json:"items"`
		}
		tm.admin.must(200, "GET", "/api/v1/audit?action=user.password-reset", nil, &aud)
		if len(aud.Items) != 2 {
			t.Fatalf("reset audit: %+v", aud.Items)
		}
	})
}
