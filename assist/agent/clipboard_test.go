package agent_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/assist/agent"
	"github.com/connectplus/connectplus/assist/tools"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/store"
)

// "Copy version 1 of the dataflow AddCutomerV2 with the description 'Move
// to ANB organization'", then "View my dataflow store" and paste: the copy
// is made at once (it changes no dataflow), the paste is a validated
// proposal, saved as a Draft only when the user accepts it.
func TestCopyThenPasteByPrompt(t *testing.T) {
	var copyID string
	m := newModel(t,
		toolCall("copy_dataflow", map[string]any{"name": "AddCutomerV2", "version": 1, "description": "Move to ANB organization"}),
		expectTool("Copied version 1", say("Copied version 1 of AddCutomerV2 into your dataflow store.")),
		// Second turn.
		toolCall("list_copies", map[string]any{}),
		func(t *testing.T, req map[string]any) (int, string) {
			var l tools.ListCopiesOut
			if err := json.Unmarshal([]byte(lastTool(req)), &l); err != nil || len(l.Copies) != 1 {
				t.Errorf("list_copies sent %q", lastTool(req))
				return 500, "{}"
			}
			copyID = l.Copies[0].CopyID
			return 200, callBody("paste_dataflow", map[string]any{"copyId": copyID, "name": "AddCutomerV2 ANB"})
		},
		expectTool("Proposed pasting", say("Pasting Move to ANB organization as AddCutomerV2 ANB.")),
	)
	f := setup(t, m, 0)
	ctx := context.Background()
	text, err := tools.ExampleTemplates{}.Render("add_customer", map[string]string{"name": "AddCutomerV2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.e.Service.CreateDataflow(ctx, f.e.EditorA.Actor, control.CreateFlowInput{Name: "AddCutomerV2", Tags: []string{"t1"}, Document: string(text)}); err != nil {
		t.Fatal(err)
	}
	res, err := f.as.Run(ctx, f.e.EditorA.Actor, agent.Request{Prompt: "Copy version 1 of the dataflow AddCutomerV2 with the description 'Move to ANB organization'"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Proposal != nil || len(res.Steps) != 1 || !res.Steps[0].OK {
		t.Fatalf("copy turn: %+v", res)
	}
	cs, err := f.e.Service.ListCopies(ctx, f.e.EditorA.Actor)
	if err != nil || len(cs) != 1 || cs[0].Description != "Move to ANB organization" {
		t.Fatalf("store: %+v %v", cs, err)
	}
	res, err = f.as.Run(ctx, f.e.EditorA.Actor, agent.Request{Prompt: "View my dataflow store and paste the ANB copy as AddCutomerV2 ANB"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Proposal == nil || res.Proposal.Kind != "create" || res.Proposal.Name != "AddCutomerV2 ANB" || strings.Contains(res.Proposal.Document, "t1") {
		t.Fatalf("paste turn: %+v", res)
	}
	if fs := f.flows(t); len(fs) != 1 {
		t.Fatalf("pasted before acceptance: %+v", fs)
	}
	acc, err := f.as.Accept(ctx, f.e.EditorA.Actor, *res.Proposal)
	if err != nil || acc.State != store.StateDraft || acc.Version != 1 {
		t.Fatalf("accept: %+v %v", acc, err)
	}
	m.noSecrets(t)
}
