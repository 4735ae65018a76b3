package validate

import (
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/lang/javatime"
)

// Column types a rule can require.
const (
	TypeString  = "string"
	TypeInteger = "integer"
	TypeDecimal = "decimal"
	TypeBoolean = "boolean"
	TypeDate    = "date"
)

// DefaultDateFormat is the format of a date rule without one; the Connect+
// troubleshooting guide asks for YYYY-MM-DD dates.
const DefaultDateFormat = "yyyy-MM-dd"

// Rule is the validation of one column.
type Rule struct {
	Column    string   `yaml:"column"`
	Required  bool     `yaml:"required"`
	Type      string   `yaml:"type"`
	Regex     string   `yaml:"regex"`
	MinLength *int     `yaml:"minLength"`
	MaxLength *int     `yaml:"maxLength"`
	Enum      []string `yaml:"enum"`
	Format    string   `yaml:"format"`
	Unique    bool     `yaml:"unique"`
	Min       *string  `yaml:"min"`
	Max       *string  `yaml:"max"`

	re       *regexp.Regexp
	layout   *javatime.Layout
	min, max *big.Rat
	enumSet  map[string]bool
}

// ParseRules reads the rules field: a JSON or YAML mapping from column name
// to rule, kept in document order, or a list of rules with a column key:
//
//	{"bill_amount": {"required": true, "type": "decimal", "min": "0"},
//	 "mobile": {"regex": "^[0-9]{10,12}$", "unique": true}}
//
//	- {column: bill_date, type: date, format: dd/MM/yyyy}
func ParseRules(src string) ([]*Rule, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("rules: no rule given")
	}
	root := doc.Content[0]
	var rules []*Rule
	switch root.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(root.Content); i += 2 {
			r := &Rule{}
			if err := decodeRule(root.Content[i+1], r); err != nil {
				return nil, fmt.Errorf("rules: column %q: %w", root.Content[i].Value, err)
			}
			r.Column = root.Content[i].Value
			rules = append(rules, r)
		}
	case yaml.SequenceNode:
		for i, n := range root.Content {
			r := &Rule{}
			if err := decodeRule(n, r); err != nil {
				return nil, fmt.Errorf("rules[%d]: %w", i, err)
			}
			if r.Column == "" {
				return nil, fmt.Errorf("rules[%d]: no column", i)
			}
			rules = append(rules, r)
		}
	default:
		return nil, errors.New("rules: expected a mapping of column → rule or a list of rules")
	}
	if len(rules) == 0 {
		return nil, errors.New("rules: no rule given")
	}
	for _, r := range rules {
		if err := r.compile(); err != nil {
			return nil, fmt.Errorf("rules: column %q: %w", r.Column, err)
		}
	}
	return rules, nil
}

var ruleKeys = map[string]bool{"column": true, "required": true, "type": true, "regex": true, "minLength": true, "maxLength": true,
	"enum": true, "format": true, "unique": true, "min": true, "max": true}

func decodeRule(n *yaml.Node, r *Rule) error {
	if n.Kind != yaml.MappingNode {
		return errors.New("a rule must be a mapping such as {\"type\": \"decimal\"}")
	}
	// Unknown keys are typos (minlength, regexp): reject rather than ignore.
	for i := 0; i < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !ruleKeys[k] {
			return fmt.Errorf("unknown rule key %q (known: column, required, type, regex, minLength, maxLength, enum, format, unique, min, max)", k)
		}
	}
	return n.Decode(r)
}

func (r *Rule) compile() error {
	switch r.Type {
	case "", TypeString, TypeInteger, TypeDecimal, TypeBoolean, TypeDate:
	default:
		return fmt.Errorf("unknown type %q (use string, integer, decimal, boolean or date)", r.Type)
	}
	if r.Regex != "" {
		re, err := block.CompileJavaRegex(r.Regex)
		if err != nil {
			return fmt.Errorf("regex: %w", err)
		}
		r.re = re
	}
	if r.Type == TypeDate || r.Format != "" {
		if r.Format == "" {
			r.Format = DefaultDateFormat
		}
		l, err := javatime.Compile(r.Format)
		if err != nil {
			return fmt.Errorf("format: %w", err)
		}
		r.layout = l
	}
	for _, b := range []struct {
		s   *string
		dst **big.Rat
		key string
	}{{r.Min, &r.min, "min"}, {r.Max, &r.max, "max"}} {
		if b.s == nil {
			continue
		}
		t := strings.TrimSpace(*b.s)
		if !decimalRE.MatchString(t) {
			return fmt.Errorf("%s must be a plain decimal number such as -1.5, got %q", b.key, *b.s)
		}
		v, _ := new(big.Rat).SetString(t)
		*b.dst = v
	}
	if r.MinLength != nil && r.MaxLength != nil && *r.MinLength > *r.MaxLength {
		return fmt.Errorf("minLength %d is greater than maxLength %d", *r.MinLength, *r.MaxLength)
	}
	if len(r.Enum) > 0 {
		r.enumSet = map[string]bool{}
		for _, e := range r.Enum {
			r.enumSet[e] = true
		}
	}
	return nil
}

var (
	integerRE = regexp.MustCompile(`^[+-]?[0-9]+$`)
	decimalRE = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$`)
)

// check validates one value (present reports whether the column exists)
// and returns every rule it breaks, except uniqueness (checked by the
// caller, which holds the per-file state).
func (r *Rule) check(v string, present bool, fails []string) []string {
	bad := func(what, rule string) {
		fails = append(fails, fmt.Sprintf("%s: %s (rule %s), got %q", r.Column, what, rule, v))
	}
	if strings.TrimSpace(v) == "" {
		if r.Required {
			if !present {
				fails = append(fails, fmt.Sprintf("%s: is required (rule required=true), but the column is missing", r.Column))
			} else {
				fails = append(fails, fmt.Sprintf("%s: is required (rule required=true), got an empty value", r.Column))
			}
		}
		return fails
	}
	var num *big.Rat
	switch r.Type {
	case TypeInteger:
		if !integerRE.MatchString(v) {
			bad("must be an integer", "type=integer")
			return fails
		}
		num, _ = new(big.Rat).SetString(v)
	case TypeDecimal:
		if !decimalRE.MatchString(v) {
			bad("must be a decimal", "type=decimal")
			return fails
		}
		num, _ = new(big.Rat).SetString(v)
	case TypeBoolean:
		if l := strings.ToLower(v); l != "true" && l != "false" {
			bad("must be true or false", "type=boolean")
		}
	}
	if r.layout != nil {
		t, err := r.layout.ParseAt(v, time.UTC, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
		// Strict: the value must be exactly what the pattern writes, so
		// lenient overflow (2024-13-45) and trailing text are refused.
		if err != nil || r.layout.Format(t) != v {
			bad("must be a date in format "+r.Format, "format="+r.Format)
		}
	}
	if (r.min != nil || r.max != nil) && num == nil {
		// The pattern is checked first: big.Rat would also expand exponents
		// such as 1e999999999, which a hostile cell could use to stall the block.
		if tv := strings.TrimSpace(v); decimalRE.MatchString(tv) {
			num, _ = new(big.Rat).SetString(tv)
		} else {
			bad("must be a number", "min/max")
		}
	}
	if num != nil {
		if r.min != nil && num.Cmp(r.min) < 0 {
			bad("must be at least "+*r.Min, "min="+*r.Min)
		}
		if r.max != nil && num.Cmp(r.max) > 0 {
			bad("must be at most "+*r.Max, "max="+*r.Max)
		}
	}
	if r.re != nil && !r.re.MatchString(v) {
		bad("must match "+r.Regex, "regex="+r.Regex)
	}
	n := utf8.RuneCountInString(v)
	if r.MinLength != nil && n < *r.MinLength {
		bad(fmt.Sprintf("must be at least %d characters long", *r.MinLength), fmt.Sprintf("minLength=%d", *r.MinLength))
	}
	if r.MaxLength != nil && n > *r.MaxLength {
		bad(fmt.Sprintf("must be at most %d characters long", *r.MaxLength), fmt.Sprintf("maxLength=%d", *r.MaxLength))
	}
	if r.enumSet != nil && !r.enumSet[v] {
		bad("must be one of "+strings.Join(r.Enum, ", "), "enum")
	}
	return fails
}
