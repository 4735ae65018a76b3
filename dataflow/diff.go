package dataflow

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/connectplus/connectplus/block"
)

// Changes is the difference between two versions of a dataflow, as shown to
// an approver. Values are display-ready: single-line strings quoted, numbers
// and booleans as JSON, Extension Configuration references as
// "$config:name", inline secret values masked.
type Changes struct {
	// Fields are document-level changes: name, description, trigger.cron,
	// trigger.preset, trigger.timeZone.
	Fields      []FieldChange `json:"fields,omitempty"`
	TagsAdded   []string      `json:"tagsAdded,omitempty"`
	TagsRemoved []string      `json:"tagsRemoved,omitempty"`
	Added       []BlockInfo   `json:"added,omitempty"`
	Removed     []BlockInfo   `json:"removed,omitempty"`
	// Renamed blocks kept their type and config under a new name.
	Renamed []Rename      `json:"renamed,omitempty"`
	Changed []BlockChange `json:"changed,omitempty"`
	// Moved lists blocks whose only change is their canvas position: layout
	// edits that do not change what the dataflow does.
	Moved []string `json:"moved,omitempty"`
}

// BlockInfo names a block.
type BlockInfo struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Rename is a block that changed only its name (and possibly its relations
// or position, reported in Changed under the new name).
type Rename struct {
	From string `json:"from"`
	To   string `json:"to"`
	Type string `json:"type"`
}

// BlockChange is a block present in both versions that changed.
type BlockChange struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Fields are changes of type, disabled and config.<key>.
	Fields           []FieldChange `json:"fields,omitempty"`
	RelationsAdded   []Relation    `json:"relationsAdded,omitempty"`
	RelationsRemoved []Relation    `json:"relationsRemoved,omitempty"`
	// Moved is set when the position changed along with other things.
	Moved bool `json:"moved,omitempty"`
}

// FieldChange is one value that changed. OldSet/NewSet are false when the
// key is absent on that side.
type FieldChange struct {
	Path   string `json:"path"`
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
	OldSet bool   `json:"oldSet"`
	NewSet bool   `json:"newSet"`
}

// Empty reports whether the versions are the same.
func (c Changes) Empty() bool {
	return len(c.Fields) == 0 && len(c.TagsAdded) == 0 && len(c.TagsRemoved) == 0 && len(c.Added) == 0 &&
		len(c.Removed) == 0 && len(c.Renamed) == 0 && len(c.Changed) == 0 && len(c.Moved) == 0
}

// LayoutOnly reports whether the only changes are block positions.
func (c Changes) LayoutOnly() bool {
	return len(c.Moved) > 0 && Changes{Moved: nil, Fields: c.Fields, TagsAdded: c.TagsAdded, TagsRemoved: c.TagsRemoved,
		Added: c.Added, Removed: c.Removed, Renamed: c.Renamed, Changed: c.Changed}.Empty()
}

// Diff compares two versions. Blocks are matched by name. Inline values of
// keys that look secret (password, secret, token, passphrase, private key)
// are masked; use DiffWith to mask by the block specs instead.
func Diff(a, b *Document) Changes { return DiffWith(a, b, nil) }

// DiffWith is Diff that also masks every field the registry marks Secret.
func DiffWith(a, b *Document, reg *block.Registry) Changes {
	if a == nil {
		a = &Document{}
	}
	if b == nil {
		b = &Document{}
	}
	var c Changes
	field := func(path, old, new string) {
		if old != new {
			c.Fields = append(c.Fields, FieldChange{Path: path, Old: display(old), New: display(new), OldSet: old != "", NewSet: new != ""})
		}
	}
	field("name", a.Name, b.Name)
	field("description", a.Description, b.Description)
	ta, tb := a.Trigger, b.Trigger
	if ta == nil {
		ta = &Trigger{}
	}
	if tb == nil {
		tb = &Trigger{}
	}
	field("trigger.cron", ta.Cron, tb.Cron)
	field("trigger.preset", ta.Preset, tb.Preset)
	field("trigger.timeZone", ta.TimeZone, tb.TimeZone)
	c.TagsAdded, c.TagsRemoved = setDiff(b.Tags, a.Tags), setDiff(a.Tags, b.Tags)

	byName := func(d *Document) map[string]*Block {
		m := make(map[string]*Block, len(d.Blocks))
		for i := range d.Blocks {
			m[d.Blocks[i].Name] = &d.Blocks[i]
		}
		return m
	}
	am, bm := byName(a), byName(b)
	var added, removed []*Block
	for i := range b.Blocks {
		if _, ok := am[b.Blocks[i].Name]; !ok {
			added = append(added, &b.Blocks[i])
		}
	}
	for i := range a.Blocks {
		if _, ok := bm[a.Blocks[i].Name]; !ok {
			removed = append(removed, &a.Blocks[i])
		}
	}
	// A removed and an added block with the same type and config are a
	// rename: showing it as such spares the approver re-reading the config.
	pairs := map[*Block]*Block{}
	for _, nb := range added {
		for k, ob := range removed {
			if ob != nil && ob.Type == nb.Type && len(ob.Config) > 0 && reflect.DeepEqual(ob.Config, nb.Config) {
				pairs[nb] = ob
				c.Renamed = append(c.Renamed, Rename{From: ob.Name, To: nb.Name, Type: nb.Type})
				removed[k] = nil
				break
			}
		}
	}
	for _, nb := range added {
		if _, renamed := pairs[nb]; !renamed {
			c.Added = append(c.Added, BlockInfo{Name: nb.Name, Type: nb.Type})
		}
	}
	for _, ob := range removed {
		if ob != nil {
			c.Removed = append(c.Removed, BlockInfo{Name: ob.Name, Type: ob.Type})
		}
	}
	for i := range b.Blocks {
		nb := &b.Blocks[i]
		ob, ok := am[nb.Name]
		if !ok {
			if ob, ok = pairs[nb]; !ok {
				continue
			}
		}
		bc, moved := diffBlock(ob, nb, reg)
		switch {
		case bc != nil:
			c.Changed = append(c.Changed, *bc)
		case moved:
			c.Moved = append(c.Moved, nb.Name)
		}
	}
	return c
}

func diffBlock(a, b *Block, reg *block.Registry) (*BlockChange, bool) {
	bc := &BlockChange{Name: b.Name, Type: b.Type}
	if a.Type != b.Type {
		bc.Fields = append(bc.Fields, FieldChange{Path: "type", Old: display(a.Type), New: display(b.Type), OldSet: true, NewSet: true})
	}
	if a.Disabled != b.Disabled {
		bc.Fields = append(bc.Fields, FieldChange{Path: "disabled", Old: strconv.FormatBool(a.Disabled), New: strconv.FormatBool(b.Disabled), OldSet: true, NewSet: true})
	}
	secret := func(key string) bool {
		if reg != nil {
			for _, t := range []string{b.Type, a.Type} {
				if s, ok := reg.Lookup(t); ok {
					if f, ok := s.Field(key); ok && f.Secret {
						return true
					}
				}
			}
		}
		return secretLooking(key)
	}
	keys := map[string]bool{}
	for k := range a.Config {
		keys[k] = true
	}
	for k := range b.Config {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		ov, oOK := a.Config[k]
		nv, nOK := b.Config[k]
		if oOK == nOK && reflect.DeepEqual(ov, nv) {
			continue
		}
		fc := FieldChange{Path: "config." + k, OldSet: oOK, NewSet: nOK}
		if oOK {
			fc.Old = displayValue(ov, secret(k))
		}
		if nOK {
			fc.New = displayValue(nv, secret(k))
		}
		if fc.Old == fc.New && fc.Old == maskedValue {
			fc.New = maskedValue + " (changed)"
		}
		bc.Fields = append(bc.Fields, fc)
	}
	bc.RelationsAdded = relDiff(b.Relations, a.Relations)
	bc.RelationsRemoved = relDiff(a.Relations, b.Relations)
	moved := !reflect.DeepEqual(a.Position, b.Position)
	if len(bc.Fields) == 0 && len(bc.RelationsAdded) == 0 && len(bc.RelationsRemoved) == 0 {
		return nil, moved
	}
	bc.Moved = moved
	return bc, moved
}

const maskedValue = "****"

var secretWords = []string{"password", "secret", "token", "passphrase", "private_key", "privatekey", "apikey", "api_key", "clientsecret"}

func secretLooking(key string) bool {
	k := strings.ToLower(key)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// display renders a document-level string for a change.
func display(s string) string {
	if s == "" || strings.Contains(s, "\n") {
		return s
	}
	return strconv.Quote(s)
}

// displayValue renders a config value: references by name only, inline
// secrets masked (an empty or "null" secret is shown, since it reveals
// nothing), strings quoted unless multi-line, other values as JSON.
func displayValue(v any, secret bool) string {
	if name, ok := RefName(v); ok {
		return "$config:" + name
	}
	if s, ok := v.(string); ok {
		if secret && s != "" && s != "null" {
			return maskedValue
		}
		if strings.Contains(s, "\n") {
			return s
		}
		return strconv.Quote(s)
	}
	if secret && v != nil {
		return maskedValue
	}
	n, err := normalize(v, 0)
	if err != nil {
		return fmt.Sprint(v)
	}
	var buf bytes.Buffer
	if err := writeCompactJSON(&buf, n); err != nil {
		return fmt.Sprint(v)
	}
	return buf.String()
}

func writeCompactJSON(buf *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case []any:
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeCompactJSON(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case omap:
		buf.WriteByte('{')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(jsonString(e.k))
			buf.WriteByte(':')
			if err := writeCompactJSON(buf, e.v); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	}
	return writeJSON(buf, v, 0)
}

// setDiff returns the elements of a not in b, in a's order.
func setDiff(a, b []string) []string {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if !in[s] {
			out = append(out, s)
		}
	}
	return out
}

func relDiff(a, b []Relation) []Relation {
	in := map[[2]string]bool{}
	for _, r := range b {
		in[[2]string{r.To, r.RelationOn()}] = true
	}
	var out []Relation
	for _, r := range a {
		if !in[[2]string{r.To, r.RelationOn()}] {
			out = append(out, r)
		}
	}
	return out
}

// String renders the changes for people, one change a line; multi-line
// values (JSLT, templates) are shown as a line diff.
func (c Changes) String() string {
	if c.Empty() {
		return "no changes\n"
	}
	var b strings.Builder
	for _, f := range c.Fields {
		writeField(&b, "", f)
	}
	for _, t := range c.TagsAdded {
		fmt.Fprintf(&b, "+ tag %q\n", t)
	}
	for _, t := range c.TagsRemoved {
		fmt.Fprintf(&b, "- tag %q\n", t)
	}
	for _, a := range c.Added {
		fmt.Fprintf(&b, "+ block %s (%s)\n", a.Name, a.Type)
	}
	for _, r := range c.Removed {
		fmt.Fprintf(&b, "- block %s (%s)\n", r.Name, r.Type)
	}
	for _, r := range c.Renamed {
		fmt.Fprintf(&b, "~ block %s renamed to %s (%s)\n", r.From, r.To, r.Type)
	}
	for _, ch := range c.Changed {
		moved := ""
		if ch.Moved {
			moved = ", moved"
		}
		fmt.Fprintf(&b, "~ block %s (%s)%s\n", ch.Name, ch.Type, moved)
		for _, f := range ch.Fields {
			writeField(&b, "    ", f)
		}
		for _, r := range ch.RelationsAdded {
			fmt.Fprintf(&b, "    + relation → %s (%s)\n", r.To, r.RelationOn())
		}
		for _, r := range ch.RelationsRemoved {
			fmt.Fprintf(&b, "    - relation → %s (%s)\n", r.To, r.RelationOn())
		}
	}
	if len(c.Moved) > 0 {
		fmt.Fprintf(&b, "moved (layout only): %s\n", strings.Join(c.Moved, ", "))
	}
	return b.String()
}

func writeField(b *strings.Builder, indent string, f FieldChange) {
	switch {
	case !f.OldSet:
		fmt.Fprintf(b, "%s+ %s: %s\n", indent, f.Path, oneLine(f.New))
	case !f.NewSet:
		fmt.Fprintf(b, "%s- %s: %s\n", indent, f.Path, oneLine(f.Old))
	case strings.Contains(f.Old, "\n") || strings.Contains(f.New, "\n"):
		fmt.Fprintf(b, "%s~ %s:\n", indent, f.Path)
		for _, l := range lineDiff(f.Old, f.New) {
			fmt.Fprintf(b, "%s    %s\n", indent, l)
		}
	default:
		fmt.Fprintf(b, "%s~ %s: %s → %s\n", indent, f.Path, f.Old, f.New)
	}
}

func oneLine(s string) string {
	if strings.Contains(s, "\n") {
		return fmt.Sprintf("(%d lines)", strings.Count(s, "\n")+1)
	}
	return s
}

// maxDiffLines bounds the quadratic line diff; longer texts are summarised.
const maxDiffLines = 2000

// lineDiff returns a minimal line diff of two texts ("- old", "+ new", and
// "@@ line N" before each run of changes), by longest common subsequence.
func lineDiff(a, b string) []string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(al) > maxDiffLines || len(bl) > maxDiffLines {
		return []string{fmt.Sprintf("(%d lines → %d lines)", len(al), len(bl))}
	}
	n, m := len(al), len(bl)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if al[i] == bl[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	inRun := false
	i, j := 0, 0
	mark := func() {
		if !inRun {
			out = append(out, fmt.Sprintf("@@ line %d", j+1))
			inRun = true
		}
	}
	for i < n || j < m {
		switch {
		case i < n && j < m && al[i] == bl[j]:
			inRun = false
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			mark()
			out = append(out, "- "+al[i])
			i++
		default:
			mark()
			out = append(out, "+ "+bl[j])
			j++
		}
	}
	return out
}
