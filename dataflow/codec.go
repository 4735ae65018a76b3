package dataflow

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Decoding limits. Documents arrive over the API from untrusted users, so
// every dimension that costs memory or time is capped before the document
// reaches validation or the engine.
const (
	// MaxDocumentBytes is the largest document Parse accepts.
	MaxDocumentBytes = 4 << 20
	// MaxBlocks is the largest number of blocks in one dataflow.
	MaxBlocks = 500
	// MaxNodes caps the YAML/JSON nodes visited while decoding, counting
	// every expansion of an alias, so that alias bombs ("billion laughs")
	// cost at most this much work.
	MaxNodes = 200_000
	// MaxDepth caps nesting (config values are free-form JSON).
	MaxDepth = 64
)

// ParseError lists every structural problem found while decoding a document
// (unknown keys, duplicate keys, wrong types), each with its path and source
// position.
type ParseError struct {
	Problems []Problem
}

func (e *ParseError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Parse decodes a dataflow document written in YAML or JSON. The format comes
// from the file extension (.json, .yaml, .yml) and otherwise from the content:
// text starting with '{' is tried as JSON first.
//
// Every path (e.g. "blocks[2].config.fileRegex") gets its line:column
// recorded, for JSON as well as YAML. When the text is well-formed but the
// document has structural problems, Parse returns the partially decoded
// document together with a *ParseError listing all of them, so that a caller
// can report them alongside validation problems; the document is nil only when
// the text cannot be read at all.
func Parse(data []byte, filename string) (doc *Document, err error) {
	// A panic inside a third-party parser on hostile input must not take the
	// server down; it becomes an ordinary decoding error.
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("parse %s: internal parser failure: %v", displayName(filename), r)
		}
	}()
	if len(data) > MaxDocumentBytes {
		return nil, fmt.Errorf("parse %s: document is %d bytes, larger than the %d-byte limit", displayName(filename), len(data), MaxDocumentBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	root, err := parseNode(data, filename)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", displayName(filename), err)
	}
	d := &decoder{pos: map[string]Position{}}
	doc = d.document(root)
	doc.SetPositions(d.pos)
	if len(d.probs) > 0 {
		return doc, &ParseError{Problems: d.probs}
	}
	return doc, nil
}

func displayName(filename string) string {
	if filename == "" {
		return "document"
	}
	return filename
}

// parseNode turns the text into a yaml.Node tree, whatever the format, so
// that one decoder serves both.
func parseNode(data []byte, filename string) (*yaml.Node, error) {
	ext := strings.ToLower(filepath.Ext(filename))
	switch {
	case ext == ".json":
		return parseJSONNode(data)
	case ext == ".yaml" || ext == ".yml":
		return parseYAMLNode(data)
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		n, jerr := parseJSONNode(data)
		if jerr == nil {
			return n, nil
		}
		// A YAML flow mapping also starts with '{'; only if YAML cannot
		// read it either is the JSON error (the likelier intent) reported.
		if n, yerr := parseYAMLNode(data); yerr == nil {
			return n, nil
		}
		return nil, jerr
	}
	return parseYAMLNode(data)
}

// SyntaxError is a YAML or JSON syntax error with its position when known.
type SyntaxError struct {
	Format string // "YAML" or "JSON"
	Pos    Position
	Msg    string
}

func (e *SyntaxError) Error() string {
	if e.Pos.Line > 0 {
		if e.Pos.Column > 0 {
			return fmt.Sprintf("%s syntax error at %d:%d: %s", e.Format, e.Pos.Line, e.Pos.Column, e.Msg)
		}
		return fmt.Sprintf("%s syntax error at line %d: %s", e.Format, e.Pos.Line, e.Msg)
	}
	return fmt.Sprintf("%s syntax error: %s", e.Format, e.Msg)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func parseYAMLNode(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &SyntaxError{Format: "YAML", Msg: "empty document"}
		}
		return nil, yamlSyntaxError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &SyntaxError{Format: "YAML", Pos: Position{Line: extra.Line}, Msg: "more than one YAML document in the stream"}
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlSyntaxError(err)
	}
	return &root, nil
}

func yamlSyntaxError(err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &SyntaxError{Format: "YAML", Pos: Position{Line: line}, Msg: m[2]}
	}
	return &SyntaxError{Format: "YAML", Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// decoder walks the node tree, building the Document and collecting every
// problem instead of stopping at the first.
type decoder struct {
	pos   map[string]Position
	probs []Problem
	nodes int
	// overflow is set once MaxNodes is exceeded; the walk then stops
	// descending so the remaining cost is bounded.
	overflow bool
}

func nodePos(n *yaml.Node) Position { return Position{Line: n.Line, Column: n.Column} }

func (d *decoder) problem(n *yaml.Node, path, format string, a ...any) {
	p := Problem{Path: path, Message: fmt.Sprintf(format, a...)}
	if n != nil && n.Line > 0 {
		pos := nodePos(n)
		p.Pos = &pos
	}
	d.probs = append(d.probs, p)
}

// visit resolves aliases and documents, counts the node against MaxNodes,
// and records its position under path ("" is the document itself, the
// position of last resort for problems). It returns nil when the walk must
// not descend further.
func (d *decoder) visit(n *yaml.Node, path string) *yaml.Node {
	for hops := 0; n != nil && (n.Kind == yaml.AliasNode || n.Kind == yaml.DocumentNode); hops++ {
		if hops > MaxDepth {
			d.problem(n, path, "alias chain too long")
			return nil
		}
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) == 1 {
			n = n.Content[0]
		} else {
			return nil
		}
	}
	if n == nil || d.overflow {
		return nil
	}
	d.nodes++
	if d.nodes > MaxNodes {
		d.overflow = true
		d.problem(n, path, "document too complex: more than %d nodes (after expanding aliases)", MaxNodes)
		return nil
	}
	if _, seen := d.pos[path]; !seen {
		d.pos[path] = nodePos(n)
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		}
		return "a string"
	}
	return "an unsupported node"
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// mapping iterates the key/value pairs of a mapping node, reporting
// duplicate keys, merge keys and non-scalar keys. fn receives the key text,
// the key node and the (alias-resolved) value node.
func (d *decoder) mapping(n *yaml.Node, path string, fn func(key string, kn, vn *yaml.Node)) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.Kind == yaml.AliasNode {
			kn = kn.Alias
		}
		if kn == nil || kn.Kind != yaml.ScalarNode {
			d.problem(n.Content[i], path, "keys must be strings")
			continue
		}
		if kn.ShortTag() == "!!merge" {
			d.problem(kn, path, "merge keys (<<) are not supported")
			continue
		}
		key := kn.Value
		kp := joinKey(path, key)
		if seen[key] {
			d.problem(kn, kp, "duplicate key %q", key)
			continue
		}
		seen[key] = true
		vn = d.visit(vn, kp)
		if vn == nil {
			continue
		}
		fn(key, kn, vn)
	}
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func (d *decoder) document(n *yaml.Node) *Document {
	doc := &Document{}
	n = d.visit(n, "")
	if n == nil {
		return doc
	}
	if n.Kind != yaml.MappingNode {
		d.problem(n, "", "a dataflow document must be a mapping with name and blocks, got %s", kindName(n))
		return doc
	}
	d.mapping(n, "", func(key string, kn, vn *yaml.Node) {
		switch key {
		case "name":
			doc.Name = d.str(vn, key)
		case "description":
			doc.Description = d.str(vn, key)
		case "tags":
			doc.Tags = d.strList(vn, key)
		case "trigger":
			doc.Trigger = d.trigger(vn, key)
		case "blocks":
			doc.Blocks = d.blocks(vn, key)
		default:
			d.problem(kn, key, "unknown key %q (expected name, description, tags, trigger, blocks)", key)
		}
	})
	return doc
}

// str decodes a string scalar; null reads as "" so optional keys may be left
// empty in YAML.
func (d *decoder) str(n *yaml.Node, path string) string {
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.problem(n, path, "expected a string, got %s", kindName(n))
		return ""
	}
	return n.Value
}

func (d *decoder) strList(n *yaml.Node, path string) []string {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.problem(n, path, "expected a list of strings, got %s", kindName(n))
		return nil
	}
	var out []string
	for i, e := range n.Content {
		p := indexPath(path, i)
		if e = d.visit(e, p); e == nil {
			continue
		}
		out = append(out, d.str(e, p))
	}
	return out
}

func (d *decoder) boolean(n *yaml.Node, path string) bool {
	if isNull(n) {
		return false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		d.problem(n, path, "expected true or false, got %s", kindName(n))
		return false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		d.problem(n, path, "expected true or false: %v", err)
	}
	return b
}

func (d *decoder) number(n *yaml.Node, path string) float64 {
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
		switch v := scalarValue(n).(type) {
		case float64:
			return v
		case int64:
			return float64(v)
		}
	}
	d.problem(n, path, "expected a number, got %s", kindName(n))
	return 0
}

func (d *decoder) trigger(n *yaml.Node, path string) *Trigger {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.problem(n, path, "expected a mapping with cron or preset, got %s", kindName(n))
		return nil
	}
	t := &Trigger{}
	d.mapping(n, path, func(key string, kn, vn *yaml.Node) {
		kp := joinKey(path, key)
		switch key {
		case "cron":
			t.Cron = d.str(vn, kp)
		case "preset":
			t.Preset = d.str(vn, kp)
		case "timeZone":
			t.TimeZone = d.str(vn, kp)
		default:
			d.problem(kn, kp, "unknown key %q in trigger (expected cron, preset, timeZone)", key)
		}
	})
	return t
}

func (d *decoder) blocks(n *yaml.Node, path string) []Block {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.problem(n, path, "expected a list of blocks, got %s", kindName(n))
		return nil
	}
	if len(n.Content) > MaxBlocks {
		d.problem(n, path, "%d blocks, more than the limit of %d", len(n.Content), MaxBlocks)
		return nil
	}
	// An empty list decodes as nil, like a null or absent one, so that
	// every spelling of "no blocks" gives the same document.
	var out []Block
	for i, e := range n.Content {
		p := indexPath(path, i)
		if e = d.visit(e, p); e == nil {
			out = append(out, Block{})
			continue
		}
		out = append(out, d.block(e, p))
	}
	return out
}

func (d *decoder) block(n *yaml.Node, path string) Block {
	var b Block
	if n.Kind != yaml.MappingNode {
		d.problem(n, path, "expected a block (a mapping with type and name), got %s", kindName(n))
		return b
	}
	d.mapping(n, path, func(key string, kn, vn *yaml.Node) {
		kp := joinKey(path, key)
		switch key {
		case "type":
			b.Type = d.str(vn, kp)
		case "name":
			b.Name = d.str(vn, kp)
		case "config":
			b.Config = d.config(vn, kp)
		case "relations":
			b.Relations = d.relations(vn, kp)
		case "position":
			b.Position = d.point(vn, kp)
		case "disabled":
			b.Disabled = d.boolean(vn, kp)
		default:
			d.problem(kn, kp, "unknown key %q in block (expected type, name, config, relations, position, disabled)", key)
		}
	})
	return b
}

func (d *decoder) config(n *yaml.Node, path string) map[string]any {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.problem(n, path, "expected a mapping of config keys, got %s", kindName(n))
		return nil
	}
	v, _ := d.value(n, path, 0).(map[string]any)
	if len(v) == 0 {
		return nil
	}
	return v
}

// value decodes a free-form config value into its natural Go type: string,
// bool, int64, float64, nil, []any or map[string]any.
func (d *decoder) value(n *yaml.Node, path string, depth int) any {
	if depth > MaxDepth {
		d.problem(n, path, "nested deeper than %d levels", MaxDepth)
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		d.mapping(n, path, func(key string, _, vn *yaml.Node) {
			m[key] = d.value(vn, joinKey(path, key), depth+1)
		})
		return m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for i, e := range n.Content {
			p := indexPath(path, i)
			if e = d.visit(e, p); e == nil {
				continue
			}
			l = append(l, d.value(e, p, depth+1))
		}
		return l
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str", "!!null", "!!bool", "!!int", "!!float", "!!timestamp", "!!binary":
		default:
			d.problem(n, path, "unsupported YAML tag %s", n.Tag)
			return nil
		}
		v := scalarValue(n)
		if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
			d.problem(n, path, "numbers must be finite, got %s", n.Value)
			return nil
		}
		return v
	}
	d.problem(n, path, "unsupported value")
	return nil
}

// leadingZero matches integers written with a leading zero. YAML would read
// "0123" as octal 83; in config such values are codes (zip codes, store
// codes) whose text matters, so they stay strings.
var leadingZero = regexp.MustCompile(`^[-+]?0[0-9_]`)

// scalarValue converts a scalar to its natural type. Integral numbers become
// int64 (when exactly representable) so that 3 and 3.0 decode alike and a
// document round-trips through Marshal unchanged.
func scalarValue(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return n.Value
		}
		return b
	case "!!int", "!!float":
		if leadingZero.MatchString(n.Value) {
			return n.Value
		}
		clean := strings.ReplaceAll(n.Value, "_", "")
		if i, err := strconv.ParseInt(clean, 0, 64); err == nil {
			return normNumber(float64(i), &i)
		}
		switch strings.ToLower(strings.TrimLeft(clean, "+-")) {
		case ".inf":
			if strings.HasPrefix(clean, "-") {
				return math.Inf(-1)
			}
			return math.Inf(1)
		case ".nan":
			return math.NaN()
		}
		if f, err := strconv.ParseFloat(clean, 64); err == nil {
			return normNumber(f, nil)
		}
		return n.Value
	}
	return n.Value
}

const maxExactInt = 1 << 53

func normNumber(f float64, exact *int64) any {
	if exact != nil {
		if *exact > -maxExactInt && *exact < maxExactInt {
			return *exact
		}
		return float64(*exact)
	}
	if f == math.Trunc(f) && f > -maxExactInt && f < maxExactInt {
		return int64(f)
	}
	return f
}

func (d *decoder) relations(n *yaml.Node, path string) []Relation {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.problem(n, path, "expected a list of relations (block names or {to, on}), got %s", kindName(n))
		return nil
	}
	var out []Relation
	for i, e := range n.Content {
		p := indexPath(path, i)
		if e = d.visit(e, p); e == nil {
			continue
		}
		switch {
		case e.Kind == yaml.ScalarNode && e.ShortTag() == "!!str":
			// Short form: a block name, on success.
			d.pos[p+".to"] = nodePos(e)
			out = append(out, Relation{To: e.Value})
		case e.Kind == yaml.MappingNode:
			var r Relation
			d.mapping(e, p, func(key string, kn, vn *yaml.Node) {
				kp := joinKey(p, key)
				switch key {
				case "to":
					r.To = d.str(vn, kp)
				case "on":
					r.On = d.str(vn, kp)
				default:
					d.problem(kn, kp, "unknown key %q in relation (expected to, on)", key)
				}
			})
			out = append(out, r)
		default:
			d.problem(e, p, "expected a block name or {to, on}, got %s", kindName(e))
		}
	}
	return out
}

func (d *decoder) point(n *yaml.Node, path string) *Point {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.problem(n, path, "expected a mapping {x, y}, got %s", kindName(n))
		return nil
	}
	p := &Point{}
	d.mapping(n, path, func(key string, kn, vn *yaml.Node) {
		kp := joinKey(path, key)
		switch key {
		case "x":
			p.X = d.finite(vn, kp)
		case "y":
			p.Y = d.finite(vn, kp)
		default:
			d.problem(kn, kp, "unknown key %q in position (expected x, y)", key)
		}
	})
	return p
}

func (d *decoder) finite(n *yaml.Node, path string) float64 {
	f := d.number(n, path)
	if math.IsInf(f, 0) || math.IsNaN(f) {
		d.problem(n, path, "numbers must be finite, got %s", n.Value)
		return 0
	}
	return f
}
