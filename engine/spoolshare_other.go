//go:build !unix

package engine

import "os"

// sharedInode reports whether the file has more than one name; without
// link counts, a published result file is never a spool's other name
// (sources copy it, block.LocalResult).
func sharedInode(os.FileInfo) bool { return false }

// spoolLinkable: without link counts a resume could not tell that a spool
// was published by a link, so it never is.
const spoolLinkable = false
