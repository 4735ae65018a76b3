// Package remote is the SFTP and FTP/FTPS client side of the file connectors:
// connection settings, host-key verification and the filecore.FS
// implementations, shared by every block that talks to a file server.
package remote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/connectplus/connectplus/blocks/filecore"
	"github.com/connectplus/connectplus/fsroot"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Protocol values of the `protocol` field.
const (
	ProtoAuto = "auto"
	ProtoSFTP = "sftp"
	ProtoFTP  = "ftp"
)

// FTPS modes of the `ftpsMode` field.
const (
	FTPSNone     = "none"
	FTPSExplicit = "explicit"
	FTPSImplicit = "implicit"
)

// Conn says how to reach and authenticate to a server.
type Conn struct {
	Host     string
	Port     int
	User     string
	Password string
	// Key is the private key (PEM); Passphrase decrypts it.
	Key        []byte
	Passphrase string

	// Host-key verification (SSH): a known_hosts text, a pinned SHA256
	// fingerprint, or the explicit opt-out.
	KnownHosts  string
	Fingerprint string
	InsecureAny bool

	Protocol     string // auto (port 21 or an FTPS mode means FTP), sftp, ftp
	FTPS         string // none, explicit, implicit
	FTPSRootCAs  []byte // PEM certificates trusted for FTPS (system roots when empty)
	FTPSInsecure bool

	Timeout time.Duration
	Log     *slog.Logger
}

// IsFTP reports whether the connection uses FTP rather than SFTP.
func (c *Conn) IsFTP() bool {
	switch c.Protocol {
	case ProtoFTP:
		return true
	case ProtoSFTP:
		return false
	}
	return c.Port == 21 || (c.FTPS != "" && c.FTPS != FTPSNone)
}

func (c *Conn) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

func (c *Conn) describe() string {
	scheme := "sftp"
	if c.IsFTP() {
		scheme = "ftp"
		if c.FTPS == FTPSExplicit || c.FTPS == FTPSImplicit {
			scheme = "ftps"
		}
	}
	return scheme + "://" + c.User + "@" + c.Addr()
}

// Dial opens an FS for the connection.
func (c *Conn) Dial(ctx context.Context) (filecore.FS, error) {
	if c.IsFTP() {
		return c.dialFTP(ctx)
	}
	return c.dialSFTP(ctx)
}

// maxKeyFile bounds a private key file: keys are a few KiB, and the field
// must not become a way to read a large file into memory.
const maxKeyFile = 1 << 20

// KeyPath reports whether a private_key_path value names a key file (an
// absolute path) rather than holding the key (PEM or its Base64).
func KeyPath(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" || v == "null" || strings.Contains(v, "-----BEGIN") || !filepath.IsAbs(v) {
		return "", false
	}
	return v, true
}

// LoadKey accepts a PEM private key, its Base64 encoding (how Connect+
// stores keys) or a path to a key file (spec: "private_key_path"). A key
// file is read through p, the local-path policy (nil: unconfined), so it
// must lie in the organisation's files root on the server.
func LoadKey(v string, p *fsroot.Policy) ([]byte, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "null" {
		return nil, nil
	}
	if strings.Contains(v, "-----BEGIN") {
		return []byte(v), nil
	}
	compact := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, v)
	if b, err := base64.StdEncoding.DecodeString(compact); err == nil {
		if strings.Contains(string(b), "-----BEGIN") {
			return b, nil
		}
		return nil, errors.New("the Base64 private key does not decode to a PEM key: include the -----BEGIN ... PRIVATE KEY----- and -----END ... PRIVATE KEY----- lines before encoding")
	}
	if path, ok := KeyPath(v); ok {
		if p == nil {
			var err error
			if p, err = fsroot.Unconfined(); err != nil {
				return nil, err
			}
		}
		f, err := p.Open(path)
		if err != nil {
			return nil, fmt.Errorf("read private key file: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
		if err != nil {
			return nil, fmt.Errorf("read private key file: %w", err)
		}
		if len(b) > maxKeyFile {
			return nil, fmt.Errorf("private key file %s is larger than %d bytes: not a key", path, maxKeyFile)
		}
		return b, nil
	}
	return nil, errors.New("private key must be a PEM key (-----BEGIN ... PRIVATE KEY-----), its Base64 encoding, or an absolute path to a key file")
}

func (c *Conn) signer() (ssh.Signer, error) {
	var s ssh.Signer
	var err error
	if c.Passphrase != "" {
		s, err = ssh.ParsePrivateKeyWithPassphrase(c.Key, []byte(c.Passphrase))
	} else {
		s, err = ssh.ParsePrivateKey(c.Key)
	}
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, errors.New("the private key is encrypted: set key_passphrase")
	}
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	return s, nil
}

// hostKeyCallback verifies the server key against known_hosts text or a
// pinned fingerprint. An unknown key fails with its fingerprint, so the
// operator can verify it out of band and pin it.
func (c *Conn) hostKeyCallback() (ssh.HostKeyCallback, []string, error) {
	if c.InsecureAny {
		return func(host string, remote net.Addr, key ssh.PublicKey) error {
			c.Log.Warn("SECURITY WARNING: insecureAcceptAnyHostKey is set: the SSH host key is NOT verified and a man-in-the-middle can read the credentials and data; pin it with hostKeyFingerprint",
				"host", c.Addr(), "key_type", key.Type(), "fingerprint", ssh.FingerprintSHA256(key))
			return nil
		}, nil, nil
	}
	var khCallback ssh.HostKeyCallback
	var algos []string
	if strings.TrimSpace(c.KnownHosts) != "" {
		cb, a, err := parseKnownHosts(c.KnownHosts)
		if err != nil {
			return nil, nil, err
		}
		khCallback, algos = cb, a
	}
	pin := strings.TrimSpace(c.Fingerprint)
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		fp := ssh.FingerprintSHA256(key)
		if pin != "" {
			if fp == pin || "SHA256:"+strings.TrimRight(strings.TrimPrefix(pin, "SHA256:"), "=") == fp {
				return nil
			}
			if khCallback == nil {
				return fmt.Errorf("host key mismatch for %s: the server presented %s key %s but hostKeyFingerprint is %s (the server was reinstalled, or someone is intercepting the connection)", c.Addr(), key.Type(), fp, pin)
			}
		}
		if khCallback != nil {
			err := khCallback(host, remote, key)
			if err == nil {
				return nil
			}
			var ke *knownhosts.KeyError
			if errors.As(err, &ke) && len(ke.Want) > 0 {
				return fmt.Errorf("host key mismatch for %s: the server presented %s key %s, which is not the key in knownHosts (the server was reinstalled, or someone is intercepting the connection)", c.Addr(), key.Type(), fp)
			}
			if errors.As(err, &ke) {
				return fmt.Errorf("unknown host key for %s: the server presented %s key %s, which knownHosts does not list; verify it and add it to knownHosts or set hostKeyFingerprint to %s", c.Addr(), key.Type(), fp, fp)
			}
			return fmt.Errorf("host key check for %s: %w", c.Addr(), err)
		}
		return fmt.Errorf("unknown host key for %s: the server presented %s key %s; verify it with the server's administrator, then set hostKeyFingerprint to %s (or knownHosts; insecureAcceptAnyHostKey=true skips the check, not recommended)", c.Addr(), key.Type(), fp, fp)
	}, algos, nil
}

// parseKnownHosts builds a callback from known_hosts text (hashed names,
// patterns and markers as OpenSSH writes them) and the host key algorithms
// it lists, so the server is asked for a key type we can check.
func parseKnownHosts(text string) (ssh.HostKeyCallback, []string, error) {
	seen := map[string]bool{}
	var algos []string
	rest := []byte(text)
	for len(rest) > 0 {
		_, _, key, _, r, err := ssh.ParseKnownHosts(rest)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, nil, fmt.Errorf("knownHosts: %w", err)
		}
		rest = r
		for _, a := range algosFor(key.Type()) {
			if !seen[a] {
				seen[a] = true
				algos = append(algos, a)
			}
		}
	}
	// knownhosts.New reads files only; the text lives in a private temp
	// file for the duration of the call.
	f, err := os.CreateTemp("", "cp-known-hosts-*")
	if err != nil {
		return nil, nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(text + "\n"); err != nil {
		f.Close()
		return nil, nil, err
	}
	f.Close()
	cb, err := knownhosts.New(f.Name())
	if err != nil {
		return nil, nil, fmt.Errorf("knownHosts: %w", err)
	}
	return cb, algos, nil
}

func algosFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

func (c *Conn) dialSFTP(ctx context.Context) (filecore.FS, error) {
	desc := c.describe()
	cb, algos, err := c.hostKeyCallback()
	if err != nil {
		return nil, filecore.Permanent(fmt.Errorf("%s: %w", desc, err))
	}
	var auth []ssh.AuthMethod
	method := "password"
	if len(c.Key) > 0 {
		s, err := c.signer()
		if err != nil {
			return nil, filecore.Permanent(fmt.Errorf("%s: %w", desc, err))
		}
		auth = append(auth, ssh.PublicKeys(s))
		method = "publickey"
	} else {
		pw := c.Password
		auth = append(auth, ssh.Password(pw), ssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
			ans := make([]string, len(qs))
			for i := range qs {
				ans[i] = pw
			}
			return ans, nil
		}))
	}
	cfg := &ssh.ClientConfig{User: c.User, Auth: auth, HostKeyCallback: cb, HostKeyAlgorithms: algos, Timeout: c.Timeout}
	d := net.Dialer{Timeout: c.Timeout}
	nc, err := d.DialContext(ctx, "tcp", c.Addr())
	if err != nil {
		return nil, fmt.Errorf("%s: cannot reach the server: %w", desc, err)
	}
	// The handshake must not hang on a server that accepts TCP but never
	// speaks SSH.
	if c.Timeout > 0 {
		nc.SetDeadline(time.Now().Add(c.Timeout))
	}
	sc, chans, reqs, err := ssh.NewClientConn(nc, c.Addr(), cfg)
	if err != nil {
		nc.Close()
		msg := err.Error()
		switch {
		case strings.Contains(msg, "unable to authenticate"):
			return nil, filecore.Permanent(fmt.Errorf("%s: permission denied (%s): the server rejected the %s for user %q: %w", desc, method, map[string]string{"publickey": "private key", "password": "password"}[method], c.User, err))
		case strings.Contains(msg, "host key"):
			return nil, filecore.Permanent(fmt.Errorf("%s: %w", desc, err))
		}
		return nil, fmt.Errorf("%s: SSH handshake: %w", desc, err)
	}
	nc.SetDeadline(time.Time{})
	client := ssh.NewClient(sc, chans, reqs)
	sc2, err := sftp.NewClient(client, sftp.UseConcurrentWrites(true), sftp.MaxConcurrentRequestsPerFile(64))
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("%s: start SFTP subsystem (is SFTP enabled for this user?): %w", desc, err)
	}
	return &sftpFS{ssh: client, c: sc2, desc: desc}, nil
}

// tlsConfig is the FTPS client configuration.
func (c *Conn) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12, ClientSessionCache: tls.NewLRUClientSessionCache(16)}
	if len(c.FTPSRootCAs) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(c.FTPSRootCAs) {
			return nil, errors.New("ftpsCaCertificate holds no PEM certificate")
		}
		tc.RootCAs = pool
	}
	if c.FTPSInsecure {
		c.Log.Warn("SECURITY WARNING: ftpsInsecureSkipVerify is set: the FTPS server certificate is NOT verified", "host", c.Addr())
		tc.InsecureSkipVerify = true
	}
	return tc, nil
}
