package clientcmd

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/secrets"
	"github.com/connectplus/connectplus/server"
	"github.com/connectplus/connectplus/store"
)

// `connectplus flows copy`, `copies` and `paste` against a server: copy in
// the default organisation, log in to ANB, paste there as a Draft whose
// missing Extension Configurations are printed.
func TestCopyPasteCommands(t *testing.T) {
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
	anb, err := svc.CreateOrg(ctx, admin, control.CreateOrgInput{Name: "ANB"})
	if err != nil {
		t.Fatal(err)
	}
	adminB, err := svc.ActorFor(ctx, adminUser, anb.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []control.Actor{admin, adminB} {
		inv, err := svc.Invite(ctx, a, control.InviteInput{Username: "editor", Role: control.RoleEditor})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.AcceptInvitation(ctx, control.AcceptInput{Code: inv.Code, Password: "editor-Password-1234"}); err != nil {
			t.Fatal(err)
		}
	}
	login := func(org string) {
		t.Helper()
		mustRun(t, "editor-Password-1234\n", "login", "--server", hs.URL, "--username", "editor", "--password-stdin", "--org", org)
	}
	login("default")
	file := filepath.Join(t.TempDir(), "orders.yaml")
	if err := os.WriteFile(file, []byte("tags: [nightly]\n"+doc), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "", "flows", "apply", "-f", file)
	if _, err := run(t, "", "flows", "copy", "Orders"); err == nil || !strings.Contains(err.Error(), "--description") {
		t.Fatalf("copy without a description: %v", err)
	}
	out := mustRun(t, "", "flows", "copy", "Orders", "--description", "Move to ANB organization")
	if !strings.Contains(out, "Copied Orders v1 from default as cpy_") || !strings.Contains(out, "not copied: the tags") {
		t.Fatalf("copy: %s", out)
	}
	id := out[strings.Index(out, "cpy_"):]
	id = id[:strings.IndexAny(id, ". \n")]

	login("ANB")
	out = mustRun(t, "", "flows", "copies")
	if !strings.Contains(out, id) || !strings.Contains(out, "Move to ANB organization") || !strings.Contains(out, "default") {
		t.Fatalf("copies: %s", out)
	}
	out = mustRun(t, "", "flows", "paste", id)
	if !strings.Contains(out, "Pasted as Orders") || !strings.Contains(out, "v1: Draft") || !strings.Contains(out, `Extension Configuration "sftp_host" does not exist`) {
		t.Fatalf("paste: %s", out)
	}
	fs, _, err := st.ListDataflows(ctx, store.FlowFilter{OrgID: anb.ID})
	if err != nil || len(fs) != 1 || len(fs[0].Tags) != 0 {
		t.Fatalf("ANB's dataflows: %+v %v", fs, err)
	}
	if _, err := run(t, "", "flows", "paste", id); err == nil || !strings.Contains(err.Error(), "another name") {
		t.Fatalf("second paste: %v", err)
	}
}
