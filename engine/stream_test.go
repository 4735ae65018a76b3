package engine

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/dataflow"
)

// memStream is a stream of n numbered messages cut into windows of
// perWindow records; every badEvery-th message arrives already failed (a
// poison message). It records what the engine reports back.
type memStream struct {
	mu        sync.Mutex
	n, next   int
	perWindow int
	badEvery  int
	windows   int
	inWindow  map[string]int
	ended     map[string]int64
	endedLate []string
	finished  map[string]*block.Completion
	results   map[string]string
}

func (s *memStream) List(context.Context) ([]block.Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next >= s.n {
		return nil, nil
	}
	s.windows++
	name := fmt.Sprintf("w%d", s.windows)
	return []block.Item{{Key: "stream/" + name, Name: name, ModTime: time.Unix(int64(s.windows), 0)}}, nil
}

func (s *memStream) Open(context.Context, block.Item) (*block.Unit, error) {
	return nil, fmt.Errorf("a stream is not opened")
}

func (s *memStream) Next(_ context.Context, it block.Item, seq int64) (*block.Unit, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next >= s.n || s.inWindow[it.Name] >= s.perWindow {
		return nil, io.EOF
	}
	var recs []block.Record
	for k := 0; k < 3 && s.next < s.n && s.inWindow[it.Name] < s.perWindow; k++ {
		s.next++
		s.inWindow[it.Name]++
		r := block.Record{Seq: seq, Line: seq, Value: fmt.Sprintf("m%d", s.next), Cols: []string{fmt.Sprint(s.next), "ok"},
			Attrs: block.Attributes{"msg.number": fmt.Sprint(s.next)}}
		if s.badEvery > 0 && s.next%s.badEvery == 0 {
			r.Fail("", 0, "not valid JSON")
		}
		recs = append(recs, r)
		seq++
	}
	return &block.Unit{Attrs: block.Attributes{}, Batch: &block.Batch{Header: block.NewHeader([]string{"n", "v"}), Records: recs}}, nil
}

func (s *memStream) Ended(_ context.Context, it block.Item, upTo int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if upTo < s.ended[it.Name] {
		s.endedLate = append(s.endedLate, fmt.Sprintf("%s went back from %d to %d", it.Name, s.ended[it.Name], upTo))
	}
	s.ended[it.Name] = upTo
}

func (s *memStream) Finish(_ context.Context, it block.Item, c *block.Completion) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finished[it.Name] = c
	rc, err := c.Result()
	if err != nil {
		return err
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	s.results[it.Name] = string(b)
	return nil
}

func (s *memStream) Pause()  {}
func (s *memStream) Resume() {}

var _ block.Stream = (*memStream)(nil)

func TestStreamWindowsAreLineages(t *testing.T) {
	st := &memStream{n: 100, perWindow: 40, badEvery: 10, inWindow: map[string]int{}, ended: map[string]int64{},
		finished: map[string]*block.Completion{}, results: map[string]string{}}
	sk := &sink{delivered: map[string]int{}}
	reg := block.NewRegistry()
	reg.MustRegister(
		&block.Spec{Type: "mem_stream", Label: "stream", Class: block.ClassSource, Input: block.KindNone, Output: block.KindRecords,
			New: func(*block.Config, *block.Env) (block.Block, error) { return st, nil }},
		&block.Spec{Type: "sink", Label: "sink", Class: block.ClassExecutor, Input: block.KindRecords, Output: block.KindRecords,
			New: func(*block.Config, *block.Env) (block.Block, error) { return sk, nil }},
	)
	doc := &dataflow.Document{Name: "s", Blocks: []dataflow.Block{
		{Type: "mem_stream", Name: "read", Relations: []dataflow.Relation{{To: "post"}}},
		{Type: "sink", Name: "post"},
	}}
	var results []LineageResult
	var mu sync.Mutex
	obs := &doneObserver{done: func(r LineageResult) { mu.Lock(); results = append(results, r); mu.Unlock() }}
	f, err := Compile(doc, Options{Registry: reg, Observer: obs, CheckpointInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !f.Streaming() {
		t.Fatal("a flow with a stream source must report Streaming")
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for windows := 0; windows < 3; {
		n, err := f.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		windows += n
	}
	if err := f.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	f.Close()
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.finished) != 3 || len(results) != 3 {
		t.Fatalf("want 3 finished windows, got %d (%d results)", len(st.finished), len(results))
	}
	want := map[string][3]int64{"w1": {40, 36, 4}, "w2": {40, 36, 4}, "w3": {20, 18, 2}}
	for _, r := range results {
		w := want[r.Item.Name]
		if r.Counts.In != w[0] || r.Counts.Delivered != w[1] || r.Counts.Failed != w[2] || !r.Balanced() {
			t.Errorf("%s: counts %+v, want in/delivered/failed %v", r.Item.Name, r.Counts, w)
		}
		if r.Status != StatusPartial {
			t.Errorf("%s: status %s", r.Item.Name, r.Status)
		}
		rows := strings.Split(strings.TrimSuffix(st.results[r.Item.Name], "\n"), "\n")
		if int64(len(rows)-1) != w[0] || !strings.Contains(st.results[r.Item.Name], "not valid JSON") {
			t.Errorf("%s: result file has %d rows:\n%s", r.Item.Name, len(rows)-1, st.results[r.Item.Name])
		}
	}
	if len(sk.delivered) != 90 {
		t.Errorf("sink got %d distinct messages, want 90", len(sk.delivered))
	}
	if len(st.endedLate) > 0 {
		t.Errorf("Ended misuse: %v", st.endedLate)
	}
	for name, upTo := range st.ended {
		if upTo > want[name][0] {
			t.Errorf("%s: Ended up to %d, past the window's %d records", name, upTo, want[name][0])
		}
	}
}

type doneObserver struct{ done func(LineageResult) }

func (o *doneObserver) LineageStarted(string, block.Item, string, bool) {}
func (o *doneObserver) Progress(int64)                                  {}
func (o *doneObserver) Records(int64)                                   {}
func (o *doneObserver) LineageDone(r LineageResult)                     { o.done(r) }
