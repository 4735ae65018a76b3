package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/filecore"
	"github.com/connectplus/connectplus/blocks/filecore/filecoretest"
	"github.com/connectplus/connectplus/internal/testenv"
)

const bucket = "cp-test"

func server(t *testing.T) *testenv.S3Server {
	srv := testenv.S3(t)
	srv.CreateBucket(t, bucket)
	return srv
}

func testPool(srv *testenv.S3Server) *filecore.Pool {
	f := &s3FS{c: Client(srv.Region, srv.AccessKey, srv.SecretKey, srv.Endpoint, true), bucket: bucket, contentType: "text/csv", desc: srv.Endpoint}
	return filecore.NewPool(func(context.Context) (filecore.FS, error) { return f, nil }, filecore.Retry{Attempts: 2, Backoff: 50 * time.Millisecond}, nil)
}

func TestS3ConformanceVersityGW(t *testing.T) {
	srv := server(t)
	filecoretest.Run(t, filecoretest.Harness{
		Base:        "",
		ObjectStore: true,
		NewPool:     func(t *testing.T) *filecore.Pool { return testPool(srv) },
		Touch: func(t *testing.T, remote string, mtime time.Time) {
			if err := os.Chtimes(srv.LocalPath(bucket, remote), mtime, mtime); err != nil {
				t.Fatal(err)
			}
		},
	})
}

func readRaw(srv *testenv.S3Server) map[string]any {
	return map[string]any{
		"s3BucketName": bucket, "s3AccessKey": srv.AccessKey, "s3SecretKey": map[string]any{"$config": "sk"},
		"s3InputPath": "data/incoming/", "s3OutputPath": "data/processed/", "s3FilePattern": ".*\\.csv",
		"apiErrorFilePath": "data/errors/", "endpointUrl": srv.Endpoint, "pathStyle": true,
	}
}

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
		t.Fatal(err)
	}
	t.Cleanup(func() { b.(block.Closer).Close() })
	return b
}

type resolver map[string]string

func (r resolver) Resolve(n string) (string, error) { return r[n], nil }

func put(t *testing.T, srv *testenv.S3Server, key string, body []byte) {
	t.Helper()
	_, err := srv.Client().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, srv *testenv.S3Server, key string) ([]byte, bool) {
	t.Helper()
	o, err := srv.Client().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, false
	}
	defer o.Body.Close()
	b, err := io.ReadAll(o.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, true
}

func TestS3OutputPathRules(t *testing.T) {
	for _, tc := range []struct{ in, out, want string }{
		{"data/in/", "data/in/", "same as"},
		{"data/in", "/data/in/processed/", "under"},
		{"data/in/", "/", "root"},
		{"data/in/", "", "is empty"},
		{"data/in/", "data/done/", ""},
		{"data/in/", "data/inbox/", ""},
	} {
		raw := map[string]any{"s3BucketName": "b", "s3AccessKey": "a", "s3SecretKey": map[string]any{"$config": "s"},
			"s3InputPath": tc.in, "s3OutputPath": tc.out, "s3FilePattern": ".*", "apiErrorFilePath": "err/"}
		_, probs := ReadSpec.ParseConfig(raw, resolver{"s": "x"})
		if tc.want == "" {
			if len(probs) != 0 {
				t.Errorf("%q -> %q: unexpected %v", tc.in, tc.out, probs)
			}
			continue
		}
		if len(probs) == 0 || !strings.Contains(probs[0].Message, tc.want) {
			t.Errorf("%q -> %q: problems %v, want %q", tc.in, tc.out, probs, tc.want)
		}
	}
}

func TestS3ReadBlock(t *testing.T) {
	srv := server(t)
	put(t, srv, "data/incoming/a.csv", []byte("id\n1\n"))
	put(t, srv, "data/incoming/b.txt", []byte("no"))
	put(t, srv, "data/incoming/nested/c.csv", []byte("deeper prefixes are not searched"))
	src := build(t, ReadSpec, readRaw(srv), map[string]string{"sk": srv.SecretKey}).(block.Source)
	ctx := context.Background()
	if _, err := src.List(ctx); err != nil {
		t.Fatal(err)
	}
	items, err := src.List(ctx)
	if err != nil || len(items) != 1 || items[0].Key != "data/incoming/a.csv" {
		t.Fatalf("items %v err %v", items, err)
	}
	u, err := src.Open(ctx, items[0])
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := u.File.Open(ctx)
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "id\n1\n" {
		t.Fatalf("content %q", got)
	}
	c := &block.Completion{HasResult: true, ResultName: "result_x_a.csv", Result: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("id,status_code\n1,200\n")), nil
	}}
	if err := src.Finish(ctx, items[0], c); err != nil {
		t.Fatal(err)
	}
	if b, ok := get(t, srv, "data/processed/a.csv"); !ok || string(b) != "id\n1\n" {
		t.Fatal("not moved to the output path")
	}
	if _, ok := get(t, srv, "data/incoming/a.csv"); ok {
		t.Fatal("source object not deleted after the copy")
	}
	if b, ok := get(t, srv, "data/errors/result_x_a.csv"); !ok || !strings.Contains(string(b), "200") {
		t.Fatal("result file missing")
	}
	// Wrong secret: a clear, non-retried error.
	bad := build(t, ReadSpec, readRaw(srv), map[string]string{"sk": "wrong"}).(block.Source)
	_, err = bad.List(ctx)
	if err == nil || !strings.Contains(err.Error(), "access key or secret key is wrong") {
		t.Fatalf("wrong secret: %v", err)
	}
}

// TestS3WriteMultipart uploads a file larger than two parts through
// s3_write and checks it byte for byte.
func TestS3WriteMultipart(t *testing.T) {
	srv := server(t)
	raw := map[string]any{"s3ObjectKey": "audience/${filename}", "s3BucketName": bucket, "accessKey": srv.AccessKey,
		"secretKey": map[string]any{"$config": "sk"}, "awsRegion": "us-east-1", "endpointUrl": srv.Endpoint, "pathStyle": true, "contentType": "text/csv"}
	p := build(t, WriteSpec, raw, map[string]string{"sk": srv.SecretKey}).(block.Processor)
	const size = 17<<20 + 12345
	data := make([]byte, size)
	rand.Read(data)
	u := &block.Unit{Attrs: block.Attributes{"filename": "big.csv"}, File: block.NewFile("big.csv", size, func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})}
	out := &filecoretest.Output{}
	if err := p.Process(context.Background(), u, out); err != nil {
		t.Fatal(err)
	}
	got, ok := get(t, srv, "audience/big.csv")
	if !ok || sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("multipart object differs (got %d bytes, want %d)", len(got), size)
	}
	h, err := srv.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("audience/big.csv")})
	if err != nil || aws.ToString(h.ContentType) != "text/csv" || !strings.HasSuffix(aws.ToString(h.ETag), "-3\"") {
		t.Fatalf("head: %v type %q etag %q (want a 3-part multipart ETag)", err, aws.ToString(h.ContentType), aws.ToString(h.ETag))
	}
	if got := out.Emitted[0].Unit.Attrs[block.AttrAbsPath]; got != "audience/big.csv" {
		t.Fatalf("emitted path %q", got)
	}
	// Hostile keys are refused.
	for _, name := range []string{"../x.csv", "/abs.csv"} {
		u := &block.Unit{Attrs: block.Attributes{"filename": name}, File: block.NewFile(name, 1, func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("x")), nil
		})}
		if err := p.Process(context.Background(), u, out); err == nil {
			t.Fatalf("key %q accepted", name)
		}
	}
}
