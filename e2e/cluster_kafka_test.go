package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/sandbox"
	"github.com/connectplus/connectplus/store"
)

// kafkaFlow is a Live stream dataflow: a topic of the sandbox broker
// consumed by a consumer group, posted in bulk to the API sandbox.
func (ce *clusterEnv) kafkaFlow(name, broker, topic, endpoint string, parse bool) flowRef {
	ce.t.Helper()
	post := `      parseResponse: "false"
`
	if parse {
		post = `      parseResponse: "true"
      responseSplitPath: "$.*"
      parsePathMap: '{"status_code": "$.[''errors''].*.code", "error_message": "$.[''errors''].*.message", "entity_id": "$.entity.id"}'
`
	}
	doc := fmt.Sprintf(`name: %s
description: e2e Kafka stream across cluster nodes
blocks:
  - type: kafka_topic_read
    name: read
    config:
      topics: %s
      brokers: %s
      groupId: %s-group
      windowDuration: 4s
      batchSize: 20
      sessionTimeout: 6s
      revocationWait: 5s
    relations: [post]
  - type: http_write
    name: post
    config:
      clientKey: {$config: capillary_client_key}
      clientSecret: {$config: capillary_client_secret}
      apiBaseUrl: %s
      oAuthBaseUrl: %s
      apiEndPoint: %s
      bulkSupport: "true"
%s      concurrency: 2
      rate: "10"
      timeUnit: SECONDS
`, name, topic, broker, name, ce.sbURL, ce.sbURL, endpoint, post)
	var cr struct {
		Dataflow store.Dataflow `json:"dataflow"`
	}
	ce.admin.do("POST", "/dataflows", map[string]any{"name": name, "document": doc, "tags": []string{"e2e"}}, 201, &cr)
	f := flowRef{ID: cr.Dataflow.ID}
	ce.approveAndGoLive(f, 1)
	return f
}

// restart starts node i again on its data directory, address and flags.
func (ce *clusterEnv) restart(i int) {
	ce.t.Helper()
	args := ce.args[i]
	if i == 0 {
		args = ce.srvArgs
	}
	ce.nodes[i] = startServer(ce.t, ce.nodes[i].dataDir, ce.nodes[i].addr, args...)
	if i == 0 {
		ce.srv = ce.nodes[0]
	}
}

// TestClusterKafkaKillExactlyOnce: two `connectplus server` nodes on one
// PostgreSQL and one --shared-dir consume two topics of 6 partitions each
// in one consumer group per dataflow — customers to /v2/customers/bulk
// (the API has a lookup) and events to Neo (no lookup, no duplicate code:
// only the idempotency key) — and one node or the other is SIGKILLed three
// times mid-stream and started again (not after the last kill). The group
// hands the dead node's partitions to the survivor (or the restarted
// node), which reads the
// records past the last commit again: the partitions' write-ahead logs in
// the shared state directory tell it what the dead node had in flight
// (customers looked up, Neo requests re-sent as logged with their key) and
// what was answered. Every message arrives, none twice.
func TestClusterKafkaKillExactlyOnce(t *testing.T) {
	const (
		customers, events = 5000, 5000
		kills             = 3
	)
	kb, err := sandbox.StartKafka(sandbox.KafkaConfig{Addr: "127.0.0.1:0", Partitions: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer kb.Close()
	ce := newClusterEnv(t, 2)
	// Requests take 150 ms and each node sends at most 10 a second per
	// dataflow (200 messages): the streams last about half a minute, and a
	// kill most likely finds requests in flight.
	ce.setLatency(150 * time.Millisecond)
	var cl, el []string
	for i := range customers {
		cl = append(cl, fmt.Sprintf(`c%d	{"profiles":[{"firstName":"F%d","lastName":"L","source":"INSTORE","identifiers":[{"type":"externalId","value":"K%06d"}]}],"loyaltyInfo":{"loyaltyType":"loyalty"}}`, i, i, i))
	}
	for i := range events {
		el = append(el, fmt.Sprintf(`e%d	{"id":"e%d","amount":%d}`, i, i, i%1000))
	}
	testenv.KcatProduce(t, kb.Addr(), "signups", cl)
	testenv.KcatProduce(t, kb.Addr(), "events", el)
	start := time.Now()
	ce.kafkaFlow("kafka-customers", kb.Addr(), "signups", "/v2/customers/bulk", true)
	ce.kafkaFlow("kafka-neo", kb.Addr(), "events", "/x/neo/ingest", false)

	neo := func() map[string]int {
		got := map[string]int{}
		for _, e := range ce.sb.Entities(sandbox.KindNeo) {
			var msgs []struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(e.Body, &msgs); err != nil {
				t.Fatalf("neo body %s: %v", e.Body, err)
			}
			for _, m := range msgs {
				got[m.ID]++
			}
		}
		return got
	}
	delivered := func() (int64, int) {
		n := 0
		for _, c := range neo() {
			n += c
		}
		return int64(len(ce.sb.Entities(sandbox.KindCustomer))), n
	}
	alive := 0
	for k := 1; k <= kills; k++ {
		victim := k % 2
		alive = 1 - victim
		c0, e0 := delivered()
		// Mid-stream, with the group settled: every node's process (the
		// one started again after the last kill included) consumes both
		// streams — it opened windows of each: it owns partitions and
		// fetched — and both progressed since the last kill. (A member
		// killed in the middle of a rebalance holds the whole group until
		// the rebalance timeout.)
		ce.waitFor(fmt.Sprintf("kill %d: every node consuming, progress on both streams", k), 60*time.Second, func() (bool, string) {
			c, e := delivered()
			owns := true
			for _, nd := range ce.nodes {
				owns = owns && windowsOpened(nd.logPath, "kafka-neo") && windowsOpened(nd.logPath, "kafka-customers")
			}
			return owns && c >= c0+150 && e >= e0+150, fmt.Sprintf("owns %v, customers %d, events %d", owns, c, e)
		})
		c, e := delivered()
		if c >= customers || e >= events {
			t.Fatalf("kill %d: the streams ended before it (customers %d, events %d): slow the sandbox down", k, c, e)
		}
		ce.nodes[victim].kill()
		t.Logf("kill %d at %s: SIGKILLed %s at %d customers, %d events accepted", k, time.Since(start).Round(time.Millisecond), ce.names[victim], c, e)
		ce.admin.base, ce.approver.base = ce.nodes[alive].url(), ce.nodes[alive].url()
		if k < kills {
			ce.restart(victim)
		}
	}
	// The last victim stays down: the survivor takes its partitions (after
	// the session timeout) and finishes both streams alone.
	ce.waitFor("every message delivered", 90*time.Second, func() (bool, string) {
		c, e := delivered()
		return c >= customers && len(neo()) >= events, fmt.Sprintf("customers %d, events %d (%d distinct)", c, e, len(neo()))
	})
	// Let in-flight re-sends land before counting duplicates.
	time.Sleep(2 * time.Second)
	sb := ce.stats()
	accepted, _ := delivered()
	got := neo()
	lost, dups := 0, 0
	for i := range events {
		switch c := got[fmt.Sprintf("e%d", i)]; {
		case c == 0:
			lost++
		case c > 1:
			dups += c - 1
		}
	}
	failedRuns := 0
	var p struct {
		Items []struct {
			Status string `json:"status"`
			Failed int64  `json:"failed"`
		} `json:"items"`
	}
	ce.admin.do("GET", "/runs?limit=500", nil, 200, &p)
	for _, r := range p.Items {
		if r.Failed > 0 {
			failedRuns++
		}
	}
	t.Logf("%d kills in %s: customers accepted %d of %d, %d duplicate arrivals, lookups %v; Neo events %d of %d, %d lost, %d duplicates, %d idempotent replays; %d window runs, %d with failed records",
		kills, time.Since(start).Round(time.Millisecond), accepted, customers, sb.Duplicates, sb.Requests["GET /v2/customers/lookup"],
		len(got), events, lost, dups, sb.IdempotentReplays, len(p.Items), failedRuns)
	if sb.Duplicates != 0 || accepted != customers {
		t.Fatalf("customers: %d duplicate arrivals %v, %d accepted of %d", sb.Duplicates, sb.DuplicateKeys, accepted, customers)
	}
	if lost != 0 || dups != 0 {
		t.Fatalf("Neo events: %d lost, %d duplicates", lost, dups)
	}
	// The survivor resolved what the last victim left in flight: looked
	// customers up, re-sent Neo requests as logged.
	log := tail(ce.nodes[alive].logPath, 1<<20)
	t.Logf("%s (survivor) re-sent %d in-doubt Neo requests as logged", ce.names[alive], strings.Count(log, "in-doubt stream request re-sent as logged"))
	if strings.Contains(log, "write-ahead log: lock") {
		t.Fatalf("%s: a log lock failed", ce.names[alive])
	}
}

// windowsOpened reports whether a server's log shows a window of the
// stream dataflow opened: the node owns partitions of it and fetched.
func windowsOpened(logPath, flow string) bool {
	for _, l := range strings.Split(tail(logPath, 1<<20), "\n") {
		// Not a window a previous process left (resumed): those close at
		// once, whatever the process owns.
		if strings.Contains(l, `"msg":"stream window opened"`) && strings.Contains(l, `"flow":"`+flow+`"`) && strings.Contains(l, `"resumed":false`) {
			return true
		}
	}
	return false
}
