// Package sharedstore is the cluster's shared store, configured once
// (connectplus server --shared-store or --shared-dir): the objects every
// node must reach — result spool segments and kept result files — on S3
// (through the S3 connector's client code) or in a directory every node
// mounts. Both implement block.ObjectStore.
package sharedstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/filecore"
	s3blocks "github.com/connectplus/connectplus/blocks/s3"
)

// Store is a shared store: a block.ObjectStore that can also name its
// objects (Ref) for the records that point at them, and open those names.
type Store interface {
	block.ObjectStore
	// Ref names key for a record (a run's result path): an absolute file
	// path for a directory, s3://bucket/prefix/key on S3.
	Ref(key string) string
	// OpenRef opens what Ref named — or a local file path, which older
	// records and one server use.
	OpenRef(ctx context.Context, ref string) (io.ReadCloser, error)
	// DeleteOlder removes the objects under prefix last written before
	// cut (retention), returning how many.
	DeleteOlder(ctx context.Context, prefix string, cut int64) (int, error)
	// DeleteStale removes, among the groups of objects under prefix (the
	// keys that share their next path segment, e.g. one lineage's spool
	// segments under spools/), every group whose newest object was last
	// written before cut — all of it or none of it: a group still written
	// to keeps its old objects. It returns the groups and objects removed.
	DeleteStale(ctx context.Context, prefix string, cut int64) (groups, objects int, err error)
	// Describe says where the store is, without credentials.
	Describe() string
	// Dir is the directory of a directory store ("" on S3): every node
	// reaches its files in place, so block state and spools can live there
	// as files.
	Dir() string
}

// S3Config configures an S3 shared store. Credentials come from the
// environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), never a flag: a
// flag shows in the process list.
type S3Config struct {
	// URL is s3://bucket/prefix (prefix optional).
	URL       string
	Endpoint  string // empty: AWS
	Region    string
	AccessKey string
	SecretKey string
	PathStyle bool
}

// OpenS3 opens an S3 shared store and checks it can write, read and
// delete there, so a wrong bucket or key fails at startup, not at the
// first checkpoint of a file.
func OpenS3(ctx context.Context, cfg S3Config) (Store, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, fmt.Errorf("shared store %q: want s3://bucket/prefix", cfg.URL)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("shared store on S3: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	c := s3blocks.Client(cfg.Region, cfg.AccessKey, cfg.SecretKey, cfg.Endpoint, cfg.PathStyle)
	desc := "s3://" + u.Host + "/" + strings.Trim(u.Path, "/")
	if cfg.Endpoint != "" {
		desc += " at " + cfg.Endpoint
	}
	s := &s3Store{c: c, bucket: u.Host, prefix: strings.Trim(u.Path, "/"), desc: desc}
	s.fs = s3blocks.NewFS(c, u.Host, desc)
	if err := probe(ctx, s); err != nil {
		return nil, fmt.Errorf("shared store %s: %w", desc, err)
	}
	return s, nil
}

// OpenDir opens a directory shared store (created if missing).
func OpenDir(dir string) (Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("shared dir %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("shared dir: %w", err)
	}
	return &dirStore{root: abs}, nil
}

func probe(ctx context.Context, s Store) error {
	key := "probe/" + randHex()
	w, err := s.Create(ctx, key)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, "ok"); err != nil {
		w.Abort()
		return err
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", key, err)
	}
	r, err := s.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("reading %s back: %w", key, err)
	}
	b, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(b) != "ok" {
		return fmt.Errorf("reading %s back: got %q, %v", key, b, err)
	}
	return s.Delete(ctx, key)
}

func randHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// cleanKey refuses keys that would leave the store's root.
func cleanKey(key string) (string, error) {
	k := path.Clean("/" + key)[1:]
	if k == "" || k != key {
		return "", fmt.Errorf("shared store: invalid key %q", key)
	}
	return k, nil
}

// s3Store keeps objects under prefix in one bucket.
type s3Store struct {
	c      *awss3.Client
	fs     filecore.FS
	bucket string
	prefix string
	desc   string
}

func (s *s3Store) Describe() string { return s.desc }
func (s *s3Store) Dir() string      { return "" }

func (s *s3Store) full(key string) (string, error) {
	k, err := cleanKey(key)
	if err != nil {
		return "", err
	}
	if s.prefix == "" {
		return k, nil
	}
	return s.prefix + "/" + k, nil
}

func (s *s3Store) Create(ctx context.Context, key string) (block.ObjectWriter, error) {
	k, err := s.full(key)
	if err != nil {
		return nil, err
	}
	// s3FS's writer: one PutObject for small objects, a multipart upload
	// completed at Close for large ones — the object appears whole.
	return s.fs.Create(ctx, k)
}

func (s *s3Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	k, err := s.full(key)
	if err != nil {
		return nil, err
	}
	return s.fs.Open(ctx, k)
}

func (s *s3Store) listObjects(ctx context.Context, prefix string) ([]types.Object, error) {
	p := prefix
	if s.prefix != "" {
		p = s.prefix + "/" + prefix
	}
	var out []types.Object
	pg := awss3.NewListObjectsV2Paginator(s.c, &awss3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(p)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing %s in %s: %w", prefix, s.desc, err)
		}
		out = append(out, page.Contents...)
	}
	return out, nil
}

func (s *s3Store) rel(k string) string {
	if s.prefix == "" {
		return k
	}
	return strings.TrimPrefix(k, s.prefix+"/")
}

func (s *s3Store) List(ctx context.Context, prefix string) ([]string, error) {
	objs, err := s.listObjects(ctx, prefix)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(objs))
	for _, o := range objs {
		keys = append(keys, s.rel(aws.ToString(o.Key)))
	}
	sort.Strings(keys)
	return keys, nil
}

// Delete removes keys with DeleteObjects, 1000 at a time (a finished
// file's spool can have many segments).
func (s *s3Store) Delete(ctx context.Context, keys ...string) error {
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		ids := make([]types.ObjectIdentifier, 0, n)
		for _, key := range keys[:n] {
			k, err := s.full(key)
			if err != nil {
				return err
			}
			ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
		}
		out, err := s.c.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: aws.String(s.bucket), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return fmt.Errorf("deleting %d objects from %s: %w", n, s.desc, err)
		}
		for _, e := range out.Errors {
			if aws.ToString(e.Code) != "NoSuchKey" {
				return fmt.Errorf("deleting %s from %s: %s: %s", aws.ToString(e.Key), s.desc, aws.ToString(e.Code), aws.ToString(e.Message))
			}
		}
		keys = keys[n:]
	}
	return nil
}

func (s *s3Store) DeleteOlder(ctx context.Context, prefix string, cut int64) (int, error) {
	objs, err := s.listObjects(ctx, prefix)
	if err != nil {
		return 0, err
	}
	var old []string
	for _, o := range objs {
		if aws.ToTime(o.LastModified).Unix() < cut {
			old = append(old, s.rel(aws.ToString(o.Key)))
		}
	}
	return len(old), s.Delete(ctx, old...)
}

func (s *s3Store) DeleteStale(ctx context.Context, prefix string, cut int64) (int, int, error) {
	objs, err := s.listObjects(ctx, prefix)
	if err != nil {
		return 0, 0, err
	}
	es := make([]dirEntry, len(objs))
	for i, o := range objs {
		es[i] = dirEntry{key: s.rel(aws.ToString(o.Key)), mtime: aws.ToTime(o.LastModified).Unix()}
	}
	return deleteStale(ctx, s, prefix, cut, es)
}

// deleteStale is DeleteStale over a listing.
func deleteStale(ctx context.Context, s block.ObjectStore, prefix string, cut int64, es []dirEntry) (int, int, error) {
	newest := map[string]int64{}
	members := map[string][]string{}
	for _, e := range es {
		g, _, _ := strings.Cut(strings.TrimPrefix(e.key, prefix), "/")
		newest[g] = max(newest[g], e.mtime)
		members[g] = append(members[g], e.key)
	}
	var stale []string
	groups := 0
	for g, t := range newest {
		if t < cut {
			groups++
			stale = append(stale, members[g]...)
		}
	}
	sort.Strings(stale)
	if err := s.Delete(ctx, stale...); err != nil {
		return 0, 0, err
	}
	return groups, len(stale), nil
}

func (s *s3Store) Ref(key string) string {
	k, _ := s.full(key)
	return "s3://" + s.bucket + "/" + k
}

func (s *s3Store) OpenRef(ctx context.Context, ref string) (io.ReadCloser, error) {
	rest, ok := strings.CutPrefix(ref, "s3://"+s.bucket+"/")
	if !ok {
		if strings.HasPrefix(ref, "s3://") {
			return nil, fmt.Errorf("%s is not in the shared store %s", ref, s.desc)
		}
		return os.Open(ref)
	}
	if s.prefix != "" {
		if rest, ok = strings.CutPrefix(rest, s.prefix+"/"); !ok {
			return nil, fmt.Errorf("%s is not in the shared store %s", ref, s.desc)
		}
	}
	return s.Open(ctx, rest)
}

// dirStore keeps objects as files under root; an object is written to a
// temporary name, synced and renamed, so it appears whole.
type dirStore struct{ root string }

func (d *dirStore) Describe() string { return d.root }
func (d *dirStore) Dir() string      { return d.root }

func (d *dirStore) path(key string) (string, error) {
	k, err := cleanKey(key)
	if err != nil {
		return "", err
	}
	return filepath.Join(d.root, filepath.FromSlash(k)), nil
}

type dirWriter struct {
	f   *os.File
	dst string
}

func (w *dirWriter) Write(b []byte) (int, error) { return w.f.Write(b) }

// ReadFrom lets io.Copy from a local file (a kept result file: the engine's
// spool) copy in the kernel (copy_file_range) instead of through a buffer.
func (w *dirWriter) ReadFrom(r io.Reader) (int64, error) { return w.f.ReadFrom(r) }

func (w *dirWriter) Close() error {
	if err := w.f.Sync(); err != nil {
		w.Abort()
		return fmt.Errorf("syncing %s: %w", w.dst, err)
	}
	if err := w.f.Close(); err != nil {
		os.Remove(w.f.Name())
		return fmt.Errorf("writing %s: %w", w.dst, err)
	}
	if err := os.Rename(w.f.Name(), w.dst); err != nil {
		os.Remove(w.f.Name())
		return fmt.Errorf("publishing %s: %w", w.dst, err)
	}
	return nil
}

func (w *dirWriter) Abort() error {
	w.f.Close()
	return os.Remove(w.f.Name())
}

// tmpMark marks temporary names, which List skips.
const tmpMark = ".tmp-"

func (d *dirStore) Create(_ context.Context, key string) (block.ObjectWriter, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, fmt.Errorf("shared dir: %w", err)
	}
	// Result files and spools hold customer data: the server's user only.
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+tmpMark+"*")
	if err != nil {
		return nil, fmt.Errorf("shared dir: %w", err)
	}
	return &dirWriter{f: f, dst: p}, nil
}

func (d *dirStore) Open(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

type dirEntry struct {
	key   string
	mtime int64
}

func (d *dirStore) walk(prefix string) ([]dirEntry, error) {
	// The prefix may end inside a name ("spools/ab"): walk its directory.
	base := path.Dir("/" + prefix)[1:]
	var out []dirEntry
	err := filepath.WalkDir(filepath.Join(d.root, filepath.FromSlash(base)), func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !de.Type().IsRegular() || strings.Contains(de.Name(), tmpMark) {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		k := filepath.ToSlash(rel)
		if !strings.HasPrefix(k, prefix) {
			return nil
		}
		var mt int64
		if info, err := de.Info(); err == nil {
			mt = info.ModTime().Unix()
		}
		out = append(out, dirEntry{key: k, mtime: mt})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s in %s: %w", prefix, d.root, err)
	}
	return out, nil
}

func (d *dirStore) List(_ context.Context, prefix string) ([]string, error) {
	es, err := d.walk(prefix)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(es))
	for i, e := range es {
		keys[i] = e.key
	}
	sort.Strings(keys)
	return keys, nil
}

func (d *dirStore) Delete(_ context.Context, keys ...string) error {
	for _, key := range keys {
		p, err := d.path(key)
		if err != nil {
			return err
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func (d *dirStore) DeleteOlder(ctx context.Context, prefix string, cut int64) (int, error) {
	es, err := d.walk(prefix)
	if err != nil {
		return 0, err
	}
	var old []string
	for _, e := range es {
		if e.mtime < cut {
			old = append(old, e.key)
		}
	}
	return len(old), d.Delete(ctx, old...)
}

func (d *dirStore) DeleteStale(ctx context.Context, prefix string, cut int64) (int, int, error) {
	es, err := d.walk(prefix)
	if err != nil {
		return 0, 0, err
	}
	return deleteStale(ctx, d, prefix, cut, es)
}

func (d *dirStore) Ref(key string) string {
	p, _ := d.path(key)
	return p
}

func (d *dirStore) OpenRef(_ context.Context, ref string) (io.ReadCloser, error) {
	if strings.HasPrefix(ref, "s3://") {
		return nil, fmt.Errorf("%s is on S3, but the shared store is the directory %s", ref, d.root)
	}
	return os.Open(ref)
}
