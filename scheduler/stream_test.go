package scheduler

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/kafka"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/runstate/memrepo"
	"github.com/connectplus/connectplus/sandbox"
)

// idSink delivers records and counts them by request id.
type idSink struct {
	mu  sync.Mutex
	got map[string]int
}

func (s *idSink) Process(_ context.Context, u *block.Unit, out block.Output) error {
	s.mu.Lock()
	for _, r := range u.Batch.Records {
		s.got[r.Attrs[block.AttrRequestID]]++
	}
	s.mu.Unlock()
	out.Ack(u, nil)
	return nil
}

func (s *idSink) n() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

// TestStreamRunsLive: a Live Kafka dataflow runs continuously under the
// runtime, without a schedule tick, against the sandbox's broker with kcat
// producing into it; each window is a run with its counts; Pause stops
// fetching and keeps the consumer group, Start continues, Stop leaves it.
func TestStreamRunsLive(t *testing.T) {
	kb, err := sandbox.StartKafka(sandbox.KafkaConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer kb.Close()
	lines := func(from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprintf("k%d\t{\"n\":%d}", i, i))
		}
		return out
	}
	testenv.KcatProduce(t, kb.Addr(), "live", lines(0, 50))

	sink := &idSink{got: map[string]int{}}
	reg := block.NewRegistry()
	kafka.Register(reg)
	reg.MustRegister(&block.Spec{Type: "id_sink", Label: "sink", Class: block.ClassExecutor, Input: block.KindRecords, Output: block.KindRecords,
		New: func(*block.Config, *block.Env) (block.Block, error) { return sink, nil }})
	repo := memrepo.New()
	m, err := New(Options{Repo: repo, Registry: reg, DataDir: t.TempDir(), Owner: "test", ReloadInterval: time.Hour, DrainTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	doc := fmt.Sprintf(`name: live
blocks:
  - type: kafka_topic_read
    name: read
    config: {topics: live, brokers: %q, windowDuration: 1s}
    relations: [post]
  - type: id_sink
    name: post
`, kb.Addr())
	repo.PutDeployment(runstate.Deployment{OrgID: "o1", FlowID: "f1", FlowName: "live", VersionID: "v1", Version: 1,
		Document: []byte(doc), Status: runstate.StatusActive, TimeZone: "UTC"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	defer func() { cancel(); <-done }()

	eventually := func(what string, within time.Duration, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(within); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	eventually("the first 50 messages", 20*time.Second, func() bool { return sink.n() == 50 })
	eventually("the window's run", 10*time.Second, func() bool {
		var in int64
		rs, _ := repo.ListRuns(ctx, runstate.RunFilter{})
		for _, r := range rs {
			if r.Status == "Success" {
				in += r.RecordsIn
			}
		}
		return in == 50
	})

	cl, err := kgo.NewClient(kgo.SeedBrokers(kb.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	members := func() int {
		gs, err := kadm.NewClient(cl).DescribeGroups(ctx, "o1/f1")
		if err != nil {
			t.Fatal(err)
		}
		return len(gs["o1/f1"].Members)
	}
	if err := m.Pause(ctx, "o1", "f1"); err != nil {
		t.Fatal(err)
	}
	testenv.KcatProduce(t, kb.Addr(), "live", lines(50, 70))
	time.Sleep(1500 * time.Millisecond)
	if sink.n() != 50 {
		t.Fatalf("%d delivered while paused", sink.n())
	}
	if n := members(); n != 1 {
		t.Fatalf("paused: %d members in the group (${neoDataflowId} = o1/f1), want 1", n)
	}
	if err := m.Start(ctx, "o1", "f1"); err != nil {
		t.Fatal(err)
	}
	eventually("the 20 produced while paused", 20*time.Second, func() bool { return sink.n() == 70 })
	if err := m.Stop(ctx, "o1", "f1"); err != nil {
		t.Fatal(err)
	}
	eventually("the member leaving at Stop", 10*time.Second, func() bool { return members() == 0 })
	for id, c := range sink.got {
		if c != 1 {
			t.Errorf("%s delivered %d times", id, c)
		}
	}
}
