package sftp

import (
	"github.com/connectplus/connectplus/blocks/filecore/remote"
	"testing"

	"github.com/connectplus/connectplus/block"
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
	if _, err := remote.LoadKey("bm90IGEga2V5"); err == nil {
		t.Error("Base64 without PEM tags accepted")
	}
	if _, err := remote.LoadKey("relative/path"); err == nil {
		t.Error("relative path accepted")
	}
	if k, err := remote.LoadKey("null"); err != nil || k != nil {
		t.Error("null is no key")
	}
}
