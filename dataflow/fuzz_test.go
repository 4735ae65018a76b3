package dataflow

import (
	"testing"
)

// FuzzParse checks that no input makes the decoder (or validation, or the
// encoder) panic, and that every document Parse accepts survives
// Marshal→Parse unchanged in both formats.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		validYAML, miniFlow,
		`{"name":"j","blocks":[{"type":"sftp_read","name":"r","config":{"a":[1,2.5,{"b":null}]},"relations":["x",{"to":"y","on":"failure"}]}]}`,
		"name: a\nblocks:\n  - &x {type: t, name: b, config: {k: *x}}\n",
		"name: a\nblocks: [{type: t, name: b, config: {s: \"\\t\\u0000 x\\n\", n: 0x1F, z: 0123, f: 1e400}}]\n",
		"- a\n- b\n", "", "{", "name: [", "a: &a [*a]",
	} {
		f.Add([]byte(seed), "")
		f.Add([]byte(seed), "x.json")
	}
	reg := testRegistry(f)
	f.Fuzz(func(t *testing.T, data []byte, filename string) {
		doc, err := Parse(data, filename)
		if doc != nil {
			_ = Validate(doc, reg)
			_ = References(doc, reg)
			_ = Diff(doc, &Document{}).String()
		}
		if err != nil {
			return
		}
		for _, format := range []string{"yaml", "json"} {
			out, err := Marshal(doc, format)
			if err != nil {
				t.Fatalf("Marshal %s of a parsed document: %v", format, err)
			}
			again, err := Parse(out, "x."+format)
			if err != nil {
				t.Fatalf("re-Parse %s: %v\n%s", format, err, out)
			}
			if !sameContent(doc, again) {
				t.Fatalf("%s round trip changed the document:\n%#v\n%#v\n%s", format, doc, again, out)
			}
		}
	})
}
