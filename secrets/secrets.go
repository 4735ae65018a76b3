// Package secrets encrypts Extension Configuration values marked isSecret.
//
// Each value is sealed with envelope encryption: a fresh random 256-bit data
// key encrypts the value with AES-256-GCM, and the master key (the key
// encryption key) wraps that data key, also with AES-256-GCM. Rotating the
// master key therefore only re-wraps data keys. Every ciphertext carries the
// id of the master key that wrapped it, so a Keyring holding the current key
// and older ones decrypts values sealed before a rotation.
package secrets

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the master key length (AES-256).
const KeySize = 32

// EnvMasterKey names the environment variable holding a base64 master key.
const EnvMasterKey = "CONNECTPLUS_MASTER_KEY"

// EnvOldMasterKeys holds comma-separated base64 keys that only decrypt
// (previous master keys, kept during a rotation).
const EnvOldMasterKeys = "CONNECTPLUS_OLD_MASTER_KEYS"

// DefaultKeyFile is the key file name generated in the data directory.
const DefaultKeyFile = "master.key"

// formatPrefix versions the ciphertext encoding.
const formatPrefix = "v1"

// ErrUnknownKey means a ciphertext was wrapped by a key the keyring lacks.
var ErrUnknownKey = errors.New("secrets: ciphertext was sealed with a master key that is not in the keyring")

// ErrDecrypt means authentication failed: wrong key, tampering, or a
// ciphertext moved to another entry (the associated data differs).
var ErrDecrypt = errors.New("secrets: cannot decrypt value (wrong key or tampered ciphertext)")

// Keyring is the current master key plus older keys kept for decryption.
type Keyring struct {
	current string
	keys    map[string][]byte
}

// KeyID derives a short, stable id from a key (a hash prefix, which reveals
// nothing useful about the key itself).
func KeyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("connectplus-master-key-id:"), key...))
	return hex.EncodeToString(sum[:8])
}

// NewKeyring builds a keyring; current seals, old keys only open.
func NewKeyring(current []byte, old ...[]byte) (*Keyring, error) {
	if len(current) != KeySize {
		return nil, fmt.Errorf("secrets: master key must be %d bytes, got %d", KeySize, len(current))
	}
	kr := &Keyring{current: KeyID(current), keys: map[string][]byte{}}
	kr.keys[kr.current] = bytes.Clone(current)
	for i, k := range old {
		if len(k) != KeySize {
			return nil, fmt.Errorf("secrets: old master key %d must be %d bytes, got %d", i+1, KeySize, len(k))
		}
		kr.keys[KeyID(k)] = bytes.Clone(k)
	}
	return kr, nil
}

// CurrentID is the id of the key new values are sealed with.
func (k *Keyring) CurrentID() string { return k.current }

// Has reports whether the keyring can open values sealed with id.
func (k *Keyring) Has(id string) bool { _, ok := k.keys[id]; return ok }

// Seal encrypts plaintext, binding it to aad (the entry's identity, so a
// ciphertext copied onto another entry fails to open). It returns the key id
// and the encoded ciphertext.
func (k *Keyring) Seal(plaintext, aad []byte) (keyID, ciphertext string, err error) {
	dek := make([]byte, KeySize)
	if _, err := rand.Read(dek); err != nil {
		return "", "", fmt.Errorf("secrets: data key: %w", err)
	}
	body, err := gcmSeal(dek, plaintext, aad)
	if err != nil {
		return "", "", err
	}
	wrapped, err := gcmSeal(k.keys[k.current], dek, []byte(k.current))
	if err != nil {
		return "", "", err
	}
	enc := base64.RawStdEncoding
	return k.current, formatPrefix + "." + enc.EncodeToString(wrapped) + "." + enc.EncodeToString(body), nil
}

// Open decrypts a value sealed by Seal with the same aad.
func (k *Keyring) Open(keyID, ciphertext string, aad []byte) ([]byte, error) {
	kek, ok := k.keys[keyID]
	if !ok {
		return nil, ErrUnknownKey
	}
	dek, body, err := k.unwrap(kek, keyID, ciphertext)
	if err != nil {
		return nil, err
	}
	pt, err := gcmOpen(dek, body, aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// Rewrap re-wraps a value's data key with the current master key without
// touching the value itself (master key rotation).
func (k *Keyring) Rewrap(keyID, ciphertext string) (newKeyID, newCiphertext string, err error) {
	kek, ok := k.keys[keyID]
	if !ok {
		return "", "", ErrUnknownKey
	}
	dek, body, err := k.unwrap(kek, keyID, ciphertext)
	if err != nil {
		return "", "", err
	}
	wrapped, err := gcmSeal(k.keys[k.current], dek, []byte(k.current))
	if err != nil {
		return "", "", err
	}
	enc := base64.RawStdEncoding
	return k.current, formatPrefix + "." + enc.EncodeToString(wrapped) + "." + enc.EncodeToString(body), nil
}

func (k *Keyring) unwrap(kek []byte, keyID, ciphertext string) (dek, body []byte, err error) {
	parts := strings.Split(ciphertext, ".")
	if len(parts) != 3 || parts[0] != formatPrefix {
		return nil, nil, errors.New("secrets: malformed ciphertext")
	}
	enc := base64.RawStdEncoding
	wrapped, err1 := enc.DecodeString(parts[1])
	body, err2 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil {
		return nil, nil, errors.New("secrets: malformed ciphertext")
	}
	dek, err = gcmOpen(kek, wrapped, []byte(keyID))
	if err != nil {
		return nil, nil, ErrDecrypt
	}
	return dek, body, nil
}

func gcmSeal(key, plaintext, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("secrets: nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, plaintext, aad), nil
}

func gcmOpen(key, sealed, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, ErrDecrypt
	}
	return aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], aad)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	return cipher.NewGCM(block)
}

// LoadOptions says where the master key comes from.
type LoadOptions struct {
	// KeyFile holds base64 keys, one per line: the first is current, the
	// rest are old keys kept for decryption. Blank lines and # comments are
	// ignored.
	KeyFile string
	// Getenv reads CONNECTPLUS_MASTER_KEY / CONNECTPLUS_OLD_MASTER_KEYS
	// (os.Getenv when nil).
	Getenv func(string) string
	// DataDir receives a generated key file when neither KeyFile nor the
	// environment gives a key.
	DataDir string
}

// Load returns the keyring from the key file, else the environment, else a
// key file in the data directory (generated with mode 0600 on first run).
// generated reports that a new key file was written.
func Load(o LoadOptions) (kr *Keyring, generated bool, err error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var old [][]byte
	if v := strings.TrimSpace(getenv(EnvOldMasterKeys)); v != "" {
		for i, s := range strings.Split(v, ",") {
			k, err := decodeKey(s)
			if err != nil {
				return nil, false, fmt.Errorf("%s entry %d: %w", EnvOldMasterKeys, i+1, err)
			}
			old = append(old, k)
		}
	}
	if o.KeyFile != "" {
		keys, err := readKeyFile(o.KeyFile)
		if err != nil {
			return nil, false, err
		}
		kr, err := NewKeyring(keys[0], append(keys[1:], old...)...)
		return kr, false, err
	}
	if v := strings.TrimSpace(getenv(EnvMasterKey)); v != "" {
		k, err := decodeKey(v)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", EnvMasterKey, err)
		}
		kr, err := NewKeyring(k, old...)
		return kr, false, err
	}
	if o.DataDir == "" {
		return nil, false, errors.New("secrets: no master key: give a key file, set " + EnvMasterKey + " or a data directory")
	}
	path := filepath.Join(o.DataDir, DefaultKeyFile)
	if _, err := os.Stat(path); err == nil {
		keys, err := readKeyFile(path)
		if err != nil {
			return nil, false, err
		}
		kr, err := NewKeyring(keys[0], append(keys[1:], old...)...)
		return kr, false, err
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("secrets: generate master key: %w", err)
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, false, fmt.Errorf("secrets: %w", err)
	}
	// O_EXCL: two servers starting at once must not each write a different
	// key; the loser reads the winner's.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return Load(o)
		}
		return nil, false, fmt.Errorf("secrets: write master key: %w", err)
	}
	_, werr := fmt.Fprintf(f, "# Connect+ master key (AES-256). Keep it secret and back it up: secrets cannot be decrypted without it.\n%s\n", base64.StdEncoding.EncodeToString(key))
	cerr := f.Close()
	if werr != nil || cerr != nil {
		return nil, false, fmt.Errorf("secrets: write master key: %w", errors.Join(werr, cerr))
	}
	kr, err = NewKeyring(key, old...)
	return kr, true, err
}

// GenerateKey returns a new base64-encoded master key.
func GenerateKey() (string, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(key), nil
}

func readKeyFile(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secrets: master key file: %w", err)
	}
	defer f.Close()
	var keys [][]byte
	sc := bufio.NewScanner(io.LimitReader(f, 1<<16))
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		k, err := decodeKey(s)
		if err != nil {
			return nil, fmt.Errorf("secrets: master key file line %d: %w", line, err)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("secrets: master key file: %w", err)
	}
	if len(keys) == 0 {
		return nil, errors.New("secrets: master key file holds no key")
	}
	return keys, nil
}

func decodeKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("master key is not valid base64")
	}
	if len(k) != KeySize {
		return nil, fmt.Errorf("master key must decode to %d bytes, got %d", KeySize, len(k))
	}
	return k, nil
}
