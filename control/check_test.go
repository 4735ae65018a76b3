package control

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/blocks/all"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/store"
)

// TestCheckCompilesExpressions: Check, which the server's validate and a
// version's validate/submit call, runs the compile step even when the
// service is given no validation options (issue 15): a filter typo and an
// unknown JSLT function are problems with block, path and the position
// inside the expression. Before the fix Check said nothing about either.
func TestCheckCompilesExpressions(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "cp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(Options{Store: st, Registry: all.Registry()})
	const doc = `name: t
blocks:
  - {type: file_read, name: read, config: {sourceDirectory: /in, processedDirectory: /done, apiErrorFilePath: /err}, relations: [conv]}
  - {type: convert_csv_to_json, name: conv, relations: [tx]}
  - type: jslt_transform
    name: tx
    config:
      transformation: |
        {"amount": numbr(.amount)}
    relations: [paid]
  - {type: filter_on_condition, name: paid, config: {filterCondition: "${header_value:equals('paid')"}}
`
	d, _, err := s.DecodeDocument([]byte(doc), FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	probs, err := s.Check(ctx, st.Queries, "org", d)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		block string
		at    dataflow.Position
		msg   string
	}{
		"blocks[2].config.transformation":  {"tx", dataflow.Position{Line: 1, Column: 12}, "No such function: 'numbr'"},
		"blocks[3].config.filterCondition": {"paid", dataflow.Position{Line: 1, Column: 30}, "expected '}'"},
	}
	if len(probs) != len(want) {
		t.Fatalf("problems %+v", probs)
	}
	for _, p := range probs {
		w, ok := want[p.Path]
		if !ok || p.Block != w.block || p.ExprPos == nil || *p.ExprPos != w.at || !strings.Contains(p.Message, w.msg) {
			t.Errorf("got %+v (at %v), want %+v", p, p.ExprPos, w)
		}
	}
}
