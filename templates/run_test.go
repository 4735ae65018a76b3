package templates

import (
	"context"
	"flag"
	"path/filepath"
	"testing"

	"github.com/connectplus/connectplus/blocks/all"
)

var update = flag.Bool("update", false, "rewrite each template's expected/ folder from its run")

// TestTemplatesOnSamples is `connectplus templates test` over the whole
// catalogue: each template runs on its sample against the sandbox and must
// produce exactly its golden result files, sandbox entities and outputs.
func TestTemplatesOnSamples(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	reg := all.Registry()
	for _, tp := range c.All() {
		t.Run(tp.Name, func(t *testing.T) {
			out, err := c.Run(context.Background(), tp, RunOptions{Registry: reg, TempRoot: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := out.WriteGolden(filepath.Join(tp.Name, "expected")); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := c.Expected(tp)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 {
				t.Fatalf("no golden files: run go test ./templates -run TestTemplatesOnSamples -update")
			}
			for _, m := range out.Compare(want) {
				t.Errorf("%s", m)
			}
		})
	}
}
