package block

// LocalResult is implemented by a reader Completion.Result returns when the
// result file is, byte for byte, a local file (the engine's result spool):
// a source publishing it on the same file system may hard-link that file
// instead of copying its bytes, and falls back to reading when the link
// fails (another file system, no hard links). LocalPath returns "" when
// there is no such file. The linked file must never be written to.
type LocalResult interface {
	LocalPath() string
}
