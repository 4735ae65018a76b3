package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/store"
)

// clusterEnv is the e2e environment with N `connectplus server` processes
// sharing one PostgreSQL database and one shared store (result spools and
// result files): a versitygw bucket (--shared-store) or a directory
// (--shared-dir), each node with its own data directory and node name.
type clusterEnv struct {
	*env
	nodes []*serverProc
	names []string
	args  [][]string
	// s3 is the versitygw holding the shared bucket (nil: --shared-dir).
	s3 *testenv.S3Server
}

// sharedKind is where a cluster's nodes share spools and result files.
type sharedKind string

const (
	sharedS3  sharedKind = "s3"  // one versitygw bucket, --shared-store
	sharedDir sharedKind = "dir" // one directory, --shared-dir
)

// sharedBucket and sharedPrefix are the cluster tests' --shared-store.
const sharedBucket, sharedPrefix = "cluster", "nodes"

// clusterLease is the tests' --node-lease: a killed node's files move on
// after at most this long plus a reconcile interval (lease/5), whichever
// node died (the leader included).
const clusterLease = 3 * time.Second

func newClusterEnv(t testing.TB, n int, kind sharedKind, extra ...string) *clusterEnv {
	t.Helper()
	pg := testenv.Postgres(t)
	base := t.TempDir()
	ce := &clusterEnv{}
	sharedArgs := []string{"--shared-dir", filepath.Join(base, "shared")}
	var srvEnv []string
	if kind == sharedS3 {
		ce.s3 = testenv.S3(t)
		ce.s3.CreateBucket(t, sharedBucket)
		sharedArgs = []string{"--shared-store", "s3://" + sharedBucket + "/" + sharedPrefix,
			"--shared-store-endpoint", ce.s3.Endpoint, "--shared-store-region", ce.s3.Region}
		srvEnv = []string{"AWS_ACCESS_KEY_ID=" + ce.s3.AccessKey, "AWS_SECRET_ACCESS_KEY=" + ce.s3.SecretKey}
	}
	// One master key for every node: secrets encrypted through one node
	// are decrypted by the others.
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	keyFile := filepath.Join(base, "master.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	common := append(append([]string{"--db", pg.DSN, "--master-key-file", keyFile,
		"--node-lease", clusterLease.String(), "--drain-timeout", "2s"}, sharedArgs...), extra...)
	first := append(append([]string(nil), common...), "--node-name", "node-1")
	ce.env = newEnvWith(t, srvEnv, first...)
	ce.nodes = append(ce.nodes, ce.srv)
	ce.names = append(ce.names, "node-1")
	ce.args = append(ce.args, first)
	for i := 2; i <= n; i++ {
		name := fmt.Sprintf("node-%d", i)
		args := append([]string{"--allow-path", ce.localDir}, append(append([]string(nil), common...), "--node-name", name)...)
		ce.nodes = append(ce.nodes, startServerEnv(t, filepath.Join(base, name), "", srvEnv, args...))
		ce.names = append(ce.names, name)
		ce.args = append(ce.args, args)
	}
	ce.waitFor("every node listed alive", 20*time.Second, func() (bool, string) {
		st := ce.cluster(0)
		alive := 0
		for _, nd := range st.Nodes {
			if nd.Alive {
				alive++
			}
		}
		return alive == n && st.Leader != "", fmt.Sprintf("%+v", st)
	})
	return ce
}

// checkS3Store checks what the bucket holds once the killed node's file
// finished elsewhere: the node that resumed it rebuilt its spool from the
// bucket's segments, the result file is kept there and downloads whole
// through the API, and no spool segment is left.
func (ce *clusterEnv) checkS3Store(big runstate.Run, rows int) {
	t := ce.t
	t.Helper()
	i := ce.nodeIndex(big.Node)
	b, _ := os.ReadFile(ce.nodes[i].logPath)
	var seg struct {
		Uploads  int    `json:"uploads"`
		Mean     string `json:"mean"`
		Restored bool   `json:"restored"`
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, `"msg":"result spool segments"`) && strings.Contains(line, big.ID) {
			if err := json.Unmarshal([]byte(line), &seg); err != nil {
				t.Fatalf("log line %s: %v", line, err)
			}
		}
	}
	if !seg.Restored || seg.Uploads == 0 {
		t.Fatalf("%s did not rebuild big.csv's spool from the bucket (%+v)", big.Node, seg)
	}
	t.Logf("big.csv on %s: spool rebuilt from the bucket; %d segments uploaded after the resume, %s per upload", big.Node, seg.Uploads, seg.Mean)
	if !strings.HasPrefix(big.ResultPath, "s3://"+sharedBucket+"/"+sharedPrefix+"/results/") {
		t.Fatalf("big.csv's result file is kept at %q", big.ResultPath)
	}
	body, st := ce.admin.send("GET", "/runs/"+big.ID+"/result", nil)
	if st != 200 || strings.Count(string(body), "\n") != rows+1 {
		t.Fatalf("downloading big.csv's result: %d, %d lines", st, strings.Count(string(body), "\n"))
	}
	ctx := context.Background()
	out, err := ce.s3.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(sharedBucket), Prefix: aws.String(sharedPrefix + "/spools/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 0 {
		t.Fatalf("%d spool segments left on the bucket after every file finished, first %s", len(out.Contents), aws.ToString(out.Contents[0].Key))
	}
}

// createLiveFlow creates the dataflow through node 1 and waits until every
// node has deployed it (the first poll may run on any node).
func (ce *clusterEnv) createLiveFlow(s flowSpec) flowRef {
	ce.t.Helper()
	var cr struct {
		Dataflow store.Dataflow `json:"dataflow"`
	}
	ce.admin.do("POST", "/dataflows", map[string]any{"name": s.name, "document": ce.document(s), "tags": []string{"e2e"}}, 201, &cr)
	f := flowRef{ID: cr.Dataflow.ID}
	ce.approveAndGoLive(f, 1)
	for i := range ce.nodes {
		ce.waitFor(ce.names[i]+" to deploy the new Live version", 20*time.Second, func() (bool, string) {
			var st runstate.FlowRuntime
			ce.on(i).do("GET", "/dataflows/"+f.ID+"/status", nil, 200, &st)
			return st.LiveVersion == 1 && st.Deployment == runstate.DeployReady, fmt.Sprintf("%+v", st)
		})
	}
	return f
}

// on returns the admin client pointed at node i.
func (ce *clusterEnv) on(i int) *client {
	c := *ce.admin
	c.base = ce.nodes[i].url()
	return &c
}

func (ce *clusterEnv) cluster(i int) runstate.ClusterStatus {
	ce.t.Helper()
	var st runstate.ClusterStatus
	ce.on(i).do("GET", "/cluster", nil, 200, &st)
	return st
}

// filesDone counts, per node, the files its log says it finished.
func (ce *clusterEnv) filesDone() map[string]int {
	out := map[string]int{}
	for i, nd := range ce.nodes {
		b, _ := os.ReadFile(nd.logPath)
		out[ce.names[i]] += strings.Count(string(b), `"msg":"file done"`)
	}
	return out
}

// backlogTimeline is where the time of a backlog went, from the nodes'
// logs: when the poll that listed the files ran, when the first file was
// picked up and the last one done, and the mean time a file took.
type backlogTimeline struct {
	polled, firstPick, lastDone time.Duration
	meanFile                    time.Duration
	files                       int
	polls                       []string // each poll: when, where, what it listed
}

func (ce *clusterEnv) timeline(start time.Time) backlogTimeline {
	var tl backlogTimeline
	picked := map[string]time.Time{}
	var sum time.Duration
	for _, nd := range ce.nodes {
		b, _ := os.ReadFile(nd.logPath)
		for _, line := range strings.Split(string(b), "\n") {
			var e struct {
				Time    time.Time `json:"time"`
				Msg     string    `json:"msg"`
				Lineage string    `json:"lineage"`
				Node    string    `json:"node"`
				Listed  int       `json:"listed"`
				Waited  string    `json:"waited"`
				Reason  string    `json:"reason"`
			}
			if json.Unmarshal([]byte(line), &e) != nil || e.Time.Before(start) {
				continue
			}
			at := e.Time.Sub(start)
			switch e.Msg {
			case "polled":
				tl.polls = append(tl.polls, fmt.Sprintf("%s on %s listed %d (queued %s)", at.Round(time.Millisecond), e.Node, e.Listed, e.Waited))
				if e.Listed > 0 && (tl.polled == 0 || at < tl.polled) {
					tl.polled = at
				}
			case "poll put off":
				tl.polls = append(tl.polls, fmt.Sprintf("%s on %s put off: %s", at.Round(time.Millisecond), e.Node, e.Reason))
			case "file picked up":
				if tl.firstPick == 0 || at < tl.firstPick {
					tl.firstPick = at
				}
				picked[e.Lineage] = e.Time
			case "file done":
				tl.lastDone = max(tl.lastDone, at)
				if p, ok := picked[e.Lineage]; ok {
					sum += e.Time.Sub(p)
					tl.files++
				}
			}
		}
	}
	if tl.files > 0 {
		tl.meanFile = sum / time.Duration(tl.files)
	}
	return tl
}

func (ce *clusterEnv) nodeIndex(name string) int {
	for i, n := range ce.names {
		if n == name {
			return i
		}
	}
	return -1
}

// TestClusterThirtyFilesOnceEach: three servers on one PostgreSQL; 30 files
// dropped at once into a Live dataflow's SFTP folder are processed exactly
// once each (sandbox: 0 duplicates, 0 lost) and spread over the nodes; a
// pause given to node 1 is obeyed by node 3 within the stated bound; the
// node holding a file is SIGKILLed mid-way and another node finishes it
// with no record sent twice; then the leader is SIGKILLed and the last
// node leads within a lease and still works.
// TestClusterThirtyFilesOnceEach: three servers sharing one PostgreSQL
// and one versitygw bucket (--shared-store): the spools are segments on
// the bucket, the write-ahead logs rows of the database.
func TestClusterThirtyFilesOnceEach(t *testing.T) { clusterThirtyFiles(t, sharedS3) }

// TestClusterThirtyFilesOnceEachSharedDir is the same on --shared-dir.
func TestClusterThirtyFilesOnceEachSharedDir(t *testing.T) { clusterThirtyFiles(t, sharedDir) }

func clusterThirtyFiles(t *testing.T, kind sharedKind) {
	ce := newClusterEnv(t, 3, kind)
	ce.setLatency(20 * time.Millisecond)
	f := ce.createLiveFlow(flowSpec{name: "cluster-30", cron: neverCron, tag: "c30"})
	const files, rows = 30, 40
	var names []string
	for i := 1; i <= files; i++ {
		n := fmt.Sprintf("c%02d.csv", i)
		ce.dropFile(n, customersCSV(fmt.Sprintf("C%02d", i), rows))
		names = append(names, n)
	}
	// Run-now through node 2: the poll job runs on any node, the files on all.
	ce.on(1).do("POST", "/dataflows/"+f.ID+"/run-now", nil, 200, nil)
	rs := ce.waitRuns(f, 90*time.Second, names...)
	runsOn := map[string]int{}
	for _, n := range names {
		r := rs[n]
		if r.Status != runstate.RunSuccess || r.Delivered != rows || ce.nodeIndex(r.Node) < 0 {
			t.Fatalf("%s: %+v", n, r)
		}
		runsOn[r.Node]++
	}
	sb := ce.stats()
	if sb.Duplicates != 0 || sb.UniqueKeys != files*rows || sb.ReceivedEntities != files*rows {
		t.Fatalf("sandbox: %d received, %d unique, %d duplicates (want %d, 0 duplicates)", sb.ReceivedEntities, sb.UniqueKeys, sb.Duplicates, files*rows)
	}
	per := ce.filesDone()
	t.Logf("30 files: per-node files done %v; sandbox %d records, %d duplicates", per, sb.ReceivedEntities, sb.Duplicates)
	total, busy := 0, 0
	for _, n := range per {
		total += n
		if n > 0 {
			busy++
		}
	}
	if total != files || busy < 2 {
		t.Fatalf("files per node %v: want %d in all, on at least 2 nodes", per, files)
	}
	// The run records name the node that ran each file, as its log does.
	for n, c := range per {
		if runsOn[n] != c {
			t.Fatalf("run records per node %v, node logs %v", runsOn, per)
		}
	}
	if got := ce.sftpFiles("processed"); len(got) != files {
		t.Fatalf("processed folder: %v", got)
	}

	// Pause through node 1; node 3 reports it within the bound.
	const bound = 2 * time.Second
	start := time.Now()
	ce.on(0).do("POST", "/dataflows/"+f.ID+"/pause", nil, 200, nil)
	var seen time.Duration
	waitFor(t, "node 3 to see the pause", bound, func() (bool, string) {
		var st runstate.FlowRuntime
		ce.on(2).do("GET", "/dataflows/"+f.ID+"/status", nil, 200, &st)
		seen = time.Since(start)
		return st.Status == runstate.StatusPaused, fmt.Sprintf("%+v", st)
	})
	t.Logf("pause on node 1 seen by node 3 after %s (bound %s)", seen.Round(time.Millisecond), bound)
	ce.on(2).do("POST", "/dataflows/"+f.ID+"/start", nil, 200, nil)
	waitFor(t, "node 1 to see the start", bound, func() (bool, string) {
		var st runstate.FlowRuntime
		ce.on(0).do("GET", "/dataflows/"+f.ID+"/status", nil, 200, &st)
		return st.Status == runstate.StatusActive && st.Deployment == runstate.DeployReady, fmt.Sprintf("%+v", st)
	})

	// SIGKILL of the node holding a file mid-way: another node finishes it.
	ce.setLatency(50 * time.Millisecond)
	const bigRows = 2000
	ce.dropFile("big.csv", customersCSV("BIG", bigRows))
	before := ce.stats().ReceivedEntities
	ce.on(0).do("POST", "/dataflows/"+f.ID+"/run-now", nil, 200, nil)
	var holder string
	waitFor(t, "a node to hold big.csv with records delivered", 30*time.Second, func() (bool, string) {
		st := ce.cluster(0)
		holder = ""
		for _, nd := range st.Nodes {
			if nd.RunningJobs > 0 {
				holder = nd.Name
			}
		}
		got := ce.stats().ReceivedEntities - before
		return holder != "" && got >= 300, fmt.Sprintf("holder %q, received %d", holder, got)
	})
	victim := ce.nodeIndex(holder)
	atKill := ce.stats().ReceivedEntities - before
	ce.nodes[victim].kill()
	t.Logf("SIGKILLed %s holding big.csv after %d of %d records", holder, atKill, bigRows)
	alive := (victim + 1) % len(ce.nodes)
	ce.admin.base, ce.approver.base = ce.nodes[alive].url(), ce.nodes[alive].url()
	rs = ce.waitRuns(f, 60*time.Second, "big.csv")
	big := rs["big.csv"]
	sb = ce.stats()
	lookups := sb.Requests["GET /v2/customers/lookup"]
	t.Logf("big.csv finished on %s: %s, delivered %d, failed %d, interruptions %d; sandbox: %d received for it, %d duplicate arrivals in all, lookups %v",
		big.Node, big.Status, big.Delivered, big.Failed, big.Interruptions, sb.ReceivedEntities-before, sb.Duplicates, lookups)
	// Exactly once across the kill: the write-ahead log (in the shared
	// state directory) tells the node that resumes which records were in
	// doubt; each is looked up at the API instead of being sent again
	// (docs/exactly-once.md). Nothing arrives twice, nothing fails.
	if sb.Duplicates != 0 || sb.UniqueKeys != int64(files*rows+bigRows) {
		t.Fatalf("sandbox after the kill: %d duplicate arrivals %v, %d unique keys (want 0 duplicates, %d keys)", sb.Duplicates, sb.DuplicateKeys, sb.UniqueKeys, files*rows+bigRows)
	}
	if big.Status != runstate.RunSuccess || big.RecordsIn != bigRows || big.Delivered != bigRows || big.Failed != 0 || big.Interruptions < 1 ||
		big.Node == holder || ce.nodeIndex(big.Node) < 0 {
		t.Fatalf("big.csv: %+v", big)
	}
	tags := ce.customerTags()
	for i := 1; i <= bigRows; i++ {
		if _, ok := tags[fmt.Sprintf("BIG-%06d", i)]; !ok {
			t.Fatalf("BIG-%06d lost", i)
		}
	}
	if kind == sharedS3 {
		// The records in doubt at the kill came from the dead node's
		// write-ahead log, which an S3 store keeps in the database: without
		// it the resuming node knows of none and looks nothing up.
		var n int64
		for _, c := range lookups {
			n += int64(c)
		}
		if n == 0 {
			t.Fatalf("big.csv resumed without looking up a record in doubt: the dead node's write-ahead log was not read")
		}
		ce.checkS3Store(big, bigRows)
	}

	// Stop given to one node cancels the in-flight file on the node that
	// runs it; after Start the same run resumes and finishes.
	ce.dropFile("stop.csv", customersCSV("STOP", bigRows))
	before = ce.stats().ReceivedEntities
	ce.on(alive).do("POST", "/dataflows/"+f.ID+"/run-now", nil, 200, nil)
	holder = ""
	waitFor(t, "a node to hold stop.csv", 30*time.Second, func() (bool, string) {
		holder = ""
		for _, nd := range ce.cluster(alive).Nodes {
			if nd.RunningJobs > 0 && nd.Alive {
				holder = nd.Name
			}
		}
		got := ce.stats().ReceivedEntities - before
		return holder != "" && got >= 200, fmt.Sprintf("holder %q, received %d", holder, got)
	})
	other := alive
	for i := range ce.nodes {
		if i != victim && ce.names[i] != holder {
			other = i
		}
	}
	stopAt := time.Now()
	ce.on(other).do("POST", "/dataflows/"+f.ID+"/stop", nil, 200, nil)
	waitFor(t, holder+" to stop stop.csv", 5*time.Second, func() (bool, string) {
		st := ce.cluster(other)
		for _, nd := range st.Nodes {
			if nd.Name == holder && nd.RunningJobs > 0 {
				return false, fmt.Sprintf("%+v", st.Nodes)
			}
		}
		r := ce.runs(f)["stop.csv"]
		return r.Status == runstate.RunStopped, fmt.Sprintf("run %s", r.Status)
	})
	t.Logf("stop given to %s cancelled stop.csv on %s after %s", ce.names[other], holder, time.Since(stopAt).Round(time.Millisecond))
	ce.on(other).do("POST", "/dataflows/"+f.ID+"/start", nil, 200, nil)
	ce.waitFor("every node to deploy again after start", 20*time.Second, func() (bool, string) {
		for i := range ce.nodes {
			if i == victim {
				continue
			}
			var st runstate.FlowRuntime
			ce.on(i).do("GET", "/dataflows/"+f.ID+"/status", nil, 200, &st)
			if st.Status != runstate.StatusActive || st.Deployment != runstate.DeployReady {
				return false, fmt.Sprintf("%s: %+v", ce.names[i], st)
			}
		}
		return true, ""
	})
	ce.on(other).do("POST", "/dataflows/"+f.ID+"/run-now", nil, 200, nil)
	stopped := ce.waitRuns(f, 60*time.Second, "stop.csv")["stop.csv"]
	sb = ce.stats()
	t.Logf("stop.csv after start: %s, delivered %d, failed %d, interruptions %d (%d duplicate arrivals in all)", stopped.Status, stopped.Delivered, stopped.Failed, stopped.Interruptions, sb.Duplicates)
	if stopped.Status != runstate.RunSuccess || stopped.RecordsIn != bigRows || stopped.Delivered != bigRows || stopped.Failed != 0 || sb.Duplicates != 0 {
		t.Fatalf("stop.csv: %+v; sandbox duplicates %d %v", stopped, sb.Duplicates, sb.DuplicateKeys)
	}

	var after []string
	for _, nd := range ce.cluster(alive).Nodes {
		after = append(after, fmt.Sprintf("%s alive=%v leader=%v", nd.Name, nd.Alive, nd.Leader))
	}
	sort.Strings(after)
	t.Logf("cluster after the kill: %s", strings.Join(after, "; "))

	// SIGKILL of the leader: PostgreSQL ends its presence session at once,
	// a survivor counts it dead two heartbeat intervals after its last
	// heartbeat, resigns its term and leads within one lease of the kill
	// (not River's 15 s leader TTL), and still polls and processes a new
	// file.
	leader := ce.cluster(alive).Leader
	li := ce.nodeIndex(leader)
	if li < 0 || li == victim {
		t.Fatalf("leader %q after the first kill", leader)
	}
	survivor := -1
	for i := range ce.nodes {
		if i != victim && i != li {
			survivor = i
		}
	}
	ce.dropFile("after-leader.csv", customersCSV("ALD", rows))
	killedAt := time.Now()
	ce.nodes[li].kill()
	ce.admin.base, ce.approver.base = ce.nodes[survivor].url(), ce.nodes[survivor].url()
	leaderBound := clusterLease
	waitFor(t, ce.names[survivor]+" to lead after the leader was killed", leaderBound, func() (bool, string) {
		st := ce.cluster(survivor)
		return st.Leader == ce.names[survivor], fmt.Sprintf("leader %q", st.Leader)
	})
	t.Logf("SIGKILLed the leader %s; %s leads after %s (lease %s, bound %s)", leader, ce.names[survivor],
		time.Since(killedAt).Round(time.Millisecond), clusterLease, leaderBound)
	ce.on(survivor).do("POST", "/dataflows/"+f.ID+"/run-now", nil, 200, nil)
	if r := ce.waitRuns(f, 60*time.Second, "after-leader.csv")["after-leader.csv"]; r.Status != runstate.RunSuccess || r.Delivered != rows || r.Node != ce.names[survivor] {
		t.Fatalf("after-leader.csv: %+v", r)
	}
	if sb := ce.stats(); sb.Duplicates != 0 {
		t.Fatalf("sandbox: %d duplicate arrivals %v", sb.Duplicates, sb.DuplicateKeys)
	}
}

// BenchmarkClusterBacklog is the figure that shows the point of scaling:
// with the sandbox adding 50 ms to every request (the destination, not the
// CPU, bounds a node), a backlog of 30 files on 1 node and on 3 nodes.
//
//	go test -run '^$' -bench BenchmarkClusterBacklog -benchtime 1x ./e2e/
func BenchmarkClusterBacklog(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			ce := newClusterEnv(b, n, sharedS3)
			ce.setLatency(50 * time.Millisecond)
			f := ce.createLiveFlow(flowSpec{name: fmt.Sprintf("backlog-%d", n), cron: neverCron, tag: "bl"})
			const files, rows = 30, 200
			b.ResetTimer()
			for it := 0; it < b.N; it++ {
				b.StopTimer()
				before := ce.filesDone()
				var names []string
				for i := 1; i <= files; i++ {
					name := fmt.Sprintf("b%d-%02d.csv", it, i)
					ce.dropFile(name, customersCSV(fmt.Sprintf("B%d-%02d", it, i), rows))
					names = append(names, name)
				}
				b.StartTimer()
				start := time.Now()
				ce.on(0).do("POST", "/dataflows/"+f.ID+"/run-now", nil, 200, nil)
				rs := ce.waitRuns(f, 5*time.Minute, names...)
				took := time.Since(start)
				b.StopTimer()
				for _, name := range names {
					if r := rs[name]; r.Status != runstate.RunSuccess || r.Delivered != rows {
						b.Fatalf("%s: %+v", name, r)
					}
				}
				per := map[string]int{}
				for k, v := range ce.filesDone() {
					per[k] = v - before[k]
				}
				tl := ce.timeline(start)
				b.ReportMetric(took.Seconds(), "s/backlog")
				b.Logf("%d node(s): %d files x %d records in %s; files per node %v; sandbox duplicates %d; "+
					"poll listed them at %s, first file picked up at %s, last done at %s, a file took %s on average; polls: %s",
					n, files, rows, took.Round(time.Millisecond), per, ce.stats().Duplicates,
					tl.polled.Round(time.Millisecond), tl.firstPick.Round(time.Millisecond), tl.lastDone.Round(time.Millisecond), tl.meanFile.Round(time.Millisecond),
					strings.Join(tl.polls, "; "))
				b.StartTimer()
			}
		})
	}
}

// TestClusterStalledNodeIsFenced: the node holding a file stops answering
// without dying (SIGSTOP: its process and its database sessions stay) for
// longer than the node lease. Another node counts it dead by its silent
// heartbeats, takes the file over and finishes it. When the stalled node
// wakes up (SIGCONT) it finds it was silent for a lease: it sends nothing
// more (Fence, before each request), checkpoints nothing the claim would
// accept, and exits (status 3) for its supervisor to restart it. The
// sandbox saw every record once: 0 lost, 0 duplicates; the run record is
// the rescuer's.
func TestClusterStalledNodeIsFenced(t *testing.T) {
	ce := newClusterEnv(t, 3, sharedS3)
	ce.setLatency(50 * time.Millisecond)
	f := ce.createLiveFlow(flowSpec{name: "cluster-stall", cron: neverCron, tag: "stall"})
	const rows = 2000
	ce.dropFile("stall.csv", customersCSV("STL", rows))
	ce.on(0).do("POST", "/dataflows/"+f.ID+"/run-now", nil, 200, nil)
	var holder string
	waitFor(t, "a node to hold stall.csv with records delivered", 30*time.Second, func() (bool, string) {
		holder = ""
		for _, nd := range ce.cluster(0).Nodes {
			if nd.RunningJobs > 0 {
				holder = nd.Name
			}
		}
		got := ce.stats().ReceivedEntities
		return holder != "" && got >= 300, fmt.Sprintf("holder %q, received %d", holder, got)
	})
	victim := ce.nodeIndex(holder)
	p := ce.nodes[victim]
	atStop := ce.stats().ReceivedEntities
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stoppedAt := time.Now()
	t.Cleanup(func() { _ = p.cmd.Process.Signal(syscall.SIGCONT) })
	t.Logf("SIGSTOPped %s holding stall.csv after %d of %d records", holder, atStop, rows)
	alive := (victim + 1) % len(ce.nodes)
	ce.admin.base, ce.approver.base = ce.nodes[alive].url(), ce.nodes[alive].url()
	r := ce.waitRuns(f, 60*time.Second, "stall.csv")["stall.csv"]
	finishedAfter := time.Since(stoppedAt)
	if r.Status != runstate.RunSuccess || r.RecordsIn != rows || r.Delivered != rows || r.Failed != 0 || r.Node == holder || r.Interruptions < 1 {
		t.Fatalf("stall.csv while %s was stopped: %+v", holder, r)
	}
	if finishedAfter < clusterLease {
		t.Fatalf("stall.csv finished %s after the stop, before the lease (%s) ran out: the stalled node was not waited for", finishedAfter, clusterLease)
	}
	t.Logf("stall.csv finished on %s %s after the stop (lease %s)", r.Node, finishedAfter.Round(time.Millisecond), clusterLease)

	// The stalled node wakes up: it must neither send nor record anything.
	if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	contAt := time.Now()
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s still runs 15 s after SIGCONT; log tail:\n%s", holder, tail(p.logPath, 30))
	}
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("%s ended with %v, want exit status 3 (fenced)", holder, p.err)
	}
	b, _ := os.ReadFile(p.logPath)
	if !strings.Contains(string(b), "presumed dead by the cluster") {
		t.Fatalf("%s's log does not say it was fenced:\n%s", holder, tail(p.logPath, 30))
	}
	t.Logf("%s exited %s after SIGCONT (fenced)", holder, time.Since(contAt).Round(time.Millisecond))
	time.Sleep(time.Second) // anything it sent late would have arrived
	sb := ce.stats()
	if sb.Duplicates != 0 || sb.UniqueKeys != rows || sb.ReceivedEntities != rows {
		t.Fatalf("sandbox: %d received, %d unique, %d duplicate arrivals %v (want %d, 0 duplicates)", sb.ReceivedEntities, sb.UniqueKeys, sb.Duplicates, sb.DuplicateKeys, rows)
	}
	tags := ce.customerTags()
	for i := 1; i <= rows; i++ {
		if _, ok := tags[fmt.Sprintf("STL-%06d", i)]; !ok {
			t.Fatalf("STL-%06d lost", i)
		}
	}
	if again := ce.runs(f)["stall.csv"]; again.Status != r.Status || again.Node != r.Node || again.Delivered != rows || again.Failed != 0 {
		t.Fatalf("the run record changed after %s woke up: %+v, was %+v", holder, again, r)
	}
	t.Logf("sandbox: %d records, %d duplicates; lookups %v", sb.ReceivedEntities, sb.Duplicates, sb.Requests["GET /v2/customers/lookup"])
}
