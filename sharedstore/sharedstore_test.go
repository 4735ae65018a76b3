package sharedstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/internal/testenv"
)

// stores returns the two implementations: a directory and a real
// versitygw bucket (S3).
func stores(t *testing.T) map[string]Store {
	t.Helper()
	dir, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := testenv.S3(t)
	srv.CreateBucket(t, "shared")
	ctx := context.Background()
	s3s, err := OpenS3(ctx, S3Config{URL: "s3://shared/cluster-a", Endpoint: srv.Endpoint, Region: srv.Region,
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Store{"dir": dir, "s3": s3s}
}

func put(t *testing.T, s Store, key, body string) {
	t.Helper()
	w, err := s.Create(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, body); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, s Store, key string) string {
	t.Helper()
	r, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestStoreObjects(t *testing.T) {
	ctx := context.Background()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			put(t, s, "spools/l1/00000000000000000000.000000", "first")
			put(t, s, "spools/l1/00000000000000000005.000000", "second")
			put(t, s, "spools/l10/00000000000000000000.000000", "other lineage")
			put(t, s, "results/o/f/l1_result.csv", "a,b\n")
			put(t, s, "spools/l1/00000000000000000005.000000", "second, replaced")
			if got := get(t, s, "spools/l1/00000000000000000005.000000"); got != "second, replaced" {
				t.Fatalf("replaced object reads %q", got)
			}
			keys, err := s.List(ctx, "spools/l1/")
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"spools/l1/00000000000000000000.000000", "spools/l1/00000000000000000005.000000"}
			if strings.Join(keys, " ") != strings.Join(want, " ") {
				t.Fatalf("List(spools/l1/) = %v, want %v", keys, want)
			}
			// An aborted object never appears, and leaves nothing listed.
			w, err := s.Create(ctx, "spools/l1/00000000000000000011.000000")
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, "torn")
			if err := w.Abort(); err != nil {
				t.Fatal(err)
			}
			if keys, _ := s.List(ctx, "spools/l1/"); len(keys) != 2 {
				t.Fatalf("after an aborted upload List = %v", keys)
			}
			if _, err := s.Open(ctx, "spools/l1/00000000000000000011.000000"); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("opening an aborted object: %v, want fs.ErrNotExist", err)
			}
			// A reference opens the object it names.
			r, err := s.OpenRef(ctx, s.Ref("results/o/f/l1_result.csv"))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r)
			r.Close()
			if string(b) != "a,b\n" {
				t.Fatalf("OpenRef read %q", b)
			}
			if err := s.Delete(ctx, append(keys, "spools/missing")...); err != nil {
				t.Fatal(err)
			}
			if keys, _ := s.List(ctx, "spools/l1/"); len(keys) != 0 {
				t.Fatalf("after Delete List = %v", keys)
			}
			if got := get(t, s, "spools/l10/00000000000000000000.000000"); got != "other lineage" {
				t.Fatalf("a neighbouring prefix was touched: %q", got)
			}
			if n, err := s.DeleteOlder(ctx, "results/", time.Now().Add(time.Hour).Unix()); err != nil || n != 1 {
				t.Fatalf("DeleteOlder = %d, %v", n, err)
			}
			// Groups under spools/ go whole once their newest object is
			// older than the cut, and not before.
			for _, k := range []string{"spools/g1/a", "spools/g1/b"} {
				put(t, s, k, "x")
			}
			if g, n, err := s.DeleteStale(ctx, "spools/", time.Now().Add(-time.Hour).Unix()); err != nil || g != 0 || n != 0 {
				t.Fatalf("DeleteStale of nothing stale = %d groups, %d objects, %v", g, n, err)
			}
			if g, n, err := s.DeleteStale(ctx, "spools/", time.Now().Add(time.Hour).Unix()); err != nil || g != 2 || n != 3 {
				t.Fatalf("DeleteStale = %d groups, %d objects, %v; want g1 and l10 (3 objects)", g, n, err)
			}
			if keys, _ := s.List(ctx, "spools/"); len(keys) != 0 {
				t.Fatalf("after DeleteStale List = %v", keys)
			}
			if _, err := s.Create(ctx, "../escape"); err == nil {
				t.Fatal("a key leaving the store was accepted")
			}
		})
	}
}

// A large object goes up as a multipart upload and comes back whole.
func TestStoreLargeObject(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			body := bytes.Repeat([]byte("0123456789abcdef"), (9<<20)/16) // above the 8 MiB part
			w, err := s.Create(context.Background(), "results/big")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(body); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got := get(t, s, "results/big"); got != string(body) {
				t.Fatalf("read back %d bytes, want %d", len(got), len(body))
			}
		})
	}
}

func TestOpenS3RefusesWrongCredentials(t *testing.T) {
	srv := testenv.S3(t)
	srv.CreateBucket(t, "shared")
	_, err := OpenS3(context.Background(), S3Config{URL: "s3://shared/x", Endpoint: srv.Endpoint, Region: srv.Region,
		AccessKey: srv.AccessKey, SecretKey: "wrong-" + srv.SecretKey, PathStyle: true})
	if err == nil || strings.Contains(err.Error(), srv.SecretKey) {
		t.Fatalf("OpenS3 with a wrong secret: %v", err)
	}
	if _, err := OpenS3(context.Background(), S3Config{URL: "s3://missing-bucket/x", Endpoint: srv.Endpoint, Region: srv.Region,
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, PathStyle: true}); err == nil {
		t.Fatal("OpenS3 on a missing bucket succeeded")
	}
	if _, err := OpenS3(context.Background(), S3Config{URL: "http://x"}); err == nil {
		t.Fatal("a non-s3 URL was accepted")
	}
}

// The directory store leaves no temporary file behind a published object.
func TestDirStoreNoTemporaries(t *testing.T) {
	root := t.TempDir()
	s, err := OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, "a/b", "x")
	ents, _ := os.ReadDir(filepath.Join(root, "a"))
	if len(ents) != 1 || ents[0].Name() != "b" {
		t.Fatalf("directory holds %v", ents)
	}
}

// BenchmarkPut is what one object costs on each store: a write-ahead-log
// round (2 KiB, the alternative to a database row per round) and result
// spool segments of a checkpoint (64 KiB, 1 MiB).
//
//	go test -run '^$' -bench BenchmarkPut ./sharedstore/
func BenchmarkPut(b *testing.B) {
	dir, err := OpenDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	srv := testenv.S3(b)
	srv.CreateBucket(b, "bench")
	s3s, err := OpenS3(context.Background(), S3Config{URL: "s3://bench/p", Endpoint: srv.Endpoint, Region: srv.Region,
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, PathStyle: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, st := range []struct {
		name string
		s    Store
	}{{"s3", s3s}, {"dir", dir}} {
		for _, size := range []int{2 << 10, 64 << 10, 1 << 20} {
			body := bytes.Repeat([]byte{'x'}, size)
			b.Run(fmt.Sprintf("%s/%dKiB", st.name, size>>10), func(b *testing.B) {
				ctx := context.Background()
				b.SetBytes(int64(size))
				for i := 0; i < b.N; i++ {
					w, err := st.s.Create(ctx, fmt.Sprintf("spools/l/%020d", i))
					if err != nil {
						b.Fatal(err)
					}
					if _, err := w.Write(body); err != nil {
						b.Fatal(err)
					}
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
