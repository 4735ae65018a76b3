package dataflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/connectplus/connectplus/block"
	"gopkg.in/yaml.v3"
)

// Marshal encodes a document as "yaml" (or "yml") or "json". Output is
// deterministic: keys come in a fixed, human order (name, description, tags,
// trigger, blocks; in a block type, name, disabled, config with sorted keys,
// relations, position), so that stored versions diff cleanly. In YAML a
// success relation is written in the short form (just the target name) and
// multi-line strings (JSLT, templates) as literal blocks.
func Marshal(doc *Document, format string) ([]byte, error) {
	if doc == nil {
		return nil, fmt.Errorf("marshal: nil document")
	}
	switch strings.ToLower(format) {
	case "yaml", "yml":
		tree, err := orderedDocument(doc, true)
		if err != nil {
			return nil, err
		}
		n, err := yamlNode(tree)
		if err != nil {
			return nil, fmt.Errorf("marshal yaml: %w", err)
		}
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(n); err != nil {
			return nil, fmt.Errorf("marshal yaml: %w", err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("marshal yaml: %w", err)
		}
		return buf.Bytes(), nil
	case "json":
		tree, err := orderedDocument(doc, false)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := writeJSON(&buf, tree, 0); err != nil {
			return nil, fmt.Errorf("marshal json: %w", err)
		}
		buf.WriteByte('\n')
		return buf.Bytes(), nil
	}
	return nil, fmt.Errorf("marshal: unknown format %q (want yaml or json)", format)
}

// omap is an ordered mapping: the encoders keep its key order.
type omap []kv

type kv struct {
	k string
	v any
}

func orderedDocument(doc *Document, shortRelations bool) (omap, error) {
	m := omap{{"name", doc.Name}}
	if doc.Description != "" {
		m = append(m, kv{"description", doc.Description})
	}
	if len(doc.Tags) > 0 {
		tags := make([]any, len(doc.Tags))
		for i, t := range doc.Tags {
			tags[i] = t
		}
		m = append(m, kv{"tags", tags})
	}
	if t := doc.Trigger; t != nil {
		tm := omap{}
		if t.Cron != "" {
			tm = append(tm, kv{"cron", t.Cron})
		}
		if t.Preset != "" {
			tm = append(tm, kv{"preset", t.Preset})
		}
		if t.TimeZone != "" {
			tm = append(tm, kv{"timeZone", t.TimeZone})
		}
		m = append(m, kv{"trigger", tm})
	}
	blocks := make([]any, 0, len(doc.Blocks))
	for i := range doc.Blocks {
		b := &doc.Blocks[i]
		bm := omap{{"type", b.Type}, {"name", b.Name}}
		if b.Disabled {
			bm = append(bm, kv{"disabled", true})
		}
		if len(b.Config) > 0 {
			cfg, err := normalize(b.Config, 0)
			if err != nil {
				return nil, fmt.Errorf("marshal: blocks[%d].config: %w", i, err)
			}
			bm = append(bm, kv{"config", cfg})
		}
		if len(b.Relations) > 0 {
			rels := make([]any, len(b.Relations))
			for j, r := range b.Relations {
				if shortRelations && r.On == "" {
					rels[j] = r.To
					continue
				}
				rm := omap{{"to", r.To}}
				if r.On != "" {
					rm = append(rm, kv{"on", r.On})
				}
				rels[j] = rm
			}
			bm = append(bm, kv{"relations", rels})
		}
		if p := b.Position; p != nil {
			x, err := normalize(p.X, 0)
			if err != nil {
				return nil, fmt.Errorf("marshal: blocks[%d].position.x: %w", i, err)
			}
			y, err := normalize(p.Y, 0)
			if err != nil {
				return nil, fmt.Errorf("marshal: blocks[%d].position.y: %w", i, err)
			}
			bm = append(bm, kv{"position", omap{{"x", x}, {"y", y}}})
		}
		blocks = append(blocks, bm)
	}
	m = append(m, kv{"blocks", blocks})
	return m, nil
}

// normalize turns a config value of any reasonable Go type into the closed
// set the encoders handle: string, bool, int64, float64, nil, []any, omap
// (maps get sorted keys). Integral floats become int64, as Parse does.
func normalize(v any, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("value nested deeper than %d levels", MaxDepth)
	}
	switch x := v.(type) {
	case nil, string, bool, int64:
		return x, nil
	case int:
		return int64(x), nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, fmt.Errorf("non-finite number %v", x)
		}
		return normNumber(x, nil), nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return normNumber(float64(i), &i), nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("bad number %q: %w", x, err)
		}
		return normalize(f, depth)
	case block.Ref:
		return omap{{"$config", x.Name}}, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make(omap, 0, len(keys))
		for _, k := range keys {
			n, err := normalize(x[k], depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, kv{k, n})
		}
		return out, nil
	}
	// Programmatically built documents may hold other Go types (int32,
	// []string, map[string]string, structs); their JSON form is the value.
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("unsupported config value %T: %w", v, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, fmt.Errorf("unsupported config value %T: %w", v, err)
	}
	return normalize(generic, depth)
}

func yamlNode(v any) (*yaml.Node, error) {
	switch x := v.(type) {
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: x, Style: stringStyle(x)}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(x)}, nil
	case int64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(x, 10)}, nil
	case float64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: formatFloat(x)}, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, e := range x {
			c, err := yamlNode(e)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	case omap:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, e := range x {
			c, err := yamlNode(e.v)
			if err != nil {
				return nil, err
			}
			k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: e.k}
			if !plainSafe(e.k) {
				k.Style = yaml.DoubleQuotedStyle
			}
			n.Content = append(n.Content, k, c)
		}
		return n, nil
	}
	return nil, fmt.Errorf("unsupported value %T", v)
}

// stringStyle picks how a string is written. Multi-line text (JSLT,
// templates) reads best as a literal block, but block scalars cannot carry
// every string faithfully (leading blank lines or spaces, carriage returns,
// control characters), so anything unusual is double-quoted, which always
// round-trips.
func stringStyle(s string) yaml.Style {
	if !strings.Contains(s, "\n") {
		if plainSafe(s) {
			return 0
		}
		return yaml.DoubleQuotedStyle
	}
	if strings.HasPrefix(s, " ") || strings.HasPrefix(s, "\n") || strings.HasPrefix(s, "\t") {
		return yaml.DoubleQuotedStyle
	}
	for _, line := range strings.Split(s, "\n") {
		if !plainSafe(line) || strings.HasSuffix(line, " ") || strings.HasSuffix(line, "\t") {
			return yaml.DoubleQuotedStyle
		}
	}
	return yaml.LiteralStyle
}

// plainSafe reports whether s has only printable characters (and tabs), so
// that the YAML emitter's own quoting choice is safe for it.
func plainSafe(s string) bool {
	for _, r := range s {
		if r == '\t' {
			continue
		}
		if !unicode.IsPrint(r) || r == '\ufeff' {
			return false
		}
	}
	return true
}

// formatFloat writes a non-integral (or huge) float so that both YAML and
// JSON read it back as the same float.
func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

func writeJSON(buf *bytes.Buffer, v any, indent int) error {
	switch x := v.(type) {
	case nil:
		buf.WriteString("null")
	case string:
		buf.WriteString(jsonString(x))
	case bool:
		buf.WriteString(strconv.FormatBool(x))
	case int64:
		buf.WriteString(strconv.FormatInt(x, 10))
	case float64:
		buf.WriteString(formatFloat(x))
	case []any:
		if len(x) == 0 {
			buf.WriteString("[]")
			return nil
		}
		buf.WriteString("[\n")
		for i, e := range x {
			pad(buf, indent+1)
			if err := writeJSON(buf, e, indent+1); err != nil {
				return err
			}
			if i < len(x)-1 {
				buf.WriteByte(',')
			}
			buf.WriteByte('\n')
		}
		pad(buf, indent)
		buf.WriteByte(']')
	case omap:
		if len(x) == 0 {
			buf.WriteString("{}")
			return nil
		}
		buf.WriteString("{\n")
		for i, e := range x {
			pad(buf, indent+1)
			buf.WriteString(jsonString(e.k))
			buf.WriteString(": ")
			if err := writeJSON(buf, e.v, indent+1); err != nil {
				return err
			}
			if i < len(x)-1 {
				buf.WriteByte(',')
			}
			buf.WriteByte('\n')
		}
		pad(buf, indent)
		buf.WriteByte('}')
	default:
		return fmt.Errorf("unsupported value %T", v)
	}
	return nil
}

func pad(buf *bytes.Buffer, n int) {
	for range n {
		buf.WriteString("  ")
	}
}

// jsonString quotes s without HTML escaping: documents are read by people,
// and "<xml>" templates should stay legible.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // encoding a string cannot fail
	return strings.TrimSuffix(b.String(), "\n")
}
