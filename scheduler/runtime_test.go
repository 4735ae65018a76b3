package scheduler

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/sftp"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/runstate/memrepo"
)

// dirSource lists *.csv in a directory and moves finished files to done/.
type dirSource struct {
	dir   string
	lists *atomic.Int64
}

func (s *dirSource) List(context.Context) ([]block.Item, error) {
	ents, err := os.ReadDir(s.dir)
	// Counted after reading, so a test that waits for a listing knows the
	// folder was already read.
	s.lists.Add(1)
	if err != nil {
		return nil, err
	}
	var items []block.Item
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".csv") {
			continue
		}
		info, _ := e.Info()
		items = append(items, block.Item{Key: filepath.Join(s.dir, e.Name()), Name: e.Name(), Dir: s.dir, Size: info.Size(), ModTime: info.ModTime()})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	return items, nil
}

func (s *dirSource) Open(_ context.Context, it block.Item) (*block.Unit, error) {
	f, err := block.LocalFile(it.Name, it.Key)
	if err != nil {
		return nil, err
	}
	return &block.Unit{Attrs: block.Attributes{block.AttrFilename: it.Name}, File: f}, nil
}

func (s *dirSource) Finish(_ context.Context, it block.Item, _ *block.Completion) error {
	_ = os.MkdirAll(filepath.Join(s.dir, "done"), 0o755)
	return os.Rename(it.Key, filepath.Join(s.dir, "done", it.Name))
}

// rows turns each line into a record (one per batch of 5).
type rows struct{}

func (rows) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	rc, err := u.File.Open(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	var seq int64
	var cur []block.Record
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		nu := u.Derive()
		nu.Batch = &block.Batch{Header: block.NewHeader([]string{"v"}), Records: cur}
		cur = nil
		return out.Emit(ctx, block.RelSuccess, nu)
	}
	for sc.Scan() {
		seq++
		if u.Lineage.Acked(seq) {
			continue
		}
		cur = append(cur, block.Record{Seq: seq, Line: seq, Cols: []string{sc.Text()}})
		if len(cur) == 5 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// gateSink delivers records, waiting on gate (when set) before each batch.
type gateSink struct {
	mu   sync.Mutex
	got  map[string]int
	gate chan struct{}
	tag  string
	tags map[string]string
}

func (s *gateSink) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	s.mu.Lock()
	g := s.gate
	s.mu.Unlock()
	if g != nil {
		select {
		case <-g:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	for _, r := range u.Batch.Records {
		s.got[r.Cols[0]]++
		s.tags[r.Cols[0]] = s.tag
	}
	s.mu.Unlock()
	out.Ack(u, nil)
	return nil
}

type fixture struct {
	t     *testing.T
	dir   string
	repo  *memrepo.Repo
	clock *ManualClock
	m     *Manager
	lists atomic.Int64
	sink  *gateSink
	// slow_read sources start (connect) only once slowGate is closed.
	slowGate  chan struct{}
	slowLists atomic.Int64
	stop      context.CancelFunc
	done      chan struct{}
}

func newFixture(t *testing.T) *fixture {
	fx := &fixture{t: t, dir: t.TempDir(), repo: memrepo.New(), clock: NewManualClock(time.Date(2026, 3, 2, 10, 0, 30, 0, time.UTC))}
	fx.sink = &gateSink{got: map[string]int{}, tags: map[string]string{}}
	fx.slowGate = make(chan struct{})
	reg := block.NewRegistry()
	reg.MustRegister(
		&block.Spec{Type: "dir_read", Label: "dir", Class: block.ClassSource, Input: block.KindNone, Output: block.KindFile,
			Fields: []block.Field{{Key: "sourceDirectory", Label: "dir", Type: block.TypeString}, {Key: "apiErrorFilePath", Label: "err", Type: block.TypeString}},
			New: func(c *block.Config, _ *block.Env) (block.Block, error) {
				return &dirSource{dir: c.String("sourceDirectory"), lists: &fx.lists}, nil
			}},
		&block.Spec{Type: "rows", Label: "rows", Class: block.ClassExecutor, Input: block.KindFile, Output: block.KindRecords,
			New: func(*block.Config, *block.Env) (block.Block, error) { return rows{}, nil }},
		&block.Spec{Type: "gate_sink", Label: "sink", Class: block.ClassExecutor, Input: block.KindRecords, Output: block.KindRecords,
			Fields: []block.Field{{Key: "tag", Label: "tag", Type: block.TypeString}},
			New: func(c *block.Config, _ *block.Env) (block.Block, error) {
				fx.sink.mu.Lock()
				fx.sink.tag = c.String("tag")
				fx.sink.mu.Unlock()
				return fx.sink, nil
			}},
	)
	reg.MustRegister(&block.Spec{Type: "slow_read", Label: "slow", Class: block.ClassSource, Input: block.KindNone, Output: block.KindFile,
		Fields: []block.Field{{Key: "sourceDirectory", Label: "dir", Type: block.TypeString}},
		New: func(c *block.Config, _ *block.Env) (block.Block, error) {
			return &slowSource{dirSource: dirSource{dir: c.String("sourceDirectory"), lists: &fx.slowLists}, gate: fx.slowGate}, nil
		}})
	// The real SFTP blocks, for flows that must reach a server.
	sftp.Register(reg)
	m, err := New(Options{Repo: fx.repo, Registry: reg, Clock: fx.clock, DataDir: t.TempDir(), Owner: "test", ReloadInterval: time.Hour, DrainTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	fx.m = m
	return fx
}

func (fx *fixture) doc(cron, tag string) []byte {
	return []byte(fmt.Sprintf(`name: flow
trigger:
  cron: %q
blocks:
  - type: dir_read
    name: read
    config: {sourceDirectory: %q, apiErrorFilePath: /errors}
    relations: [conv]
  - type: rows
    name: conv
    relations: [post]
  - type: gate_sink
    name: post
    config: {tag: %q}
`, cron, fx.dir, tag))
}

func (fx *fixture) deploy(version int, tag string) {
	fx.repo.PutDeployment(runstate.Deployment{OrgID: "o1", FlowID: "f1", FlowName: "flow", VersionID: fmt.Sprint("v", version), Version: version,
		Document: fx.doc("0 0/5 * * * ?", tag), Status: runstate.StatusActive, TimeZone: "UTC"})
}

func (fx *fixture) start() {
	ctx, cancel := context.WithCancel(context.Background())
	fx.stop = cancel
	fx.done = make(chan struct{})
	go func() {
		defer close(fx.done)
		_ = fx.m.Run(ctx)
	}()
	fx.t.Cleanup(func() {
		fx.sink.mu.Lock()
		if fx.sink.gate != nil {
			close(fx.sink.gate)
			fx.sink.gate = nil
		}
		fx.sink.mu.Unlock()
		cancel()
		<-fx.done
	})
}

func (fx *fixture) file(name string, n int, prefix string) {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%s%d\n", prefix, i)
	}
	if err := os.WriteFile(filepath.Join(fx.dir, name), []byte(b.String()), 0o644); err != nil {
		fx.t.Fatal(err)
	}
}

func (fx *fixture) eventually(what string, cond func() bool) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	fx.t.Fatalf("timed out waiting for %s", what)
}

func (fx *fixture) inFlight1() bool {
	fl := fx.m.Flows()
	return len(fl) == 1 && fl[0].InFlight == 1
}

func (fx *fixture) delivered() int {
	fx.sink.mu.Lock()
	defer fx.sink.mu.Unlock()
	return len(fx.sink.got)
}

func (fx *fixture) runs() []runstate.Run {
	rs, _ := fx.repo.ListRuns(context.Background(), runstate.RunFilter{})
	return rs
}

// waitArmed waits for the manager to sit on its timer, so advancing the
// clock hits it.
func (fx *fixture) waitArmed() {
	fx.eventually("the scheduler to wait", func() bool { return fx.clock.Waiters() > 0 })
}

func TestScheduleProcessesFilesAndRecordsRuns(t *testing.T) {
	fx := newFixture(t)
	fx.deploy(1, "v1")
	fx.start()
	// Boot runs the missed tick once (nothing there yet).
	fx.eventually("boot poll", func() bool { return fx.lists.Load() == 1 })
	fx.file("a.csv", 12, "a")
	fx.waitArmed()
	fx.clock.Advance(2 * time.Minute) // 10:02:30: no tick yet
	time.Sleep(20 * time.Millisecond)
	if fx.delivered() != 0 {
		t.Fatal("processed before the schedule fired")
	}
	fx.waitArmed()
	fx.clock.Set(time.Date(2026, 3, 2, 10, 5, 0, 0, time.UTC))
	fx.eventually("a.csv delivered", func() bool { return fx.delivered() == 12 })
	fx.eventually("run recorded", func() bool {
		rs := fx.runs()
		return len(rs) == 1 && rs[0].Status == runstate.RunSuccess
	})
	r := fx.runs()[0]
	if r.RecordsIn != 12 || r.Delivered != 12 || r.FileName != "a.csv" || r.Version != 1 || r.Finished == nil || len(r.BlockStats) == 0 {
		t.Fatalf("run: %+v", r)
	}
	st, err := fx.m.Status(context.Background(), "o1", "f1")
	if err != nil || st.Status != runstate.StatusActive || st.LiveVersion != 1 || st.NextRun == nil || !st.NextRun.Equal(time.Date(2026, 3, 2, 10, 10, 0, 0, time.UTC)) {
		t.Fatalf("status: %+v %v", st, err)
	}
}

func TestTicksCoalesceWhileBusy(t *testing.T) {
	fx := newFixture(t)
	fx.sink.gate = make(chan struct{})
	fx.file("big.csv", 10, "b")
	fx.deploy(1, "v1")
	fx.start()
	fx.eventually("boot poll", func() bool { return fx.lists.Load() == 1 })
	for i := 0; i < 4; i++ { // four ticks while the file is stuck
		fx.waitArmed()
		fx.clock.Advance(5 * time.Minute)
		time.Sleep(5 * time.Millisecond)
	}
	if n := fx.lists.Load(); n != 1 {
		t.Fatalf("ticks while busy must not poll: %d polls", n)
	}
	fx.sink.mu.Lock()
	close(fx.sink.gate)
	fx.sink.gate = nil
	fx.sink.mu.Unlock()
	fx.eventually("file done", func() bool { return fx.delivered() == 10 })
	// The coalesced ticks become exactly one more poll.
	fx.eventually("one coalesced poll", func() bool { return fx.lists.Load() == 2 })
	time.Sleep(30 * time.Millisecond)
	if n := fx.lists.Load(); n != 2 {
		t.Fatalf("coalesced ticks ran %d polls", n-1)
	}
}

func TestPauseStopStart(t *testing.T) {
	fx := newFixture(t)
	gate := make(chan struct{})
	fx.sink.gate = gate
	fx.file("a.csv", 20, "a")
	fx.deploy(1, "v1")
	fx.start()
	fx.eventually("a.csv in flight", fx.inFlight1)
	if err := fx.m.Pause(context.Background(), "o1", "f1"); err != nil {
		t.Fatal(err)
	}
	fx.file("b.csv", 5, "b")
	// Release the gate: the in-flight file finishes while paused.
	fx.sink.mu.Lock()
	close(gate)
	fx.sink.gate = nil
	fx.sink.mu.Unlock()
	fx.eventually("a.csv finished while paused", func() bool { return fx.delivered() == 20 })
	fx.waitArmed()
	fx.clock.Advance(5 * time.Minute)
	time.Sleep(30 * time.Millisecond)
	if fx.delivered() != 20 {
		t.Fatal("paused flow picked up a new file")
	}
	if err := fx.m.RunNow(context.Background(), "o1", "f1"); err == nil {
		t.Fatal("run now on a paused flow must be refused")
	}
	// Start: the next file is picked up on the next tick.
	if err := fx.m.Start(context.Background(), "o1", "f1"); err != nil {
		t.Fatal(err)
	}
	if err := fx.m.RunNow(context.Background(), "o1", "f1"); err != nil {
		t.Fatal(err)
	}
	fx.eventually("b.csv", func() bool { return fx.delivered() == 25 })

	// Stop with a file in flight: it is released and reprocessed on Start
	// without resending acknowledged records.
	gate2 := make(chan struct{}, 100)
	fx.sink.mu.Lock()
	fx.sink.gate = gate2
	fx.sink.mu.Unlock()
	fx.file("c.csv", 50, "c")
	if err := fx.m.RunNow(context.Background(), "o1", "f1"); err != nil {
		t.Fatal(err)
	}
	gate2 <- struct{}{}
	gate2 <- struct{}{}
	fx.eventually("two batches of c delivered", func() bool { return fx.delivered() == 35 })
	time.Sleep(300 * time.Millisecond) // a checkpoint interval passes
	if err := fx.m.Stop(context.Background(), "o1", "f1"); err != nil {
		t.Fatal(err)
	}
	if st, _ := fx.m.Status(context.Background(), "o1", "f1"); st.Status != runstate.StatusStopped {
		t.Fatalf("status %+v", st)
	}
	fx.sink.mu.Lock()
	fx.sink.gate = nil
	fx.sink.mu.Unlock()
	if err := fx.m.Start(context.Background(), "o1", "f1"); err != nil {
		t.Fatal(err)
	}
	if err := fx.m.RunNow(context.Background(), "o1", "f1"); err != nil {
		t.Fatal(err)
	}
	fx.eventually("c.csv reprocessed fully", func() bool { return fx.delivered() == 75 })
	fx.sink.mu.Lock()
	for k, n := range fx.sink.got {
		if n != 1 {
			t.Errorf("%s delivered %d times", k, n)
		}
	}
	fx.sink.mu.Unlock()
}

func TestLiveVersionSwitchWaitsForInFlightFile(t *testing.T) {
	fx := newFixture(t)
	gate := make(chan struct{})
	fx.sink.gate = gate
	fx.file("a.csv", 10, "a")
	fx.deploy(1, "v1")
	fx.start()
	fx.eventually("a.csv in flight", fx.inFlight1)
	fx.file("b.csv", 10, "b")
	fx.deploy(2, "v2")
	if err := fx.m.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, _ := fx.m.Status(context.Background(), "o1", "f1")
	if st.LiveVersion != 2 || len(st.Draining) != 1 || st.Draining[0] != 1 {
		t.Fatalf("status during switch: %+v", st)
	}
	fx.sink.mu.Lock()
	close(gate)
	fx.sink.gate = nil
	fx.sink.mu.Unlock()
	fx.eventually("a.csv done by v1", func() bool { return fx.delivered() == 10 })
	fx.eventually("switch complete", func() bool {
		st, _ := fx.m.Status(context.Background(), "o1", "f1")
		return len(st.Draining) == 0
	})
	if err := fx.m.RunNow(context.Background(), "o1", "f1"); err != nil {
		t.Fatal(err)
	}
	fx.eventually("b.csv done by v2", func() bool { return fx.delivered() == 20 })
	fx.sink.mu.Lock()
	defer fx.sink.mu.Unlock()
	if fx.sink.tags["a0"] != "v1" || fx.sink.tags["b0"] != "v2" {
		t.Fatalf("versions: a by %s, b by %s", fx.sink.tags["a0"], fx.sink.tags["b0"])
	}
}

func TestSourceConflictRefused(t *testing.T) {
	fx := newFixture(t)
	fx.deploy(1, "v1")
	err := fx.m.CheckSourceConflict(context.Background(), "o1", "f2", fx.doc("0 0/5 * * * ?", "x"))
	if err == nil || !strings.Contains(err.Error(), "already used by Live dataflow") {
		t.Fatalf("conflict not detected: %v", err)
	}
	if err := fx.m.CheckSourceConflict(context.Background(), "o2", "f2", fx.doc("0 0/5 * * * ?", "x")); err != nil {
		t.Fatalf("another organisation may use the folder: %v", err)
	}
	if err := fx.m.CheckSourceConflict(context.Background(), "o1", "f1", fx.doc("0 0/5 * * * ?", "x")); err != nil {
		t.Fatalf("a new version of the same flow is no conflict: %v", err)
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize("f", []runstate.Run{{Status: runstate.RunSuccess, RecordsIn: 10, Delivered: 10}, {Status: runstate.RunPartial, RecordsIn: 10, Delivered: 5, Failed: 5, StatusCodes: map[string]int64{"400": 5}}})
	if s.AccuracyPct != 75 || s.Runs != 2 || s.StatusCodes["400"] != 5 {
		t.Fatalf("%+v", s)
	}
}

func TestMetricsCountCompletedFiles(t *testing.T) {
	fx := newFixture(t)
	fx.file("a.csv", 7, "a")
	fx.deploy(1, "v1")
	fx.start()
	fx.eventually("run recorded", func() bool {
		rs := fx.runs()
		return len(rs) == 1 && rs[0].Status == runstate.RunSuccess
	})
	fx.eventually("metrics", func() bool {
		return testutil.ToFloat64(fx.m.metrics.records.WithLabelValues("o1", "f1", "delivered")) == 7 &&
			testutil.ToFloat64(fx.m.metrics.files.WithLabelValues("o1", "f1", "Success")) == 1
	})
	// Labels name the organisation and the dataflow by id only: the
	// dataflow's name ("flow") appears in no series.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(fx.m.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
				if l.GetValue() == "flow" {
					t.Errorf("%s has the dataflow name in label %s", mf.GetName(), l.GetName())
				}
			}
			if labels["org_id"] != "o1" || labels["flow_id"] != "f1" {
				t.Errorf("%s labels %v", mf.GetName(), labels)
			}
		}
	}
	if len(fx.m.Collectors()) != 4 {
		t.Fatal("collectors")
	}
}
