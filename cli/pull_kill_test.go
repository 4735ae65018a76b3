package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/connectplus/connectplus/sandbox"
)

// TestPullKilledMidPaginationResumes kills (SIGKILL) a connectplus run
// while its http_read source is half-way through the sandbox feed's pages,
// then runs it again: the second run continues after the last page the
// first one stored — at most the page in flight at the kill is asked for
// again — and the output holds every record exactly once.
func TestPullKilledMidPaginationResumes(t *testing.T) {
	const records, pageSize = 400, 10
	s := sandbox.New(sandbox.Config{DisableAuth: true, FeedSize: records,
		Faults: sandbox.FaultConfig{Global: sandbox.FaultRule{LatencyMin: sandbox.Duration(15 * time.Millisecond)}}})
	ts := httptest.NewServer(s)
	defer ts.Close()

	dir := t.TempDir()
	bin := filepath.Join(dir, "connectplus")
	build := exec.Command("go", "build", "-o", bin, "./cmd/connectplus")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "out")
	flow := filepath.Join(dir, "pull.yaml")
	doc := fmt.Sprintf(`name: pull_kill
blocks:
  - type: http_read
    name: pull
    config:
      authType: none
      apiBaseUrl: %s
      apiEndPoint: /x/feed/page
      paginationType: page
      pageSize: %d
      recordsPath: "$.data[*]"
      outputFileName: feedback.json
    relations: [out]
  - type: file_write
    name: out
    config:
      remotePath: %s
      conflictResolution: FAIL
      createRemoteDirectory: "true"
`, ts.URL, pageSize, out)
	if err := os.WriteFile(flow, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", flow, "--checkpoint-dir", filepath.Join(dir, "cp"), "--no-progress"}

	first := exec.Command(bin, args...)
	var log1 bytes.Buffer
	first.Stdout, first.Stderr = &log1, &log1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for len(s.FeedServed()) < 12 {
		if time.Now().After(deadline) {
			t.Fatalf("the first run fetched only %d pages: %s", len(s.FeedServed()), log1.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	if st := first.ProcessState; st.Exited() {
		t.Fatalf("the first run exited on its own before the kill: %s", log1.String())
	}
	beforeKill := len(s.FeedServed())
	if beforeKill >= records/pageSize {
		t.Fatalf("the kill landed after the last page (%d served)", beforeKill)
	}

	second := exec.Command(bin, args...)
	if b, err := second.CombinedOutput(); err != nil {
		t.Fatalf("second run: %v\n%s", err, b)
	}
	served := s.FeedServed()
	resumedAt := served[beforeKill].From
	// Pages are 10 records: the resumed run starts at the page after the
	// last stored one, which is the page in flight at the kill or the one
	// after it.
	if lastBefore := served[beforeKill-1].From; resumedAt != lastBefore && resumedAt != lastBefore+pageSize {
		t.Fatalf("the second run started at record %d; the first had last asked for %d", resumedAt, lastBefore)
	}
	if again := len(served) - records/pageSize - 1; again > 1 {
		t.Fatalf("%d pages were fetched again after the kill, at most 1 may be", again)
	}
	b, err := os.ReadFile(filepath.Join(out, "feedback.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got []struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("output: %v", err)
	}
	if len(got) != records {
		t.Fatalf("%d records written, want %d", len(got), records)
	}
	for i, r := range got {
		if r.ID != int64(i+1) {
			t.Fatalf("record %d has id %d: lost or duplicated", i, r.ID)
		}
	}
	t.Logf("killed after %d of %d pages; the resumed run started at record %d and fetched %d pages (%d page(s) asked for twice)",
		beforeKill, records/pageSize, resumedAt, len(served)-beforeKill, len(served)-records/pageSize-1)
}
