package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/sandbox"
	"github.com/connectplus/connectplus/store"
)

const (
	adminPassword    = "admin-E2E-password-1234"
	approverPassword = "approver-E2E-password-5678"
	// Folders on the SFTP server, as its client sees them.
	inDir        = "/upload/in"
	processedDir = "/upload/processed"
	errorsDir    = "/upload/errors"
	// neverCron keeps the scheduler out of tests that drive runs with
	// run-now (it fires once a year; it still passes the 5-minute minimum).
	neverCron = "0 0 0 1 1 ?"
)

// ---- the server process ----

// serverProc is one `connectplus server` process on a data directory.
type serverProc struct {
	t       testing.TB
	dataDir string
	addr    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer runs the binary on dataDir (SQLite) with extra flags and
// waits for /healthz. A restart passes the same dataDir, addr and flags.
func startServer(t testing.TB, dataDir, addr string, extra ...string) *serverProc {
	t.Helper()
	return startServerEnv(t, dataDir, addr, nil, extra...)
}

// startServerEnv is startServer with extra environment variables (a
// cluster node's S3 credentials, which are never flags).
func startServerEnv(t testing.TB, dataDir, addr string, extraEnv []string, extra ...string) *serverProc {
	t.Helper()
	if addr == "" {
		addr = freeAddr(t)
	}
	s := &serverProc{t: t, dataDir: dataDir, addr: addr, logPath: filepath.Join(dataDir, fmt.Sprintf("server-%d.log", time.Now().UnixNano())), done: make(chan struct{})}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONNECTPLUS_") {
			env = append(env, kv)
		}
	}
	env = append(append(env, "CONNECTPLUS_ADMIN_PASSWORD="+adminPassword), extraEnv...)
	s.cmd = exec.Command(serverBin, append([]string{"server", "--listen", addr, "--data-dir", dataDir, "--log-format", "json", "--metrics-listen", "127.0.0.1:0"}, extra...)...)
	s.cmd.Env = env
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// The server must not outlive a killed test binary.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting server: %v", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.terminate()
		if t.Failed() {
			t.Logf("server log %s (tail):\n%s", s.logPath, tail(s.logPath, 60))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s
			}
		}
		select {
		case <-s.done:
			t.Fatalf("server exited at start: %v\n%s", s.err, tail(s.logPath, 40))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy: %v\n%s", err, tail(s.logPath, 40))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *serverProc) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// terminate asks the server to stop (SIGTERM) and kills it after a grace
// period (its runtime drains in-flight files for up to a minute).
func (s *serverProc) terminate() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(3 * time.Second):
		s.kill()
	}
}

func (s *serverProc) url() string { return "http://" + s.addr }

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if !strings.Contains(l, `"msg":"http request"`) {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ---- the API client ----

// client calls /api/v1 with a Bearer token, or with a session cookie and
// the CSRF token when token is empty.
type client struct {
	t     testing.TB
	base  string
	token string
	csrf  string
	org   string // X-Connectplus-Org when set
	hc    *http.Client
}

// apiError is the API's error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Fields  []struct {
			Path    string `json:"path"`
			Message string `json:"message"`
		} `json:"fields"`
	} `json:"error"`
}

// do sends a request and fails the test unless the status is want; out (if
// not nil) receives the JSON body. It returns the raw body.
func (c *client) do(method, path string, body any, want int, out any, hdr ...string) []byte {
	c.t.Helper()
	b, status := c.send(method, path, body, hdr...)
	if status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
	return b
}

// send returns the body and status without judging them.
func (c *client) send(method, path string, body any, hdr ...string) ([]byte, int) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+"/api/v1"+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	} else if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.org != "" {
		req.Header.Set("X-Connectplus-Org", c.org)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return b, res.StatusCode
}

// login starts a cookie session (with its CSRF token).
func login(t testing.TB, base, user, password string) *client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	var lr struct {
		CSRFToken string `json:"csrfToken"`
	}
	c.do("POST", "/auth/login", map[string]string{"username": user, "password": password}, 200, &lr)
	if lr.CSRFToken == "" {
		t.Fatal("login returned no CSRF token")
	}
	c.csrf = lr.CSRFToken
	return c
}

// withToken creates an API token through the session and returns a client
// that uses it.
func (c *client) withToken(name, scope string) *client {
	c.t.Helper()
	var tc struct {
		Token string `json:"token"`
	}
	c.do("POST", "/tokens", map[string]any{"name": name, "scope": scope}, 201, &tc)
	if !strings.HasPrefix(tc.Token, "cpt_") {
		c.t.Fatalf("token %q", tc.Token)
	}
	return &client{t: c.t, base: c.base, token: tc.Token, hc: &http.Client{Timeout: 30 * time.Second}}
}

// ---- the environment: SFTP server, API sandbox, server, two admins ----

type env struct {
	t       testing.TB
	sshd    *testenv.SSHServer
	sb      *sandbox.Server
	sbURL   string
	dataDir string
	// localDir is the directory the server allows local file blocks in
	// (--allow-path); srvArgs are the server's extra flags, for restarts.
	localDir string
	srvArgs  []string
	srv      *serverProc
	admin    *client // user "admin": the maker
	approver *client // user "approver": the checker
}

// newEnv starts everything and stores the Extension Configurations
// (requested by admin, approved by approver).
func newEnv(t testing.TB) *env { t.Helper(); return newEnvArgs(t) }

// newEnvArgs is newEnv with extra server flags (a cluster node's).
func newEnvArgs(t testing.TB, extra ...string) *env {
	t.Helper()
	return newEnvWith(t, nil, extra...)
}

// newEnvWith is newEnvArgs with extra environment variables for the server.
func newEnvWith(t testing.TB, srvEnv []string, extra ...string) *env {
	t.Helper()
	e := &env{t: t, sshd: testenv.SSHD(t)}
	for _, d := range []string{inDir, processedDir, errorsDir} {
		e.sshd.WriteFile(t, strings.TrimPrefix(d, "/upload/")+"/.keep", nil)
	}
	sb, hts := sandbox.NewTestServer(sandbox.Config{})
	t.Cleanup(hts.Close)
	e.sb, e.sbURL = sb, hts.URL
	e.dataDir = t.TempDir()
	e.localDir = t.TempDir()
	e.srvArgs = append([]string{"--allow-path", e.localDir}, extra...)
	e.srv = startServerEnv(t, e.dataDir, "", srvEnv, e.srvArgs...)
	e.connect()

	// The second administrator, created through the API with a session
	// (cookie + CSRF token).
	sess := login(t, e.srv.url(), "admin", adminPassword)
	// Without the CSRF header a cookie session cannot change anything.
	noCSRF := &client{t: t, base: sess.base, hc: sess.hc}
	if b, st := noCSRF.send("POST", "/users", map[string]any{"username": "approver", "role": "admin"}); st != 403 || !strings.Contains(string(b), "csrf_failed") {
		t.Fatalf("POST /users without CSRF: %d %s", st, b)
	}
	// An invitation; the approver redeems its code and sets a password. The
	// bootstrap admin is a platform administrator, so the admin role needs
	// no second approval.
	var inv struct {
		Code string `json:"code"`
	}
	sess.do("POST", "/users", map[string]any{"username": "approver", "displayName": "Second admin", "role": "admin"}, 201, &inv)
	anon := &client{t: t, base: sess.base, hc: &http.Client{Timeout: 30 * time.Second}}
	anon.do("POST", "/invitations/accept", map[string]any{"code": inv.Code, "password": approverPassword}, 200, nil)
	e.admin = sess.withToken("e2e-admin", "admin")
	e.approver = login(t, e.srv.url(), "approver", approverPassword).withToken("e2e-approver", "admin")

	key, secret := e.sb.Credentials()
	cfgs := []struct {
		name, value string
		secret      bool
	}{
		{"sftp_host", e.sshd.Host, false},
		{"sftp_user", e.sshd.User, false},
		{"sftp_password", e.sshd.Password, true},
		{"sftp_fingerprint", e.sshd.HostKeyFingerprint, false},
		{"capillary_client_key", key, false},
		{"capillary_client_secret", secret, true},
	}
	for i, c := range cfgs {
		var req store.ConfigRequest
		e.admin.do("POST", "/config-requests", map[string]any{"name": c.name, "value": c.value, "isSecret": c.secret}, 201, &req)
		if c.secret && strings.Contains(fmt.Sprint(req), c.value) {
			t.Fatalf("config request %s shows its secret: %+v", c.name, req)
		}
		if i == 0 {
			// Maker-checker: the requester cannot approve.
			b, st := e.admin.send("POST", "/config-requests/"+req.ID+"/approve", map[string]any{"comment": "mine"})
			if st != 403 {
				t.Fatalf("self-approval of a config request: %d %s", st, b)
			}
		}
		e.approver.do("POST", "/config-requests/"+req.ID+"/approve", map[string]any{"comment": "checked"}, 200, nil)
	}
	var views []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	e.admin.do("GET", "/configs", nil, 200, &views)
	if len(views) != len(cfgs) {
		t.Fatalf("configs: %+v", views)
	}
	for _, v := range views {
		if (v.Name == "sftp_password" || v.Name == "capillary_client_secret") && v.Value != "****" {
			t.Fatalf("secret %s shown as %q", v.Name, v.Value)
		}
	}
	return e
}

// connect points the clients at the (re)started server; tokens survive a
// restart because they live in the database.
func (e *env) connect() {
	if e.admin != nil {
		e.admin.base = e.srv.url()
		e.approver.base = e.srv.url()
	}
}

// flowSpec is what differs between the tests' dataflows.
type flowSpec struct {
	name        string
	cron        string
	tag         string // the constant the JSLT adds to every customer (extendedFields.flow_tag)
	groupSize   int
	concurrency int
	// maxRetries of the destination (3 when 0); post holds more http_write
	// config lines ("key: value" each, indented by the caller's six spaces).
	maxRetries int
	post       []string
	// recoverable and yielding are the destination's error code lists
	// ("521,502,503,504" and "429" when empty; "-" for none).
	recoverable, yielding string
}

// document is sftp_read → convert_csv_to_json → jslt_transform → http_write
// (bulk customers) with every credential taken from Extension
// Configurations and the SFTP host key pinned by fingerprint.
func (e *env) document(s flowSpec) string {
	if s.groupSize == 0 {
		s.groupSize = 10
	}
	if s.concurrency == 0 {
		s.concurrency = 2
	}
	if s.maxRetries == 0 {
		s.maxRetries = 3
	}
	codes := func(v, def string) string {
		switch v {
		case "":
			return def
		case "-":
			return ""
		}
		return v
	}
	post := ""
	for _, l := range s.post {
		post += "      " + l + "\n"
	}
	return fmt.Sprintf(`name: %s
description: e2e bulk customers from SFTP
trigger: {cron: "%s"}
blocks:
  - type: sftp_read
    name: read
    config:
      hostname: {$config: sftp_host}
      port: %d
      username: {$config: sftp_user}
      password: {$config: sftp_password}
      hostKeyFingerprint: {$config: sftp_fingerprint}
      sourceDirectory: %s
      fileRegex: '.*\.csv'
      processedDirectory: %s
      apiErrorFilePath: %s
      stabilityWait: 0.2s
      Report Status Code: all
    relations: [convert]
  - type: convert_csv_to_json
    name: convert
    config:
      fileType: csv
      groupSize: %d
    relations: [transform]
  - type: jslt_transform
    name: transform
    config:
      sendEachRecordSeparately: "false"
      transformation: |
        [ for (.) { "profiles": [ { "firstName": .firstname, "lastName": .lastname, "source": .source,
            "identifiers": [ { "type": "externalId", "value": .external_id } ] } ],
          "loyaltyInfo": { "loyaltyType": .loyaltyType },
          "extendedFields": { "flow_tag": "%s" } } ]
    relations: [post]
  - type: http_write
    name: post
    config:
      clientKey: {$config: capillary_client_key}
      clientSecret: {$config: capillary_client_secret}
      apiBaseUrl: %s
      oAuthBaseUrl: %s
      apiEndPoint: /v2/customers/bulk
      apiMethod: POST
      bulkSupport: "true"
      parseResponse: "true"
      responseSplitPath: "$.*"
      parsePathMap: '{"status_code": "$.[''errors''].*.code", "error_message": "$.[''errors''].*.message", "entity_id": "$.entity.id"}'
      recoverableErrorCodes: "%s"
      yieldingErrorCodes: "%s"
      maxRetries: "%d"
      rate: "100000"
      period: "1"
      timeUnit: SECONDS
      concurrency: %d
%s`, s.name, s.cron, e.sshd.Port, inDir, processedDir, errorsDir, s.groupSize, s.tag, e.sbURL, e.sbURL, codes(s.recoverable, "521,502,503,504"), codes(s.yielding, "429"), s.maxRetries, s.concurrency, post)
}

// dataflow ids and versions as the API returns them.
type flowRef struct {
	ID string
}

// createLiveFlow creates the dataflow as admin, submits it, checks that
// admin cannot approve their own submission, has approver approve it and
// makes it Live. It waits for the runtime's first poll.
func (e *env) createLiveFlow(s flowSpec) flowRef {
	e.t.Helper()
	var cr struct {
		Dataflow store.Dataflow `json:"dataflow"`
		Version  store.Version  `json:"version"`
	}
	e.admin.do("POST", "/dataflows", map[string]any{"name": s.name, "document": e.document(s), "tags": []string{"e2e"}}, 201, &cr)
	if cr.Version.Number != 1 || cr.Version.State != "Draft" {
		e.t.Fatalf("created version: %+v", cr.Version)
	}
	f := flowRef{ID: cr.Dataflow.ID}
	e.approveAndGoLive(f, 1)
	e.waitFor("first poll after go-live", 20*time.Second, func() (bool, string) {
		st := e.status(f)
		return st.LastPoll != nil && st.LiveVersion == 1, fmt.Sprintf("%+v", st)
	})
	return f
}

// approveAndGoLive submits version n as admin, refuses admin's own
// approval, approves as approver and makes it Live.
func (e *env) approveAndGoLive(f flowRef, n int) {
	e.t.Helper()
	vp := fmt.Sprintf("/dataflows/%s/versions/%d", f.ID, n)
	var v store.Version
	e.admin.do("POST", vp+"/submit", nil, 200, &v)
	if v.State != "Awaiting Approval" {
		e.t.Fatalf("submitted: %+v", v)
	}
	var ae apiError
	e.admin.do("POST", vp+"/approve", map[string]string{"reason": "looks fine to me"}, 403, &ae)
	if ae.Error.Code != "forbidden" || !strings.Contains(ae.Error.Message, "maker-checker") {
		e.t.Fatalf("self-approval: %+v", ae)
	}
	e.approver.do("POST", vp+"/approve", map[string]string{"reason": "reviewed end to end"}, 200, &v)
	if v.State != "Approved" || v.ApprovedBy != "approver" || v.SubmittedBy != "admin" {
		e.t.Fatalf("approved: %+v", v)
	}
	e.approver.do("POST", vp+"/live", nil, 200, &v)
	if v.State != "Live" {
		e.t.Fatalf("live: %+v", v)
	}
}

func (e *env) status(f flowRef) runstate.FlowRuntime {
	e.t.Helper()
	var st runstate.FlowRuntime
	e.admin.do("GET", "/dataflows/"+f.ID+"/status", nil, 200, &st)
	return st
}

func (e *env) operate(f flowRef, op string) runstate.FlowRuntime {
	e.t.Helper()
	var st runstate.FlowRuntime
	e.admin.do("POST", "/dataflows/"+f.ID+"/"+op, nil, 200, &st)
	return st
}

// runs lists the dataflow's runs by file name.
func (e *env) runs(f flowRef) map[string]runstate.Run {
	e.t.Helper()
	var p struct {
		Items []runstate.Run `json:"items"`
		Next  string         `json:"next"`
	}
	e.admin.do("GET", "/runs?flowId="+f.ID+"&limit=500", nil, 200, &p)
	out := map[string]runstate.Run{}
	for _, r := range p.Items {
		if prev, ok := out[r.FileName]; ok {
			e.t.Fatalf("two runs for %s: %+v and %+v", r.FileName, prev, r)
		}
		out[r.FileName] = r
	}
	return out
}

func finished(r runstate.Run) bool {
	switch r.Status {
	case runstate.RunSuccess, runstate.RunPartial, runstate.RunFailure:
		return true
	}
	return false
}

// waitRuns waits until every named file has a finished run.
func (e *env) waitRuns(f flowRef, timeout time.Duration, names ...string) map[string]runstate.Run {
	e.t.Helper()
	var rs map[string]runstate.Run
	e.waitFor("runs of "+strings.Join(names, ", ")+" to finish", timeout, func() (bool, string) {
		rs = e.runs(f)
		for _, n := range names {
			if r, ok := rs[n]; !ok || !finished(r) {
				return false, fmt.Sprintf("%s: %+v", n, r)
			}
		}
		return true, ""
	})
	return rs
}

// waitFor polls cond every 25 ms until it holds or the deadline passes.
func (e *env) waitFor(what string, timeout time.Duration, cond func() (bool, string)) {
	e.t.Helper()
	waitFor(e.t, what, timeout, cond)
}

func waitFor(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last state: %s", timeout, what, state)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// stats reads GET /_sandbox/stats over HTTP, as an operator would.
func (e *env) stats() sandbox.Stats {
	e.t.Helper()
	res, err := http.Get(e.sbURL + "/_sandbox/stats")
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var st sandbox.Stats
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		e.t.Fatal(err)
	}
	return st
}

// setFaults replaces the sandbox's faults with the ones a `connectplus
// sandbox --faults` flag would set (sandbox.ParseFaults syntax).
func (e *env) setFaults(seed uint64, rules ...string) sandbox.FaultConfig {
	e.t.Helper()
	cfg := sandbox.FaultConfig{Seed: seed}
	for _, r := range rules {
		var err error
		if cfg, err = sandbox.ParseFaults(cfg, r); err != nil {
			e.t.Fatalf("faults %q: %v", r, err)
		}
	}
	body, err := json.Marshal(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := http.Post(e.sbURL+"/_sandbox/faults", "application/json", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		e.t.Fatalf("setting faults: %d %s", res.StatusCode, b)
	}
	return cfg
}

// setLatency makes every API call of the sandbox take d (POST /_sandbox/faults).
func (e *env) setLatency(d time.Duration) {
	e.t.Helper()
	body := `{}`
	if d > 0 {
		body = fmt.Sprintf(`{"global":{"latencyMin":%q}}`, d.String())
	}
	res, err := http.Post(e.sbURL+"/_sandbox/faults", "application/json", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		e.t.Fatalf("setting faults: %d %s", res.StatusCode, b)
	}
}

// customersCSV writes n customer rows whose externalId is prefix-NNNNNN;
// rows listed in bad get an invalid loyaltyType (rejected per entity).
func customersCSV(prefix string, n int, bad ...int) []byte {
	isBad := map[int]bool{}
	for _, b := range bad {
		isBad[b] = true
	}
	var b bytes.Buffer
	b.WriteString("firstname,lastname,external_id,source,loyaltyType\n")
	for i := 1; i <= n; i++ {
		lt := "loyalty"
		if isBad[i] {
			lt = "gold"
		}
		fmt.Fprintf(&b, "First%d,Last%d,%s-%06d,INSTORE,%s\n", i, i, prefix, i, lt)
	}
	return b.Bytes()
}

// dropFile writes a file into the SFTP source folder, atomically: written
// under a name the source ignores, then renamed.
func (e *env) dropFile(name string, data []byte) {
	e.t.Helper()
	tmp := e.sshd.WriteFile(e.t, "in/"+name+".part", data)
	if err := os.Rename(tmp, filepath.Join(filepath.Dir(tmp), name)); err != nil {
		e.t.Fatal(err)
	}
}

// sftpFiles lists a folder of the SFTP server (without .keep).
func (e *env) sftpFiles(dir string) []string {
	e.t.Helper()
	ents, err := os.ReadDir(e.sshd.LocalPath(dir))
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, en := range ents {
		if en.Name() != ".keep" {
			out = append(out, en.Name())
		}
	}
	sort.Strings(out)
	return out
}

// customerTags maps each stored customer's externalId to its flow_tag.
func (e *env) customerTags() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, ent := range e.sb.Entities(sandbox.KindCustomer) {
		var c struct {
			Profiles []struct {
				Identifiers []struct {
					Value string `json:"value"`
				} `json:"identifiers"`
			} `json:"profiles"`
			ExtendedFields struct {
				FlowTag string `json:"flow_tag"`
			} `json:"extendedFields"`
		}
		if err := json.Unmarshal(ent.Body, &c); err != nil || len(c.Profiles) == 0 || len(c.Profiles[0].Identifiers) == 0 {
			e.t.Fatalf("stored customer %s: %v", ent.Body, err)
		}
		out[c.Profiles[0].Identifiers[0].Value] = c.ExtendedFields.FlowTag
	}
	return out
}

// progress samples sandbox counters while a file is in flight.
type progress struct {
	mu      sync.Mutex
	samples []sample
}

type sample struct {
	at       time.Time
	received int64
}

func (p *progress) add(at time.Time, n int64) {
	p.mu.Lock()
	p.samples = append(p.samples, sample{at, n})
	p.mu.Unlock()
}

// rate is records per second between the first and last non-zero samples.
func (p *progress) rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var first, last *sample
	for i := range p.samples {
		if p.samples[i].received > 0 {
			if first == nil {
				first = &p.samples[i]
			}
			last = &p.samples[i]
		}
	}
	if first == nil || last == first || !last.at.After(first.at) {
		return 0
	}
	return float64(last.received-first.received) / last.at.Sub(first.at).Seconds()
}
