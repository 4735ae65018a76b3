package testenv

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// gpgBin is GnuPG 2; override with GPG_BIN.
func gpgBin() string { return firstExisting(os.Getenv("GPG_BIN"), "/usr/bin/gpg") }

// gpgconfBin stops the agent; override with GPGCONF_BIN.
func gpgconfBin() string { return firstExisting(os.Getenv("GPGCONF_BIN"), "/usr/bin/gpgconf") }

func init() {
	staleHooks["cpgpg-"] = killGPGAgent
}

// killGPGAgent stops the gpg-agent (and any other GnuPG daemon) of home.
func killGPGAgent(home string) {
	if checkExecutable(gpgconfBin()) != nil {
		return
	}
	cmd := exec.Command(gpgconfBin(), "--homedir", home, "--kill", "all")
	cmd.Env = append(baseEnv(), "GNUPGHOME="+home, "HOME="+home)
	_ = cmd.Run()
}

// gpgTimeout bounds one gpg invocation (RSA key generation included).
const gpgTimeout = 2 * time.Minute

// GPGHome is a temporary GNUPGHOME. Every gpg call runs with --batch,
// --pinentry-mode loopback and --trust-model always; the agent caches no
// passphrase, so a wrong passphrase always fails. Methods that fail the
// test do so on the testing.TB given to GPG, so call them from that test's
// goroutine.
type GPGHome struct {
	// Dir is the GNUPGHOME directory.
	Dir string

	t           testing.TB
	mu          sync.Mutex
	passphrases map[string]string // fingerprint -> passphrase of generated keys
	lastKey     string            // fingerprint of the last generated key
}

// GPGKey is a key pair made by GenerateKey.
type GPGKey struct {
	UID string
	// Fingerprint is the primary key's fingerprint (upper-case hex).
	Fingerprint string
	// Algo is the algorithm asked for ("rsa3072" or "ed25519").
	Algo       string
	Passphrase string
	// PublicArmored and SecretArmored are the ASCII-armored exports.
	PublicArmored []byte
	SecretArmored []byte
}

// EncryptOptions controls Encrypt.
type EncryptOptions struct {
	// Armor writes ASCII armor instead of binary OpenPGP.
	Armor bool
	// Sign also signs; the signer is SignWith, or the last generated key.
	Sign     bool
	SignWith string
	// Passphrase unlocks the signing key; by default the passphrase given
	// to GenerateKey for it.
	Passphrase string
	// Compress compresses with ZLIB (level 6); otherwise no compression.
	Compress bool
}

// DecryptResult tells what gpg saw while decrypting.
type DecryptResult struct {
	// Signed is true when the message carried a signature.
	Signed bool
	// GoodSignature is true when the signature verified.
	GoodSignature bool
	// SignerFingerprint is the fingerprint of the (primary) signing key,
	// when the signature verified.
	SignerFingerprint string
	// Status holds gpg's machine-readable status lines.
	Status []string
}

// GPG creates a temporary GNUPGHOME (short path under the temp dir, mode
// 0700) and stops its gpg-agent and removes it in t.Cleanup.
func GPG(t testing.TB) *GPGHome {
	t.Helper()
	requireBinary(t, gpgBin())
	dir, err := makeTempDir("cpgpg-", 0o700)
	if err != nil {
		t.Fatalf("testenv: GPG: %v", err)
	}
	g := &GPGHome{Dir: dir, t: t, passphrases: map[string]string{}}
	t.Cleanup(func() {
		killGPGAgent(dir)
		os.RemoveAll(dir)
	})
	// s2k-count: cheap key protection (the default calibration makes every
	// protect/unprotect take seconds on a small machine).
	agentConf := "allow-loopback-pinentry\ndefault-cache-ttl 0\nmax-cache-ttl 0\ns2k-count 65536\n"
	if err := os.WriteFile(filepath.Join(dir, "gpg-agent.conf"), []byte(agentConf), 0o600); err != nil {
		t.Fatalf("testenv: GPG: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "gpg.conf"), []byte("no-greeting\nno-auto-key-locate\nno-auto-key-retrieve\n"), 0o600); err != nil {
		t.Fatalf("testenv: GPG: %v", err)
	}
	return g
}

func (g *GPGHome) env() []string {
	return append(baseEnv(), "GNUPGHOME="+g.Dir, "HOME="+g.Dir)
}

// Run runs gpg with the home's standard options followed by args, feeding
// stdin, and returns stdout, the status lines (--status-fd) and an error
// carrying stderr.
func (g *GPGHome) Run(stdin []byte, args ...string) (stdout []byte, status []string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), gpgTimeout)
	defer cancel()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	defer statusR.Close()
	full := append([]string{"--homedir", g.Dir, "--batch", "--no-tty", "--yes", "--pinentry-mode", "loopback",
		"--trust-model", "always", "--status-fd", "3"}, args...)
	cmd := exec.CommandContext(ctx, gpgBin(), full...)
	cmd.Env = g.env()
	cmd.Dir = g.Dir
	cmd.ExtraFiles = []*os.File{statusW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		statusW.Close()
		return nil, nil, err
	}
	statusW.Close()
	var lines []string
	sc := bufio.NewScanner(statusR)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		return out.Bytes(), lines, fmt.Errorf("gpg %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), lines, nil
}

// GenerateKey creates a key pair for uid and returns it with its armored
// exports. algo is "rsa3072" (RSA-3072 sign + RSA-3072 encrypt subkey) or
// "ed25519" / "cv25519" (Ed25519 sign + Cv25519 encrypt subkey). An empty
// passphrase makes an unprotected secret key. The key never expires.
func (g *GPGHome) GenerateKey(uid, algo, passphrase string) *GPGKey {
	g.t.Helper()
	var primary, sub string
	switch algo {
	case "rsa3072":
		primary, sub = "rsa3072", "rsa3072"
	case "ed25519", "cv25519":
		primary, sub = "ed25519", "cv25519"
	default:
		g.t.Fatalf("testenv: GPG.GenerateKey: unsupported algo %q (want rsa3072, ed25519 or cv25519)", algo)
	}
	pass := []string{"--passphrase", passphrase}
	_, status, err := g.Run(nil, append(pass, "--quick-gen-key", uid, primary, "sign", "never")...)
	if err != nil {
		g.t.Fatalf("testenv: GPG.GenerateKey: %v", err)
	}
	fpr := ""
	for _, l := range status {
		// [GNUPG:] KEY_CREATED P <fingerprint>
		if f := strings.Fields(l); len(f) >= 4 && f[1] == "KEY_CREATED" {
			fpr = f[3]
		}
	}
	if fpr == "" {
		g.t.Fatalf("testenv: GPG.GenerateKey: no KEY_CREATED status from gpg: %q", status)
	}
	if _, _, err := g.Run(nil, append(pass, "--quick-add-key", fpr, sub, "encr", "never")...); err != nil {
		g.t.Fatalf("testenv: GPG.GenerateKey: add subkey: %v", err)
	}
	pub, _, err := g.Run(nil, "--armor", "--export", fpr)
	if err != nil {
		g.t.Fatalf("testenv: GPG.GenerateKey: export: %v", err)
	}
	sec, _, err := g.Run(nil, append(pass, "--armor", "--export-secret-keys", fpr)...)
	if err != nil {
		g.t.Fatalf("testenv: GPG.GenerateKey: export secret: %v", err)
	}
	g.mu.Lock()
	g.passphrases[fpr] = passphrase
	g.lastKey = fpr
	g.mu.Unlock()
	return &GPGKey{UID: uid, Fingerprint: fpr, Algo: algo, Passphrase: passphrase, PublicArmored: pub, SecretArmored: sec}
}

// Import imports armored or binary keys (public or secret) into the home,
// for example keys generated by the code under test.
func (g *GPGHome) Import(key []byte) {
	g.t.Helper()
	if _, _, err := g.Run(key, "--import"); err != nil {
		g.t.Fatalf("testenv: GPG.Import: %v", err)
	}
}

// Encrypt encrypts the file in to the file out for recipient (a
// fingerprint, key ID or e-mail/UID), optionally armored, signed and
// compressed. It fails the test on error.
func (g *GPGHome) Encrypt(in, out, recipient string, opts EncryptOptions) {
	g.t.Helper()
	args := []string{"--output", out, "--recipient", recipient}
	if opts.Armor {
		args = append(args, "--armor")
	}
	if opts.Compress {
		args = append(args, "--compress-algo", "zlib", "-z", "6")
	} else {
		args = append(args, "-z", "0")
	}
	if opts.Sign {
		g.mu.Lock()
		signer := opts.SignWith
		if signer == "" {
			signer = g.lastKey
		}
		pass, ok := g.passphrases[signer]
		g.mu.Unlock()
		if signer == "" {
			g.t.Fatalf("testenv: GPG.Encrypt: Sign needs SignWith or a generated key")
		}
		if opts.Passphrase != "" || !ok {
			pass = opts.Passphrase
		}
		args = append(args, "--passphrase", pass, "--local-user", signer, "--sign")
	}
	args = append(args, "--encrypt", in)
	if _, _, err := g.Run(nil, args...); err != nil {
		g.t.Fatalf("testenv: GPG.Encrypt: %v", err)
	}
}

// Decrypt decrypts the file in to the file out, unlocking the secret key
// with passphrase, and reports signature status. Unlike Encrypt it returns
// errors (wrong passphrase, tampered data, no secret key), so tests can
// check failures. A signature by a key that is not in the home is reported
// as Signed but not GoodSignature, and is not an error.
func (g *GPGHome) Decrypt(in, out, passphrase string) (*DecryptResult, error) {
	g.t.Helper()
	_, status, err := g.Run(nil, "--passphrase", passphrase, "--output", out, "--decrypt", in)
	res := &DecryptResult{Status: status}
	decrypted := false
	for _, l := range status {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[1] {
		case "DECRYPTION_OKAY":
			decrypted = true
		case "DECRYPTION_FAILED":
			decrypted = false
		case "NEWSIG", "ERRSIG", "BADSIG":
			res.Signed = true
		case "GOODSIG":
			res.Signed = true
			res.GoodSignature = true
		case "VALIDSIG":
			// VALIDSIG <fpr> <date> ... <primary-fpr> (field 10 of the args)
			if len(f) >= 12 {
				res.SignerFingerprint = f[11]
			} else if len(f) >= 3 {
				res.SignerFingerprint = f[2]
			}
		}
	}
	if err != nil {
		// gpg exits 2 when it decrypted fine but could not check a
		// signature for lack of the public key.
		if decrypted && !hasStatus(status, "BADSIG") && !hasStatus(status, "DECRYPTION_FAILED") {
			return res, nil
		}
		os.Remove(out)
		return res, err
	}
	if !decrypted {
		os.Remove(out)
		return res, fmt.Errorf("gpg --decrypt %s: no DECRYPTION_OKAY status (not an encrypted message?)", in)
	}
	return res, nil
}

func hasStatus(status []string, keyword string) bool {
	for _, l := range status {
		if f := strings.Fields(l); len(f) >= 2 && f[1] == keyword {
			return true
		}
	}
	return false
}
