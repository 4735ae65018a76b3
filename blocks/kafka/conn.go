// Package kafka provides the streaming blocks: kafka_topic_read and
// event_notification_read (consumer-group sources, one window of the stream
// per lineage) and kafka_topic_write and event_publish_kafka (producers that
// count a record delivered once the broker acknowledged it). The Kafka
// protocol is github.com/twmb/franz-go's; nothing here speaks it by hand.
package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/connectplus/connectplus/block"
)

// Connection field keys. The Gen-1 blocks carried the connection in the
// block; Gen-2 names an organisation-wide connection (kafkaConnectionService)
// whose values are Extension Configurations (ConnConfigName). A block that
// sets brokers uses its own fields; otherwise the named connection's.
const (
	KeyConnection = "kafkaConnectionService"
	KeyBrokers    = "brokers"
	KeyProtocol   = "securityProtocol"
	KeyMechanism  = "saslMechanism"
	KeyUsername   = "saslUsername"
	KeyPassword   = "saslPassword"
	KeyCACert     = "sslCaCertificate"
	KeyInsecure   = "sslInsecure"
)

// Security protocols (Kafka's security.protocol).
const (
	ProtoPlaintext     = "PLAINTEXT"
	ProtoSSL           = "SSL"
	ProtoSASLPlaintext = "SASL_PLAINTEXT"
	ProtoSASLSSL       = "SASL_SSL"
)

// SASL mechanisms. GSSAPI (Kerberos) appears in Gen-1 exports; it is named
// so that importing one says plainly that it is not supported.
const (
	MechPlain    = "PLAIN"
	MechSCRAM256 = "SCRAM-SHA-256"
	MechSCRAM512 = "SCRAM-SHA-512"
	MechGSSAPI   = "GSSAPI"
)

// OptSandboxBroker is the Env option that points every Kafka block at the
// sandbox's in-process broker (connectplus run --sandbox), replacing the
// configured connection, as API destinations are pointed at the API sandbox.
const OptSandboxBroker = "sandbox.kafkaBroker"

// connFields are the connection fields every Kafka block has.
func connFields(connDefault string) []block.Field {
	return []block.Field{
		{Key: KeyConnection, Label: "Kafka client service to connect to server", Type: block.TypeString, Required: true, Default: connDefault,
			Example: "connectplus-kafka service",
			Description: "The organisation's Kafka connection to use, defined once as Extension Configurations named " +
				"kafka.<connection>.brokers, .securityProtocol, .saslMechanism, .saslUsername, .saslPassword (secret), " +
				".sslCaCertificate and .sslInsecure, where <connection> is this name lower-cased with every other character " +
				"than letters, digits, '.', '_' and '-' replaced by '-' (\"connectplus-kafka service\" -> kafka.connectplus-kafka-service.brokers). " +
				"Ignored when the block sets its own brokers (Gen-1 style)."},
		{Key: KeyBrokers, Label: "Kafka brokers", Type: block.TypeList, Advanced: true, FromConfigs: true, Aliases: []string{"bootstrap.servers", "Kafka Brokers"},
			Example:     "kafka-connectplus:9092",
			Description: "Comma-separated host:port list (Gen-1). When set, the block's own connection fields are used instead of the named connection."},
		{Key: KeyProtocol, Label: "Security Protocol", Type: block.TypeEnum, Advanced: true, Default: ProtoPlaintext, Aliases: []string{"security.protocol"},
			Enum:        []string{ProtoPlaintext, ProtoSSL, ProtoSASLPlaintext, ProtoSASLSSL},
			Description: "PLAINTEXT, SSL (TLS), SASL_PLAINTEXT (SASL without TLS: with PLAIN the password crosses the network in clear) or SASL_SSL."},
		{Key: KeyMechanism, Label: "SASL Mechanism", Type: block.TypeEnum, Advanced: true, Default: MechPlain, Aliases: []string{"sasl.mechanism"},
			Enum:        []string{MechPlain, MechSCRAM256, MechSCRAM512, MechGSSAPI},
			Description: "For SASL_PLAINTEXT and SASL_SSL. GSSAPI (Kerberos) is not supported."},
		{Key: KeyUsername, Label: "Username", Type: block.TypeString, Advanced: true, FromConfigs: true, Aliases: []string{"sasl.username", "Username"}},
		{Key: KeyPassword, Label: "Password", Type: block.TypeString, Advanced: true, Secret: true, Aliases: []string{"sasl.password", "Password"},
			Description: "SASL password: an Extension Configuration marked secret."},
		{Key: KeyCACert, Label: "TLS CA certificate", Type: block.TypeText, Advanced: true, FromConfigs: true,
			Description: "PEM certificate(s) trusted for the brokers with SSL and SASL_SSL (system roots otherwise)."},
		{Key: KeyInsecure, Label: "Skip TLS certificate check (insecure)", Type: block.TypeBool, Advanced: true, Default: "false",
			Description: "Do not verify the brokers' certificates; every connection logs a warning."},
	}
}

// Conn is a resolved Kafka connection.
type Conn struct {
	Name      string // the connection's name, for messages
	Brokers   []string
	Protocol  string
	Mechanism string
	User      string
	Password  string
	CACert    string
	Insecure  bool
}

var connSlugRE = regexp.MustCompile(`[^a-z0-9._-]+`)

// ConnConfigName is the Extension Configuration holding field of connection
// name: kafka.<slug>.<field>.
func ConnConfigName(name, field string) string {
	slug := strings.Trim(connSlugRE.ReplaceAllString(strings.ToLower(strings.TrimSpace(name)), "-"), "-")
	return "kafka." + slug + "." + field
}

// resolveConn builds the block's connection: its own fields when it sets
// brokers, else the named connection's Extension Configurations; the
// sandbox broker replaces both under connectplus run --sandbox.
func resolveConn(c *block.Config, env *block.Env) (*Conn, error) {
	name := strings.TrimSpace(c.String(KeyConnection))
	if addr := option(env, OptSandboxBroker); addr != "" {
		return &Conn{Name: "sandbox", Brokers: []string{addr}, Protocol: ProtoPlaintext}, nil
	}
	if c.Has(KeyBrokers) {
		conn := &Conn{
			Name: "block", Brokers: block.SplitList(c.String(KeyBrokers)), Protocol: c.String(KeyProtocol),
			Mechanism: c.String(KeyMechanism), User: c.String(KeyUsername), Password: c.String(KeyPassword),
			CACert: c.String(KeyCACert), Insecure: c.Bool(KeyInsecure),
		}
		return conn, conn.check()
	}
	if env == nil || env.Resolve == nil {
		return nil, fmt.Errorf("Kafka connection %q: this runner resolves no Extension Configurations; set brokers on the block", name)
	}
	get := func(field string, required bool) (string, error) {
		v, err := env.Resolve(ConnConfigName(name, field))
		if err != nil {
			if required {
				return "", fmt.Errorf("Kafka connection %q: Extension Configuration %s: %w", name, ConnConfigName(name, field), err)
			}
			return "", nil
		}
		return strings.TrimSpace(v), nil
	}
	conn := &Conn{Name: name}
	brokers, err := get(KeyBrokers, true)
	if err != nil {
		return nil, err
	}
	conn.Brokers = block.SplitList(brokers)
	if conn.Protocol, err = get(KeyProtocol, false); err != nil {
		return nil, err
	}
	if conn.Protocol == "" {
		conn.Protocol = ProtoPlaintext
	}
	if conn.Mechanism, _ = get(KeyMechanism, false); conn.Mechanism == "" {
		conn.Mechanism = MechPlain
	}
	if conn.isSASL() {
		if conn.User, err = get(KeyUsername, true); err != nil {
			return nil, err
		}
		if conn.Password, err = get(KeyPassword, true); err != nil {
			return nil, err
		}
	}
	conn.CACert, _ = get(KeyCACert, false)
	insecure, _ := get(KeyInsecure, false)
	conn.Insecure, _ = block.ParseBool(insecure)
	return conn, conn.check()
}

func (c *Conn) isSASL() bool { return c.Protocol == ProtoSASLPlaintext || c.Protocol == ProtoSASLSSL }
func (c *Conn) isTLS() bool  { return c.Protocol == ProtoSSL || c.Protocol == ProtoSASLSSL }

func (c *Conn) check() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("no brokers"))
	}
	for _, b := range c.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil {
			errs = append(errs, fmt.Errorf("broker %q is not host:port", b))
		} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("broker %q has no valid port", b))
		}
	}
	switch c.Protocol {
	case ProtoPlaintext, ProtoSSL, ProtoSASLPlaintext, ProtoSASLSSL:
	default:
		errs = append(errs, fmt.Errorf("security protocol %q is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL", c.Protocol))
	}
	if c.isSASL() {
		switch c.Mechanism {
		case MechPlain, MechSCRAM256, MechSCRAM512:
		case MechGSSAPI:
			errs = append(errs, errors.New("SASL mechanism GSSAPI (Kerberos) is not supported: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"))
		default:
			errs = append(errs, fmt.Errorf("SASL mechanism %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", c.Mechanism))
		}
		if c.User == "" {
			errs = append(errs, fmt.Errorf("%s needs a username", c.Protocol))
		}
	}
	if c.CACert != "" && c.isTLS() {
		if !x509.NewCertPool().AppendCertsFromPEM([]byte(c.CACert)) {
			errs = append(errs, errors.New("TLS CA certificate holds no PEM certificate"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("Kafka connection %q: %w", c.Name, err)
	}
	return nil
}

// Opts are the client options of the connection.
func (c *Conn) Opts(env *block.Env, clientID string) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.ClientID(clientID),
		kgo.DialTimeout(10 * time.Second),
		kgo.WithLogger(&logger{env: env}),
	}
	if c.isTLS() {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CACert != "" {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM([]byte(c.CACert))
			tc.RootCAs = pool
		}
		if c.Insecure {
			tc.InsecureSkipVerify = true //nolint:gosec // the user chose it; logged on every connection
			env.Log().Warn("SECURITY WARNING: sslInsecure is set: Kafka broker certificates are not verified", "connection", c.Name)
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if c.isSASL() {
		switch c.Mechanism {
		case MechPlain:
			opts = append(opts, kgo.SASL(plain.Auth{User: c.User, Pass: c.Password}.AsMechanism()))
		case MechSCRAM256:
			opts = append(opts, kgo.SASL(scram.Auth{User: c.User, Pass: c.Password}.AsSha256Mechanism()))
		case MechSCRAM512:
			opts = append(opts, kgo.SASL(scram.Auth{User: c.User, Pass: c.Password}.AsSha512Mechanism()))
		}
	}
	return opts
}

// checkConnFields validates the block's own connection fields, when set.
func checkConnFields(c *block.Config) []block.Problem {
	if !c.Has(KeyBrokers) {
		if strings.TrimSpace(c.String(KeyConnection)) == "" {
			return []block.Problem{{Path: KeyConnection, Message: "name the Kafka connection (kafkaConnectionService) or set brokers"}}
		}
		return nil
	}
	conn := &Conn{Name: "block", Brokers: block.SplitList(c.String(KeyBrokers)), Protocol: c.String(KeyProtocol),
		Mechanism: c.String(KeyMechanism), User: c.String(KeyUsername), CACert: c.String(KeyCACert)}
	if _, ref := c.Ref(KeyUsername); ref {
		conn.User = "(from configuration)"
	}
	if _, ref := c.Ref(KeyBrokers); ref && len(conn.Brokers) == 0 {
		return nil // resolved at deployment
	}
	if err := conn.check(); err != nil {
		return []block.Problem{{Path: KeyBrokers, Message: err.Error()}}
	}
	if conn.isSASL() {
		if _, ref := c.Ref(KeyPassword); !ref && !c.Has(KeyPassword) {
			return []block.Problem{{Path: KeyPassword, Message: conn.Protocol + " needs a password (an Extension Configuration marked secret)"}}
		}
	}
	return nil
}

func option(env *block.Env, k string) string {
	if env == nil {
		return ""
	}
	return env.Options[k]
}

// logger forwards the client's warnings and errors to the block's logger.
type logger struct{ env *block.Env }

func (l *logger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l *logger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	log := l.env.Log()
	switch level {
	case kgo.LogLevelError:
		log.Error("kafka: "+msg, keyvals...)
	case kgo.LogLevelWarn:
		log.Warn("kafka: "+msg, keyvals...)
	default:
		log.Debug("kafka: "+msg, keyvals...)
	}
}
