package pgp

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/connectplus/connectplus/block"
)

// RelatedSpec is decrypt_related_files.
var RelatedSpec = &block.Spec{
	Type: "decrypt_related_files", Label: "Decrypt Related Files", Class: block.ClassExecutor, Category: "Security",
	Description: "Decrypts the files inside a zip archive (such as the bundle made by fetch_related_files) and re-packages them as a zip. " +
		"Each member's encryption is detected: OpenPGP (armored or binary) or AES (OpenSSL format: \"Salted__\" header, AES-256-CBC, PBKDF2-SHA256 with 10000 iterations, as written by openssl enc -aes-256-cbc -pbkdf2). " +
		"Members that are not encrypted are copied unchanged. Extensions .pgp/.gpg/.asc and .enc/.aes are dropped from member names. Any member that fails to decrypt fails the archive.",
	Input: block.KindFile, Output: block.KindFile,
	Fields: []block.Field{
		{Key: "isEnabled", Label: "Is Enabled", Type: block.TypeBool, Required: true, Default: "true", Description: "false passes archives through untouched."},
		{Key: "encryptionType", Label: "Encryption Type", Type: block.TypeEnum, Required: true, Default: "PGP", Enum: []string{"PGP", "AES"},
			Description: "Which credentials are required. Members are decrypted by what they are, so an archive may mix both when both credentials are set."},
		{Key: "privateKeyPath", Label: "Private Key", Type: block.TypeText, Secret: true, FromConfigs: true,
			Description: "The OpenPGP secret key, Base64 or armored. Required for PGP."},
		{Key: "passphrase", Label: "Passphrase", Type: block.TypeString, Secret: true, Description: "Unlocks the private key."},
		{Key: "aesPassword", Label: "AES Password", Type: block.TypeString, Secret: true, Advanced: true, Description: "Password of AES-encrypted members. Required for AES."},
	},
	Check: func(c *block.Config) []block.Problem {
		if !c.Bool("isEnabled") {
			return nil
		}
		key := "privateKeyPath"
		if c.String("encryptionType") == "AES" {
			key = "aesPassword"
		}
		return requireWhenEnabled(key)(c)
	},
	New: newRelated,
}

type relatedBlock struct {
	enabled bool
	dec     *Decrypter // nil when no private key is configured
	aesPass []byte
	spill   *block.Spills
}

func newRelated(c *block.Config, env *block.Env) (block.Block, error) {
	b := &relatedBlock{enabled: c.Bool("isEnabled"), aesPass: []byte(c.String("aesPassword")), spill: &block.Spills{Dir: env.WorkDir}}
	if !b.enabled || !c.Has("privateKeyPath") {
		return b, nil
	}
	keys, err := ParseKeyRing("privateKeyPath", c.String("privateKeyPath"))
	if err != nil {
		return nil, err
	}
	if b.dec, err = NewDecrypter(keys, []byte(c.String("passphrase")), nil, env.Clock); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *relatedBlock) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	if !b.enabled {
		return out.Emit(ctx, block.RelSuccess, u)
	}
	if u.File == nil {
		return errors.New("decrypt_related_files takes a zip file; it received records")
	}
	lin := u.LineageID()
	// A zip needs random access: copy the (possibly remote) input locally.
	inPath, err := b.copyLocal(ctx, lin, u.File)
	if err != nil {
		return err
	}
	zr, err := zip.OpenReader(inPath)
	if err != nil {
		return fmt.Errorf("%s is not a zip archive: %w", u.File.Name, err)
	}
	defer zr.Close()
	members, err := zipMembers(&zr.Reader)
	if err != nil {
		return fmt.Errorf("%s: %w", u.File.Name, err)
	}
	of, err := b.spill.Create(lin, "related-out-*.zip")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(of, 256<<10)
	zw := zip.NewWriter(bw)
	var kinds []string
	for _, m := range members {
		kind, err := b.member(ctx, zw, m)
		if err != nil {
			of.Close()
			return fmt.Errorf("%s: member %q: %w", u.File.Name, m.Name, err)
		}
		kinds = append(kinds, kind)
	}
	err = zw.Close()
	if err == nil {
		err = bw.Flush()
	}
	if cerr := of.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write decrypted archive: %w", err)
	}
	os.Remove(inPath)
	f, err := block.LocalFile(u.File.Name, of.Name())
	if err != nil {
		return err
	}
	nu := u.Derive()
	nu.File = f
	nu.Attrs[block.AttrFileSize] = strconv.FormatInt(f.Size, 10)
	nu.Attrs["decrypt.members"] = strings.Join(kinds, ",")
	return out.Emit(ctx, block.RelSuccess, nu)
}

func (b *relatedBlock) copyLocal(ctx context.Context, lin string, f *block.File) (string, error) {
	in, err := f.Open(ctx)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", f.Name, err)
	}
	defer in.Close()
	tmp, err := b.spill.Create(lin, "related-in-*.zip")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(tmp, ctxReader{ctx, in})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", f.Name, err)
	}
	return tmp.Name(), nil
}

// member decrypts (or copies) one member into zw and says what it was.
func (b *relatedBlock) member(ctx context.Context, zw *zip.Writer, m *zip.File) (string, error) {
	rc, err := m.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(&limitedMember{r: rc, left: int64(m.UncompressedSize64), name: m.Name}, 64<<10)
	head, _ := br.Peek(64)
	kind := "plain"
	switch {
	case bytes.HasPrefix(head, opensslMagic):
		kind = "AES"
	case len(head) > 0 && (MessageTag(head[0]) || bytes.Contains(head, armorStart)):
		kind = "PGP"
	}
	name := m.Name
	switch kind {
	case "AES":
		name = trimExt(name, ".enc", ".aes")
	case "PGP":
		name = DecryptedName(name, "")
	}
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: m.Modified})
	if err != nil {
		return "", err
	}
	switch kind {
	case "AES":
		if len(b.aesPass) == 0 {
			return "", errors.New("member is AES-encrypted (OpenSSL format) but aesPassword is not set")
		}
		_, err = io.Copy(w, newOpenSSLReader(ctxReader{ctx, br}, b.aesPass))
	case "PGP":
		if b.dec == nil {
			return "", errors.New("member is OpenPGP-encrypted but privateKeyPath is not set")
		}
		_, err = b.dec.Decrypt(ctx, br, w)
	default:
		_, err = io.Copy(w, ctxReader{ctx, br})
	}
	return kind, err
}

func trimExt(name string, exts ...string) string {
	for _, e := range exts {
		if len(name) > len(e) && strings.EqualFold(name[len(name)-len(e):], e) {
			return name[:len(name)-len(e)]
		}
	}
	return name
}

// EndLineage removes the lineage's spills.
func (b *relatedBlock) EndLineage(_ context.Context, lineageID string, _ bool) error {
	b.spill.Release(lineageID)
	return nil
}

// Close removes every spill left.
func (b *relatedBlock) Close() error {
	b.spill.ReleaseAll()
	return nil
}

var opensslMagic = []byte("Salted__")

// OpenSSL enc defaults for -pbkdf2 (OpenSSL 1.1.1 and 3.x).
const opensslIter = 10000

// openSSLReader decrypts the OpenSSL enc format as a stream, holding back
// the last block until end of input to strip its PKCS#7 padding.
type openSSLReader struct {
	src     io.Reader
	pass    []byte
	mode    cipher.BlockMode
	in      []byte // ciphertext read but not yet decrypted (< 1 block, or the held-back last block)
	out     []byte // plaintext ready
	srcDone bool
	err     error
}

func newOpenSSLReader(src io.Reader, pass []byte) io.Reader {
	return &openSSLReader{src: src, pass: pass}
}

func (o *openSSLReader) init() error {
	var hdr [16]byte
	if _, err := io.ReadFull(o.src, hdr[:]); err != nil {
		return fmt.Errorf("AES: truncated header: %w", err)
	}
	if !bytes.Equal(hdr[:8], opensslMagic) {
		return errors.New("AES: missing Salted__ header")
	}
	km, err := pbkdf2.Key(sha256.New, string(o.pass), hdr[8:16], opensslIter, 48)
	if err != nil {
		return fmt.Errorf("AES: key derivation: %w", err)
	}
	blk, err := aes.NewCipher(km[:32])
	if err != nil {
		return err
	}
	o.mode = cipher.NewCBCDecrypter(blk, km[32:48])
	return nil
}

func (o *openSSLReader) Read(p []byte) (int, error) {
	if o.mode == nil && o.err == nil {
		o.err = o.init()
	}
	for len(o.out) == 0 {
		if o.err != nil {
			return 0, o.err
		}
		if o.srcDone {
			return 0, io.EOF
		}
		buf := make([]byte, 32<<10)
		n, err := o.src.Read(buf)
		o.in = append(o.in, buf[:n]...)
		if err == io.EOF {
			o.srcDone = true
		} else if err != nil {
			o.err = err
			continue
		}
		// Keep the last full block back until EOF: it carries the padding.
		usable := len(o.in) / aes.BlockSize * aes.BlockSize
		if !o.srcDone {
			if usable == len(o.in) {
				usable -= aes.BlockSize
			}
		} else if usable != len(o.in) || usable == 0 {
			o.err = errors.New("AES: ciphertext is not a whole number of blocks (truncated?)")
			continue
		}
		if usable <= 0 {
			continue
		}
		plain := make([]byte, usable)
		o.mode.CryptBlocks(plain, o.in[:usable])
		o.in = append(o.in[:0], o.in[usable:]...)
		if o.srcDone {
			pad := int(plain[len(plain)-1])
			if pad == 0 || pad > aes.BlockSize || pad > len(plain) || !bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
				o.err = errors.New("AES: bad padding: wrong aesPassword, or not OpenSSL enc -aes-256-cbc -pbkdf2 output")
				continue
			}
			plain = plain[:len(plain)-pad]
		}
		o.out = plain
	}
	n := copy(p, o.out)
	o.out = o.out[n:]
	return n, nil
}
