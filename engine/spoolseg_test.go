package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/sharedstore"
)

// segStores are the shared stores the segment tests run on: a directory
// and a real versitygw bucket.
func segStores(t *testing.T) map[string]sharedstore.Store {
	t.Helper()
	dir, err := sharedstore.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := testenv.S3(t)
	srv.CreateBucket(t, "cluster")
	s3s, err := sharedstore.OpenS3(context.Background(), sharedstore.S3Config{URL: "s3://cluster/shared", Endpoint: srv.Endpoint,
		Region: srv.Region, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]sharedstore.Store{"dir": dir, "s3": s3s}
}

// checkResult asserts the result file holds rows 1..n once each, in order.
func checkResult(t *testing.T, result string, n int) {
	t.Helper()
	if strings.IndexByte(result, 0) >= 0 {
		t.Fatalf("result file holds NUL bytes")
	}
	rows := strings.Split(strings.TrimSuffix(result, "\n"), "\n")
	if len(rows) != n+1 {
		t.Fatalf("result file has %d rows, want %d", len(rows)-1, n)
	}
	for i, row := range rows[1:] {
		if cols := strings.Split(row, ","); cols[0] != fmt.Sprint(i+1) || cols[2] != "200" {
			t.Fatalf("row %d: %s", i, row)
		}
	}
}

type recordingCP struct {
	*FileCheckpointer
	mu  sync.Mutex
	all []Checkpoint
}

func (r *recordingCP) Save(ctx context.Context, flow string, cp *Checkpoint) error {
	err := r.FileCheckpointer.Save(ctx, flow, cp)
	if err == nil {
		r.mu.Lock()
		r.all = append(r.all, *cp)
		r.mu.Unlock()
	}
	return err
}

func listSegs(t *testing.T, s block.ObjectStore, id string) []segment {
	t.Helper()
	keys, err := s.List(context.Background(), "spools/"+id+"/")
	if err != nil {
		t.Fatal(err)
	}
	var out []segment
	for _, k := range keys {
		sg, ok := parseSegKey(k)
		if !ok {
			t.Fatalf("unparsable segment key %s", k)
		}
		out = append(out, sg)
	}
	return out
}

// TestSpoolSegmentsResumeOnAnotherNode: a file stopped mid-way on one
// node resumes on another whose state directory is empty: the spool is
// rebuilt from the shared store's segments, the result file has every row
// once and in order, and the segments are deleted once the file is done.
func TestSpoolSegmentsResumeOnAnotherNode(t *testing.T) {
	for name, store := range segStores(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cps, err := NewFileCheckpointer(filepath.Join(dir, "cp"))
			if err != nil {
				t.Fatal(err)
			}
			src := &memSource{files: map[string]string{"big.csv": genFile(2000, 0)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
			sk := &sink{delivered: map[string]int{}, delay: time.Millisecond}
			opts := Options{Registry: testRegistry(src, sk, 10), Checkpointer: cps, TempRoot: dir, Spools: store,
				StateDir: filepath.Join(dir, "node-a"), CheckpointInterval: 5 * time.Millisecond}
			cp := stopMidFile(t, opts, sk, cps, 500)
			segs := listSegs(t, store, cp.LineageID)
			if len(segs) < 2 || segs[len(segs)-1].rowsEnd != cp.SpoolSize {
				t.Fatalf("segments %+v for a checkpoint of %d bytes", segs, cp.SpoolSize)
			}
			sk.delay = 0
			opts.StateDir = filepath.Join(dir, "node-b")
			f, err := Compile(testDoc(), opts)
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.RunOnce(context.Background())
			if err != nil || len(res) != 1 || !res[0].Resumed || res[0].Status != StatusSuccess || res[0].ResultRows != 2000 {
				t.Fatalf("resumed: %+v %v", res, err)
			}
			checkResult(t, src.results["big.csv"], 2000)
			if left := listSegs(t, store, cp.LineageID); len(left) != 0 {
				t.Fatalf("segments kept after completion: %+v", left)
			}
		})
	}
}

// TestSpoolSegmentsTruncateToCheckpoint: the store holds more than the
// checkpoint acknowledges — one segment reaching past it (its later
// checkpoints were never saved) and segments of a writer after it. The
// resume cuts the spool back to the checkpoint, ignores and deletes the
// later writer's segments, re-uploads the cut segment under its own
// epoch, and a second interruption on a third node still rebuilds the
// right spool.
func TestSpoolSegmentsTruncateToCheckpoint(t *testing.T) {
	store, err := sharedstore.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	fc, err := NewFileCheckpointer(filepath.Join(dir, "cp"))
	if err != nil {
		t.Fatal(err)
	}
	cps := &recordingCP{FileCheckpointer: fc}
	src := &memSource{files: map[string]string{"big.csv": genFile(2000, 0)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	sk := &sink{delivered: map[string]int{}, delay: time.Millisecond}
	opts := Options{Registry: testRegistry(src, sk, 10), Checkpointer: cps, TempRoot: dir, Spools: store,
		StateDir: filepath.Join(dir, "node-a"), CheckpointInterval: 5 * time.Millisecond}
	last := stopMidFile(t, opts, sk, fc, 600)
	// Merge node A's segments into one reaching last.SpoolSize, and go
	// back to an earlier checkpoint inside it.
	var rows, idx []byte
	for _, s := range listSegs(t, store, last.LineageID) {
		r, err := store.Open(ctx, s.key)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		b = b[segHeaderLen:]
		rows = append(rows, b[:s.rowsEnd-s.rowsStart]...)
		idx = append(idx, b[s.rowsEnd-s.rowsStart:]...)
		store.Delete(ctx, s.key)
	}
	putSeg := func(s segment, body []byte) {
		s.key = segKey("spools/"+last.LineageID+"/", s)
		w, err := store.Create(ctx, s.key)
		if err != nil {
			t.Fatal(err)
		}
		hdr := []byte(segMagic)
		for _, v := range []int64{s.rowsStart, s.rowsEnd, s.idxStart, s.idxEnd} {
			hdr = binary.LittleEndian.AppendUint64(hdr, uint64(v))
		}
		w.Write(hdr)
		w.Write(body)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	putSeg(segment{rowsStart: 0, rowsEnd: int64(len(rows)), idxStart: 0, idxEnd: int64(len(idx)), epoch: last.Interruptions}, append(append([]byte{}, rows...), idx...))
	// A later writer (epoch above the checkpoint's) that never saved.
	putSeg(segment{rowsStart: 0, rowsEnd: 3, idxStart: 0, idxEnd: 16, epoch: last.Interruptions + 1}, []byte("xyz0123456789abcdef"))
	var early *Checkpoint
	for i := range cps.all {
		if c := cps.all[i]; c.SpoolSize > 0 && c.SpoolSize < last.SpoolSize/2 {
			early = &c
		}
	}
	if early == nil {
		t.Fatalf("no early checkpoint among %d", len(cps.all))
	}
	if err := fc.write(fc.path("t", early.Item), &fileClaim{Checkpoint: early}); err != nil {
		t.Fatal(err)
	}
	// Node B resumes from the early checkpoint and is interrupted again.
	opts.StateDir = filepath.Join(dir, "node-b")
	second := stopMidFile(t, opts, sk, fc, len(sk.delivered)+300)
	segs := listSegs(t, store, last.LineageID)
	if segs[0].rowsStart != 0 || segs[0].epoch != early.Interruptions {
		t.Fatalf("first segment %+v", segs[0])
	}
	var reuploaded bool
	for _, s := range segs {
		if s.epoch == last.Interruptions+1 && s.rowsEnd == 3 {
			t.Fatalf("the later writer's segment was kept: %+v", segs)
		}
		if s.rowsStart == 0 && s.epoch == early.Interruptions+1 {
			reuploaded = true
		}
	}
	if !reuploaded || second.Interruptions != early.Interruptions+1 {
		t.Fatalf("the cut segment was not uploaded again under the new epoch: %+v (checkpoint epoch %d)", segs, second.Interruptions)
	}
	sk.delay = 0
	opts.StateDir = filepath.Join(dir, "node-c")
	f, err := Compile(testDoc(), opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.RunOnce(ctx)
	if err != nil || len(res) != 1 || res[0].Status != StatusSuccess || res[0].ResultRows != 2000 {
		t.Fatalf("resumed: %+v %v", res, err)
	}
	checkResult(t, src.results["big.csv"], 2000)
}

// TestSpoolSegmentDamagedFailsWholeFile: a segment that is missing or
// short (a store that lost or cut it) is never continued silently: the
// file fails as a whole with the reason and no record is sent again.
func TestSpoolSegmentDamagedFailsWholeFile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(store block.ObjectStore, s segment)
		want   string
	}{
		{"missing", func(store block.ObjectStore, s segment) { store.Delete(context.Background(), s.key) }, "segments on the shared store reach"},
		{"short", func(store block.ObjectStore, s segment) {
			r, _ := store.Open(context.Background(), s.key)
			b, _ := io.ReadAll(r)
			r.Close()
			w, _ := store.Create(context.Background(), s.key)
			w.Write(b[:len(b)-5])
			w.Close()
		}, "is short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, err := sharedstore.OpenDir(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			cps, err := NewFileCheckpointer(filepath.Join(dir, "cp"))
			if err != nil {
				t.Fatal(err)
			}
			src := &memSource{files: map[string]string{"big.csv": genFile(2000, 0)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
			sk := &sink{delivered: map[string]int{}, delay: time.Millisecond}
			opts := Options{Registry: testRegistry(src, sk, 10), Checkpointer: cps, TempRoot: dir, Spools: store,
				StateDir: filepath.Join(dir, "node-a"), CheckpointInterval: 5 * time.Millisecond}
			cp := stopMidFile(t, opts, sk, cps, 300)
			segs := listSegs(t, store, cp.LineageID)
			tc.damage(store, segs[len(segs)-1])
			before := len(sk.delivered)
			opts.StateDir = filepath.Join(dir, "node-b")
			f, err := Compile(testDoc(), opts)
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.RunOnce(context.Background())
			if err != nil || len(res) != 1 || res[0].Status != StatusFailure || !strings.Contains(res[0].Error, "cannot resume big.csv") || !strings.Contains(res[0].Error, tc.want) {
				t.Fatalf("resumed: %+v %v (want %q)", res, err, tc.want)
			}
			if len(sk.delivered) != before {
				t.Fatalf("records sent after the refused resume: %d, before %d", len(sk.delivered), before)
			}
		})
	}
}

// failingStore fails the upload of its n-th object part-way (a torn
// upload: the connection dropped), then works.
type failingStore struct {
	block.ObjectStore
	mu    sync.Mutex
	n     int
	torn  int
	fails int
}

type tornWriter struct {
	block.ObjectWriter
	fail bool
}

func (w *tornWriter) Write(b []byte) (int, error) {
	if w.fail {
		w.ObjectWriter.Write(b[:len(b)/2])
		return len(b) / 2, errors.New("connection reset")
	}
	return w.ObjectWriter.Write(b)
}

func (s *failingStore) Create(ctx context.Context, key string) (block.ObjectWriter, error) {
	w, err := s.ObjectStore.Create(ctx, key)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	fail := s.n >= s.torn && s.n < s.torn+2
	if fail {
		s.fails++
	}
	return &tornWriter{ObjectWriter: w, fail: fail}, nil
}

// TestSpoolSegmentTornUpload: uploads that fail part-way leave no object
// and no checkpoint acknowledging their rows; the next checkpoint uploads
// from the same place, and the file resumed elsewhere is whole.
func TestSpoolSegmentTornUpload(t *testing.T) {
	base, err := sharedstore.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	store := &failingStore{ObjectStore: base, torn: 2}
	dir := t.TempDir()
	cps, err := NewFileCheckpointer(filepath.Join(dir, "cp"))
	if err != nil {
		t.Fatal(err)
	}
	src := &memSource{files: map[string]string{"big.csv": genFile(2000, 0)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	sk := &sink{delivered: map[string]int{}, delay: time.Millisecond}
	opts := Options{Registry: testRegistry(src, sk, 10), Checkpointer: cps, TempRoot: dir, Spools: store,
		StateDir: filepath.Join(dir, "node-a"), CheckpointInterval: 5 * time.Millisecond}
	cp := stopMidFile(t, opts, sk, cps, 500)
	if store.fails != 2 {
		t.Fatalf("%d uploads failed, want 2", store.fails)
	}
	segs := listSegs(t, store, cp.LineageID)
	for i := 1; i < len(segs); i++ {
		if segs[i].rowsStart != segs[i-1].rowsEnd {
			t.Fatalf("segments do not chain: %+v", segs)
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(base.Ref(segs[0].key)))
	if len(ents) != len(segs) {
		t.Fatalf("torn uploads left files: %d entries for %d segments", len(ents), len(segs))
	}
	sk.delay = 0
	opts.StateDir = filepath.Join(dir, "node-b")
	f, err := Compile(testDoc(), opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.RunOnce(context.Background())
	if err != nil || len(res) != 1 || res[0].Status != StatusSuccess {
		t.Fatalf("resumed: %+v %v", res, err)
	}
	checkResult(t, src.results["big.csv"], 2000)
}
