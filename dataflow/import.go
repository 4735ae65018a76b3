package dataflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/connectplus/connectplus/block"
)

// ImportConnectPlus converts a dataflow exported from Connect+ into a
// Document. Connect+ has no published export format, so the shapes accepted
// are the ones the spec documents (§1.6, §3.6, §5.6):
//
//   - Neo rule version (Gen-2, the body of POST …/version/{vid}/update):
//     {"blocks": [...], "schedule": "<cron>", "tag": "…"}, each block
//     {"id"|"type", "name", "config": {...}, "relations": [{"name":
//     "rel_1", "expression": "isSuccess()", "status": [], "to": "<block>"}],
//     "position": {"x", "y"}, "variableConfigKeyMap": {"key": "configName"},
//     "source": bool}.
//   - DIY template response (Gen-1): {"name", "blocks": [{"name", "type",
//     "order", "fields": [{"name", "value", "defaultValue"}], "connections":
//     [{"relationship": "splits"|"failure", "destinationBlockName",
//     "terminated"}]}], "schedule": {"cron", "cronFrequencyInSeconds"}}.
//   - DIY template request: {"name", "blockList": [{"blockName",
//     "blockType", "blockOrder"}]}.
//
// Assumptions, where the spec is silent:
//   - A block's type is "type", else "blockType", else "id" (the catalogue
//     calls the type "id"); legacy Gen-1 types map to Gen-2 ones through
//     reg.Lookup (reg may be nil: types are then kept as they are).
//   - Config keys are kept exactly; a variableConfigKeyMap entry becomes an
//     Extension Configuration reference {"$config": name} and, as in Neo
//     ("dynamic beats static"), replaces a static value of the same key.
//   - Relation expressions isSuccess() and "splits" map to success,
//     isFailure()/!isSuccess() and "failure" to failure, isFiltered() to
//     filtered; a NiFi EL ${…} stays a condition; a terminated connection is
//     dropped (NiFi auto-termination). Any other expression is kept as the
//     relation name, reported, and left for validation to refuse.
//   - A document with several blocks and no relations at all is a DIY list:
//     blocks are chained in blockOrder/order (else document) order on success.
//   - "isEnabled"/"enabled" false on a block, or an "isEnabled" config key
//     the block type does not declare, marks the block disabled.
//   - Block names are made valid ([A-Za-z0-9_]+, unique) and relations follow
//     the renaming; each rename is reported.
//   - The document may be wrapped once or twice in "data", "rule",
//     "version", "ruleVersion" or "dataflow"; inner values win.
//
// The returned problems are what could not be carried over exactly; the
// document is returned whenever the JSON is readable (nil otherwise) and
// should still be validated with Validate.
func ImportConnectPlus(data []byte, reg *block.Registry) (*Document, []Problem) {
	if len(data) > MaxDocumentBytes {
		return nil, []Problem{{Message: fmt.Sprintf("export is %d bytes, larger than the %d-byte limit", len(data), MaxDocumentBytes)}}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		return nil, []Problem{{Message: fmt.Sprintf("read Connect+ export: %v", err)}}
	}
	im := &importer{reg: reg}
	doc := im.document(top)
	return doc, im.probs
}

type importer struct {
	reg   *block.Registry
	probs []Problem
}

func (im *importer) add(path, format string, a ...any) {
	im.probs = append(im.probs, Problem{Path: path, Message: fmt.Sprintf(format, a...)})
}

var wrapperKeys = []string{"data", "rule", "ruleVersion", "version", "dataflow"}

// layers returns the object and its wrapped inner objects, innermost first,
// so lookups prefer the inner (version) values over the outer (rule) ones.
func layers(top map[string]any) []map[string]any {
	out := []map[string]any{top}
	cur := top
	for depth := 0; depth < 3; depth++ {
		if _, ok := cur["blocks"]; ok {
			break
		}
		if _, ok := cur["blockList"]; ok {
			break
		}
		var next map[string]any
		for _, k := range wrapperKeys {
			if m, ok := cur[k].(map[string]any); ok {
				next = m
				break
			}
		}
		if next == nil {
			break
		}
		out = append([]map[string]any{next}, out...)
		cur = next
	}
	return out
}

func lookup(ls []map[string]any, keys ...string) (any, bool) {
	for _, l := range ls {
		for _, k := range keys {
			if v, ok := l[k]; ok && v != nil {
				return v, true
			}
		}
	}
	return nil, false
}

func (im *importer) document(top map[string]any) *Document {
	ls := layers(top)
	doc := &Document{}
	if v, ok := lookup(ls, "name", "ruleName", "dataflowName"); ok {
		doc.Name, _ = v.(string)
	}
	if doc.Name == "" {
		im.add("name", "the export has no dataflow name")
	}
	if v, ok := lookup(ls, "description"); ok {
		doc.Description, _ = v.(string)
	}
	doc.Tags = im.tags(ls)
	doc.Trigger = im.schedule(ls)

	raw, _ := lookup(ls, "blocks", "blockList")
	list, ok := raw.([]any)
	if !ok {
		im.add("blocks", "the export has no blocks list")
		return doc
	}
	if len(list) > MaxBlocks {
		im.add("blocks", "%d blocks, more than the limit of %d", len(list), MaxBlocks)
		return doc
	}
	blocks := make([]importedBlock, 0, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			im.add(indexPath("blocks", i), "expected a block object, got %T", e)
			continue
		}
		blocks = append(blocks, im.block(m, indexPath("blocks", len(blocks))))
	}
	if edges, ok := lookup(ls, "edges", "connections"); ok {
		im.topEdges(edges, blocks)
	}
	im.rename(blocks)
	im.chainIfUnconnected(blocks)
	taken := map[string]bool{}
	for _, b := range blocks {
		taken[b.Name] = true
	}
	for _, b := range blocks {
		if isGen1Transform(b.rawType, b.Config) {
			for _, nb := range im.expandGen1Transform(b, taken) {
				doc.Blocks = append(doc.Blocks, nb.Block)
			}
			continue
		}
		doc.Blocks = append(doc.Blocks, b.Block)
	}
	return doc
}

type importedBlock struct {
	Block
	original string
	rawType  string // the type as exported
	order    float64
	hasOrder bool
	path     string // where the block is in the imported document

}

func (im *importer) tags(ls []map[string]any) []string {
	var out []string
	for _, key := range []string{"tags", "tag"} {
		v, ok := lookup(ls, key)
		if !ok {
			continue
		}
		switch x := v.(type) {
		case string:
			if x != "" {
				out = append(out, x)
			}
		case []any:
			for _, t := range x {
				if s, ok := t.(string); ok && s != "" {
					out = append(out, s)
				}
			}
		}
	}
	// "tag" and "tags" may repeat each other.
	seen := map[string]bool{}
	uniq := out[:0]
	for _, t := range out {
		if !seen[t] {
			seen[t] = true
			uniq = append(uniq, t)
		}
	}
	if len(uniq) == 0 {
		return nil
	}
	return uniq
}

func (im *importer) schedule(ls []map[string]any) *Trigger {
	v, ok := lookup(ls, "schedule", "cron")
	if !ok {
		return nil
	}
	switch x := v.(type) {
	case string:
		if strings.TrimSpace(x) == "" {
			return nil
		}
		return &Trigger{Cron: strings.TrimSpace(x)}
	case map[string]any:
		if c, _ := x["cron"].(string); strings.TrimSpace(c) != "" {
			return &Trigger{Cron: strings.TrimSpace(c)}
		}
		if n, ok := x["cronFrequencyInSeconds"].(json.Number); ok {
			secs, err := n.Int64()
			if err == nil && secs%60 == 0 && secs/60 >= 1 && secs/60 <= 59 {
				return &Trigger{Preset: fmt.Sprintf("every %d minutes", secs/60)}
			}
			im.add("schedule", "schedule of every %s seconds cannot be expressed as a preset; set trigger.cron by hand", n)
			return nil
		}
	}
	im.add("schedule", "unrecognised schedule %v; set the trigger by hand", v)
	return nil
}

func str(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

func boolish(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		b, err := block.ParseBool(x)
		return b, err == nil
	}
	return false, false
}

// gen1Transforms are Gen-1 transform types that Connect+ expands into
// convert_csv_to_json + jslt_transform (see gen1transform.go).
var gen1Transforms = []string{"transform_to_", "transfrom_csv_to_rewards", "retro_template", "goodwill_points_issue", "barocde_generate"}

func (im *importer) block(m map[string]any, path string) importedBlock {
	b := importedBlock{path: path}
	b.original = str(m, "name", "blockName")
	b.Name = b.original
	typ := str(m, "type", "blockType", "id")
	b.Type, b.rawType = typ, typ
	var spec *block.Spec
	unknownType := ""
	if typ == "" {
		im.add(path+".type", "block %q has no type", b.original)
	} else if im.reg != nil {
		if s, ok := im.reg.Lookup(typ); ok {
			spec = s
			b.Type = s.Type
		} else {
			unknownType = fmt.Sprintf("unknown block type %q", typ)
			if s := im.reg.Suggest(typ); s != "" {
				unknownType += fmt.Sprintf(" (did you mean %q?)", s)
			}
		}
	}
	for _, k := range []string{"order", "blockOrder"} {
		if n, ok := m[k].(json.Number); ok {
			if f, err := n.Float64(); err == nil {
				b.order, b.hasOrder = f, true
			}
		}
	}
	cfg := map[string]any{}
	for _, k := range []string{"config", "properties"} {
		if c, ok := m[k].(map[string]any); ok {
			for key, v := range c {
				cfg[key] = natural(v)
			}
		}
	}
	if fields, ok := m["fields"].([]any); ok {
		for i, f := range fields {
			fm, ok := f.(map[string]any)
			if !ok {
				continue
			}
			key := str(fm, "name")
			if key == "" {
				im.add(fmt.Sprintf("%s.fields[%d]", path, i), "field without a name")
				continue
			}
			if v, ok := fm["value"]; ok && v != nil {
				cfg[key] = natural(v)
			}
		}
	}
	if vm, ok := m["variableConfigKeyMap"].(map[string]any); ok {
		for key, v := range vm {
			name, ok := v.(string)
			if !ok || name == "" {
				im.add(path+".config."+key, "variableConfigKeyMap entry is not a configuration name")
				continue
			}
			cfg[key] = map[string]any{"$config": name}
		}
	}
	for _, k := range []string{"isEnabled", "enabled"} {
		if v, ok := m[k]; ok {
			if en, ok := boolish(v); ok && !en {
				b.Disabled = true
			}
		}
	}
	if v, ok := cfg["isEnabled"]; ok && spec != nil {
		if _, declared := spec.Field("isEnabled"); !declared {
			if en, ok := boolish(v); ok {
				b.Disabled = !en
				delete(cfg, "isEnabled")
			}
		}
	}
	if len(cfg) > 0 {
		b.Config = cfg
	}
	// A Gen-1 Transform Data block is expanded into its Gen-2 chain later
	// (expandGen1Transform), so its type is not reported as unknown.
	if unknownType != "" && !isGen1Transform(typ, cfg) {
		im.add(path+".type", "%s", unknownType)
	}
	if p, ok := m["position"].(map[string]any); ok {
		x, xok := number(p["x"])
		y, yok := number(p["y"])
		if xok && yok {
			b.Position = &Point{X: x, Y: y}
		}
	}
	if rels, ok := m["relations"].([]any); ok {
		for i, r := range rels {
			im.relation(&b, r, fmt.Sprintf("%s.relations[%d]", path, i))
		}
	}
	if conns, ok := m["connections"].([]any); ok {
		for i, c := range conns {
			im.connection(&b, c, fmt.Sprintf("%s.connections[%d]", path, i))
		}
	}
	return b
}

func number(v any) (float64, bool) {
	if n, ok := v.(json.Number); ok {
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// natural converts decoded JSON into the document's value types, numbers
// becoming int64 or float64 as Parse produces them.
func natural(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return normNumber(float64(i), &i)
		}
		if f, err := x.Float64(); err == nil {
			return normNumber(f, nil)
		}
		return x.String()
	case []any:
		for i := range x {
			x[i] = natural(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = natural(x[k])
		}
		return x
	}
	return v
}

func relationFromExpression(expr string) (string, bool) {
	e := strings.ReplaceAll(strings.TrimSpace(expr), " ", "")
	switch e {
	case "", "isSuccess()", "success", "splits":
		return "", true
	case "isFailure()", "!isSuccess()", "isError()", "failure":
		return block.RelFailure, true
	case "isFiltered()", "filtered":
		return block.RelFiltered, true
	}
	if strings.HasPrefix(strings.TrimSpace(expr), "${") {
		return strings.TrimSpace(expr), true
	}
	return strings.TrimSpace(expr), false
}

func (im *importer) relation(b *importedBlock, r any, path string) {
	m, ok := r.(map[string]any)
	if !ok {
		if s, ok := r.(string); ok && s != "" {
			b.Relations = append(b.Relations, Relation{To: s})
			return
		}
		im.add(path, "expected a relation object")
		return
	}
	to := str(m, "to", "destinationBlockName", "target")
	if to == "" {
		im.add(path, "relation without a target")
		return
	}
	expr := str(m, "expression", "relationship", "on")
	on, ok := relationFromExpression(expr)
	if !ok {
		im.add(path, "relation expression %q has no Connect+ Go equivalent; rewrite it as success, failure or a ${...} condition", expr)
	}
	if st, ok := m["status"].([]any); ok && len(st) > 0 {
		im.add(path, "relation status filter %v is not supported and was dropped", st)
	}
	b.Relations = append(b.Relations, Relation{To: to, On: on})
}

func (im *importer) connection(b *importedBlock, c any, path string) {
	m, ok := c.(map[string]any)
	if !ok {
		im.add(path, "expected a connection object")
		return
	}
	if t, ok := boolish(m["terminated"]); ok && t {
		return
	}
	im.relation(b, m, path)
}

// topEdges reads a graph-level edge list [{from, to, relation}].
func (im *importer) topEdges(v any, blocks []importedBlock) {
	list, ok := v.([]any)
	if !ok {
		im.add("edges", "expected a list of edges")
		return
	}
	for i, e := range list {
		path := indexPath("edges", i)
		m, ok := e.(map[string]any)
		if !ok {
			im.add(path, "expected an edge object")
			continue
		}
		from := str(m, "from", "source", "sourceBlockName")
		k := -1
		for j := range blocks {
			if blocks[j].original == from {
				k = j
				break
			}
		}
		if k < 0 {
			im.add(path, "edge from unknown block %q", from)
			continue
		}
		if t, ok := boolish(m["terminated"]); ok && t {
			continue
		}
		if _, has := m["expression"]; !has {
			if rel := str(m, "relation"); rel != "" {
				m["expression"] = rel
			}
		}
		im.relation(&blocks[k], m, path)
	}
}

// rename makes block names valid and unique, and rewrites relation targets.
func (im *importer) rename(blocks []importedBlock) {
	used := map[string]bool{}
	newName := map[string]string{}
	for i := range blocks {
		b := &blocks[i]
		name := sanitizeName(b.original)
		if name == "" {
			name = "block_" + strconv.Itoa(i+1)
		}
		base := name
		for n := 2; used[name]; n++ {
			name = base + "_" + strconv.Itoa(n)
		}
		used[name] = true
		if name != b.original {
			if b.original == "" {
				im.add(b.path+".name", "block without a name, named %q", name)
			} else {
				im.add(b.path+".name", "block name %q renamed to %q (only letters, digits and _ are allowed, and names are unique)", b.original, name)
			}
		}
		if _, dup := newName[b.original]; !dup {
			newName[b.original] = name
		}
		b.Name = name
	}
	for i := range blocks {
		for k := range blocks[i].Relations {
			if n, ok := newName[blocks[i].Relations[k].To]; ok {
				blocks[i].Relations[k].To = n
			}
		}
	}
}

func sanitizeName(s string) string {
	var b strings.Builder
	lastUnderscore := false
	for _, r := range s {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			r = '_'
		}
		if r == '_' && lastUnderscore && !ok {
			continue
		}
		lastUnderscore = r == '_'
		b.WriteRune(r)
	}
	return strings.Trim(b.String(), "_")
}

// chainIfUnconnected links the blocks of a DIY block list in order.
func (im *importer) chainIfUnconnected(blocks []importedBlock) {
	if len(blocks) < 2 {
		return
	}
	for _, b := range blocks {
		if len(b.Relations) > 0 {
			return
		}
	}
	idx := make([]int, len(blocks))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ba, bb := blocks[idx[a]], blocks[idx[b]]
		if ba.hasOrder && bb.hasOrder {
			return ba.order < bb.order
		}
		return false
	})
	for k := 0; k+1 < len(idx); k++ {
		from := &blocks[idx[k]]
		from.Relations = append(from.Relations, Relation{To: blocks[idx[k+1]].Name})
	}
}
