package secrets

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func key(b byte) []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = b
	}
	return k
}

func TestSealOpenAndRotation(t *testing.T) {
	old, err := NewKeyring(key(1))
	if err != nil {
		t.Fatal(err)
	}
	id, ct, err := old.Seal([]byte("hunter2"), []byte("org/db_password"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ct, "hunter2") {
		t.Fatal("plaintext visible in ciphertext")
	}
	pt, err := old.Open(id, ct, []byte("org/db_password"))
	if err != nil || string(pt) != "hunter2" {
		t.Fatalf("open: %q %v", pt, err)
	}
	if _, err := old.Open(id, ct, []byte("org/other")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("moved ciphertext opened: %v", err)
	}
	// Rotation: the new keyring keeps the old key for decryption only.
	kr, err := NewKeyring(key(2), key(1))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := kr.Open(id, ct, []byte("org/db_password")); err != nil || string(pt) != "hunter2" {
		t.Fatalf("open with old key: %q %v", pt, err)
	}
	nid, nct, err := kr.Rewrap(id, ct)
	if err != nil || nid != kr.CurrentID() || nid == id {
		t.Fatalf("rewrap: %s %v", nid, err)
	}
	fresh, _ := NewKeyring(key(2))
	if pt, err := fresh.Open(nid, nct, []byte("org/db_password")); err != nil || string(pt) != "hunter2" {
		t.Fatalf("open rewrapped: %q %v", pt, err)
	}
	if _, err := fresh.Open(id, ct, []byte("org/db_password")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown key: %v", err)
	}
	// Tampering is detected.
	bad := ct[:len(ct)-2] + "AA"
	if _, err := old.Open(id, bad, []byte("org/db_password")); err == nil {
		t.Fatal("tampered ciphertext opened")
	}
}

func TestLoadSources(t *testing.T) {
	dir := t.TempDir()
	none := func(string) string { return "" }
	kr, gen, err := Load(LoadOptions{DataDir: dir, Getenv: none})
	if err != nil || !gen {
		t.Fatalf("generate: %v %v", gen, err)
	}
	st, err := os.Stat(filepath.Join(dir, DefaultKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", st, err)
	}
	kr2, gen, err := Load(LoadOptions{DataDir: dir, Getenv: none})
	if err != nil || gen || kr2.CurrentID() != kr.CurrentID() {
		t.Fatalf("reload: %v %v", gen, err)
	}
	b64 := base64.StdEncoding.EncodeToString(key(7))
	env := func(k string) string {
		if k == EnvMasterKey {
			return b64
		}
		return ""
	}
	kr3, _, err := Load(LoadOptions{DataDir: dir, Getenv: env})
	if err != nil || kr3.CurrentID() != KeyID(key(7)) {
		t.Fatalf("env key: %v", err)
	}
	f := filepath.Join(t.TempDir(), "keys")
	os.WriteFile(f, []byte("# current\n"+base64.StdEncoding.EncodeToString(key(3))+"\n"+b64+"\n"), 0o600)
	kr4, _, err := Load(LoadOptions{KeyFile: f, Getenv: env})
	if err != nil || kr4.CurrentID() != KeyID(key(3)) || !kr4.Has(KeyID(key(7))) {
		t.Fatalf("file keyring: %v", err)
	}
	os.WriteFile(f, []byte("short"), 0o600)
	if _, _, err := Load(LoadOptions{KeyFile: f, Getenv: none}); err == nil {
		t.Fatal("bad key accepted")
	}
}
