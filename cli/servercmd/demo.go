package servercmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/connectplus/connectplus/alerts"
	"github.com/connectplus/connectplus/blocks/kafka"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/examples"
	"github.com/connectplus/connectplus/sandbox"
	"github.com/connectplus/connectplus/store"
)

// Demo users: two admins so maker-checker can be tried, an editor and a
// viewer, all with the one printed password.
var demoUsers = []control.SeedUser{
	{Username: "admin2", DisplayName: "Second administrator", Role: control.RoleAdmin},
	{Username: "editor", DisplayName: "Editor", Role: control.RoleEditor},
	{Username: "viewer", DisplayName: "Viewer", Role: control.RoleViewer},
}

// demoLive is the example made Live by the demo.
const demoLive = "bulk_add_customers"

// demoReconcile is the reconciliation example the demo makes Live and runs
// on the transactions sample, against a sandbox that holds part of it.
const demoReconcile = "reconcile_transactions"

// demoHeld are the sample bills the demo's sandbox holds before the
// reconciliation runs, as a brand's destination would after an ingestion
// that sent only paid bills — one of them since corrected to another
// amount: the reconciliation finds 3 of the 5 missing (BN10000037,
// BN10000040, BN10000041) and 1 mismatched (BN10000006's amount).
var demoHeld = []struct {
	bill, mobile string
	amount       float64
}{{"BN10000000", "917259773236", 4023.73}, {"BN10000006", "919542607933", 5390.00}}

// NewDemoCommand returns `connectplus demo`: the server with everything a
// newcomer needs to try the product, in one command.
func NewDemoCommand(deps Deps) *cobra.Command {
	var listen, dataDir, password, smtpAddr string
	var alertInterval time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Try Connect+ in the browser: a server with sample users, dataflows and an in-process API sandbox",
		Long: `Start a complete Connect+ on this machine, with no external services:

  - the server and web UI, on --listen (a free port when that one is taken);
  - embedded SQLite in --data-dir (default: a temporary directory removed on exit);
  - the Capillary API sandbox in-process: every API destination posts there, never to a real host;
  - users admin and admin2 (administrators, so one can approve what the other submits),
    editor and viewer, all with the printed password;
  - the example dataflows imported, with a local file folder each, and bulk_add_customers
    approved and Live, with a sample file waiting in its source folder;
  - reconcile_transactions Live and run on the transactions sample against the sandbox,
    which holds part of it: its report is on the dataflow's Reconciliation tab.

It prints the URL on its own line. Stop it with Ctrl-C.`,
		Example: `  connectplus demo
  connectplus demo --listen 127.0.0.1:9090 --data-dir ./demo-data --password 'my-demo-password'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDemo(ctx, deps, listen, dataDir, password, smtpAddr, alertInterval, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address to listen on (a free port is used when it is taken)")
	f.StringVar(&dataDir, "data-dir", "", "keep the demo's database and files here (default: a temporary directory, removed on exit)")
	f.StringVar(&password, "password", "", "password of every demo user (default: generated and printed)")
	f.DurationVar(&alertInterval, "alert-interval", time.Minute, "how often alert rules are evaluated and due summary reports sent (a walkthrough may want 10s)")
	f.StringVar(&smtpAddr, "smtp", "", "host:port of a local SMTP server (e.g. mailpit's 127.0.0.1:1025) that alert emails and reports go to, without TLS")
	return cmd
}

func runDemo(ctx context.Context, deps Deps, listen, dataDir, password, smtpAddr string, alertInterval time.Duration, stdout, stderr io.Writer) error {
	if alertInterval < time.Second {
		return fmt.Errorf("--alert-interval is at least 1s, not %s", alertInterval)
	}
	if dataDir == "" {
		tmp, err := os.MkdirTemp("", "connectplus-demo-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dataDir = tmp
	}
	if password == "" {
		password = control.RandomToken(12)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		// The default port is often taken (another demo, a dev server):
		// any free loopback port will do.
		host, _, _ := net.SplitHostPort(listen)
		if host == "" {
			host = "127.0.0.1"
		}
		if ln, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
	}
	addr := ln.Addr().String()
	ln.Close()

	// The sandbox the runtime's API destinations post to.
	sb := sandbox.New(sandbox.Config{ClientKey: "demo-client-key", ClientSecret: "demo-client-secret"})
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	shs := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = shs.Serve(sln) }()
	defer shs.Close()
	sandboxURL := "http://" + sln.Addr().String()
	// And a Kafka-compatible broker every Kafka block uses instead of its
	// configured connection, so stream dataflows run with nothing else.
	kb, err := sandbox.StartKafka(sandbox.KafkaConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	defer kb.Close()

	// The dataflows' folders sit beside the server's data directory, never
	// in it: no dataflow may touch the data directory (docs/SECURITY.md).
	// The demo, as its platform administrator, allows them for every
	// organisation.
	files := filepath.Join(dataDir, "files")
	var smtpHost string
	var smtpPort int
	if smtpAddr != "" {
		h, p, err := net.SplitHostPort(smtpAddr)
		if err != nil {
			return fmt.Errorf("--smtp: %w", err)
		}
		if smtpPort, err = strconv.Atoi(p); err != nil {
			return fmt.Errorf("--smtp: port %q", p)
		}
		smtpHost = h
	}
	o := options{
		smtpHost: smtpHost, smtpPort: smtpPort, alertInterval: alertInterval,
		listen: addr, dataDir: filepath.Join(dataDir, "data"), logFormat: "text", metricsListen: "",
		allowPaths: []string{files},
		retention:  7 * 24 * time.Hour, drainTimeout: 10 * time.Second,
		smtpTLS: alerts.TLSNone, smtpFrom: "connectplus-demo@localhost",
		demo: &demoHooks{
			adminPassword: password,
			runtime: RuntimeConfig{Sandbox: sandboxURL, BlockOptions: map[string]string{
				// Files dropped into a demo folder are picked up at once.
				"file.stabilityWait":   "1s",
				kafka.OptSandboxBroker: kb.Addr(),
			}},
			ready: func(ctx context.Context, svc *control.Service, url string) error {
				if err := seedDemo(ctx, svc, password, files, sb, sandboxURL); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "Connect+ demo is running. Open:\n%s\n", url)
				fmt.Fprintf(stdout, "Users: admin, admin2 (administrators), editor, viewer — password: %s\n", password)
				fmt.Fprintf(stdout, "Local files: %s (drop CSV files into the */in folders)\n", files)
				fmt.Fprintf(stdout, "API sandbox: %s (every API destination posts here)\n", sandboxURL)
				fmt.Fprintf(stdout, "Kafka sandbox broker: %s (every Kafka block uses it; e.g. kcat -P -b %s -t TOPIC)\n", kb.Addr(), kb.Addr())
				fmt.Fprintln(stdout, "Stop with Ctrl-C.")
				return nil
			},
		},
	}
	// Logs go to stderr, quietly: the printed URL is what a newcomer needs.
	return run(ctx, deps, o, io.Discard, stderr)
}

// seedDemo creates the users, the Extension Configurations the examples
// use (approved by the second admin), the example dataflows, and makes one
// Live with a sample file in its source folder.
func seedDemo(ctx context.Context, svc *control.Service, password, files string, sb *sandbox.Server, sandboxURL string) error {
	users := make([]control.SeedUser, len(demoUsers))
	copy(users, demoUsers)
	for i := range users {
		users[i].Password = password
	}
	if err := svc.SeedUsers(ctx, users); err != nil {
		return err
	}
	actor := func(name string) (control.Actor, error) {
		u, err := svc.Login(ctx, name, password)
		if err != nil {
			return control.Actor{}, fmt.Errorf("demo user %s: %w", name, err)
		}
		return svc.ActorFor(ctx, u, "", "")
	}
	admin, err := actor("admin")
	if err != nil {
		return err
	}
	admin2, err := actor("admin2")
	if err != nil {
		return err
	}
	editor, err := actor("editor")
	if err != nil {
		return err
	}
	existing, err := svc.ListDataflows(ctx, admin, store.FlowFilter{Limit: 1})
	if err != nil {
		return err
	}
	if len(existing.Items) > 0 {
		return nil // a kept --data-dir: seeded on an earlier start
	}
	key, secret := sb.Credentials()
	for _, c := range []control.ConfigRequestInput{
		{Name: "capillary_client_key", Value: key},
		{Name: "capillary_client_secret", Value: secret, IsSecret: true},
	} {
		req, err := svc.RequestConfig(ctx, editor, c)
		if err != nil {
			return fmt.Errorf("config %s: %w", c.Name, err)
		}
		if _, err := svc.ApproveConfigRequest(ctx, admin2, req.ID, "demo"); err != nil {
			return fmt.Errorf("approve config %s: %w", c.Name, err)
		}
	}
	names, err := fs.Glob(examples.FS, "*.yaml")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		data, err := examples.FS.ReadFile(name)
		if err != nil {
			return err
		}
		doc := strings.ReplaceAll(string(data), examples.DemoRoot, filepath.ToSlash(files))
		res, err := svc.CreateDataflow(ctx, editor, control.CreateFlowInput{Name: strings.TrimSuffix(name, ".yaml"), Document: doc, Format: control.FormatYAML})
		if err != nil {
			return fmt.Errorf("import %s: %w", name, err)
		}
		if err := makeFolders(doc, files); err != nil {
			return err
		}
		if res.Dataflow.Name == demoReconcile {
			if err := seedReconciliation(ctx, svc, editor, admin, res, files, sb, sandboxURL); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			continue
		}
		if res.Dataflow.Name != demoLive {
			continue
		}
		v, err := svc.Submit(ctx, editor, res.Dataflow.ID, res.Version.Number, res.Version.Revision)
		if err != nil {
			return fmt.Errorf("submit %s: %w", name, err)
		}
		if _, err := svc.Approve(ctx, admin, res.Dataflow.ID, v.Number, "demo: approved by the first admin, submitted by the editor"); err != nil {
			return fmt.Errorf("approve %s: %w", name, err)
		}
		if _, err := svc.MakeLive(ctx, admin, res.Dataflow.ID, v.Number); err != nil {
			return fmt.Errorf("make %s Live: %w", name, err)
		}
		sample, err := examples.FS.ReadFile(path.Join("data", "customers_with_errors.csv"))
		if err != nil {
			return err
		}
		in := filepath.Join(files, "customers", "in", "customers.csv")
		if err := os.WriteFile(in, sample, 0o600); err != nil {
			return err
		}
		if _, err := svc.Operate(ctx, admin, res.Dataflow.ID, control.OpRunNow); err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("run %s: %w", name, err)
		}
	}
	return nil
}

// makeFolders creates the local folders a demo document names (every path
// under the demo's files directory).
func makeFolders(doc, files string) error {
	prefix := filepath.ToSlash(files)
	for _, line := range strings.Split(doc, "\n") {
		_, v, ok := strings.Cut(line, ": ")
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		if !ok || !strings.HasPrefix(v, prefix+"/") {
			continue
		}
		if err := os.MkdirAll(filepath.FromSlash(v), 0o700); err != nil {
			return fmt.Errorf("demo folder: %w", err)
		}
	}
	return nil
}

// seedReconciliation puts the demo's held bills into the sandbox through
// its bulk transactions API, makes the reconciliation example Live and
// drops the transactions sample into its source folder: its report is on
// the dataflow's Reconciliation tab as soon as the demo is up.
func seedReconciliation(ctx context.Context, svc *control.Service, editor, admin control.Actor, res control.CreateResult, files string, sb *sandbox.Server, sandboxURL string) error {
	var txns []map[string]any
	for _, h := range demoHeld {
		txns = append(txns, map[string]any{"billNumber": h.bill, "billingDate": "2025-06-01T10:00:00Z", "type": "REGULAR", "billAmount": h.amount,
			"identifierType": "mobile", "identifierValue": h.mobile, "source": "INSTORE"})
	}
	body, err := json.Marshal(txns)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sandboxURL+"/v2/transactions/bulk", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CAP-API-OAUTH-TOKEN", sb.IssueToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("seeding the sandbox: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("seeding the sandbox: HTTP %d", resp.StatusCode)
	}
	v, err := svc.Submit(ctx, editor, res.Dataflow.ID, res.Version.Number, res.Version.Revision)
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	if _, err := svc.Approve(ctx, admin, res.Dataflow.ID, v.Number, "demo: approved by the first admin, submitted by the editor"); err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	if _, err := svc.MakeLive(ctx, admin, res.Dataflow.ID, v.Number); err != nil {
		return fmt.Errorf("make Live: %w", err)
	}
	sample, err := examples.FS.ReadFile(path.Join("data", "transactions.csv"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(files, "reconcile", "in", "transactions.csv"), sample, 0o600); err != nil {
		return err
	}
	if _, err := svc.Operate(ctx, admin, res.Dataflow.ID, control.OpRunNow); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("run: %w", err)
	}
	return nil
}
