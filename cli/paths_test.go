package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunRefusesDataDir: `connectplus run` stays unconfined (a flow reads
// and writes where its user says), but a server data directory given with
// --data-dir is never read from or written to.
func TestRunRefusesDataDir(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(filepath.Join(dir, "in"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(data, "master.key")
	if err := os.WriteFile(key, []byte("MASTER"), 0o600); err != nil {
		t.Fatal(err)
	}
	flow := func(src, dst string) string {
		p := filepath.Join(dir, "flow.yaml")
		doc := "name: steal\nblocks:\n  - type: file_read\n    name: read\n    config:\n      sourceDirectory: " + src +
			"\n      fileRegex: 'master\\.key'\n      processedDirectory: " + filepath.Join(dir, "done") +
			"\n      apiErrorFilePath: " + filepath.Join(dir, "err") + "\n      stabilityWait: 0s\n    relations: [write]\n" +
			"  - type: file_write\n    name: write\n    config: {remotePath: " + dst + ", conflictResolution: REPLACE, createRemoteDirectory: true}\n"
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cp := filepath.Join(dir, "cp")
	for name, f := range map[string]string{
		"read the data dir":  flow(data, filepath.Join(dir, "loot")),
		"write the data dir": flow(filepath.Join(dir, "in"), data),
	} {
		_, stderr, code := runCLI(t, "run", f, "--data-dir", data, "--checkpoint-dir", cp, "--no-progress")
		if code != ExitError || !strings.Contains(stderr, "no dataflow may touch") {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
	}
	if b, err := os.ReadFile(key); err != nil || string(b) != "MASTER" {
		t.Fatalf("master key: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "loot")); err == nil {
		t.Fatal("something was written to the loot directory")
	}
	// Without --data-dir the same flow runs as before (one user's machine).
	_, stderr, code := runCLI(t, "run", flow(data, filepath.Join(dir, "copy")), "--checkpoint-dir", cp, "--no-progress")
	if code != ExitOK {
		t.Fatalf("unconfined run: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "copy", "master.key")); string(b) != "MASTER" {
		t.Fatalf("unconfined run did not copy: %q", b)
	}
}
