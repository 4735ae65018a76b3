package sftp

import (
	"context"
	"encoding/base64"
	"github.com/connectplus/connectplus/blocks/filecore/remote"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/filecore"
	"github.com/connectplus/connectplus/blocks/filecore/filecoretest"
	"github.com/connectplus/connectplus/internal/testenv"
	"golang.org/x/crypto/ssh/knownhosts"
)

func sshConn(srv *testenv.SSHServer) *remote.Conn {
	return &remote.Conn{Host: srv.Host, Port: srv.Port, User: srv.User, Key: srv.ClientKeyPEM, Fingerprint: srv.HostKeyFingerprint,
		Timeout: 10 * time.Second, Log: slog.New(slog.DiscardHandler)}
}

func fastRetry() filecore.Retry { return filecore.Retry{Attempts: 2, Backoff: 50 * time.Millisecond} }

func TestSFTPConformanceOpenSSH(t *testing.T) {
	srv := testenv.SSHD(t)
	filecoretest.Run(t, filecoretest.Harness{
		Base: testenv.SFTPHome,
		NewPool: func(t *testing.T) *filecore.Pool {
			return filecore.NewPool(sshConn(srv).Dial, fastRetry(), nil)
		},
		Touch: func(t *testing.T, remote string, mtime time.Time) {
			if err := os.Chtimes(srv.LocalPath(remote), mtime, mtime); err != nil {
				t.Fatal(err)
			}
		},
	})
}

func ftpHarness(t *testing.T, mode testenv.FTPMode) filecoretest.Harness {
	srv := testenv.FTP(t, testenv.WithFTPMode(mode))
	ftps := map[testenv.FTPMode]string{testenv.FTPPlain: remote.FTPSNone, testenv.FTPExplicitTLS: remote.FTPSExplicit, testenv.FTPImplicitTLS: remote.FTPSImplicit}[mode]
	return filecoretest.Harness{
		Base: "/",
		NewPool: func(t *testing.T) *filecore.Pool {
			c := &remote.Conn{Host: srv.Host, Port: srv.Port, User: srv.User, Password: srv.Password, Protocol: remote.ProtoFTP, FTPS: ftps,
				FTPSRootCAs: srv.CertPEM, Timeout: 10 * time.Second, Log: slog.New(slog.DiscardHandler)}
			return filecore.NewPool(c.Dial, fastRetry(), nil)
		},
		Touch: func(t *testing.T, remote string, mtime time.Time) {
			if err := os.Chtimes(srv.LocalPath(remote), mtime, mtime); err != nil {
				t.Fatal(err)
			}
		},
	}
}

func TestFTPConformancePlain(t *testing.T) { filecoretest.Run(t, ftpHarness(t, testenv.FTPPlain)) }
func TestFTPConformanceExplicitTLS(t *testing.T) {
	filecoretest.Run(t, ftpHarness(t, testenv.FTPExplicitTLS))
}
func TestFTPConformanceImplicitTLS(t *testing.T) {
	filecoretest.Run(t, ftpHarness(t, testenv.FTPImplicitTLS))
}

// build parses raw through the spec as the engine would, resolving secrets
// from a map, and builds the block.
func build(t *testing.T, spec *block.Spec, raw map[string]any, secrets map[string]string) block.Block {
	t.Helper()
	c, probs := spec.ParseConfig(raw, resolver(secrets))
	if len(probs) > 0 {
		t.Fatalf("config problems: %v", probs)
	}
	env := filecoretest.Env(t, spec.Type)
	env.Options[filecore.OptStabilityWait] = "0"
	b, err := spec.New(c, env)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if cl, ok := b.(block.Closer); ok {
		t.Cleanup(func() { cl.Close() })
	}
	return b
}

type resolver map[string]string

func (r resolver) Resolve(name string) (string, error) { return r[name], nil }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func readBase(srv *testenv.SSHServer) map[string]any {
	return map[string]any{
		"hostname": srv.Host, "username": srv.User, "port": srv.Port,
		"sourceDirectory": "/upload/in", "processedDirectory": "/upload/done", "apiErrorFilePath": "/upload/errors",
		"hostKeyFingerprint": srv.HostKeyFingerprint,
	}
}

func listTwice(t *testing.T, src block.Source) ([]block.Item, error) {
	t.Helper()
	if _, err := src.List(ctx(t)); err != nil {
		return nil, err
	}
	return src.List(ctx(t))
}

func TestSFTPReadBlockAuth(t *testing.T) {
	srv := testenv.SSHD(t)
	srv.WriteFile(t, "in/orders.csv", []byte("id\n1\n"))

	t.Run("Base64KeyFromSecret", func(t *testing.T) {
		raw := readBase(srv)
		raw["password"] = "null"
		raw["private_key_path"] = map[string]any{"$config": "sftp_key"}
		b := build(t, ReadSpec, raw, map[string]string{"sftp_key": base64.StdEncoding.EncodeToString(srv.ClientKeyPEM)})
		items, err := listTwice(t, b.(block.Source))
		if err != nil || len(items) != 1 || items[0].Name != "orders.csv" {
			t.Fatalf("items %v err %v", items, err)
		}
	})
	t.Run("Password", func(t *testing.T) {
		raw := readBase(srv)
		raw["password"] = map[string]any{"$config": "sftp_password"}
		b := build(t, ReadSpec, raw, map[string]string{"sftp_password": srv.Password})
		items, err := listTwice(t, b.(block.Source))
		if err != nil || len(items) != 1 {
			t.Fatalf("items %v err %v", items, err)
		}
		u, err := b.(block.Source).Open(ctx(t), items[0])
		if err != nil {
			t.Fatal(err)
		}
		rc, err := u.File.Open(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != "id\n1\n" {
			t.Fatalf("content %q", got)
		}
	})
	t.Run("WrongPassword", func(t *testing.T) {
		raw := readBase(srv)
		raw["password"] = map[string]any{"$config": "p"}
		b := build(t, ReadSpec, raw, map[string]string{"p": "wrong"})
		err := b.(block.Starter).Start(ctx(t))
		if err == nil || !strings.Contains(err.Error(), "permission denied (password)") {
			t.Fatalf("wrong password: %v", err)
		}
	})
	t.Run("WrongKey", func(t *testing.T) {
		other := testenv.SSHD(t)
		raw := readBase(srv)
		raw["private_key_path"] = map[string]any{"$config": "k"}
		b := build(t, ReadSpec, raw, map[string]string{"k": string(other.ClientKeyPEM)})
		err := b.(block.Starter).Start(ctx(t))
		if err == nil || !strings.Contains(err.Error(), "permission denied (publickey)") {
			t.Fatalf("wrong key: %v", err)
		}
	})
	t.Run("UnknownHostShowsFingerprint", func(t *testing.T) {
		raw := readBase(srv)
		delete(raw, "hostKeyFingerprint")
		raw["password"] = map[string]any{"$config": "p"}
		b := build(t, ReadSpec, raw, map[string]string{"p": srv.Password})
		err := b.(block.Starter).Start(ctx(t))
		if err == nil || !strings.Contains(err.Error(), "unknown host key") || !strings.Contains(err.Error(), srv.HostKeyFingerprint) {
			t.Fatalf("unknown host: %v", err)
		}
	})
	t.Run("WrongHostKey", func(t *testing.T) {
		other := testenv.SSHD(t)
		for name, set := range map[string]func(map[string]any){
			"fingerprint": func(r map[string]any) { r["hostKeyFingerprint"] = other.HostKeyFingerprint },
			"knownHosts": func(r map[string]any) {
				delete(r, "hostKeyFingerprint")
				r["knownHosts"] = knownhosts.Line([]string{knownhosts.Normalize(srv.Addr)}, other.HostKey)
			},
		} {
			raw := readBase(srv)
			set(raw)
			raw["password"] = map[string]any{"$config": "p"}
			b := build(t, ReadSpec, raw, map[string]string{"p": srv.Password})
			err := b.(block.Starter).Start(ctx(t))
			if err == nil || !strings.Contains(err.Error(), "host key mismatch") || !strings.Contains(err.Error(), srv.HostKeyFingerprint) {
				t.Fatalf("%s: wrong host key: %v", name, err)
			}
		}
	})
	t.Run("KnownHosts", func(t *testing.T) {
		raw := readBase(srv)
		delete(raw, "hostKeyFingerprint")
		raw["knownHosts"] = srv.KnownHostsLine
		raw["password"] = map[string]any{"$config": "p"}
		b := build(t, ReadSpec, raw, map[string]string{"p": srv.Password})
		if err := b.(block.Starter).Start(ctx(t)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("InsecureAcceptAny", func(t *testing.T) {
		raw := readBase(srv)
		delete(raw, "hostKeyFingerprint")
		raw["insecureAcceptAnyHostKey"] = true
		raw["password"] = map[string]any{"$config": "p"}
		b := build(t, ReadSpec, raw, map[string]string{"p": srv.Password})
		if err := b.(block.Starter).Start(ctx(t)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Unreachable", func(t *testing.T) {
		raw := readBase(srv)
		raw["port"] = closedPort
		raw["password"] = map[string]any{"$config": "p"}
		b := build(t, ReadSpec, raw, map[string]string{"p": srv.Password})
		err := b.(block.Starter).Start(ctx(t))
		if err == nil || !strings.Contains(err.Error(), "cannot reach the server") || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("unreachable: %v", err)
		}
	})
	t.Run("PasswordAndKeyExclusive", func(t *testing.T) {
		raw := readBase(srv)
		raw["password"] = map[string]any{"$config": "p"}
		raw["private_key_path"] = map[string]any{"$config": "k"}
		_, probs := ReadSpec.ParseConfig(raw, resolver{"p": "x", "k": string(srv.ClientKeyPEM)})
		if len(probs) != 1 || !strings.Contains(probs[0].Message, "mutually exclusive") {
			t.Fatalf("problems %v", probs)
		}
	})
}

// closedPort (tcpmux) is never served on the test machines: connecting to
// it is refused at once.
const closedPort = 1

// TestSFTPReadMovePermission: a user without write permission on the
// processed directory gets a message that names the missing permission,
// and the file is not handed out again by the same process.
func TestSFTPReadMovePermission(t *testing.T) {
	srv := testenv.SSHD(t)
	srv.WriteFile(t, "in/a.csv", []byte("x\n"))
	// Root-owned and read-only for the SFTP user.
	if err := os.MkdirAll(filepath.Join(srv.Root(), "locked"), 0o755); err != nil {
		t.Fatal(err)
	}
	raw := readBase(srv)
	raw["processedDirectory"] = "/upload/locked"
	raw["private_key_path"] = map[string]any{"$config": "k"}
	b := build(t, ReadSpec, raw, map[string]string{"k": string(srv.ClientKeyPEM)})
	src := b.(block.Source)
	items, err := listTwice(t, src)
	if err != nil || len(items) != 1 {
		t.Fatalf("items %v err %v", items, err)
	}
	if _, err := src.Open(ctx(t), items[0]); err != nil {
		t.Fatal(err)
	}
	err = src.Finish(ctx(t), items[0], &block.Completion{})
	if err == nil || !strings.Contains(err.Error(), "permission denied") || !strings.Contains(err.Error(), "move") {
		t.Fatalf("move without permission: %v", err)
	}
	again, err := listTwice(t, src)
	if err != nil || len(again) != 0 {
		t.Fatalf("file handed out again after a failed move: %v %v", again, err)
	}
}

// TestSFTPWriteBlock drives sftp_write through its spec with password auth.
func TestSFTPWriteBlock(t *testing.T) {
	srv := testenv.SSHD(t)
	raw := map[string]any{
		"hostname": srv.Host, "username": srv.User, "port": srv.Port, "hostKeyFingerprint": srv.HostKeyFingerprint,
		"password": map[string]any{"$config": "p"}, "remotePath": "/upload/out/deep", "createRemoteDirectory": "true",
		"conflictResolution": "RENAME", "outputFileName": "${filename:substringBefore('.')}_out.csv",
	}
	b := build(t, WriteSpec, raw, map[string]string{"p": srv.Password})
	p := b.(block.Processor)
	for range 2 {
		u := &block.Unit{Attrs: block.Attributes{"filename": "orders.csv"}, File: block.NewFile("orders.csv", 3, func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("a,b")), nil
		})}
		if err := p.Process(ctx(t), u, &filecoretest.Output{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := string(srv.ReadFile(t, "out/deep/orders_out.csv")); got != "a,b" {
		t.Fatalf("got %q", got)
	}
	if got := string(srv.ReadFile(t, "out/deep/1.orders_out.csv")); got != "a,b" {
		t.Fatalf("renamed got %q", got)
	}
}

// TestListingBlock covers credential_aware_ftp_listing over FTP with the
// documentation's glob default.
func TestListingBlock(t *testing.T) {
	srv := testenv.FTP(t)
	srv.WriteFile(t, "recon/a.csv", []byte("1"))
	srv.WriteFile(t, "recon/b.txt", []byte("1"))
	raw := map[string]any{"host": srv.Host, "user": srv.User, "pass": map[string]any{"$config": "p"}, "port": srv.Port,
		"protocol": "ftp", "path": "/recon", "fileName": "*.csv", "processedPath": "/recon/processed"}
	b := build(t, ListingSpec, raw, map[string]string{"p": srv.Password})
	src := b.(block.Source)
	items, err := listTwice(t, src)
	if err != nil || len(items) != 1 || items[0].Name != "a.csv" {
		t.Fatalf("items %v err %v", items, err)
	}
	if _, err := src.Open(ctx(t), items[0]); err != nil {
		t.Fatal(err)
	}
	if err := src.Finish(ctx(t), items[0], &block.Completion{Err: io.ErrUnexpectedEOF}); err != nil {
		t.Fatal(err)
	}
	if got := string(srv.ReadFile(t, "recon/processed/a.csv")); got != "1" {
		t.Fatalf("not moved: %q", got)
	}
}

func TestFTPWrongPassword(t *testing.T) {
	srv := testenv.FTP(t)
	c := &remote.Conn{Host: srv.Host, Port: srv.Port, User: srv.User, Password: "nope", Protocol: remote.ProtoFTP, Timeout: 5 * time.Second, Log: slog.New(slog.DiscardHandler)}
	_, err := c.Dial(context.Background())
	if err == nil || !strings.Contains(err.Error(), "permission denied (password)") || filecore.IsTransient(err) {
		t.Fatalf("wrong FTP password: %v", err)
	}
}

func TestFTPSUntrustedCertificate(t *testing.T) {
	srv := testenv.FTP(t, testenv.WithFTPMode(testenv.FTPExplicitTLS))
	c := &remote.Conn{Host: srv.Host, Port: srv.Port, User: srv.User, Password: srv.Password, Protocol: remote.ProtoFTP, FTPS: remote.FTPSExplicit,
		Timeout: 5 * time.Second, Log: slog.New(slog.DiscardHandler)}
	_, err := c.Dial(context.Background())
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted FTPS certificate accepted: %v", err)
	}
}
