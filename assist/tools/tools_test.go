package tools_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/connectplus/connectplus/assist/assisttest"
	"github.com/connectplus/connectplus/assist/tools"
	"github.com/connectplus/connectplus/control"
)

// connect serves the tools of the token's user over an in-memory transport
// and returns a connected Go SDK client session.
func connect(t *testing.T, e *assisttest.Env, token string) *mcp.ClientSession {
	t.Helper()
	ts, err := tools.New(tools.Deps{Service: e.Service, Redactor: e.Redactor, TempRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv := ts.Server(tools.Session{Actor: func(ctx context.Context) (control.Actor, error) { return e.TokenActor(ctx, token) }})
	st, ct := mcp.NewInMemoryTransports()
	ctx := context.Background()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// call runs a tool and decodes its structured output into out; it returns
// the error text of a failed call ("" on success).
func call(t *testing.T, cs *mcp.ClientSession, name string, args any, out any) string {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.IsError {
		var b strings.Builder
		for _, c := range res.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				b.WriteString(tc.Text)
			}
		}
		if b.Len() == 0 {
			t.Fatalf("%s failed without a message", name)
		}
		return b.String()
	}
	if out != nil {
		data, err := json.Marshal(res.StructuredContent)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s output: %v: %s", name, err, data)
		}
	}
	return ""
}

func TestBlocksAndTemplates(t *testing.T) {
	e := assisttest.New(t)
	cs := connect(t, e, e.ViewerA.Token)
	var lb tools.ListBlocksOut
	if msg := call(t, cs, "list_blocks", map[string]any{}, &lb); msg != "" || len(lb.Blocks) < 10 {
		t.Fatalf("list_blocks: %s %d", msg, len(lb.Blocks))
	}
	var db tools.DescribeBlockOut
	if msg := call(t, cs, "describe_block", map[string]any{"type": "http_write"}, &db); msg != "" {
		t.Fatal(msg)
	}
	secret := false
	for _, f := range db.Fields {
		if f.Key == "clientSecret" && f.Secret {
			secret = true
		}
	}
	if !secret || db.Docs == "" || db.Example == nil || db.Class != "executor" {
		t.Fatalf("describe_block: %+v", db)
	}
	if msg := call(t, cs, "describe_block", map[string]any{"type": "http_writ"}, nil); !strings.Contains(msg, `did you mean "http_write"`) {
		t.Fatalf("unknown block: %q", msg)
	}
	var lt tools.ListTemplatesOut
	if msg := call(t, cs, "list_templates", map[string]any{}, &lt); msg != "" || len(lt.Templates) < 3 {
		t.Fatalf("list_templates: %s %+v", msg, lt)
	}
	var ti tools.TemplateInfo
	if msg := call(t, cs, "describe_template", map[string]any{"name": "bulk_add_customers"}, &ti); msg != "" || ti.Sample == "" || len(ti.Parameters) == 0 {
		t.Fatalf("describe_template: %s %+v", msg, ti)
	}
	// A revoked or unknown token gets nothing.
	bad := connect(t, e, "cpt_not-a-token")
	if msg := call(t, bad, "list_blocks", map[string]any{}, nil); !strings.Contains(msg, "not authenticated") {
		t.Fatalf("bad token: %q", msg)
	}
}
