package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// tempWorkPrefix names the default work directories.
const tempWorkPrefix = "connectplus-work-"

// tempGonePrefix names a default work directory being removed: remove
// renames it first, so a process killed halfway through the removal (the
// lock file already deleted, the rest not) leaves a directory every sweep
// knows to be abandoned rather than one without a lock, which looks like an
// old version's and was kept for a day.
const tempGonePrefix = "connectplus-removing-"

// tempWorkLock is the file inside a default work directory that its process
// holds an exclusive flock on: the kernel releases it when the process dies,
// however it dies, so a later process can tell an abandoned directory from
// one in use without trusting process ids (which are reused).
const tempWorkLock = ".lock"

// legacyWorkAge is how old a default work directory without a lock file
// (made by a version before the lock existed) must be before it is removed.
const legacyWorkAge = 24 * time.Hour

// tempWork is a default work directory and the lock that marks it in use.
type tempWork struct {
	dir  string
	lock *os.File
}

// newTempWork removes default work directories in root that no live process
// holds (left by a killed run), then creates and locks a new one.
func newTempWork(root string, log *slog.Logger) (*tempWork, error) {
	if root == "" {
		root = os.TempDir()
	}
	sweepTempWork(root, log)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	dir, err := os.MkdirTemp(root, tempWorkPrefix)
	if err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	// The lock file gets its name only once locked, so a sweeper never
	// finds it unlocked while this process is alive.
	tmp := filepath.Join(dir, tempWorkLock+".new")
	lock, err := os.OpenFile(tmp, os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			err = os.Rename(tmp, filepath.Join(dir, tempWorkLock))
		}
		if err != nil {
			lock.Close()
		}
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("locking work directory %s: %w", dir, err)
	}
	return &tempWork{dir: dir, lock: lock}, nil
}

// remove deletes the directory, then lets go of its lock.
func (t *tempWork) remove() {
	gone := filepath.Join(filepath.Dir(t.dir), tempGonePrefix+filepath.Base(t.dir))
	if err := os.Rename(t.dir, gone); err == nil {
		_ = os.RemoveAll(gone)
	} else {
		_ = os.RemoveAll(t.dir)
	}
	t.lock.Close()
}

// sweepTempWork removes the default work directories in root whose lock no
// process holds. Errors are ignored: sweeping is housekeeping, and another
// user's directories are simply not ours to remove.
func sweepTempWork(root string, log *slog.Logger) {
	// Directories whose removal a killed process left unfinished.
	gone, _ := filepath.Glob(filepath.Join(root, tempGonePrefix+tempWorkPrefix+"*"))
	for _, d := range gone {
		if st, err := os.Lstat(d); err == nil && st.IsDir() {
			_ = os.RemoveAll(d)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(root, tempWorkPrefix+"*"))
	for _, d := range dirs {
		if abandonedWork(d) {
			if err := os.RemoveAll(d); err == nil {
				log.Info("removed the work directory of a run that did not finish", "dir", d)
			}
		}
	}
}

// abandonedWork reports whether d is a default work directory no live
// process uses. It takes d's lock to find out; removing d while holding it
// is safe, since nobody else can take it again once d is gone.
func abandonedWork(d string) bool {
	st, err := os.Lstat(d)
	if err != nil || !st.IsDir() {
		return false
	}
	lock, err := os.OpenFile(filepath.Join(d, tempWorkLock), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		// No lock: made before locks existed, or being created this very
		// moment; only an old one is abandoned.
		return time.Since(st.ModTime()) > legacyWorkAge
	}
	if err != nil {
		return false
	}
	defer lock.Close()
	return syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}
