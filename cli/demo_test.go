package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectplus/connectplus/blocks/all"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// connectplus demo: one command gives a server with the UI, four users,
// the examples imported, one of them Live and already run against the
// in-process sandbox, and the reconciliation example run against it too. The default port being taken is not an error.
func TestDemo(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var stdout, stderr lockedBuf
	a := &app{version: "test", registry: all.Registry(), stdout: &stdout, stderr: &stderr, stdin: strings.NewReader("")}
	root := a.root()
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	const pw = "demo-test-password"
	root.SetArgs([]string{"demo", "--listen", busy.Addr().String(), "--data-dir", t.TempDir(), "--password", pw})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo exit: %v", err)
		}
	}()
	urlRE := regexp.MustCompile(`(?m)^(http://127\.0\.0\.1:\d+/)$`)
	var base string
	for i := 0; i < 300 && base == ""; i++ {
		if m := urlRE.FindStringSubmatch(stdout.String()); m != nil {
			base = strings.TrimSuffix(m[1], "/")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if base == "" {
		t.Fatalf("no URL line; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	if strings.HasSuffix(base, busy.Addr().String()) {
		t.Fatal("the demo claims the busy port")
	}
	if !strings.Contains(stdout.String(), pw) || !strings.Contains(stdout.String(), "admin2") {
		t.Fatalf("credentials not printed:\n%s", stdout.String())
	}
	login := func(user string) (*http.Client, string) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		body, _ := json.Marshal(map[string]string{"username": user, "password": pw})
		res, err := c.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("login %s: %v %v", user, res, err)
		}
		var lr struct {
			CSRFToken string `json:"csrfToken"`
		}
		_ = json.NewDecoder(res.Body).Decode(&lr)
		res.Body.Close()
		return c, lr.CSRFToken
	}
	get := func(c *http.Client, path string, v any) []byte {
		t.Helper()
		res, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
		}
		if v != nil {
			if err := json.Unmarshal(b, v); err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
		}
		return b
	}
	for _, u := range []string{"admin2", "editor"} {
		login(u)
	}
	viewer, _ := login("viewer")
	// The UI is served at /.
	if page := get(viewer, "/", nil); !bytes.Contains(page, []byte("<html")) {
		t.Fatalf("no UI at /: %.200s", page)
	}
	var flows struct {
		Items []struct {
			ID, Name    string
			LiveVersion *int `json:"liveVersion"`
		} `json:"items"`
	}
	get(viewer, "/api/v1/dataflows", &flows)
	if len(flows.Items) != 5 {
		t.Fatalf("want the 5 examples, got %s", get(viewer, "/api/v1/dataflows", nil))
	}
	// The Live example has run on its sample: 5 rows, one rejected by the
	// sandbox (an invalid email), and a result file to download.
	var runID string
	for i := 0; i < 200 && runID == ""; i++ {
		var runs struct {
			Items []struct {
				ID, Status                   string
				RecordsIn, Delivered, Failed int64
			} `json:"items"`
		}
		get(viewer, "/api/v1/runs", &runs)
		for _, r := range runs.Items {
			if r.Status == "Partial Success" {
				if r.RecordsIn != 5 || r.Delivered != 4 || r.Failed != 1 {
					t.Fatalf("run counts %+v", r)
				}
				runID = r.ID
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if runID == "" {
		t.Fatalf("no finished run: %s", get(viewer, "/api/v1/runs", nil))
	}
	result := string(get(viewer, "/api/v1/runs/"+runID+"/result", nil))
	if rows := strings.Split(strings.TrimSpace(result), "\n"); len(rows) != 6 || !strings.Contains(result, "Invalid email") {
		t.Fatalf("result file:\n%s", result)
	}
	// The reconciliation example has run on the transactions sample: the
	// sandbox holds 2 of its 5 bills, one with another amount.
	var reconFlow string
	for _, f := range flows.Items {
		if f.Name == "reconcile_transactions" {
			reconFlow = f.ID
		}
	}
	var recons struct {
		Items []struct {
			ID, Source string
			Totals     struct{ Expected, Present, Missing, Mismatched int64 }
		} `json:"items"`
	}
	for i := 0; i < 200 && len(recons.Items) == 0; i++ {
		get(viewer, "/api/v1/dataflows/"+reconFlow+"/reconciliations", &recons)
		time.Sleep(50 * time.Millisecond)
	}
	if len(recons.Items) != 1 {
		t.Fatalf("reconciliations: %s", get(viewer, "/api/v1/dataflows/"+reconFlow+"/reconciliations", nil))
	}
	if r := recons.Items[0]; r.Source != "sandbox" || r.Totals.Expected != 5 || r.Totals.Present != 2 || r.Totals.Missing != 3 || r.Totals.Mismatched != 1 {
		t.Fatalf("demo reconciliation: %+v", r)
	}
}
