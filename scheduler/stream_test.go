package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/httpwrite"
	"github.com/connectplus/connectplus/blocks/kafka"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/runstate/memrepo"
	"github.com/connectplus/connectplus/sandbox"
)

// neoCounts counts, per message n, how often the API sandbox's Neo
// endpoint received it (bulk bodies are arrays of messages).
func neoCounts(t *testing.T, sb *sandbox.Server) map[int]int {
	t.Helper()
	got := map[int]int{}
	for _, e := range sb.Entities(sandbox.KindNeo) {
		var msgs []struct{ N int }
		if err := json.Unmarshal(e.Body, &msgs); err != nil {
			t.Fatalf("neo body %s: %v", e.Body, err)
		}
		for _, m := range msgs {
			got[m.N]++
		}
	}
	return got
}

// TestStreamRunsLive: a Live Kafka-to-API dataflow runs continuously under
// the runtime, without a schedule tick, on the organisation's named Kafka
// connection (Extension Configurations kafka.brand-kafka.*) pointing at the
// sandbox's broker, with kcat producing into it, and posts to the API
// sandbox; each window is a run with its counts; Pause stops fetching and
// keeps the consumer group, Start continues, Stop leaves it.
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

	sb, ts := sandbox.NewTestServer(sandbox.Config{ClientKey: "k", ClientSecret: "s"})
	defer ts.Close()
	delivered := func() int { return len(neoCounts(t, sb)) }
	reg := block.NewRegistry()
	kafka.Register(reg)
	httpwrite.Register(reg)
	repo := memrepo.New()
	repo.SetConfig("o1", kafka.ConnConfigName("brand-kafka", kafka.KeyBrokers), kb.Addr())
	repo.SetConfig("o1", "api_secret", "s")
	m, err := New(Options{Repo: repo, Registry: reg, DataDir: t.TempDir(), Owner: "test", ReloadInterval: time.Hour, DrainTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	doc := fmt.Sprintf(`name: live
blocks:
  - type: kafka_topic_read
    name: read
    config: {topics: live, kafkaConnectionService: brand-kafka, windowDuration: 1s}
    relations: [post]
  - type: http_write
    name: post
    config:
      apiBaseUrl: %q
      oAuthBaseUrl: %q
      clientKey: k
      clientSecret: {$config: api_secret}
      apiEndPoint: /x/neo/live
      bulkSupport: "true"
      parseResponse: "false"
      rate: 100000
      timeUnit: SECONDS
`, ts.URL, ts.URL)
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
	eventually("the first 50 messages", 20*time.Second, func() bool { return delivered() == 50 })
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
	if delivered() != 50 {
		t.Fatalf("%d delivered while paused", delivered())
	}
	if n := members(); n != 1 {
		t.Fatalf("paused: %d members in the group (${neoDataflowId} = o1/f1), want 1", n)
	}
	if err := m.Start(ctx, "o1", "f1"); err != nil {
		t.Fatal(err)
	}
	eventually("the 20 produced while paused", 20*time.Second, func() bool { return delivered() == 70 })
	if err := m.Stop(ctx, "o1", "f1"); err != nil {
		t.Fatal(err)
	}
	eventually("the member leaving at Stop", 10*time.Second, func() bool { return members() == 0 })
	for n, c := range neoCounts(t, sb) {
		if c != 1 || n < 0 || n >= 70 {
			t.Errorf("message %d delivered %d times", n, c)
		}
	}
}

// TestSharedConsumerGroupRefused: two Live dataflows of an organisation in
// one literal consumer group would split its messages; the default group
// (${neoDataflowId}) is each dataflow's own.
func TestSharedConsumerGroupRefused(t *testing.T) {
	repo := memrepo.New()
	m, err := New(Options{Repo: repo, Registry: block.NewRegistry(), DataDir: t.TempDir(), Owner: "test"})
	if err != nil {
		t.Fatal(err)
	}
	doc := func(group string) []byte {
		return []byte(fmt.Sprintf("name: k\nblocks:\n  - type: kafka_topic_read\n    name: read\n    config: {topics: t, groupId: %q}\n", group))
	}
	repo.PutDeployment(runstate.Deployment{OrgID: "o1", FlowID: "f1", FlowName: "first", VersionID: "v1", Version: 1, Document: doc("shared"), Status: runstate.StatusActive})
	err = m.CheckSourceConflict(context.Background(), "o1", "f2", doc("shared"))
	if err == nil || !strings.Contains(err.Error(), `Kafka consumer group "shared"`) || !strings.Contains(err.Error(), "race for messages") {
		t.Fatalf("shared group: %v", err)
	}
	if err := m.CheckSourceConflict(context.Background(), "o1", "f2", doc("${neoDataflowId}")); err != nil {
		t.Fatalf("the default group is the dataflow's own: %v", err)
	}
	if err := m.CheckSourceConflict(context.Background(), "o1", "f1", doc("shared")); err != nil {
		t.Fatalf("a new version of the same dataflow keeps its group: %v", err)
	}
}
