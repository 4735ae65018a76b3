package kafka

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/engine"
)

// TestTopicToTopic runs kafka_topic_read -> kafka_topic_write against a
// broker on a loopback port: bodies, keys and headers arrive, poison
// messages end failed with their reason (and in the dead-letter topic)
// without stalling their partition, counts balance per window and the
// group's committed offsets reach the end of every partition.
func TestTopicToTopic(t *testing.T) {
	_, addr := cluster(t)
	topics(t, addr, 3, "orders", "orders.out")
	prod := client(t, addr)
	const n = 300
	var in []*kgo.Record
	for i := 0; i < n; i++ {
		in = append(in, &kgo.Record{Topic: "orders", Key: []byte(fmt.Sprintf("k%d", i)),
			Value:   []byte(fmt.Sprintf(`{"id":%d,"customerId":"c%d","amount":%d.5}`, i, i%7, i)),
			Headers: []kgo.RecordHeader{{Key: "traceable_id", Value: []byte(fmt.Sprintf("t%d", i))}, {Key: "source", Value: []byte("pos")}}})
		if i%100 == 50 {
			in = append(in, &kgo.Record{Topic: "orders", Key: []byte("bad"), Value: []byte("{not json")})
		}
	}
	produce(t, prod, in...)
	doc := &dataflow.Document{Name: "t2t", Blocks: []dataflow.Block{
		{Type: "kafka_topic_read", Name: "read", Config: map[string]any{
			"topics": "orders", "brokers": addr, "groupId": "g-${neoDataflowId}", "windowDuration": "1s", "batchSize": 40,
			"deadLetterTopic": "orders.dlq",
		}, Relations: []dataflow.Relation{{To: "write"}}},
		{Type: "kafka_topic_write", Name: "write", Config: map[string]any{
			"topics": "orders.out", "brokers": addr, "kafkakey": "${customerId}", "Header": "All", "compression": "snappy",
		}},
	}}
	run := startFlow(t, doc, engine.Options{Logger: testLogger(t)})
	out := consumeAll(t, addr, "orders.out", n, 30*time.Second)
	run.stop(t)

	seen := map[string]bool{}
	for _, r := range out {
		var v struct {
			ID         int    `json:"id"`
			CustomerID string `json:"customerId"`
		}
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatalf("value %q: %v", r.Value, err)
		}
		if string(r.Key) != v.CustomerID {
			t.Errorf("record %d: key %q, want the customerId %q", v.ID, r.Key, v.CustomerID)
		}
		h := map[string]string{}
		for _, x := range r.Headers {
			h[x.Key] = string(x.Value)
		}
		if h["traceable_id"] != fmt.Sprintf("t%d", v.ID) || h["source"] != "pos" || h["kafka.topic"] != "orders" ||
			h["request.id"] != fmt.Sprintf("k%d_%s_%s_orders", v.ID, h["kafka.offset"], h["kafka.partition"]) {
			t.Errorf("record %d headers: %v", v.ID, h)
		}
		seen[fmt.Sprint(v.ID)] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct records out, want %d", len(seen), n)
	}
	c, windows := run.res.totals()
	if c.In != n+3 || c.Delivered != n || c.Failed != 3 || windows == 0 {
		t.Errorf("counts %+v over %d windows, want in=%d delivered=%d failed=3", c, windows, n+3, n)
	}
	dlq := consumeAll(t, addr, "orders.dlq", 3, 10*time.Second)
	for _, r := range dlq {
		var reason string
		for _, h := range r.Headers {
			if h.Key == "connectplus.error" {
				reason = string(h.Value)
			}
		}
		if string(r.Value) != "{not json" || !strings.Contains(reason, "not valid JSON") {
			t.Errorf("dead letter %q: reason %q", r.Value, reason)
		}
	}
	end := endOffsets(t, addr, "orders")
	got := committed(t, addr, "g-t2t")
	for p, o := range end {
		if got[p] != o {
			t.Errorf("partition %d: committed %d, end %d", p, got[p], o)
		}
	}
}

// TestEventNotificationToEventPublish: event_notification_read on two
// event topics -> event_publish_kafka, keyed by the event's topic, with
// only the traceable id as header (the write side's default).
func TestEventNotificationToEventPublish(t *testing.T) {
	_, addr := cluster(t)
	topics(t, addr, 2, "transactionAdded", "customerUpdated", "events.out")
	prod := client(t, addr)
	for i := 0; i < 20; i++ {
		topic := []string{"transactionAdded", "customerUpdated"}[i%2]
		produce(t, prod, &kgo.Record{Topic: topic, Value: []byte(fmt.Sprintf(`{"eventId":"ev%d"}`, i)),
			Headers: []kgo.RecordHeader{{Key: "traceable_id", Value: []byte(fmt.Sprintf("tr%d", i))}, {Key: "other", Value: []byte("x")}}})
	}
	doc := &dataflow.Document{Name: "events", Blocks: []dataflow.Block{
		{Type: "event_notification_read", Name: "read", Config: map[string]any{"kafkaTopics": "transactionAdded,customerUpdated", "brokers": addr, "windowDuration": "1s"},
			Relations: []dataflow.Relation{{To: "publish"}}},
		{Type: "event_publish_kafka", Name: "publish", Config: map[string]any{"kafkaTopics": "events.out", "brokers": addr, "kafkakey": "${kafka.topic}"}},
	}}
	run := startFlow(t, doc, engine.Options{})
	out := consumeAll(t, addr, "events.out", 20, 30*time.Second)
	run.stop(t)
	for _, r := range out {
		var v struct{ EventID string }
		_ = json.Unmarshal(r.Value, &v)
		var n int
		fmt.Sscanf(v.EventID, "ev%d", &n)
		want := []string{"transactionAdded", "customerUpdated"}[n%2]
		if string(r.Key) != want || len(r.Headers) != 1 || r.Headers[0].Key != "traceable_id" || string(r.Headers[0].Value) != fmt.Sprintf("tr%d", n) {
			t.Errorf("%s: key %q headers %v", v.EventID, r.Key, r.Headers)
		}
	}
}
