package kafka

import (
	"errors"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
)

type configs map[string]string

func (m configs) Resolve(n string) (string, error) {
	if v, ok := m[n]; ok {
		return v, nil
	}
	return "", errors.New("not set")
}

func TestSpecDefaults(t *testing.T) {
	c, probs := ReadSpec.ParseConfig(map[string]any{"topics": "a, b"}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	for k, want := range map[string]string{
		KeyConnection: "Event-notification-kafka", KeyGroupID: "${neoDataflowId}", KeyHeader: "All",
		KeyTraceID: "${kafka.key}_${kafka.offset}_${kafka.partition}_${kafka.topic}", KeyProtocol: "PLAINTEXT",
		KeyWindow: "10m", KeyFormat: "json",
	} {
		if got := c.String(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if got := c.List(KeyTopics); len(got) != 2 || got[1] != "b" {
		t.Errorf("topics %q", got)
	}
	w, probs := WriteSpec.ParseConfig(map[string]any{"topics": "out", "kafkakey": "${customerId}"}, nil)
	if len(probs) > 0 || w.String(KeyHeader) != HeadersTraceable || w.String(KeyAcks) != "all" || !w.Bool(KeyIdempotent) {
		t.Errorf("write defaults: %v %q %q", probs, w.String(KeyHeader), w.String(KeyAcks))
	}
	if _, probs := EventWriteSpec.ParseConfig(map[string]any{"kafkakey": "k"}, nil); len(probs) == 0 || !strings.Contains(probs[0].Error(), "kafkaTopics") {
		t.Errorf("event_publish_kafka without kafkaTopics: %v", probs)
	}
	if _, probs := EventReadSpec.ParseConfig(map[string]any{"kafkaTopics": "transactionAdded"}, nil); len(probs) > 0 {
		t.Errorf("event_notification_read: %v", probs)
	}
}

// TestGen1ConnectionFields: the Gen-1 blocks' own connection, under
// NiFi's property names too, with credentials as Extension Configurations.
func TestGen1ConnectionFields(t *testing.T) {
	raw := map[string]any{
		"topics": "t", "bootstrap.servers": "kafka-connectplus:9092,k2:9093", "security.protocol": "SASL_SSL",
		"sasl.mechanism": "SCRAM-SHA-512", "sasl.username": map[string]any{"$config": "kafka_user"},
		"sasl.password": map[string]any{"$config": "kafka_pass"}, "Header": "traceable_id",
	}
	c, probs := ReadSpec.ParseConfig(raw, configs{"kafka_user": "u", "kafka_pass": "p"})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	conn, err := resolveConn(c, &block.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if len(conn.Brokers) != 2 || conn.Protocol != ProtoSASLSSL || conn.Mechanism != MechSCRAM512 || conn.User != "u" || conn.Password != "p" {
		t.Errorf("conn %+v", conn)
	}
	if headerMode(c.String(KeyHeader)) != HeadersTraceable {
		t.Errorf("traceable_id must mean Traceable Id")
	}
	// An inline password is refused: secrets come from Extension Configurations.
	raw["sasl.password"] = "inline"
	if _, probs := ReadSpec.ParseConfig(raw, configs{"kafka_user": "u"}); len(probs) == 0 || !strings.Contains(probs[0].Message, "secret") {
		t.Errorf("inline password: %v", probs)
	}
	for _, bad := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"topics": "t", "brokers": "h:9092", "securityProtocol": "SASL_PLAINTEXT", "saslMechanism": "GSSAPI", "saslUsername": "u", "saslPassword": map[string]any{"$config": "p"}}, "GSSAPI (Kerberos) is not supported"},
		{map[string]any{"topics": "t", "brokers": "nohost"}, "not host:port"},
		{map[string]any{"topics": "t", "brokers": "h:9092", "securityProtocol": "SASL_SSL", "saslUsername": "u"}, "needs a password"},
		{map[string]any{"topics": " , ", "brokers": "h:9092"}, "at least one topic"},
		{map[string]any{"topics": "t", "windowDuration": "soon"}, "positive duration"},
	} {
		_, probs := ReadSpec.ParseConfig(bad.raw, nil)
		if len(probs) == 0 || !strings.Contains(probs[0].Message, bad.want) {
			t.Errorf("%v: problems %v, want %q", bad.raw, probs, bad.want)
		}
	}
}

// TestNamedConnection: kafkaConnectionService names an organisation-wide
// connection whose values are Extension Configurations kafka.<name>.*.
func TestNamedConnection(t *testing.T) {
	c, probs := WriteSpec.ParseConfig(map[string]any{"topics": "out", "kafkakey": "k", KeyConnection: "connectplus-kafka service"}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if got := ConnConfigName("connectplus-kafka service", "brokers"); got != "kafka.connectplus-kafka-service.brokers" {
		t.Fatalf("config name %q", got)
	}
	org := configs{
		"kafka.connectplus-kafka-service.brokers":          "b1:9092, b2:9092",
		"kafka.connectplus-kafka-service.securityProtocol": "SASL_PLAINTEXT",
		"kafka.connectplus-kafka-service.saslMechanism":    "SCRAM-SHA-256",
		"kafka.connectplus-kafka-service.saslUsername":     "svc",
		"kafka.connectplus-kafka-service.saslPassword":     "pw",
	}
	conn, err := resolveConn(c, &block.Env{Resolve: org.Resolve})
	if err != nil {
		t.Fatal(err)
	}
	if conn.Name != "connectplus-kafka service" || len(conn.Brokers) != 2 || conn.Mechanism != MechSCRAM256 || conn.User != "svc" || conn.Password != "pw" {
		t.Errorf("conn %+v", conn)
	}
	delete(org, "kafka.connectplus-kafka-service.saslPassword")
	if _, err := resolveConn(c, &block.Env{Resolve: org.Resolve}); err == nil || !strings.Contains(err.Error(), "kafka.connectplus-kafka-service.saslPassword") {
		t.Errorf("missing password: %v", err)
	}
	if _, err := resolveConn(c, &block.Env{Resolve: configs{}.Resolve}); err == nil || !strings.Contains(err.Error(), "kafka.connectplus-kafka-service.brokers") {
		t.Errorf("missing connection: %v", err)
	}
	// The sandbox broker replaces any connection.
	sb, err := resolveConn(c, &block.Env{Options: map[string]string{OptSandboxBroker: "127.0.0.1:1"}})
	if err != nil || sb.Brokers[0] != "127.0.0.1:1" || sb.Protocol != ProtoPlaintext {
		t.Errorf("sandbox: %+v %v", sb, err)
	}
}

func TestExpressionsCompile(t *testing.T) {
	step := exprs.NewStep(exprs.Options{})
	for _, s := range []*block.Spec{ReadSpec, EventReadSpec} {
		if _, probs := s.CompileConfig(map[string]any{"topics": "t", "kafkaTopics": "t", KeyTraceID: "${kafka.key:toUpper()}"}, nil, step); len(filter(probs, "kafkaTopics", "topics")) > 0 {
			t.Errorf("%s: %v", s.Type, probs)
		}
	}
	if _, probs := WriteSpec.CompileConfig(map[string]any{"topics": "t", "kafkakey": "${customerId"}, nil, step); len(probs) == 0 {
		t.Error("a broken kafkakey expression must be a problem")
	}
}

// filter drops "unknown field" problems for keys the other spec has.
func filter(probs []block.Problem, keys ...string) []block.Problem {
	var out []block.Problem
	for _, p := range probs {
		skip := false
		for _, k := range keys {
			if p.Path == k && strings.Contains(p.Message, "unknown field") {
				skip = true
			}
		}
		if !skip {
			out = append(out, p)
		}
	}
	return out
}
