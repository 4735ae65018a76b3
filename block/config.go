package block

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config is a block's validated configuration: every value as text (Connect+
// stores booleans and many numbers as strings), defaults applied.
type Config struct {
	spec   *Spec
	values map[string]string
	refs   map[string]string // key -> Extension Configuration name
	// compiled holds the compile step's result per language field.
	compiled map[string]any
}

// NewConfig builds a Config directly from values (tests and programmatic use);
// it applies defaults but does not validate.
func NewConfig(s *Spec, values map[string]string) *Config {
	c := &Config{spec: s, values: map[string]string{}, refs: map[string]string{}}
	for _, f := range s.Fields {
		if f.Default != "" {
			c.values[f.Key] = f.Default
		}
	}
	for k, v := range values {
		c.values[k] = v
	}
	return c
}

// Spec returns the block spec the config belongs to.
func (c *Config) Spec() *Spec { return c.spec }

// Has reports whether key has a non-empty value.
func (c *Config) Has(key string) bool {
	v := strings.TrimSpace(c.values[key])
	return v != "" && v != "null"
}

// String returns the value of key ("" when absent). The literal "null",
// which Connect+ uses for "not set" (e.g. password with key auth), reads as "".
func (c *Config) String(key string) string {
	v := c.values[key]
	if v == "null" {
		return ""
	}
	return v
}

// Bool returns the boolean value of key (false when absent or invalid;
// validation already rejected invalid values).
func (c *Config) Bool(key string) bool {
	b, _ := ParseBool(c.values[key])
	return b
}

// Int returns the integer value of key, or def when absent.
func (c *Config) Int(key string, def int) int {
	v := strings.TrimSpace(c.values[key])
	if v == "" || v == "null" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return def
	}
	return int(f)
}

// Float returns the numeric value of key, or def when absent.
func (c *Config) Float(key string, def float64) float64 {
	v := strings.TrimSpace(c.values[key])
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return def
	}
	return f
}

// List splits a comma-separated value, trimming spaces and dropping empties.
func (c *Config) List(key string) []string {
	return SplitList(c.String(key))
}

// SplitList splits a comma-separated list, trimming spaces and dropping empties.
func SplitList(v string) []string {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	parts := strings.Split(v, ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// JSON decodes a JSON-typed field into dst; absent leaves dst untouched.
func (c *Config) JSON(key string, dst any) error {
	v := strings.TrimSpace(c.String(key))
	if v == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(v), dst); err != nil {
		return fmt.Errorf("config %q: %w", key, err)
	}
	return nil
}

// Regex compiles a Java-style regex field.
func (c *Config) Regex(key string) (*regexp.Regexp, error) {
	re, err := CompileJavaRegex(c.String(key))
	if err != nil {
		return nil, fmt.Errorf("config %q: %w", key, err)
	}
	return re, nil
}

// Duration parses a Go duration field ("30s"), or a bare number of seconds.
func (c *Config) Duration(key string, def time.Duration) time.Duration {
	v := strings.TrimSpace(c.String(key))
	if v == "" {
		return def
	}
	if d, err := time.ParseDuration(v); err == nil {
		return d
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(f * float64(time.Second))
	}
	return def
}

// Ref returns the Extension Configuration name key refers to, if any.
func (c *Config) Ref(key string) (string, bool) {
	n, ok := c.refs[key]
	return n, ok
}

// Refs returns every key → configuration name reference.
func (c *Config) Refs() map[string]string {
	out := make(map[string]string, len(c.refs))
	for k, v := range c.refs {
		out[k] = v
	}
	return out
}

// Values returns a copy of all values. Secret values are included: never log
// the result; use Redacted for that.
func (c *Config) Values() map[string]string {
	out := make(map[string]string, len(c.values))
	for k, v := range c.values {
		out[k] = v
	}
	return out
}

// Redacted returns the values with secret fields masked, safe to log.
func (c *Config) Redacted() map[string]string {
	out := c.Values()
	for _, f := range c.spec.Fields {
		if f.Secret {
			if _, ok := out[f.Key]; ok && out[f.Key] != "" {
				out[f.Key] = "****"
			}
		}
	}
	return out
}

// Set overrides a value (used by the engine for --sandbox rewiring and tests).
func (c *Config) Set(key, value string) { c.values[key] = value }

func marshalJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func jsonValid(s string) bool { return json.Valid([]byte(s)) }

// javaOnly rewrites Java regex constructs RE2 lacks into equivalents, where an
// equivalent exists: possessive quantifiers become greedy ones (same matches
// for the file-name patterns users write). Lookaround and backreferences have
// no RE2 equivalent and are reported as errors by regexp.
var possessive = regexp.MustCompile(`([*+?}])\+`)

// CompileJavaRegex compiles a Java-style regular expression with Go's RE2
// engine (linear time: no catastrophic backtracking on hostile input). Java's
// \p{Alpha}-style POSIX classes and possessive quantifiers are translated.
func CompileJavaRegex(src string) (*regexp.Regexp, error) {
	if len(src) > 4096 {
		return nil, fmt.Errorf("regular expression longer than 4096 characters")
	}
	s := possessive.ReplaceAllString(src, "$1")
	for java, re2 := range javaClasses {
		s = strings.ReplaceAll(s, java, re2)
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, err
	}
	return re, nil
}

var javaClasses = map[string]string{
	`\p{Alpha}`: `[a-zA-Z]`, `\p{Digit}`: `[0-9]`, `\p{Alnum}`: `[a-zA-Z0-9]`,
	`\p{Upper}`: `[A-Z]`, `\p{Lower}`: `[a-z]`, `\p{Punct}`: `[[:punct:]]`,
	`\p{Space}`: `\s`, `\p{XDigit}`: `[0-9a-fA-F]`,
}

// CompileJavaRegexWhole compiles src anchored at both ends, so MatchString
// behaves like Java's String.matches (and NiFi's file filters).
func CompileJavaRegexWhole(src string) (*regexp.Regexp, error) {
	if _, err := CompileJavaRegex(src); err != nil {
		return nil, err
	}
	return CompileJavaRegex(`^(?:` + src + `)$`)
}
