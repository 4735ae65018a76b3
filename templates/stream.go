package templates

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/kafka"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/sandbox"
)

// A template that reads a stream (kafka_topic_read) runs its sample the way
// the stream would arrive: every line of the sample files, in order, is one
// message produced to the block's first topic on an in-process sandbox
// broker with one partition ("key<TAB>value" lines are keyed), timestamped
// at SampleClock; the real source block consumes them. All of them fall in
// one window (the clock does not move), whose result file is captured.

// isStream reports whether a source spec reads a stream: its output is
// records, not files.
func isStream(s *block.Spec) bool {
	return s.Class == block.ClassSource && s.Output == block.KindRecords
}

// streamTopics returns the first topic of every stream source of doc.
func streamTopics(doc *dataflow.Document, reg *block.Registry) []string {
	var out []string
	for _, b := range doc.Blocks {
		s, ok := reg.Lookup(b.Type)
		if !ok || !isStream(s) {
			continue
		}
		for _, k := range []string{kafka.KeyTopics, kafka.KeyKafkaTopics} {
			if v, ok := b.Config[k].(string); ok {
				if ts := block.SplitList(v); len(ts) > 0 {
					out = append(out, ts[0])
				}
			}
		}
	}
	return out
}

// startSampleStream starts the sandbox broker and produces the samples to
// every topic; it returns the broker and how many messages each topic got.
func startSampleStream(ctx context.Context, topics []string, samples []sampleFile) (*sandbox.Kafka, int, error) {
	kb, err := sandbox.StartKafka(sandbox.KafkaConfig{Addr: "127.0.0.1:0", Partitions: 1})
	if err != nil {
		return nil, 0, err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(kb.Addr()), kgo.AllowAutoTopicCreation())
	if err != nil {
		kb.Close()
		return nil, 0, err
	}
	defer cl.Close()
	n := 0
	for _, topic := range topics {
		var recs []*kgo.Record
		for _, s := range samples {
			for _, line := range bytes.Split(s.data, []byte("\n")) {
				line = bytes.TrimRight(line, "\r")
				if len(bytes.TrimSpace(line)) == 0 {
					continue
				}
				r := &kgo.Record{Topic: topic, Value: line, Timestamp: SampleClock()}
				if k, v, ok := bytes.Cut(line, []byte("\t")); ok {
					r.Key, r.Value = k, v
				}
				recs = append(recs, r)
			}
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			kb.Close()
			return nil, 0, fmt.Errorf("producing the samples to %s: %w", topic, err)
		}
		n = len(recs)
	}
	return kb, n, nil
}

// runSampleStream consumes until the stream sources have handed on want
// messages, then closes the window and waits for it to complete.
func runSampleStream(ctx context.Context, flow *engine.Flow, sources []string, want int) ([]engine.LineageResult, error) {
	if err := flow.Start(ctx); err != nil {
		return nil, err
	}
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); flow.PollStream(pctx, 10*time.Millisecond) }()
	handed := func() int64 {
		var n int64
		for _, s := range flow.Stats() {
			for _, src := range sources {
				if s.Name == src {
					n += s.RecordsOut + s.RecordsFailed
				}
			}
		}
		return n
	}
	for handed() < int64(want)*int64(len(sources)) {
		select {
		case <-ctx.Done():
			stop()
			<-done
			return flow.Close(), fmt.Errorf("%d of %d sample messages consumed: %w", handed(), want, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	flow.Drain()
	<-done
	stop()
	err := flow.WaitIdle(ctx)
	return flow.Close(), err
}

// streamCapture is a real stream source whose window result files are
// also captured for the goldens.
type streamCapture struct {
	block.Stream
	cap *capture
}

func (s streamCapture) Start(ctx context.Context) error {
	if st, ok := s.Stream.(block.Starter); ok {
		return st.Start(ctx)
	}
	return nil
}

func (s streamCapture) Close() error {
	if c, ok := s.Stream.(block.Closer); ok {
		return c.Close()
	}
	return nil
}

func (s streamCapture) Finish(ctx context.Context, it block.Item, c *block.Completion) error {
	if c.HasResult {
		rc, err := c.Result()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		s.cap.put(s.cap.results, c.ResultName, b)
	}
	return s.Stream.Finish(ctx, it, c)
}
