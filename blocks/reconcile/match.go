package reconcile

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/connectplus/connectplus/runstate"
)

// candidate is one destination entity that shares a row's lookup value.
type candidate struct {
	ID    string
	Attrs map[string]string // sandbox attributes; ledger: Capillary field → value
	Body  any               // decoded JSON body, nil for the ledger
}

// value reads path from the candidate: "@name" is an attribute, else a dot
// path into the body with "[n]" indexes and "[type=x]" element filters.
// ok is false when the destination does not carry the field at all.
func (c *candidate) value(path string) (string, bool) {
	if name, ok := strings.CutPrefix(path, "@"); ok {
		v, ok := c.Attrs[name]
		return v, ok
	}
	if c.Body == nil {
		v, ok := c.Attrs[path]
		return v, ok
	}
	v, ok := walk(c.Body, path)
	if !ok || v == nil {
		return "", false
	}
	return scalar(v), true
}

// walk follows a dot path with [n] and [k=v] selectors.
func walk(v any, path string) (any, bool) {
	for _, part := range strings.Split(path, ".") {
		name, sel, hasSel := strings.Cut(part, "[")
		if name != "" {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[name]; !ok {
				return nil, false
			}
		}
		if hasSel {
			sel = strings.TrimSuffix(sel, "]")
			arr, ok := v.([]any)
			if !ok {
				return nil, false
			}
			if k, want, isFilter := strings.Cut(sel, "="); isFilter {
				found := false
				for _, el := range arr {
					if m, ok := el.(map[string]any); ok && scalar(m[k]) == want {
						v, found = el, true
						break
					}
				}
				if !found {
					return nil, false
				}
			} else {
				i, err := strconv.Atoi(sel)
				if err != nil || i < 0 || i >= len(arr) {
					return nil, false
				}
				v = arr[i]
			}
		}
	}
	return v, true
}

func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// lines returns a transaction's line items (nil when it carries none).
func (c *candidate) lines() []map[string]any {
	if c.Body == nil {
		return nil
	}
	for _, p := range lineItemPaths {
		v, ok := walk(c.Body, strings.TrimSuffix(p, "[]"))
		if !ok {
			continue
		}
		arr, _ := v.([]any)
		out := make([]map[string]any, 0, len(arr))
		for _, el := range arr {
			if m, ok := el.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// fieldValue reads a mapped field from a candidate (or one of its line
// items, for line-level fields). Dates keep their date part.
func fieldValue(c *candidate, line map[string]any, f *capField) (string, bool) {
	if f.Line {
		if line == nil {
			if c.Body == nil { // ledger: flat columns
				v, ok := c.Attrs[f.Name]
				return v, ok
			}
			return "", false
		}
		for _, p := range f.Paths {
			if v, ok := line[p]; ok && v != nil {
				return scalar(v), true
			}
		}
		return "", false
	}
	if c.Body == nil && c.Attrs != nil {
		if v, ok := c.Attrs[f.Name]; ok {
			return v, true
		}
	}
	for _, p := range f.Paths {
		if v, ok := c.value(p); ok {
			if f.Kind == kindDate {
				v = datePart(v)
			}
			return v, true
		}
	}
	return "", false
}

// datePart keeps yyyy-MM-dd of an ISO date-time ("2025-01-15T10:00:00Z",
// "2025-01-15 10:00:00"): the date a bill was made on, as written.
func datePart(v string) string {
	if len(v) >= 10 && v[4] == '-' && v[7] == '-' {
		return v[:10]
	}
	return v
}

// equal compares a source value with a destination value by kind.
func equal(k kind, src, dst string) bool {
	src, dst = strings.TrimSpace(src), strings.TrimSpace(dst)
	if k == kindNumber {
		a, errA := strconv.ParseFloat(src, 64)
		b, errB := strconv.ParseFloat(dst, 64)
		if errA == nil && errB == nil {
			return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(a))
		}
	}
	return src == dst
}

// FieldDiff is one field-level difference between a row and the entity
// found for it.
type FieldDiff = runstate.ReconField

// verdict is the comparison of one row with its candidates.
type verdict struct {
	Status   byte // '1' exists, '0' missing, 0 not compared
	EntityID string
	Matches  int // entities matching the identity (more than 1: duplicates at the destination)
	Diffs    []FieldDiff
	Reason   string // why a row was not compared
}

// judge decides a row: the candidates matching every mapped identity field
// it has a value for (a field the destination does not carry cannot
// discriminate and is skipped, and noted in unverified), then the compared
// fields of the first match.
func judge(m *Mapping, vals []string, cands []candidate, unverified map[string]bool) verdict {
	type hit struct {
		c    *candidate
		line map[string]any
	}
	var hits []hit
	lineLevel := m.hasLineIdentity()
	for i := range cands {
		c := &cands[i]
		if m.Entity.TxnType != "" {
			if t, ok := c.value("type"); ok && t != "" && !strings.EqualFold(t, m.Entity.TxnType) {
				continue
			}
			if t, ok := c.value("@type"); ok && t != "" && !strings.EqualFold(t, m.Entity.TxnType) {
				continue
			}
		}
		if !headerMatch(m, vals, c, unverified) {
			continue
		}
		if !lineLevel {
			hits = append(hits, hit{c: c})
			continue
		}
		lines := c.lines()
		if lines == nil && c.Body == nil {
			if lineMatch(m, vals, c, nil, unverified) {
				hits = append(hits, hit{c: c})
			}
			continue
		}
		for _, l := range lines {
			if lineMatch(m, vals, c, l, unverified) {
				hits = append(hits, hit{c: c, line: l})
			}
		}
	}
	if len(hits) == 0 {
		return verdict{Status: '0'}
	}
	v := verdict{Status: '1', EntityID: hits[0].c.ID, Matches: len(hits)}
	for i, f := range m.Fields {
		if f.Role != roleCompare {
			continue
		}
		if f.Line && !lineLevel {
			continue
		}
		src := vals[i]
		dst, ok := fieldValue(hits[0].c, hits[0].line, &f.capField)
		if !ok {
			unverified[f.Name] = true
			continue
		}
		if !equal(f.Kind, src, dst) {
			v.Diffs = append(v.Diffs, FieldDiff{Field: f.Name, Column: f.Column, Source: src, Destination: dst})
		}
	}
	return v
}

func headerMatch(m *Mapping, vals []string, c *candidate, unverified map[string]bool) bool {
	if m.Entity.Name == EntityTestControl {
		return true // matched by the lookup value itself
	}
	for i, f := range m.Fields {
		if f.Role != roleIdentity || f.Line {
			continue
		}
		src := vals[i]
		if src == "" {
			continue
		}
		dst, ok := fieldValue(c, nil, &f.capField)
		if !ok {
			unverified[f.Name] = true
			continue
		}
		if !equal(f.Kind, src, dst) {
			return false
		}
	}
	return true
}

func lineMatch(m *Mapping, vals []string, c *candidate, line map[string]any, unverified map[string]bool) bool {
	for i, f := range m.Fields {
		if f.Role != roleIdentity || !f.Line {
			continue
		}
		dst, ok := fieldValue(c, line, &f.capField)
		if !ok {
			unverified[f.Name] = true
			continue
		}
		if !equal(f.Kind, vals[i], dst) {
			return false
		}
	}
	return true
}
