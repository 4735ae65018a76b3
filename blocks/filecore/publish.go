package filecore

import (
	"archive/zip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
)

// partMarker is in every temporary name the connectors create, so sources
// never pick up a half-written file.
const partMarker = ".part-"

// tempName is a hidden, unique name next to the target.
func tempName(name string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return "." + name + partMarker + hex.EncodeToString(b)
}

// isTempName reports names of in-progress uploads (ours, and the common
// conventions of other tools) that must never be picked up.
func isTempName(name string) bool {
	return (strings.HasPrefix(name, ".") && strings.Contains(name, partMarker)) ||
		strings.HasSuffix(name, ".part") || strings.HasSuffix(name, ".filepart") || strings.HasSuffix(name, ".partial")
}

// copyTo writes src into w, through a one-entry zip archive when zipEntry
// is set. It closes (publishes) w on success and aborts it on failure.
func copyTo(w Writer, src io.Reader, zipEntry string) (int64, error) {
	var n int64
	var err error
	if zipEntry != "" {
		zw := zip.NewWriter(w)
		var ew io.Writer
		ew, err = zw.CreateHeader(&zip.FileHeader{Name: zipEntry, Method: zip.Deflate, Modified: time.Now()})
		if err == nil {
			n, err = io.Copy(ew, src)
		}
		if err == nil {
			err = zw.Close()
		}
	} else {
		n, err = io.Copy(w, src)
	}
	if err != nil {
		w.Abort()
		return n, err
	}
	if err := w.Close(); err != nil {
		w.Abort()
		return n, err
	}
	return n, nil
}

// publish writes src to dir/name so that readers never see a partial file:
// to a temporary name and renamed into place (replacing any existing file),
// or straight to the name on file systems whose Create is atomic.
func publish(ctx context.Context, fs FS, dir, name string, src io.Reader, zipEntry string, overwrite bool) (string, error) {
	final := Join(dir, name)
	if ac, ok := fs.(AtomicCreator); ok && ac.AtomicCreate() {
		w, err := fs.Create(ctx, final)
		if err != nil {
			return "", err
		}
		if _, err := copyTo(w, src, zipEntry); err != nil {
			return "", fmt.Errorf("upload %s: %w", final, err)
		}
		return final, nil
	}
	tmp := Join(dir, tempName(name))
	w, err := fs.Create(ctx, tmp)
	if err != nil {
		return "", err
	}
	if _, err := copyTo(w, src, zipEntry); err != nil {
		return "", fmt.Errorf("upload %s: %w", tmp, err)
	}
	if err := fs.Rename(ctx, tmp, final, overwrite); err != nil {
		fs.Remove(ctx, tmp)
		return "", err
	}
	return final, nil
}
