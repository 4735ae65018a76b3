package server

import (
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/store"
)

// addUser invites username with role through admin and redeems the code
// with password (a new account, or an existing one's password).
func (h *harness) addUser(admin *client, username, password, role string) store.Membership {
	h.t.Helper()
	var inv control.InvitationCreated
	admin.must(201, "POST", "/api/v1/users", map[string]string{"username": username, "role": role}, &inv)
	var m store.Membership
	h.anon().must(200, "POST", "/api/v1/invitations/accept", map[string]string{"code": inv.Code, "password": password}, &m)
	return m
}

// TestInvitations: POST /users answers existing and unknown usernames
// alike, and nobody joins an organisation without redeeming its one-time
// code — an existing account only with its own password (issue 14.8).
func TestInvitations(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		tm := h.team()
		var other store.Org
		tm.admin.must(201, "POST", "/api/v1/orgs", map[string]string{"name": "other"}, &other)
		otherAdmin := h.login("admin", h.adminPassword)
		otherAdmin.org = other.ID
		h.addUser(otherAdmin, "elsewhere", "elsewhere-Password-1", "editor")

		// admin2 (no platform administrator) invites an existing account of
		// another organisation and an unknown name: the same answer.
		shape := func(r *resp) string {
			var ic control.InvitationCreated
			r.decode(t, &ic)
			if !strings.HasPrefix(ic.Code, control.InvitationPrefix) || ic.Invitation.Status != store.InvitePending {
				t.Fatalf("invitation: %s", r.body)
			}
			ic.Code, ic.Invitation.ID, ic.Invitation.Username = "", "", ""
			ic.Invitation.CreatedAt, ic.Invitation.ExpiresAt = ic.Invitation.CreatedAt.Truncate(1e12), ic.Invitation.ExpiresAt.Truncate(1e12)
			return string(mustJSON(ic))
		}
		existing := tm.admin2.do("POST", "/api/v1/users", map[string]string{"username": "elsewhere", "role": "viewer"})
		unknown := tm.admin2.do("POST", "/api/v1/users", map[string]string{"username": "nobody-yet", "role": "viewer"})
		if existing.code != 201 || unknown.code != 201 || shape(existing) != shape(unknown) {
			t.Fatalf("answers differ: %d %s / %d %s", existing.code, existing.body, unknown.code, unknown.body)
		}
		var exInv, unInv control.InvitationCreated
		existing.decode(t, &exInv)
		unknown.decode(t, &unInv)

		// Not a member until the owner accepts.
		for _, m := range memberNames(t, tm.admin2) {
			if m == "elsewhere" {
				t.Fatal("existing account added without consent")
			}
		}
		// A wrong password is refused with the one answer of every failure;
		// the right one joins.
		bad := h.anon().do("POST", "/api/v1/invitations/accept", map[string]string{"code": exInv.Code, "password": "guessed-Password-1"})
		bogus := h.anon().do("POST", "/api/v1/invitations/accept", map[string]string{"code": "cpi_bogus", "password": "guessed-Password-1"})
		if bad.code != 400 || bogus.code != 400 || string(bad.body) != string(bogus.body) {
			t.Fatalf("failures differ: %d %s / %d %s", bad.code, bad.body, bogus.code, bogus.body)
		}
		var m store.Membership
		h.anon().must(200, "POST", "/api/v1/invitations/accept", map[string]string{"code": exInv.Code, "password": "elsewhere-Password-1"}, &m)
		if m.Username != "elsewhere" || m.Role != "viewer" || m.OrgID == other.ID {
			t.Fatalf("joined: %+v", m)
		}
		// One time only.
		if r := h.anon().do("POST", "/api/v1/invitations/accept", map[string]string{"code": exInv.Code, "password": "elsewhere-Password-1"}); r.code != 400 {
			t.Fatalf("code redeemed twice: %d %s", r.code, r.body)
		}
		// The unknown name becomes a new account with the password given.
		h.anon().must(200, "POST", "/api/v1/invitations/accept", map[string]string{"code": unInv.Code, "password": "nobody-Password-1"}, nil)
		h.login("nobody-yet", "nobody-Password-1")

		// Repeated wrong passwords revoke the invitation (no password
		// guessing through a code).
		// (The clock moves past each failure's lockout, so every guess
		// reaches the invitation rather than the address throttle.)
		var guess control.InvitationCreated
		otherAdmin.must(201, "POST", "/api/v1/users", map[string]string{"username": "editor", "role": "viewer"}, &guess)
		for i := 0; i < 5; i++ {
			h.clock.Advance(16 * time.Minute)
			if r := h.anon().do("POST", "/api/v1/invitations/accept", map[string]string{"code": guess.Code, "password": "wrong-guess-12345"}); r.code != 400 {
				t.Fatalf("guess %d: %d %s", i, r.code, r.body)
			}
		}
		h.clock.Advance(16 * time.Minute)
		if r := h.anon().do("POST", "/api/v1/invitations/accept", map[string]string{"code": guess.Code, "password": "editor-Password-1234"}); r.code != 400 {
			t.Fatalf("invitation survived 5 wrong passwords: %d %s", r.code, r.body)
		}
		// Revoked invitations cannot be redeemed; invitations are listed
		// without codes.
		h.clock.Advance(16 * time.Minute)
		var rev control.InvitationCreated
		tm.admin.must(201, "POST", "/api/v1/users", map[string]string{"username": "revoked-one", "role": "viewer"}, &rev)
		tm.admin.must(204, "DELETE", "/api/v1/invitations/"+rev.Invitation.ID, nil, nil)
		if r := h.anon().do("POST", "/api/v1/invitations/accept", map[string]string{"code": rev.Code, "password": "revoked-Password-1"}); r.code != 400 {
			t.Fatalf("revoked invitation redeemed: %d", r.code)
		}
		// (Only the creation answers carried codes; forget them.)
		h.mu.Lock()
		h.responses.Reset()
		h.mu.Unlock()
		r := tm.admin.must(200, "GET", "/api/v1/invitations", nil, nil)
		if strings.Contains(string(r.body), rev.Code) || !strings.Contains(string(r.body), "revoked-one") {
			t.Fatalf("invitations: %s", r.body)
		}
		// Invitations and their audit never hold a code.
		tm.admin.must(200, "GET", "/api/v1/audit/export", nil, nil)
		assertNoLeak(t, h, exInv.Code, unInv.Code, "elsewhere-Password-1")
	})
}

func memberNames(t *testing.T, c *client) []string {
	t.Helper()
	var ms []store.Membership
	c.must(200, "GET", "/api/v1/users", nil, &ms)
	var out []string
	for _, m := range ms {
		out = append(out, m.Username)
	}
	return out
}

// TestAdminGrants: an org admin cannot create or promote an admin alone —
// the grant waits for another admin, and the audit log names the pair
// (issue 14.3).
func TestAdminGrants(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		tm := h.team() // admin (platform administrator) made admin2 directly
		h.configs(tm)

		// admin2 invites a new admin account: the code does not work until
		// another admin approves.
		var ic control.InvitationCreated
		tm.admin2.must(201, "POST", "/api/v1/users", map[string]string{"username": "sock-puppet", "role": "admin"}, &ic)
		if ic.RoleRequest == nil || ic.Invitation.Status != store.InviteAwaiting {
			t.Fatalf("admin invitation not held for approval: %+v", ic)
		}
		accept := map[string]string{"code": ic.Code, "password": "sock-Password-1234"}
		if r := h.anon().do("POST", "/api/v1/invitations/accept", accept); r.code != 400 {
			t.Fatalf("unapproved admin invitation redeemed: %d %s", r.code, r.body)
		}
		if r := tm.admin2.do("POST", "/api/v1/role-requests/"+ic.RoleRequest.ID+"/approve", nil); r.code != 403 {
			t.Fatalf("admin2 approves own grant: %d %s", r.code, r.body)
		}
		if r := tm.editor.do("POST", "/api/v1/role-requests/"+ic.RoleRequest.ID+"/approve", nil); r.code != 403 {
			t.Fatalf("editor approves a grant: %d", r.code)
		}
		tm.admin.must(200, "POST", "/api/v1/role-requests/"+ic.RoleRequest.ID+"/approve", map[string]string{"comment": "new on-call admin"}, nil)
		h.anon().must(200, "POST", "/api/v1/invitations/accept", accept, nil)

		// Promoting a member: 202 and a request, the role unchanged.
		editorID := memberID(t, tm.admin, "editor")
		var rc RoleChange
		tm.admin2.must(202, "PUT", "/api/v1/users/"+editorID+"/role", map[string]string{"role": "admin"}, &rc)
		if rc.Membership.Role != "editor" || rc.RoleRequest == nil {
			t.Fatalf("promotion: %+v", rc)
		}
		// The editor, still an editor, cannot approve admin-only things.
		if r := tm.editor.do("POST", "/api/v1/role-requests/"+rc.RoleRequest.ID+"/approve", nil); r.code != 403 {
			t.Fatalf("grantee approves: %d", r.code)
		}
		puppet := h.login("sock-puppet", "sock-Password-1234")
		puppet.must(200, "POST", "/api/v1/role-requests/"+rc.RoleRequest.ID+"/approve", nil, nil)
		var ms []store.Membership
		tm.admin.must(200, "GET", "/api/v1/users", nil, &ms)
		for _, m := range ms {
			if m.Username == "editor" && m.Role != "admin" {
				t.Fatalf("approved promotion not applied: %+v", m)
			}
		}

		// Rejection of an admin invitation revokes it.
		var ic2 control.InvitationCreated
		tm.admin2.must(201, "POST", "/api/v1/users", map[string]string{"username": "second-puppet", "role": "admin"}, &ic2)
		tm.admin.must(204, "POST", "/api/v1/role-requests/"+ic2.RoleRequest.ID+"/reject", map[string]string{"comment": "no"}, nil)
		if r := tm.admin.do("POST", "/api/v1/role-requests/"+rc.RoleRequest.ID+"/reject", nil); r.code != 409 {
			t.Fatalf("reject a decided request: %d", r.code)
		}
		if r := h.anon().do("POST", "/api/v1/invitations/accept", map[string]string{"code": ic2.Code, "password": "second-Password-12"}); r.code != 400 {
			t.Fatalf("rejected admin invitation redeemed: %d", r.code)
		}

		// The audit log shows each grant's pair.
		var aud struct {
			Items []store.AuditEntry `json:"items"`
		}
		tm.admin.must(200, "GET", "/api/v1/audit?action=role.approve", nil, &aud)
		if len(aud.Items) != 2 {
			t.Fatalf("grant audit: %+v", aud.Items)
		}
		for _, e := range aud.Items {
			if !strings.Contains(string(e.After), `"requestedBy":"admin2"`) || !strings.Contains(string(e.After), `"approvedBy":"`+e.Actor+`"`) {
				t.Fatalf("grant audit without the pair: %s", e.After)
			}
		}
	})
}
