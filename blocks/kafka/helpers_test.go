package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/engine"
)

// cluster starts an in-process Kafka-compatible broker on a loopback port.
func cluster(t testing.TB, opts ...kfake.Opt) (*kfake.Cluster, string) {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3)}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()[0]
}

// topics creates topics with the given partitions.
func topics(t testing.TB, addr string, partitions int32, names ...string) {
	t.Helper()
	adm := kadm.NewClient(client(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := adm.CreateTopics(ctx, partitions, 1, nil, names...); err != nil {
		t.Fatal(err)
	}
}

func client(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func produce(t testing.TB, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// consumeAll reads topic from the start until n records arrived.
func consumeAll(t testing.TB, addr, topic string, n int, within time.Duration) []*kgo.Record {
	t.Helper()
	cl := client(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: %d of %d records within %s", topic, len(out), n, within)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

// committed returns the group's committed offset per partition of topic.
func committed(t testing.TB, addr, group string) map[int32]int64 {
	t.Helper()
	adm := kadm.NewClient(client(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	os, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	os.Each(func(o kadm.OffsetResponse) { out[o.Partition] = o.At })
	return out
}

func endOffsets(t testing.TB, addr, topic string) map[int32]int64 {
	t.Helper()
	adm := kadm.NewClient(client(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	l.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// results collects finished windows.
type results struct {
	mu   sync.Mutex
	done []engine.LineageResult
}

func (r *results) LineageStarted(string, block.Item, string, bool) {}
func (r *results) Progress(int64)                                  {}
func (r *results) Records(int64)                                   {}
func (r *results) LineageDone(res engine.LineageResult) {
	r.mu.Lock()
	r.done = append(r.done, res)
	r.mu.Unlock()
}

// blockDone is how many records block name delivered or failed so far.
func blockDone(f *engine.Flow, name string) int64 {
	for _, s := range f.Stats() {
		if s.Name == name {
			return s.RecordsOut + s.RecordsFailed
		}
	}
	return 0
}

func (r *results) totals() (c block.Outcomes, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.done {
		c.In += d.Counts.In
		c.Delivered += d.Counts.Delivered
		c.Filtered += d.Counts.Filtered
		c.Failed += d.Counts.Failed
	}
	return c, len(r.done)
}

// running is a stream flow consuming in the background.
type running struct {
	f      *engine.Flow
	cancel context.CancelFunc
	done   chan struct{}
	res    *results
}

func startFlow(t testing.TB, doc *dataflow.Document, opts engine.Options) *running {
	t.Helper()
	reg := block.NewRegistry()
	Register(reg)
	reg.MustRegister(sinkSpec)
	opts.Registry = reg
	res := &results{}
	opts.Observer = res
	if opts.CheckpointInterval == 0 {
		opts.CheckpointInterval = 20 * time.Millisecond
	}
	if opts.FlowKey == "" {
		opts.FlowKey = doc.Name
	}
	f, err := engine.Compile(doc, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := f.Start(ctx); err != nil {
		cancel()
		f.Close()
		t.Fatal(err)
	}
	r := &running{f: f, cancel: cancel, done: make(chan struct{}), res: res}
	go func() {
		defer close(r.done)
		f.PollStream(ctx, 50*time.Millisecond)
	}()
	return r
}

// stop drains the flow (open windows close, in-flight records finish) and
// closes it.
func (r *running) stop(t testing.TB) []engine.LineageResult {
	t.Helper()
	r.f.Drain()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	<-r.done
	if err := r.f.WaitIdle(ctx); err != nil {
		t.Fatalf("draining: %v", err)
	}
	r.cancel()
	return r.f.Close()
}

func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sink is a destination recording what it got; it can fail every call
// (a destination at 100 % errors) or be slow.
type sink struct {
	mu    sync.Mutex
	got   map[string]int // request id -> times delivered
	order []string
	fail  bool
	delay time.Duration
	gate  chan struct{} // when set, every unit waits for it to close
}

var sinks sync.Map // block name -> *sink, set by tests

var sinkSpec = &block.Spec{
	Type: "test_sink", Label: "test sink", Class: block.ClassExecutor, Input: block.KindRecords, Output: block.KindRecords,
	New: func(_ *block.Config, env *block.Env) (block.Block, error) {
		s, ok := sinks.Load(env.Flow + "/" + env.Block)
		if !ok {
			return nil, fmt.Errorf("no sink registered for %s/%s", env.Flow, env.Block)
		}
		return s.(*sink), nil
	},
}

func (s *sink) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.fail {
		for i := range u.Batch.Records {
			u.Batch.Records[i].Fail("sink", 503, "destination unavailable")
		}
		return out.Emit(ctx, block.RelFailure, u)
	}
	s.mu.Lock()
	if s.got == nil {
		s.got = map[string]int{}
	}
	for _, r := range u.Batch.Records {
		id := r.Attrs[block.AttrRequestID]
		s.got[id]++
		s.order = append(s.order, id)
	}
	s.mu.Unlock()
	for i := range u.Batch.Records {
		u.Batch.Records[i].Outcome = block.Outcome{Status: block.Delivered, Code: 200}
	}
	out.Ack(u, nil)
	return nil
}

func (s *sink) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

func (s *sink) dups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := 0
	for _, n := range s.got {
		d += n - 1
	}
	return d
}

func sortedKeys(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// kill stops the flow at once: records in flight are abandoned, as when
// the dataflow is stopped or its process ends.
func (r *running) kill() []engine.LineageResult {
	r.f.Stop()
	r.cancel()
	<-r.done
	return r.f.Close()
}

// streamDoc is kafka_topic_read (extra config merged in) -> test_sink.
func streamDoc(name, addr, topic string, extra map[string]any) *dataflow.Document {
	cfg := map[string]any{"topics": topic, "brokers": addr, "windowDuration": "1s", "batchSize": 50, "revocationWait": "5s"}
	for k, v := range extra {
		cfg[k] = v
	}
	return &dataflow.Document{Name: name, Blocks: []dataflow.Block{
		{Type: "kafka_topic_read", Name: "read", Config: cfg, Relations: []dataflow.Relation{{To: "sink"}}},
		{Type: "test_sink", Name: "sink"},
	}}
}

func newSink(flow string, s *sink) *sink {
	sinks.Store(flow+"/sink", s)
	return s
}

func numbered(topic string, from, to int) []*kgo.Record {
	var out []*kgo.Record
	for i := from; i < to; i++ {
		out = append(out, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf(`{"n":%d}`, i))})
	}
	return out
}

func groupMembers(t testing.TB, addr, group string) int {
	t.Helper()
	adm := kadm.NewClient(client(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	gs, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	return len(gs[group].Members)
}
