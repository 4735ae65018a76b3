package httpwrite

import (
	"os"
	"syscall"
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
