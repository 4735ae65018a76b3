//go:build unix

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

// spoolLinkable: a spool that is the whole result file may be published by
// a hard link (resultReader.LocalPath), since a resume can tell that it was
// (sharedInode) and copy it before cutting it back.
const spoolLinkable = true
