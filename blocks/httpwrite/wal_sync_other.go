//go:build !linux

package httpwrite

import "os"

// datasync is fsync where fdatasync is not available.
func datasync(f *os.File) error { return f.Sync() }

// writeSynced is Linux's one-call synced write; elsewhere rounds write and
// sync in two calls.
func writeSynced(*os.File, int64, ...[]byte) (bool, error) { return false, nil }
