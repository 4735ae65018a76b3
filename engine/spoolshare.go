package engine

import (
	"os"
	"syscall"
)

// sharedInode reports whether the file has more than one name.
func sharedInode(st os.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && sys.Nlink > 1
}
