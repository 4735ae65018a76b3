// Command serverbench times the flagship API job (examples/add_transactions.yaml
// pointed at a loopback sink) two ways on the same file, interleaved:
//
//   - server: a Live dataflow under `connectplus server` (SQLite data
//     directory): the file is dropped into the flow's source folder (a hard
//     link renamed in, as an upload that is complete when it appears),
//     "run now" is pressed, and the time runs until the run is finished in
//     /api/v1/runs;
//   - run: `connectplus run FLOW --input FILE`, the same document.
//
// The flow's stabilityWait is 0 in both, since the file appears whole; the
// schedule is the example's (every 15 minutes), so only "run now" starts a
// run. Each rep's posted records are read from the sink's /stats.
//
//	go build -o /tmp/cp ./cmd/connectplus && go build -o /tmp/sink ./bench/cmd/sink
//	/tmp/sink -addr-file /tmp/sink.addr &
//	go run ./bench/cmd/serverbench -bin /tmp/cp -in bench/data/tx1000000.csv -sink http://$(cat /tmp/sink.addr)
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	adminPassword    = "bench-Admin-password-1234"
	approverPassword = "bench-Approver-password-5678"
)

func main() {
	bin := flag.String("bin", "bin/connectplus", "connectplus binary")
	in := flag.String("in", "", "input CSV")
	sink := flag.String("sink", "", "sink base URL (bench/cmd/sink)")
	example := flag.String("flow", "examples/add_transactions.yaml", "the dataflow document")
	reps := flag.Int("n", 3, "reps of each way")
	keep := flag.Bool("keep", false, "keep the work directory")
	flag.Parse()
	if *in == "" || *sink == "" {
		fmt.Fprintln(os.Stderr, "usage: serverbench -bin BIN -in FILE.csv -sink http://127.0.0.1:PORT [-n 3]")
		os.Exit(2)
	}
	if err := run(*bin, *in, *sink, *example, *reps, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "serverbench:", err)
		os.Exit(1)
	}
}

type sample struct {
	wall   time.Duration
	own    time.Duration // the run's own started → finished (server only)
	posted int64
	rssMB  float64
}

func run(bin, in, sinkURL, example string, reps int, keep bool) error {
	work, err := os.MkdirTemp("", "connectplus-serverbench-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(work)
	}
	abs, err := filepath.Abs(in)
	if err != nil {
		return err
	}
	src, err := os.ReadFile(example)
	if err != nil {
		return err
	}
	// The flow's folders live under files/, apart from the server's data
	// directory, which no dataflow may reach.
	files := filepath.Join(work, "files")
	doc := flowDoc(string(src), files, sinkURL)

	srv, err := startServer(bin, filepath.Join(work, "data"), files)
	if err != nil {
		return err
	}
	defer srv.stop()
	admin, approver, err := users(srv.base)
	if err != nil {
		return err
	}
	for _, c := range [][2]string{{"capillary_client_key", "bench"}, {"capillary_client_secret", "bench"}} {
		var req struct {
			ID string `json:"id"`
		}
		if err := admin.call("POST", "/config-requests", map[string]any{"name": c[0], "value": c[1], "isSecret": strings.HasSuffix(c[0], "secret")}, 201, &req); err != nil {
			return err
		}
		if err := approver.call("POST", "/config-requests/"+req.ID+"/approve", map[string]any{"comment": "bench"}, 200, nil); err != nil {
			return err
		}
	}
	var created struct {
		Dataflow struct {
			ID string `json:"id"`
		} `json:"dataflow"`
	}
	if err := admin.call("POST", "/dataflows", map[string]any{"name": "bench_add_transactions", "document": doc}, 201, &created); err != nil {
		return err
	}
	id := created.Dataflow.ID
	vp := "/dataflows/" + id + "/versions/1"
	if err := admin.call("POST", vp+"/submit", nil, 200, nil); err != nil {
		return err
	}
	if err := approver.call("POST", vp+"/approve", map[string]string{"reason": "bench"}, 200, nil); err != nil {
		return err
	}
	if err := approver.call("POST", vp+"/live", nil, 200, nil); err != nil {
		return err
	}

	flowFile := filepath.Join(work, "flow.yaml")
	if err := os.WriteFile(flowFile, []byte(doc), 0o644); err != nil {
		return err
	}
	var server, local []sample
	for rep := 1; rep <= reps; rep++ {
		s, err := serverRep(admin, srv, id, abs, files, sinkURL, rep)
		if err != nil {
			return fmt.Errorf("server rep %d: %w", rep, err)
		}
		server = append(server, s)
		fmt.Fprintf(os.Stderr, "  server rep %d: %6.2f s (run's own %6.2f s), %d posted, server peak RSS %.1f MB so far\n", rep, s.wall.Seconds(), s.own.Seconds(), s.posted, s.rssMB)
		l, err := runRep(bin, flowFile, abs, work, sinkURL, rep)
		if err != nil {
			return fmt.Errorf("run rep %d: %w", rep, err)
		}
		local = append(local, l)
		fmt.Fprintf(os.Stderr, "  run    rep %d: %6.2f s, %d posted, peak RSS %.1f MB\n", rep, l.wall.Seconds(), l.posted, l.rssMB)
	}
	ms, mo, ml := median(server, func(s sample) float64 { return s.wall.Seconds() }), median(server, func(s sample) float64 { return s.own.Seconds() }), median(local, func(s sample) float64 { return s.wall.Seconds() })
	fmt.Printf("\n%s, %s, flagship API job, medians of %d interleaved reps\n\n", time.Now().UTC().Format("2006-01-02"), filepath.Base(in), reps)
	fmt.Printf("| way | wall s | run's own s | peak RSS MB | records posted |\n|---|---|---|---|---|\n")
	fmt.Printf("| Live dataflow under connectplus server (drop + run now → finished) | %.2f | %.2f | %.1f (server process) | %s |\n", ms, mo, server[len(server)-1].rssMB, counts(server))
	fmt.Printf("| connectplus run --input | %.2f | | %.1f | %s |\n\n", ml, median(local, func(s sample) float64 { return s.rssMB }), counts(local))
	fmt.Printf("server / run: %.2f× (drop to finished), %.2f× (the run's own time)\n", ms/ml, mo/ml)
	if counts(server) != counts(local) || strings.Contains(counts(server), " ") {
		return errors.New("posted record counts differ between reps or ways")
	}
	return nil
}

// flowDoc points the example at the work directory and the sink, lifts the
// rate limit above the sink's speed and sets stabilityWait 0.
func flowDoc(src, work, sinkURL string) string {
	doc := strings.ReplaceAll(src, "/tmp/connectplus-demo", work)
	doc = strings.ReplaceAll(doc, "https://eu.api.capillarytech.com", sinkURL)
	doc = strings.Replace(doc, "      apiEndPoint: /v2/transactions/bulk\n",
		"      apiEndPoint: /v2/transactions/bulk\n      rate: \"100000000\"\n      period: \"1\"\n      timeUnit: SECONDS\n", 1)
	doc = strings.Replace(doc, "      fileRegex: '.*\\.csv'\n", "      fileRegex: '.*\\.csv'\n      stabilityWait: 0s\n", 1)
	return doc
}

func serverRep(admin *client, srv *serverProc, id, in, work, sinkURL string, rep int) (sample, error) {
	before, err := posted(sinkURL)
	if err != nil {
		return sample{}, err
	}
	dir := filepath.Join(work, "tx", "in")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return sample{}, err
	}
	name := fmt.Sprintf("tx-%d.csv", rep)
	tmp := filepath.Join(work, name+".part")
	if err := os.Link(in, tmp); err != nil {
		return sample{}, err
	}
	start := time.Now()
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return sample{}, err
	}
	if err := admin.call("POST", "/dataflows/"+id+"/run-now", nil, 200, nil); err != nil {
		return sample{}, err
	}
	deadline := start.Add(30 * time.Minute)
	for time.Now().Before(deadline) {
		var page struct {
			Items []struct {
				FileName string     `json:"fileName"`
				Status   string     `json:"status"`
				Started  time.Time  `json:"started"`
				Finished *time.Time `json:"finished"`
			} `json:"items"`
		}
		if err := admin.call("GET", "/runs?flowId="+id+"&limit=50", nil, 200, &page); err != nil {
			return sample{}, err
		}
		for _, r := range page.Items {
			if r.FileName == name && r.Finished != nil {
				wall := time.Since(start)
				if r.Status != "Success" {
					return sample{}, fmt.Errorf("run of %s ended %s", name, r.Status)
				}
				after, err := posted(sinkURL)
				if err != nil {
					return sample{}, err
				}
				return sample{wall: wall, own: r.Finished.Sub(r.Started), posted: after - before, rssMB: srv.peakRSS()}, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return sample{}, errors.New("the run did not finish in 30 minutes")
}

func runRep(bin, flow, in, work, sinkURL string, rep int) (sample, error) {
	before, err := posted(sinkURL)
	if err != nil {
		return sample{}, err
	}
	d := filepath.Join(work, fmt.Sprintf("run-%d", rep))
	cmd := exec.Command(bin, "run", flow, "--input", in, "--result-dir", d, "--checkpoint-dir", filepath.Join(d, "cp"),
		"--work-dir", d, "--no-progress")
	cmd.Env = append(os.Environ(), "CONNECTPLUS_CONFIG_CAPILLARY_CLIENT_KEY=bench", "CONNECTPLUS_CONFIG_CAPILLARY_CLIENT_SECRET=bench")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := os.MkdirAll(d, 0o755); err != nil {
		return sample{}, err
	}
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("%v: %s", err, out.String())
	}
	wall := time.Since(start)
	after, err := posted(sinkURL)
	if err != nil {
		return sample{}, err
	}
	rss := 0.0
	if st, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = float64(st.Maxrss) / 1024
	}
	_ = os.RemoveAll(d)
	return sample{wall: wall, posted: after - before, rssMB: rss}, nil
}

func posted(sinkURL string) (int64, error) {
	res, err := http.Get(sinkURL + "/stats")
	if err != nil {
		return 0, fmt.Errorf("sink stats: %w", err)
	}
	defer res.Body.Close()
	var st struct {
		Records int64 `json:"records"`
	}
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		return 0, fmt.Errorf("sink stats: %w", err)
	}
	return st.Records, nil
}

func median(s []sample, f func(sample) float64) float64 {
	v := make([]float64, len(s))
	for i := range s {
		v[i] = f(s[i])
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// counts lists the distinct posted counts ("699293" when all agree).
func counts(s []sample) string {
	seen := map[int64]bool{}
	var out []string
	for _, x := range s {
		if !seen[x.posted] {
			seen[x.posted] = true
			out = append(out, strconv.FormatInt(x.posted, 10))
		}
	}
	return strings.Join(out, " ")
}

type serverProc struct {
	cmd  *exec.Cmd
	base string
	log  string
}

func startServer(bin, dataDir, allow string) (*serverProc, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, d := range []string{dataDir, allow} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	logPath := filepath.Join(dataDir, "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "server", "--listen", addr, "--data-dir", dataDir, "--metrics-listen", "127.0.0.1:0", "--allow-path", allow)
	cmd.Env = append(os.Environ(), "CONNECTPLUS_ADMIN_PASSWORD="+adminPassword)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &serverProc{cmd: cmd, base: "http://" + addr, log: logPath}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(s.base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s, nil
			}
		}
	}
	s.stop()
	b, _ := os.ReadFile(logPath)
	return nil, fmt.Errorf("server did not become healthy:\n%s", b)
}

func (s *serverProc) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// peakRSS is the server process's peak resident set so far (VmHWM).
func (s *serverProc) peakRSS() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// client calls the REST API with a bearer token.
type client struct {
	base, token string
	hc          *http.Client
}

func (c *client) call(method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+"/api/v1"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// users logs in as the bootstrap admin, creates a second admin (nobody
// approves their own submission) and returns a token client for each.
func users(base string) (admin, approver *client, err error) {
	sess := func(user, pw string) (*http.Client, string, error) {
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
		raw, _ := json.Marshal(map[string]string{"username": user, "password": pw})
		res, err := hc.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(raw))
		if err != nil {
			return nil, "", err
		}
		defer res.Body.Close()
		var lr struct {
			CSRFToken string `json:"csrfToken"`
		}
		if res.StatusCode != 200 {
			b, _ := io.ReadAll(res.Body)
			return nil, "", fmt.Errorf("login %s: %d %s", user, res.StatusCode, b)
		}
		if err := json.NewDecoder(res.Body).Decode(&lr); err != nil {
			return nil, "", err
		}
		return hc, lr.CSRFToken, nil
	}
	sessCall := func(hc *http.Client, csrf, method, path string, body any, want int, out any) error {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+"/api/v1"+path, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", csrf)
		res, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
		if out != nil {
			return json.Unmarshal(b, out)
		}
		return nil
	}
	token := func(hc *http.Client, csrf, name string) (*client, error) {
		var tc struct {
			Token string `json:"token"`
		}
		if err := sessCall(hc, csrf, "POST", "/tokens", map[string]any{"name": name, "scope": "admin"}, 201, &tc); err != nil {
			return nil, err
		}
		return &client{base: base, token: tc.Token, hc: &http.Client{Timeout: 60 * time.Second}}, nil
	}
	hc, csrf, err := sess("admin", adminPassword)
	if err != nil {
		return nil, nil, err
	}
	// An invitation, redeemed with the approver's password.
	var inv struct {
		Code string `json:"code"`
	}
	if err := sessCall(hc, csrf, "POST", "/users", map[string]any{"username": "approver", "role": "admin"}, 201, &inv); err != nil {
		return nil, nil, err
	}
	if err := sessCall(&http.Client{Timeout: 30 * time.Second}, "", "POST", "/invitations/accept", map[string]any{"code": inv.Code, "password": approverPassword}, 200, nil); err != nil {
		return nil, nil, err
	}
	if admin, err = token(hc, csrf, "bench-admin"); err != nil {
		return nil, nil, err
	}
	hc2, csrf2, err := sess("approver", approverPassword)
	if err != nil {
		return nil, nil, err
	}
	if approver, err = token(hc2, csrf2, "bench-approver"); err != nil {
		return nil, nil, err
	}
	return admin, approver, nil
}
