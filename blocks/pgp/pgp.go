// Package pgp holds the security blocks that decrypt and encrypt files with
// OpenPGP (spec §2.3.1, §2.3.2) and decrypt the members of a zip archive
// (§2.3.4). Interoperability with GnuPG is tested both ways.
//
// Decryption spills the plaintext to the block's work directory and hands
// it on only once the whole message has been authenticated: OpenPGP checks
// integrity (MDC or AEAD tag) and signatures at the end of the stream, and a
// streaming hand-off would let a downstream block send records from a
// tampered or truncated file before that check fails. Encryption streams
// lazily: its input is already trusted.
package pgp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/connectplus/connectplus/block"
)

// Attributes set on decrypted units.
const (
	AttrSigned      = "pgp.signed"          // "true" when the message carried a signature
	AttrSignerKeyID = "pgp.signer.keyid"    // key ID the signature claims
	AttrVerified    = "pgp.signature.valid" // "true" when it verified against a known key
	AttrEncryptedTo = "pgp.original.filename"
)

const algoPGP = "PGP"

var (
	algoField = block.Field{Key: "encryptAlgo", Label: "Encryption Algorithm", Type: block.TypeEnum, Required: true,
		Default: algoPGP, Enum: []string{algoPGP}, Description: "Only PGP (OpenPGP, RFC 4880/9580) is supported."}
	enabledField = block.Field{Key: "isEnabled", Label: "Is Enabled", Type: block.TypeBool, Required: true, Default: "true",
		Description: "false passes files through untouched (templates ship with the block disabled)."}
)

// DecryptSpec is decrypt_content.
var DecryptSpec = &block.Spec{
	Type: "decrypt_content", Label: "PGP Decrypt", Class: block.ClassExecutor, Category: "Security",
	Description: "Decrypts OpenPGP files (armored or binary, any size; RSA, ECC and compressed messages). The plaintext is passed on only after the whole message authenticated; " +
		"a wrong key or passphrase fails the file with a message naming the key IDs the file is encrypted to, and the file goes to the error location. " +
		"The output name drops .pgp, .gpg or .asc (or fileExtension). Signatures are verified when a verification key is configured; otherwise they are accepted.",
	LegacyTypes: []string{"optional_decrypt_content", "decrypt"},
	Input:       block.KindFile, Output: block.KindFile,
	Fields: []block.Field{
		algoField,
		{Key: "privatekeyFile", Label: "Private Key File", Type: block.TypeText, Secret: true, FromConfigs: true,
			Description: "The secret key (gpg --export-secret-keys), Base64-encoded or armored. Several keys may be given (key rotation). Required when enabled."},
		{Key: "privatePassphrase", Label: "Private Passphrase", Type: block.TypeString, Secret: true,
			Description: "Unlocks the private key; leave unset for a key without passphrase."},
		enabledField,
		{Key: "unzipFiles", Label: "Unzip Files", Type: block.TypeBool, Default: "false", Advanced: true,
			Description: "The decrypted content is a zip archive: pass on each of its files instead."},
		{Key: "fileExtension", Label: "Filename Extension", Type: block.TypeString, Default: ".gpg", Advanced: true,
			Description: "Extension removed from the file name after decryption (besides .pgp, .gpg and .asc). For zipped content name the files x.zip.gpg."},
		{Key: "verificationKeyFile", Label: "Signer Public Key", Type: block.TypeText, FromConfigs: true, Advanced: true,
			Description: "Public key(s) of the sender, Base64 or armored. When set, every file must carry a valid signature by one of them."},
	},
	Check: requireWhenEnabled("privatekeyFile"),
	New:   newDecrypt,
}

// EncryptSpec is encrypt_content.
var EncryptSpec = &block.Spec{
	Type: "encrypt_content", Label: "PGP Encrypt", Class: block.ClassExecutor, Category: "Security",
	Description: "Encrypts files with the recipient's OpenPGP public key (AES-256, streamed). The output name gets fileExtension appended. GnuPG decrypts the result.",
	LegacyTypes: []string{"optional_encrypt_content"},
	Input:       block.KindFile, Output: block.KindFile,
	Fields: []block.Field{
		algoField,
		{Key: "publicKeyFile", Label: "Public Key File", Type: block.TypeText, FromConfigs: true,
			Description: "The recipient's public key (gpg --export), Base64-encoded or armored. Required when enabled."},
		{Key: "publicKeyUserId", Label: "Public Key User Id", Type: block.TypeString, Example: "john.doe@example.com",
			Description: "Selects the recipient key in publicKeyFile by user ID, e-mail or key ID; empty or null uses every key of the file."},
		enabledField,
		{Key: "fileExtension", Label: "Filename Extension", Type: block.TypeString, Default: ".gpg", Advanced: true,
			Description: "Appended to the file name of the encrypted file."},
		{Key: "armor", Label: "ASCII Armor", Type: block.TypeBool, Default: "false", Advanced: true,
			Description: "Write ASCII-armored text (like gpg --armor) instead of binary OpenPGP."},
	},
	Check: requireWhenEnabled("publicKeyFile"),
	New:   newEncrypt,
}

// Register adds the PGP blocks to r.
func Register(r *block.Registry) { r.MustRegister(DecryptSpec, EncryptSpec, RelatedSpec) }

// requireWhenEnabled makes keys mandatory only for an enabled block: the
// Gen-1 docs say every field becomes mandatory once the block is enabled,
// and templates ship disabled blocks with the key unset.
func requireWhenEnabled(keys ...string) func(c *block.Config) []block.Problem {
	return func(c *block.Config) []block.Problem {
		if !c.Bool("isEnabled") {
			return nil
		}
		var probs []block.Problem
		for _, k := range keys {
			if _, ref := c.Ref(k); !ref && !c.Has(k) {
				probs = append(probs, block.Problem{Path: k, Message: fmt.Sprintf("%q is required when the block is enabled", k)})
			}
		}
		return probs
	}
}

type decryptBlock struct {
	enabled bool
	dec     *Decrypter
	unzip   bool
	ext     string
	spill   *block.Spills
}

func newDecrypt(c *block.Config, env *block.Env) (block.Block, error) {
	b := &decryptBlock{enabled: c.Bool("isEnabled"), unzip: c.Bool("unzipFiles"), ext: c.String("fileExtension"), spill: &block.Spills{Dir: env.WorkDir}}
	if !b.enabled {
		return b, nil
	}
	keys, err := ParseKeyRing("privatekeyFile", c.String("privatekeyFile"))
	if err != nil {
		return nil, err
	}
	var verify openpgp.EntityList
	if c.Has("verificationKeyFile") {
		if verify, err = ParseKeyRing("verificationKeyFile", c.String("verificationKeyFile")); err != nil {
			return nil, err
		}
	}
	b.dec, err = NewDecrypter(keys, []byte(c.String("privatePassphrase")), verify, env.Clock)
	if err != nil {
		return nil, err
	}
	for id, why := range b.dec.locked {
		env.Log().Warn("decrypt_content: private key not unlocked; files encrypted to it will fail", "key", fmt.Sprintf("%016X", id), "reason", why)
	}
	return b, nil
}

func (b *decryptBlock) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	if !b.enabled {
		return out.Emit(ctx, block.RelSuccess, u)
	}
	if u.File == nil {
		return errors.New("decrypt_content takes files; it received records")
	}
	path, res, err := b.decryptToSpill(ctx, u)
	if err != nil {
		return err
	}
	name := DecryptedName(u.File.Name, b.ext)
	if b.unzip {
		return emitZipMembers(ctx, u, path, out, func(nu *block.Unit) { setSigAttrs(nu, res) })
	}
	f, err := block.LocalFile(name, path)
	if err != nil {
		return fmt.Errorf("decrypted file: %w", err)
	}
	nu := u.Derive()
	nu.File = f
	nu.Attrs[block.AttrFilename] = name
	nu.Attrs[block.AttrFileSize] = strconv.FormatInt(res.Bytes, 10)
	nu.Attrs[AttrEncryptedTo] = u.File.Name
	setSigAttrs(nu, res)
	return out.Emit(ctx, block.RelSuccess, nu)
}

func setSigAttrs(u *block.Unit, res *Result) {
	u.Attrs[AttrSigned] = strconv.FormatBool(res.Signed)
	u.Attrs[AttrVerified] = strconv.FormatBool(res.Verified)
	if res.Signed {
		u.Attrs[AttrSignerKeyID] = fmt.Sprintf("%016X", res.SignerKeyID)
	}
}

func (b *decryptBlock) decryptToSpill(ctx context.Context, u *block.Unit) (string, *Result, error) {
	in, err := u.File.Open(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("open %s: %w", u.File.Name, err)
	}
	defer in.Close()
	f, err := b.spill.Create(u.LineageID(), "decrypt-*")
	if err != nil {
		return "", nil, err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	res, err := b.dec.Decrypt(ctx, in, w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// The partial plaintext is unauthenticated: never leave it behind.
		os.Remove(f.Name())
		return "", nil, fmt.Errorf("decrypt %s: %w", u.File.Name, err)
	}
	return f.Name(), res, nil
}

// EndLineage removes the lineage's plaintext spills.
func (b *decryptBlock) EndLineage(_ context.Context, lineageID string, _ bool) error {
	b.spill.Release(lineageID)
	return nil
}

// Close removes every spill left.
func (b *decryptBlock) Close() error {
	b.spill.ReleaseAll()
	return nil
}

// DecryptedName drops one OpenPGP extension (.pgp, .gpg, .asc, or ext when
// it is not .zip) from name, case-insensitively.
func DecryptedName(name, ext string) string {
	cands := []string{".pgp", ".gpg", ".asc"}
	if e := strings.TrimSpace(ext); e != "" && e != "null" && !strings.EqualFold(e, ".zip") {
		if !strings.HasPrefix(e, ".") {
			e = "." + e
		}
		cands = append([]string{e}, cands...)
	}
	for _, c := range cands {
		if len(name) > len(c) && strings.EqualFold(name[len(name)-len(c):], c) {
			return name[:len(name)-len(c)]
		}
	}
	return name
}

type encryptBlock struct {
	enabled bool
	enc     *Encrypter
	ext     string
}

func newEncrypt(c *block.Config, env *block.Env) (block.Block, error) {
	b := &encryptBlock{enabled: c.Bool("isEnabled"), ext: c.String("fileExtension")}
	if !b.enabled {
		return b, nil
	}
	keys, err := ParseKeyRing("publicKeyFile", c.String("publicKeyFile"))
	if err != nil {
		return nil, err
	}
	to, err := findRecipients(keys, c.String("publicKeyUserId"))
	if err != nil {
		return nil, err
	}
	b.enc, err = NewEncrypter(to, c.Bool("armor"), env.Clock)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (b *encryptBlock) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	if !b.enabled {
		return out.Emit(ctx, block.RelSuccess, u)
	}
	if u.File == nil {
		return errors.New("encrypt_content takes files; it received records")
	}
	src := u.File
	name := src.Name + strings.TrimSpace(b.ext)
	nu := u.Derive()
	// Lazy: the ciphertext is produced while the next block reads it, so
	// a file of any size passes with constant memory and no disk copy.
	nu.File = block.NewFile(name, -1, func(ctx context.Context) (io.ReadCloser, error) {
		in, err := src.Open(ctx)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", src.Name, err)
		}
		pr, pw := io.Pipe()
		go func() {
			_, err := b.enc.Encrypt(ctx, in, pw, src.Name)
			in.Close()
			if err != nil {
				err = fmt.Errorf("encrypt %s: %w", src.Name, err)
			}
			pw.CloseWithError(err)
		}()
		return pr, nil
	})
	nu.File.ModTime = src.ModTime
	nu.Attrs[block.AttrFilename] = name
	delete(nu.Attrs, block.AttrFileSize)
	return out.Emit(ctx, block.RelSuccess, nu)
}
