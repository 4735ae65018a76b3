package clientcmd

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/secrets"
	"github.com/connectplus/connectplus/server"
	"github.com/connectplus/connectplus/store"
)

func newNothing(*block.Config, *block.Env) (block.Block, error) { return struct{}{}, nil }

func registry(t *testing.T) *block.Registry {
	reg := block.NewRegistry()
	err := reg.Register(
		&block.Spec{Type: "src_read", Label: "Source", Class: block.ClassSource, Category: "Source", Description: "Reads files.",
			Input: block.KindNone, Output: block.KindFile, New: newNothing,
			Fields: []block.Field{
				{Key: "hostname", Label: "Host", Type: block.TypeString, Required: true, FromConfigs: true},
				{Key: "password", Label: "Password", Type: block.TypeString, Secret: true},
				{Key: "sourceDirectory", Label: "Dir", Type: block.TypeString, Required: true},
			}},
		&block.Spec{Type: "sink_write", Label: "Sink", Class: block.ClassExecutor, Category: "Destination", Description: "Writes files.",
			Input: block.KindFile, Output: block.KindFile, New: newNothing,
			Fields: []block.Field{{Key: "remotePath", Label: "Remote path", Type: block.TypeString, Required: true}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

const doc = `name: Orders
blocks:
  - type: src_read
    name: read
    config:
      hostname: {$config: sftp_host}
      password: {$config: sftp_password}
      sourceDirectory: /in
    relations:
      - to: write
  - type: sink_write
    name: write
    config:
      remotePath: /out
`

// run executes one CLI invocation and returns its output.
func run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "connectplus", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(Commands()...)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := run(t, stdin, args...)
	if err != nil {
		t.Fatalf("connectplus %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func TestClientAgainstServer(t *testing.T) {
	ctx := context.Background()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv(EnvServer, "")
	t.Setenv(EnvToken, "")
	kr, _ := secrets.NewKeyring(bytes.Repeat([]byte{1}, 32))
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "cp.db"), store.WithKeyring(kr))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := control.New(control.Options{Store: st, Keyring: kr, Registry: registry(t)})
	if _, _, err := svc.Bootstrap(ctx, "admin-Password-1234"); err != nil {
		t.Fatal(err)
	}
	api, err := server.New(server.Config{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(api)
	defer hs.Close()

	adminUser, _ := st.GetUserByName(ctx, "admin")
	admin, err := svc.ActorFor(ctx, adminUser, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ name, role string }{{"editor", "editor"}, {"admin2", "admin"}} {
		inv, err := svc.Invite(ctx, admin, control.InviteInput{Username: u.name, Role: u.role})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.AcceptInvitation(ctx, control.AcceptInput{Code: inv.Code, Password: u.name + "-Password-1234"}); err != nil {
			t.Fatal(err)
		}
	}
	login := func(user string) {
		t.Helper()
		out := mustRun(t, user+"-Password-1234\n", "login", "--server", hs.URL, "--username", user, "--password-stdin")
		if !strings.Contains(out, "Logged in") {
			t.Fatalf("login: %s", out)
		}
	}

	if _, err := run(t, "", "flows", "list"); err == nil || !strings.Contains(err.Error(), "not logged in") {
		t.Fatalf("before login: %v", err)
	}
	if _, err := run(t, "wrong\n", "login", "--server", hs.URL, "--username", "editor", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "wrong username or password") {
		t.Fatalf("bad password: %v", err)
	}
	login("editor")
	p, _ := CredentialsPath()
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", fi, err)
	}
	creds, err := LoadCredentials()
	if err != nil || !strings.HasPrefix(creds.Token, "cpt_") || creds.Server != hs.URL {
		t.Fatalf("credentials: %+v %v", creds, err)
	}

	file := filepath.Join(t.TempDir(), "orders.yaml")
	os.WriteFile(file, []byte(doc), 0o644)
	if out := mustRun(t, "", "flows", "apply", "-f", file); !strings.Contains(out, "created Orders") || !strings.Contains(out, "v1 Draft") {
		t.Fatalf("apply create: %s", out)
	}
	// Submitting before the configurations exist lists the problems.
	_, err = run(t, "", "flows", "submit", "Orders")
	if err == nil || !strings.Contains(err.Error(), "blocks[0].config.hostname") {
		t.Fatalf("submit invalid: %v", err)
	}
	mustRun(t, "", "configs", "set", "sftp_host", "sftp.example.com")
	mustRun(t, "hunter2-secret\n", "configs", "set", "sftp_password", "--secret", "--value-stdin")
	os.WriteFile(file, []byte(strings.Replace(doc, "/in", "/incoming", 1)), 0o644)
	if out := mustRun(t, "", "flows", "apply", "-f", file); !strings.Contains(out, "saved Orders") {
		t.Fatalf("apply update: %s", out)
	}

	// The admin approves the config requests (maker-checker) through the API.
	login("admin")
	c, _ := fromCommand()
	var reqs []struct {
		ID string `json:"id"`
	}
	if _, err := c.Do("GET", "/config-requests?status=Pending", nil, &reqs); err != nil || len(reqs) != 2 {
		t.Fatalf("requests: %v %v", reqs, err)
	}
	for _, r := range reqs {
		if _, err := c.Do("POST", "/config-requests/"+r.ID+"/approve", map[string]string{"comment": "ok"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if out := mustRun(t, "", "configs", "list"); !strings.Contains(out, "****") || strings.Contains(out, "hunter2") {
		t.Fatalf("configs list: %s", out)
	}

	login("editor")
	if out := mustRun(t, "", "flows", "submit", "Orders"); !strings.Contains(out, "Awaiting Approval") {
		t.Fatalf("submit: %s", out)
	}
	if _, err := run(t, "", "flows", "approve", "Orders", "--reason", "mine"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("editor approves: %v", err)
	}
	login("admin2")
	if _, err := run(t, "", "flows", "approve", "Orders"); err == nil || !strings.Contains(err.Error(), "--reason") {
		t.Fatalf("approve without reason: %v", err)
	}
	if out := mustRun(t, "", "flows", "approve", "Orders", "--reason", "reviewed"); !strings.Contains(out, "v1: Approved") {
		t.Fatalf("approve: %s", out)
	}
	if out := mustRun(t, "", "flows", "live", "Orders", "--version", "1"); !strings.Contains(out, "v1: Live") {
		t.Fatalf("live: %s", out)
	}
	if out := mustRun(t, "", "flows", "list"); !strings.Contains(out, "Orders") || !strings.Contains(out, "v1") {
		t.Fatalf("list: %s", out)
	}
	if out := mustRun(t, "", "flows", "get", "Orders"); !strings.Contains(out, "/incoming") {
		t.Fatalf("get: %s", out)
	}
	if out := mustRun(t, "", "flows", "get", "Orders", "--versions"); !strings.Contains(out, "Draft") || !strings.Contains(out, "Live") {
		t.Fatalf("versions: %s", out)
	}
	if out := mustRun(t, "", "flows", "diff", "Orders", "1", "2"); !strings.Contains(out, "no changes") {
		t.Fatalf("diff: %s", out)
	}
	if out := mustRun(t, "", "configs", "sync", "--name", "sftp_password"); !strings.Contains(out, "synced Orders (config revision 1)") {
		t.Fatalf("sync: %s", out)
	}
	if out := mustRun(t, "", "configs", "sync", "--flow", "Orders"); !strings.Contains(out, "revision 2") {
		t.Fatalf("sync flow: %s", out)
	}
	// Reject path.
	login("editor")
	os.WriteFile(file, []byte(strings.Replace(doc, "/in", "/v2", 1)), 0o644)
	mustRun(t, "", "flows", "apply", "-f", file)
	mustRun(t, "", "flows", "submit", "Orders")
	login("admin2")
	if out := mustRun(t, "", "flows", "reject", "Orders", "--comment", "no"); !strings.Contains(out, "v2: Rejected") {
		t.Fatalf("reject: %s", out)
	}
	// --token login stores an existing token.
	tokenCreds, _ := LoadCredentials()
	out := mustRun(t, "", "login", "--server", hs.URL, "--token", tokenCreds.Token)
	if !strings.Contains(out, "as admin2") {
		t.Fatalf("token login: %s", out)
	}
}
