package httpwrite

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
)

// TestCompactStream: a stream's log keeps what a restart may still ask
// about — requests never answered (for a week) and recent answers — and
// drops the rest; a torn last line goes too.
func TestCompactStream(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	at := func(d time.Duration) int64 { return now.Add(-d).Unix() }
	entries := []walEntry{
		{Key: "a", Seqs: []int64{1, 2}, At: at(time.Hour)}, // answered below: dropped
		{Key: "a", Seqs: []int64{1, 2}, Answers: []walOutcome{{Status: block.Delivered}, {Status: block.Delivered}}, At: at(time.Hour)}, // old answer: dropped
		{Key: "b", Seqs: []int64{3}, At: at(time.Minute)},                                                           // in flight: kept
		{Key: "c", Seqs: []int64{4}, At: at(8 * 24 * time.Hour)},                                                    // in doubt a week ago: dropped
		{Key: "d", Seqs: []int64{5}, At: at(time.Minute)},                                                           // answered below: dropped
		{Key: "d", Seqs: []int64{5}, Answers: []walOutcome{{Status: block.Failed, Code: 400}}, At: at(time.Minute)}, // recent answer: kept
	}
	p := filepath.Join(t.TempDir(), "s.log")
	var b []byte
	for _, e := range entries {
		line, _ := json.Marshal(e)
		b = append(append(b, line...), '\n')
	}
	b = append(b, `{"k":"torn","s":[9`...)
	b = append(b, make([]byte, 100)...) // the preallocated zeros
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	size, err := compactStream(p, now)
	if err != nil {
		t.Fatal(err)
	}
	inDoubt, answered := map[int64]string{}, map[int64]walOutcome{}
	if _, _, err := loadInDoubt(p, nil, inDoubt, answered); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if st.Size() != size || len(inDoubt) != 1 || inDoubt[3] != "b" || len(answered) != 1 || answered[5].Code != 400 {
		t.Fatalf("after compaction (%d bytes): in doubt %v, answered %v", size, inDoubt, answered)
	}
}

// TestWalIDStreamPosition: a stream record is known by its position, the
// same in any window and under any sequence number; a file's by its number.
func TestWalIDStreamPosition(t *testing.T) {
	pos := func(seq int64, off string) *block.Record {
		return &block.Record{Seq: seq, Attrs: block.Attributes{attrStreamTopic: "t", attrStreamPartition: "1", attrStreamOffset: off}}
	}
	if walID(pos(1, "7")) != walID(pos(900, "7")) || walID(pos(1, "7")) == walID(pos(1, "8")) || walID(pos(1, "7")) < 0 {
		t.Fatal("stream positions do not identify records")
	}
	if walID(&block.Record{Seq: 42}) != 42 {
		t.Fatal("a file record is not known by its sequence number")
	}
}
