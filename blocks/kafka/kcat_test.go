package kafka

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/internal/testenv"
)

// TestKcatInAndOut checks the blocks against an independent client:
// kcat (librdkafka) produces into the topic kafka_topic_read consumes, and
// consumes what kafka_topic_write publishes — bodies, keys and headers.
func TestKcatInAndOut(t *testing.T) {
	_, addr := cluster(t)
	topics(t, addr, 3, "kin", "kout")
	const n = 120
	var lines []string
	for i := 0; i < n; i++ {
		lines = append(lines, fmt.Sprintf("key-%d\t{\"id\":\"m%d\",\"name\":\"caf\u00e9 %d\"}", i, i, i))
	}
	testenv.KcatProduce(t, addr, "kin", lines, "traceable_id=trace-kcat", "origin=kcat")

	doc := &dataflow.Document{Name: "kcat", Blocks: []dataflow.Block{
		{Type: "kafka_topic_read", Name: "read", Config: map[string]any{"topics": "kin", "brokers": addr, "windowDuration": "2s"},
			Relations: []dataflow.Relation{{To: "write"}}},
		{Type: "kafka_topic_write", Name: "write", Config: map[string]any{"topics": "kout", "brokers": addr, "kafkakey": "${id}", "Header": "All"}},
	}}
	run := startFlow(t, doc, engine.Options{})
	got := testenv.KcatConsume(t, addr, "kout", n, 60*time.Second)
	run.stop(t)
	seen := map[string]bool{}
	for _, m := range got {
		var v struct{ ID, Name string }
		if err := json.Unmarshal([]byte(m.Payload), &v); err != nil {
			t.Fatalf("payload %q: %v", m.Payload, err)
		}
		var i int
		fmt.Sscanf(v.ID, "m%d", &i)
		if m.Key != v.ID || v.Name != fmt.Sprintf("caf\u00e9 %d", i) {
			t.Errorf("message %s: key %q name %q", v.ID, m.Key, v.Name)
		}
		h := m.Headers
		if h["traceable_id"] != "trace-kcat" || h["origin"] != "kcat" || h["kafka.key"] != fmt.Sprintf("key-%d", i) || h["kafka.topic"] != "kin" {
			t.Errorf("message %s headers: %v", v.ID, h)
		}
		seen[v.ID] = true
	}
	if len(seen) != n {
		t.Errorf("kcat read %d distinct messages, want %d", len(seen), n)
	}
}
