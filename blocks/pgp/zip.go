package pgp

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/connectplus/connectplus/block"
)

// Limits on archives found inside decrypted files: a small encrypted file
// may expand into a zip bomb.
const (
	maxZipEntries = 10000
	maxZipTotal   = 16 << 30
	maxZipRatio   = 200
)

// zipMembers lists the regular files of an archive after checking names
// and sizes.
func zipMembers(zr *zip.Reader) ([]*zip.File, error) {
	var out []*zip.File
	var total uint64
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		if err := checkMemberName(f.Name); err != nil {
			return nil, err
		}
		if len(out) >= maxZipEntries {
			return nil, fmt.Errorf("zip archive has more than %d files", maxZipEntries)
		}
		total += f.UncompressedSize64
		if total > maxZipTotal {
			return nil, fmt.Errorf("zip archive expands to more than %d bytes", uint64(maxZipTotal))
		}
		if f.CompressedSize64 > 0 && f.UncompressedSize64/f.CompressedSize64 > maxZipRatio {
			return nil, fmt.Errorf("zip entry %q expands %d times (limit %d): refusing a possible zip bomb", f.Name, f.UncompressedSize64/f.CompressedSize64, maxZipRatio)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("zip archive contains no files")
	}
	return out, nil
}

func checkMemberName(name string) error {
	clean := path.Clean(strings.ReplaceAll(name, `\`, "/"))
	if name == "" || strings.HasPrefix(clean, "/") || clean == ".." || strings.HasPrefix(clean, "../") || strings.ContainsRune(name, 0) {
		return fmt.Errorf("zip entry name %q is unsafe (absolute or escaping the archive)", name)
	}
	return nil
}

// limitedMember fails instead of silently truncating when an entry holds
// more than its header declared.
type limitedMember struct {
	r    io.ReadCloser
	left int64
	name string
}

func (l *limitedMember) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("zip entry %q is larger than its header says", l.name)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedMember) Close() error { return l.r.Close() }

type zipMemberCloser struct {
	io.Reader
	member io.Closer
	zr     *zip.ReadCloser
}

func (z *zipMemberCloser) Close() error {
	z.member.Close()
	return z.zr.Close()
}

// openMember opens member name of the archive at zipPath; the archive is
// reopened per call so the File stays re-openable.
func openMember(zipPath, name string) (io.ReadCloser, error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return nil, fmt.Errorf("open decrypted archive: %w", err)
	}
	for _, f := range zr.File {
		if f.Name != name {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			zr.Close()
			return nil, fmt.Errorf("zip entry %q: %w", name, err)
		}
		return &zipMemberCloser{Reader: &limitedMember{r: rc, left: int64(f.UncompressedSize64), name: name}, member: rc, zr: zr}, nil
	}
	zr.Close()
	return nil, fmt.Errorf("zip entry %q vanished", name)
}

// emitZipMembers passes on each file of the archive at zipPath as its own
// unit of u's lineage.
func emitZipMembers(ctx context.Context, u *block.Unit, zipPath string, out block.Output, decorate func(*block.Unit)) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return fmt.Errorf("unzipFiles: the decrypted content of %s is not a zip archive: %w", u.File.Name, err)
	}
	members, err := zipMembers(&zr.Reader)
	zr.Close()
	if err != nil {
		return fmt.Errorf("unzipFiles: %s: %w", u.File.Name, err)
	}
	for _, m := range members {
		name := m.Name
		base := path.Base(strings.ReplaceAll(name, `\`, "/"))
		nu := u.Derive()
		nu.File = block.NewFile(base, int64(m.UncompressedSize64), func(context.Context) (io.ReadCloser, error) {
			return openMember(zipPath, name)
		})
		nu.File.ModTime = m.Modified
		nu.Attrs[block.AttrFilename] = base
		nu.Attrs[block.AttrFileSize] = strconv.FormatUint(m.UncompressedSize64, 10)
		nu.Attrs["segment.original.filename"] = u.File.Name
		if decorate != nil {
			decorate(nu)
		}
		if err := out.Emit(ctx, block.RelSuccess, nu); err != nil {
			return err
		}
	}
	return nil
}
