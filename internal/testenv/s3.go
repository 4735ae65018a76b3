package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Region is the region versitygw is started with.
const S3Region = "us-east-1"

// versitygwBin finds versitygw: $VERSITYGW_BIN, else $(go env GOPATH)/bin,
// else /usr/local/bin.
func versitygwBin() string {
	if v := os.Getenv("VERSITYGW_BIN"); v != "" {
		return v
	}
	var cands []string
	if gp := goPath(); gp != "" {
		for _, p := range filepath.SplitList(gp) {
			cands = append(cands, filepath.Join(p, "bin", "versitygw"))
		}
	}
	cands = append(cands, "/usr/local/bin/versitygw")
	return firstExisting(cands...)
}

// goPath returns $GOPATH, else `go env GOPATH`, else ~/go.
var goPath = sync.OnceValue(func() string {
	if v := os.Getenv("GOPATH"); v != "" {
		return v
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		if s := strings.TrimSpace(string(out)); s != "" {
			return s
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "go")
	}
	return ""
})

// S3Server is a running versitygw S3 gateway over a local directory
// (posix backend: bucket B, key K is the file Root()/B/K).
type S3Server struct {
	// Endpoint is "http://127.0.0.1:PORT"; use path-style addressing.
	Endpoint string
	Addr     string
	Host     string
	Port     int
	Region   string

	// AccessKey and SecretKey are the gateway's root credentials (random).
	AccessKey string
	SecretKey string

	// LogPath is the gateway log (one line per request).
	LogPath string

	root string
	proc *process
}

// S3 starts versitygw (`versitygw --port 127.0.0.1:PORT posix DIR`) on a
// free loopback port with random root credentials passed in
// ROOT_ACCESS_KEY/ROOT_SECRET_KEY. It is stopped and DIR removed by
// t.Cleanup.
func S3(t testing.TB) *S3Server {
	t.Helper()
	bin := versitygwBin()
	requireBinary(t, bin)

	base, err := makeTempDir("cps3-", 0o755)
	if err != nil {
		t.Fatalf("testenv: S3: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	s := &S3Server{
		Host:      "127.0.0.1",
		Region:    S3Region,
		AccessKey: "AK" + strings.ToUpper(randomHex(9)),
		SecretKey: randomHex(20),
		LogPath:   filepath.Join(base, "versitygw.log"),
		root:      filepath.Join(base, "data"),
	}
	if err := os.Mkdir(s.root, 0o755); err != nil {
		t.Fatalf("testenv: S3: %v", err)
	}
	proc, port, err := startWithRetry("versitygw", func(port int) (*process, string, error) {
		addr := net.JoinHostPort(s.Host, strconv.Itoa(port))
		p, err := startProcess(procSpec{
			name:    "versitygw",
			path:    bin,
			args:    []string{"--port", addr, "--region", s.Region, "posix", s.root},
			env:     []string{"ROOT_ACCESS_KEY=" + s.AccessKey, "ROOT_SECRET_KEY=" + s.SecretKey, "HOME=" + base},
			dir:     base,
			logPath: s.LogPath,
		})
		return p, addr, err
	})
	if err != nil {
		t.Fatalf("testenv: S3: %v", err)
	}
	s.proc = proc
	s.Port = port
	s.Addr = net.JoinHostPort(s.Host, strconv.Itoa(port))
	s.Endpoint = "http://" + s.Addr
	t.Cleanup(proc.stop)
	return s
}

// Root returns the directory versitygw serves: one subdirectory per bucket.
func (s *S3Server) Root() string { return s.root }

// LocalPath returns the file that holds bucket/key.
func (s *S3Server) LocalPath(bucket, key string) string {
	return filepath.Join(s.root, bucket, filepath.FromSlash(key))
}

// Client returns an aws-sdk-go-v2 S3 client for the gateway (static
// credentials, path-style addressing). Extra option functions are applied
// last.
func (s *S3Server) Client(optFns ...func(*s3.Options)) *s3.Client {
	creds := aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey, Source: "testenv"}
	opts := s3.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return creds, nil
		}),
	}
	return s3.New(opts, optFns...)
}

// CreateBucket creates a bucket and fails the test on error.
func (s *S3Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("testenv: S3Server.CreateBucket(%q): %v\nlog tail:\n%s", name, err, s.proc.logTail())
	}
}

// PutObject stores an object through the S3 API and fails the test on
// error.
func (s *S3Server) PutObject(t testing.TB, bucket, key string, body []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := s.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("testenv: S3Server.PutObject(%s/%s): %v", bucket, key, err)
	}
}

// GetObject reads an object through the S3 API and fails the test on
// error.
func (s *S3Server) GetObject(t testing.TB, bucket, key string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := s.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("testenv: S3Server.GetObject(%s/%s): %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("testenv: S3Server.GetObject(%s/%s): %v", bucket, key, err)
	}
	return b
}

// Stop stops the server early (it is also stopped by t.Cleanup).
func (s *S3Server) Stop() { s.proc.stop() }

// String describes the server for logs.
func (s *S3Server) String() string {
	return fmt.Sprintf("versitygw at %s (root %s)", s.Endpoint, s.root)
}
