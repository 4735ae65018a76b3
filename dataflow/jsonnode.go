package dataflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// parseJSONNode reads JSON into the same yaml.Node tree the YAML parser
// produces, with line:column positions, so that one decoder (and one set of
// problem messages) serves both formats. encoding/json alone would lose
// positions and silently merge duplicate keys.
func parseJSONNode(data []byte) (*yaml.Node, error) {
	b := &jsonBuilder{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	b.dec.UseNumber()
	b.lineStarts = []int{0}
	for i, c := range data {
		if c == '\n' {
			b.lineStarts = append(b.lineStarts, i+1)
		}
	}
	n, err := b.value(0)
	if err != nil {
		return nil, err
	}
	off := b.skip(int(b.dec.InputOffset()))
	if _, err := b.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &SyntaxError{Format: "JSON", Pos: b.position(off), Msg: "unexpected data after the top-level value"}
	}
	return n, nil
}

type jsonBuilder struct {
	data       []byte
	dec        *json.Decoder
	lineStarts []int
	nodes      int
}

// skip moves past the whitespace and separators the decoder consumes before
// the next token, so that a token's position is where its text starts.
func (b *jsonBuilder) skip(off int) int {
	for off < len(b.data) {
		switch b.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

func (b *jsonBuilder) position(off int) Position {
	line := sort.Search(len(b.lineStarts), func(i int) bool { return b.lineStarts[i] > off }) - 1
	if line < 0 {
		line = 0
	}
	start := b.lineStarts[line]
	if off > len(b.data) {
		off = len(b.data)
	}
	return Position{Line: line + 1, Column: utf8.RuneCount(b.data[start:off]) + 1}
}

func (b *jsonBuilder) syntaxError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &SyntaxError{Format: "JSON", Pos: b.position(int(se.Offset)), Msg: se.Error()}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &SyntaxError{Format: "JSON", Pos: b.position(len(b.data)), Msg: "unexpected end of input"}
	}
	return &SyntaxError{Format: "JSON", Msg: err.Error()}
}

func (b *jsonBuilder) value(depth int) (*yaml.Node, error) {
	off := b.skip(int(b.dec.InputOffset()))
	if depth > MaxDepth+8 {
		return nil, &SyntaxError{Format: "JSON", Pos: b.position(off), Msg: "nested too deeply"}
	}
	b.nodes++
	if b.nodes > MaxNodes {
		return nil, &SyntaxError{Format: "JSON", Pos: b.position(off), Msg: "document too complex"}
	}
	tok, err := b.dec.Token()
	if err != nil {
		return nil, b.syntaxError(err)
	}
	pos := b.position(off)
	n := &yaml.Node{Line: pos.Line, Column: pos.Column}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n.Kind, n.Tag = yaml.MappingNode, "!!map"
			for b.dec.More() {
				koff := b.skip(int(b.dec.InputOffset()))
				kt, err := b.dec.Token()
				if err != nil {
					return nil, b.syntaxError(err)
				}
				key, ok := kt.(string)
				if !ok {
					return nil, &SyntaxError{Format: "JSON", Pos: b.position(koff), Msg: "object keys must be strings"}
				}
				kp := b.position(koff)
				kn := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Style: yaml.DoubleQuotedStyle, Line: kp.Line, Column: kp.Column}
				vn, err := b.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, kn, vn)
			}
		case '[':
			n.Kind, n.Tag = yaml.SequenceNode, "!!seq"
			for b.dec.More() {
				vn, err := b.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, vn)
			}
		default:
			return nil, &SyntaxError{Format: "JSON", Pos: pos, Msg: "unexpected " + string(t)}
		}
		if _, err := b.dec.Token(); err != nil { // the closing delimiter
			return nil, b.syntaxError(err)
		}
	case string:
		n.Kind, n.Tag, n.Value, n.Style = yaml.ScalarNode, "!!str", t, yaml.DoubleQuotedStyle
	case json.Number:
		n.Kind, n.Value = yaml.ScalarNode, string(t)
		n.Tag = "!!int"
		if strings.ContainsAny(string(t), ".eE") {
			n.Tag = "!!float"
		}
	case bool:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!bool", "false"
		if t {
			n.Value = "true"
		}
	case nil:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!null", "null"
	}
	return n, nil
}
