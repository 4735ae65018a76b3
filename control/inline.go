package control

import (
	"fmt"
	"maps"
	"slices"

	"github.com/connectplus/connectplus/dataflow"
)

// inlineSecrets lists every field the block spec marks secret that holds a
// value instead of an Extension Configuration reference. Such a value would
// be stored in clear in the versions table and shown to every viewer, so
// saving one is refused (issue 14.5). The messages never quote the value.
func (s *Service) inlineSecrets(doc *dataflow.Document) []dataflow.Problem {
	var out []dataflow.Problem
	for i, b := range doc.Blocks {
		spec, ok := s.reg.Lookup(b.Type)
		if !ok {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(b.Config)) {
			fld, found := spec.Field(k)
			if !found || !fld.Secret || !isInlineValue(b.Config[k]) {
				continue
			}
			out = append(out, dataflow.Problem{Path: fmt.Sprintf("blocks[%d].config.%s", i, k),
				Message: fmt.Sprintf("%s is a secret field: its value cannot be written in the document; store it as a secret Extension Configuration and reference it as {$config: name}", k)})
		}
	}
	return out
}

// isInlineValue: anything but a reference or "not set" (nil, "", "null").
func isInlineValue(v any) bool {
	if _, isRef := dataflow.RefName(v); isRef {
		return false
	}
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != "" && x != "null"
	}
	return true
}

// refuseInlineSecrets fails a save whose document holds an inline secret.
func (s *Service) refuseInlineSecrets(doc *dataflow.Document) error {
	if probs := s.inlineSecrets(doc); len(probs) > 0 {
		return &ValidationError{Message: "secret fields must reference an Extension Configuration", Problems: probs}
	}
	return nil
}

// maskStoredSecrets masks inline secrets of a document saved before they
// were refused, so no read shows them. Documents without any come back
// unchanged, byte for byte.
func (s *Service) maskStoredSecrets(text string) (string, error) {
	doc, _, err := s.DecodeDocument([]byte(text), FormatYAML)
	if err != nil || len(s.inlineSecrets(doc)) == 0 {
		// Saving refuses documents that do not parse, so one that does not
		// parse now predates a format change and cannot be inspected.
		return text, nil
	}
	s.maskInlineSecrets(doc)
	out, err := dataflow.Marshal(doc, FormatYAML)
	if err != nil {
		return "", fmt.Errorf("mask inline secrets: %w", err)
	}
	return string(out), nil
}
