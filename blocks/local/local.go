// Package local provides file_read and file_write: the file connectors on
// the local disk, with exactly sftp_read's and sftp_write's field keys minus
// the connection fields. They are not Connect+ blocks (the product has no
// local-disk block); they make dataflows runnable and testable on one
// machine, and a dataflow moves to SFTP by adding connection fields.
package local

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/filecore"
	"github.com/connectplus/connectplus/fsroot"
)

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
	LocalPaths: pathsOf(filecore.KeySourceDirectory, filecore.KeyProcessedDirectory, filecore.KeyAPIErrorFilePath),
	New:        newRead,
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
	LocalPaths: pathsOf(filecore.KeyRemotePath),
	New:        newWrite,
}

// Register adds file_read and file_write.
func Register(r *block.Registry) { r.MustRegister(ReadSpec, WriteSpec) }

// pathsOf lists the configured (non-empty) values of keys as local paths.
func pathsOf(keys ...string) func(c *block.Config) []block.LocalPath {
	return func(c *block.Config) []block.LocalPath {
		var out []block.LocalPath
		for _, k := range keys {
			if v := strings.TrimSpace(c.String(k)); v != "" {
				out = append(out, block.LocalPath{Key: k, Path: v})
			}
		}
		return out
	}
}

func policy(env *block.Env) *fsroot.Policy {
	if env == nil {
		return nil
	}
	return env.LocalPaths
}

func newPool(env *block.Env) *filecore.Pool {
	p := policy(env)
	return filecore.NewPool(func(context.Context) (filecore.FS, error) { return filecore.NewConfinedFS(p), nil }, filecore.RetryFrom(env), env.Log())
}

// resolve checks the configured directories (Extension Configurations now
// resolved) against the policy and makes them absolute: relative paths
// lie in the organisation's files root. Every later operation checks again.
func resolve(env *block.Env, dirs ...*string) error {
	p := policy(env)
	if p == nil {
		return nil
	}
	for _, d := range dirs {
		if strings.TrimSpace(*d) == "" {
			continue
		}
		abs, err := p.Resolve(strings.TrimSpace(*d))
		if err != nil {
			return err
		}
		*d = filepath.ToSlash(abs)
	}
	return nil
}

func newRead(c *block.Config, env *block.Env) (block.Block, error) {
	cfg, err := filecore.SourceConfigFrom(c, env)
	if err != nil {
		return nil, err
	}
	if err := resolve(env, &cfg.Dir, &cfg.ProcessedDir, &cfg.ErrorDir, &cfg.ResultDir); err != nil {
		return nil, err
	}
	return filecore.NewSource(newPool(env), cfg, env), nil
}

func newWrite(c *block.Config, env *block.Env) (block.Block, error) {
	cfg, err := filecore.SinkConfigFrom(c, env)
	if err != nil {
		return nil, err
	}
	if err := resolve(env, &cfg.Dir); err != nil {
		return nil, err
	}
	return filecore.NewSink(newPool(env), cfg, env)
}
