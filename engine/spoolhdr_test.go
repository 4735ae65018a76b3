package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
)

// spoolTestLineage is a lineage with real spool files in dir and its
// spooler running, for feeding rows by hand.
func spoolTestLineage(t *testing.T, dir string) *lineage {
	t.Helper()
	l := &lineage{flow: &Flow{stateDir: dir, workDir: dir}, id: "lin1", states: map[string][]byte{},
		delim: ',', report: "all", sorted: true, header: []string{"a", "b"}}
	if err := l.openSpool(nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.closeSpool)
	l.spoolBuf = make([]byte, 0, spoolBufSize)
	l.indexBuf = make([]byte, 0, indexBufSize)
	l.startSpooler(1, nil, nil)
	return l
}

// readResult opens the lineage's result file and returns its bytes and the
// reader's LocalPath.
func readResult(t *testing.T, l *lineage, fileErr error) (string, string) {
	t.Helper()
	open, _, err := l.resultFile(fileErr)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := rc.(io.WriterTo).WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	path := ""
	if lr, ok := rc.(block.LocalResult); ok {
		path = lr.LocalPath()
	}
	return b.String(), path
}

// TestSpoolIsTheResultFile: the spool begins with the result header, so
// when no later row adds a column the result file is the spool itself
// (LocalPath), byte for byte; otherwise (a new extra key, a file-level row)
// the result is the header of the end plus the rows, as it always was.
func TestSpoolIsTheResultFile(t *testing.T) {
	row := func(seq int64, extra ...[2]string) spoolRec {
		return spoolRec{seq: seq, line: seq + 1, cols: []string{"x", "y"}, raw: "x,y",
			o: block.Outcome{Status: block.Delivered, Code: 200, EntityID: "e", Extra: extra}}
	}
	id := [2]string{"id", "7"}
	for _, tc := range []struct {
		name    string
		recs    []spoolRec
		fileErr error
		want    string
		local   bool
	}{
		{"plain", []spoolRec{row(1), row(2)}, nil,
			"a,b,status_code,error_message,entity_id,line_number,lineage_id\nx,y,200,,e,2,lin1\nx,y,200,,e,3,lin1\n", true},
		{"extra key in the first row", []spoolRec{row(1, id), row(2)}, nil,
			"a,b,status_code,error_message,entity_id,id,line_number,lineage_id\nx,y,200,,e,7,2,lin1\nx,y,200,,e,,3,lin1\n", true},
		{"extra key later", []spoolRec{row(1), row(2, id)}, nil,
			"a,b,status_code,error_message,entity_id,id,line_number,lineage_id\nx,y,200,,e,2,lin1\nx,y,200,,e,7,3,lin1\n", false},
		{"file-level row", []spoolRec{row(1)}, errTest("gone"),
			"a,b,status_code,error_message,entity_id,line_number,lineage_id\nx,y,200,,e,2,lin1\n,,,gone,,,lin1\n", false},
		{"out of order", []spoolRec{row(2), row(-1)}, nil,
			"a,b,status_code,error_message,entity_id,line_number,lineage_id\nx,y,200,,e,0,lin1\nx,y,200,,e,3,lin1\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := spoolTestLineage(t, dir)
			if tc.name == "out of order" {
				// Engine-numbered records are written as they come.
				tc.recs[0].seq, tc.recs[1].line = -2, 0
			}
			l.spoolCh <- spoolJob{recs: tc.recs}
			got, path := readResult(t, l, tc.fileErr)
			if got != tc.want {
				t.Fatalf("result file\n%q, want\n%q", got, tc.want)
			}
			rows, _ := l.spoolPaths()
			spool, err := os.ReadFile(rows)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(spool, []byte("a,b,status_code,")) {
				t.Fatalf("spool does not begin with the header: %q", spool)
			}
			if tc.local != (path != "") || tc.local && (path != rows || string(spool) != tc.want) {
				t.Fatalf("LocalPath %q (spool %s holds %q), want local=%v", path, rows, spool, tc.local)
			}
		})
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }

// TestResumeKeepsLinkedResultFile: a source published the spool by a hard
// link (LocalPath) and the run died before completing its claim; the
// resumed lineage cuts its spool back and appends to it, and the published
// file must not change.
func TestResumeKeepsLinkedResultFile(t *testing.T) {
	m := stopBigFileMidway(t)
	dir, src, sk, state, opts, cp := m.dir, m.src, m.sk, m.state, m.opts, m.cp
	rows := filepath.Join(state, "lineages", cp.LineageID+".rows")
	published := filepath.Join(dir, "published.csv")
	if err := os.Link(rows, published); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(published)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(before)) <= cp.SpoolSize {
		// Make sure the resume has something to cut.
		fh, err := os.OpenFile(rows, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fh.WriteString("unacknowledged,row\n"); err != nil {
			t.Fatal(err)
		}
		fh.Close()
		before = append(before, "unacknowledged,row\n"...)
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
	after, err := os.ReadFile(published)
	if err != nil || !bytes.Equal(after, before) {
		t.Fatalf("published file changed by the resume (%d bytes, was %d): %v", len(after), len(before), err)
	}
	if lines := strings.Split(strings.TrimSuffix(src.results["big.csv"], "\n"), "\n"); len(lines) != 2001 {
		t.Fatalf("resumed result file has %d lines", len(lines))
	}
}

// TestResumeSpoolWithoutHeader: a spool begun by a version that did not
// write the header into it (no SpoolCheck.HeaderBytes) resumes as before,
// and its result file is the header plus the rows.
func TestResumeSpoolWithoutHeader(t *testing.T) {
	m := stopBigFileMidway(t)
	cps, src, sk, state, opts, cp := m.cps, m.src, m.sk, m.state, m.opts, m.cp
	h := cp.Spool.HeaderBytes
	if h == 0 {
		t.Fatal("the spool has no header")
	}
	// Rewrite spool, index and checkpoint as the older version left them.
	base := filepath.Join(state, "lineages", cp.LineageID)
	spool, err := os.ReadFile(base + ".rows")
	if err != nil {
		t.Fatal(err)
	}
	idx, err := os.ReadFile(base + ".idx")
	if err != nil {
		t.Fatal(err)
	}
	spool = spool[h:]
	var icrc uint32
	for i := 0; i+16 <= len(idx); i += 16 {
		off := binary.LittleEndian.Uint64(idx[i+8:])
		binary.LittleEndian.PutUint64(idx[i+8:], off-uint64(h))
		if int64(i/16) < cp.Spool.Rows {
			icrc = crc32.Update(icrc, castagnoli, idx[i:i+16])
		}
	}
	if err := os.WriteFile(base+".rows", spool, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".idx", idx, 0o600); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(cps.Dir, "*.json"))
	if len(files) != 1 {
		t.Fatalf("checkpoint files %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var fc fileClaim
	if err := json.Unmarshal(b, &fc); err != nil {
		t.Fatal(err)
	}
	fc.Checkpoint.SpoolSize -= h
	fc.Checkpoint.Spool.CRC32C = crc32.Checksum(spool[:fc.Checkpoint.SpoolSize], castagnoli)
	fc.Checkpoint.Spool.IndexCRC32C = icrc
	fc.Checkpoint.Spool.HeaderBytes = 0
	if b, err = json.Marshal(&fc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files[0], b, 0o600); err != nil {
		t.Fatal(err)
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
	lines := strings.Split(strings.TrimSuffix(src.results["big.csv"], "\n"), "\n")
	if len(lines) != 2001 || !strings.HasPrefix(lines[0], "id,v,status_code,") {
		t.Fatalf("result file: %d lines, header %q", len(lines), lines[0])
	}
	for i, row := range lines[1:] {
		if cols := strings.Split(row, ","); cols[0] != strconv.Itoa(i+1) || cols[2] != "200" {
			t.Fatalf("row %d: %s", i, row)
		}
	}
}

// TestResultRowDigitDelimiter: status codes are written unquoted only when
// the delimiter cannot occur in them.
func TestResultRowDigitDelimiter(t *testing.T) {
	l := spoolTestLineage(t, t.TempDir())
	l.delim = '0'
	l.spoolCh <- spoolJob{recs: []spoolRec{{seq: 1, line: 2, cols: []string{"x", "y"}, raw: "x,y",
		o: block.Outcome{Status: block.Delivered, Code: 200, EntityID: "e"}}}}
	got, _ := readResult(t, l, nil)
	if want := "a0b0status_code0error_message0entity_id0line_number0lineage_id\nx,y0\"200\"00e020lin1\n"; got != want {
		t.Fatalf("result file\n%q, want\n%q", got, want)
	}
}

// linkSource is a memSource that also notes the result file's local file
// (block.LocalResult) as Finish sees it.
type linkSource struct {
	*memSource
	local os.FileInfo
}

func (s *linkSource) Finish(ctx context.Context, it block.Item, c *block.Completion) error {
	rc, err := c.Result()
	if err != nil {
		return err
	}
	if lr, ok := rc.(block.LocalResult); ok && lr.LocalPath() != "" {
		s.local, _ = os.Stat(lr.LocalPath())
	}
	rc.Close()
	return s.memSource.Finish(ctx, it, c)
}

// TestKeptResultIsLinked: Options.ResultDir keeps the result file as a
// second name of the spool, not a copy, replacing a file of that name
// rather than writing into it.
func TestKeptResultIsLinked(t *testing.T) {
	dir := t.TempDir()
	mem := &memSource{files: map[string]string{"a.csv": genFile(50, 0)}, finished: map[string]*block.Completion{}, results: map[string]string{}}
	src := &linkSource{memSource: mem}
	sk := &sink{delivered: map[string]int{}}
	reg := block.NewRegistry()
	reg.MustRegister(
		&block.Spec{Type: "mem_read", Label: "mem", Class: block.ClassSource, Input: block.KindNone, Output: block.KindFile,
			New: func(*block.Config, *block.Env) (block.Block, error) { return src, nil }},
		&block.Spec{Type: "lines", Label: "lines", Class: block.ClassExecutor, Input: block.KindFile, Output: block.KindRecords,
			New: func(*block.Config, *block.Env) (block.Block, error) { return &lines{batch: 10}, nil }},
		&block.Spec{Type: "sink", Label: "sink", Class: block.ClassExecutor, Input: block.KindRecords, Output: block.KindRecords,
			New: func(*block.Config, *block.Env) (block.Block, error) { return sk, nil }},
	)
	keep := filepath.Join(dir, "keep")
	f, err := Compile(testDoc(), Options{Registry: reg, Checkpointer: NewMemoryCheckpointer(), TempRoot: dir,
		StateDir: filepath.Join(dir, "state"), ResultDir: keep})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.RunOnce(context.Background())
	if err != nil || len(res) != 1 || res[0].ResultPath == "" {
		t.Fatalf("run: %+v %v", res, err)
	}
	kept, err := os.ReadFile(res[0].ResultPath)
	if err != nil || string(kept) != mem.results["a.csv"] || strings.Count(string(kept), "\n") != 51 {
		t.Fatalf("kept result file %q (%v), result %q", kept, err, mem.results["a.csv"])
	}
	st, err := os.Stat(res[0].ResultPath)
	if err != nil || src.local == nil || !os.SameFile(st, src.local) {
		t.Fatalf("kept result file is not the spool: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "state", "lineages", "*")); len(left) != 0 {
		t.Fatalf("spool kept after completion: %v", left)
	}

	// A file of the kept name is replaced, not written into.
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("published\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(keep, "x")
	if err := os.Link(other, dst); err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(dir, "spool")
	if err := os.WriteFile(spool, []byte("h\nrow\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := func() (io.ReadCloser, error) {
		f, err := os.Open(spool)
		if err != nil {
			return nil, err
		}
		return &resultReader{hdr: bytes.NewReader(nil), body: &io.LimitedReader{R: f, N: 6}, tail: bytes.NewReader(nil), f: f, path: spool}, nil
	}
	if err := keepResult(open, keep, dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(other); string(b) != "published\n" {
		t.Fatalf("the other name's file was written into: %q", b)
	}
	if b, _ := os.ReadFile(dst); string(b) != "h\nrow\n" {
		t.Fatalf("kept %q", b)
	}
}
