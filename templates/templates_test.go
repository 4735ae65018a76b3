package templates

import (
	"strings"
	"testing"

	"github.com/connectplus/connectplus/blocks/all"
	"github.com/connectplus/connectplus/dataflow"
)

// TestCatalogueLoads: every folder is a well-formed template whose default
// instantiation is a valid dataflow document.
func TestCatalogueLoads(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Names()) == 0 {
		t.Fatal("empty catalogue")
	}
	reg := all.Registry()
	for _, tp := range c.All() {
		doc, err := tp.Instantiate("", nil)
		if err != nil {
			t.Errorf("%s: %v", tp.Name, err)
			continue
		}
		if probs := dataflow.Validate(doc, reg); len(probs) > 0 {
			t.Errorf("%s: default instantiation has problems: %v", tp.Name, probs)
		}
	}
}

// TestCompareReportsDiff: a changed, missing or extra golden file is a
// mismatch with a readable diff.
func TestCompareReportsDiff(t *testing.T) {
	out := &Outcome{Files: map[string][]byte{"a.csv": []byte("h\n1\n2\n3\n"), "new.json": []byte("{}\n")}}
	ms := out.Compare(map[string][]byte{"a.csv": []byte("h\n1\nX\n3\n"), "gone.csv": []byte("x\n")})
	if len(ms) != 3 {
		t.Fatalf("%v", ms)
	}
	if ms[0].Path != "a.csv" || ms[0].Diff != "  h\n  1\n- X\n+ 2\n  3\n" {
		t.Errorf("diff %q", ms[0].Diff)
	}
	if ms[1].Path != "gone.csv" || !strings.Contains(ms[1].Diff, "did not produce") {
		t.Errorf("%v", ms[1])
	}
	if ms[2].Path != "new.json" || !strings.Contains(ms[2].Diff, "no golden") {
		t.Errorf("%v", ms[2])
	}
	if len(out.Compare(out.Files)) != 0 {
		t.Error("equal files mismatch")
	}
}

func TestValuesAndInstantiate(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	tp, ok := c.Get("transaction_v2_add")
	if !ok {
		t.Fatal("transaction_v2_add missing")
	}
	if _, err := tp.Values(map[string]string{"maxRetries": "x", "decryptEnabled": "maybe"}); err == nil ||
		!strings.Contains(err.Error(), `no parameter "maxRetries"`) || !strings.Contains(err.Error(), "not true or false") {
		t.Fatalf("errors: %v", err)
	}
	doc, err := tp.Instantiate("eu_tx", map[string]string{"apiBaseUrl": "https://eu.api.capillarytech.com", "decryptEnabled": "true"})
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := doc.BlockByName("decrypt_data")
	if doc.Name != "eu_tx" || dec.Config["isEnabled"] != "true" {
		t.Errorf("%s %v", doc.Name, dec.Config)
	}
}
