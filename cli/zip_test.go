package cli

import (
	"archive/zip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func writeZip(t *testing.T, file string, entries map[string]string) {
	t.Helper()
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(entries[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestInputZipHonoursUnzipFiles: issue 13 item 8. `run --input x.zip`
// ignored unzipFiles (the CSV converter then blamed the encoding), and
// members with the same name in different folders were reported under one
// name. Now each member is an input named by its path, with its own result
// file, and the zip-bomb limits are the block's settings, named in the
// error.
func TestInputZipHonoursUnzipFiles(t *testing.T) {
	dir := t.TempDir()
	archive := filepath.Join(dir, "customers.zip")
	writeZip(t, archive, map[string]string{
		"a/cust.csv": "id,name\n1,Ann\n2,Bob\n",
		"b/cust.csv": "id,name\n3,Cid\n",
	})
	// Without unzipFiles the converter says what the file is instead of
	// blaming its encoding.
	plain := mutateExample(t, "csv_to_jsonl.yaml", t.TempDir())
	if rep, _, _ := runJSON(t, "run", plain, "--input", archive, "--result-dir", dir, "--checkpoint-dir", filepath.Join(dir, "cp0"), "--no-progress"); len(rep.Files) != 1 || !strings.Contains(rep.Files[0].Error, "customers.zip is a zip archive, not CSV: set Unzip Files (unzipFiles: true)") {
		t.Fatalf("without unzipFiles: %+v", rep)
	}
	flow := mutateExample(t, "csv_to_jsonl.yaml", dir, "      fileRegex: '.*\\.csv'\n", "      fileRegex: '.*\\.zip'\n      unzipFiles: \"true\"\n")
	if rep := validateJSON(t, flow); !rep.Valid {
		t.Fatalf("validate: %+v", rep)
	}
	rep, code, stderr := runJSON(t, "run", flow, "--input", archive, "--result-dir", dir, "--checkpoint-dir", filepath.Join(dir, "cp"), "--no-progress")
	if code != ExitOK || len(rep.Files) != 2 {
		t.Fatalf("exit %d, %+v\n%s", code, rep, stderr)
	}
	var results []string
	var in int64
	for _, f := range rep.Files {
		results = append(results, f.ResultName)
		in += f.Counts.In
	}
	sort.Strings(results)
	if in != 3 || !strings.HasSuffix(results[0], "_a_cust.csv") || !strings.HasSuffix(results[1], "_b_cust.csv") {
		t.Fatalf("records %d, result files %v", in, results)
	}
	for _, r := range results {
		if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
			t.Fatal(err)
		}
	}
	stdout, _, _ := runCLI(t, "run", flow, "--input", archive, "--result-dir", dir, "--checkpoint-dir", filepath.Join(dir, "cp"), "--no-progress")
	if !strings.Contains(stdout, "a/cust.csv  ") || !strings.Contains(stdout, "b/cust.csv  ") {
		t.Fatalf("summary does not name the members by path:\n%s", stdout)
	}

	// A repetitive export (~400:1) passes the default ratio limit; a lower
	// block setting refuses it and says which setting to raise.
	export := filepath.Join(dir, "export.zip")
	writeZip(t, export, map[string]string{"export.csv": "date,store,status,amount\n" + strings.Repeat("2024-01-01,STORE_0001,PAID,0.00\n", 80000)})
	if _, code, stderr := runJSON(t, "run", flow, "--input", export, "--result-dir", dir, "--checkpoint-dir", filepath.Join(dir, "cp"), "--no-progress"); code != ExitOK {
		t.Fatalf("default limit: exit %d\n%s", code, stderr)
	}
	strict := mutateExample(t, "csv_to_jsonl.yaml", t.TempDir(), "      fileRegex: '.*\\.csv'\n", "      fileRegex: '.*\\.zip'\n      unzipFiles: \"true\"\n      unzipMaxRatio: 50\n")
	_, stderr, code = runCLI(t, "run", strict, "--input", export, "--result-dir", dir, "--checkpoint-dir", filepath.Join(dir, "cp2"), "--no-progress")
	if code == ExitOK || !strings.Contains(stderr, "above the 50:1 limit") || !strings.Contains(stderr, "raise Unzip Ratio Limit (unzipMaxRatio)") {
		t.Fatalf("strict limit: exit %d\n%s", code, stderr)
	}
}
