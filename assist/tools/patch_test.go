package tools

import (
	"strings"
	"testing"
)

// Cases from RFC 6902 appendix A, plus the failures a patch must report.
func TestApplyPatch(t *testing.T) {
	for _, c := range []struct {
		doc  string
		ops  []PatchOp
		want string // "" with err
		err  string
	}{
		{`{"foo":"bar"}`, []PatchOp{{Op: "add", Path: "/baz", Value: "qux"}}, `{"baz":"qux","foo":"bar"}`, ""},
		{`{"foo":["bar","baz"]}`, []PatchOp{{Op: "add", Path: "/foo/1", Value: "qux"}}, `{"foo":["bar","qux","baz"]}`, ""},
		{`{"foo":["bar"]}`, []PatchOp{{Op: "add", Path: "/foo/-", Value: map[string]any{"x": 1}}}, `{"foo":["bar",{"x":1}]}`, ""},
		{`{"baz":"qux","foo":"bar"}`, []PatchOp{{Op: "remove", Path: "/baz"}}, `{"foo":"bar"}`, ""},
		{`{"foo":["bar","qux","baz"]}`, []PatchOp{{Op: "remove", Path: "/foo/1"}}, `{"foo":["bar","baz"]}`, ""},
		{`{"baz":"qux","foo":"bar"}`, []PatchOp{{Op: "replace", Path: "/baz", Value: "boo"}}, `{"baz":"boo","foo":"bar"}`, ""},
		{`{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}`, []PatchOp{{Op: "move", From: "/foo/waldo", Path: "/qux/thud"}},
			`{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}`, ""},
		{`{"foo":["all","grass","cows","eat"]}`, []PatchOp{{Op: "move", From: "/foo/1", Path: "/foo/3"}}, `{"foo":["all","cows","eat","grass"]}`, ""},
		{`{"a":{"b":[1]}}`, []PatchOp{{Op: "copy", From: "/a/b", Path: "/c"}, {Op: "add", Path: "/c/-", Value: 2}}, `{"a":{"b":[1]},"c":[1,2]}`, ""},
		{`{"a/b":1,"m~n":2}`, []PatchOp{{Op: "replace", Path: "/a~1b", Value: 3}, {Op: "remove", Path: "/m~0n"}}, `{"a/b":3}`, ""},
		{`{"n":10}`, []PatchOp{{Op: "test", Path: "/n", Value: 10}}, `{"n":10}`, ""},
		{`{"n":10}`, []PatchOp{{Op: "test", Path: "/n", Value: 11}}, "", "test failed"},
		{`{"baz":"qux"}`, []PatchOp{{Op: "replace", Path: "/nope", Value: 1}}, "", `no member "nope"`},
		{`{"foo":[1]}`, []PatchOp{{Op: "add", Path: "/foo/5", Value: 1}}, "", "out of range"},
		{`{"foo":[1]}`, []PatchOp{{Op: "remove", Path: "/foo/01"}}, "", "not an array index"},
		{`{"a":{"b":1}}`, []PatchOp{{Op: "move", From: "/a", Path: "/a/c"}}, "", "into itself"},
		{`{}`, []PatchOp{{Op: "frob", Path: "/x"}}, "", "unknown op"},
		{`{}`, []PatchOp{{Op: "add", Path: "x", Value: 1}}, "", "must start with /"},
		{`{}`, nil, "", "empty"},
	} {
		got, err := applyPatch([]byte(c.doc), c.ops)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %+v: err %v, want %q", c.doc, c.ops, err, c.err)
			}
			continue
		}
		if err != nil || string(got) != c.want {
			t.Errorf("%s %+v: %s %v, want %s", c.doc, c.ops, got, err, c.want)
		}
	}
}
