package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/dataflow"
)

// stopMidFile runs opts over a 2000-row file until the sink has delivered at
// least n records and a checkpoint covers some of them, then stops: like a
// kill, the lineage is left claimable with its checkpoint and spool.
func stopMidFile(t *testing.T, opts Options, sk *sink, cps *FileCheckpointer, n int) *Checkpoint {
	t.Helper()
	f, err := Compile(testDoc(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = f.Poll(context.Background()) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		sk.mu.Lock()
		got := len(sk.delivered)
		sk.mu.Unlock()
		if got >= n && savedWatermark(t, cps) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress: %d delivered", got)
		}
		time.Sleep(time.Millisecond)
	}
	f.Stop()
	if res := f.Close(); len(res) != 0 {
		t.Fatalf("stopped lineage completed: %+v", res)
	}
	cp := savedCheckpoint(t, cps)
	if cp == nil || cp.SpoolSize == 0 || cp.Spool == nil {
		t.Fatalf("checkpoint after stop: %+v", cp)
	}
	return cp
}

func savedCheckpoint(t *testing.T, cps *FileCheckpointer) *Checkpoint {
	files, _ := filepath.Glob(filepath.Join(cps.Dir, "*.json"))
	for _, p := range files {
		c, err := cps.read(p)
		if err == nil && c != nil && c.Checkpoint != nil {
			return c.Checkpoint
		}
	}
	return nil
}

func savedWatermark(t *testing.T, cps *FileCheckpointer) int64 {
	cps.mu.Lock()
	defer cps.mu.Unlock()
	if cp := savedCheckpoint(t, cps); cp != nil {
		return cp.Watermark
	}
	return 0
}

// TestResumeInFreshWorkDirKeepsResultRows: the first run's work directory is
// a temporary one that is gone when the file resumes (as after kill -9 of
// `connectplus run`). The result spool the checkpoint refers to lives in the
// state directory, so the resumed result file has every row once, in order,
// and no NUL byte (it had a hole of NULs where the acknowledged rows were).
func TestResumeInFreshWorkDirKeepsResultRows(t *testing.T) {
	dir := t.TempDir()
	cps, err := NewFileCheckpointer(filepath.Join(dir, "cp"))
	if err != nil {
		t.Fatal(err)
	}
	src := &memSource{files: map[string]string{"big.csv": genFile(2000, 0)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	sk := &sink{delivered: map[string]int{}, delay: time.Millisecond}
	opts := Options{Registry: testRegistry(src, sk, 10), Checkpointer: cps, TempRoot: filepath.Join(dir, "tmp"),
		StateDir: filepath.Join(dir, "cp", "state"), CheckpointInterval: 5 * time.Millisecond}
	stopMidFile(t, opts, sk, cps, 500)
	if left, _ := filepath.Glob(filepath.Join(dir, "tmp", "connectplus-work-*")); len(left) != 0 {
		t.Fatalf("work directory kept after Close: %v", left)
	}
	sk.delay = 0
	f, err := Compile(testDoc(), opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.RunOnce(context.Background())
	if err != nil || len(res) != 1 || !res[0].Resumed || res[0].Status != StatusSuccess || res[0].ResultRows != 2000 {
		t.Fatalf("resumed: %+v %v", res, err)
	}
	result := src.results["big.csv"]
	if strings.IndexByte(result, 0) >= 0 {
		t.Fatalf("result file holds NUL bytes (%d)", strings.Count(result, "\x00"))
	}
	rows := strings.Split(strings.TrimSuffix(result, "\n"), "\n")[1:]
	if len(rows) != 2000 {
		t.Fatalf("result rows %d", len(rows))
	}
	for i, row := range rows {
		if cols := strings.Split(row, ","); cols[0] != fmt.Sprint(i+1) || cols[2] != "200" {
			t.Fatalf("row %d: %s", i, row)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "cp", "state", "lineages", "*")); len(left) != 0 {
		t.Fatalf("spool kept after completion: %v", left)
	}
}

// TestResumeRefusesSpoolThatDoesNotMatch: when the spool a checkpoint
// continues is missing, shorter, or holds other bytes, the resumed file fails
// as a whole with the reason — in the run and as a file-level row of the
// result file — instead of emitting a hole; no further record is sent.
func TestResumeRefusesSpoolThatDoesNotMatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, rows, idx string, cp *Checkpoint)
		want   string
	}{
		{"missing", func(t *testing.T, rows, idx string, _ *Checkpoint) {
			os.Remove(rows)
			os.Remove(idx)
		}, "holds 0 bytes but the checkpoint acknowledged"},
		{"short", func(t *testing.T, rows, _ string, cp *Checkpoint) {
			if err := os.Truncate(rows, cp.SpoolSize-1); err != nil {
				t.Fatal(err)
			}
		}, "bytes but the checkpoint acknowledged"},
		{"other bytes", func(t *testing.T, rows, _ string, cp *Checkpoint) {
			fh, err := os.OpenFile(rows, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			if _, err := fh.WriteAt([]byte{'#'}, cp.SpoolSize/2); err != nil {
				t.Fatal(err)
			}
		}, "does not hold what the checkpoint acknowledged"},
		{"index lost", func(t *testing.T, _, idx string, _ *Checkpoint) {
			if err := os.Truncate(idx, 0); err != nil {
				t.Fatal(err)
			}
		}, "result index holds 0 rows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cps, err := NewFileCheckpointer(filepath.Join(dir, "cp"))
			if err != nil {
				t.Fatal(err)
			}
			src := &memSource{files: map[string]string{"big.csv": genFile(2000, 0)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
			sk := &sink{delivered: map[string]int{}, delay: time.Millisecond}
			state := filepath.Join(dir, "state")
			opts := Options{Registry: testRegistry(src, sk, 10), Checkpointer: cps, TempRoot: dir, StateDir: state, CheckpointInterval: 5 * time.Millisecond}
			cp := stopMidFile(t, opts, sk, cps, 300)
			base := filepath.Join(state, "lineages", cp.LineageID)
			tc.damage(t, base+".rows", base+".idx", cp)
			sk.mu.Lock()
			before := len(sk.delivered)
			sk.mu.Unlock()
			sk.delay = 0
			f, err := Compile(testDoc(), opts)
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.RunOnce(context.Background())
			if err != nil || len(res) != 1 {
				t.Fatalf("resumed: %+v %v", res, err)
			}
			r := res[0]
			if r.Status != StatusFailure || !strings.Contains(r.Error, "cannot resume big.csv") || !strings.Contains(r.Error, tc.want) {
				t.Fatalf("status %s, error %q (want %q)", r.Status, r.Error, tc.want)
			}
			if len(sk.delivered) != before {
				t.Fatalf("records sent after the refused resume: %d, before %d", len(sk.delivered), before)
			}
			result := src.results["big.csv"]
			if strings.IndexByte(result, 0) >= 0 {
				t.Fatal("result file holds NUL bytes")
			}
			lines := strings.Split(strings.TrimSuffix(result, "\n"), "\n")
			if len(lines) != 2 || !strings.Contains(lines[1], "cannot resume big.csv") || !strings.HasSuffix(lines[1], ","+cp.LineageID) {
				t.Fatalf("result file: %q", result)
			}
			if c := src.finished["big.csv"]; c == nil || c.Err == nil || !c.HasResult {
				t.Fatalf("completion: %+v", c)
			}
		})
	}
}

// TestCheckpointFingerprintsSpool: the checkpoint's SpoolCheck matches the
// spool's bytes and index, so an intact spool always resumes.
func TestCheckpointFingerprintsSpool(t *testing.T) {
	dir := t.TempDir()
	cps, err := NewFileCheckpointer(filepath.Join(dir, "cp"))
	if err != nil {
		t.Fatal(err)
	}
	src := &memSource{files: map[string]string{"big.csv": genFile(2000, 10)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	sk := &sink{delivered: map[string]int{}, delay: time.Millisecond}
	opts := Options{Registry: testRegistry(src, sk, 10), Checkpointer: cps, WorkDir: filepath.Join(dir, "work"), CheckpointInterval: 3 * time.Millisecond}
	// Several stops and resumes in a row, each from the previous one's spool.
	for i := 0; i < 3; i++ {
		cp := stopMidFile(t, opts, sk, cps, 300*(i+1))
		if cp.Spool.Rows == 0 {
			t.Fatalf("checkpoint %d: %+v", i, cp.Spool)
		}
	}
	sk.delay = 0
	f, _ := Compile(testDoc(), opts)
	res, err := f.RunOnce(context.Background())
	if err != nil || len(res) != 1 || res[0].Status != StatusPartial || res[0].Interruptions < 1 || res[0].ResultRows != 2000 {
		t.Fatalf("resumed: %+v %v", res, err)
	}
	rows := strings.Split(strings.TrimSuffix(src.results["big.csv"], "\n"), "\n")[1:]
	for i, row := range rows {
		if cols := strings.Split(row, ","); cols[5] != fmt.Sprint(i+2) {
			t.Fatalf("row %d has line %s", i, cols[5])
		}
	}
}

// failingLines fails the whole file when its header repeats a column.
type failingLines struct{ lines }

func (p *failingLines) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	rc, err := u.File.Open(ctx)
	if err != nil {
		return err
	}
	var b [64]byte
	n, _ := rc.Read(b[:])
	rc.Close()
	if hdr, _, _ := strings.Cut(string(b[:n]), "\n"); hdr == "value,value" {
		return errors.New(`duplicate header "value"`)
	}
	return p.lines.Process(ctx, u, out)
}

// TestFileFailureLeavesFileLevelRow: a file that fails as a whole has its
// reason in the result file as a row, not only a header.
func TestFileFailureLeavesFileLevelRow(t *testing.T) {
	src := &memSource{files: map[string]string{"dup.csv": "value,value\n1,2\n"}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	sk := &sink{delivered: map[string]int{}}
	reg := testRegistry(src, sk, 10)
	reg.MustRegister(&block.Spec{Type: "strict_lines", Label: "strict", Class: block.ClassExecutor, Input: block.KindFile, Output: block.KindRecords,
		New: func(*block.Config, *block.Env) (block.Block, error) { return &failingLines{lines{batch: 10}}, nil }})
	doc := testDoc()
	doc.Blocks[1].Type = "strict_lines"
	f, err := Compile(doc, Options{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.RunOnce(context.Background())
	if err != nil || len(res) != 1 || res[0].Status != StatusFailure || res[0].ResultRows != 1 {
		t.Fatalf("run: %+v %v", res, err)
	}
	want := "status_code,error_message,entity_id,line_number,lineage_id\n" +
		`,"block conv: duplicate header ""value""",,,` + res[0].ID + "\n"
	if got := src.results["dup.csv"]; got != want {
		t.Fatalf("result file:\n%q\nwant\n%q", got, want)
	}
	if c := src.finished["dup.csv"]; !c.HasResult || c.Err == nil {
		t.Fatalf("completion: %+v", c)
	}
}

// TestWorkDirRemovedAndSwept: the default work directory is removed when
// Compile fails (it was left behind by every dataflow that did not compile)
// and on Close; one left by a killed process (its lock free) is removed by
// the next Compile, one still in use is not.
func TestWorkDirRemovedAndSwept(t *testing.T) {
	root := t.TempDir()
	src := &memSource{files: map[string]string{}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	reg := testRegistry(src, &sink{delivered: map[string]int{}}, 10)
	bad := &dataflow.Document{Name: "bad", Blocks: []dataflow.Block{{Type: "no_such_block", Name: "x"}}}
	if _, err := Compile(bad, Options{Registry: reg, TempRoot: root}); err == nil {
		t.Fatal("compiled a dataflow with an unknown block")
	}
	if left, _ := os.ReadDir(root); len(left) != 0 {
		t.Fatalf("left after a failed compile: %v", left)
	}

	// A directory whose process died (lock file, nobody holding it), one
	// whose process lives (this test holds its lock), and an unrelated one.
	dead := filepath.Join(root, "connectplus-work-dead")
	live := filepath.Join(root, "connectplus-work-live")
	other := filepath.Join(root, "other")
	for _, d := range []string{dead, live, other} {
		if err := os.MkdirAll(filepath.Join(d, "blocks"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, tempWorkLock), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	held, err := os.Open(filepath.Join(live, tempWorkLock))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := syscall.Flock(int(held.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	f, err := Compile(testDoc(), Options{Registry: reg, TempRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]bool{dead: false, live: true, other: true, f.workDir: true} {
		if _, err := os.Stat(d); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", d, err == nil, want)
		}
	}
	// The new directory is itself locked while the flow is open.
	if abandonedWork(f.workDir) {
		t.Fatal("the open flow's work directory looks abandoned")
	}
	if _, err := f.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.workDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("work directory after Close: %v", err)
	}
}

// TestBlocksGetDurableStateDir: blocks get a state directory under
// Options.StateDir that is the same for every process running the flow
// (their work directory is not), per flow and block.
func TestBlocksGetDurableStateDir(t *testing.T) {
	dir := t.TempDir()
	var seen []*block.Env
	src := &memSource{files: map[string]string{}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	reg := testRegistry(src, &sink{delivered: map[string]int{}}, 10)
	reg.MustRegister(&block.Spec{Type: "env_probe", Label: "probe", Class: block.ClassExecutor, Input: block.KindRecords, Output: block.KindRecords,
		New: func(_ *block.Config, env *block.Env) (block.Block, error) {
			seen = append(seen, env)
			return &sink{delivered: map[string]int{}}, nil
		}})
	doc := testDoc()
	doc.Blocks[2].Type = "env_probe"
	for _, key := range []string{"a", "a", "b"} {
		f, err := Compile(doc, Options{Registry: reg, TempRoot: dir, StateDir: filepath.Join(dir, "state"), FlowKey: key})
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if len(seen) != 3 || seen[0].StateDir != seen[1].StateDir || seen[0].WorkDir == seen[1].WorkDir || seen[0].StateDir == seen[2].StateDir ||
		!strings.HasPrefix(seen[0].StateDir, filepath.Join(dir, "state")+string(filepath.Separator)) || filepath.Base(seen[0].StateDir) != "post" {
		t.Fatalf("state dirs %q %q %q, work dirs %q %q", seen[0].StateDir, seen[1].StateDir, seen[2].StateDir, seen[0].WorkDir, seen[1].WorkDir)
	}
	if st, err := os.Stat(seen[0].StateDir); err != nil || !st.IsDir() {
		t.Fatalf("state dir: %v", err)
	}
}
