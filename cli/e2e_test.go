package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connectplus/connectplus/bench/gen"
	"github.com/connectplus/connectplus/blocks/all"
)

// repoRoot finds the module root from this test's directory.
func repoRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), ".."))
}

// exampleIn copies an example dataflow with its /tmp/connectplus-demo paths
// moved under dir, so tests never share folders.
func exampleIn(t testing.TB, name, dir string) string {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	if err := os.WriteFile(out, bytes.ReplaceAll(b, []byte("/tmp/connectplus-demo"), []byte(dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// runCLI runs connectplus in-process and returns stdout, stderr and the exit code.
func runCLI(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a := &app{version: "test", registry: all.Registry(), stdout: &stdout, stderr: &stderr, stdin: strings.NewReader("")}
	root := a.root()
	root.SetArgs(args)
	code := ExitOK
	if err := root.Execute(); err != nil {
		var ee *exitError
		switch {
		case asExit(err, &ee):
			code = ee.code
			if ee.err != nil {
				stderr.WriteString(ee.err.Error())
			}
		default:
			code = ExitError
			stderr.WriteString(err.Error())
		}
	}
	return stdout.String(), stderr.String(), code
}

func asExit(err error, target **exitError) bool {
	e, ok := err.(*exitError)
	if ok {
		*target = e
	}
	return ok
}

var lineageRE = regexp.MustCompile(`,[0-9a-f]{16}\n`)

// TestExampleCSVToJSONLGolden runs examples/csv_to_jsonl.yaml through the
// CLI on a file full of CSV edge cases and compares the JSON Lines output
// and the result file byte for byte with golden files.
func TestExampleCSVToJSONLGolden(t *testing.T) {
	dir := t.TempDir()
	flow := exampleIn(t, "csv_to_jsonl.yaml", dir)
	input := filepath.Join(repoRoot(t), "cli", "testdata", "e2e", "edge.csv")
	stdout, stderr, code := runCLI(t, "run", flow, "--input", input, "--result-dir", dir, "--checkpoint-dir", filepath.Join(dir, "cp"), "--json")
	if code != ExitPartial {
		t.Fatalf("exit %d (want %d: the file has malformed rows)\nstdout: %s\nstderr: %s", code, ExitPartial, stdout, stderr)
	}
	var rep struct {
		Files []struct {
			Counts     struct{ In, Delivered, Filtered, Failed int64 }
			ResultName string
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout)
	}
	c := rep.Files[0].Counts
	if c.In != c.Delivered+c.Filtered+c.Failed || c.In == 0 || c.Failed == 0 {
		t.Fatalf("record accounting: %+v", c)
	}
	got, err := os.ReadFile(filepath.Join(dir, "out", "edge.csv.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "edge.jsonl", got)
	res, err := os.ReadFile(filepath.Join(dir, rep.Files[0].ResultName))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "edge.result.csv", lineageRE.ReplaceAll(res, []byte(",LINEAGE\n")))
	// The input is left in place with --input.
	if _, err := os.Stat(input); err != nil {
		t.Fatal(err)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(repoRoot(t), "cli", "testdata", "e2e", name)
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the golden file\n got: %q\nwant: %q", name, got, want)
	}
}

// TestExampleFromSourceFolder runs the example the way a schedule would:
// the file_read source finds the file, which is moved to the processed
// folder, and the result file lands in the error folder.
func TestExampleFromSourceFolder(t *testing.T) {
	dir := t.TempDir()
	flow := exampleIn(t, "csv_to_jsonl.yaml", dir)
	if err := os.MkdirAll(filepath.Join(dir, "in"), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := gen.WriteTransactions(&buf, 1000, 7); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "in", "tx.csv")
	if err := os.WriteFile(src, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	_ = os.Chtimes(src, old, old)
	stdout, stderr, code := runCLI(t, "run", flow, "--checkpoint-dir", filepath.Join(dir, "cp"), "--stability-wait", "10ms", "--no-progress")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "in=1000 delivered=1000 filtered=0 failed=0") {
		t.Fatalf("summary: %s", stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "processed", "tx.csv")); err != nil {
		t.Fatalf("file not moved to processed: %v", err)
	}
	results, _ := filepath.Glob(filepath.Join(dir, "errors", "result_*_tx.csv"))
	if len(results) != 1 {
		t.Fatalf("result files: %v", results)
	}
	lines := countLines(t, filepath.Join(dir, "out", "tx.csv.jsonl"))
	if lines != 1000 {
		t.Fatalf("output lines %d", lines)
	}
	// A second run finds nothing to do.
	stdout, _, code = runCLI(t, "run", flow, "--checkpoint-dir", filepath.Join(dir, "cp"), "--stability-wait", "10ms", "--no-progress")
	if code != ExitOK || !strings.Contains(stdout, "no eligible files") {
		t.Fatalf("second run: %d %s", code, stdout)
	}
}

func countLines(t testing.TB, path string) int {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
	}
	return n
}

func TestValidateReportsEveryProblemWithPosition(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	doc := `name: broken
blocks:
  - type: file_read
    name: read
    config:
      sourceDirectory: /in
      fileRegex: '([a-z'
      processedDirectory: /p
    relations: [nowhere]
  - type: convert_csv_to_jsn
    name: convert
  - type: jslt_transform
    name: t
    config: {transformation: '{"a": .b}', bogus: 1}
`
	if err := os.WriteFile(bad, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _, code := runCLI(t, "validate", bad)
	if code != ExitError {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"7:18: blocks[0].config.fileRegex",   // invalid regex, with line:column
		"apiErrorFilePath",                   // missing required field
		"nowhere",                            // dangling relation
		`did you mean "convert_csv_to_json"`, // unknown type
		"bogus",                              // unknown field
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("missing %q in:\n%s", want, stdout)
		}
	}
	stdout, _, code = runCLI(t, "validate", filepath.Join(repoRoot(t), "examples", "csv_to_jsonl.yaml"))
	if code != ExitOK {
		t.Fatalf("example invalid: %s", stdout)
	}
}

func TestBlocksDocsAndSchema(t *testing.T) {
	stdout, _, code := runCLI(t, "blocks", "convert_csv_to_json")
	if code != ExitOK || !strings.Contains(stdout, "groupSize") || !strings.Contains(stdout, "Grouping Limit") {
		t.Fatalf("blocks doc: %d %s", code, stdout)
	}
	stdout, _, code = runCLI(t, "blocks", "--schema")
	var schema map[string]any
	if code != ExitOK || json.Unmarshal([]byte(stdout), &schema) != nil {
		t.Fatalf("schema: %d", code)
	}
	_, stderr, code := runCLI(t, "blocks", "sftp_reed")
	if code != ExitError || !strings.Contains(stderr, `did you mean "sftp_read"`) {
		t.Fatalf("typo: %d %s", code, stderr)
	}
	for _, cmd := range [][]string{{"--help"}, {"run", "--help"}, {"validate", "--help"}, {"blocks", "--help"}, {"version"}, {"expr", "--help"}, {"jslt", "--help"}, {"sandbox", "--help"}} {
		if _, stderr, code := runCLI(t, cmd...); code != ExitOK {
			t.Fatalf("%v: %d %s", cmd, code, stderr)
		}
	}
}

// TestKillResume kills `connectplus run` with SIGKILL several times in the
// middle of a 200,000-row file and runs it again each time, with the default
// work directory (a temporary one) and the same checkpoint directory: once
// with the file given by --input, once found in the source folder
// (sourceDirectory), as in production. The result file has exactly one row
// per input record, byte for byte what an uninterrupted run writes (it had
// millions of NUL bytes where the acknowledged rows were: their spool was in
// the killed run's temporary directory), and so has the JSON Lines output.
// The killed runs' temporary directories are removed by the next run.
func TestKillResume(t *testing.T) {
	const rows, kills = 200000, 5
	dir := t.TempDir()
	bin := filepath.Join(dir, "connectplus")
	build := exec.Command("go", "build", "-o", bin, "./cmd/connectplus")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var data bytes.Buffer
	data.WriteString("id,name,amount\n")
	for i := 1; i <= rows; i++ {
		fmt.Fprintf(&data, "%d,n%d,%d.%02d\n", i, i%977, i%5000, i%100)
	}

	// Reference: an uninterrupted run.
	refDir := filepath.Join(dir, "ref")
	_ = os.MkdirAll(refDir, 0o755)
	refInput := filepath.Join(refDir, "big.csv")
	if err := os.WriteFile(refInput, data.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	refFlow := exampleIn(t, "csv_to_jsonl.yaml", refDir)
	cmd := exec.Command(bin, "run", refFlow, "--input", refInput, "--result-dir", refDir, "--checkpoint-dir", filepath.Join(refDir, "cp"), "--no-progress")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("reference run: %v\n%s", err, out)
	}
	wantOut, err := os.ReadFile(filepath.Join(refDir, "out", "big.csv.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	refResults, _ := filepath.Glob(filepath.Join(refDir, "result_*_big.csv"))
	if len(refResults) != 1 {
		t.Fatalf("reference result files: %v", refResults)
	}
	wantResult, err := os.ReadFile(refResults[0])
	if err != nil {
		t.Fatal(err)
	}
	wantResult = lineageRE.ReplaceAll(wantResult, []byte(",LINEAGE\n"))
	if n := bytes.Count(wantResult, []byte("\n")); n != rows+1 {
		t.Fatalf("reference result file has %d lines", n)
	}

	for _, mode := range []string{"input", "directory"} {
		t.Run(mode, func(t *testing.T) {
			runDir := filepath.Join(dir, mode)
			tmp := filepath.Join(runDir, "tmp") // TMPDIR: where the default work directories go
			for _, d := range []string{tmp, filepath.Join(runDir, "in")} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			flow := exampleIn(t, "csv_to_jsonl.yaml", runDir)
			cpDir := filepath.Join(runDir, "cp")
			// Progress is saved often enough for the kill loop to see a
			// resumed run's progress before it completes the file (at 20 ms
			// a run often completed the rest between two saves).
			args := []string{"run", flow, "--checkpoint-dir", cpDir, "--no-progress", "--checkpoint-interval", "5ms"}
			input, resultDir := filepath.Join(runDir, "big.csv"), runDir
			if mode == "directory" {
				input, resultDir = filepath.Join(runDir, "in", "big.csv"), filepath.Join(runDir, "errors")
				args = append(args, "--stability-wait", "10ms")
			} else {
				args = append(args, "--input", input, "--result-dir", runDir)
			}
			env := append(os.Environ(), "TMPDIR="+tmp)
			// fresh puts the input back and forgets every earlier run.
			fresh := func() {
				for _, d := range []string{cpDir, tmp, filepath.Join(runDir, "out"), filepath.Join(runDir, "processed"), filepath.Join(runDir, "errors")} {
					_ = os.RemoveAll(d)
				}
				old, _ := filepath.Glob(filepath.Join(runDir, "result_*"))
				for _, f := range old {
					_ = os.Remove(f)
				}
				if err := os.MkdirAll(tmp, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(input, data.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				old2 := time.Now().Add(-time.Minute)
				_ = os.Chtimes(input, old2, old2)
			}

			killed := 0
			var acked int64
			// A run that finishes before it could be killed (the machine
			// stalled the test between two polls) proves nothing: start
			// the whole sequence again, a few times at most.
			for try := 1; ; try++ {
				fresh()
				killed = 0
				early := ""
				for attempt := 0; killed < kills && attempt < 3*kills && early == ""; attempt++ {
					// Each run is killed once it has saved progress of its
					// own past the next target, a little later each time,
					// so the spool also holds rows beyond the checkpoint.
					// The target follows the progress so far, so a kill
					// that landed late still leaves rows for the next runs.
					from := watermark(cpDir)
					if from == rows {
						// The last kill landed while the run was completing
						// the file (every record acknowledged, the output
						// being published): no later run can be killed
						// mid-file; the last run only completes it.
						t.Logf("kill %d landed while the file was being completed", killed)
						break
					}
					target := from + (int64(rows)-from)/int64(kills-killed+2)
					cmd := exec.Command(bin, args...)
					cmd.Env = env
					var out bytes.Buffer
					cmd.Stdout, cmd.Stderr = &out, &out
					if err := cmd.Start(); err != nil {
						t.Fatal(err)
					}
					exited := make(chan struct{})
					go func() { _ = cmd.Wait(); close(exited) }()
					for done := false; !done; {
						select {
						case <-exited:
							early = fmt.Sprintf("run %d finished before it could be killed (target %d, from %d): %s", attempt, target, from, out.String())
							done = true
							continue
						default:
						}
						if wm := watermark(cpDir); wm >= target && wm > from {
							if wm < rows {
								// (Not once every record is acknowledged: the
								// run is completing the file, which takes
								// about a millisecond now that the result file
								// is the spool, linked, not copied. At 3 ms a
								// kill, the fourth run — ~35,000 rows left at
								// a few million a second — finished first.)
								time.Sleep(time.Duration(killed) * time.Millisecond)
							}
							_ = cmd.Process.Signal(syscall.SIGKILL)
							<-exited
							done = true
							if st := cmd.ProcessState; st != nil && st.Exited() {
								// It finished between the check and the
								// kill: the kill proves nothing.
								early = fmt.Sprintf("run %d finished before its kill landed (target %d, from %d): %s", attempt, target, from, out.String())
								continue
							}
							if watermark(cpDir) == 0 {
								// The checkpoint is gone: the run completed
								// the file (and forgot it, --input; or marked
								// it done) before the kill landed, which
								// interrupted nothing even though the process
								// was still alive. Counting it made the
								// report's interruptions look lost.
								early = fmt.Sprintf("run %d completed the file before the kill landed (target %d, from %d)", attempt, target, from)
								continue
							}
							killed++
						}
						time.Sleep(time.Millisecond)
					}
				}
				if early == "" {
					break
				}
				if try == 3 {
					t.Fatal(early)
				}
				t.Logf("try %d: %s; starting again", try, early)
			}
			acked = watermark(cpDir)
			// The last killed run's work directory is still there; the
			// next run removes it.
			if left, _ := filepath.Glob(filepath.Join(tmp, "connectplus-work-*")); len(left) != 1 {
				var desc []string
				for _, d := range left {
					es, _ := os.ReadDir(d)
					names := []string{}
					for _, e := range es {
						names = append(names, e.Name())
					}
					st, _ := os.Stat(d)
					desc = append(desc, fmt.Sprintf("%s %v %v", d, st.ModTime().Format(time.StampMicro), names))
				}
				t.Fatalf("work directories after %d kills: %v", killed, desc)
			}
			cmd := exec.Command(bin, append(args, "--json")...)
			cmd.Env = env
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("resumed run: %v\n%s", err, out)
			}
			var rep struct {
				Files []struct {
					Counts        struct{ In, Delivered int64 }
					Resumed       bool
					Interruptions int
					ResultName    string
					ResultRows    int64
				}
				Blocks []struct {
					Name       string
					RecordsOut int64
				}
			}
			if err := json.Unmarshal(out, &rep); err != nil {
				t.Fatal(err)
			}
			if len(rep.Files) != 1 {
				t.Fatalf("resumed report: %s", out)
			}
			f := rep.Files[0]
			if !f.Resumed || f.Interruptions != killed || f.Counts.In != rows || f.Counts.Delivered != rows || f.ResultRows != rows {
				t.Fatalf("resumed report after %d kills: %s", killed, out)
			}
			// The last run converted only the records not acknowledged
			// before the last kill.
			var converted int64
			for _, b := range rep.Blocks {
				if b.Name == "convert" {
					converted = b.RecordsOut
				}
			}
			// (None when the last kill landed while the file was being
			// completed: then the file is not read again.)
			if converted > rows-acked || (converted == 0 && acked < rows) {
				t.Fatalf("the last run re-emitted acknowledged records: converted %d, acknowledged before the kill %d of %d", converted, acked, rows)
			}
			res, err := os.ReadFile(filepath.Join(resultDir, f.ResultName))
			if err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(res, []byte{0}); n > 0 {
				t.Fatalf("the result file holds %d NUL bytes", n)
			}
			if got := lineageRE.ReplaceAll(res, []byte(",LINEAGE\n")); !bytes.Equal(got, wantResult) {
				t.Fatalf("result file after %d kills differs from an uninterrupted run's: %d lines vs %d", killed, bytes.Count(got, []byte("\n")), bytes.Count(wantResult, []byte("\n")))
			}
			gotOut, err := os.ReadFile(filepath.Join(runDir, "out", "big.csv.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gotOut, wantOut) {
				t.Fatalf("output after %d kills differs from an uninterrupted run's: %d lines vs %d", killed, bytes.Count(gotOut, []byte("\n")), bytes.Count(wantOut, []byte("\n")))
			}
			if mode == "directory" {
				if _, err := os.Stat(filepath.Join(runDir, "processed", "big.csv")); err != nil {
					t.Fatalf("input not moved to processed: %v", err)
				}
			}
			if left, _ := filepath.Glob(filepath.Join(tmp, "connectplus-work-*")); len(left) != 0 {
				t.Fatalf("work directories left: %v", left)
			}
			if left, _ := filepath.Glob(filepath.Join(cpDir, "state", "lineages", "*")); len(left) != 0 {
				t.Fatalf("spools left: %v", left)
			}
			t.Logf("%s: killed %d times, the last after %d of %d records were acknowledged; the last run converted %d", mode, killed, acked, rows, converted)
		})
	}
}

// watermark reads the highest acknowledged-record watermark in a
// checkpoint directory.
func watermark(dir string) int64 {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var best int64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var c struct {
			Checkpoint *struct {
				Watermark int64 `json:"watermark"`
			} `json:"checkpoint"`
		}
		if json.Unmarshal(b, &c) == nil && c.Checkpoint != nil && c.Checkpoint.Watermark > best {
			best = c.Checkpoint.Watermark
		}
	}
	return best
}

// TestAPIExamplesAgainstSandbox runs the three API examples (bulk add
// customers, single add customer, add transactions with a filter) against
// the in-process sandbox, as `connectplus run --sandbox` does from a fresh
// clone, and checks the record accounting and the result files.
func TestAPIExamplesAgainstSandbox(t *testing.T) {
	data := filepath.Join(repoRoot(t), "examples", "data")
	for _, tc := range []struct {
		flow, input                     string
		code                            int
		in, delivered, filtered, failed int64
		resultContains                  []string
	}{
		{"bulk_add_customers.yaml", "customers.csv", ExitOK, 5, 5, 0, 0, []string{"John,Doe,919812345678,INSTORE,loyalty,mobile,200,"}},
		{"bulk_add_customers.yaml", "customers_with_errors.csv", ExitPartial, 5, 4, 0, 1, []string{"Mei,Tan,mei.tan@example,INSTORE,loyalty,email,1002,"}},
		{"add_customer.yaml", "customers_with_errors.csv", ExitPartial, 5, 4, 0, 1, []string{",1002,"}},
		{"add_transactions.yaml", "transactions.csv", ExitPartial, 5, 2, 2, 1, []string{"filtered by paid", "BN10000040", ",631,"}},
	} {
		t.Run(tc.flow+"/"+tc.input, func(t *testing.T) {
			dir := t.TempDir()
			flow := exampleIn(t, tc.flow, dir)
			stdout, stderr, code := runCLI(t, "run", flow, "--sandbox", "--input", filepath.Join(data, tc.input), "--result-dir", dir, "--checkpoint-dir", filepath.Join(dir, "cp"), "--json")
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, stdout, stderr)
			}
			var rep struct {
				Files []struct {
					Counts     struct{ In, Delivered, Filtered, Failed int64 }
					ResultName string
				}
			}
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatal(err)
			}
			c := rep.Files[0].Counts
			if c.In != tc.in || c.Delivered != tc.delivered || c.Filtered != tc.filtered || c.Failed != tc.failed {
				t.Fatalf("counts %+v", c)
			}
			res, err := os.ReadFile(filepath.Join(dir, rep.Files[0].ResultName))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.resultContains {
				if !strings.Contains(string(res), want) {
					t.Errorf("result file lacks %q:\n%s", want, res)
				}
			}
			if n := strings.Count(string(res), "\n"); n != int(tc.in)+1 {
				t.Errorf("result rows %d, want %d", n-1, tc.in)
			}
		})
	}
}

// TestInputRunsAgain: a file given with --input is processed on every run
// (the README command can be repeated), while the source-folder mode never
// picks up a completed file twice (TestExampleFromSourceFolder).
func TestInputRunsAgain(t *testing.T) {
	dir := t.TempDir()
	flow := exampleIn(t, "csv_to_jsonl.yaml", dir)
	input := filepath.Join(repoRoot(t), "examples", "data", "transactions.csv")
	for i := 0; i < 2; i++ {
		stdout, stderr, code := runCLI(t, "run", flow, "--input", input, "--result-dir", dir, "--checkpoint-dir", filepath.Join(dir, "cp"), "--no-progress")
		if code != ExitOK || !strings.Contains(stdout, "in=5 delivered=5") {
			t.Fatalf("run %d: %d\n%s\n%s", i, code, stdout, stderr)
		}
	}
}

// stabilityWait 0 means "no wait" (issue 13.4): in the dataflow ("0s" or
// "0") the file is picked up at its first sighting, and --stability-wait
// beats the dataflow's own value, 0 included. Before the fix a zero wait
// never picked a file up and the flag was set under a key no source read.
func TestStabilityWaitZero(t *testing.T) {
	cases := []struct {
		name, config string
		flags        []string
	}{
		{"config 0s", "0s", nil},
		{"config bare 0", `"0"`, nil},
		{"flag 0s beats config 1h", "1h", []string{"--stability-wait", "0s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			flow := exampleIn(t, "csv_to_jsonl.yaml", dir)
			b, err := os.ReadFile(flow)
			if err != nil {
				t.Fatal(err)
			}
			doc := strings.Replace(string(b), "      fileRegex: '.*\\.csv'\n", "      fileRegex: '.*\\.csv'\n      stabilityWait: "+c.config+"\n", 1)
			if doc == string(b) {
				t.Fatal("could not insert stabilityWait")
			}
			if err := os.WriteFile(flow, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, "in"), 0o755); err != nil {
				t.Fatal(err)
			}
			// A file written just now: only a zero wait takes it at once.
			if err := os.WriteFile(filepath.Join(dir, "in", "tx.csv"), []byte("bill_number,amount\nB1,10\nB2,20\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"run", flow, "--checkpoint-dir", filepath.Join(dir, "cp"), "--no-progress"}, c.flags...)
			stdout, stderr, code := runCLI(t, args...)
			if code != ExitOK || !strings.Contains(stdout, "in=2 delivered=2") {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
		})
	}
}
