package control

import (
	"fmt"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/blocks/kafka"
)

// TestKafkaWarnings: a Kafka block's own connection that skips certificate
// checks, or sends a PLAIN password without TLS, is valid but warned
// about; SCRAM or TLS is not.
func TestKafkaWarnings(t *testing.T) {
	path := func(k string) string { return fmt.Sprintf("blocks[0].config.%s", k) }
	for _, c := range []struct {
		cfg  map[string]any
		want []string
	}{
		{map[string]any{"brokers": "b:9092", "securityProtocol": "SSL", "sslInsecure": "true"}, []string{"sslInsecure is true"}},
		{map[string]any{"brokers": "b:9092", "securityProtocol": "SASL_PLAINTEXT"}, []string{"in clear"}},
		{map[string]any{"brokers": "b:9092", "securityProtocol": "SASL_PLAINTEXT", "saslMechanism": "SCRAM-SHA-512"}, nil},
		{map[string]any{"brokers": "b:9092", "securityProtocol": "SASL_SSL"}, nil},
		{map[string]any{}, nil},
	} {
		got := kafkaWarnings(kafka.WriteSpec, c.cfg, path)
		if len(got) != len(c.want) {
			t.Errorf("%v: warnings %v, want %v", c.cfg, got, c.want)
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(got[i].Message, w) {
				t.Errorf("%v: warning %q, want %q", c.cfg, got[i].Message, w)
			}
		}
	}
}
