package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// PatchOp is one JSON Patch (RFC 6902) operation on the document's JSON
// form ({"name": …, "blocks": [{"type": …, "name": …, "config": {…},
// "relations": [{"to": …, "on": …}]}]}).
type PatchOp struct {
	Op    string `json:"op" jsonschema:"add, remove, replace, move, copy or test"`
	Path  string `json:"path" jsonschema:"JSON Pointer (RFC 6901), e.g. /blocks/1/config/groupSize or /blocks/- to append"`
	From  string `json:"from,omitempty" jsonschema:"source pointer of move and copy"`
	Value any    `json:"value,omitempty" jsonschema:"the value of add, replace and test"`
}

// maxPatchOps bounds one patch.
const maxPatchOps = 500

// applyPatch applies ops in order to the JSON document data and returns
// the result; the first failing operation fails the whole patch (RFC 6902
// §5: the patch is atomic).
func applyPatch(data []byte, ops []PatchOp) ([]byte, error) {
	if len(ops) == 0 {
		return nil, fmt.Errorf("the patch is empty")
	}
	if len(ops) > maxPatchOps {
		return nil, fmt.Errorf("a patch has at most %d operations", maxPatchOps)
	}
	doc, err := decodeJSON(data)
	if err != nil {
		return nil, err
	}
	for i, op := range ops {
		if doc, err = applyOp(doc, op); err != nil {
			return nil, fmt.Errorf("patch operation %d (%s %s): %w", i, op.Op, op.Path, err)
		}
	}
	return json.Marshal(doc)
}

func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("document JSON: %w", err)
	}
	return v, nil
}

// normalise gives a patch value the shapes decodeJSON produces (numbers as
// json.Number), so test compares like with like and values are copies.
func normalise(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("value: %w", err)
	}
	return decodeJSON(b)
}

// pointer splits an RFC 6901 pointer into unescaped tokens.
func pointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("pointer %q must start with /", p)
	}
	toks := strings.Split(p[1:], "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks, nil
}

func applyOp(doc any, op PatchOp) (any, error) {
	path, err := pointer(op.Path)
	if err != nil {
		return nil, err
	}
	switch op.Op {
	case "add", "replace", "test":
		val, err := normalise(op.Value)
		if err != nil {
			return nil, err
		}
		switch op.Op {
		case "add":
			return add(doc, path, val)
		case "replace":
			if _, err := get(doc, path); err != nil {
				return nil, err
			}
			if doc, err = remove(doc, path); err != nil {
				return nil, err
			}
			return add(doc, path, val)
		default:
			got, err := get(doc, path)
			if err != nil {
				return nil, err
			}
			if !reflect.DeepEqual(got, val) {
				return nil, fmt.Errorf("test failed: the value differs")
			}
			return doc, nil
		}
	case "remove":
		return remove(doc, path)
	case "move", "copy":
		from, err := pointer(op.From)
		if err != nil {
			return nil, err
		}
		val, err := get(doc, from)
		if err != nil {
			return nil, fmt.Errorf("from: %w", err)
		}
		if op.Op == "move" {
			if strings.HasPrefix(op.Path+"/", op.From+"/") && op.Path != op.From {
				return nil, fmt.Errorf("cannot move a value into itself")
			}
			if doc, err = remove(doc, from); err != nil {
				return nil, err
			}
		} else if val, err = normalise(val); err != nil {
			return nil, err
		}
		return add(doc, path, val)
	}
	return nil, fmt.Errorf("unknown op %q (add, remove, replace, move, copy or test)", op.Op)
}

func get(doc any, path []string) (any, error) {
	cur := doc
	for _, t := range path {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[t]
			if !ok {
				return nil, fmt.Errorf("no member %q", t)
			}
			cur = v
		case []any:
			i, err := index(t, len(c), false)
			if err != nil {
				return nil, err
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("%q: not an object or array", t)
		}
	}
	return cur, nil
}

// index parses an array index; "-" (the end) only when appending.
func index(t string, n int, appending bool) (int, error) {
	if t == "-" && appending {
		return n, nil
	}
	i, err := strconv.Atoi(t)
	if err != nil || i < 0 || (t != "0" && strings.HasPrefix(t, "0")) {
		return 0, fmt.Errorf("%q is not an array index", t)
	}
	max := n - 1
	if appending {
		max = n
	}
	if i > max {
		return 0, fmt.Errorf("index %d is out of range (the array has %d elements)", i, n)
	}
	return i, nil
}

// add sets path to val, returning the new document (the root may change).
func add(doc any, path []string, val any) (any, error) {
	if len(path) == 0 {
		return val, nil
	}
	parent, err := get(doc, path[:len(path)-1])
	if err != nil {
		return nil, err
	}
	last := path[len(path)-1]
	switch c := parent.(type) {
	case map[string]any:
		c[last] = val
		return doc, nil
	case []any:
		i, err := index(last, len(c), true)
		if err != nil {
			return nil, err
		}
		c = append(c, nil)
		copy(c[i+1:], c[i:])
		c[i] = val
		return set(doc, path[:len(path)-1], c)
	}
	return nil, fmt.Errorf("cannot add to a value that is not an object or array")
}

func remove(doc any, path []string) (any, error) {
	if len(path) == 0 {
		return nil, fmt.Errorf("cannot remove the whole document")
	}
	parent, err := get(doc, path[:len(path)-1])
	if err != nil {
		return nil, err
	}
	last := path[len(path)-1]
	switch c := parent.(type) {
	case map[string]any:
		if _, ok := c[last]; !ok {
			return nil, fmt.Errorf("no member %q", last)
		}
		delete(c, last)
		return doc, nil
	case []any:
		i, err := index(last, len(c), false)
		if err != nil {
			return nil, err
		}
		c = append(c[:i], c[i+1:]...)
		return set(doc, path[:len(path)-1], c)
	}
	return nil, fmt.Errorf("cannot remove from a value that is not an object or array")
}

// set replaces the value at path (an array that grew or shrank).
func set(doc any, path []string, val any) (any, error) {
	if len(path) == 0 {
		return val, nil
	}
	parent, err := get(doc, path[:len(path)-1])
	if err != nil {
		return nil, err
	}
	last := path[len(path)-1]
	switch c := parent.(type) {
	case map[string]any:
		c[last] = val
	case []any:
		i, err := index(last, len(c), false)
		if err != nil {
			return nil, err
		}
		c[i] = val
	}
	return doc, nil
}
