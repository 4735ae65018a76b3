package sandboxcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectplus/connectplus/internal/testenv"
)

// syncBuffer lets the test read the command's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSandboxCommandServesAndStops(t *testing.T) {
	cmd := NewCommand()
	out := &syncBuffer{}
	cmd.SetOut(out)
	cmd.SetErr(out)
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--client-key", "K", "--client-secret", "S",
		"--faults", "/x/neo/flaky:5xx=1,codes=521", "--faults", "seed=3"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	re := regexp.MustCompile(`listening on (http://\S+)`)
	var base string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("no listen address in output: %s", out.String())
	}
	if !strings.Contains(out.String(), "client key: K") {
		t.Fatalf("credentials not printed: %s", out.String())
	}

	res, err := http.Post(base+"/v3/oauth/token/generate", "application/json", strings.NewReader(`{"key":"K","secret":"S"}`))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		Data struct {
			AccessToken string `json:"accessToken"`
		} `json:"data"`
	}
	_ = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if res.StatusCode != 200 || tok.Data.AccessToken == "" {
		t.Fatalf("token: %d", res.StatusCode)
	}
	post := func(path, body string) int {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("X-CAP-API-OAUTH-TOKEN", tok.Data.AccessToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if c := post("/v2/transactions/bulk", `[{"identifierType":"mobile","identifierValue":"919800000001","source":"INSTORE","type":"REGULAR","billNumber":"b1","billAmount":1}]`); c != 200 {
		t.Fatalf("bulk: %d", c)
	}
	if c := post("/x/neo/flaky", `{}`); c != 521 {
		t.Fatalf("fault flag not applied: %d", c)
	}
	res, err = http.Get(base + "/_sandbox/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		AcceptedEntities int `json:"acceptedEntities"`
	}
	_ = json.NewDecoder(res.Body).Decode(&st)
	res.Body.Close()
	if st.AcceptedEntities != 1 {
		t.Fatalf("stats: %+v", st)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("command returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("command did not stop")
	}
	if _, err := http.Get(base + "/_sandbox/health"); err == nil {
		t.Fatal("server still answering after stop")
	}
}

func TestSandboxCommandRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--faults", "429=3"},
		{"--faults", "bogus"},
		{"--client-key", ""},
		{"--listen", "256.0.0.1:-5"},
	} {
		cmd := NewCommand()
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		cmd.SetArgs(args)
		if err := cmd.ExecuteContext(context.Background()); err == nil {
			t.Errorf("%v: expected an error", args)
		}
	}
}

func TestHelpMentionsEndpointsAndFaults(t *testing.T) {
	cmd := NewCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--help"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/v2/transactions/bulk", "--faults", "Retry-After", "--store", "/_sandbox/stats"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// TestSandboxKafkaBroker: --kafka serves a broker on loopback that an
// independent client (kcat) produces to and consumes from, with topics
// created on demand.
func TestSandboxKafkaBroker(t *testing.T) {
	cmd := NewCommand()
	out := &syncBuffer{}
	cmd.SetOut(out)
	cmd.SetErr(out)
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--kafka", "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	re := regexp.MustCompile(`Kafka sandbox broker listening on (\S+)`)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && addr == ""; time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		cancel()
		t.Fatalf("no Kafka address in output: %s", out.String())
	}
	testenv.KcatProduce(t, addr, "demo", []string{"k1\t{\"hello\":\"kafka\"}"}, "h=v")
	got := testenv.KcatConsume(t, addr, "demo", 1, 30*time.Second)
	if len(got) != 1 || got[0].Key != "k1" || got[0].Payload != `{"hello":"kafka"}` || got[0].Headers["h"] != "v" {
		t.Fatalf("consumed %+v", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"10.1.2.3:9092", "127.0.0.1", "127.0.0.1:99999"} {
		cmd := NewCommand()
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--kafka", bad})
		if err := cmd.ExecuteContext(context.Background()); err == nil {
			t.Errorf("--kafka %s: expected an error", bad)
		}
	}
}
