package block

import (
	"fmt"
	"sort"
	"strings"
)

// Registry holds block specs by type. It is a value, not a global: the CLI
// builds one with every block, tests and (later) organisations build scoped
// ones.
type Registry struct {
	specs  map[string]*Spec
	legacy map[string]string
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{specs: map[string]*Spec{}, legacy: map[string]string{}}
}

// Register adds specs; a duplicate type or a malformed spec is an error.
func (r *Registry) Register(specs ...*Spec) error {
	for _, s := range specs {
		if err := s.selfCheck(); err != nil {
			return err
		}
		if _, dup := r.specs[s.Type]; dup {
			return fmt.Errorf("block type %q registered twice", s.Type)
		}
		r.specs[s.Type] = s
		for _, l := range s.LegacyTypes {
			r.legacy[l] = s.Type
		}
	}
	return nil
}

// MustRegister is Register for package-level wiring; it panics on a
// programming error in a spec (caught by every test run).
func (r *Registry) MustRegister(specs ...*Spec) *Registry {
	if err := r.Register(specs...); err != nil {
		panic(err)
	}
	return r
}

// Lookup returns the spec for a type (legacy Gen-1 type names map to their
// Gen-2 successor).
func (r *Registry) Lookup(typ string) (*Spec, bool) {
	if s, ok := r.specs[typ]; ok {
		return s, true
	}
	if t, ok := r.legacy[typ]; ok {
		return r.specs[t], true
	}
	return nil, false
}

// Types returns the registered types, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.specs))
	for t := range r.specs {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Specs returns the specs sorted by type.
func (r *Registry) Specs() []*Spec {
	out := make([]*Spec, 0, len(r.specs))
	for _, t := range r.Types() {
		out = append(out, r.specs[t])
	}
	return out
}

// Scoped returns a registry holding only the allowed types.
func (r *Registry) Scoped(allow func(*Spec) bool) *Registry {
	s := NewRegistry()
	for _, spec := range r.specs {
		if allow(spec) {
			_ = s.Register(spec)
		}
	}
	return s
}

// Suggest returns a near type name for a typo, or "".
func (r *Registry) Suggest(typ string) string {
	best, bestD := "", 4
	for t := range r.specs {
		if d := EditDistance(strings.ToLower(typ), t); d < bestD {
			best, bestD = t, d
		}
	}
	return best
}

func (s *Spec) selfCheck() error {
	if s.Type == "" || s.Label == "" {
		return fmt.Errorf("block spec without type or label: %+v", s)
	}
	if s.Class != ClassSource && s.Class != ClassExecutor {
		return fmt.Errorf("block %s: class must be source or executor", s.Type)
	}
	if s.New == nil {
		return fmt.Errorf("block %s: no constructor", s.Type)
	}
	seen := map[string]bool{}
	for _, f := range s.Fields {
		if f.Key == "" || f.Type == "" {
			return fmt.Errorf("block %s: field without key or type", s.Type)
		}
		if seen[f.Key] {
			return fmt.Errorf("block %s: field %s declared twice", s.Type, f.Key)
		}
		seen[f.Key] = true
		if f.Type == TypeEnum && len(f.Enum) == 0 {
			return fmt.Errorf("block %s: enum field %s without values", s.Type, f.Key)
		}
		if f.Default != "" {
			if probs := checkValue(&f, f.Default); len(probs) > 0 && !f.SupportsExpressions {
				return fmt.Errorf("block %s: default of %s is invalid: %s", s.Type, f.Key, probs[0].Message)
			}
		}
	}
	return nil
}

// EditDistance is the Levenshtein distance between a and b, used for
// "did you mean" suggestions on block types, field keys and block names.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
