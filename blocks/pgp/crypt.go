package pgp

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Decrypter decrypts OpenPGP messages with a fixed set of private keys and,
// optionally, verifies their signatures.
type Decrypter struct {
	keys   openpgp.EntityList // private keys, unlocked where the passphrase allowed
	locked map[uint64]string  // secret keys the passphrase did not unlock, with the reason
	verify openpgp.EntityList // signature keys; nil accepts any (or no) signature
	ring   openpgp.EntityList // keys + verify, as one key ring
	now    func() time.Time
}

// NewDecrypter prepares keys for decryption. A passphrase that unlocks no
// key is not an error here: files fail one by one with a message naming the
// key, as they would with Connect+ (and the flow keeps polling, so fixing
// the Extension Configuration is enough).
func NewDecrypter(keys openpgp.EntityList, passphrase []byte, verify openpgp.EntityList, now func() time.Time) (*Decrypter, error) {
	if !hasSecret(keys) {
		return nil, fmt.Errorf("privatekeyFile holds only public keys (%s): export the secret key with gpg --export-secret-keys", describeKeys(keys))
	}
	d := &Decrypter{keys: keys, locked: unlock(keys, passphrase), verify: verify, now: now}
	d.ring = append(append(openpgp.EntityList{}, keys...), verify...)
	return d, nil
}

// Result describes a decrypted message.
type Result struct {
	Format Format
	// Encrypted is false for a message that was only signed.
	Encrypted bool
	Signed    bool
	// SignerKeyID is the key ID the signature claims (0 when unsigned).
	SignerKeyID uint64
	// Verified is true when the signature was checked against a known key.
	Verified bool
	// LiteralName is the file name stored in the message, if any.
	LiteralName string
	Bytes       int64
}

// headCapture is how much of the packet stream is kept to explain key
// errors: the public-key-encrypted session key packets come first and are
// small (about 530 bytes for RSA-4096).
const headCapture = 64 << 10

type prefixRecorder struct {
	r   io.Reader
	buf bytes.Buffer
}

func (p *prefixRecorder) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if room := headCapture - p.buf.Len(); room > 0 && n > 0 {
		p.buf.Write(b[:min(n, room)])
	}
	return n, err
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

func (d *Decrypter) config() *packet.Config {
	return &packet.Config{Time: d.now}
}

// Decrypt reads an armored or binary message from r and writes the
// plaintext to w. Nothing written to w may be trusted until Decrypt returns
// nil: the integrity check (MDC or AEAD tag) and the signature are only
// known at the end of the stream.
func (d *Decrypter) Decrypt(ctx context.Context, r io.Reader, w io.Writer) (*Result, error) {
	br := bufio.NewReaderSize(ctxReader{ctx, r}, 64<<10)
	msg, format, err := Detect(br)
	if err != nil {
		return nil, err
	}
	res := &Result{Format: format}
	rec := &prefixRecorder{r: msg}
	md, err := openpgp.ReadMessage(rec, d.ring, nil, d.config())
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, d.explain(err, rec.buf.Bytes())
	}
	// A message that is only signed (or a bare literal packet) is accepted,
	// as gpg --decrypt does: the partner's choice not to encrypt is theirs.
	res.Encrypted = md.IsEncrypted
	res.LiteralName = md.LiteralData.FileName
	res.Bytes, err = io.Copy(w, md.UnverifiedBody)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var se pgperrors.SignatureError
		if errors.As(err, &se) || strings.Contains(err.Error(), "MDC") || strings.Contains(err.Error(), "tag") {
			return nil, fmt.Errorf("the message failed its integrity check (modified or truncated in transit): %w", err)
		}
		return nil, fmt.Errorf("decrypting after %d bytes (file truncated or corrupt?): %w", res.Bytes, err)
	}
	if md.IsSigned {
		res.Signed, res.SignerKeyID = true, md.SignedByKeyId
		switch {
		case md.SignedBy != nil && md.SignatureError != nil:
			return nil, fmt.Errorf("the signature by key %016X does not verify: %w", md.SignedByKeyId, md.SignatureError)
		case md.SignedBy != nil:
			res.Verified = true
		}
	}
	if d.verify != nil && !res.Verified {
		if !md.IsSigned {
			return nil, fmt.Errorf("the message is not signed, but a verification key is configured (%s)", describeKeys(d.verify))
		}
		return nil, fmt.Errorf("the message is signed by key %016X, which is not the configured verification key (%s)", md.SignedByKeyId, describeKeys(d.verify))
	}
	return res, nil
}

// explain turns ReadMessage's failure into a message naming the keys
// involved, by re-reading the session-key packets from the captured head.
func (d *Decrypter) explain(err error, head []byte) error {
	if !errors.Is(err, pgperrors.ErrKeyIncorrect) {
		return fmt.Errorf("not a valid OpenPGP message: %w", err)
	}
	var ids []uint64
	symmetric := false
	pr := packet.NewReader(bytes.NewReader(head))
	for {
		p, perr := pr.Next()
		if perr != nil {
			break
		}
		if ek, ok := p.(*packet.EncryptedKey); ok {
			ids = append(ids, ek.KeyId)
			continue
		}
		if _, ok := p.(*packet.SymmetricKeyEncrypted); ok {
			symmetric = true
			continue
		}
		break
	}
	if len(ids) == 0 {
		if symmetric {
			return errors.New("the message is encrypted with a passphrase (gpg --symmetric), not to a public key: it cannot be decrypted with privatekeyFile")
		}
		return fmt.Errorf("cannot decrypt: %w", err)
	}
	for _, id := range ids {
		for _, k := range d.keys.KeysById(id) {
			if k.PrivateKey == nil {
				continue
			}
			if why, ok := d.locked[k.PrivateKey.KeyId]; ok {
				return fmt.Errorf("the message is encrypted to key ID %s, which privatekeyFile holds, but the key could not be unlocked: %s", keyIDs(ids), why)
			}
		}
	}
	hidden := ""
	for _, id := range ids {
		if id == 0 {
			hidden = " (a hidden recipient was tried against every key)"
		}
	}
	return fmt.Errorf("wrong private key: the message is encrypted to key ID %s%s, but privatekeyFile holds %s", keyIDs(ids), hidden, describeKeys(d.keys))
}

// Encrypter encrypts to a fixed set of recipients.
type Encrypter struct {
	to     openpgp.EntityList
	armor  bool
	now    func() time.Time
	cipher packet.CipherFunction
}

// NewEncrypter checks that every recipient can receive encrypted data.
func NewEncrypter(to openpgp.EntityList, armor bool, now func() time.Time) (*Encrypter, error) {
	if now == nil {
		now = time.Now
	}
	for _, e := range to {
		if _, ok := e.EncryptionKey(now()); !ok {
			return nil, fmt.Errorf("key %s has no valid encryption subkey (expired, revoked or sign-only)", describeKeys(openpgp.EntityList{e}))
		}
	}
	return &Encrypter{to: to, armor: armor, now: now, cipher: packet.CipherAES256}, nil
}

// Encrypt reads plaintext from r and writes the message to w. name is
// stored in the literal data packet (gpg restores it with --use-embedded-filename).
func (e *Encrypter) Encrypt(ctx context.Context, r io.Reader, w io.Writer, name string) (int64, error) {
	cfg := &packet.Config{
		DefaultCipher: e.cipher, DefaultHash: crypto.SHA256, Time: e.now,
		DefaultCompressionAlgo: packet.CompressionNone,
	}
	out := w
	var armorW io.WriteCloser
	if e.armor {
		var err error
		armorW, err = armor.Encode(w, "PGP MESSAGE", nil)
		if err != nil {
			return 0, err
		}
		out = armorW
	}
	pt, err := openpgp.Encrypt(out, e.to, nil, &openpgp.FileHints{IsBinary: true, FileName: name}, cfg)
	if err != nil {
		return 0, fmt.Errorf("start encryption: %w", err)
	}
	n, err := io.Copy(pt, ctxReader{ctx, r})
	if err != nil {
		return n, fmt.Errorf("encrypting after %d bytes: %w", n, err)
	}
	if err := pt.Close(); err != nil {
		return n, fmt.Errorf("finish encryption: %w", err)
	}
	if armorW != nil {
		if err := armorW.Close(); err != nil {
			return n, fmt.Errorf("finish armor: %w", err)
		}
	}
	return n, nil
}
