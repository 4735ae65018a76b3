package filecore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectplus/connectplus/blocks/filecore"
	"github.com/connectplus/connectplus/blocks/filecore/filecoretest"
)

func localHarness(t *testing.T) filecoretest.Harness {
	return filecoretest.Harness{
		Base: filepath.ToSlash(t.TempDir()),
		NewPool: func(t *testing.T) *filecore.Pool {
			return filecore.NewPool(func(context.Context) (filecore.FS, error) { return filecore.NewLocalFS(), nil }, filecore.DefaultRetry, nil)
		},
		Touch: func(t *testing.T, remote string, mtime time.Time) {
			if err := os.Chtimes(filepath.FromSlash(remote), mtime, mtime); err != nil {
				t.Fatal(err)
			}
		},
	}
}

func TestLocalConformance(t *testing.T) { filecoretest.Run(t, localHarness(t)) }

func TestIsTransient(t *testing.T) {
	_, err := os.Open("/nonexistent/x")
	if filecore.IsTransient(err) {
		t.Fatalf("ENOENT classified as transient")
	}
	if !filecore.IsTransient(filecore.Transient(err)) || filecore.IsTransient(filecore.Permanent(filecore.Transient(err))) {
		t.Fatalf("markers not honoured")
	}
}
