// Package mcpcmd is `connectplus mcp`: the Connect+ MCP server (package
// assist/tools) on standard input and output, for Claude Desktop, IDEs and
// any MCP client that starts a local process. It opens the same store as
// `connectplus server` (--data-dir or --db) and acts as the user of the API
// token given with --token or $CONNECTPLUS_TOKEN.
package mcpcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/connectplus/connectplus/assist/tools"
	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/secrets/redact"
	"github.com/connectplus/connectplus/store"
)

// EnvToken is the default of --token (an environment variable keeps the
// token out of the process list and out of client config files that are
// shared).
const EnvToken = "CONNECTPLUS_TOKEN"

// Deps are what the CLI wires in.
type Deps struct {
	Version  string
	Registry func() *block.Registry
	Validate dataflow.ValidateOptions
}

type options struct {
	dataDir, db, token string
}

const long = `Serve the Connect+ tools, resources and prompts over the Model Context Protocol on
standard input and output (one JSON-RPC message per line), for Claude Desktop, IDEs and any
MCP client that starts a local process. Logs go to standard error.

Every tool acts as the owner of the API token (--token, else $` + EnvToken + `): in the token's
organisation, with the weaker of the user's role and the token's scope. The token is checked
again on every call, so revoking it stops the session. Saving only ever makes a Draft:
submitting and approving stay with people (maker-checker).

The command opens the server's store directly — the same --data-dir (SQLite) or --db
(PostgreSQL) as ` + "`connectplus server`" + ` — so run it on the server's host. It needs no master
key: no tool reads a secret. To use a remote server instead, point the MCP client at the
server's streamable HTTP endpoint, https://HOST/mcp, with the token as a bearer token
(docs/mcp.md).`

// NewCommand returns `connectplus mcp`.
func NewCommand(deps Deps) *cobra.Command {
	o := options{}
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve the Connect+ MCP tools on stdio (Claude Desktop, IDEs)",
		Long:  long,
		Example: `  CONNECTPLUS_TOKEN=cpt_… connectplus mcp --data-dir /var/lib/connectplus
  connectplus mcp --db 'postgres://connectplus@db:5432/connectplus' --token cpt_…`,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return run(ctx, deps, o, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", "./.connectplus-data", "the server's data directory (its SQLite database)")
	f.StringVar(&o.db, "db", "", "database URL: sqlite:///path/db.sqlite or postgres://… (default: SQLite in the data directory)")
	f.StringVar(&o.token, "token", "", "API token (default $"+EnvToken+"); create one in the UI or with POST /api/v1/tokens")
	return cmd
}

func run(ctx context.Context, deps Deps, o options, stdin io.Reader, stdout, stderr io.Writer) error {
	if o.token == "" {
		o.token = os.Getenv(EnvToken)
	}
	if o.token == "" {
		return fmt.Errorf("no API token: pass --token or set $%s", EnvToken)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db := o.db
	if db == "" {
		path := filepath.Join(o.dataDir, "connectplus.db")
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("no Connect+ database at %s: pass the server's --data-dir or --db", path)
		}
		db = "sqlite://" + path
	}
	red := redact.New()
	red.Add(o.token)
	// No keyring: the tools never decrypt an Extension Configuration.
	st, err := store.Open(ctx, db, store.WithRedactor(red))
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	var reg *block.Registry
	if deps.Registry != nil {
		reg = deps.Registry()
	}
	svc := control.New(control.Options{Store: st, Registry: reg, Logger: log, Validate: deps.Validate})
	actor := func(ctx context.Context) (control.Actor, error) {
		t, u, err := svc.TokenUser(ctx, o.token)
		if err != nil {
			return control.Actor{}, err
		}
		return svc.ActorFor(ctx, u, t.OrgID, control.ScopeRole(t.Scope))
	}
	// Fail fast, before the client starts talking, on a wrong token.
	a, err := actor(ctx)
	if err != nil {
		if errors.Is(err, control.ErrUnauthenticated) || errors.Is(err, control.ErrNotFound) {
			return errors.New("the API token is unknown, revoked or expired (or its user left the organisation)")
		}
		return err
	}
	ts, err := tools.New(tools.Deps{Service: svc, Redactor: red, Logger: log, Version: deps.Version})
	if err != nil {
		return err
	}
	log.Info("serving MCP on stdio", "user", a.Username, "org", a.OrgID, "role", a.Role)
	srv := ts.Server(tools.Session{Actor: actor})
	t := &mcp.IOTransport{Reader: readCloser(stdin), Writer: writeCloser(stdout)}
	if err := srv.Run(ctx, t); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("mcp: %w", err)
	}
	return nil
}

type nopReadCloser struct{ io.Reader }

func (nopReadCloser) Close() error { return nil }

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

func readCloser(r io.Reader) io.ReadCloser {
	if rc, ok := r.(io.ReadCloser); ok {
		return rc
	}
	return nopReadCloser{r}
}

func writeCloser(w io.Writer) io.WriteCloser {
	if wc, ok := w.(io.WriteCloser); ok {
		return wc
	}
	return nopWriteCloser{w}
}
