package pgp

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// ParseKeyRing reads keys as Connect+ stores them in Extension
// Configurations: Base64 of the armored or binary export (what the docs ask
// for), or the armored text itself (what people paste). Several keys may be
// concatenated (key rotation: old and new key side by side).
func ParseKeyRing(field, value string) (openpgp.EntityList, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return nil, fmt.Errorf("%s is empty", field)
	}
	raw := []byte(v)
	if !bytes.Contains(raw, []byte("-----BEGIN PGP")) {
		dec, err := decodeBase64(v)
		if err != nil {
			return nil, fmt.Errorf("%s is neither an armored key nor Base64: %w", field, err)
		}
		raw = dec
	}
	var (
		el  openpgp.EntityList
		err error
	)
	if bytes.Contains(raw, []byte("-----BEGIN PGP")) {
		el, err = readArmoredKeys(raw)
	} else {
		el, err = openpgp.ReadKeyRing(bytes.NewReader(raw))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid OpenPGP key: %w", field, err)
	}
	if len(el) == 0 {
		return nil, fmt.Errorf("%s holds no OpenPGP key", field)
	}
	return el, nil
}

// readArmoredKeys reads every armored key block in raw (gpg --export of
// several keys writes one block; hand-made files often concatenate blocks).
func readArmoredKeys(raw []byte) (openpgp.EntityList, error) {
	var all openpgp.EntityList
	rest := raw
	for {
		i := bytes.Index(rest, []byte("-----BEGIN PGP"))
		if i < 0 {
			break
		}
		rest = rest[i:]
		end := bytes.Index(rest, []byte("-----END PGP"))
		if end < 0 {
			return nil, errors.New("armored key block has no END line")
		}
		nl := bytes.IndexByte(rest[end:], '\n')
		stop := len(rest)
		if nl >= 0 {
			stop = end + nl + 1
		}
		el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(rest[:stop]))
		if err != nil {
			return nil, err
		}
		all = append(all, el...)
		rest = rest[stop:]
	}
	return all, nil
}

func decodeBase64(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(clean); err == nil {
			return b, nil
		}
	}
	_, err := base64.StdEncoding.DecodeString(clean)
	return nil, err
}

// keyIDs renders key IDs the way gpg prints them (16 upper-case hex digits).
func keyIDs(ids []uint64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf("%016X", id)
	}
	return strings.Join(parts, ", ")
}

// describeKeys lists the key IDs (primary and subkeys) and first user ID of
// a key ring, for errors that must tell the user which key they configured.
func describeKeys(el openpgp.EntityList) string {
	var parts []string
	for _, e := range el {
		ids := []uint64{e.PrimaryKey.KeyId}
		for _, s := range e.Subkeys {
			ids = append(ids, s.PublicKey.KeyId)
		}
		uid := ""
		if id := e.PrimaryIdentity(); id != nil {
			uid = " (" + id.Name + ")"
		}
		parts = append(parts, keyIDs(ids)+uid)
	}
	return strings.Join(parts, "; ")
}

// hasSecret reports whether any entity carries secret key material.
func hasSecret(el openpgp.EntityList) bool {
	for _, e := range el {
		if e.PrivateKey != nil {
			return true
		}
		for _, s := range e.Subkeys {
			if s.PrivateKey != nil {
				return true
			}
		}
	}
	return false
}

// unlock decrypts the secret keys of el with passphrase. Keys stored
// without protection are left as they are. It reports which keys stayed
// locked, so the per-file error can say the passphrase is wrong rather
// than that no key matched; the result maps key IDs to the reason.
func unlock(el openpgp.EntityList, passphrase []byte) (locked map[uint64]string) {
	locked = map[uint64]string{}
	try := func(pk *packet.PrivateKey) {
		if pk == nil || !pk.Encrypted || pk.Dummy() {
			return
		}
		if len(passphrase) == 0 {
			locked[pk.KeyId] = "it is protected by a passphrase but privatePassphrase is empty"
			return
		}
		if e := pk.Decrypt(passphrase); e != nil {
			locked[pk.KeyId] = fmt.Sprintf("wrong privatePassphrase (%v)", e)
		}
	}
	for _, e := range el {
		try(e.PrivateKey)
		for _, s := range e.Subkeys {
			try(s.PrivateKey)
		}
	}
	return locked
}

// findRecipients selects the entities of el whose user IDs match userID
// (the full "Name <mail>" user ID, the e-mail address alone, or a key ID /
// fingerprint in hex), like gpg --recipient. An empty userID selects every
// key of the file.
func findRecipients(el openpgp.EntityList, userID string) (openpgp.EntityList, error) {
	want := strings.TrimSpace(userID)
	if want == "" || want == "null" {
		return el, nil
	}
	lw := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(want, "0x"), "0X"))
	var out openpgp.EntityList
	for _, e := range el {
		if matchesEntity(e, want, lw) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("publicKeyUserId %q matches no key in publicKeyFile (keys: %s)", want, describeKeys(el))
	}
	return out, nil
}

func matchesEntity(e *openpgp.Entity, want, lw string) bool {
	hexID := func(pk *packet.PublicKey) bool {
		fp := strings.ToLower(fmt.Sprintf("%X", pk.Fingerprint))
		return lw == fp || lw == fmt.Sprintf("%016x", pk.KeyId) || lw == fmt.Sprintf("%08x", uint32(pk.KeyId))
	}
	if hexID(e.PrimaryKey) {
		return true
	}
	for _, s := range e.Subkeys {
		if hexID(s.PublicKey) {
			return true
		}
	}
	for name, id := range e.Identities {
		if strings.EqualFold(name, want) {
			return true
		}
		if id.UserId != nil && strings.EqualFold(id.UserId.Email, strings.Trim(want, "<>")) {
			return true
		}
	}
	return false
}
