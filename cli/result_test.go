package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
)

type runReport struct {
	Files []struct {
		Status     string
		Error      string
		ResultName string
		ResultRows int64
		Counts     struct{ In, Delivered, Failed int64 }
	}
}

func runJSON(t *testing.T, args ...string) (runReport, int, string) {
	t.Helper()
	stdout, stderr, code := runCLI(t, append(args, "--json")...)
	var rep runReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("report: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
	return rep, code, stderr
}

// TestResultFileNeverOverwritten: two runs of the same input write two
// result files, whether or not they fall in the same second (in the same
// second the second one overwrote the first); the report names the file
// each run wrote.
func TestResultFileNeverOverwritten(t *testing.T) {
	dir := t.TempDir()
	flow := exampleIn(t, "csv_to_jsonl.yaml", dir)
	input := filepath.Join(repoRoot(t), "examples", "data", "transactions.csv")
	names := map[string]bool{}
	for i := 0; i < 3; i++ {
		rep, code, stderr := runJSON(t, "run", flow, "--input", input, "--result-dir", dir, "--checkpoint-dir", filepath.Join(dir, "cp"))
		if code != ExitOK || len(rep.Files) != 1 {
			t.Fatalf("run %d: exit %d %+v %s", i, code, rep, stderr)
		}
		names[rep.Files[0].ResultName] = true
	}
	files, _ := filepath.Glob(filepath.Join(dir, "result_*_transactions.csv"))
	if len(files) != 3 || len(names) != 3 {
		t.Fatalf("result files %v, reported %v", files, names)
	}
	for n := range names {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err != nil || bytes.Count(b, []byte("\n")) != 6 {
			t.Fatalf("%s: %v %q", n, err, b)
		}
	}

	// The same name twice, deterministically: the second gets a variant.
	src := &inputSource{resultDir: dir}
	for i, want := range []string{"", "result_20250101120000-2_x.csv"} {
		c := &block.Completion{ResultName: "result_20250101120000_x.csv", HasResult: true,
			Result: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("h\n")), nil }}
		if err := src.Finish(t.Context(), block.Item{Dir: dir}, c); err != nil {
			t.Fatal(err)
		}
		if c.WrittenAs != want {
			t.Fatalf("finish %d: written as %q, want %q", i, c.WrittenAs, want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".result-*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// TestWholeFileFailureHasFileLevelRow: a file that fails as a whole
// (duplicate header) leaves a result file with a row giving the reason,
// not only a header.
func TestWholeFileFailureHasFileLevelRow(t *testing.T) {
	dir := t.TempDir()
	flow := exampleIn(t, "csv_to_jsonl.yaml", dir)
	input := filepath.Join(dir, "dup.csv")
	if err := os.WriteFile(input, []byte("id,value,value\n1,2,3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, code, _ := runJSON(t, "run", flow, "--input", input, "--result-dir", dir, "--checkpoint-dir", filepath.Join(dir, "cp"))
	if code != ExitFailure || len(rep.Files) != 1 || rep.Files[0].ResultRows != 1 {
		t.Fatalf("exit %d: %+v", code, rep)
	}
	b, err := os.ReadFile(filepath.Join(dir, rep.Files[0].ResultName))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], `duplicate column ""value""`) {
		t.Fatalf("result file: %q", b)
	}
}

// TestFailedRowKeepsOriginalBytes: a row rejected for invalid UTF-8 is in
// the result file byte for byte (it had U+FFFD in place of the bytes).
func TestFailedRowKeepsOriginalBytes(t *testing.T) {
	dir := t.TempDir()
	flow := exampleIn(t, "csv_to_jsonl.yaml", dir)
	input := filepath.Join(dir, "latin.csv")
	if err := os.WriteFile(input, []byte("bill_number,name\nB1,Jos\xe9 Mar\xeda\nB2,Ana\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, code, _ := runJSON(t, "run", flow, "--input", input, "--result-dir", dir, "--checkpoint-dir", filepath.Join(dir, "cp"))
	if code != ExitPartial || len(rep.Files) != 1 || rep.Files[0].Counts.Failed != 1 {
		t.Fatalf("exit %d: %+v", code, rep)
	}
	b, err := os.ReadFile(filepath.Join(dir, rep.Files[0].ResultName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("B1,Jos\xe9 Mar\xeda")) || bytes.Contains(b, []byte("\uFFFD")) {
		t.Fatalf("result file: %q", b)
	}
}

// TestRunLeavesNoWorkDir: neither a run that does not compile nor one that
// completes leaves a connectplus-work-* directory behind (every run that
// failed to compile did).
func TestRunLeavesNoWorkDir(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	flow := exampleIn(t, "csv_to_jsonl.yaml", dir)
	b, _ := os.ReadFile(flow)
	bad := filepath.Join(dir, "bad.yaml")
	// Valid as a document; the engine refuses it (an Extension
	// Configuration that is not set).
	doc := strings.Replace(string(b), "remotePath: "+dir+"/out", "remotePath: {$config: cli_test_unset_dir}", 1)
	if err := os.WriteFile(bad, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(repoRoot(t), "examples", "data", "transactions.csv")
	for _, f := range []string{bad, flow} {
		_, stderr, code := runCLI(t, "run", f, "--input", input, "--result-dir", dir, "--checkpoint-dir", filepath.Join(dir, "cp"), "--no-progress")
		if (f == bad) != (code == ExitError) {
			t.Fatalf("%s: exit %d %s", f, code, stderr)
		}
		if left, _ := filepath.Glob(filepath.Join(tmp, "connectplus-work-*")); len(left) != 0 {
			t.Fatalf("after %s (exit %d): left %v", filepath.Base(f), code, left)
		}
	}
	// --work-dir is where the scratch directory is made.
	wd := filepath.Join(dir, "wd")
	if _, stderr, code := runCLI(t, "run", flow, "--input", input, "--result-dir", dir, "--checkpoint-dir", filepath.Join(dir, "cp"), "--work-dir", wd, "--no-progress"); code != ExitOK {
		t.Fatalf("--work-dir: %d %s", code, stderr)
	}
	if left, _ := os.ReadDir(wd); len(left) != 0 {
		t.Fatalf("left in --work-dir: %v", left)
	}
}

// localResult is a result reader whose bytes are a local file
// (block.LocalResult), as the engine's spool is.
type localResult struct {
	io.Reader
	path string
}

func (r localResult) Close() error      { return nil }
func (r localResult) LocalPath() string { return r.path }

// TestResultFileLinkedFromSpool: a result file that is a local file is
// given its name by a hard link, not copied; a second one of that name
// gets a variant, and the file itself keeps its name.
func TestResultFileLinkedFromSpool(t *testing.T) {
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool.rows")
	if err := os.WriteFile(spool, []byte("h\nrow\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := &inputSource{resultDir: filepath.Join(dir, "out")}
	for i, want := range []string{"", "result_20250101120000-2_x.csv"} {
		c := &block.Completion{ResultName: "result_20250101120000_x.csv", HasResult: true,
			Result: func() (io.ReadCloser, error) {
				return localResult{Reader: strings.NewReader("not read\n"), path: spool}, nil
			}}
		if err := src.Finish(t.Context(), block.Item{Dir: dir}, c); err != nil {
			t.Fatal(err)
		}
		if c.WrittenAs != want {
			t.Fatalf("finish %d: written as %q, want %q", i, c.WrittenAs, want)
		}
	}
	want, _ := os.Stat(spool)
	for _, n := range []string{"result_20250101120000_x.csv", "result_20250101120000-2_x.csv"} {
		st, err := os.Stat(filepath.Join(dir, "out", n))
		if err != nil || !os.SameFile(st, want) {
			t.Fatalf("%s: %v, not a link of the spool", n, err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "out", ".result-*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}
