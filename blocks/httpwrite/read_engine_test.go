package httpwrite_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/blocks/all"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/sandbox"
)

type secrets map[string]string

func (s secrets) Resolve(name string) (string, error) { return s[name], nil }

// TestPullFromAPIDataflow runs the "Pull data from API" chain (spec
// §3.2.18: Invoke-Neo-Iteratively → Json-to-Csv-Converter → files) under
// the engine twice: the first run writes every record of the feed as CSV,
// the second (after the feed grew) only the new ones.
func TestPullFromAPIDataflow(t *testing.T) {
	s, ts := sandbox.NewTestServer(sandbox.Config{FeedSize: 57})
	defer ts.Close()
	key, secret := s.Credentials()
	out := t.TempDir()
	state := t.TempDir()
	doc := &dataflow.Document{Name: "pull", Blocks: []dataflow.Block{
		{Type: "neo_transformer_iteration", Name: "pull", Relations: []dataflow.Relation{{To: "csv"}}, Config: map[string]any{
			"clientKey": key, "clientSecret": map[string]any{"$config": "capillary.secret"},
			"apiBaseUrl": ts.URL, "oAuthBaseUrl": ts.URL, "Enter url": "/x/feed/cursor",
			"paginationType": "cursor", "cursorPath": "$.meta.nextCursor", "recordsPath": "$.data[*]", "pageSize": "20",
			"incrementalField": "$.updatedAt", "incrementalParam": "updatedSince",
			"outputFileName": "feedback_${pull.id}.json",
		}},
		{Type: "json_to_csv_converter", Name: "csv", Relations: []dataflow.Relation{{To: "out"}}, Config: map[string]any{}},
		{Type: "file_write", Name: "out", Config: map[string]any{"remotePath": out, "conflictResolution": "FAIL"}},
	}}
	run := func() {
		t.Helper()
		f, err := engine.Compile(doc, engine.Options{Registry: all.Registry(), Resolver: secrets{"capillary.secret": secret},
			Compiler: exprs.NewStep(exprs.Options{}), CompileExpr: exprs.Compiler(nil, nil), StateDir: state, FlowKey: "org/pull"})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res, err := f.RunOnce(ctx)
		if err != nil || len(res) != 1 || res[0].Error != "" || res[0].FinishError != "" {
			t.Fatalf("run: %v %+v", err, res)
		}
	}
	rows := func(name string) [][]string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		all, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return all
	}
	run()
	first := rows("feedback_1.csv")
	if len(first) != 58 || strings.Join(first[0], ",") != "id,customer,rating,comment,updatedAt" || first[57][0] != "57" {
		t.Fatalf("first run: %d rows, header %v, last %v", len(first), first[0], first[len(first)-1])
	}
	s.AddFeed(5)
	run()
	second := rows("feedback_2.csv")
	if len(second) != 6 || second[1][0] != "58" || second[5][0] != "62" {
		t.Fatalf("second run rows %v", second)
	}
}
