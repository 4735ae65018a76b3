package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// FTPMode selects how an FTPServer uses TLS.
type FTPMode string

const (
	// FTPPlain is plain FTP (no TLS).
	FTPPlain FTPMode = "plain"
	// FTPExplicitTLS is FTPES: plain connect, then AUTH TLS (RFC 4217).
	FTPExplicitTLS FTPMode = "explicit"
	// FTPImplicitTLS is FTPS: TLS from the first byte; data connections are
	// protected too.
	FTPImplicitTLS FTPMode = "implicit"
)

// pythonBin runs pyftpdlib; it must be Debian's python (the package
// python3-pyftpdlib installs there), not a pyenv one. Override with
// TESTENV_PYTHON.
func pythonBin() string { return firstExisting(os.Getenv("TESTENV_PYTHON"), "/usr/bin/python3") }

// FTPServer is a running pyftpdlib server with one read-write user.
type FTPServer struct {
	// Addr is "127.0.0.1:PORT".
	Addr string
	Host string
	Port int

	User     string
	Password string

	// Mode is the TLS mode.
	Mode FTPMode
	// CertPEM is the server's self-signed certificate (nil for FTPPlain);
	// it is its own CA, valid for 127.0.0.1, ::1 and localhost.
	CertPEM []byte
	// PassivePorts is the inclusive passive data port range.
	PassivePorts [2]int

	// LogPath is the server log (every command is logged).
	LogPath string

	root string
	proc *process
}

type ftpConfig struct {
	mode        FTPMode
	tlsRequired bool
	user        string
	password    string
}

// FTPOption configures FTP.
type FTPOption func(*ftpConfig)

// WithFTPMode selects plain FTP, explicit TLS or implicit TLS.
func WithFTPMode(m FTPMode) FTPOption { return func(c *ftpConfig) { c.mode = m } }

// WithFTPTLSRequired makes an explicit-TLS server refuse to log in, or to
// open data connections, without TLS.
func WithFTPTLSRequired() FTPOption { return func(c *ftpConfig) { c.tlsRequired = true } }

// WithFTPUser sets the user name and password (random by default).
func WithFTPUser(user, password string) FTPOption {
	return func(c *ftpConfig) { c.user, c.password = user, password }
}

// ftpServerScript runs pyftpdlib from a JSON config. pyftpdlib supports
// explicit TLS (TLS_FTPHandler); implicit TLS is the same handler securing
// the socket before the greeting, with the data channel protected from the
// start.
const ftpServerScript = `import json, logging, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

cfg = json.load(open(sys.argv[1]))
logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                    format="%(asctime)s %(levelname)s %(message)s")
auth = DummyAuthorizer()
auth.add_user(cfg["user"], cfg["password"], cfg["root"], perm="elradfmwMT")

if cfg["mode"] == "plain":
    class Handler(FTPHandler):
        pass
else:
    from pyftpdlib.handlers import TLS_FTPHandler

    class Handler(TLS_FTPHandler):
        if cfg["mode"] == "implicit":
            def handle(self):
                self.secure_connection(self.ssl_context)
                self._pbsz = True
                self._prot = True
                TLS_FTPHandler.handle(self)

    Handler.certfile = cfg["cert"]
    Handler.keyfile = cfg["key"]
    Handler.tls_control_required = cfg["tls_required"]
    Handler.tls_data_required = cfg["tls_required"]

Handler.authorizer = auth
Handler.banner = "connectplus testenv pyftpdlib"
Handler.passive_ports = range(cfg["pasv_lo"], cfg["pasv_hi"] + 1)
Handler.permit_foreign_addresses = False
server = FTPServer((cfg["host"], cfg["port"]), Handler)
server.max_cons = 256
server.max_cons_per_ip = 0
print("pyftpdlib listening on %s:%d mode=%s" % (cfg["host"], cfg["port"], cfg["mode"]), file=sys.stderr, flush=True)
server.serve_forever()
`

// FTP starts pyftpdlib (a small script on pyftpdlib's FTPServer and
// TLS_FTPHandler, run by /usr/bin/python3) on
// a free loopback port with one user that may read and write everything
// under Root, a 100-port passive range and, for the TLS modes, a fresh
// self-signed certificate. It is stopped and its files removed by t.Cleanup.
func FTP(t testing.TB, opts ...FTPOption) *FTPServer {
	t.Helper()
	cfg := ftpConfig{mode: FTPPlain, user: "cpftp", password: "pw-" + randomHex(8)}
	for _, o := range opts {
		o(&cfg)
	}
	switch cfg.mode {
	case FTPPlain, FTPExplicitTLS, FTPImplicitTLS:
	default:
		t.Fatalf("testenv: FTP: unknown mode %q", cfg.mode)
	}
	py := pythonBin()
	requireBinary(t, py)
	if _, err := os.Stat("/usr/lib/python3/dist-packages/pyftpdlib/__init__.py"); err != nil && py == "/usr/bin/python3" {
		unmet(t, "python3-pyftpdlib is not installed: %v", err)
	}
	if cfg.mode != FTPPlain {
		if _, err := os.Stat("/usr/lib/python3/dist-packages/OpenSSL/__init__.py"); err != nil && py == "/usr/bin/python3" {
			unmet(t, "python3-openssl (needed for FTPS) is not installed: %v", err)
		}
	}

	base, err := makeTempDir("cpftp-", 0o755)
	if err != nil {
		t.Fatalf("testenv: FTP: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	s := &FTPServer{
		Host:     "127.0.0.1",
		User:     cfg.user,
		Password: cfg.password,
		Mode:     cfg.mode,
		LogPath:  filepath.Join(base, "ftp.log"),
		root:     filepath.Join(base, "root"),
	}
	if err := os.Mkdir(s.root, 0o755); err != nil {
		t.Fatalf("testenv: FTP: %v", err)
	}
	lo := 20000 + mrand.IntN(99)*100
	s.PassivePorts = [2]int{lo, lo + 99}

	certPath, keyPath := filepath.Join(base, "cert.pem"), filepath.Join(base, "key.pem")
	if cfg.mode != FTPPlain {
		certPEM, keyPEM, err := selfSignedCert("connectplus testenv FTP")
		if err != nil {
			t.Fatalf("testenv: FTP: %v", err)
		}
		if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
			t.Fatalf("testenv: FTP: %v", err)
		}
		if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
			t.Fatalf("testenv: FTP: %v", err)
		}
		s.CertPEM = certPEM
	}
	scriptPath := filepath.Join(base, "ftpserver.py")
	if err := os.WriteFile(scriptPath, []byte(ftpServerScript), 0o644); err != nil {
		t.Fatalf("testenv: FTP: %v", err)
	}
	confPath := filepath.Join(base, "ftp.json")

	proc, port, err := startWithRetry("pyftpdlib", func(port int) (*process, string, error) {
		conf, err := json.Marshal(map[string]any{
			"host": s.Host, "port": port, "user": s.User, "password": s.Password, "root": s.root,
			"mode": string(cfg.mode), "cert": certPath, "key": keyPath, "tls_required": cfg.tlsRequired,
			"pasv_lo": s.PassivePorts[0], "pasv_hi": s.PassivePorts[1],
		})
		if err != nil {
			return nil, "", err
		}
		if err := os.WriteFile(confPath, conf, 0o600); err != nil {
			return nil, "", err
		}
		p, err := startProcess(procSpec{
			name:    "pyftpdlib",
			path:    py,
			args:    []string{"-u", scriptPath, confPath},
			dir:     base,
			logPath: s.LogPath,
		})
		return p, net.JoinHostPort(s.Host, strconv.Itoa(port)), err
	})
	if err != nil {
		t.Fatalf("testenv: FTP: %v", err)
	}
	s.proc = proc
	s.Port = port
	s.Addr = net.JoinHostPort(s.Host, strconv.Itoa(port))
	t.Cleanup(proc.stop)
	return s
}

// Root returns the local directory served as the user's "/".
func (s *FTPServer) Root() string { return s.root }

// LocalPath maps a server path ("/dir/file" or "dir/file") to a local path.
func (s *FTPServer) LocalPath(remote string) string {
	return filepath.Join(s.root, filepath.Clean("/"+remote))
}

// WriteFile creates a file (and parent directories) under Root.
func (s *FTPServer) WriteFile(t testing.TB, rel string, data []byte) string {
	t.Helper()
	p := s.LocalPath(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatalf("testenv: FTPServer.WriteFile: %v", err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatalf("testenv: FTPServer.WriteFile: %v", err)
	}
	return p
}

// ReadFile reads a file under Root.
func (s *FTPServer) ReadFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(s.LocalPath(rel))
	if err != nil {
		t.Fatalf("testenv: FTPServer.ReadFile: %v", err)
	}
	return b
}

// CertPool returns a pool that trusts the server certificate (nil for
// FTPPlain).
func (s *FTPServer) CertPool() *x509.CertPool {
	if s.CertPEM == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CertPEM)
	return pool
}

// TLSConfig returns a client TLS config that verifies the server
// certificate (nil for FTPPlain).
func (s *FTPServer) TLSConfig() *tls.Config {
	if s.CertPEM == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.CertPool(), ServerName: s.Host, MinVersion: tls.VersionTLS12}
}

// Stop stops the server early (it is also stopped by t.Cleanup).
func (s *FTPServer) Stop() { s.proc.stop() }

// selfSignedCert returns a self-signed ECDSA P-256 certificate (its own CA)
// for 127.0.0.1, ::1 and localhost, valid for a day, and its PKCS#8 key.
func selfSignedCert(cn string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"connectplus testenv"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	return certPEM, keyPEM, nil
}
