package control

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/blocks/all"
	"github.com/connectplus/connectplus/fsroot"
	"github.com/connectplus/connectplus/store"
)

// TestCheckLocalPaths: with a local-path policy, Check reports every local
// path outside the organisation's root as a problem at its block and field
// (with its line), and leaves paths inside the root and Extension
// Configuration references (checked at deployment) alone.
func TestCheckLocalPaths(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(tmp, "data", "cp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var asked []string
	s := New(Options{Store: st, Registry: all.Registry(), LocalPaths: func(org string) (*fsroot.Policy, error) {
		asked = append(asked, org)
		return fsroot.New(fsroot.Config{Home: filepath.Join(tmp, "files", org), Forbidden: []string{filepath.Join(tmp, "data")}})
	}})
	doc := `name: t
blocks:
  - type: file_read
    name: read
    config:
      sourceDirectory: ` + filepath.Join(tmp, "data") + `
      fileRegex: 'master\.key'
      processedDirectory: done
      apiErrorFilePath: {$config: err_dir}
    relations: [write]
  - type: file_write
    name: write
    config: {remotePath: ` + filepath.Join(tmp, "files", "org_other", "out") + `, conflictResolution: REPLACE}
`
	d, _, err := s.DecodeDocument([]byte(doc), FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	probs, err := s.Check(ctx, st.Queries, "org_a", d)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range probs {
		if strings.Contains(p.Message, "local path not allowed") {
			got[p.Path] = p.Block
			if p.Pos == nil {
				t.Errorf("%s has no position", p.Path)
			}
		}
	}
	if len(got) != 2 || got["blocks[0].config.sourceDirectory"] != "read" || got["blocks[1].config.remotePath"] != "write" {
		t.Fatalf("problems %+v", probs)
	}
	if len(asked) != 1 || asked[0] != "org_a" {
		t.Fatalf("policy asked for %v", asked)
	}
}
