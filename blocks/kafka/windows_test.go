package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/store"
)

// TestWindowsListInJournal: on a cluster whose shared store is S3 the
// runtime hands a journal, and a node's list of unfinished windows lives
// there, not in its own state directory: the node started again on an
// empty disk under the same name finds it; another node's list is its
// own; each save replaces the list (one entry left).
func TestWindowsListInJournal(t *testing.T) {
	s, err := store.Open(context.Background(), testenv.Postgres(t).DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	j := s.Journal()
	env := func(node string) *block.Env {
		return &block.Env{Flow: "f", Block: "read", StateDir: t.TempDir(), Journal: j, Options: map[string]string{block.OptNode: node}}
	}
	r := newReader("kafka_topic_read", readConfig{}, nil, env("node-1"))
	now := time.Unix(1_800_000_000, 0).UTC()
	for _, k := range []string{"kafka://g/w1", "kafka://g/w2"} {
		r.windows[k] = &window{item: block.Item{Key: k, Name: k[len("kafka://g/"):], ModTime: now}}
		r.saveWindows()
	}
	delete(r.windows, "kafka://g/w1")
	r.saveWindows()
	if es, err := j.Read(context.Background(), r.windowsLog()); err != nil || len(es) != 1 {
		t.Fatalf("%d lists kept, want 1 (%v)", len(es), err)
	}
	again := newReader("kafka_topic_read", readConfig{}, nil, env("node-1"))
	got := again.loadWindows()
	if len(got) != 1 || got[0].Key != "kafka://g/w2" || !got[0].ModTime.Equal(now) {
		t.Fatalf("node-1 started again on an empty disk finds %+v", got)
	}
	if other := newReader("kafka_topic_read", readConfig{}, nil, env("node-2")).loadWindows(); len(other) != 0 {
		t.Fatalf("node-2 finds node-1's windows: %+v", other)
	}
}
