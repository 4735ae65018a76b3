package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// mailpitBin finds mailpit: $MAILPIT_BIN, else $(go env GOPATH)/bin, else
// /usr/local/bin (.ci/install-deps.sh builds it with go install).
func mailpitBin() string {
	if v := os.Getenv("MAILPIT_BIN"); v != "" {
		return v
	}
	var cands []string
	if gp := goPath(); gp != "" {
		for _, p := range filepath.SplitList(gp) {
			cands = append(cands, filepath.Join(p, "bin", "mailpit"))
		}
	}
	cands = append(cands, "/usr/local/bin/mailpit")
	return firstExisting(cands...)
}

// MailpitOption configures Mailpit.
type MailpitOption func(*mailpitConfig)

type mailpitConfig struct {
	user, password string
	starttls       bool
	implicitTLS    bool
}

// WithMailpitAuth requires SMTP authentication with this user and password.
func WithMailpitAuth(user, password string) MailpitOption {
	return func(c *mailpitConfig) { c.user, c.password = user, password }
}

// WithMailpitSTARTTLS serves a fresh self-signed certificate and requires
// clients to use STARTTLS.
func WithMailpitSTARTTLS() MailpitOption { return func(c *mailpitConfig) { c.starttls = true } }

// WithMailpitImplicitTLS serves a fresh self-signed certificate with TLS
// from the first byte (SMTPS, what port 465 speaks): a plain or STARTTLS
// client is refused.
func WithMailpitImplicitTLS() MailpitOption { return func(c *mailpitConfig) { c.implicitTLS = true } }

// MailpitServer is a running mailpit: an SMTP server that keeps every
// message, and its HTTP API to read them back.
type MailpitServer struct {
	SMTPHost string
	SMTPPort int
	// API is "http://127.0.0.1:PORT" (mailpit's web UI and REST API).
	API string
	// CertPEM is the TLS certificate (WithMailpitSTARTTLS,
	// WithMailpitImplicitTLS).
	CertPEM []byte
	proc    *process
}

// Mailpit starts mailpit with its SMTP server and HTTP API on free
// loopback ports and an in-memory store; it is stopped by t.Cleanup.
func Mailpit(t testing.TB, opts ...MailpitOption) *MailpitServer {
	t.Helper()
	bin := mailpitBin()
	requireBinary(t, bin)
	var cfg mailpitConfig
	for _, o := range opts {
		o(&cfg)
	}
	base, err := makeTempDir("cpmail-", 0o700)
	if err != nil {
		t.Fatalf("testenv: Mailpit: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	m := &MailpitServer{SMTPHost: "127.0.0.1"}
	var extra []string
	if cfg.user != "" {
		f := filepath.Join(base, "smtp-auth")
		if err := os.WriteFile(f, []byte(cfg.user+":"+cfg.password+"\n"), 0o600); err != nil {
			t.Fatalf("testenv: Mailpit: %v", err)
		}
		extra = append(extra, "--smtp-auth-file", f)
		if !cfg.starttls && !cfg.implicitTLS {
			extra = append(extra, "--smtp-auth-allow-insecure")
		}
	}
	if cfg.starttls || cfg.implicitTLS {
		certPEM, keyPEM, err := selfSignedCert("127.0.0.1")
		if err != nil {
			t.Fatalf("testenv: Mailpit: %v", err)
		}
		cf, kf := filepath.Join(base, "cert.pem"), filepath.Join(base, "key.pem")
		if err := os.WriteFile(cf, certPEM, 0o600); err != nil {
			t.Fatalf("testenv: Mailpit: %v", err)
		}
		if err := os.WriteFile(kf, keyPEM, 0o600); err != nil {
			t.Fatalf("testenv: Mailpit: %v", err)
		}
		m.CertPEM = certPEM
		extra = append(extra, "--smtp-tls-cert", cf, "--smtp-tls-key", kf)
		if cfg.implicitTLS {
			extra = append(extra, "--smtp-require-tls")
		} else {
			extra = append(extra, "--smtp-require-starttls")
		}
	}
	smtpPort := 0
	proc, port, err := startWithRetry("mailpit", func(port int) (*process, string, error) {
		sp, err := freePort()
		if err != nil {
			return nil, "", err
		}
		smtpPort = sp
		httpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		args := append([]string{"--listen", httpAddr, "--smtp", net.JoinHostPort("127.0.0.1", strconv.Itoa(sp)),
			"--database", filepath.Join(base, "mail.db"), "--smtp-disable-rdns", "--disable-version-check", "--quiet"}, extra...)
		p, err := startProcess(procSpec{name: "mailpit", path: bin, args: args, env: []string{"HOME=" + base}, dir: base, logPath: filepath.Join(base, "mailpit.log")})
		return p, httpAddr, err
	})
	if err != nil {
		t.Fatalf("testenv: Mailpit: %v", err)
	}
	m.proc, m.SMTPPort, m.API = proc, smtpPort, "http://127.0.0.1:"+strconv.Itoa(port)
	t.Cleanup(proc.stop)
	if err := proc.waitTCP(net.JoinHostPort("127.0.0.1", strconv.Itoa(smtpPort)), StartTimeout); err != nil {
		t.Fatalf("testenv: Mailpit SMTP: %v\nlog tail:\n%s", err, proc.logTail())
	}
	return m
}

// TLSConfig trusts the TLS certificate.
func (m *MailpitServer) TLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(m.CertPEM)
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// MailAddress is an address as mailpit's API reports it.
type MailAddress struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// MailSummary is one message of mailpit's list.
type MailSummary struct {
	ID          string        `json:"ID"`
	MessageID   string        `json:"MessageID"`
	From        MailAddress   `json:"From"`
	To          []MailAddress `json:"To"`
	Subject     string        `json:"Subject"`
	Created     time.Time     `json:"Created"`
	Attachments int           `json:"Attachments"`
}

// MailAttachment is an attachment of a message.
type MailAttachment struct {
	PartID      string `json:"PartID"`
	FileName    string `json:"FileName"`
	ContentType string `json:"ContentType"`
	Size        int    `json:"Size"`
}

// Mail is one message with its bodies.
type Mail struct {
	ID          string           `json:"ID"`
	From        MailAddress      `json:"From"`
	To          []MailAddress    `json:"To"`
	Subject     string           `json:"Subject"`
	Text        string           `json:"Text"`
	HTML        string           `json:"HTML"`
	Attachments []MailAttachment `json:"Attachments"`
}

func (m *MailpitServer) get(t testing.TB, path string, v any) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.API+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("testenv: mailpit API %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("testenv: mailpit API %s: %d %s %v", path, resp.StatusCode, b, err)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("testenv: mailpit API %s: %v", path, err)
		}
	}
	return b
}

// Messages lists the messages received, newest first.
func (m *MailpitServer) Messages(t testing.TB) []MailSummary {
	t.Helper()
	var out struct {
		Messages []MailSummary `json:"messages"`
	}
	m.get(t, "/api/v1/messages?limit=500", &out)
	return out.Messages
}

// Search lists the messages matching a mailpit search query (for
// example `subject:"5XX"`), newest first.
func (m *MailpitServer) Search(t testing.TB, query string) []MailSummary {
	t.Helper()
	var out struct {
		Messages []MailSummary `json:"messages"`
	}
	m.get(t, "/api/v1/search?query="+url.QueryEscape(query), &out)
	return out.Messages
}

// Message reads a message with its text and HTML bodies.
func (m *MailpitServer) Message(t testing.TB, id string) Mail {
	t.Helper()
	var out Mail
	m.get(t, "/api/v1/message/"+url.PathEscape(id), &out)
	return out
}

// Headers reads a message's headers.
func (m *MailpitServer) Headers(t testing.TB, id string) map[string][]string {
	t.Helper()
	var out map[string][]string
	m.get(t, "/api/v1/message/"+url.PathEscape(id)+"/headers", &out)
	return out
}

// Part reads an attachment's content.
func (m *MailpitServer) Part(t testing.TB, id, partID string) []byte {
	t.Helper()
	return m.get(t, "/api/v1/message/"+url.PathEscape(id)+"/part/"+url.PathEscape(partID), nil)
}

// WaitMessages polls until at least n messages arrived (or fails after
// timeout).
func (m *MailpitServer) WaitMessages(t testing.TB, n int, timeout time.Duration) []MailSummary {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := m.Messages(t)
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: mailpit: %d message(s) after %s, want %d", len(msgs), timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// String describes the server.
func (m *MailpitServer) String() string {
	return fmt.Sprintf("mailpit SMTP %s:%d, API %s", m.SMTPHost, m.SMTPPort, m.API)
}
