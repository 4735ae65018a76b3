package join

import (
	"context"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/engine"
)

// memSource serves in-memory files in name order.
type memSource struct {
	mu       sync.Mutex
	files    map[string]string
	finished map[string]error
}

func (s *memSource) List(context.Context) ([]block.Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []block.Item
	for name, body := range s.files {
		if _, done := s.finished[name]; !done {
			items = append(items, block.Item{Key: "/in/" + name, Name: name, Size: int64(len(body)), ModTime: time.Unix(1, 0)})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	return items, nil
}

func (s *memSource) Open(_ context.Context, it block.Item) (*block.Unit, error) {
	body := s.files[it.Name]
	f := block.NewFile(it.Name, int64(len(body)), func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(body)), nil
	})
	return &block.Unit{Attrs: block.Attributes{block.AttrFilename: it.Name}, File: f}, nil
}

func (s *memSource) Finish(_ context.Context, it block.Item, c *block.Completion) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finished[it.Name] = c.Err
	return nil
}

// capture keeps what reaches it.
type capture struct {
	mu    sync.Mutex
	names []string
	lins  []string
	body  []string
}

func (c *capture) Process(ctx context.Context, u *block.Unit, _ block.Output) error {
	rc, err := u.File.Open(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.names, c.lins, c.body = append(c.names, u.Attrs[block.AttrFilename]), append(c.lins, u.Lineage.ID()), append(c.body, string(b))
	c.mu.Unlock()
	return nil
}

// Through the engine: the first file's lineage completes when it is spooled;
// the joined file travels in the second file's lineage; both files finish
// as processed.
func TestTwoJoinInEngine(t *testing.T) {
	src := &memSource{files: map[string]string{"merge_a.csv": mergeA, "push_a.csv": pushA}, finished: map[string]error{}}
	sink := &capture{}
	reg := block.NewRegistry()
	Register(reg)
	reg.MustRegister(
		&block.Spec{Type: "mem_read", Label: "mem", Class: block.ClassSource, Input: block.KindNone, Output: block.KindFile,
			New: func(*block.Config, *block.Env) (block.Block, error) { return src, nil }},
		&block.Spec{Type: "capture", Label: "capture", Class: block.ClassExecutor, Input: block.KindFile, Output: block.KindNone,
			New: func(*block.Config, *block.Env) (block.Block, error) { return sink, nil }},
	)
	doc := &dataflow.Document{Name: "join", Blocks: []dataflow.Block{
		{Type: "mem_read", Name: "read", Relations: []dataflow.Relation{{To: "join"}}},
		{Type: "two_join", Name: "join", Config: map[string]any{
			"files12JoinType": "INNER_JOIN", "file1Regex": "merge.*.csv", "file1Headers": "mobile",
			"file2Regex": "push.*.csv", "file2Headers": "mobile", "outputFileName": "merg_${now():format('yyyy')}.csv",
		}, Relations: []dataflow.Relation{{To: "sink"}}},
		{Type: "capture", Name: "sink"},
	}}
	f, err := engine.Compile(doc, engine.Options{Registry: reg, CompileExpr: exprs.Compiler(nil, nil), WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := f.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("%d lineages", len(res))
	}
	byName := map[string]engine.LineageResult{}
	for _, r := range res {
		byName[r.Item.Name] = r
		if r.Status != engine.StatusSuccess || src.finished[r.Item.Name] != nil {
			t.Fatalf("%s: %s %s", r.Item.Name, r.Status, r.Error)
		}
	}
	if len(sink.body) != 1 || sink.body[0] != "mobile,name,points\n912,Bob,20\n914,Dan,40\n914,Dan,41\n" {
		t.Fatalf("sink got %q", sink.body)
	}
	if sink.lins[0] != byName["push_a.csv"].ID || !strings.HasPrefix(sink.names[0], "merg_20") {
		t.Fatalf("joined file %s in lineage %s, want push_a.csv's %s", sink.names[0], sink.lins[0], byName["push_a.csv"].ID)
	}
}
