package cli

import (
	"github.com/spf13/cobra"

	"github.com/connectplus/connectplus/internal/cli/exprcmd"
	"github.com/connectplus/connectplus/internal/cli/jsltcmd"
	"github.com/connectplus/connectplus/internal/cli/sandboxcmd"
)

// extraCommands are the commands owned by other packages (languages, sandbox).
func extraCommands() []*cobra.Command {
	return []*cobra.Command{exprcmd.NewCommand(), jsltcmd.NewCommand(), sandboxcmd.NewCommand()}
}
