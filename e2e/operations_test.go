package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/store"
)

// running lists the files whose run is Running.
func running(rs map[string]runstate.Run) []string {
	var out []string
	for n, r := range rs {
		if r.Status == runstate.RunRunning {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// TestPauseFinishesInFlightFiles: Pause lets the files in flight finish but
// starts no other one — not even a file the poll had already listed and
// was waiting to start — until Start.
func TestPauseFinishesInFlightFiles(t *testing.T) {
	e := newEnv(t)
	f := e.createLiveFlow(flowSpec{name: "pause", cron: neverCron, tag: "p", groupSize: 20, concurrency: 1})
	e.setLatency(100 * time.Millisecond)
	// Two files fill the runtime's two slots per dataflow; the poll waits
	// for a slot to start the third.
	sizes := map[string]int64{"p1.csv": 300, "p2.csv": 300, "p3.csv": 20}
	for _, n := range []string{"p1.csv", "p2.csv", "p3.csv"} {
		e.dropFile(n, customersCSV(strings.TrimSuffix(n, ".csv"), int(sizes[n])))
	}
	e.operate(f, "run-now")
	var inFlight []string
	e.waitFor("two files in flight", 20*time.Second, func() (bool, string) {
		inFlight = running(e.runs(f))
		return len(inFlight) == 2 && e.stats().ReceivedEntities > 0, fmt.Sprint(inFlight)
	})
	st := e.operate(f, "pause")
	if st.Status != runstate.StatusPaused || st.InFlight != 2 {
		t.Fatalf("status after pause: %+v", st)
	}
	pausedAt := time.Now()
	// Run-now is refused while paused.
	var ae apiError
	e.admin.do("POST", "/dataflows/"+f.ID+"/run-now", nil, 409, &ae)
	if !strings.Contains(ae.Error.Message, "Paused") {
		t.Fatalf("run-now while paused: %+v", ae)
	}

	rs := e.waitRuns(f, 30*time.Second, inFlight...)
	for _, n := range inFlight {
		if r := rs[n]; r.Status != runstate.RunSuccess || r.Delivered != sizes[n] {
			t.Fatalf("in-flight file %s after pause: %+v", n, r)
		}
	}
	t.Logf("paused with %v in flight; they finished %.1fs later", inFlight, time.Since(pausedAt).Seconds())
	waiting := ""
	for _, n := range []string{"p1.csv", "p2.csv", "p3.csv"} {
		if !slices.Contains(inFlight, n) {
			waiting = n
		}
	}
	// The waiting file stays untouched while paused.
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if r, ok := e.runs(f)[waiting]; ok {
			t.Fatalf("%s started while the dataflow was paused: %+v", waiting, r)
		}
	}
	if got := e.sftpFiles(inDir); !slices.Equal(got, []string{waiting}) {
		t.Fatalf("source folder while paused: %v", got)
	}
	if st := e.status(f); st.Status != runstate.StatusPaused || st.InFlight != 0 {
		t.Fatalf("status while paused and idle: %+v", st)
	}

	if st := e.operate(f, "start"); st.Status != runstate.StatusActive {
		t.Fatalf("status after start: %+v", st)
	}
	e.operate(f, "run-now")
	rs = e.waitRuns(f, 30*time.Second, waiting)
	if r := rs[waiting]; r.Status != runstate.RunSuccess || r.RecordsIn != sizes[waiting] || r.Delivered != sizes[waiting] {
		t.Fatalf("run of %s after start: %+v", waiting, r)
	}
	if sb := e.stats(); sb.AcceptedEntities != 620 || sb.Duplicates != 0 {
		t.Fatalf("sandbox: %+v", sb)
	}
}

// TestStopReleasesAndResumes: Stop cancels the file in flight and releases
// it with its checkpoint; after Start and run-now the same run resumes and
// every record arrives, none twice beyond the requests that were cut off.
func TestStopReleasesAndResumes(t *testing.T) {
	const rows, groupSize, concurrency = 1000, 20, 2
	e := newEnv(t)
	f := e.createLiveFlow(flowSpec{name: "stop", cron: neverCron, tag: "s", groupSize: groupSize, concurrency: concurrency})
	e.setLatency(100 * time.Millisecond)
	e.dropFile("s1.csv", customersCSV("s1", rows))
	e.operate(f, "run-now")
	e.waitFor("the file to be in flight", 20*time.Second, func() (bool, string) {
		sb := e.stats()
		return sb.ReceivedEntities >= 200, fmt.Sprint(sb.ReceivedEntities)
	})
	first := e.runs(f)["s1.csv"]
	st := e.operate(f, "stop")
	if st.Status != runstate.StatusStopped || st.InFlight != 0 {
		t.Fatalf("status after stop: %+v", st)
	}
	// Nothing more arrives once the cut-off requests are gone.
	var atStop int64
	stable := 0
	e.waitFor("deliveries to stop", 10*time.Second, func() (bool, string) {
		n := e.stats().ReceivedEntities
		if n == atStop {
			stable++
		} else {
			atStop, stable = n, 0
		}
		return stable >= 20, fmt.Sprint(n) // 500 ms without change
	})
	if atStop >= rows {
		t.Fatalf("the whole file (%d) was delivered before Stop took effect", atStop)
	}
	if got := e.sftpFiles(inDir); !slices.Equal(got, []string{"s1.csv"}) {
		t.Fatalf("source folder after stop: %v (the file must stay for reprocessing)", got)
	}
	if got := e.sftpFiles(errorsDir); len(got) != 0 {
		t.Fatalf("result written for a stopped file: %v", got)
	}
	stopped := e.runs(f)["s1.csv"]
	if stopped.Status != runstate.RunStopped {
		t.Fatalf("run after stop: %+v", stopped)
	}
	var ae apiError
	e.admin.do("POST", "/dataflows/"+f.ID+"/run-now", nil, 409, &ae)

	e.operate(f, "start")
	e.operate(f, "run-now")
	r := e.waitRuns(f, 30*time.Second, "s1.csv")["s1.csv"]
	sb := e.stats()
	dups := sb.Duplicates
	t.Logf("stopped after %d of %d records were received; resumed run %s: %s, in %d, delivered %d, failed %d, interruptions %d; sandbox duplicates %d",
		atStop, rows, r.ID, r.Status, r.RecordsIn, r.Delivered, r.Failed, r.Interruptions, dups)
	if r.ID != first.ID || r.Interruptions < 1 || r.RecordsIn != rows || r.Delivered+r.Failed != rows || r.Failed != dups || r.StatusCodes["8006"] != dups {
		t.Fatalf("resumed run: %+v (first %+v)", r, first)
	}
	if sb.UniqueKeys != rows || sb.AcceptedEntities != rows || sb.ReceivedEntities != rows+dups {
		t.Fatalf("sandbox after resume: %+v", sb)
	}
	// Only requests cut off by Stop can be sent again: Close saves the
	// checkpoint after the workers have stopped.
	if dups > concurrency*groupSize {
		t.Fatalf("%d duplicates after Stop; at most %d requests of %d were unacknowledged", dups, concurrency, groupSize)
	}
}

// TestLiveVersionSwitchMidFile: a new Live version approved while the old
// one is in the middle of a file takes over for the next file only.
func TestLiveVersionSwitchMidFile(t *testing.T) {
	e := newEnv(t)
	f := e.createLiveFlow(flowSpec{name: "switch", cron: neverCron, tag: "v1", groupSize: 20, concurrency: 1})
	e.setLatency(100 * time.Millisecond)
	e.dropFile("w1.csv", customersCSV("w1", 400))
	e.operate(f, "run-now")
	e.waitFor("w1.csv in flight", 20*time.Second, func() (bool, string) {
		sb := e.stats()
		return sb.ReceivedEntities > 0, fmt.Sprint(sb.ReceivedEntities)
	})

	// Approving version 1 opened Draft 2; v2 changes the JSLT constant.
	var vs []store.Version
	e.admin.do("GET", "/dataflows/"+f.ID+"/versions", nil, 200, &vs)
	if len(vs) != 2 || vs[0].Number != 2 || vs[0].State != "Draft" {
		t.Fatalf("versions: %+v", vs)
	}
	doc := e.document(flowSpec{name: "switch", cron: neverCron, tag: "v2", groupSize: 20, concurrency: 1})
	e.admin.do("PUT", fmt.Sprintf("/dataflows/%s/versions/2", f.ID), map[string]any{"document": doc}, 200, nil, "If-Match", fmt.Sprintf(`"r%d"`, vs[0].Revision))
	e.approveAndGoLive(f, 2)
	st := e.status(f)
	if n := e.stats().ReceivedEntities; n >= 400 {
		t.Fatalf("w1.csv finished (%d records) before v2 went live: the test proves nothing", n)
	}
	if st.LiveVersion != 2 || !slices.Equal(st.Draining, []int{1}) {
		t.Fatalf("status right after v2 went live: %+v", st)
	}
	e.dropFile("w2.csv", customersCSV("w2", 40))
	e.operate(f, "run-now")
	rs := e.waitRuns(f, 30*time.Second, "w1.csv", "w2.csv")
	if r := rs["w1.csv"]; r.Version != 1 || r.Status != runstate.RunSuccess || r.Delivered != 400 {
		t.Fatalf("w1.csv: %+v", r)
	}
	if r := rs["w2.csv"]; r.Version != 2 || r.Status != runstate.RunSuccess || r.Delivered != 40 {
		t.Fatalf("w2.csv: %+v", r)
	}
	tags := e.customerTags()
	if len(tags) != 440 {
		t.Fatalf("%d customers stored, want 440", len(tags))
	}
	for id, tag := range tags {
		want := "v1"
		if strings.HasPrefix(id, "w2-") {
			want = "v2"
		}
		if tag != want {
			t.Fatalf("customer %s has flow_tag %q, want %q", id, tag, want)
		}
	}
	e.admin.do("GET", "/dataflows/"+f.ID+"/versions", nil, 200, &vs)
	states := map[int]string{}
	for _, v := range vs {
		states[v.Number] = v.State
	}
	if states[1] != "Approved" || states[2] != "Live" {
		t.Fatalf("version states after the switch: %v", states)
	}
	if st := e.status(f); st.LiveVersion != 2 || len(st.Draining) != 0 {
		t.Fatalf("status after the switch: %+v", st)
	}
}
