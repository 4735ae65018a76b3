package filecore

import (
	"archive/zip"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// ZipLimits bound what unzipping an archive may cost, so a zip bomb cannot
// fill the disk or run forever. Both the size cap and the ratio are source
// block settings (KeyUnzipMaxSizeMB, KeyUnzipMaxRatio); errors name the
// setting to change.
type ZipLimits struct {
	// MaxTotal caps the summed uncompressed size of an archive's entries.
	MaxTotal int64
	// MaxRatio caps one entry's uncompressed/compressed ratio (for entries
	// larger than ratioFloor). Deflate cannot exceed ~1032:1, so bombs
	// sit near that; real CSV and text files compress 5-30:1, very
	// repetitive exports a few hundred to one.
	MaxRatio float64
	// MaxEntries caps the number of files in an archive.
	MaxEntries int
	// TotalSetting and RatioSetting name what to change when a limit is
	// hit (default: the block fields).
	TotalSetting, RatioSetting string
}

// DefaultZipLimits allows 16 GiB per archive, 500:1 per entry, 10,000 files.
var DefaultZipLimits = ZipLimits{MaxTotal: DefaultUnzipMaxSizeMB << 20, MaxRatio: DefaultUnzipMaxRatio, MaxEntries: 10000}

// Defaults of the unzip limit fields. 500:1 admits legitimate repetitive
// exports (338:1 was seen) while a deflate bomb (~1000:1) is still refused.
const (
	DefaultUnzipMaxSizeMB = 16 << 10
	DefaultUnzipMaxRatio  = 500
)

// ratioFloor: tiny files of repeated bytes compress extremely well without
// being a threat, so the ratio is only checked above 1 MiB.
const ratioFloor = 1 << 20

// zipMember is a file inside an archive that becomes its own input.
type zipMember struct {
	name string // entry name as stored (validated)
	size int64  // uncompressed size (declared; enforced while reading by archive/zip)
}

// scanZip validates an archive's directory and returns its files.
// Directories and macOS resource-fork junk are skipped. Any entry whose name
// could escape a directory (absolute, "..", drive letters) rejects the whole
// archive: such archives are hostile or broken and go to the error location.
func scanZip(zr *zip.Reader, lim ZipLimits) ([]zipMember, error) {
	var out []zipMember
	var total uint64
	for _, f := range zr.File {
		name := f.Name
		if err := checkZipName(name); err != nil {
			return nil, err
		}
		if f.FileInfo().IsDir() || strings.HasSuffix(name, "/") {
			continue
		}
		if strings.HasPrefix(name, "__MACOSX/") || strings.HasPrefix(path.Base(name), "._") {
			continue
		}
		if !f.Mode().IsRegular() {
			return nil, fmt.Errorf("zip entry %s is not a regular file (%s)", quote(name), f.Mode().Type())
		}
		if lim.MaxEntries > 0 && len(out) >= lim.MaxEntries {
			return nil, fmt.Errorf("zip archive has more than %d files", lim.MaxEntries)
		}
		total += f.UncompressedSize64
		if lim.MaxTotal > 0 && total > uint64(lim.MaxTotal) {
			return nil, fmt.Errorf("zip archive expands to more than %s (zip bomb protection); if the archive is genuine, raise %s", sizeText(lim.MaxTotal), settingOr(lim.TotalSetting, "Unzip Size Limit ("+KeyUnzipMaxSizeMB+")"))
		}
		if lim.MaxRatio > 0 && f.UncompressedSize64 > ratioFloor {
			comp := max(f.CompressedSize64, 1)
			if r := float64(f.UncompressedSize64) / float64(comp); r > lim.MaxRatio {
				return nil, fmt.Errorf("zip entry %s expands %.0f:1, above the %.0f:1 limit (zip bomb protection); if the archive is genuine, raise %s", quote(name), r, lim.MaxRatio, settingOr(lim.RatioSetting, "Unzip Ratio Limit ("+KeyUnzipMaxRatio+")"))
			}
		}
		out = append(out, zipMember{name: name, size: int64(f.UncompressedSize64)})
	}
	return out, nil
}

func settingOr(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// sizeText renders a byte count in MB (the unit of KeyUnzipMaxSizeMB) or
// bytes when smaller.
func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// ZipMember is a file inside an archive that becomes its own input.
type ZipMember struct {
	Name string // path inside the archive, e.g. "a/cust.csv"
	Size int64  // uncompressed size
}

// ListLocalZip validates a local archive against lim, as a source does, and
// returns its files (connectplus run --input with unzipFiles).
func ListLocalZip(file string, lim ZipLimits) ([]ZipMember, error) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return nil, fmt.Errorf("zip archive %s: not a valid zip archive: %w", file, err)
	}
	defer zr.Close()
	ms, err := scanZip(&zr.Reader, lim)
	if err != nil {
		return nil, fmt.Errorf("zip archive %s: %w", file, err)
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("zip archive %s contains no files", file)
	}
	out := make([]ZipMember, len(ms))
	for i, m := range ms {
		out[i] = ZipMember{Name: m.name, Size: m.size}
	}
	return out, nil
}

// OpenLocalZipMember streams one file of a local archive, bounded by its
// declared size.
func OpenLocalZipMember(file, member string) (io.ReadCloser, error) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return nil, fmt.Errorf("zip archive %s: %w", file, err)
	}
	for _, zf := range zr.File {
		if zf.Name != member {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			zr.Close()
			return nil, fmt.Errorf("zip entry %s of %s: %w", member, file, err)
		}
		return &memberReader{boundedReader{r: rc, n: int64(zf.UncompressedSize64), name: member}, zr}, nil
	}
	zr.Close()
	return nil, fmt.Errorf("zip entry %s vanished from %s", member, file)
}

func checkZipName(name string) error {
	n := strings.ReplaceAll(name, "\\", "/")
	bad := n == "" || strings.HasPrefix(n, "/") || strings.ContainsRune(n, 0) ||
		(len(n) >= 2 && n[1] == ':')
	for _, seg := range strings.Split(n, "/") {
		if seg == ".." {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("zip entry name %s escapes the archive directory (path traversal); archive rejected", quote(name))
	}
	return nil
}

// boundedReader fails once more than n bytes were read: a second guard on
// top of archive/zip's own check against the declared size.
type boundedReader struct {
	r    io.ReadCloser
	n    int64
	name string
}

func (b *boundedReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n -= int64(n)
	if b.n < 0 {
		return n, fmt.Errorf("zip entry %s is larger than declared (zip bomb protection)", quote(b.name))
	}
	return n, err
}

func (b *boundedReader) Close() error { return b.r.Close() }

// IsZipName reports whether a file name is a zip archive.
func IsZipName(name string) bool { return strings.EqualFold(path.Ext(name), ".zip") }
