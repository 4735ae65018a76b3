package templates

import (
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
