package agent_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/assist/agent"
	"github.com/connectplus/connectplus/assist/tools"
)

// A product question is answered from the bundled docs: the model calls
// search_docs, gets passages with their paths and headings, and answers
// citing them; a question the docs do not cover gets "no match" back,
// not an invented answer. Nothing is proposed or saved.
func TestProductQuestionFromDocs(t *testing.T) {
	m := newModel(t,
		func(t *testing.T, req map[string]any) (int, string) {
			msgs, _ := json.Marshal(req["messages"])
			if !strings.Contains(string(msgs), "search_docs") || !strings.Contains(string(msgs), "product question") {
				t.Errorf("the system prompt does not point at search_docs: %.400s", msgs)
			}
			return 200, callBody("search_docs", map[string]any{"query": "which Extension Configurations configure the assistant model", "limit": 3})
		},
		func(t *testing.T, req map[string]any) (int, string) {
			var out tools.SearchDocsOut
			if err := json.Unmarshal([]byte(lastTool(req)), &out); err != nil || len(out.Results) == 0 {
				t.Errorf("search_docs sent %q", lastTool(req))
				return 500, "{}"
			}
			top := out.Results[0]
			if top.Path != "docs/mcp.md" || top.Heading == "" || !strings.Contains(top.Text, "assistant_base_url") {
				t.Errorf("top passage: %+v", top)
			}
			return say("An admin adds the Extension Configurations assistant_base_url, assistant_model and the secret assistant_api_key (docs/mcp.md, "+top.Heading+").")(t, req)
		},
		// Second question: nothing matches.
		toolCall("search_docs", map[string]any{"query": "zzqx frobnicate"}),
		expectTool("Nothing in the documentation matches", say("The documentation does not cover that.")),
	)
	f := setup(t, m, 0)
	ctx := context.Background()
	res, err := f.as.Run(ctx, f.e.ViewerA.Actor, agent.Request{Prompt: "How do I configure the assistant's model?", Mode: agent.ModeAsk})
	if err != nil {
		t.Fatal(err)
	}
	if res.Proposal != nil || !strings.Contains(res.Reply, "docs/mcp.md") || len(res.Steps) != 1 || res.Steps[0].Tool != "search_docs" || !res.Steps[0].OK {
		t.Fatalf("response: %+v", res)
	}
	res, err = f.as.Run(ctx, f.e.ViewerA.Actor, agent.Request{Prompt: "How do I frobnicate?", Mode: agent.ModeAsk})
	if err != nil || !strings.Contains(res.Reply, "does not cover") {
		t.Fatalf("uncovered question: %+v %v", res, err)
	}
	if fs := f.flows(t); len(fs) != 0 {
		t.Fatalf("saved: %+v", fs)
	}
	m.noSecrets(t)
}
