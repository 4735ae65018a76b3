package kafka

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/httpwrite"
	"github.com/connectplus/connectplus/blocks/local"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/sandbox"
)

// benchTopic fills a topic once per benchmark binary: msgs JSON messages
// of about 150 bytes over 6 partitions.
var benchTopic struct {
	once sync.Once
	addr string
}

const benchMsgs = 100_000

func benchBroker(b *testing.B) string {
	benchTopic.once.Do(func() {
		k, err := sandbox.StartKafka(sandbox.KafkaConfig{Addr: "127.0.0.1:0", Partitions: 6})
		if err != nil {
			b.Fatal(err)
		}
		// Shared by every benchmark of the binary; the process ends it.
		benchTopic.addr = k.Addr()
		cl, err := kgo.NewClient(kgo.SeedBrokers(k.Addr()), kgo.AllowAutoTopicCreation(), kgo.ProducerLinger(5*time.Millisecond))
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		recs := make([]*kgo.Record, 0, 10000)
		for i := 0; i < benchMsgs; i++ {
			recs = append(recs, &kgo.Record{Topic: "bench", Key: []byte(fmt.Sprintf("c%d", i%5000)),
				Value: []byte(fmt.Sprintf(`{"id":"m%d","customerId":"c%d","amount":%d.25,"store":"s%d","items":[{"sku":"x%d","qty":%d}]}`, i, i%5000, i%997, i%50, i%300, 1+i%4))})
			if len(recs) == cap(recs) {
				if err := cl.ProduceSync(b.Context(), recs...).FirstErr(); err != nil {
					b.Fatal(err)
				}
				recs = recs[:0]
			}
		}
	})
	return benchTopic.addr
}

// benchFlow consumes the whole benchmark topic with a fresh group through
// dest, b.N times, and reports messages per second from the first message
// to the last one ending (the broker runs in the same process).
func benchFlow(b *testing.B, dest dataflow.Block) {
	addr := benchBroker(b)
	reg := block.NewRegistry()
	Register(reg)
	httpwrite.Register(reg)
	local.Register(reg)
	reg.MustRegister(sinkSpec)
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("bench-%s-%d-%d", dest.Type, i, time.Now().UnixNano())
		sinks.Store(name+"/sink", &sink{})
		doc := &dataflow.Document{Name: name, Blocks: []dataflow.Block{
			{Type: "kafka_topic_read", Name: "read", Config: map[string]any{"topics": "bench", "brokers": addr, "batchSize": 500, "windowDuration": "1m"},
				Relations: []dataflow.Relation{{To: dest.Name}}},
			dest,
		}}
		res := &results{}
		f, err := engine.Compile(doc, engine.Options{Registry: reg, Observer: res, QueueSize: 8, Resolver: configs{"api_secret": "s"}})
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Start(b.Context()); err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); f.PollStream(b.Context(), 10*time.Millisecond) }()
		// Timed from the first message: joining the group (the broker's
		// initial rebalance delay) is not throughput.
		for blockDone(f, "read") == 0 {
			time.Sleep(time.Millisecond)
		}
		start := time.Now()
		for blockDone(f, dest.Name) < benchMsgs {
			time.Sleep(2 * time.Millisecond)
		}
		total += time.Since(start)
		f.Drain()
		<-done
		_ = f.WaitIdle(b.Context())
		f.Close()
		c, _ := res.totals()
		if c.Delivered != benchMsgs {
			b.Fatalf("delivered %d of %d: %+v", c.Delivered, benchMsgs, c)
		}
	}
	b.ReportMetric(float64(benchMsgs)*float64(b.N)/total.Seconds(), "msgs/s")
}

// BenchmarkTopicToSandboxBulk: kafka_topic_read -> http_write in bulk (500
// messages a call) to the API sandbox's Neo endpoint, counting only.
func BenchmarkTopicToSandboxBulk(b *testing.B) {
	s, ts := sandbox.NewTestServer(sandbox.Config{ClientKey: "k", ClientSecret: "s", CountOnly: true})
	defer ts.Close()
	_ = s
	benchFlow(b, dataflow.Block{Type: "http_write", Name: "post", Config: map[string]any{
		"apiBaseUrl": ts.URL, "oAuthBaseUrl": ts.URL, "clientKey": "k", "clientSecret": map[string]any{"$config": "api_secret"},
		"apiEndPoint": "/x/neo/bench", "bulkSupport": "true", "parseResponse": "false",
		"rate": 1000000, "timeUnit": "SECONDS", "concurrency": 8,
	}})
}

// BenchmarkTopicToFile: kafka_topic_read -> file_write (JSON Lines, one
// file per window).
func BenchmarkTopicToFile(b *testing.B) {
	dir := b.TempDir()
	benchFlow(b, dataflow.Block{Type: "file_write", Name: "write", Config: map[string]any{
		"remotePath": dir, "createRemoteDirectory": "true", "conflictResolution": "REPLACE", "outputFileName": "${filename}.jsonl",
	}})
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	lines := 0
	for _, f := range files {
		bs, _ := os.ReadFile(f)
		lines += strings.Count(string(bs), "\n")
	}
	if lines != benchMsgs*b.N {
		b.Fatalf("%d lines written, want %d", lines, benchMsgs*b.N)
	}
}

// BenchmarkTopicToAck: kafka_topic_read -> a destination that acknowledges
// at once: what the source, the engine's accounting and the commits cost.
func BenchmarkTopicToAck(b *testing.B) {
	benchFlow(b, dataflow.Block{Type: "test_sink", Name: "sink"})
}
