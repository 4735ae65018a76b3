package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// midway is a 2,000-row file stopped after 300 deliveries (stopBigFileMidway).
type midway struct {
	dir, state string
	cps        *FileCheckpointer
	src        *memSource
	sk         *sink
	opts       Options
	cp         *Checkpoint
}

// stopBigFileMidway runs big.csv (2,000 rows, a slow sink) with checkpoints
// in dir/cp and block state in dir/state until 300 records are delivered,
// then stops the run: the fixture of the resume tests.
func stopBigFileMidway(t *testing.T) midway {
	t.Helper()
	m := midway{dir: t.TempDir()}
	var err error
	if m.cps, err = NewFileCheckpointer(filepath.Join(m.dir, "cp")); err != nil {
		t.Fatal(err)
	}
	m.src = &memSource{files: map[string]string{"big.csv": genFile(2000, 0)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	m.sk = &sink{delivered: map[string]int{}, delay: time.Millisecond}
	m.state = filepath.Join(m.dir, "state")
	m.opts = Options{Registry: testRegistry(m.src, m.sk, 10), Checkpointer: m.cps, TempRoot: m.dir, StateDir: m.state, CheckpointInterval: 5 * time.Millisecond}
	m.cp = stopMidFile(t, m.opts, m.sk, m.cps, 300)
	return m
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
			m := stopBigFileMidway(t)
			src, sk, state, opts, cp := m.src, m.sk, m.state, m.opts, m.cp
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
	sk := &sink{delivered: map[string]int{}, delay: 2 * time.Millisecond}
	opts := Options{Registry: testRegistry(src, sk, 10), Checkpointer: cps, WorkDir: filepath.Join(dir, "work"), CheckpointInterval: 3 * time.Millisecond}
	// Several stops and resumes in a row, each from the previous one's spool.
	// The stops stay far from the file's end (1,600 records are delivered
	// in all), so a loaded machine noticing the target late still stops
	// the run mid-file.
	for i := 0; i < 3; i++ {
		cp := stopMidFile(t, opts, sk, cps, 200*(i+1))
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

// frozen copies the checkpoint and state directories as they are at this
// moment into new ones, with every claim's process gone: what the next run
// finds after a SIGKILL at this point. Nothing the "killed" run does later
// reaches the copies.
func frozen(t *testing.T, cpDir, stateDir, to string) (string, string) {
	t.Helper()
	cp2, state2 := filepath.Join(to, "cp"), filepath.Join(to, "state")
	if err := os.CopyFS(cp2, os.DirFS(cpDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(state2, os.DirFS(stateDir)); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(cp2, "*.json"))
	c2 := &FileCheckpointer{Dir: cp2}
	for _, p := range files {
		c, err := c2.read(p)
		if err != nil || c == nil {
			t.Fatalf("claim %s: %v", p, err)
		}
		c.PID = 0
		if err := c2.write(p, c); err != nil {
			t.Fatal(err)
		}
	}
	return cp2, state2
}

// endingSink is the test sink with a destination's lineage hooks: onEnd
// runs when the engine ends a lineage (the moment a file destination
// publishes its output), and the calls are counted.
type endingSink struct {
	*sink
	mu      sync.Mutex
	onEnd   func()
	ends    int
	resumes int
}

func (e *endingSink) EndLineage(context.Context, string, bool) error {
	e.mu.Lock()
	e.ends++
	fn := e.onEnd
	e.onEnd = nil
	e.mu.Unlock()
	if fn != nil {
		fn()
	}
	return nil
}

func (e *endingSink) ResumeLineage(context.Context, block.Lineage) error {
	e.mu.Lock()
	e.resumes++
	e.mu.Unlock()
	return nil
}

// finishingSource runs onFinish before the source finishes a file (moves
// it, writes its result file).
type finishingSource struct {
	*memSource
	onFinish func()
}

func (s *finishingSource) Finish(ctx context.Context, it block.Item, c *block.Completion) error {
	if fn := s.onFinish; fn != nil {
		s.onFinish = nil
		fn()
	}
	return s.memSource.Finish(ctx, it, c)
}

func endingRegistry(src block.Source, es *endingSink) *block.Registry {
	r := block.NewRegistry()
	r.MustRegister(
		&block.Spec{Type: "mem_read", Label: "mem", Class: block.ClassSource, Input: block.KindNone, Output: block.KindFile,
			New: func(*block.Config, *block.Env) (block.Block, error) { return src, nil }},
		&block.Spec{Type: "lines", Label: "lines", Class: block.ClassExecutor, Input: block.KindFile, Output: block.KindRecords,
			New: func(*block.Config, *block.Env) (block.Block, error) { return &lines{batch: 10}, nil }},
		&block.Spec{Type: "sink", Label: "sink", Class: block.ClassExecutor, Input: block.KindRecords, Output: block.KindRecords,
			New: func(*block.Config, *block.Env) (block.Block, error) { return es, nil }},
	)
	return r
}

// TestKilledWhileCompletingResumesOnlyTheCompletion: a run is killed while
// it completes a file — right when the destination ends the lineage
// (publishes its output), or later, when the source finishes the file. The
// next run resumes the lineage as interrupted once, sends no record again,
// does not even read the file, writes the whole result file, and ends the
// destination's lineage only if it had not ended already. Before, the last
// checkpoint was the last periodic one: its records were sent again, and a
// file destination continued an output it had already published (a hole of
// NUL bytes followed by the re-sent rows: TestKillResume's "17000 lines").
func TestKilledWhileCompletingResumesOnlyTheCompletion(t *testing.T) {
	for _, at := range []string{"end", "finish"} {
		t.Run(at, func(t *testing.T) {
			dir := t.TempDir()
			cpDir, stateDir := filepath.Join(dir, "cp"), filepath.Join(dir, "state")
			cps, err := NewFileCheckpointer(cpDir)
			if err != nil {
				t.Fatal(err)
			}
			var cp2, state2 string
			kill := func() { cp2, state2 = frozen(t, cpDir, stateDir, filepath.Join(dir, "killed")) }
			mem := &memSource{files: map[string]string{"big.csv": genFile(2000, 0)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
			src := &finishingSource{memSource: mem}
			es := &endingSink{sink: &sink{delivered: map[string]int{}}}
			if at == "end" {
				es.onEnd = kill
			} else {
				src.onFinish = kill
			}
			// No periodic checkpoint: only what the engine saves on purpose.
			opts := Options{Registry: endingRegistry(src, es), Checkpointer: cps, TempRoot: dir, StateDir: stateDir, CheckpointInterval: time.Hour}
			f, err := Compile(testDoc(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.RunOnce(context.Background()); err != nil || cp2 == "" {
				t.Fatalf("first run: %v (killed: %v)", err, cp2 != "")
			}

			mem2 := &memSource{files: mem.files, finished: map[string]*block.Completion{}, results: map[string]string{}}
			es2 := &endingSink{sink: &sink{delivered: map[string]int{}}}
			cps2 := &FileCheckpointer{Dir: cp2}
			opts2 := Options{Registry: endingRegistry(&finishingSource{memSource: mem2}, es2), Checkpointer: cps2, TempRoot: dir, StateDir: state2, CheckpointInterval: time.Hour}
			f2, err := Compile(testDoc(), opts2)
			if err != nil {
				t.Fatal(err)
			}
			res, err := f2.RunOnce(context.Background())
			if err != nil || len(res) != 1 {
				t.Fatalf("resumed: %+v %v", res, err)
			}
			r := res[0]
			if !r.Resumed || r.Interruptions != 1 || r.Status != StatusSuccess || r.Counts.Delivered != 2000 || r.ResultRows != 2000 {
				t.Fatalf("resumed result: %+v", r)
			}
			if n := len(es2.delivered); n != 0 {
				t.Fatalf("%d acknowledged records sent again", n)
			}
			for _, b := range r.Blocks {
				if b.Name == "conv" && b.In > 0 {
					t.Fatalf("the file was read again: %+v", r.Blocks)
				}
			}
			wantEnds := map[string]int{"end": 1, "finish": 0}[at]
			if es2.ends != wantEnds || es2.resumes != wantEnds {
				t.Fatalf("resumed run ended the lineage %d times, resumed it %d times; want %d", es2.ends, es2.resumes, wantEnds)
			}
			rows := strings.Split(strings.TrimSuffix(mem2.results["big.csv"], "\n"), "\n")[1:]
			if len(rows) != 2000 || strings.Contains(mem2.results["big.csv"], "\x00") {
				t.Fatalf("result file has %d rows", len(rows))
			}
			if left, _ := filepath.Glob(filepath.Join(state2, "lineages", "*")); len(left) != 0 {
				t.Fatalf("spool kept after completion: %v", left)
			}
		})
	}
}

// TestInterruptionCountedBeforeFirstCheckpoint: a resumed run killed before
// its first periodic checkpoint still counts its interruption, so the next
// resume reports two. Before, the claim kept the old checkpoint and the
// next run counted one again.
func TestInterruptionCountedBeforeFirstCheckpoint(t *testing.T) {
	dir := t.TempDir()
	cpDir, stateDir := filepath.Join(dir, "cp"), filepath.Join(dir, "state")
	cps, err := NewFileCheckpointer(cpDir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"big.csv": genFile(2000, 0)}
	src := &memSource{files: files, finished: map[string]*block.Completion{}, results: map[string]string{}}
	sk := &sink{delivered: map[string]int{}, delay: time.Millisecond}
	opts := Options{Registry: testRegistry(src, sk, 10), Checkpointer: cps, TempRoot: dir, StateDir: stateDir, CheckpointInterval: 5 * time.Millisecond}
	stopMidFile(t, opts, sk, cps, 300)

	// The second run is killed as soon as it opens the file, before any
	// periodic checkpoint (there is none for an hour).
	var cp2, state2 string
	src2 := &finishingSource{memSource: &memSource{files: files, finished: map[string]*block.Completion{}, results: map[string]string{}}}
	opened := &openHook{finishingSource: src2, onOpen: func() { cp2, state2 = frozen(t, cpDir, stateDir, filepath.Join(dir, "killed")) }}
	reg := testRegistry(src, sk, 10)
	reg.MustRegister(&block.Spec{Type: "hook_read", Label: "hook", Class: block.ClassSource, Input: block.KindNone, Output: block.KindFile,
		New: func(*block.Config, *block.Env) (block.Block, error) { return opened, nil }})
	doc := testDoc()
	doc.Blocks[0].Type = "hook_read"
	f, err := Compile(doc, Options{Registry: reg, Checkpointer: cps, TempRoot: dir, StateDir: stateDir, CheckpointInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.RunOnce(context.Background()); err != nil || cp2 == "" {
		t.Fatalf("second run: %v", err)
	}

	src3 := &memSource{files: files, finished: map[string]*block.Completion{}, results: map[string]string{}}
	f3, err := Compile(testDoc(), Options{Registry: testRegistry(src3, &sink{delivered: map[string]int{}}, 10), Checkpointer: &FileCheckpointer{Dir: cp2},
		TempRoot: dir, StateDir: state2})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f3.RunOnce(context.Background())
	if err != nil || len(res) != 1 || !res[0].Resumed || res[0].Interruptions != 2 || res[0].ResultRows != 2000 {
		t.Fatalf("after two interruptions: %+v %v", res, err)
	}
}

// openHook runs onOpen when the source opens a file.
type openHook struct {
	*finishingSource
	onOpen func()
}

func (s *openHook) Open(ctx context.Context, it block.Item) (*block.Unit, error) {
	if fn := s.onOpen; fn != nil {
		s.onOpen = nil
		fn()
	}
	return s.finishingSource.Open(ctx, it)
}

// TestWorkDirKilledWhileRemovingIsSwept: a process killed while it removed
// its work directory (after it completed its files) left the directory
// without its lock file, which every later sweep took for an old version's
// and kept for a day (TestKillResume: "work directories after 5 kills: [two]").
// The directory is renamed before it is removed, and such a half-removed
// one is removed by the next Compile; a flow leaves nothing behind.
func TestWorkDirKilledWhileRemovingIsSwept(t *testing.T) {
	root := t.TempDir()
	half := filepath.Join(root, tempGonePrefix+tempWorkPrefix+"killed")
	if err := os.MkdirAll(filepath.Join(half, "blocks", "conv"), 0o700); err != nil {
		t.Fatal(err)
	}
	src := &memSource{files: map[string]string{"a.csv": genFile(10, 0)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	f, err := Compile(testDoc(), Options{Registry: testRegistry(src, &sink{delivered: map[string]int{}}, 10), TempRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(half); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("half-removed work directory after Compile: %v", err)
	}
	if _, err := f.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(root); len(left) != 0 {
		t.Fatalf("left in the temporary root: %v", left)
	}
}
