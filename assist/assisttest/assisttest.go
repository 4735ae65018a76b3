// Package assisttest builds, for tests of the AI tool layer, a real store
// (SQLite in a temporary directory) with two organisations, their users with
// every role, API tokens and Extension Configurations (one of them secret).
// It is test-only: only _test.go files import it.
package assisttest

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/connectplus/connectplus/blocks/all"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/quartz"
	"github.com/connectplus/connectplus/secrets"
	"github.com/connectplus/connectplus/secrets/redact"
	"github.com/connectplus/connectplus/store"
)

// SecretValue is the value of org A's secret Extension Configuration
// capillary_client_secret; no tool output and no model request may hold it.
const SecretValue = "s3cr3t-client-VALUE-7f1e"

// SFTPPassword is org A's secret sftp_password (the template catalogue's
// default name for it).
const SFTPPassword = "sftp-PASSWORD-91d2"

// Password of every seeded user but the bootstrap admin.
const Password = "test-Password-1234"

// User is one seeded user with an API token of the scope matching its role.
type User struct {
	Name  string
	Token string
	Actor control.Actor
}

// Env is the seeded installation.
type Env struct {
	DataDir  string
	DBURL    string
	Keyring  *secrets.Keyring
	Store    *store.Store
	Service  *control.Service
	Redactor *redact.Redactor
	// Org A ("default"): two admins, an editor, a viewer.
	AdminA, Admin2A, EditorA, ViewerA User
	// Org B: an admin who is also the editor there.
	AdminB User
	OrgB   store.Org
}

// New seeds an installation under t.TempDir().
func New(t testing.TB) *Env {
	t.Helper()
	ctx := context.Background()
	e := &Env{DataDir: t.TempDir(), Redactor: redact.New()}
	key := bytes.Repeat([]byte{7}, 32)
	kr, err := secrets.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	e.Keyring = kr
	e.DBURL = "sqlite://" + filepath.Join(e.DataDir, "connectplus.db")
	st, err := store.Open(ctx, e.DBURL, store.WithKeyring(kr), store.WithRedactor(e.Redactor))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.Store = st
	e.Service = control.New(control.Options{Store: st, Keyring: kr, Registry: all.Registry(),
		Validate: dataflow.ValidateOptions{CronCheck: quartz.Check}})
	svc := e.Service
	if _, _, err := svc.Bootstrap(ctx, "admin-Password-1234"); err != nil {
		t.Fatal(err)
	}
	if err := svc.SeedUsers(ctx, []control.SeedUser{
		{Username: "admin2", Password: Password, Role: control.RoleAdmin},
		{Username: "editor", Password: Password, Role: control.RoleEditor},
		{Username: "viewer", Password: Password, Role: control.RoleViewer},
	}); err != nil {
		t.Fatal(err)
	}
	e.AdminA = e.user(t, control.BootstrapAdmin, "", store.ScopeAdmin)
	e.Admin2A = e.user(t, "admin2", "", store.ScopeAdmin)
	e.EditorA = e.user(t, "editor", "", store.ScopeWrite)
	e.ViewerA = e.user(t, "viewer", "", store.ScopeRead)

	// Org B, created by a platform admin (the bootstrap admin) who then
	// hands it to its own admin.
	boot, err := svc.ActorFor(ctx, mustUser(t, st, control.BootstrapAdmin), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if e.OrgB, err = svc.CreateOrg(ctx, boot, control.CreateOrgInput{Name: "org-b"}); err != nil {
		t.Fatal(err)
	}
	bootB, err := svc.ActorFor(ctx, mustUser(t, st, control.BootstrapAdmin), e.OrgB.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := svc.Invite(ctx, bootB, control.InviteInput{Username: "bob", Role: control.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AcceptInvitation(ctx, control.AcceptInput{Code: inv.Code, Password: Password}); err != nil {
		t.Fatal(err)
	}
	e.AdminB = e.user(t, "bob", e.OrgB.ID, store.ScopeAdmin)

	// Org A's Extension Configurations: requested by the editor, approved
	// by an admin (maker-checker), as in production.
	for _, c := range []control.ConfigRequestInput{
		{Name: "capillary_client_key", Value: "client-key-1"},
		{Name: "capillary_client_secret", Value: SecretValue, IsSecret: true},
		{Name: "sftp_host", Value: "sftp.example.com"},
		{Name: "sftp_password", Value: SFTPPassword, IsSecret: true},
	} {
		e.SetConfig(t, c.Name, c.Value, c.IsSecret)
	}
	return e
}

// SetConfig adds or changes one of org A's Extension Configurations
// (requested by the editor, approved by the first admin).
func (e *Env) SetConfig(t testing.TB, name, value string, secret bool) {
	t.Helper()
	ctx := context.Background()
	req, err := e.Service.RequestConfig(ctx, e.EditorA.Actor, control.ConfigRequestInput{Name: name, Value: value, IsSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Service.ApproveConfigRequest(ctx, e.AdminA.Actor, req.ID, "ok"); err != nil {
		t.Fatal(err)
	}
}

func mustUser(t testing.TB, st *store.Store, name string) store.User {
	t.Helper()
	u, err := st.GetUserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *Env) user(t testing.TB, name, orgID, scope string) User {
	t.Helper()
	ctx := context.Background()
	u := mustUser(t, e.Store, name)
	a, err := e.Service.ActorFor(ctx, u, orgID, "")
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := e.Service.CreateToken(ctx, a, control.CreateTokenInput{Name: "mcp", Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	ta, err := e.TokenActor(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	return User{Name: name, Token: tok, Actor: ta}
}

// TokenActor resolves an API token as the server does.
func (e *Env) TokenActor(ctx context.Context, token string) (control.Actor, error) {
	tk, u, err := e.Service.TokenUser(ctx, token)
	if err != nil {
		return control.Actor{}, err
	}
	return e.Service.ActorFor(ctx, u, tk.OrgID, control.ScopeRole(tk.Scope))
}

// SetDocument writes a version's document straight into the store,
// bypassing control's checks: how a Draft saved before inline secrets were
// refused still looks.
func (e *Env) SetDocument(t testing.TB, orgID, flowID string, number int, document string) {
	t.Helper()
	ctx := context.Background()
	v, err := e.Store.GetVersion(ctx, orgID, flowID, number)
	if err != nil {
		t.Fatal(err)
	}
	v.Document = document
	if err := e.Store.UpdateVersion(ctx, &v, v.State); err != nil {
		t.Fatal(err)
	}
}

// JoinOrgB makes an existing user of org A a member of org B with role
// (invited by org B's admin, redeemed with the user's own password) and
// returns the user in org B, with a token of that organisation whose scope
// matches the role: what copy/paste between organisations needs.
func (e *Env) JoinOrgB(t testing.TB, name, role string) User {
	t.Helper()
	ctx := context.Background()
	inv, err := e.Service.Invite(ctx, e.AdminB.Actor, control.InviteInput{Username: name, Role: role})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Service.AcceptInvitation(ctx, control.AcceptInput{Code: inv.Code, Password: Password}); err != nil {
		t.Fatal(err)
	}
	scope := map[string]string{control.RoleViewer: store.ScopeRead, control.RoleEditor: store.ScopeWrite, control.RoleAdmin: store.ScopeAdmin}[role]
	return e.user(t, name, e.OrgB.ID, scope)
}
