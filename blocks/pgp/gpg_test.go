package pgp

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/internal/testenv"
)

// TestDecryptGnuPGMessages decrypts files made by real gpg: RSA and
// Ed25519/Cv25519 keys, binary and armored, compressed or not, signed or not.
func TestDecryptGnuPGMessages(t *testing.T) {
	g := testenv.GPG(t)
	for _, algo := range []string{"rsa3072", "ed25519"} {
		key := g.GenerateKey("Partner "+algo+" <partner-"+algo+"@example.com>", algo, "s3cret")
		plain := sample(300_000)
		in := filepath.Join(t.TempDir(), "data.csv")
		if err := os.WriteFile(in, plain, 0o600); err != nil {
			t.Fatal(err)
		}
		cases := []testenv.EncryptOptions{
			{},
			{Armor: true},
			{Compress: true},
			{Armor: true, Compress: true, Sign: true},
			{Sign: true},
		}
		for _, opts := range cases {
			name := fmt.Sprintf("%s/armor=%v,compress=%v,sign=%v", algo, opts.Armor, opts.Compress, opts.Sign)
			t.Run(name, func(t *testing.T) {
				ext := ".gpg"
				if opts.Armor {
					ext = ".asc"
				}
				enc := filepath.Join(t.TempDir(), "data.csv"+ext)
				g.Encrypt(in, enc, key.Fingerprint, opts)
				data, err := os.ReadFile(enc)
				if err != nil {
					t.Fatal(err)
				}
				for _, keyText := range []string{b64(key.SecretArmored), string(key.SecretArmored)} {
					p := newBlock(t, DecryptSpec, map[string]string{"privatekeyFile": keyText, "privatePassphrase": "s3cret"})
					var out collector
					if err := p.Process(context.Background(), fileUnit(t, "data.csv"+ext, data), &out); err != nil {
						t.Fatalf("decrypt: %v", err)
					}
					if len(out.units) != 1 {
						t.Fatalf("emitted %d units", len(out.units))
					}
					u := out.units[0]
					if u.File.Name != "data.csv" || u.Attrs[block.AttrFilename] != "data.csv" {
						t.Errorf("name = %q / %q, want data.csv", u.File.Name, u.Attrs[block.AttrFilename])
					}
					if got := readAll(t, u.File); !bytes.Equal(got, plain) {
						t.Fatalf("plaintext differs: %d bytes, want %d", len(got), len(plain))
					}
					if u.Attrs[AttrSigned] != fmt.Sprint(opts.Sign) {
						t.Errorf("signed attr = %q", u.Attrs[AttrSigned])
					}
					// Signed by the same key the block holds: verified.
					if opts.Sign && u.Attrs[AttrVerified] != "true" {
						t.Errorf("signature not verified")
					}
				}
				// With a verification key configured, unsigned files fail.
				p := newBlock(t, DecryptSpec, map[string]string{"privatekeyFile": b64(key.SecretArmored), "privatePassphrase": "s3cret", "verificationKeyFile": b64(key.PublicArmored)})
				var out collector
				err = p.Process(context.Background(), fileUnit(t, "data.csv"+ext, data), &out)
				if opts.Sign && err != nil {
					t.Fatalf("signed file with verification key: %v", err)
				}
				if !opts.Sign && (err == nil || !strings.Contains(err.Error(), "not signed")) {
					t.Fatalf("unsigned file with verification key: err = %v", err)
				}
			})
		}
	}
}

// TestSignatureBySomeoneElse: a file signed by a key that is neither the
// decryption key nor the configured verification key fails; without a
// verification key it is accepted.
func TestSignatureBySomeoneElse(t *testing.T) {
	g := testenv.GPG(t)
	recipient := g.GenerateKey("Us <us@example.com>", "ed25519", "")
	signer := g.GenerateKey("Mallory <mallory@example.com>", "ed25519", "")
	other := g.GenerateKey("Partner <partner@example.com>", "ed25519", "")
	in := filepath.Join(t.TempDir(), "x.csv")
	os.WriteFile(in, []byte("a,b\n1,2\n"), 0o600)
	enc := filepath.Join(t.TempDir(), "x.csv.gpg")
	g.Encrypt(in, enc, recipient.Fingerprint, testenv.EncryptOptions{Sign: true, SignWith: signer.Fingerprint})
	data, _ := os.ReadFile(enc)

	p := newBlock(t, DecryptSpec, map[string]string{"privatekeyFile": b64(recipient.SecretArmored)})
	var out collector
	if err := p.Process(context.Background(), fileUnit(t, "x.csv.gpg", data), &out); err != nil {
		t.Fatalf("unknown signer without verification key must be accepted: %v", err)
	}
	if out.units[0].Attrs[AttrVerified] != "false" || out.units[0].Attrs[AttrSigned] != "true" {
		t.Errorf("attrs = %v", out.units[0].Attrs)
	}
	p = newBlock(t, DecryptSpec, map[string]string{"privatekeyFile": b64(recipient.SecretArmored), "verificationKeyFile": b64(other.PublicArmored)})
	err := p.Process(context.Background(), fileUnit(t, "x.csv.gpg", data), &collector{})
	if err == nil || !strings.Contains(err.Error(), "not the configured verification key") {
		t.Fatalf("err = %v", err)
	}
	p = newBlock(t, DecryptSpec, map[string]string{"privatekeyFile": b64(recipient.SecretArmored), "verificationKeyFile": string(signer.PublicArmored)})
	if err := p.Process(context.Background(), fileUnit(t, "x.csv.gpg", data), &collector{}); err != nil {
		t.Fatalf("right verification key: %v", err)
	}
}

// TestEncryptForGnuPG: files encrypted by the block decrypt with gpg.
func TestEncryptForGnuPG(t *testing.T) {
	g := testenv.GPG(t)
	for _, algo := range []string{"rsa3072", "ed25519"} {
		uid := "Dest " + algo + " <dest-" + algo + "@example.com>"
		key := g.GenerateKey(uid, algo, "pw")
		for _, armor := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/armor=%v", algo, armor), func(t *testing.T) {
				plain := sample(200_000)
				p := newBlock(t, EncryptSpec, map[string]string{
					"publicKeyFile": b64(key.PublicArmored), "publicKeyUserId": "dest-" + algo + "@example.com",
					"armor": fmt.Sprint(armor),
				})
				var out collector
				if err := p.Process(context.Background(), fileUnit(t, "report.csv", plain), &out); err != nil {
					t.Fatal(err)
				}
				u := out.units[0]
				if u.File.Name != "report.csv.gpg" || u.Attrs[block.AttrFilename] != "report.csv.gpg" {
					t.Errorf("name = %q", u.File.Name)
				}
				ct := readAll(t, u.File)
				if armor != bytes.HasPrefix(ct, []byte("-----BEGIN PGP MESSAGE-----")) {
					t.Errorf("armor = %v but output starts %q", armor, ct[:20])
				}
				dir := t.TempDir()
				enc, dec := filepath.Join(dir, "report.csv.gpg"), filepath.Join(dir, "report.csv")
				os.WriteFile(enc, ct, 0o600)
				if _, err := g.Decrypt(enc, dec, "pw"); err != nil {
					t.Fatalf("gpg cannot decrypt the block's output: %v", err)
				}
				got, _ := os.ReadFile(dec)
				if !bytes.Equal(got, plain) {
					t.Fatalf("gpg plaintext differs (%d bytes, want %d)", len(got), len(plain))
				}
				// And the block's own decrypt path reads it back.
				dp := newBlock(t, DecryptSpec, map[string]string{"privatekeyFile": b64(key.SecretArmored), "privatePassphrase": "pw"})
				var dout collector
				if err := dp.Process(context.Background(), fileUnit(t, "report.csv.gpg", ct), &dout); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(readAll(t, dout.units[0].File), plain) {
					t.Fatal("round trip differs")
				}
			})
		}
	}
}

// TestWrongKeyAndPassphrase: errors name the key IDs the message is for.
func TestWrongKeyAndPassphrase(t *testing.T) {
	g := testenv.GPG(t)
	right := g.GenerateKey("Right <right@example.com>", "ed25519", "good")
	wrong := g.GenerateKey("Wrong <wrong@example.com>", "ed25519", "good")
	in := filepath.Join(t.TempDir(), "x.csv")
	os.WriteFile(in, []byte("a\n1\n"), 0o600)
	enc := filepath.Join(t.TempDir(), "x.csv.gpg")
	g.Encrypt(in, enc, right.Fingerprint, testenv.EncryptOptions{})
	data, _ := os.ReadFile(enc)
	// The message is encrypted to the Cv25519 subkey: find its key ID.
	keys, err := ParseKeyRing("k", string(right.PublicArmored))
	if err != nil {
		t.Fatal(err)
	}
	subID := fmt.Sprintf("%016X", keys[0].Subkeys[0].PublicKey.KeyId)

	p := newBlock(t, DecryptSpec, map[string]string{"privatekeyFile": b64(wrong.SecretArmored), "privatePassphrase": "good"})
	err = p.Process(context.Background(), fileUnit(t, "x.csv.gpg", data), &collector{})
	if err == nil || !strings.Contains(err.Error(), "wrong private key") || !strings.Contains(err.Error(), subID) {
		t.Fatalf("wrong key: err = %v (want key ID %s)", err, subID)
	}
	t.Log(err)

	p = newBlock(t, DecryptSpec, map[string]string{"privatekeyFile": b64(right.SecretArmored), "privatePassphrase": "bad"})
	err = p.Process(context.Background(), fileUnit(t, "x.csv.gpg", data), &collector{})
	if err == nil || !strings.Contains(err.Error(), "could not be unlocked") || !strings.Contains(err.Error(), subID) || !strings.Contains(err.Error(), "wrong privatePassphrase") {
		t.Fatalf("wrong passphrase: err = %v", err)
	}
	t.Log(err)

	p = newBlock(t, DecryptSpec, map[string]string{"privatekeyFile": b64(right.SecretArmored)})
	err = p.Process(context.Background(), fileUnit(t, "x.csv.gpg", data), &collector{})
	if err == nil || !strings.Contains(err.Error(), "privatePassphrase is empty") {
		t.Fatalf("missing passphrase: err = %v", err)
	}

	// Not a PGP file at all.
	err = p.Process(context.Background(), fileUnit(t, "x.csv.gpg", []byte("id,name\n1,x\n")), &collector{})
	if err == nil || !strings.Contains(err.Error(), "not an OpenPGP message") {
		t.Fatalf("plain file: err = %v", err)
	}
	// Truncated message: the integrity check fails and nothing is passed on.
	var out collector
	err = p.Process(context.Background(), fileUnit(t, "x.csv.gpg", data[:len(data)-5]), &out)
	if err == nil || len(out.units) != 0 {
		t.Fatalf("truncated: err = %v, units = %d", err, len(out.units))
	}
	// A public key where the secret key belongs is a config error.
	_, err = DecryptSpec.New(block.NewConfig(DecryptSpec, map[string]string{"privatekeyFile": b64(right.PublicArmored)}), &block.Env{WorkDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "only public keys") {
		t.Fatalf("public key as private: err = %v", err)
	}
}

func TestUnknownUserID(t *testing.T) {
	g := testenv.GPG(t)
	key := g.GenerateKey("Dest <dest@example.com>", "ed25519", "")
	_, err := EncryptSpec.New(block.NewConfig(EncryptSpec, map[string]string{"publicKeyFile": b64(key.PublicArmored), "publicKeyUserId": "nobody@example.com"}), &block.Env{})
	if err == nil || !strings.Contains(err.Error(), "matches no key") || !strings.Contains(err.Error(), "dest@example.com") {
		t.Fatalf("err = %v", err)
	}
	for _, id := range []string{"dest@example.com", "Dest <dest@example.com>", key.Fingerprint, key.Fingerprint[24:], "null", ""} {
		if _, err := EncryptSpec.New(block.NewConfig(EncryptSpec, map[string]string{"publicKeyFile": string(key.PublicArmored), "publicKeyUserId": id}), &block.Env{}); err != nil {
			t.Errorf("user id %q: %v", id, err)
		}
	}
}
