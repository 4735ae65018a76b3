// Package cli wires the connectplus commands. It holds no business logic:
// every command calls into the packages that own the behaviour.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/all"
)

// Exit codes of connectplus run (and other commands).
const (
	ExitOK      = 0 // every file succeeded (or there was nothing to do)
	ExitError   = 1 // the command could not run (bad flags, invalid dataflow, I/O)
	ExitPartial = 3 // some records failed; the rest were delivered
	ExitFailure = 4 // at least one file failed as a whole, or every record failed
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

// app is what commands share; built once per invocation, never global.
type app struct {
	version  string
	registry *block.Registry
	stdout   io.Writer
	stderr   io.Writer
	stdin    io.Reader
}

// Main runs the CLI and returns the process exit code.
func Main(version string, args []string) int {
	a := &app{version: version, registry: all.Registry(), stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin}
	root := a.root()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(a.stderr, "Error:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(a.stderr, "Error:", err)
	return ExitError
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "connectplus",
		Short: "Connect+ data-integration server and CLI",
		Long: `Connect+ moves business data — customers, transactions, points, coupons — from files on
SFTP/FTP/S3 and from APIs into a loyalty/CRM platform's APIs, with dataflows made of blocks.

Run a dataflow once from a file:     connectplus run examples/bulk_add_customers.yaml --sandbox
Check a dataflow document:           connectplus validate flow.yaml
See the block catalogue:             connectplus blocks [TYPE]
Start from a template:               connectplus templates; connectplus new NAME --template T`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.AddCommand(a.versionCmd(), a.validateCmd(), a.blocksCmd(), a.runCmd())
	for _, c := range a.extraCommands() {
		root.AddCommand(c)
	}
	return root
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "connectplus %s (%s, %s/%s)\n", a.version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
