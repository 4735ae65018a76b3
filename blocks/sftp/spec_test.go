package sftp

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/filecore/remote"
	"github.com/connectplus/connectplus/fsroot"
)

func TestRegisterSpecs(t *testing.T) {
	r := block.NewRegistry()
	Register(r)
	for legacy, want := range map[string]string{"sftp_pull": "sftp_read", "fetch_sftp": "sftp_read", "sftp_push": "sftp_write", "put_file_to_sftp": "sftp_write"} {
		if s, ok := r.Lookup(legacy); !ok || s.Type != want {
			t.Errorf("legacy %s -> %v", legacy, s)
		}
	}
	for _, s := range []*block.Spec{ReadSpec, WriteSpec, ListingSpec} {
		for _, k := range []string{"password", "pass", "private_key_path", "key_passphrase"} {
			if f, ok := s.Field(k); ok && !f.Secret {
				t.Errorf("%s.%s must be secret", s.Type, k)
			}
		}
	}
	if f, _ := ReadSpec.Field("port"); f.Default != "22" {
		t.Errorf("port default %q", f.Default)
	}
}

func TestListingPattern(t *testing.T) {
	for pat, cases := range map[string]map[string]bool{
		"*.csv":  {"a.csv": true, "a.csv.bak": false, "acsv": false},
		".*.csv": {"a.csv": true, "a.txt": false},
		".*":     {"anything": true},
	} {
		re, err := listingPattern(pat)
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range cases {
			if re.MatchString(name) != want {
				t.Errorf("%q on %q = %v", pat, name, !want)
			}
		}
	}
}

func TestLoadKey(t *testing.T) {
	if _, err := remote.LoadKey("bm90IGEga2V5", nil); err == nil {
		t.Error("Base64 without PEM tags accepted")
	}
	if _, err := remote.LoadKey("relative/path", nil); err == nil {
		t.Error("relative path accepted")
	}
	if k, err := remote.LoadKey("null", nil); err != nil || k != nil {
		t.Error("null is no key")
	}
}

// TestPrivateKeyPathConfined: a private_key_path naming a file outside the
// organisation's files root (the master key in the data directory, another
// organisation's key) is refused when the block is built, before any
// connection; one inside the root is read.
func TestPrivateKeyPathConfined(t *testing.T) {
	tmp := t.TempDir()
	home, data := filepath.Join(tmp, "files", "org_a"), filepath.Join(tmp, "data")
	for _, d := range []string{home, data, filepath.Join(tmp, "files", "org_b")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	pem := "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n"
	for _, f := range []string{filepath.Join(home, "id"), filepath.Join(data, "master.key"), filepath.Join(tmp, "files", "org_b", "id")} {
		if err := os.WriteFile(f, []byte(pem), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p, err := fsroot.New(fsroot.Config{Home: home, Forbidden: []string{data}})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{filepath.Join(data, "master.key"), filepath.Join(tmp, "files", "org_b", "id"), "/etc/passwd", filepath.Join(home, "..", "org_b", "id")} {
		if _, err := remote.LoadKey(bad, p); !errors.Is(err, fsroot.ErrOutside) {
			t.Errorf("%s: %v", bad, err)
		}
		c, probs := ReadSpec.ParseConfig(map[string]any{"hostname": "127.0.0.1", "username": "u", "password": "null", "private_key_path": map[string]any{"$config": "k"},
			"sourceDirectory": "/in", "processedDirectory": "/done", "apiErrorFilePath": "/err"}, staticResolver{"k": bad})
		if len(probs) > 0 {
			t.Fatalf("%s: %v", bad, probs)
		}
		if got := ReadSpec.LocalPaths(c); len(got) != 1 || got[0].Key != KeyPrivateKey {
			t.Fatalf("LocalPaths %+v", got)
		}
		env := &block.Env{Options: map[string]string{}, LocalPaths: p}
		if _, err := ReadSpec.New(c, env); !errors.Is(err, fsroot.ErrOutside) {
			t.Errorf("sftp_read with key %s built: %v", bad, err)
		}
	}
	if k, err := remote.LoadKey(filepath.Join(home, "id"), p); err != nil || string(k) != pem {
		t.Fatalf("key inside the root: %q %v", k, err)
	}
}

type staticResolver map[string]string

func (r staticResolver) Resolve(name string) (string, error) { return r[name], nil }
