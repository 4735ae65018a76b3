package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/cli/aicmd"
	"github.com/connectplus/connectplus/cli/clientcmd"
	"github.com/connectplus/connectplus/cli/exprcmd"
	"github.com/connectplus/connectplus/cli/jsltcmd"
	"github.com/connectplus/connectplus/cli/mcpcmd"
	"github.com/connectplus/connectplus/cli/sandboxcmd"
	"github.com/connectplus/connectplus/cli/servercmd"
	"github.com/connectplus/connectplus/cli/templatecmd"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/quartz"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/scheduler"
)

// extraCommands are the commands owned by other packages (languages,
// sandbox, server, API client).
func (a *app) extraCommands() []*cobra.Command {
	cmds := []*cobra.Command{
		exprcmd.NewCommand(), jsltcmd.NewCommand(), sandboxcmd.NewCommand(),
		servercmd.NewServerCommand(a.serverDeps()),
		servercmd.NewDemoCommand(a.serverDeps()),
		mcpcmd.NewCommand(mcpcmd.Deps{Version: a.version, Registry: func() *block.Registry { return a.registry },
			Validate: dataflow.ValidateOptions{CronCheck: quartz.Check}}),
		aicmd.NewCommand(),
	}
	cmds = append(cmds, templatecmd.Commands(templatecmd.Deps{
		Registry: func() *block.Registry { return a.registry },
		Validate: dataflow.ValidateOptions{CronCheck: quartz.Check},
	})...)
	return append(cmds, clientcmd.Commands()...)
}

func (a *app) serverDeps() servercmd.Deps {
	return servercmd.Deps{
		Version:  a.version,
		Runtime:  a.runtimeFactory,
		Registry: func() *block.Registry { return a.registry },
		Validate: dataflow.ValidateOptions{CronCheck: quartz.Check},
	}
}

// runtimeFactory starts the runtime over the server's store.
func (a *app) runtimeFactory(repo runstate.Repo, logger *slog.Logger, cfg servercmd.RuntimeConfig) (runstate.Controller, func(ctx context.Context) error, error) {
	if os.Getenv("GOMEMLIMIT") == "" {
		// A server runs many flows: a generous soft limit that still stops
		// the relaxed GC target from growing the heap without bound.
		debug.SetMemoryLimit(1 << 30)
	}
	if os.Getenv("GOGC") == "" {
		// As for `connectplus run` (run.go): a Live dataflow's live heap is
		// small, and with the process-wide ten-times target the heap grew
		// to ~350 MB for the 1M-row flagship file, so allocations kept
		// touching fresh, uncached memory: page faults were 9 % of the
		// server's CPU samples against 2.6 % for `run`, and the same file
		// took 1.24x `run`'s time. Four times live data: 1.00x
		// (bench/server.sh, bench/notes/issue22.md round 6).
		debug.SetGCPercent(300)
	}
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	// The owner is stable across restarts of this server (same host and
	// data directory), so claims it held before a crash are its own again.
	sum := sha256.Sum256([]byte(host + "\x00" + abs))
	owner := "server-" + hex.EncodeToString(sum[:8])
	if cfg.Node != "" {
		// In a cluster the node name is the owner: River's jobs name it.
		owner = "node-" + cfg.Node
	}
	m, err := scheduler.New(scheduler.Options{
		Repo: repo, Registry: a.registry, Logger: logger, DataDir: abs,
		Retention: cfg.Retention, DrainTimeout: cfg.DrainTimeout, Redactor: cfg.Redactor,
		Owner:      owner,
		Dispatcher: cfg.Dispatcher,
		SharedDir:  cfg.SharedDir,
		Shared:     cfg.Shared,
		Journal:    cfg.Journal,
		Node:       cfg.Node,
		// In a cluster, River's file workers are the per-node limit.
		MaxFilesPerFlow: cfg.MaxFilesPerFlow,
		Sandbox:         cfg.Sandbox, BlockOptions: cfg.BlockOptions,
		LocalPaths: cfg.LocalPaths,
		Metrics:    cfg.Metrics,
	})
	if err != nil {
		return nil, nil, err
	}
	return m, m.Run, nil
}
