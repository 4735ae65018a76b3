package xml

import (
	"testing"

	"github.com/connectplus/connectplus/block"
)

// TestRegister: the specs pass the registry's self-check (valid defaults,
// no duplicate fields) and every default config validates.
func TestRegister(t *testing.T) {
	r := block.NewRegistry()
	Register(r)
	for _, s := range r.Specs() {
		if s.Description == "" || s.Category == "" {
			t.Errorf("%s: missing description or category", s.Type)
		}
	}
}
