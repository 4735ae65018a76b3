package dataflow

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/quartz"
)

// Document-level limits checked by Validate.
const (
	MaxTags           = 5
	MaxTagLength      = 64
	MaxDescription    = 2000
	MaxNameLength     = 128
	MaxBlockName      = 128
	MaxRelationsBlock = 64
)

var (
	// dataflowNameRE allows the names seen in Connect+ ("Add Transaction",
	// "DIYDEMONEO_TESTDOC", "sftp-to-s3 (daily)"): it must start with a letter
	// or digit, and contain no control characters or path separators.
	dataflowNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 _.\-()]*$`)
	// blockNameRE is Connect+'s rule: letters, digits and underscores.
	blockNameRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
)

// ValidateOptions plugs checks owned by other packages into validation.
type ValidateOptions struct {
	// CronCheck checks a trigger's cron expression (and the cron a preset
	// stands for). The runtime fills it with its scheduler's parser, which
	// also enforces the 5-minute minimum interval; nil uses quartz.CheckSyntax
	// (syntax only) — the same parser the scheduler uses.
	CronCheck func(expr string) error
	// Compiler is the compile step's compiler for config fields written in
	// an expression language and for relation conditions; nil is
	// exprs.NewStep with default options. The engine compiles with the same
	// kind of Step, so what validates also builds.
	Compiler block.Compiler
}

// Validate checks doc against the registry and returns every problem found.
func Validate(doc *Document, reg *block.Registry) []Problem {
	return ValidateWith(doc, reg, ValidateOptions{})
}

// ValidateWith is Validate with pluggable cron and expression checks. Each
// problem carries its path and, when the document was parsed, the position
// of that path (or of its nearest recorded ancestor).
func ValidateWith(doc *Document, reg *block.Registry, opts ValidateOptions) []Problem {
	if opts.CronCheck == nil {
		opts.CronCheck = quartz.CheckSyntax
	}
	if opts.Compiler == nil {
		opts.Compiler = exprs.NewStep(exprs.Options{})
	}
	if reg == nil {
		reg = block.NewRegistry()
	}
	v := &validator{doc: doc, reg: reg, opts: opts}
	if doc == nil {
		return []Problem{{Message: "no document"}}
	}
	v.header()
	v.blocks()
	v.graph()
	return v.probs
}

type validator struct {
	doc   *Document
	reg   *block.Registry
	opts  ValidateOptions
	probs []Problem
	specs []*block.Spec // by block index; nil when the type is unknown
	index map[string]int
}

func (v *validator) add(path, format string, a ...any) {
	v.addExpr(path, nil, format, a...)
}

// addExpr adds a problem located inside an expression at in (nil: not in
// one). Problems under blocks[i] name the block.
func (v *validator) addExpr(path string, in *block.TextPos, format string, a ...any) {
	p := Problem{Path: path, Message: fmt.Sprintf(format, a...)}
	if pos, ok := v.doc.nearestPosition(path); ok {
		p.Pos = &pos
	}
	if in != nil {
		p.ExprPos = &Position{Line: in.Line, Column: in.Column}
	}
	if i, ok := blockIndex(path); ok && i < len(v.doc.Blocks) {
		p.Block = v.doc.Blocks[i].Name
	}
	v.probs = append(v.probs, p)
}

// blockIndex returns i for a path under blocks[i].
func blockIndex(path string) (int, bool) {
	rest, ok := strings.CutPrefix(path, "blocks[")
	if !ok {
		return 0, false
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return 0, false
	}
	i, err := strconv.Atoi(rest[:end])
	return i, err == nil
}

// nearestPosition returns the position of path or of its closest ancestor
// that has one (a problem about a missing key points at its parent).
func (d *Document) nearestPosition(path string) (Position, bool) {
	for {
		if p, ok := d.positions[path]; ok {
			return p, true
		}
		if path == "" {
			return Position{}, false
		}
		path = parentPath(path)
	}
}

func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return ""
}

func (v *validator) header() {
	d := v.doc
	switch {
	case strings.TrimSpace(d.Name) == "":
		v.add("name", "a dataflow name is required")
	case utf8.RuneCountInString(d.Name) > MaxNameLength:
		v.add("name", "name is longer than %d characters", MaxNameLength)
	case !dataflowNameRE.MatchString(d.Name) || strings.TrimSpace(d.Name) != d.Name:
		v.add("name", "name %q may contain only letters, digits, spaces and _ . - ( ), and must start with a letter or digit", d.Name)
	}
	if n := utf8.RuneCountInString(d.Description); n > MaxDescription {
		v.add("description", "description is %d characters, longer than %d", n, MaxDescription)
	}
	if len(d.Tags) > MaxTags {
		v.add("tags", "%d tags, at most %d are allowed", len(d.Tags), MaxTags)
	}
	seen := map[string]bool{}
	for i, t := range d.Tags {
		p := indexPath("tags", i)
		switch {
		case strings.TrimSpace(t) == "":
			v.add(p, "empty tag")
		case utf8.RuneCountInString(t) > MaxTagLength:
			v.add(p, "tag is longer than %d characters", MaxTagLength)
		case seen[strings.ToLower(t)]:
			v.add(p, "duplicate tag %q", t)
		}
		seen[strings.ToLower(t)] = true
	}
	if t := d.Trigger; t != nil {
		switch {
		case t.Cron != "" && t.Preset != "":
			v.add("trigger", "give either cron or preset, not both")
		case t.Cron == "" && t.Preset == "":
			v.add("trigger", "a trigger needs cron or preset (leave the trigger out for a dataflow that runs only when asked)")
		case t.Cron != "":
			if err := v.opts.CronCheck(t.Cron); err != nil {
				v.add("trigger.cron", "invalid cron expression: %v", err)
			}
		default:
			cron, err := quartz.PresetCron(t.Preset)
			if err != nil {
				v.add("trigger.preset", "%v", err)
			} else if err := v.opts.CronCheck(cron); err != nil {
				v.add("trigger.preset", "preset %q (%s): %v", t.Preset, cron, err)
			}
		}
		if t.TimeZone != "" {
			if _, err := time.LoadLocation(t.TimeZone); err != nil || strings.EqualFold(t.TimeZone, "local") {
				v.add("trigger.timeZone", "unknown time zone %q (use an IANA name such as Asia/Kolkata)", t.TimeZone)
			}
		}
	}
}

func (v *validator) blocks() {
	d := v.doc
	v.specs = make([]*block.Spec, len(d.Blocks))
	v.index = map[string]int{}
	if len(d.Blocks) == 0 {
		v.add("blocks", "a dataflow needs at least one block, starting with a source block")
		return
	}
	if len(d.Blocks) > MaxBlocks {
		v.add("blocks", "%d blocks, more than the limit of %d", len(d.Blocks), MaxBlocks)
	}
	for i := range d.Blocks {
		b := &d.Blocks[i]
		bp := indexPath("blocks", i)
		switch {
		case b.Name == "":
			v.add(bp+".name", "block name is required")
		case !blockNameRE.MatchString(b.Name):
			v.add(bp+".name", "block name %q may contain only letters, digits and underscores", b.Name)
		case len(b.Name) > MaxBlockName:
			v.add(bp+".name", "block name is longer than %d characters", MaxBlockName)
		}
		if b.Name != "" {
			if j, dup := v.index[b.Name]; dup {
				v.add(bp+".name", "block name %q is already used by blocks[%d]", b.Name, j)
			} else {
				v.index[b.Name] = i
			}
		}
		if b.Type == "" {
			v.add(bp+".type", "block type is required")
			continue
		}
		spec, ok := v.reg.Lookup(b.Type)
		if !ok {
			msg := fmt.Sprintf("unknown block type %q", b.Type)
			if s := v.reg.Suggest(b.Type); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			v.add(bp+".type", "%s", msg)
			continue
		}
		v.specs[i] = spec
		_, probs := spec.CompileConfig(b.Config, nil, v.opts.Compiler)
		for _, p := range probs {
			path := bp + ".config"
			if p.Path != "" {
				path += "." + p.Path
			}
			v.addExpr(path, p.Expr, "%s", p.Message)
		}
	}
}

// effectiveOutput is the kind a block sends on a relation. Failure and
// filtered relations carry the unit the block received, unchanged (a failed
// CSV file stays a file); a disabled block passes its input through, so what
// it emits is what it accepts.
func effectiveOutput(s *block.Spec, disabled bool, on string) block.Kind {
	if s.Class == block.ClassSource {
		return s.Output
	}
	if disabled || on == block.RelFailure || on == block.RelFiltered {
		return s.Input
	}
	return s.Output
}

func kindWord(k block.Kind) string {
	switch k {
	case block.KindFile:
		return "files"
	case block.KindRecords:
		return "records"
	case block.KindNone:
		return "nothing"
	case block.KindAny:
		return "files or records"
	}
	return string(k)
}

func (v *validator) graph() {
	d := v.doc
	adj := make([][]edgeRef, len(d.Blocks))
	for i := range d.Blocks {
		b := &d.Blocks[i]
		bp := indexPath("blocks", i)
		if len(b.Relations) > MaxRelationsBlock {
			v.add(bp+".relations", "%d relations, at most %d per block", len(b.Relations), MaxRelationsBlock)
		}
		type key struct{ to, on string }
		seen := map[key]int{}
		for k, r := range b.Relations {
			rp := indexPath(bp+".relations", k)
			on := r.RelationOn()
			if r.To == "" {
				v.add(rp+".to", "relation target is required")
			}
			if prev, dup := seen[key{r.To, on}]; dup && r.To != "" {
				v.add(rp, "duplicate relation to %q on %s (same as relations[%d])", r.To, on, prev)
			} else {
				seen[key{r.To, on}] = k
			}
			if spec := v.specs[i]; spec != nil {
				v.checkRelationName(rp+".on", spec, on)
			}
			if r.To == "" {
				continue
			}
			j, ok := v.index[r.To]
			switch {
			case !ok:
				v.add(rp+".to", "relation to unknown block %q%s", r.To, v.suggestBlock(r.To))
				continue
			case j == i:
				v.add(rp+".to", "block %q has a relation to itself", r.To)
				continue
			}
			adj[i] = append(adj[i], edgeRef{to: j, rel: k})
			from, to := v.specs[i], v.specs[j]
			if from == nil || to == nil {
				continue
			}
			if to.Class == block.ClassSource {
				v.add(rp+".to", "blocks[%d] (%s) is a source block: it starts the flow and cannot receive units from blocks[%d] (%s)", j, to.Type, i, from.Type)
				continue
			}
			out := effectiveOutput(from, b.Disabled, on)
			if !to.Input.Accepts(out) {
				how := ""
				if b.Disabled && from.Output != out {
					how = " (it is disabled, so it passes its input through)"
				}
				v.add(rp+".to", "blocks[%d] (%s) takes %s but blocks[%d] (%s) emits %s%s: %s",
					j, to.Type, kindWord(to.Input), i, from.Type, kindWord(out), how, v.converterHint(out, to.Input))
			}
		}
	}
	v.cycles(adj)
	hasSource, allKnown := false, true
	for _, s := range v.specs {
		if s == nil {
			allKnown = false
			continue
		}
		if s.Class == block.ClassSource {
			hasSource = true
		}
	}
	if len(d.Blocks) > 0 && !hasSource && allKnown {
		v.add("blocks", "a dataflow needs a source block (one that finds its inputs, such as sftp_read or kafka_topic_read)")
	}
}

type edgeRef struct{ to, rel int }

func (v *validator) checkRelationName(path string, spec *block.Spec, on string) {
	switch on {
	case block.RelSuccess, block.RelFailure, block.RelFiltered:
		return
	}
	for _, r := range spec.Relations {
		if r == on {
			return
		}
	}
	if strings.Contains(on, "${") {
		if _, err := v.opts.Compiler.Compile(block.LangNiFiCondition, on); err != nil {
			var ee *block.ExprError
			var in *block.TextPos
			if errors.As(err, &ee) && ee.Pos.Line > 0 {
				in = &ee.Pos
			}
			v.addExpr(path, in, "invalid relation condition %q: %v", on, err)
		}
		return
	}
	names := append([]string{block.RelSuccess, block.RelFailure, block.RelFiltered}, spec.Relations...)
	v.add(path, "unknown relation %q for block type %s (want %s, or a ${...} condition)", on, spec.Type, strings.Join(names, ", "))
}

func (v *validator) suggestBlock(name string) string {
	best, bestD := "", 4
	names := make([]string, 0, len(v.index))
	for n := range v.index {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if d := block.EditDistance(strings.ToLower(name), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// converterHint names a registered block that turns from into a kind to
// accepts, preferring the canonical Connect+ converters.
func (v *validator) converterHint(from, to block.Kind) string {
	var found []string
	for _, s := range v.reg.Specs() {
		if s.Class == block.ClassExecutor && !s.Deprecated && s.Input == from && s.Output != from && to.Accepts(s.Output) {
			found = append(found, s.Type)
		}
	}
	for _, pref := range []string{"convert_csv_to_json", "json_to_csv_converter"} {
		for _, f := range found {
			if f == pref {
				return "add a " + f + " block between them"
			}
		}
	}
	if len(found) > 0 {
		return "add a " + found[0] + " block between them"
	}
	return "add a block converting " + kindWord(from) + " to " + kindWord(to) + " between them"
}

// cycles reports each cycle once, at the relation that closes it, with the
// cycle's path of block names.
func (v *validator) cycles(adj [][]edgeRef) {
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(adj))
	var stack []int
	var visit func(i int)
	visit = func(i int) {
		color[i] = grey
		stack = append(stack, i)
		for _, e := range adj[i] {
			switch color[e.to] {
			case white:
				visit(e.to)
			case grey:
				start := 0
				for k, n := range stack {
					if n == e.to {
						start = k
					}
				}
				names := make([]string, 0, len(stack)-start+1)
				for _, n := range stack[start:] {
					names = append(names, v.doc.Blocks[n].Name)
				}
				names = append(names, v.doc.Blocks[e.to].Name)
				v.add(indexPath(indexPath("blocks", i)+".relations", e.rel), "cycle: %s (dataflows are one-way)", strings.Join(names, " → "))
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = black
	}
	for i := range adj {
		if color[i] == white {
			visit(i)
		}
	}
}

// ConfigRef is one Extension Configuration reference in a document.
type ConfigRef struct {
	Block string `json:"block"` // block name
	Key   string `json:"key"`   // config key (the canonical key when the type is known)
	Name  string `json:"name"`  // Extension Configuration name
	Path  string `json:"path"`  // e.g. blocks[0].config.password
}

// References lists every Extension Configuration reference
// ({"$config": "name"}) in doc, in block order then key order, so the
// control plane can refuse a version that references a missing entry. reg
// may be nil; with it, alias keys are reported under their canonical key.
func References(doc *Document, reg *block.Registry) []ConfigRef {
	var out []ConfigRef
	if doc == nil {
		return nil
	}
	for i := range doc.Blocks {
		b := &doc.Blocks[i]
		var spec *block.Spec
		if reg != nil {
			spec, _ = reg.Lookup(b.Type)
		}
		keys := make([]string, 0, len(b.Config))
		for k := range b.Config {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			name, ok := RefName(b.Config[k])
			if !ok {
				continue
			}
			key := k
			if spec != nil {
				if f, ok := spec.Field(k); ok {
					key = f.Key
				}
			}
			out = append(out, ConfigRef{Block: b.Name, Key: key, Name: name, Path: "blocks[" + strconv.Itoa(i) + "].config." + k})
		}
	}
	return out
}

// RefName reports whether a config value is an Extension Configuration
// reference and returns the configuration's name.
func RefName(v any) (string, bool) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			if n, ok := x["$config"]; ok {
				s, _ := n.(string)
				return s, true
			}
		}
	case block.Ref:
		return x.Name, true
	}
	return "", false
}
