package control

import (
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash: %s %v", h, err)
	}
	if !CheckPassword(h, "correct horse battery") || CheckPassword(h, "correct horse batterY") {
		t.Fatal("check")
	}
	for _, bad := range []string{"", "$argon2id$x", "$bcrypt$...", "$argon2id$v=19$m=0,t=0,p=0$AA$AA"} {
		if CheckPassword(bad, "x") {
			t.Fatalf("accepted %q", bad)
		}
	}
}

func TestFileNames(t *testing.T) {
	for _, ok := range []string{"orders.yaml", "Orders v2.json", "a-b_c.yml"} {
		if err := CheckExportName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"../x", "..", "a/b", `a\b`, ".hidden", "x\ny", "", "a..b"} {
		if CheckExportName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if got := SafeFileName("../../etc/passwd"); strings.ContainsAny(got, "./") || got == "" {
		t.Fatalf("SafeFileName: %q", got)
	}
	if SafeFileName("///") != "dataflow" {
		t.Fatal("empty name")
	}
}

func TestRoles(t *testing.T) {
	if MinRole(RoleAdmin, RoleViewer) != RoleViewer || ScopeRole("write") != RoleEditor || ScopeRole("bogus") != RoleViewer {
		t.Fatal("roles")
	}
	a := Actor{UserID: "u", OrgID: "o", Role: RoleEditor}
	if a.require(RoleAdmin) == nil || a.require(RoleEditor) != nil {
		t.Fatal("require")
	}
	if (Actor{Role: RoleAdmin}).require(RoleViewer) == nil {
		t.Fatal("anonymous actor allowed")
	}
}
