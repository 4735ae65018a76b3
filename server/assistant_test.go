package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/connectplus/connectplus/assist/agent"
	"github.com/connectplus/connectplus/assist/assisttest"
)

// apiJSON sends a JSON request with a bearer token.
func apiJSON(t *testing.T, method, url, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, url, res.StatusCode, b)
		}
	}
	return res.StatusCode
}

// The canvas chat panel's endpoints against a scripted OpenAI-compatible
// model: not configured says so (503); configured, a turn proposes from a
// template without saving; accept saves a Draft; the model was offered
// exactly the tools /mcp lists.
func TestAssistantEndpoints(t *testing.T) {
	e := assisttest.New(t)
	hs := assistServer(t, e)
	base := hs.URL + Base + "/assistant"

	var st agent.Status
	if code := apiJSON(t, "GET", base, e.ViewerA.Token, nil, &st); code != 200 || st.Configured {
		t.Fatalf("status: %d %+v", code, st)
	}
	var eb ErrorBody
	if code := apiJSON(t, "POST", base, e.EditorA.Token, agent.Request{Prompt: "hi"}, &eb); code != 503 || eb.Error.Code != "assistant_not_configured" {
		t.Fatalf("unconfigured: %d %+v", code, eb)
	}

	var mu sync.Mutex
	var bodies []string
	replies := []string{
		`{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"create_draft","arguments":"{\"template\":\"csv_to_jsonl\",\"parameters\":{\"name\":\"from_chat\"}}"}}]}}]}`,
		`{"choices":[{"message":{"role":"assistant","content":"read picks up CSVs, convert makes JSON records, write writes JSON Lines."}}]}`,
	}
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		i := len(bodies)
		bodies = append(bodies, string(b))
		mu.Unlock()
		if i >= len(replies) {
			http.Error(w, "exhausted", 500)
			return
		}
		io.WriteString(w, replies[i])
	}))
	t.Cleanup(model.Close)
	e.SetConfig(t, agent.ConfigBaseURL, model.URL, false)
	e.SetConfig(t, agent.ConfigModel, "scripted", false)
	e.SetConfig(t, agent.ConfigAPIKey, "sk-server-test", true)

	var res agent.Response
	if code := apiJSON(t, "POST", base, e.EditorA.Token, agent.Request{Prompt: "CSV files to JSON Lines"}, &res); code != 200 || res.Proposal == nil {
		t.Fatalf("turn: %d %+v", code, res)
	}
	var fl struct{ Items []any }
	apiJSON(t, "GET", hs.URL+Base+"/dataflows", e.EditorA.Token, nil, &fl)
	if len(fl.Items) != 0 {
		t.Fatalf("saved before accept: %+v", fl)
	}
	if code := apiJSON(t, "POST", base+"/accept", e.ViewerA.Token, res.Proposal, &eb); code != 403 {
		t.Fatalf("viewer accept: %d", code)
	}
	var acc agent.AcceptResult
	if code := apiJSON(t, "POST", base+"/accept", e.EditorA.Token, res.Proposal, &acc); code != 201 || acc.State != "Draft" {
		t.Fatalf("accept: %d %+v", code, acc)
	}

	// One tool layer: the tools offered to the model are those /mcp lists.
	var req struct {
		Tools []struct {
			Function struct{ Name string } `json:"function"`
		} `json:"tools"`
	}
	if err := json.Unmarshal([]byte(bodies[0]), &req); err != nil {
		t.Fatal(err)
	}
	var offered, served []string
	for _, tl := range req.Tools {
		offered = append(offered, tl.Function.Name)
	}
	lt, err := mcpClient(t, hs.URL, e.ViewerA.Token).ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range lt.Tools {
		served = append(served, tl.Name)
	}
	sort.Strings(offered)
	sort.Strings(served)
	if strings.Join(offered, ",") != strings.Join(served, ",") {
		t.Fatalf("model offered %v, /mcp lists %v", offered, served)
	}
}
