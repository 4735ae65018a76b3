package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
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
	var srvEnv []string
	if ce.s3 != nil {
		srvEnv = []string{"AWS_ACCESS_KEY_ID=" + ce.s3.AccessKey, "AWS_SECRET_ACCESS_KEY=" + ce.s3.SecretKey}
	}
	ce.nodes[i] = startServerEnv(ce.t, ce.nodes[i].dataDir, ce.nodes[i].addr, srvEnv, args...)
	if i == 0 {
		ce.srv = ce.nodes[0]
	}
}

// kafkaStreams is the stream part of a cluster test: two topics of 6
// partitions on the sandbox broker, filled, and a Live dataflow for each —
// customers to /v2/customers/bulk (the API has a lookup) and events to
// Neo (no lookup, no duplicate code: only the idempotency key).
type kafkaStreams struct {
	ce                *clusterEnv
	customers, events int
	start             time.Time
}

func startKafkaStreams(t *testing.T, kind sharedKind, messages int) *kafkaStreams {
	kb, err := sandbox.StartKafka(sandbox.KafkaConfig{Addr: "127.0.0.1:0", Partitions: 6})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kb.Close() })
	ks := &kafkaStreams{ce: newClusterEnv(t, 2, kind), customers: messages, events: messages}
	ce := ks.ce
	// Requests take 150 ms and each node sends at most 10 a second per
	// dataflow (200 messages): 5,000 messages last 15–30 s, and a kill
	// most likely finds requests in flight.
	ce.setLatency(150 * time.Millisecond)
	var cl, el []string
	for i := range ks.customers {
		cl = append(cl, fmt.Sprintf(`c%d	{"profiles":[{"firstName":"F%d","lastName":"L","source":"INSTORE","identifiers":[{"type":"externalId","value":"K%06d"}]}],"loyaltyInfo":{"loyaltyType":"loyalty"}}`, i, i, i))
	}
	for i := range ks.events {
		el = append(el, fmt.Sprintf(`e%d	{"id":"e%d","amount":%d}`, i, i, i%1000))
	}
	testenv.KcatProduce(t, kb.Addr(), "signups", cl)
	testenv.KcatProduce(t, kb.Addr(), "events", el)
	ks.start = time.Now()
	ce.kafkaFlow("kafka-customers", kb.Addr(), "signups", "/v2/customers/bulk", true)
	ce.kafkaFlow("kafka-neo", kb.Addr(), "events", "/x/neo/ingest", false)
	return ks
}

// neo counts the stored Neo events by id.
func (ks *kafkaStreams) neo() map[string]int {
	got := map[string]int{}
	for _, e := range ks.ce.sb.Entities(sandbox.KindNeo) {
		var msgs []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(e.Body, &msgs); err != nil {
			ks.ce.t.Fatalf("neo body %s: %v", e.Body, err)
		}
		for _, m := range msgs {
			got[m.ID]++
		}
	}
	return got
}

// delivered is the customers accepted and the Neo events stored.
func (ks *kafkaStreams) delivered() (int64, int) {
	n := 0
	for _, c := range ks.neo() {
		n += c
	}
	return int64(len(ks.ce.sb.Entities(sandbox.KindCustomer))), n
}

// waitConsuming waits until every running node consumes both streams —
// it opened windows of each: it owns partitions and fetched — and both
// progressed by 150 messages since (c0, e0).
func (ks *kafkaStreams) waitConsuming(what string, nodes []int, c0 int64, e0 int) {
	ks.ce.waitFor(what, 60*time.Second, func() (bool, string) {
		c, e := ks.delivered()
		owns := true
		for _, i := range nodes {
			nd := ks.ce.nodes[i]
			owns = owns && windowsOpened(nd.logPath, "kafka-neo") && windowsOpened(nd.logPath, "kafka-customers")
		}
		return owns && c >= c0+150 && e >= e0+150, fmt.Sprintf("owns %v, customers %d, events %d", owns, c, e)
	})
	if c, e := ks.delivered(); c >= int64(ks.customers) || e >= ks.events {
		ks.ce.t.Fatalf("%s: the streams ended before it (customers %d, events %d): slow the sandbox down", what, c, e)
	}
}

// finish waits for every message and checks exactly-once: every customer
// accepted once (no duplicate arrival at the sandbox), every Neo event
// stored once. It logs what the runs recorded and returns their failed
// records by node.
func (ks *kafkaStreams) finish(what string) map[string]int64 {
	ce, t := ks.ce, ks.ce.t
	t.Helper()
	ce.waitFor("every message delivered", 90*time.Second, func() (bool, string) {
		c, e := ks.delivered()
		return c >= int64(ks.customers) && len(ks.neo()) >= ks.events, fmt.Sprintf("customers %d, events %d (%d distinct)", c, e, len(ks.neo()))
	})
	// Let in-flight re-sends land before counting duplicates.
	time.Sleep(2 * time.Second)
	sb := ce.stats()
	accepted, _ := ks.delivered()
	got := ks.neo()
	lost, dups := 0, 0
	for i := range ks.events {
		switch c := got[fmt.Sprintf("e%d", i)]; {
		case c == 0:
			lost++
		case c > 1:
			dups += c - 1
		}
	}
	failed := map[string]int64{}
	var p struct {
		Items []struct {
			Node   string `json:"node"`
			Failed int64  `json:"failed"`
		} `json:"items"`
	}
	ce.admin.do("GET", "/runs?limit=500", nil, 200, &p)
	for _, r := range p.Items {
		failed[r.Node] += r.Failed
	}
	t.Logf("%s in %s: customers accepted %d of %d, %d duplicate arrivals, lookups %v; Neo events %d of %d, %d lost, %d duplicates, %d idempotent replays; %d window runs, failed records by node %v",
		what, time.Since(ks.start).Round(time.Millisecond), accepted, ks.customers, sb.Duplicates, sb.Requests["GET /v2/customers/lookup"],
		len(got), ks.events, lost, dups, sb.IdempotentReplays, len(p.Items), failed)
	if sb.Duplicates != 0 || accepted != int64(ks.customers) {
		t.Fatalf("customers: %d duplicate arrivals %v, %d accepted of %d", sb.Duplicates, sb.DuplicateKeys, accepted, ks.customers)
	}
	if lost != 0 || dups != 0 {
		t.Fatalf("Neo events: %d lost, %d duplicates", lost, dups)
	}
	return failed
}

// TestClusterKafkaKillExactlyOnce: two `connectplus server` nodes on one
// PostgreSQL and one --shared-dir consume two topics of 6 partitions each
// in one consumer group per dataflow (kafkaStreams), and one node or the
// other is SIGKILLed three times mid-stream and started again (not after
// the last kill). The group hands the dead node's partitions to the
// survivor (or the restarted node), which reads the records past the last
// commit again: the partitions' write-ahead logs in the shared state
// directory tell it what the dead node had in flight (customers looked up,
// Neo requests re-sent as logged with their key) and what was answered.
// Every message arrives, none twice.
func TestClusterKafkaKillExactlyOnce(t *testing.T) { clusterKafkaKill(t, sharedDir) }

// TestClusterKafkaKillExactlyOnceS3 is the same with an S3 shared store
// (versitygw): no directory is shared, the partitions' logs and each
// node's list of unfinished windows are rows in PostgreSQL (block.Journal).
func TestClusterKafkaKillExactlyOnceS3(t *testing.T) { clusterKafkaKill(t, sharedS3) }

func clusterKafkaKill(t *testing.T, kind sharedKind) {
	const kills = 3
	ks := startKafkaStreams(t, kind, 5000)
	ce := ks.ce
	alive := 0
	for k := 1; k <= kills; k++ {
		victim := k % 2
		alive = 1 - victim
		c0, e0 := ks.delivered()
		// Mid-stream, with the group settled: every node's process (the
		// one started again after the last kill included) consumes both
		// streams. (A member killed in the middle of a rebalance holds the
		// whole group until the rebalance timeout.)
		ks.waitConsuming(fmt.Sprintf("kill %d: every node consuming, progress on both streams", k), []int{0, 1}, c0, e0)
		c, e := ks.delivered()
		ce.nodes[victim].kill()
		t.Logf("kill %d at %s: SIGKILLed %s at %d customers, %d events accepted", k, time.Since(ks.start).Round(time.Millisecond), ce.names[victim], c, e)
		ce.admin.base, ce.approver.base = ce.nodes[alive].url(), ce.nodes[alive].url()
		if k < kills {
			ce.restart(victim)
		}
	}
	// The last victim stays down: the survivor takes its partitions (after
	// the session timeout) and finishes both streams alone.
	ks.finish(fmt.Sprintf("%d kills (%s)", kills, kind))
	// The survivor resolved what the last victim left in flight: looked
	// customers up, re-sent Neo requests as logged.
	log := tail(ce.nodes[alive].logPath, 1<<20)
	t.Logf("%s (survivor) re-sent %d in-doubt Neo requests as logged", ce.names[alive], strings.Count(log, "in-doubt stream request re-sent as logged"))
	if strings.Contains(log, "write-ahead log: lock") {
		t.Fatalf("%s: a log lock failed", ce.names[alive])
	}
	if kind == sharedS3 {
		ks.checkJournal()
	}
}

// TestClusterKafkaZombieFenced: a node that lost its partitions but keeps
// sending is fenced. Node 2 is stopped (SIGSTOP) mid-stream for longer
// than the session timeout: the group gives all partitions to node 1
// under a newer generation, which takes the partitions' logs in
// PostgreSQL over and resolves what node 2 had in flight. Node 2 is then
// continued: its workers still hold units polled under the old
// generation and send them — every round of its log is refused by the
// owner row (the newer epoch), so those requests never leave; their
// records are delivered by node 1. Nothing arrives twice. (Whether the
// zombie still holds unsent units of a partition node 1 took depends on
// the moment: the refusals are logged, not required.)
func TestClusterKafkaZombieFenced(t *testing.T) {
	// Longer streams: every partition still has records to read when the
	// survivor has taken over.
	ks := startKafkaStreams(t, sharedS3, 12000)
	ce := ks.ce
	ks.waitConsuming("both nodes consuming, progress on both streams", []int{0, 1}, 0, 0)
	// Past the rebalance of node 2's join (a member stopped in the middle
	// of one holds the group until the rebalance timeout) and both
	// progressing since.
	if d := 10*time.Second - time.Since(ks.start); d > 0 {
		time.Sleep(d)
	}
	c1, e1 := ks.delivered()
	ks.waitConsuming("both nodes consuming after the join", []int{0, 1}, c1, e1)
	db := ks.db()
	zombie := ce.nodes[1]
	if err := zombie.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	// The partitions being read now: in each flow's namespace, the logs
	// owned under its latest generation.
	at := ownerEpochs(t, db)
	top := map[string]int64{}
	for log, e := range at {
		ns := log[:strings.Index(log, "/")]
		top[ns] = max(top[ns], e)
	}
	for log, e := range at {
		if e < top[log[:strings.Index(log, "/")]] {
			delete(at, log)
		}
	}
	c0, e0 := ks.delivered()
	t.Logf("stopped %s at %s: %d customers, %d events accepted", ce.names[1], time.Since(ks.start).Round(time.Millisecond), c0, e0)
	// Node 1 owns every partition once the session timeout (6 s) expired
	// node 2's membership and the group rebalanced; wait for its progress
	// past that.
	// It took a partition's log over once it processed a record of the
	// partition under the new generation: the owner rows' epochs rose. A
	// partition whose messages were all read before the stop gets no new
	// record to rise with: 30 s after the first rise of its dataflow
	// (node 1 then owns the group's newest generation and reads every
	// partition) it is not waited for.
	risen := map[string]time.Time{}
	ce.waitFor("node 1 took the partitions' logs over", 90*time.Second, func() (bool, string) {
		now := ownerEpochs(t, db)
		for log, e := range now {
			ns := log[:strings.Index(log, "/")]
			if _, ok := risen[ns]; !ok && e > top[ns] {
				risen[ns] = time.Now()
			}
		}
		for log, e := range at {
			first, ok := risen[log[:strings.Index(log, "/")]]
			if now[log] <= e && (!ok || time.Since(first) < 30*time.Second) {
				return false, fmt.Sprintf("%s still owned under epoch %d", log, now[log])
			}
		}
		c, e := ks.delivered()
		return c >= c0+100 && e >= e0+100, fmt.Sprintf("customers %d, events %d", c, e)
	})
	left := 0
	for log, e := range ownerEpochs(t, db) {
		if _, ok := at[log]; ok && e <= at[log] {
			left++
		}
	}
	t.Logf("node 1 owns %d of the %d partition logs being read at the stop under a newer generation", len(at)-left, len(at))
	if c, e := ks.delivered(); c >= int64(ks.customers) || e >= ks.events {
		t.Fatalf("the streams ended while node 2 was stopped (customers %d, events %d): slow the sandbox down", c, e)
	}
	if err := zombie.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	t.Logf("continued %s after %s", ce.names[1], time.Since(stopped).Round(time.Millisecond))
	failed := ks.finish("zombie (S3)")
	// The records the zombie did not send are failed in its window runs
	// ("not sent: another consumer took this record's partition over")
	// and delivered by the new owner.
	t.Logf("%s (the zombie) refused %d records after the take-over", ce.names[1], failed[ce.names[1]])
	for _, l := range strings.Split(tail(zombie.logPath, 4<<20), "\n") {
		if strings.Contains(l, "kafka partitions") || strings.Contains(l, "write-ahead") || strings.Contains(l, "window") || strings.Contains(l, "not sent") {
			t.Logf("zombie: %.400s", l)
		}
	}
	if failed[ce.names[0]] != 0 {
		t.Fatalf("the new owner failed %d records", failed[ce.names[0]])
	}
	if failed[ce.names[1]] == 0 {
		// Not a failure: the zombie had no unsent unit of a partition node
		// 1 had taken over by then (seen in 1 of 4 runs); the fencing
		// itself is asserted deterministically by
		// httpwrite.TestStreamJournalTakeOverFencesOldOwner.
		t.Logf("the zombie had nothing left to send of the partitions node 1 took over: no refusal this run")
	}
	ks.checkJournal()
}

// db opens the cluster's PostgreSQL (closed when the test ends).
func (ks *kafkaStreams) db() *sql.DB {
	t := ks.ce.t
	t.Helper()
	dsn := ""
	for i, a := range ks.ce.args[0] {
		if a == "--db" {
			dsn = ks.ce.args[0][i+1]
		}
	}
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.DB()
}

// ownerEpochs is the owner epoch of every partition log of the stream
// destinations (block_journal_owner).
func ownerEpochs(t *testing.T, db *sql.DB) map[string]int64 {
	t.Helper()
	rows, err := db.Query(`SELECT log, epoch FROM block_journal_owner WHERE log LIKE '%/post/stream/%' AND epoch > 0`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var log string
		var e int64
		if err := rows.Scan(&log, &e); err != nil {
			t.Fatal(err)
		}
		out[log] = e
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkJournal checks where an S3 cluster kept the stream state: the
// partitions' logs and the windows lists are rows of PostgreSQL, and no
// node's state directory holds a partition log (a file log has a lock
// file beside it).
func (ks *kafkaStreams) checkJournal() {
	ce, t := ks.ce, ks.ce.t
	t.Helper()
	for _, nd := range ce.nodes {
		_ = filepath.WalkDir(filepath.Join(nd.dataDir, "state"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".log.lock") {
				t.Fatalf("a partition log file on an S3 cluster: %s", p)
			}
			return nil
		})
	}
	var streams, owners, windows int
	if err := ks.db().QueryRow(`SELECT
		(SELECT COUNT(DISTINCT log) FROM block_journal WHERE log LIKE '%/post/stream/%'),
		(SELECT COUNT(*) FROM block_journal_owner WHERE log LIKE '%/post/stream/%' AND epoch > 0),
		(SELECT COUNT(*) FROM block_journal WHERE log LIKE '%/read/kafka-windows/%')`).Scan(&streams, &owners, &windows); err != nil {
		t.Fatal(err)
	}
	t.Logf("journal: %d partition logs with rows, %d owned, %d windows lists", streams, owners, windows)
	if owners == 0 || streams == 0 || windows == 0 {
		t.Fatalf("the stream state is not in the journal: %d partition logs with rows, %d owned, %d windows lists", streams, owners, windows)
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
