package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/connectplus/connectplus/blocks/filecore"
)

// PartSize is the multipart upload part size: uploads hold one part in
// memory, so memory stays at PartSize whatever the file size.
const PartSize = 8 << 20

// copyPartSize splits server-side copies of objects above the 5 GiB
// CopyObject limit.
const (
	maxSimpleCopy = 5 << 30
	copyPartSize  = 1 << 30
)

// s3FS is a filecore.FS over one bucket. Paths are object keys (no leading
// slash); directories are key prefixes.
type s3FS struct {
	c           *s3.Client
	bucket      string
	contentType string
	desc        string
}

var (
	_ filecore.FS             = (*s3FS)(nil)
	_ filecore.AtomicCreator  = (*s3FS)(nil)
	_ filecore.ReaderAtOpener = (*s3FS)(nil)
)

func (f *s3FS) Describe() string   { return f.desc }
func (f *s3FS) AtomicCreate() bool { return true }

// key turns an FS path into an object key.
func key(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	return p
}

// prefix turns a directory into a listing prefix ("" for the bucket root).
func prefix(dir string) string {
	k := key(dir)
	if k == "" {
		return ""
	}
	return k + "/"
}

// mapErr classifies S3 errors, keeping the service's code and message.
func (f *s3FS) mapErr(op, p string, err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound", "NoSuchUpload":
			return fmt.Errorf("%s %s: %w (%v)", op, p, fs.ErrNotExist, err)
		case "NoSuchBucket":
			return filecore.Permanent(fmt.Errorf("%s %s: bucket %q does not exist: %w (%v)", op, p, f.bucket, fs.ErrNotExist, err))
		case "AccessDenied", "Forbidden", "AllAccessDisabled":
			return filecore.Permanent(fmt.Errorf("%s %s: %w (%v)", op, p, fs.ErrPermission, err))
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken":
			return filecore.Permanent(fmt.Errorf("%s %s: the access key or secret key is wrong: %w (%v)", op, p, fs.ErrPermission, err))
		case "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout":
			return filecore.Transient(fmt.Errorf("%s %s: %w", op, p, err))
		}
	}
	return fmt.Errorf("%s %s: %w", op, p, err)
}

func (f *s3FS) List(ctx context.Context, dir string, recursive bool) ([]filecore.Entry, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(f.bucket), Prefix: aws.String(prefix(dir))}
	if !recursive {
		in.Delimiter = aws.String("/")
	}
	var out []filecore.Entry
	pg := s3.NewListObjectsV2Paginator(f.c, in)
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, f.mapErr("list", dir, err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if strings.HasSuffix(k, "/") {
				continue // folder marker
			}
			out = append(out, filecore.Entry{Path: k, Name: path.Base(k), Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func (f *s3FS) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	o, err := f.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(key(p))})
	if err != nil {
		return nil, f.mapErr("open", p, err)
	}
	return o.Body, nil
}

// rangeReader reads with ranged GETs (zip central directories).
type rangeReader struct {
	f   *s3FS
	ctx context.Context
	key string
}

func (r *rangeReader) ReadAt(b []byte, off int64) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	o, err := r.f.c.GetObject(r.ctx, &s3.GetObjectInput{Bucket: aws.String(r.f.bucket), Key: aws.String(r.key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+int64(len(b))-1))})
	if err != nil {
		return 0, r.f.mapErr("read", r.key, err)
	}
	defer o.Body.Close()
	n, err := io.ReadFull(o.Body, b)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

func (r *rangeReader) Close() error { return nil }

func (f *s3FS) OpenReaderAt(ctx context.Context, p string) (filecore.ReaderAtCloser, error) {
	return &rangeReader{f: f, ctx: ctx, key: key(p)}, nil
}

// s3Writer buffers one part; small files become one PutObject, larger ones
// a multipart upload completed at Close (the object appears whole).
type s3Writer struct {
	f        *s3FS
	ctx      context.Context
	key      string
	buf      []byte
	uploadID string
	parts    []types.CompletedPart
	err      error
}

func (w *s3Writer) Write(b []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := 0
	for len(b) > 0 {
		room := PartSize - len(w.buf)
		k := min(room, len(b))
		w.buf = append(w.buf, b[:k]...)
		b, n = b[k:], n+k
		if len(w.buf) == PartSize {
			if err := w.flush(); err != nil {
				w.err = err
				return n, err
			}
		}
	}
	return n, nil
}

func (w *s3Writer) flush() error {
	if w.uploadID == "" {
		o, err := w.f.c.CreateMultipartUpload(w.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(w.f.bucket), Key: aws.String(w.key), ContentType: aws.String(w.f.contentType)})
		if err != nil {
			return w.f.mapErr("start upload", w.key, err)
		}
		w.uploadID = aws.ToString(o.UploadId)
	}
	num := int32(len(w.parts) + 1)
	o, err := w.f.c.UploadPart(w.ctx, &s3.UploadPartInput{Bucket: aws.String(w.f.bucket), Key: aws.String(w.key), UploadId: aws.String(w.uploadID),
		PartNumber: aws.Int32(num), Body: bytes.NewReader(w.buf), ContentLength: aws.Int64(int64(len(w.buf)))})
	if err != nil {
		return w.f.mapErr(fmt.Sprintf("upload part %d of", num), w.key, err)
	}
	w.parts = append(w.parts, types.CompletedPart{ETag: o.ETag, PartNumber: aws.Int32(num)})
	w.buf = w.buf[:0]
	return nil
}

func (w *s3Writer) Close() error {
	if w.err != nil {
		w.Abort()
		return w.err
	}
	if w.uploadID == "" {
		_, err := w.f.c.PutObject(w.ctx, &s3.PutObjectInput{Bucket: aws.String(w.f.bucket), Key: aws.String(w.key), ContentType: aws.String(w.f.contentType),
			Body: bytes.NewReader(w.buf), ContentLength: aws.Int64(int64(len(w.buf)))})
		return w.f.mapErr("upload", w.key, err)
	}
	if len(w.buf) > 0 {
		if err := w.flush(); err != nil {
			w.Abort()
			return err
		}
	}
	_, err := w.f.c.CompleteMultipartUpload(w.ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(w.f.bucket), Key: aws.String(w.key),
		UploadId: aws.String(w.uploadID), MultipartUpload: &types.CompletedMultipartUpload{Parts: w.parts}})
	if err != nil {
		w.Abort()
		return w.f.mapErr("complete upload", w.key, err)
	}
	return nil
}

// Abort discards a multipart upload so its parts stop costing storage.
func (w *s3Writer) Abort() error {
	if w.uploadID == "" {
		return nil
	}
	_, err := w.f.c.AbortMultipartUpload(context.WithoutCancel(w.ctx), &s3.AbortMultipartUploadInput{Bucket: aws.String(w.f.bucket), Key: aws.String(w.key), UploadId: aws.String(w.uploadID)})
	w.uploadID = ""
	return err
}

func (f *s3FS) Create(ctx context.Context, p string) (filecore.Writer, error) {
	return &s3Writer{f: f, ctx: ctx, key: key(p), buf: make([]byte, 0, PartSize)}, nil
}

// Rename is copy + delete (S3 has no rename).
func (f *s3FS) Rename(ctx context.Context, oldPath, newPath string, overwrite bool) error {
	src, dst := key(oldPath), key(newPath)
	if !overwrite {
		if _, err := f.head(ctx, dst); err == nil {
			return fmt.Errorf("rename %s to %s: %w", src, dst, fs.ErrExist)
		}
	}
	h, err := f.head(ctx, src)
	if err != nil {
		return err
	}
	size := aws.ToInt64(h.ContentLength)
	copySource := url.PathEscape(f.bucket) + "/" + escapeKey(src)
	if size <= maxSimpleCopy {
		_, err = f.c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(dst), CopySource: aws.String(copySource)})
	} else {
		err = f.multipartCopy(ctx, copySource, dst, size)
	}
	if err != nil {
		return f.mapErr("copy "+src+" to", dst, err)
	}
	_, err = f.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(src)})
	return f.mapErr("delete", src, err)
}

func escapeKey(k string) string {
	parts := strings.Split(k, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

func (f *s3FS) multipartCopy(ctx context.Context, copySource, dst string, size int64) error {
	o, err := f.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(f.bucket), Key: aws.String(dst)})
	if err != nil {
		return err
	}
	id := o.UploadId
	var parts []types.CompletedPart
	for off, num := int64(0), int32(1); off < size; off, num = off+copyPartSize, num+1 {
		end := min(off+copyPartSize, size) - 1
		p, err := f.c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(f.bucket), Key: aws.String(dst), UploadId: id, PartNumber: aws.Int32(num),
			CopySource: aws.String(copySource), CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", off, end))})
		if err != nil {
			f.c.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: aws.String(f.bucket), Key: aws.String(dst), UploadId: id})
			return err
		}
		parts = append(parts, types.CompletedPart{ETag: p.CopyPartResult.ETag, PartNumber: aws.Int32(num)})
	}
	_, err = f.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(f.bucket), Key: aws.String(dst), UploadId: id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	return err
}

func (f *s3FS) head(ctx context.Context, k string) (*s3.HeadObjectOutput, error) {
	o, err := f.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(k)})
	if err != nil {
		return nil, f.mapErr("stat", k, err)
	}
	return o, nil
}

func (f *s3FS) Remove(ctx context.Context, p string) error {
	_, err := f.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(key(p))})
	return f.mapErr("delete", p, err)
}

// MkdirAll does nothing: prefixes exist as soon as an object uses them.
func (f *s3FS) MkdirAll(context.Context, string) error { return nil }

// Stat reports an object, or a "directory" when objects exist under the
// prefix.
func (f *s3FS) Stat(ctx context.Context, p string) (filecore.Entry, error) {
	k := key(p)
	if k == "" {
		return filecore.Entry{Path: p, Name: "/", IsDir: true}, nil
	}
	o, err := f.head(ctx, k)
	if err == nil {
		return filecore.Entry{Path: k, Name: path.Base(k), Size: aws.ToInt64(o.ContentLength), ModTime: aws.ToTime(o.LastModified)}, nil
	}
	if !filecore.IsNotExist(err) {
		return filecore.Entry{}, err
	}
	l, lerr := f.c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(f.bucket), Prefix: aws.String(k + "/"), MaxKeys: aws.Int32(1)})
	if lerr == nil && len(l.Contents) > 0 {
		return filecore.Entry{Path: k, Name: path.Base(k), IsDir: true}, nil
	}
	return filecore.Entry{}, err
}

func (f *s3FS) Close() error { return nil }
