package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/secrets"
	"github.com/connectplus/connectplus/secrets/redact"
)

// A secret the store decrypts is registered for redaction and kept out of
// the run records it stores and reads back; plain entries are not.
func TestResolvedSecretsAreRedactedFromRuns(t *testing.T) {
	ctx := context.Background()
	kr, err := secrets.NewKeyring(make([]byte, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	red := redact.New()
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "db.sqlite"), WithKeyring(kr), WithRedactor(red))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	if err := s.CreateOrg(ctx, Org{ID: "o1", Name: "o1", TimeZone: "UTC", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	const secret, plain = "10.9.8.7-secret-host", "/upload/in"
	kid, ct, err := kr.Seal([]byte(secret), ConfigAAD("o1", "host"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{
		{ID: "c1", OrgID: "o1", Name: "host", Ciphertext: ct, KeyID: kid, IsSecret: true},
		{ID: "c2", OrgID: "o1", Name: "dir", Value: plain},
	} {
		c.CreatedAt, c.UpdatedAt, c.CreatedBy, c.UpdatedBy, c.ApprovedBy = now, now, "a", "a", "b"
		if err := s.PutConfig(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"host", "dir"} {
		if _, err := s.ResolveConfig(ctx, "o1", name); err != nil {
			t.Fatal(err)
		}
	}
	var secrecy runstate.ConfigSecrecy = s
	if sec, err := secrecy.ConfigIsSecret(ctx, "o1", "host"); err != nil || !sec {
		t.Errorf("ConfigIsSecret(host) = %v, %v", sec, err)
	}
	if sec, err := secrecy.ConfigIsSecret(ctx, "o1", "dir"); err != nil || sec {
		t.Errorf("ConfigIsSecret(dir) = %v, %v", sec, err)
	}
	if _, err := secrecy.ConfigIsSecret(ctx, "o1", "nope"); err == nil {
		t.Error("ConfigIsSecret(nope) succeeded")
	}
	msg := "sftp://u@" + secret + ":22: cannot reach the server (listing " + plain + ")"
	run := runstate.Run{ID: "r1", OrgID: "o1", FlowID: "f1", Status: runstate.RunFailure, Error: msg,
		FilePath: "sftp://" + secret + plain + "/a.csv", Started: now}
	if err := s.UpsertRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := s.DB().QueryRowContext(ctx, `SELECT error || ' ' || file_path FROM runs WHERE id = 'r1'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, secret) || !strings.Contains(stored, redact.Marker) || !strings.Contains(stored, plain) {
		t.Fatalf("stored run: %q", stored)
	}
	// A row written before the value was known is redacted when read.
	if _, err := s.DB().ExecContext(ctx, `UPDATE runs SET error = ? WHERE id = 'r1'`, msg); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRun(ctx, "o1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.ListRuns(ctx, runstate.RunFilter{OrgID: "o1"})
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	for _, r := range []runstate.Run{got, list[0]} {
		if strings.Contains(r.Error+r.FilePath, secret) || !strings.Contains(r.Error, plain) {
			t.Fatalf("read run: %+v", r)
		}
	}
}
