// Package sandboxcmd is the "connectplus sandbox" command: it serves the
// Capillary API sandbox (package sandbox) on a local port so dataflows can be
// tried end to end without touching a real Capillary cluster.
package sandboxcmd

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/connectplus/connectplus/sandbox"
)

type options struct {
	listen          string
	clientKey       string
	clientSecret    string
	tokenTTL        time.Duration
	noAuth          bool
	noBasic         bool
	store           bool
	strictCustomers bool
	maxBody         int64
	maxBatch        int
	faults          []string
	rateLimit       float64
	rateBurst       int
	kafka           string
	kafkaData       string
	kafkaParts      int
}

// NewCommand returns the sandbox command.
func NewCommand() *cobra.Command {
	o := options{}
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run a local Capillary API sandbox to try dataflows safely",
		Long: `Run a local stand-in for the Capillary v2 APIs that Connect+ templates call.

Point a dataflow's API Base URL and OAuth Base URL at the printed address and
use the printed client key and secret. The sandbox validates requests like the
real API (required fields, identifier types, duplicate bill numbers, negative
amounts, malformed JSON), answers in the documented single and bulk shapes,
keeps what it accepts in memory, and can inject 429s, 5xx, hangs and latency.

Endpoints (also under /api_gateway/...):
  POST /v3/oauth/token/generate          token ({"key","secret"} JSON or OAuth2 client-credentials form)
  POST /v2/customers, /v2/customers/bulk, /v2/bulk/addCustomers
  POST /v2/transactions/bulk, /v2/transactions
  POST /v2/coupon/redeem, /v2/card, /v2/requests, /v2/tnc/change/bulk/customers
  POST /v2/request-workflow/GOODWILL-POINTS, /v2/customers/barcode/forceGenerate
  POST /v1/badges/import/customerBadges, /v1/badges/issue, /v1/badges/earn, /v1/badges/badgeMeta
  POST /v2/rewards, /v1/rewards/create, /v1/rewards/issue; PUT /v2/rewards
  POST /x/neo/<name>                     any JSON, success envelope
  GET  /v2/customers/lookup, /v2/customers/{id}, /v2/transactions, /v2/transactions/{id}
  GET  /_sandbox/stats, /_sandbox/entities?kind=transaction; POST /_sandbox/reset, /_sandbox/faults

Faults (--faults, repeatable; applied before a request is parsed, so a faulted
request stores nothing):
  --faults 429=0.2,retry-after=2              20% of API calls answer 429 with Retry-After: 2
  --faults 5xx=0.1,codes=502|503|521          10% answer one of these codes
  --faults timeout=0.05,timeout-after=20s     5% hang 20s (or until the client gives up), then 504
  --faults latency=10ms-200ms                 random latency on every call
  --faults /v2/transactions/bulk:429=0.5      a rule for one path (replaces the global rule there)
  --faults seed=42                            seed of the fault generator (deterministic runs)
  --faults @faults.json | --faults '{"global":{"rate429":0.2}}'   full JSON config
Change them at runtime with POST /_sandbox/faults.

Kafka (--kafka 127.0.0.1:PORT): also serve an in-process Kafka-compatible broker
(franz-go's kfake) on that loopback address, with topics created on demand, no
authentication. Point a Kafka block's brokers (or connectplus run --sandbox
--kafka-broker) at it, and produce or consume with any client, e.g.
  kcat -P -b 127.0.0.1:9092 -t orders -K: <<<'k1:{"id":1}'
  kcat -C -b 127.0.0.1:9092 -t orders.out -e -f '%k %h %s\n'`,
		Example: `  connectplus sandbox
  connectplus sandbox --listen 127.0.0.1:9300 --faults 429=0.2,5xx=0.05 --faults seed=7
  connectplus sandbox --store=false --client-key K --client-secret S   # benchmark mode
  connectplus sandbox --kafka 127.0.0.1:9092                             # also a Kafka broker
  curl -s -X POST localhost:9300/v3/oauth/token/generate -d '{"key":"sandbox-key","secret":"sandbox-secret"}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return run(ctx, o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:9300", "address to listen on (port 0 picks a free port)")
	f.StringVar(&o.clientKey, "client-key", sandbox.DefaultClientKey, "OAuth client key the sandbox accepts")
	f.StringVar(&o.clientSecret, "client-secret", sandbox.DefaultClientSecret, "OAuth client secret the sandbox accepts")
	f.DurationVar(&o.tokenTTL, "token-ttl", sandbox.DefaultTokenTTL, "lifetime of issued access tokens")
	f.BoolVar(&o.noAuth, "no-auth", false, "accept API calls without a token (hides token-refresh bugs)")
	f.BoolVar(&o.noBasic, "no-basic-auth", false, "reject Basic key:secret authentication")
	f.BoolVar(&o.store, "store", true, "keep accepted entities in memory; false counts only (for benchmarks)")
	f.BoolVar(&o.strictCustomers, "strict-customers", false, "fail transactions and other customer calls with 8015 unless the customer was added first")
	f.Int64Var(&o.maxBody, "max-body", sandbox.DefaultMaxBodyBytes, "largest request body in bytes (larger: 413)")
	f.IntVar(&o.maxBatch, "max-batch", sandbox.DefaultMaxBatchSize, "largest bulk array (larger: 1060 Batch limit exceeded)")
	f.StringArrayVar(&o.faults, "faults", nil, "fault rule, repeatable (see above)")
	f.Float64Var(&o.rateLimit, "rate-limit", 0, "server-side limit in requests/second over all API calls, answered with 429 (0 = off)")
	f.IntVar(&o.rateBurst, "rate-burst", 1, "burst size of --rate-limit")
	f.StringVar(&o.kafka, "kafka", "", "also serve a Kafka-compatible broker on this loopback host:port (port 0 picks one)")
	f.StringVar(&o.kafkaData, "kafka-data", "", "keep the broker's topics, offsets and groups in this directory across restarts (default: in memory)")
	f.IntVar(&o.kafkaParts, "kafka-partitions", 3, "partitions of topics created on demand")
	return cmd
}

func (o options) config() (sandbox.Config, error) {
	cfg := sandbox.Config{
		ClientKey:        o.clientKey,
		ClientSecret:     o.clientSecret,
		TokenTTL:         o.tokenTTL,
		DisableAuth:      o.noAuth,
		DisableBasicAuth: o.noBasic,
		CountOnly:        !o.store,
		StrictCustomers:  o.strictCustomers,
		MaxBodyBytes:     o.maxBody,
		MaxBatchSize:     o.maxBatch,
		RateLimit:        sandbox.RateLimitConfig{RequestsPerSecond: o.rateLimit, Burst: o.rateBurst},
	}
	for _, v := range o.faults {
		var err error
		if cfg.Faults, err = sandbox.ParseFaults(cfg.Faults, v); err != nil {
			return cfg, fmt.Errorf("--faults %q: %w", v, err)
		}
	}
	if o.clientKey == "" || o.clientSecret == "" {
		return cfg, fmt.Errorf("--client-key and --client-secret must not be empty")
	}
	return cfg, cfg.Validate()
}

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, o options, out io.Writer) error {
	cfg, err := o.config()
	if err != nil {
		return err
	}
	srv := sandbox.New(cfg)
	url, err := srv.Start(o.listen)
	if err != nil {
		return err
	}
	key, secret := srv.Credentials()
	fmt.Fprintf(out, "Capillary API sandbox listening on %s\n", url)
	fmt.Fprintf(out, "  API Base URL / OAuth Base URL: %s\n", url)
	fmt.Fprintf(out, "  client key: %s  client secret: %s  token TTL: %s\n", key, secret, cfg.TokenTTL)
	fmt.Fprintf(out, "  stats: %s/_sandbox/stats  entities: %s/_sandbox/entities?kind=transaction\n", url, url)
	if !cfg.Faults.Global.IsZero() || len(cfg.Faults.Endpoints) > 0 {
		fmt.Fprintf(out, "  faults: %+v\n", cfg.Faults)
	}
	if o.kafka != "" {
		kb, err := sandbox.StartKafka(sandbox.KafkaConfig{Addr: o.kafka, DataDir: o.kafkaData, Partitions: o.kafkaParts})
		if err != nil {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			return err
		}
		defer kb.Close()
		fmt.Fprintf(out, "Kafka sandbox broker listening on %s (topics created on demand, %d partitions)\n", kb.Addr(), o.kafkaParts)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Fprintln(out, "sandbox stopping")
	return srv.Shutdown(sctx)
}
