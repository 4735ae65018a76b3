package validate

import (
	"strings"
	"testing"
)

// FuzzRules feeds arbitrary rule documents and values: parsing and checking
// must never panic, and a failed check always names its column.
func FuzzRules(f *testing.F) {
	f.Add(billRules, "12,5")
	f.Add("a: {type: date, format: \"dd/MM/yyyy HH:mm\"}\n", "05/03/2024 10:00")
	f.Add(`[{"column": "a", "min": "-1.5", "max": "1000", "type": "integer"}]`, "999")
	f.Add(`{"a": {"regex": "^[\\p{Alpha}]+$", "enum": ["x", "y"], "minLength": 1}}`, "z")
	f.Fuzz(func(t *testing.T, rules, value string) {
		rs, err := ParseRules(rules)
		if err != nil {
			return
		}
		for _, r := range rs {
			for _, present := range []bool{true, false} {
				for _, msg := range r.check(value, present, nil) {
					if !strings.HasPrefix(msg, r.Column+": ") {
						t.Fatalf("message %q does not name column %q", msg, r.Column)
					}
				}
			}
		}
	})
}
