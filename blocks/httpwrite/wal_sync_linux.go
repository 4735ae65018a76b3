package httpwrite

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// datasync flushes f's data blocks and only the metadata needed to read them
// back (fdatasync): the write-ahead log overwrites preallocated space, so
// that is all a round needs.
func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}

// writeSynced writes bufs one after the other at off and makes those bytes
// durable in one call: pwritev2 with RWF_DSYNC, a data sync of the written
// range only (dirty pages elsewhere in the file — answers, written without
// sync — are left to the kernel's writeback). It reports false, having
// written nothing, where the kernel does not support it (before Linux 4.7;
// the caller then stops trying, walFile.noDsync).
func writeSynced(f *os.File, off int64, bufs ...[]byte) (bool, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	iovs := make([][]byte, 0, len(bufs))
	for _, b := range bufs {
		if len(b) > 0 {
			iovs = append(iovs, b)
		}
	}
	ok, first := true, true
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for len(iovs) > 0 {
			n, err := unix.Pwritev2(int(fd), iovs, off, unix.RWF_DSYNC)
			switch {
			case err == syscall.EINTR:
				continue
			case first && (errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EINVAL)):
				ok = false
				return
			case err != nil:
				serr = err
				return
			case n == 0:
				serr = syscall.EIO
				return
			}
			first = false
			off += int64(n)
			for n > 0 {
				if n < len(iovs[0]) {
					iovs[0] = iovs[0][n:]
					break
				}
				n -= len(iovs[0])
				iovs = iovs[1:]
			}
		}
	}); err != nil {
		return false, err
	}
	if serr != nil {
		return true, &os.PathError{Op: "pwritev2", Path: f.Name(), Err: serr}
	}
	return ok, nil
}
