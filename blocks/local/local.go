// Package local provides file_read and file_write: the file connectors on
// the local disk, with exactly sftp_read's and sftp_write's field keys minus
// the connection fields. They are not Connect+ blocks (the product has no
// local-disk block); they make dataflows runnable and testable on one
// machine, and a dataflow moves to SFTP by adding connection fields.
package local

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/filecore"
)

// OptRoot is the Env option that confines both blocks to one directory
// tree: every configured directory must lie inside it.
const OptRoot = "local.root"

// ReadSpec is file_read.
var ReadSpec = &block.Spec{
	Type:     "file_read",
	Label:    "Local File (Read)",
	Class:    block.ClassSource,
	Category: "Source",
	Description: "Picks up files matching a regex from a local directory, once their size and modification time are stable, " +
		"in modification-time order; moves each to the processed directory when its lineage completes (or to the error " +
		"directory when it failed as a whole) and writes the result file next to the errors.",
	Input:  block.KindNone,
	Output: block.KindFile,
	Fields: filecore.SourceFields(),
	Check: func(c *block.Config) []block.Problem {
		probs := filecore.CheckNoDotDot(c, filecore.KeySourceDirectory, filecore.KeyProcessedDirectory, filecore.KeyAPIErrorFilePath)
		return append(probs, filecore.CheckSourceDirs(c)...)
	},
	New: newRead,
}

// WriteSpec is file_write. Its output is the written file (KindFile), so
// blocks can follow it (e.g. a notification after the upload).
var WriteSpec = &block.Spec{
	Type:     "file_write",
	Label:    "Local File (Write)",
	Class:    block.ClassExecutor,
	Category: "Destination",
	Description: "Writes each input file to a local directory under a temporary name and renames it into place, so readers " +
		"never see a partial file; record input is written as JSON Lines and published when the lineage completes.",
	Input:  block.KindAny,
	Output: block.KindFile,
	Fields: filecore.SinkFields(),
	Check: func(c *block.Config) []block.Problem {
		return filecore.CheckNoDotDot(c, filecore.KeyRemotePath)
	},
	New: newWrite,
}

// Register adds file_read and file_write.
func Register(r *block.Registry) { r.MustRegister(ReadSpec, WriteSpec) }

func newPool(env *block.Env) *filecore.Pool {
	return filecore.NewPool(func(context.Context) (filecore.FS, error) { return filecore.NewLocalFS(), nil }, filecore.RetryFrom(env), env.Log())
}

// checkRoot enforces OptRoot.
func checkRoot(env *block.Env, dirs map[string]string) error {
	root := ""
	if env != nil && env.Options != nil {
		root = env.Options[OptRoot]
	}
	if root == "" {
		return nil
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	for key, d := range dirs {
		if strings.TrimSpace(d) == "" {
			continue
		}
		abs, err := filepath.Abs(d)
		if err != nil {
			return err
		}
		if !filecore.Within(filepath.ToSlash(abs), filepath.ToSlash(absRoot)) {
			return fmt.Errorf("%s %q is outside the allowed local root %q", key, d, root)
		}
	}
	return nil
}

func newRead(c *block.Config, env *block.Env) (block.Block, error) {
	cfg, err := filecore.SourceConfigFrom(c, env)
	if err != nil {
		return nil, err
	}
	if err := checkRoot(env, map[string]string{
		filecore.KeySourceDirectory: cfg.Dir, filecore.KeyProcessedDirectory: cfg.ProcessedDir, filecore.KeyAPIErrorFilePath: cfg.ErrorDir,
	}); err != nil {
		return nil, err
	}
	return filecore.NewSource(newPool(env), cfg, env), nil
}

func newWrite(c *block.Config, env *block.Env) (block.Block, error) {
	cfg, err := filecore.SinkConfigFrom(c, env)
	if err != nil {
		return nil, err
	}
	if err := checkRoot(env, map[string]string{filecore.KeyRemotePath: cfg.Dir}); err != nil {
		return nil, err
	}
	return filecore.NewSink(newPool(env), cfg, env)
}
