// Package block is the contract between the engine and every block type
// (the implementations live in blocks/<family>); every block package, the
// engine, dataflow validation and the commands import it, and it imports
// only jsonv and fsroot.
//
// One Spec per block type drives everything about it: config parsing,
// defaults and validation, the JSON Schema of dataflow documents, the
// `connectplus blocks` docs and (later) the UI's forms. There is no second
// list of fields anywhere.
package block

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Class is the Neo block class.
type Class string

const (
	// ClassSource blocks start a flow (they find inputs).
	ClassSource Class = "source"
	// ClassExecutor blocks process or deliver units.
	ClassExecutor Class = "executor"
)

// Kind says what a block accepts or emits.
type Kind string

const (
	KindNone    Kind = "none"    // sources accept nothing
	KindFile    Kind = "file"    // a byte stream (a file)
	KindRecords Kind = "records" // a batch of records
	KindAny     Kind = "any"     // either
)

// Accepts reports whether a block accepting k can take units of kind from.
func (k Kind) Accepts(from Kind) bool {
	switch {
	case k == KindAny || from == KindAny:
		return k != KindNone && from != KindNone
	default:
		return k == from
	}
}

// FieldType is the type of a config field's value.
type FieldType string

const (
	TypeString FieldType = "string"
	TypeText   FieldType = "text" // multi-line text or code (JSLT, templates)
	TypeInt    FieldType = "integer"
	TypeNumber FieldType = "number"
	TypeBool   FieldType = "boolean"
	TypeEnum   FieldType = "enum"
	TypeRegex  FieldType = "regex" // a Java-style regular expression
	TypeJSON   FieldType = "json"  // a JSON document (object/array), kept as text
	TypeList   FieldType = "list"  // comma-separated values
	TypeCron   FieldType = "cron"  // a Quartz cron expression
)

// Field describes one config key of a block.
type Field struct {
	Key         string    `json:"key"`
	Label       string    `json:"label"`
	Type        FieldType `json:"type"`
	Description string    `json:"description,omitempty"`
	Required    bool      `json:"required,omitempty"`
	// Default is the value used when the key is absent. Booleans are "true"/"false",
	// as Connect+ stores them.
	Default             string   `json:"default,omitempty"`
	Enum                []string `json:"enum,omitempty"`
	Advanced            bool     `json:"advanced,omitempty"`
	Secret              bool     `json:"secret,omitempty"`
	SupportsExpressions bool     `json:"supportsExpressions,omitempty"`
	// Lang is the language the value is written in, compiled by the compile
	// step (CompileConfig); empty with SupportsExpressions means LangNiFi.
	Lang Lang `json:"lang,omitempty"`
	// Normalize, when set, rewrites the value before it is compiled, the
	// way the block reads it (FixDocNameTemplate for file names).
	Normalize   func(string) string `json:"-"`
	FromConfigs bool                `json:"fromConfigs,omitempty"`
	Min         *float64            `json:"min,omitempty"`
	Max         *float64            `json:"max,omitempty"`
	Example     string              `json:"example,omitempty"`
	// Aliases are other keys accepted on input (legacy spellings); the value
	// is stored under Key.
	Aliases []string `json:"aliases,omitempty"`
}

// Bound returns a pointer to f, for Field.Min and Field.Max literals.
func Bound(f float64) *float64 { return &f }

// Spec is everything the product knows about one block type.
type Spec struct {
	Type        string   `json:"type"`
	Label       string   `json:"label"`
	Class       Class    `json:"class"`
	Category    string   `json:"category"`
	Description string   `json:"description"`
	Deprecated  bool     `json:"deprecated,omitempty"`
	LegacyTypes []string `json:"legacyTypes,omitempty"`
	Input       Kind     `json:"input"`
	Output      Kind     `json:"output"`
	Fields      []Field  `json:"fields"`
	// Relations lists named relations this block emits besides success and failure.
	Relations []string `json:"relations,omitempty"`
	// Concurrency is how many units of one deployment the block may process at
	// once (default 1). The engine keeps outputs in input order regardless.
	Concurrency int `json:"-"`
	// Check adds cross-field validation (e.g. password and key are exclusive).
	Check func(c *Config) []Problem `json:"-"`
	// LocalPaths lists the values of c that name files or directories on the
	// local disk, so the server checks them against the organisation's
	// files root at validation (New checks the resolved values again).
	LocalPaths func(c *Config) []LocalPath `json:"-"`
	// New builds a block instance from a validated config.
	New func(c *Config, env *Env) (Block, error) `json:"-"`
}

// LocalPath is a configured value naming a local file or directory.
type LocalPath struct {
	Key  string // the config key
	Path string // the value as configured
}

// Field returns the field with key k.
func (s *Spec) Field(k string) (*Field, bool) {
	for i := range s.Fields {
		if s.Fields[i].Key == k {
			return &s.Fields[i], true
		}
		for _, a := range s.Fields[i].Aliases {
			if a == k {
				return &s.Fields[i], true
			}
		}
	}
	return nil, false
}

// Problem is one validation finding, located by a path relative to the
// block's config (e.g. "fileRegex"); dataflow validation prefixes it.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	// Expr locates the problem inside the field's expression.
	Expr *TextPos `json:"exprPosition,omitempty"`
}

func (p Problem) Error() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Ref is a reference to an Extension Configuration entry. In documents it is
// written {"$config": "name"}; secrets may only be given this way.
type Ref struct {
	Name string
}

// Resolver turns Extension Configuration references into values.
type Resolver interface {
	Resolve(name string) (string, error)
}

// ParseConfig applies defaults, resolves references with r (nil leaves them
// unresolved and only checks their shape) and validates raw against the spec.
// It returns every problem found, never stopping at the first.
func (s *Spec) ParseConfig(raw map[string]any, r Resolver) (*Config, []Problem) {
	c := &Config{spec: s, values: map[string]string{}, refs: map[string]string{}}
	var probs []Problem
	seen := map[string]bool{}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
		f, ok := s.Field(k)
		if !ok {
			probs = append(probs, Problem{Path: k, Message: fmt.Sprintf("unknown field %q for block type %s%s", k, s.Type, suggest(k, s))})
			continue
		}
		if seen[f.Key] {
			probs = append(probs, Problem{Path: k, Message: fmt.Sprintf("field %q given twice (also as an alias)", f.Key)})
			continue
		}
		seen[f.Key] = true
		if name, isRef := refName(v); isRef {
			if !f.FromConfigs && !f.Secret {
				probs = append(probs, Problem{Path: k, Message: fmt.Sprintf("field %q does not take Extension Configuration references", f.Key)})
				continue
			}
			if name == "" || !configNameRE.MatchString(name) {
				probs = append(probs, Problem{Path: k, Message: fmt.Sprintf("invalid Extension Configuration name %q", name)})
				continue
			}
			c.refs[f.Key] = name
			if r != nil {
				val, err := r.Resolve(name)
				if err != nil {
					probs = append(probs, Problem{Path: k, Message: fmt.Sprintf("Extension Configuration %q: %v", name, err)})
					continue
				}
				c.values[f.Key] = val
			}
			continue
		}
		str, err := scalarString(v, f.Type)
		if err != nil {
			probs = append(probs, Problem{Path: k, Message: err.Error()})
			continue
		}
		if f.Secret && str != "" && str != "null" {
			probs = append(probs, Problem{Path: k, Message: fmt.Sprintf("secret field %q must reference an Extension Configuration ({\"$config\": \"name\"}), never an inline value", f.Key)})
			continue
		}
		c.values[f.Key] = str
	}
	for i := range s.Fields {
		f := &s.Fields[i]
		_, has := c.values[f.Key]
		_, hasRef := c.refs[f.Key]
		if !has && !hasRef {
			if f.Default != "" {
				c.values[f.Key] = f.Default
				continue
			}
			if f.Required {
				probs = append(probs, Problem{Path: f.Key, Message: fmt.Sprintf("missing required field %q (%s)", f.Key, f.Label)})
			}
			continue
		}
		if hasRef && !has {
			continue // unresolved reference: shape checked above
		}
		probs = append(probs, checkValue(f, c.values[f.Key])...)
	}
	if s.Check != nil && len(probs) == 0 {
		probs = append(probs, s.Check(c)...)
	}
	return c, probs
}

var configNameRE = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,128}$`)

func refName(v any) (string, bool) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			if n, ok := x["$config"]; ok {
				s, _ := n.(string)
				return s, true
			}
		}
	case Ref:
		return x.Name, true
	}
	return "", false
}

func scalarString(v any, t FieldType) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case []any:
		if t == TypeList {
			parts := make([]string, 0, len(x))
			for _, e := range x {
				s, err := scalarString(e, TypeString)
				if err != nil {
					return "", err
				}
				parts = append(parts, s)
			}
			return strings.Join(parts, ","), nil
		}
		if t == TypeJSON {
			return marshalJSON(x)
		}
	case map[string]any:
		if t == TypeJSON {
			return marshalJSON(x)
		}
	}
	return "", fmt.Errorf("expected a %s value, got %s", t, describe(v))
}

func describe(v any) string {
	switch v.(type) {
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func checkValue(f *Field, v string) []Problem {
	bad := func(format string, a ...any) []Problem {
		return []Problem{{Path: f.Key, Message: fmt.Sprintf(format, a...)}}
	}
	if f.Required && strings.TrimSpace(v) == "" && f.Type != TypeText {
		return bad("required field %q (%s) is empty", f.Key, f.Label)
	}
	if v == "" {
		return nil
	}
	switch f.Type {
	case TypeBool:
		if _, err := ParseBool(v); err != nil {
			return bad("%q must be true or false, got %q", f.Key, v)
		}
	case TypeInt, TypeNumber:
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || (f.Type == TypeInt && n != float64(int64(n))) {
			return bad("%q must be %s, got %q", f.Key, map[FieldType]string{TypeInt: "an integer", TypeNumber: "a number"}[f.Type], v)
		}
		if f.Min != nil && n < *f.Min {
			return bad("%q must be at least %v, got %v", f.Key, *f.Min, n)
		}
		if f.Max != nil && n > *f.Max {
			return bad("%q must be at most %v, got %v", f.Key, *f.Max, n)
		}
	case TypeEnum:
		for _, e := range f.Enum {
			if e == v {
				return nil
			}
		}
		return bad("%q must be one of %s, got %q", f.Key, strings.Join(f.Enum, ", "), v)
	case TypeRegex:
		if f.SupportsExpressions && strings.Contains(v, "${") {
			return nil
		}
		if _, err := CompileJavaRegex(v); err != nil {
			return bad("%q is not a valid regular expression: %v", f.Key, err)
		}
	case TypeJSON:
		if !jsonValid(v) {
			return bad("%q must be valid JSON", f.Key)
		}
	}
	return nil
}

func suggest(k string, s *Spec) string {
	norm := func(x string) string {
		return strings.ToLower(strings.NewReplacer("_", "", " ", "", "-", "").Replace(x))
	}
	best, bestD := "", 3
	for _, f := range s.Fields {
		if d := EditDistance(norm(k), norm(f.Key)); d < bestD {
			best, bestD = f.Key, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// ParseBool accepts Connect+'s string booleans.
func ParseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "1":
		return true, nil
	case "false", "no", "0", "", "null":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", v)
}

// Block is a built block instance. Exactly one of Source or Processor is
// implemented, matching the Spec's class. Blocks may also implement Closer.
type Block interface{}

// Closer is implemented by blocks holding connections or files.
type Closer interface {
	Close() error
}

// Starter is implemented by blocks that need a per-run setup (connect,
// fetch a token) before the first unit.
type Starter interface {
	Start(ctx context.Context) error
}
