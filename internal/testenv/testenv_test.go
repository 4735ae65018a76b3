package testenv

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jlaffaye/ftp"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestMain(m *testing.M) { Main(m) }

func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	// A zombie still answers signal 0; treat it as dead.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}

func sftpClient(t *testing.T, srv *SSHServer, cfg *ssh.ClientConfig) *sftp.Client {
	t.Helper()
	cfg.Timeout = 10 * time.Second
	conn, err := ssh.Dial("tcp", srv.Addr, cfg)
	if err != nil {
		t.Fatalf("ssh dial: %v\nsshd log:\n%s", err, fileTail(srv.LogPath, 30))
	}
	t.Cleanup(func() { conn.Close() })
	c, err := sftp.NewClient(conn)
	if err != nil {
		t.Fatalf("sftp client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSSHD(t *testing.T) {
	start := time.Now()
	srv := SSHD(t)
	t.Logf("sshd ready on %s in %v", srv.Addr, time.Since(start))

	if srv.Host != "127.0.0.1" || srv.Port == 0 || srv.User != SFTPUser || srv.Password == "" {
		t.Fatalf("unexpected server fields: %+v", srv)
	}
	if !strings.HasPrefix(srv.HostKeyFingerprint, "SHA256:") || !strings.HasPrefix(srv.HostKeyLine, "ssh-ed25519 ") {
		t.Fatalf("host key fields: %q %q", srv.HostKeyFingerprint, srv.HostKeyLine)
	}
	if b, err := os.ReadFile(srv.ClientKeyPath); err != nil || !bytes.Equal(b, srv.ClientKeyPEM) {
		t.Fatalf("client key file: %v", err)
	}
	srv.WriteFile(t, "in/seed.csv", []byte("id,name\n1,a\n"))

	t.Run("key auth", func(t *testing.T) {
		c := sftpClient(t, srv, srv.ClientConfig(srv.KeyAuth()))
		wd, err := c.Getwd()
		if err != nil || wd != SFTPHome {
			t.Fatalf("Getwd = %q, %v; want %q", wd, err, SFTPHome)
		}
		f, err := c.Create("key.txt")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("via key")); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if got := string(srv.ReadFile(t, "key.txt")); got != "via key" {
			t.Fatalf("local file = %q", got)
		}
		if p := srv.LocalPath("/upload/key.txt"); p != filepath.Join(srv.Root(), "key.txt") {
			t.Fatalf("LocalPath = %q", p)
		}
		r, err := c.Open("/upload/in/seed.csv")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if string(b) != "id,name\n1,a\n" {
			t.Fatalf("seed = %q", b)
		}
		// Files written by WriteFile belong to the SFTP user: it may move them.
		if err := c.Rename("in/seed.csv", "in/seed.done"); err != nil {
			t.Fatalf("rename seeded file: %v", err)
		}
		// The chroot keeps the client out of the rest of the file system.
		if _, err := c.Stat("/etc/passwd"); err == nil {
			t.Fatal("client can see /etc/passwd: not chrooted")
		}
	})

	t.Run("password auth", func(t *testing.T) {
		cfg := srv.ClientConfig(srv.PasswordAuth())
		c := sftpClient(t, srv, cfg)
		if err := c.Mkdir("out"); err != nil {
			t.Fatal(err)
		}
		f, err := c.Create("out/pw.txt")
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("via password"))
		f.Close()
		if got := string(srv.ReadFile(t, "out/pw.txt")); got != "via password" {
			t.Fatalf("local file = %q", got)
		}
	})

	t.Run("known_hosts verification", func(t *testing.T) {
		cb, err := knownhosts.New(srv.KnownHostsPath)
		if err != nil {
			t.Fatal(err)
		}
		cfg := srv.ClientConfig(srv.KeyAuth())
		cfg.HostKeyCallback = cb
		c := sftpClient(t, srv, cfg)
		if _, err := c.Getwd(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("wrong host key is rejected", func(t *testing.T) {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		other, _ := ssh.NewPublicKey(pub)
		cfg := srv.ClientConfig(srv.KeyAuth())
		cfg.HostKeyCallback = ssh.FixedHostKey(other)
		cfg.Timeout = 10 * time.Second
		if conn, err := ssh.Dial("tcp", srv.Addr, cfg); err == nil {
			conn.Close()
			t.Fatal("dial succeeded with the wrong host key")
		}
	})

	t.Run("wrong password is rejected", func(t *testing.T) {
		cfg := srv.ClientConfig(ssh.Password("not-" + srv.Password))
		cfg.Timeout = 10 * time.Second
		if conn, err := ssh.Dial("tcp", srv.Addr, cfg); err == nil {
			conn.Close()
			t.Fatal("dial succeeded with a wrong password")
		}
	})
}

func TestSSHDOptions(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	extra, _ := ssh.NewPublicKey(pub)
	signer, _ := ssh.NewSignerFromKey(priv)
	srv := SSHD(t, WithAuthorizedKeys(extra), WithoutPasswordAuth())

	c := sftpClient(t, srv, srv.ClientConfig(ssh.PublicKeys(signer)))
	if _, err := c.Getwd(); err != nil {
		t.Fatal(err)
	}
	cfg := srv.ClientConfig(srv.PasswordAuth())
	cfg.Timeout = 10 * time.Second
	if conn, err := ssh.Dial("tcp", srv.Addr, cfg); err == nil {
		conn.Close()
		t.Fatal("password auth accepted although disabled")
	}
}

func TestSSHDCleanupKillsSessions(t *testing.T) {
	var pid int
	var dir string
	var sessions []int
	t.Run("server", func(t *testing.T) {
		srv := SSHD(t)
		pid, dir = srv.proc.cmd.Process.Pid, srv.base
		// Leave a session open on purpose: cleanup must still end it.
		conn, err := ssh.Dial("tcp", srv.Addr, srv.ClientConfig())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sftp.NewClient(conn); err != nil {
			t.Fatal(err)
		}
		sessions = descendants(pid)
		if len(sessions) == 0 {
			t.Fatal("no per-connection sshd process found")
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range append([]int{pid}, sessions...) {
		for alive(p) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(p) {
			t.Errorf("process %d still alive after cleanup", p)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("server dir %s not removed: %v", dir, err)
	}
}

func ftpRoundTrip(t *testing.T, srv *FTPServer, opts ...ftp.DialOption) {
	t.Helper()
	opts = append(opts, ftp.DialWithTimeout(10*time.Second))
	c, err := ftp.Dial(srv.Addr, opts...)
	if err != nil {
		t.Fatalf("dial: %v\nserver log:\n%s", err, fileTail(srv.LogPath, 30))
	}
	defer c.Quit()
	if err := c.Login(srv.User, srv.Password); err != nil {
		t.Fatalf("login: %v\nserver log:\n%s", err, fileTail(srv.LogPath, 30))
	}
	if err := c.MakeDir("/in"); err != nil {
		t.Fatal(err)
	}
	payload := strings.Repeat("connect+ ", 5000)
	if err := c.Stor("/in/data.txt", strings.NewReader(payload)); err != nil {
		t.Fatalf("stor: %v\nserver log:\n%s", err, fileTail(srv.LogPath, 30))
	}
	if got := string(srv.ReadFile(t, "in/data.txt")); got != payload {
		t.Fatalf("stored %d bytes, want %d", len(got), len(payload))
	}
	srv.WriteFile(t, "out/seed.txt", []byte("seeded"))
	r, err := c.Retr("/out/seed.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(b) != "seeded" {
		t.Fatalf("retr = %q, %v", b, err)
	}
	entries, err := c.List("/in")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name != "data.txt" || entries[0].Size != uint64(len(payload)) {
		t.Fatalf("list = %+v", entries)
	}
}

func TestFTP(t *testing.T) {
	t.Run("plain", func(t *testing.T) {
		start := time.Now()
		srv := FTP(t)
		t.Logf("pyftpdlib ready on %s in %v", srv.Addr, time.Since(start))
		if srv.CertPEM != nil || srv.TLSConfig() != nil {
			t.Fatal("plain server has a certificate")
		}
		ftpRoundTrip(t, srv)
	})
	t.Run("explicit TLS", func(t *testing.T) {
		srv := FTP(t, WithFTPMode(FTPExplicitTLS), WithFTPTLSRequired())
		ftpRoundTrip(t, srv, ftp.DialWithExplicitTLS(srv.TLSConfig()))
		// TLS is required: a plain login is refused.
		c, err := ftp.Dial(srv.Addr, ftp.DialWithTimeout(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Quit()
		if err := c.Login(srv.User, srv.Password); err == nil {
			t.Fatal("plain login accepted although TLS is required")
		}
	})
	t.Run("implicit TLS", func(t *testing.T) {
		srv := FTP(t, WithFTPMode(FTPImplicitTLS), WithFTPUser("alice", "s3cret"))
		if srv.User != "alice" || srv.Password != "s3cret" {
			t.Fatalf("user = %q/%q", srv.User, srv.Password)
		}
		ftpRoundTrip(t, srv, ftp.DialWithTLS(srv.TLSConfig()))
	})
	t.Run("untrusted certificate is rejected", func(t *testing.T) {
		srv := FTP(t, WithFTPMode(FTPExplicitTLS))
		other := FTP(t, WithFTPMode(FTPExplicitTLS))
		cfg := other.TLSConfig()
		// The handshake runs on the first command after AUTH TLS.
		c, err := ftp.Dial(srv.Addr, ftp.DialWithTimeout(10*time.Second), ftp.DialWithExplicitTLS(cfg))
		if err == nil {
			err = c.Login(srv.User, srv.Password)
			c.Quit()
		}
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("login with the wrong trust anchor: err = %v", err)
		}
	})
}

func TestS3(t *testing.T) {
	start := time.Now()
	srv := S3(t)
	t.Logf("versitygw ready on %s in %v", srv.Endpoint, time.Since(start))
	srv.CreateBucket(t, "exports")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := srv.Client()
	body := []byte(strings.Repeat("row,1\n", 1000))
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("exports"), Key: aws.String("2026/11/data.csv"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("put: %v\nlog:\n%s", err, fileTail(srv.LogPath, 20))
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("exports"), Key: aws.String("2026/11/data.csv")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("get = %d bytes, %v", len(got), err)
	}
	onDisk, err := os.ReadFile(srv.LocalPath("exports", "2026/11/data.csv"))
	if err != nil || !bytes.Equal(onDisk, body) {
		t.Fatalf("object file: %v", err)
	}
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("exports")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != "2026/11/data.csv" {
		t.Fatalf("list = %+v", list.Contents)
	}

	srv.PutObject(t, "exports", "seed/a.json", []byte(`{"a":1}`))
	if got := string(srv.GetObject(t, "exports", "seed/a.json")); got != `{"a":1}` {
		t.Fatalf("GetObject = %q", got)
	}

	// Wrong credentials are refused.
	bad := srv.Client(func(o *s3.Options) {
		o.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: srv.AccessKey, SecretAccessKey: "wrong"}, nil
		})
	})
	if _, err := bad.ListBuckets(ctx, &s3.ListBucketsInput{}); err == nil {
		t.Fatal("request with a wrong secret succeeded")
	}
}

func TestPostgres(t *testing.T) {
	start := time.Now()
	a := Postgres(t)
	t.Logf("postgres (shared) + database ready in %v: %s", time.Since(start), a.DSN)
	start = time.Now()
	b := Postgres(t)
	t.Logf("second database ready in %v", time.Since(start))

	if a.Port != b.Port {
		t.Fatalf("servers differ: %d vs %d (want one shared server)", a.Port, b.Port)
	}
	if a.Database == b.Database {
		t.Fatal("databases are not fresh")
	}
	want := fmt.Sprintf("postgres://app@127.0.0.1:%d/%s?sslmode=disable", a.Port, a.Database)
	if a.DSN != want {
		t.Fatalf("DSN = %q, want %q", a.DSN, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ca := a.Connect(t)
	if _, err := ca.Exec(ctx, "CREATE TABLE runs (id bigserial PRIMARY KEY, name text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Exec(ctx, "INSERT INTO runs (name) VALUES ($1), ($2)", "a", "b"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := ca.QueryRow(ctx, "SELECT count(*) FROM runs").Scan(&n); err != nil || n != 2 {
		t.Fatalf("count = %d, %v", n, err)
	}
	var db string
	if err := ca.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil || db != a.Database {
		t.Fatalf("current_database = %q, %v", db, err)
	}
	// The second database is empty: no "runs" table there.
	cb := b.Connect(t)
	var exists bool
	if err := cb.QueryRow(ctx, "SELECT to_regclass('runs') IS NOT NULL").Scan(&exists); err != nil || exists {
		t.Fatalf("runs exists in fresh database: %v, %v", exists, err)
	}
}

func TestPostgresDropsDatabase(t *testing.T) {
	var name string
	var admin string
	t.Run("use", func(t *testing.T) {
		pg := Postgres(t)
		name, admin = pg.Database, pg.AdminDSN
		pg.Connect(t) // left open: the drop must still succeed (WITH FORCE)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pg := Postgres(t)
	conn := pg.Connect(t)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil || n != 0 {
		t.Fatalf("database %s still exists (%d, %v); admin %s", name, n, err, admin)
	}
}

func TestGPG(t *testing.T) {
	for _, algo := range []string{"ed25519", "rsa3072"} {
		t.Run(algo, func(t *testing.T) {
			g := GPG(t)
			start := time.Now()
			key := g.GenerateKey("Connect Plus Test <"+algo+"@example.test>", algo, "pass-"+algo)
			t.Logf("generated %s key %s in %v", algo, key.Fingerprint, time.Since(start))
			if len(key.Fingerprint) != 40 ||
				!bytes.Contains(key.PublicArmored, []byte("BEGIN PGP PUBLIC KEY BLOCK")) ||
				!bytes.Contains(key.SecretArmored, []byte("BEGIN PGP PRIVATE KEY BLOCK")) {
				t.Fatalf("bad key: %+v", key)
			}
			dir := t.TempDir()
			plain := filepath.Join(dir, "plain.csv")
			data := []byte(strings.Repeat("id,amount\n1,2.50\n", 500))
			if err := os.WriteFile(plain, data, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, o := range []EncryptOptions{
				{},
				{Armor: true, Sign: true, Compress: true},
				{Sign: true},
			} {
				enc := filepath.Join(dir, fmt.Sprintf("enc-%v-%v-%v.pgp", o.Armor, o.Sign, o.Compress))
				g.Encrypt(plain, enc, key.Fingerprint, o)
				raw, _ := os.ReadFile(enc)
				if o.Armor != bytes.HasPrefix(raw, []byte("-----BEGIN PGP MESSAGE-----")) {
					t.Fatalf("armor=%v but output starts with %q", o.Armor, raw[:min(len(raw), 20)])
				}
				out := enc + ".out"
				res, err := g.Decrypt(enc, out, key.Passphrase)
				if err != nil {
					t.Fatalf("decrypt %+v: %v", o, err)
				}
				got, _ := os.ReadFile(out)
				if !bytes.Equal(got, data) {
					t.Fatalf("roundtrip %+v: got %d bytes", o, len(got))
				}
				if res.Signed != o.Sign || res.GoodSignature != o.Sign {
					t.Fatalf("signature status %+v for %+v", res, o)
				}
				if o.Sign && res.SignerFingerprint != key.Fingerprint {
					t.Fatalf("signer %s, want %s", res.SignerFingerprint, key.Fingerprint)
				}
				if _, err := g.Decrypt(enc, out+".bad", "wrong"); err == nil {
					t.Fatal("decrypt with a wrong passphrase succeeded")
				}
				if _, err := os.Stat(out + ".bad"); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("failed decrypt left output: %v", err)
				}
			}

			// A second home that only imports the keys decrypts too.
			g2 := GPG(t)
			g2.Import(key.SecretArmored)
			enc := filepath.Join(dir, "for-g2.asc")
			g.Encrypt(plain, enc, key.UID, EncryptOptions{Armor: true})
			if _, err := g2.Decrypt(enc, filepath.Join(dir, "g2.out"), key.Passphrase); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestGPGCleanupStopsAgent(t *testing.T) {
	var dir string
	t.Run("home", func(t *testing.T) {
		g := GPG(t)
		dir = g.Dir
		g.GenerateKey("agent@example.test", "ed25519", "")
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("GNUPGHOME %s not removed: %v", dir, err)
	}
	// The agent exits asynchronously after `gpgconf --kill`: give it a few
	// seconds (a loaded machine schedules it late); a zombie has exited.
	running := func() string {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err != nil || !bytes.Contains(cmdline, []byte("gpg-agent")) || !bytes.Contains(cmdline, []byte(dir)) {
				continue
			}
			if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
				if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
					continue
				}
			}
			return e.Name()
		}
		return ""
	}
	deadline := time.Now().Add(10 * time.Second)
	for pid := running(); pid != ""; pid = running() {
		if time.Now().After(deadline) {
			t.Fatalf("gpg-agent for %s still running (pid %s)", dir, pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fakeTB records Skip and Fatal calls instead of stopping the goroutine.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = true
	f.msg = fmt.Sprintf(format, args...)
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = true
	f.msg = fmt.Sprintf(format, args...)
}

func TestRequireBinary(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-server")

	t.Setenv("CI", "")
	f := &fakeTB{TB: t}
	requireBinary(f, missing)
	if !f.skipped || f.failed || !strings.Contains(f.msg, missing) {
		t.Fatalf("outside CI: skipped=%v failed=%v msg=%q", f.skipped, f.failed, f.msg)
	}

	t.Setenv("CI", "true")
	f = &fakeTB{TB: t}
	requireBinary(f, missing)
	if f.skipped || !f.failed || !strings.Contains(f.msg, missing) {
		t.Fatalf("in CI: skipped=%v failed=%v msg=%q", f.skipped, f.failed, f.msg)
	}

	f = &fakeTB{TB: t}
	requireBinary(f, "/bin/sh")
	if f.skipped || f.failed {
		t.Fatalf("existing binary: %q", f.msg)
	}
}

func TestStartTimeoutReportsLogTail(t *testing.T) {
	dir := t.TempDir()
	p, err := startProcess(procSpec{
		name:    "fake",
		path:    "/bin/sh",
		args:    []string{"-c", "echo booting fake server; echo still booting; sleep 30"},
		logPath: filepath.Join(dir, "fake.log"),
	})
	if err != nil {
		t.Fatal(err)
	}
	port, _ := freePort()
	err = p.waitTCP(fmt.Sprintf("127.0.0.1:%d", port), 300*time.Millisecond)
	p.stop()
	if err == nil || !strings.Contains(err.Error(), "within 300ms") || !strings.Contains(err.Error(), "still booting") {
		t.Fatalf("error = %v", err)
	}
	if alive(p.cmd.Process.Pid) {
		t.Fatal("process alive after stop")
	}
}

func TestParallelServers(t *testing.T) {
	for i := 0; i < 3; i++ {
		t.Run(fmt.Sprintf("sshd%d", i), func(t *testing.T) {
			t.Parallel()
			srv := SSHD(t)
			c := sftpClient(t, srv, srv.ClientConfig())
			if _, err := c.Getwd(); err != nil {
				t.Fatal(err)
			}
		})
		t.Run(fmt.Sprintf("ftp%d", i), func(t *testing.T) {
			t.Parallel()
			ftpRoundTrip(t, FTP(t))
		})
		t.Run(fmt.Sprintf("s3_%d", i), func(t *testing.T) {
			t.Parallel()
			srv := S3(t)
			srv.CreateBucket(t, "bkt")
			srv.PutObject(t, "bkt", "k", []byte("v"))
		})
		t.Run(fmt.Sprintf("pg%d", i), func(t *testing.T) {
			t.Parallel()
			conn := Postgres(t).Connect(t)
			if _, err := conn.Exec(context.Background(), "CREATE TABLE x (id int)"); err != nil {
				t.Fatal(err)
			}
		})
	}
}
