package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/store"
)

// orgEnv is a server with --files-root and two organisations: A (the
// bootstrap "default", with admin and alice) and B (bob, an editor, and
// carol, an admin). Every organisation has its own editor and a second
// admin, so maker-checker approvals happen inside it.
type orgEnv struct {
	t                    *testing.T
	dataDir, files, tmp  string
	srv                  *serverProc
	admin, alice         *client // org A: maker, checker
	bob, carol           *client // org B: editor (maker), admin (checker)
	orgA, orgB           store.Org
	homeA, homeB         string
	masterKey, keyBefore []byte
}

func newOrgEnv(t *testing.T) *orgEnv {
	t.Helper()
	e := &orgEnv{t: t, tmp: t.TempDir()}
	e.dataDir, e.files = filepath.Join(e.tmp, "data"), filepath.Join(e.tmp, "files")
	e.srv = startServer(t, e.dataDir, "", "--files-root", e.files)
	e.admin = login(t, e.srv.url(), "admin", adminPassword)
	e.admin.do("GET", "/org", nil, 200, &e.orgA)
	e.invite(e.admin, "alice", "admin", "alice-E2E-password-1")
	e.admin.do("POST", "/orgs", map[string]any{"name": "org-b"}, 201, &e.orgB)
	// The platform administrator created org B and is its admin: they
	// invite org B's people.
	asB := *e.admin
	asB.org = e.orgB.ID
	e.invite(&asB, "bob", "editor", "bob-E2E-password-123")
	e.invite(&asB, "carol", "admin", "carol-E2E-password-1")
	e.alice = login(t, e.srv.url(), "alice", "alice-E2E-password-1")
	e.bob = login(t, e.srv.url(), "bob", "bob-E2E-password-123")
	e.bob.org = e.orgB.ID
	e.carol = login(t, e.srv.url(), "carol", "carol-E2E-password-1")
	e.carol.org = e.orgB.ID
	e.homeA, e.homeB = filepath.Join(e.files, e.orgA.ID), filepath.Join(e.files, e.orgB.ID)
	var err error
	if e.keyBefore, err = os.ReadFile(filepath.Join(e.dataDir, "master.key")); err != nil {
		t.Fatal(err)
	}
	return e
}

// invite has c invite username with role; the invitee redeems the code
// with password.
func (e *orgEnv) invite(c *client, username, role, password string) {
	e.t.Helper()
	var inv struct {
		Code string `json:"code"`
	}
	c.do("POST", "/users", map[string]any{"username": username, "role": role}, 201, &inv)
	anon := &client{t: e.t, base: c.base, hc: &http.Client{Timeout: 30 * time.Second}}
	anon.do("POST", "/invitations/accept", map[string]any{"code": inv.Code, "password": password}, 200, nil)
}

// flowDoc is file_read → file_write with the given config values (YAML
// scalars or {$config: name}).
func flowDoc(name, src, done, errDir, dst string) string {
	return fmt.Sprintf(`name: %s
trigger: {cron: %q}
blocks:
  - type: file_read
    name: read
    config:
      sourceDirectory: %s
      fileRegex: '.*'
      processedDirectory: %s
      apiErrorFilePath: %s
      stabilityWait: 0s
      Report Status Code: all
    relations: [write]
  - type: file_write
    name: write
    config: {remotePath: %s, createRemoteDirectory: true, conflictResolution: REPLACE}
`, name, neverCron, src, done, errDir, dst)
}

func (e *orgEnv) create(c *client, name, doc string) string {
	e.t.Helper()
	var cr struct {
		Dataflow store.Dataflow `json:"dataflow"`
	}
	c.do("POST", "/dataflows", map[string]any{"name": name, "document": doc}, 201, &cr)
	return cr.Dataflow.ID
}

// goLive submits as maker, approves and makes Live as checker.
func (e *orgEnv) goLive(maker, checker *client, id string) {
	e.t.Helper()
	vp := "/dataflows/" + id + "/versions/1"
	maker.do("POST", vp+"/submit", nil, 200, nil)
	checker.do("POST", vp+"/approve", map[string]string{"reason": "approved in review"}, 200, nil)
	checker.do("POST", vp+"/live", nil, 200, nil)
}

func (e *orgEnv) status(c *client, id string) runstate.FlowRuntime {
	e.t.Helper()
	var st runstate.FlowRuntime
	c.do("GET", "/dataflows/"+id+"/status", nil, 200, &st)
	return st
}

func (e *orgEnv) config(maker, checker *client, name, value string) {
	e.t.Helper()
	var req store.ConfigRequest
	maker.do("POST", "/config-requests", map[string]any{"name": name, "value": value, "isSecret": false}, 201, &req)
	checker.do("POST", "/config-requests/"+req.ID+"/approve", map[string]any{"comment": "ok"}, 200, nil)
}

// keyIntact fails unless the master key is where it was, unchanged, and no
// copy of it exists under the files root.
func (e *orgEnv) keyIntact() {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dataDir, "master.key"))
	if err != nil || !bytes.Equal(b, e.keyBefore) {
		e.t.Fatalf("master key moved or changed: %v", err)
	}
	filepath.WalkDir(e.files, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if c, _ := os.ReadFile(p); bytes.Contains(c, bytes.TrimSpace(e.keyBefore)) {
				e.t.Fatalf("the master key was copied to %s", p)
			}
		}
		return nil
	})
}

func fieldPaths(t *testing.T, b []byte) map[string]string {
	t.Helper()
	var ae apiError
	if err := json.Unmarshal(b, &ae); err != nil || ae.Error.Code != "validation_failed" {
		t.Fatalf("not a validation error: %s", b)
	}
	out := map[string]string{}
	for _, f := range ae.Error.Fields {
		out[f.Path] = f.Message
	}
	return out
}

// TestMasterKeyExfiltrationRefused is issue 14.1's report through the API
// of the real server: an org-B editor writes file_read on the data
// directory for master.key → file_write elsewhere, and an org-B admin would
// approve it. With literal paths, submission is refused with the block and
// field of every path; with the directory hidden in an Extension
// Configuration, the Live version fails to deploy; a directory swapped for
// a link to the data directory after deployment is refused when listed.
// Organisation A's files and result files are as out of reach. The master
// key never moves, and a legitimate flow inside org B's root still runs.
func TestMasterKeyExfiltrationRefused(t *testing.T) {
	e := newOrgEnv(t)
	loot := filepath.Join(e.tmp, "loot")

	// Org A runs a legitimate flow first, so it has files and result files.
	if err := os.MkdirAll(filepath.Join(e.homeA, "in"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(e.homeA, "in", "a-orders.csv"), []byte("id,name\n1,alice\n"), 0o600)
	flowA := e.create(e.admin, "org-a-copy", flowDoc("org-a-copy", "in", "done", "err", "out"))
	e.goLive(e.admin, e.alice, flowA)
	e.admin.do("POST", "/dataflows/"+flowA+"/run-now", nil, 200, nil)
	waitFor(t, "org A's file copied", 30*time.Second, func() (bool, string) {
		_, err := os.Stat(filepath.Join(e.homeA, "out", "a-orders.csv"))
		return err == nil, fmt.Sprint(err)
	})
	resultsA := filepath.Join(e.dataDir, "results", e.orgA.ID)

	// 1. Literal paths: refused at submission, one problem per path.
	cases := map[string]struct {
		doc  string
		want []string
	}{
		"data dir": {flowDoc("steal-key", e.dataDir, filepath.Join(loot, "done"), filepath.Join(loot, "err"), loot),
			[]string{"blocks[0].config.sourceDirectory", "blocks[0].config.processedDirectory", "blocks[0].config.apiErrorFilePath", "blocks[1].config.remotePath"}},
		"other org's results": {flowDoc("steal-results", resultsA, "done", "err", "out"), []string{"blocks[0].config.sourceDirectory"}},
		"other org's root":    {flowDoc("steal-files", filepath.Join(e.homeA, "out"), "done", "err", "out"), []string{"blocks[0].config.sourceDirectory"}},
		"replace outside":     {flowDoc("overwrite", "in", "done", "err", filepath.Join(e.homeA, "out")), []string{"blocks[1].config.remotePath"}},
		"processed outside":   {flowDoc("move-out", "in", filepath.Join(e.homeA, "in"), e.dataDir, "out"), []string{"blocks[0].config.processedDirectory", "blocks[0].config.apiErrorFilePath"}},
		"climb":               {flowDoc("climb", "in/../../"+e.orgA.ID+"/out", "done", "err", "out"), []string{"blocks[0].config.sourceDirectory"}},
	}
	for name, c := range cases {
		id := e.create(e.bob, "lit-"+strings.ReplaceAll(name, " ", "-"), c.doc)
		b, st := e.bob.send("POST", "/dataflows/"+id+"/versions/1/submit", nil)
		if st != http.StatusBadRequest {
			t.Fatalf("%s: submit answered %d: %s", name, st, b)
		}
		got := fieldPaths(t, b)
		for _, p := range c.want {
			if got[p] == "" {
				t.Errorf("%s: no problem at %s: %v", name, p, got)
			}
		}
		// The unsaved-document check says the same.
		b, _ = e.bob.send("POST", "/validate", map[string]any{"document": c.doc})
		if !strings.Contains(string(b), c.want[0]) {
			t.Errorf("%s: /validate: %s", name, b)
		}
	}

	// 2. The directory in an Extension Configuration: submission cannot
	// see it; the Live version fails to deploy, and Run now reads nothing.
	e.config(e.bob, e.carol, "key_dir", e.dataDir)
	e.config(e.bob, e.carol, "a_results", resultsA)
	for _, ref := range []string{"key_dir", "a_results"} {
		id := e.create(e.bob, "ref-"+ref, flowDoc("ref-"+ref, "{$config: "+ref+"}", ref+"-done", ref+"-err", "loot"))
		e.goLive(e.bob, e.carol, id)
		e.bob.send("POST", "/dataflows/"+id+"/run-now", nil)
		waitFor(t, "deployment of ref-"+ref+" to fail", 30*time.Second, func() (bool, string) {
			st := e.status(e.bob, id)
			return st.Deployment == runstate.DeployFailed && strings.Contains(st.DeployError, "no dataflow may touch"), fmt.Sprintf("%+v", st)
		})
	}

	// 3. A legitimate org B flow inside its root runs; then its source
	// directory is swapped for a link to the data directory.
	if err := os.MkdirAll(filepath.Join(e.homeB, "in"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(e.homeB, "in", "b-orders.csv"), []byte("id,name\n2,bob\n"), 0o600)
	flowB := e.create(e.bob, "org-b-copy", flowDoc("org-b-copy", "in", "done", "err", "out"))
	e.goLive(e.bob, e.carol, flowB)
	e.bob.do("POST", "/dataflows/"+flowB+"/run-now", nil, 200, nil)
	waitFor(t, "org B's file copied", 30*time.Second, func() (bool, string) {
		_, err := os.Stat(filepath.Join(e.homeB, "done", "b-orders.csv"))
		return err == nil, fmt.Sprint(err)
	})
	if b, _ := os.ReadFile(filepath.Join(e.homeB, "out", "b-orders.csv")); string(b) != "id,name\n2,bob\n" {
		t.Fatalf("org B output %q", b)
	}
	os.RemoveAll(filepath.Join(e.homeB, "in"))
	if err := os.Symlink(e.dataDir, filepath.Join(e.homeB, "in")); err != nil {
		t.Fatal(err)
	}
	e.bob.do("POST", "/dataflows/"+flowB+"/run-now", nil, 200, nil)
	waitFor(t, "the swapped source directory to be refused", 30*time.Second, func() (bool, string) {
		for _, l := range strings.Split(tail(e.srv.logPath, 400), "\n") {
			if strings.Contains(l, `"org-b-copy"`) && (strings.Contains(l, "escapes") || strings.Contains(l, "no dataflow may touch")) {
				return true, ""
			}
		}
		return false, "no refusal logged for org-b-copy"
	})
	e.keyIntact()
	if _, err := os.Stat(loot); err == nil {
		t.Fatal("something reached the loot directory")
	}
	if des, _ := os.ReadDir(filepath.Join(e.homeB, "out")); len(des) != 1 {
		t.Fatalf("org B's out holds %d files", len(des))
	}

	// 14.6: what the server made is private.
	modes := map[string]os.FileMode{e.dataDir: 0o700, filepath.Join(e.dataDir, "connectplus.db"): 0o600, filepath.Join(e.dataDir, "connectplus.db-wal"): 0o600,
		filepath.Join(e.dataDir, "master.key"): 0o600, filepath.Join(e.homeB, "out", "b-orders.csv"): 0o600}
	results, _ := filepath.Glob(filepath.Join(e.dataDir, "results", "*", "*", "*"))
	if len(results) == 0 {
		t.Fatal("no result files kept")
	}
	for _, r := range results {
		modes[r] = 0o600
	}
	errFiles, _ := filepath.Glob(filepath.Join(e.homeB, "err", "result_*"))
	if len(errFiles) == 0 {
		t.Fatal("no result file written to org B's error directory")
	}
	modes[errFiles[0]] = 0o600
	for p, want := range modes {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %o, want %o", p, st.Mode().Perm(), want)
		}
	}
}

// TestRestartFixesWorldReadableDataDir: a data directory an older server
// left 0755 with its database and WAL 0644 is private after a restart.
func TestRestartFixesWorldReadableDataDir(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, dataDir, "")
	srv.terminate()
	db := filepath.Join(dataDir, "connectplus.db")
	os.Chmod(dataDir, 0o755)
	for _, p := range []string{db, db + "-wal", db + "-shm", filepath.Join(dataDir, "master.key")} {
		if _, err := os.Stat(p); err == nil {
			os.Chmod(p, 0o644)
		}
	}
	srv = startServer(t, dataDir, srv.addr)
	login(t, srv.url(), "admin", adminPassword)
	for p, want := range map[string]os.FileMode{dataDir: 0o700, db: 0o600, db + "-wal": 0o600, filepath.Join(dataDir, "master.key"): 0o600} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %o, want %o", p, st.Mode().Perm(), want)
		}
	}
}
