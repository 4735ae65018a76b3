// Package servercmd is `connectplus server`: the control plane's HTTP API
// over SQLite or PostgreSQL, with the runtime plugged in through a factory.
package servercmd

import (
	"context"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/connectplus/connectplus/alerts"
	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/all"
	"github.com/connectplus/connectplus/blocks/httpwrite"
	"github.com/connectplus/connectplus/cluster"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/fsroot"
	"github.com/connectplus/connectplus/obs"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/scheduler"
	"github.com/connectplus/connectplus/secrets"
	"github.com/connectplus/connectplus/secrets/redact"
	"github.com/connectplus/connectplus/server"
	"github.com/connectplus/connectplus/sharedstore"
	"github.com/connectplus/connectplus/store"
)

// EnvAdminPassword sets the first-run admin password (else one is generated
// and printed once).
const EnvAdminPassword = "CONNECTPLUS_ADMIN_PASSWORD"

// EnvSMTPPassword is the mail relay's password (kept out of the process
// list).
const EnvSMTPPassword = "CONNECTPLUS_SMTP_PASSWORD"

// EnvMetricsToken is the default of --metrics-token (an environment
// variable keeps the token out of the process list).
const EnvMetricsToken = "CONNECTPLUS_METRICS_TOKEN"

// DefaultMetricsListen is where /metrics is served by default: loopback
// only, so a Prometheus on the same host (or a sidecar) scrapes it and
// nothing else can.
const DefaultMetricsListen = "127.0.0.1:9464"

// RuntimeFactory starts the runtime over the store: it returns the
// Controller the API calls and a run function that blocks until ctx ends.
type RuntimeFactory func(repo runstate.Repo, logger *slog.Logger, cfg RuntimeConfig) (runstate.Controller, func(ctx context.Context) error, error)

// RuntimeConfig carries the server flags the runtime needs.
type RuntimeConfig struct {
	DataDir string
	// Retention is how long run records and result files are kept.
	Retention time.Duration
	// DrainTimeout bounds graceful shutdown (SIGTERM): in-flight files get
	// this long to finish before they are released with their checkpoints.
	DrainTimeout time.Duration
	// Redactor knows every secret the store decrypted; the runtime uses it
	// for the errors it reports outside the log (deployment status).
	Redactor *redact.Redactor
	// LocalPaths returns an organisation's local-path policy (its files
	// root, the allowed paths, the data directory forbidden).
	LocalPaths func(orgID string) (*fsroot.Policy, error)
	// Sandbox, when set, points every API destination at this API sandbox
	// (connectplus demo).
	Sandbox string
	// BlockOptions are passed to every block (e.g. the demo's stabilityWait).
	BlockOptions map[string]string
	// Metrics receives every deployment's lineage events and API calls
	// (the observability recorder).
	Metrics scheduler.MetricsSink
	// Dispatcher, in a cluster (--node-name), spreads the work over the
	// servers sharing the PostgreSQL database; nil runs it all here.
	Dispatcher scheduler.Dispatcher
	// Node names this server in a cluster (the owner of its claims).
	Node string
	// SharedDir holds result spools and kept result files every node reaches.
	SharedDir string
	// Shared is the shared store (--shared-store s3://… or --shared-dir);
	// nil: SharedDir, else the data directory.
	Shared sharedstore.Store
	// Journal keeps the blocks' write-ahead logs where every node reads
	// them (the database) when Shared is on S3.
	Journal block.Journal
	// MaxFilesPerFlow bounds one dataflow's files in flight on this server
	// (0: the runtime's default, 2). A cluster node sets it to its file
	// workers, so a worker River hands a file to never waits for a slot
	// while holding a job another node could run.
	MaxFilesPerFlow int
}

// Deps are what the lead wires in.
type Deps struct {
	// Version is reported by /healthz.
	Version string
	// Runtime builds the runtime; nil serves the API with a no-op controller
	// (runtime operations only record the status).
	Runtime RuntimeFactory
	// Registry is the block registry for validation (all.Registry when nil).
	Registry func() *block.Registry
	// Validate plugs the runtime's cron and expression checks in.
	Validate dataflow.ValidateOptions
}

type options struct {
	listen, dataDir, db, masterKeyFile, tlsCert, tlsKey, logFormat string
	metricsListen, metricsToken                                    string
	retention, drainTimeout                                        time.Duration
	minuteRetention, requestLogRetention                           time.Duration
	// Alerts: the mail relay, links and evaluation period.
	smtpHost, smtpTLS, smtpUser, smtpFrom, publicURL string
	smtpPort                                         int
	alertInterval                                    time.Duration
	alertsPrivateTargets                             bool
	filesRoot                                        string
	nodeName, sharedDir                              string
	sharedStore, sharedEndpoint, sharedRegion        string
	fileWorkers, orgMaxFiles                         int
	nodeLease                                        time.Duration
	allowPaths                                       []string
	idemHeader                                       string
	// demo is set by `connectplus demo`.
	demo *demoHooks
}

// demoHooks are what `connectplus demo` changes in a server run.
type demoHooks struct {
	adminPassword string
	runtime       RuntimeConfig
	// ready runs once the API listens (seeding, printing the URL).
	ready func(ctx context.Context, svc *control.Service, url string) error
}

// NewServerCommand returns `connectplus server`.
func NewServerCommand(deps Deps) *cobra.Command {
	o := options{}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Connect+ server: HTTP API, approvals, Extension Configurations and the runtime",
		Long: `Run the Connect+ control plane (REST API under /api/v1, OpenAPI at /openapi.json,
health at /healthz) and the runtime that runs Live dataflows.

Prometheus metrics are served at /metrics on their own listener, --metrics-listen (default
` + DefaultMetricsListen + `, loopback only). With --metrics-token (or $` + EnvMetricsToken + `) they are also
served on the API listener, to callers sending "Authorization: Bearer <token>", and the metrics
listener asks for the token too. Series are labelled with organisation and dataflow ids only.

Storage is SQLite under the data directory by default, or PostgreSQL with --db postgres://….
Secret Extension Configurations are encrypted with a master key read from --master-key-file
(base64, one key per line: the first encrypts, the others only decrypt, for rotation), else from
` + secrets.EnvMasterKey + `, else generated into the data directory (mode 0600) on first run.
Back that key up: secrets cannot be recovered without it.

Local file blocks (file_read, file_write) and key files reach only the organisation's own
directory, --files-root/<organisation id> (relative paths resolve there), and the directories a
platform administrator lists with --allow-path; without --files-root they reach only those. The
data directory, the master key and the database are never reachable. The data directory and
everything in it are made private (0700/0600) at every start.

On first run an organisation "default" and a user "admin" are created; the password is
` + EnvAdminPassword + ` when set, else generated and printed once to stdout.`,
		Example: `  connectplus server
  # HTTPS on the one private address clients use; metrics stay on 127.0.0.1:9464
  connectplus server --listen 10.0.0.12:8443 --tls-cert cert.pem --tls-key key.pem
  connectplus server --db 'postgres://connectplus@db:5432/connectplus?sslmode=require' --master-key-file /etc/connectplus/master.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return run(ctx, deps, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to listen on")
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.dataDir, "data-dir", "./.connectplus-data", "directory for the SQLite database, the generated master key and run results")
	pf.StringVar(&o.db, "db", "", "database URL: sqlite:///path/db.sqlite or postgres://… (default: SQLite in the data directory)")
	pf.StringVar(&o.masterKeyFile, "master-key-file", "", "file holding the base64 master key(s) for secrets (default: $"+secrets.EnvMasterKey+", else generated)")
	f.StringVar(&o.metricsListen, "metrics-listen", DefaultMetricsListen, `address serving /metrics on its own ("" disables it); keep it private`)
	f.StringVar(&o.metricsToken, "metrics-token", "", "bearer token (16+ characters) for /metrics; also serves /metrics on --listen (default $"+EnvMetricsToken+")")
	f.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (serves HTTPS and marks cookies Secure)")
	f.StringVar(&o.tlsKey, "tls-key", "", "TLS private key file")
	pf.StringVar(&o.logFormat, "log-format", "json", "log format: json or text")
	f.DurationVar(&o.retention, "retention", 30*24*time.Hour, "how long run records and result files are kept")
	f.StringVar(&o.filesRoot, "files-root", "", "base directory of the organisations' local files: each organisation's file blocks and key files are confined to <files-root>/<organisation id>")
	f.StringVar(&o.idemHeader, "idempotency-header", "", "name of the idempotency key header API destinations send on every write (default "+httpwrite.DefaultIdempotencyHeader+"; - sends none, for a destination that rejects unknown headers)")
	f.StringArrayVar(&o.allowPaths, "allow-path", nil, "absolute directory every organisation's local file blocks may also use (repeatable; platform administrators only; never the data directory)")
	f.DurationVar(&o.minuteRetention, "metrics-minute-retention", 3*24*time.Hour, "how long per-minute observability metrics are kept (hour and day roll-ups are kept --retention)")
	f.DurationVar(&o.requestLogRetention, "request-log-retention", 7*24*time.Hour, "how long the stored API calls of runs (drill-down) are kept")
	f.StringVar(&o.smtpHost, "smtp-host", "", "mail relay for alert emails and summary reports (email channels may name their own)")
	f.IntVar(&o.smtpPort, "smtp-port", 587, "mail relay port")
	f.StringVar(&o.smtpTLS, "smtp-tls", "starttls", "mail relay TLS: starttls, tls (implicit, port 465) or none (a relay on this host only)")
	f.StringVar(&o.smtpUser, "smtp-username", "", "mail relay username (the password is read from $"+EnvSMTPPassword+")")
	f.StringVar(&o.smtpFrom, "smtp-from", "", "From address of alert emails and reports")
	f.StringVar(&o.publicURL, "public-url", "", "the address users reach the web UI at, for links in notifications (default: the listen address)")
	f.DurationVar(&o.alertInterval, "alert-interval", time.Minute, "how often alert rules are evaluated")
	f.BoolVar(&o.alertsPrivateTargets, "alerts-allow-private-targets", false, "let Slack and webhook channels reach loopback and private addresses (off: a channel URL cannot probe the server's network)")
	f.DurationVar(&o.drainTimeout, "drain-timeout", time.Minute, "on SIGTERM, how long in-flight files may take to finish before they are released for the next start")
	f.StringVar(&o.nodeName, "node-name", "", "join a cluster under this name: several servers on one PostgreSQL (--db postgres://…) divide the work with River; unique per server")
	f.StringVar(&o.sharedDir, "shared-dir", "", "directory every node of a cluster reaches (result spools, block state, kept result files); --node-name needs it or --shared-store")
	f.StringVar(&o.sharedStore, "shared-store", "", "s3://bucket/prefix every node of a cluster reaches (result spools as segments, kept result files), instead of --shared-dir; credentials from $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY")
	f.StringVar(&o.sharedEndpoint, "shared-store-endpoint", os.Getenv("AWS_ENDPOINT_URL"), "S3 endpoint of --shared-store, addressed path-style (default $AWS_ENDPOINT_URL, else AWS)")
	f.StringVar(&o.sharedRegion, "shared-store-region", os.Getenv("AWS_REGION"), "S3 region of --shared-store (default $AWS_REGION, else us-east-1)")
	f.IntVar(&o.fileWorkers, "file-workers", 2, "in a cluster, how many files this node processes at once (River's per-node concurrency of the files queue)")
	f.IntVar(&o.orgMaxFiles, "org-max-files", 8, "in a cluster, how many files one organisation may have in flight across all nodes (fair share)")
	f.DurationVar(&o.nodeLease, "node-lease", 10*time.Second, "in a cluster, how long a node may be silent before its running files are given to the others")
	cmd.AddCommand(rewrapCommand(&o))
	return cmd
}

func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("--log-format must be json or text, not %q", format)
}

// openAll prepares the data directory, keyring and store. The store
// registers every secret it decrypts with red (nil: none).
func openAll(ctx context.Context, o options, log *slog.Logger, red *redact.Redactor) (*store.Store, *secrets.Keyring, error) {
	if err := privateDataDir(o.dataDir); err != nil {
		return nil, nil, err
	}
	kr, generated, err := secrets.Load(secrets.LoadOptions{KeyFile: o.masterKeyFile, DataDir: o.dataDir})
	if err != nil {
		return nil, nil, err
	}
	if generated {
		log.Warn("generated a new master key; back it up", "file", filepath.Join(o.dataDir, secrets.DefaultKeyFile), "key_id", kr.CurrentID())
	}
	db := o.db
	if db == "" {
		db = "sqlite://" + filepath.Join(o.dataDir, "connectplus.db")
	}
	st, err := store.Open(ctx, db, store.WithKeyring(kr), store.WithRedactor(red))
	if err != nil {
		return nil, nil, err
	}
	return st, kr, nil
}

func run(ctx context.Context, deps Deps, o options, stdout, stderr io.Writer) error {
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return errors.New("give both --tls-cert and --tls-key, or neither")
	}
	if o.metricsToken == "" {
		// Read here, not as the flag's default, so --help never prints it.
		o.metricsToken = os.Getenv(EnvMetricsToken)
	}
	if o.metricsToken != "" && len(o.metricsToken) < 16 {
		return fmt.Errorf("the metrics token (--metrics-token or $%s) must be at least 16 characters", EnvMetricsToken)
	}
	log, err := newLogger(o.logFormat, stderr)
	if err != nil {
		return err
	}
	// Every secret the store decrypts is redacted from everything logged
	// after it, from stored run errors and from API error messages: a
	// secret used as a host or directory ends up in connector errors.
	red := redact.New()
	red.Add(o.metricsToken)
	log = slog.New(red.Handler(log.Handler()))
	if err := httpwrite.CheckIdempotencyHeader(o.idemHeader); o.idemHeader != "" && err != nil {
		return fmt.Errorf("--idempotency-header: %w", err)
	}
	rules, err := newPathRules(o)
	if err != nil {
		return err
	}
	if rules.base == "" && len(rules.allow) == 0 {
		log.Info("no --files-root or --allow-path: local file blocks cannot be used")
	}
	st, kr, err := openAll(ctx, o, log, red)
	if err != nil {
		return err
	}
	defer st.Close()

	smtpPassword := os.Getenv(EnvSMTPPassword)
	red.Add(smtpPassword)
	publicURL := o.publicURL
	if publicURL == "" {
		scheme := "http"
		if o.tlsCert != "" {
			scheme = "https"
		}
		publicURL = scheme + "://" + o.listen
	}
	var svc *control.Service // set below; the validation rule runs after start-up
	al := alerts.New(alerts.Options{Store: st, Logger: log.With("component", "alerts"), EvalInterval: o.alertInterval, BaseURL: publicURL,
		Owner: alertOwner(o.dataDir), Redactor: red, AllowPrivateTargets: o.alertsPrivateTargets || o.demo != nil,
		SMTP: alerts.SMTPConfig{Host: o.smtpHost, Port: o.smtpPort, TLS: o.smtpTLS, Username: o.smtpUser, Password: smtpPassword, From: o.smtpFrom},
		Validate: func(ctx context.Context, orgID, flowID string) (int, error) {
			return validationProblems(ctx, svc, orgID, flowID)
		}})
	rec := obs.NewRecorder(obs.Options{Store: st, Logger: log.With("component", "metrics"), Redactor: red,
		Retention: o.retention, MinuteRetention: o.minuteRetention, RequestRetention: o.requestLogRetention, OnLineage: al.FileProcessed})
	var ctl runstate.Controller = control.NoopController{}
	var runRuntime func(context.Context) error
	var disp *cluster.Dispatcher
	shared, err := openShared(ctx, o)
	if err != nil {
		return err
	}
	if o.nodeName != "" {
		if disp, err = newCluster(ctx, o, st, log, al, rec); err != nil {
			return err
		}
	}
	if deps.Runtime != nil {
		rc := RuntimeConfig{DataDir: o.dataDir, Retention: o.retention, DrainTimeout: o.drainTimeout, Redactor: red, LocalPaths: rules.policy, Metrics: rec,
			Shared: shared, SharedDir: o.sharedDir}
		if shared != nil && shared.Dir() == "" {
			// S3 cannot append: the write-ahead logs of exactly-once
			// delivery go to the database, one row per group commit.
			rc.Journal = st.Journal()
		}
		if disp != nil {
			rc.Dispatcher, rc.Node, rc.MaxFilesPerFlow = disp, o.nodeName, o.fileWorkers
		}
		if o.demo != nil {
			rc.Sandbox, rc.BlockOptions = o.demo.runtime.Sandbox, o.demo.runtime.BlockOptions
		}
		if o.idemHeader != "" {
			opts := maps.Clone(rc.BlockOptions)
			if opts == nil {
				opts = map[string]string{}
			}
			opts[httpwrite.OptIdempotencyHeader] = o.idemHeader
			rc.BlockOptions = opts
		}
		if ctl, runRuntime, err = deps.Runtime(st, log.With("component", "runtime"), rc); err != nil {
			return fmt.Errorf("runtime: %w", err)
		}
	} else {
		log.Warn("no runtime linked in: Live dataflows will not run")
	}
	reg := all.Registry()
	if deps.Registry != nil {
		reg = deps.Registry()
	}
	svc = control.New(control.Options{Store: st, Keyring: kr, Registry: reg, Controller: ctl, Logger: log, Validate: deps.Validate, LocalPaths: rules.policy})
	bootPassword := os.Getenv(EnvAdminPassword)
	if o.demo != nil {
		bootPassword = o.demo.adminPassword
	}
	created, password, err := svc.Bootstrap(ctx, bootPassword)
	if err != nil {
		return err
	}
	if created && o.demo == nil {
		if os.Getenv(EnvAdminPassword) != "" {
			fmt.Fprintf(stdout, "First run: created organisation %q and user %q with the password from $%s.\n", control.DefaultOrg, control.BootstrapAdmin, EnvAdminPassword)
		} else {
			// stdout, not the log: the password must not end up in log storage.
			fmt.Fprintf(stdout, "First run: created organisation %q and user %q.\nAdmin password (shown once, change it): %s\n", control.DefaultOrg, control.BootstrapAdmin, password)
		}
	}
	var collectors []prometheus.Collector
	if mc, ok := ctl.(interface{ Collectors() []prometheus.Collector }); ok {
		collectors = mc.Collectors()
	}
	collectors = append(collectors, rec.Collectors()...)
	var clusterInfo runstate.ClusterReporter
	if disp != nil {
		collectors = append(collectors, disp.Collectors()...)
		clusterInfo = disp
	}
	api, err := server.New(server.Config{Service: svc, Logger: log, SecureCookies: o.tlsCert != "", Version: deps.Version, Collectors: collectors, Redactor: red,
		MetricsToken: o.metricsToken, Obs: obs.NewQuerier(st), Alerts: al, Cluster: clusterInfo, OpenResult: openResult(shared)})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var ms *http.Server
	if o.metricsListen != "" {
		mln, err := net.Listen("tcp", o.metricsListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("metrics listener (--metrics-listen; \"\" disables it): %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", api.MetricsHandler())
		ms = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		go func() {
			if err := ms.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics listener stopped", "err", err)
			}
		}()
		log.Info("serving metrics", "url", "http://"+mln.Addr().String()+"/metrics", "token", o.metricsToken != "")
		if ap, err := netip.ParseAddrPort(mln.Addr().String()); err == nil && !ap.Addr().IsLoopback() && o.metricsToken == "" {
			log.Warn("the metrics listener is reachable beyond this host and has no token: anyone who reaches it reads every organisation's counters", "listen", o.metricsListen)
		}
	}
	hs := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute, WriteTimeout: 5 * time.Minute,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	// The recorder flushes metrics every few seconds, prunes them hourly,
	// and flushes once more when the server stops.
	recDone := make(chan struct{})
	go func() {
		defer close(recDone)
		if err := rec.Run(ctx); err != nil {
			log.Warn("metrics", "err", err)
		}
	}()
	alertsDone := make(chan struct{})
	go func() {
		defer close(alertsDone)
		if disp != nil {
			// Evaluation and reports are the leader's River jobs.
			al.RunFileNotifications(ctx)
			return
		}
		if err := al.Run(ctx); err != nil {
			log.Warn("alerts", "err", err)
		}
	}()
	if runRuntime != nil {
		go func() {
			if err := runRuntime(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("runtime: %w", err)
				return
			}
			errc <- nil
		}()
	}
	go func() {
		scheme := "http"
		var err error
		if o.tlsCert != "" {
			scheme = "https"
		}
		log.Info("listening", "url", scheme+"://"+ln.Addr().String(), "db", st.Dialect())
		if o.tlsCert != "" {
			err = hs.ServeTLS(ln, o.tlsCert, o.tlsKey)
		} else {
			err = hs.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
			return
		}
		errc <- nil
	}()
	if o.demo != nil && o.demo.ready != nil {
		if err := o.demo.ready(ctx, svc, "http://"+ln.Addr().String()+"/"); err != nil {
			cancel()
			_ = hs.Close()
			return fmt.Errorf("demo: %w", err)
		}
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	cancel()
	shutCtx, done := context.WithTimeout(context.Background(), 30*time.Second)
	defer done()
	if err := hs.Shutdown(shutCtx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	if ms != nil {
		_ = ms.Shutdown(shutCtx)
	}
	for _, done := range []chan struct{}{recDone, alertsDone} {
		select {
		case <-done:
		case <-shutCtx.Done():
		}
	}
	log.Info("stopped")
	return runErr
}

func rewrapCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "rewrap-secrets",
		Short: "Re-encrypt every secret's data key with the current master key (after a rotation)",
		Long: `After rotating the master key — put the new key first in --master-key-file and keep the
old one on the following line — run this to re-wrap every secret with the new key. Values
and revisions do not change. Afterwards the old key can be removed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(o.logFormat, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			st, kr, err := openAll(cmd.Context(), *o, log, nil)
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := control.New(control.Options{Store: st, Keyring: kr, Logger: log}).RotateMasterKey(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Re-wrapped %d secret(s) with key %s.\n", n, kr.CurrentID())
			return nil
		},
	}
}

// validationProblems counts the validation problems of a dataflow's Live
// version (else its newest): the Dataflow Validation alert.
func validationProblems(ctx context.Context, svc *control.Service, orgID, flowID string) (int, error) {
	if svc == nil {
		return 0, errors.New("the control plane is not started")
	}
	st := svc.Store()
	v, err := st.VersionInState(ctx, orgID, flowID, "Live")
	if err != nil {
		vs, lerr := st.ListVersions(ctx, orgID, flowID)
		if lerr != nil {
			return 0, lerr
		}
		if len(vs) == 0 {
			return 0, nil
		}
		v = vs[0]
	}
	probs, err := svc.ValidateVersion(ctx, control.Actor{UserID: "system", Username: "system", OrgID: orgID, Role: control.RoleViewer}, flowID, v.Number)
	return len(probs), err
}

// openShared opens the shared store configured once: --shared-store
// (S3) or --shared-dir (a directory); nil when neither is set (one server
// keeps everything in its data directory).
func openShared(ctx context.Context, o options) (sharedstore.Store, error) {
	switch {
	case o.sharedStore != "" && o.sharedDir != "":
		return nil, errors.New("--shared-store and --shared-dir are two places for the same files: give one")
	case o.sharedDir != "":
		st, err := sharedstore.OpenDir(o.sharedDir)
		if err != nil {
			return nil, fmt.Errorf("--shared-dir: %w", err)
		}
		return st, nil
	case o.sharedStore == "":
		return nil, nil
	}
	// An explicit endpoint is an S3-compatible server (MinIO, versitygw)
	// or a private endpoint: path-style addressing works on all of them.
	pathStyle := o.sharedEndpoint != ""
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := sharedstore.OpenS3(ctx, sharedstore.S3Config{URL: o.sharedStore, Endpoint: o.sharedEndpoint, Region: o.sharedRegion,
		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY"), PathStyle: pathStyle})
	if err != nil {
		return nil, fmt.Errorf("--shared-store: %w", err)
	}
	return st, nil
}

// openResult lets the API serve result files kept on the shared store.
func openResult(st sharedstore.Store) func(context.Context, string) (io.ReadCloser, error) {
	if st == nil {
		return nil
	}
	return st.OpenRef
}

// alertOwner names this server in alert evaluation claims.
func alertOwner(dataDir string) string {
	h, _ := os.Hostname()
	return "server-" + h + ":" + dataDir
}

// newCluster makes this server a node of a cluster: River on the shared
// PostgreSQL dispatches polls and files, and the leader runs the periodic
// maintenance that one server runs by itself (alerts, reports, pruning).
// ExitFenced is the server's exit status when its cluster counted it dead
// while it still ran (a stall longer than --node-lease).
const ExitFenced = 3

func newCluster(ctx context.Context, o options, st *store.Store, log *slog.Logger, al *alerts.Service, rec *obs.Recorder) (*cluster.Dispatcher, error) {
	if st.Dialect() != store.Postgres {
		return nil, errors.New("--node-name needs a PostgreSQL database shared by every node: --db postgres://…")
	}
	if o.sharedDir == "" && o.sharedStore == "" {
		return nil, errors.New("--node-name needs a shared store every node reaches, for result spools and result files: --shared-store s3://bucket/prefix or --shared-dir DIR")
	}
	tasks := []cluster.Task{
		{Name: "evaluate-alerts", Interval: o.alertInterval, Run: al.EvaluateOnce},
		{Name: "summary-reports", Interval: time.Minute, Run: al.SendDueReports},
		{Name: "prune-alert-slots", Interval: time.Hour, Run: func(ctx context.Context) error {
			_, err := st.PruneSlots(ctx, time.Now().Add(-48*time.Hour))
			return err
		}},
		{Name: "prune-metrics", Interval: time.Hour, Run: func(ctx context.Context) error {
			_, err := rec.Prune(ctx)
			return err
		}},
	}
	return cluster.New(ctx, cluster.Options{URL: st.URL(), Node: o.nodeName, Addr: o.listen, Logger: log.With("component", "cluster"),
		FileWorkers: o.fileWorkers, OrgMaxFiles: o.orgMaxFiles, Lease: o.nodeLease, Tasks: tasks,
		// A node the others counted dead (stalled past its lease) must
		// not finish, checkpoint or release what they took over: it exits
		// at once, without draining, and its supervisor starts it again
		// (a restarted node hands back what it left running).
		OnFenced: func(silent time.Duration) {
			log.Error("exiting: this node was presumed dead by the cluster and its files were handed to other nodes; restart it", "silent", silent.Round(time.Millisecond))
			os.Exit(ExitFenced)
		}})
}
