package block

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
)

// Lang is the language a config field's value is written in. The compile
// step (Spec.CompileConfig) compiles every field that has one, with the
// same Compiler at validation and before a run, so a dataflow that
// validates also builds.
type Lang string

const (
	// LangNone: the value is plain data.
	LangNone Lang = ""
	// LangNiFi: literal text with embedded NiFi ${...} expressions (a file
	// name template). Fields with SupportsExpressions are LangNiFi unless
	// they say otherwise.
	LangNiFi Lang = "nifi"
	// LangNiFiCondition: exactly one NiFi ${...} expression whose result is
	// a Boolean, as NiFi's RouteOnAttribute requires (filter conditions,
	// relation conditions).
	LangNiFiCondition Lang = "nifi-condition"
	// LangNiFiJSON: a JSON object whose string values are LangNiFi text
	// (request headers, job parameters).
	LangNiFiJSON Lang = "nifi-json"
	// LangJSLT: a JSLT query.
	LangJSLT Lang = "jslt"
	// LangJOLT: a JOLT chain specification (bazaarvoice/jolt).
	LangJOLT Lang = "jolt"
	// LangJavaScript: a script defining function transform(records, context).
	LangJavaScript Lang = "javascript"
)

// Language returns what the compile step compiles f's value as.
func (f *Field) Language() Lang {
	if f.Lang != LangNone {
		return f.Lang
	}
	if f.SupportsExpressions {
		return LangNiFi
	}
	return LangNone
}

// Compiler compiles a value written in a language. Package block/exprs
// implements it over the expression languages; the result is what blocks
// get back from Config.Compiled (an Expr for the NiFi languages).
type Compiler interface {
	Compile(lang Lang, src string) (any, error)
}

// ParamCompiler is a Compiler that can resolve NiFi parameter references
// (#{name}) from Extension Configurations. CompileConfig, given a Resolver,
// compiles with WithParameters(r): a reference then names an Extension
// Configuration, resolved once at compile time.
type ParamCompiler interface {
	WithParameters(r Resolver) Compiler
}

// SecretResolver is implemented by Resolvers that know which Extension
// Configurations are secrets. A parameter reference to a secret is a
// compile error (NiFi refuses sensitive parameters in non-sensitive
// properties; secrets reach only secret fields, through {"$config": ...}).
type SecretResolver interface {
	IsSecret(name string) (bool, error)
}

// TextPos is a place inside a field's value: 1-based line and column
// (columns count bytes, as the language compilers report them).
type TextPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// ExprError is a compile error located inside an expression.
type ExprError struct {
	Lang Lang
	Pos  TextPos // zero when the compiler gave no position
	Msg  string
}

func (e *ExprError) Error() string {
	where := langName(e.Lang)
	if e.Pos.Line > 0 {
		where += " line " + strconv.Itoa(e.Pos.Line) + ", column " + strconv.Itoa(e.Pos.Column)
	}
	return where + ": " + e.Msg
}

func langName(l Lang) string {
	switch l {
	case LangNiFi:
		return "NiFi expression"
	case LangNiFiCondition:
		return "NiFi condition"
	case LangNiFiJSON:
		return "NiFi expression"
	case LangJSLT:
		return "JSLT"
	case LangJOLT:
		return "JOLT"
	case LangJavaScript:
		return "JavaScript"
	}
	return string(l)
}

// CompileConfig is the compile step: ParseConfig, then every field written
// in a language (Field.Language) is compiled with comp and kept in the
// Config for the block's New (Config.Compiled). Dataflow validation and the
// engine both call it, so validation reports everything a run would refuse.
// Problems inside an expression carry its position (Problem.Expr). With
// comp nil no field is compiled (a block needing one then fails to build).
func (s *Spec) CompileConfig(raw map[string]any, r Resolver, comp Compiler) (*Config, []Problem) {
	c, probs := s.ParseConfig(raw, r)
	bad := map[string]bool{}
	for _, p := range probs {
		if f, ok := s.Field(p.Path); ok {
			bad[f.Key] = true
		}
	}
	if comp != nil {
		if pc, ok := comp.(ParamCompiler); ok && r != nil {
			comp = pc.WithParameters(r)
		}
		probs = append(probs, c.compile(comp, bad)...)
	}
	return c, probs
}

// CompileWith compiles the language fields of a Config built directly
// (NewConfig, in tests and programmatic use) and returns their problems.
func (c *Config) CompileWith(comp Compiler) []Problem {
	return c.compile(comp, nil)
}

func (c *Config) compile(comp Compiler, skip map[string]bool) []Problem {
	var probs []Problem
	for i := range c.spec.Fields {
		f := &c.spec.Fields[i]
		lang := f.Language()
		if lang == LangNone || skip[f.Key] {
			continue
		}
		src, ok := c.values[f.Key]
		if !ok || (src == "" && !f.Required) || src == "null" {
			continue // absent, or an unresolved Extension Configuration
		}
		if f.Normalize != nil {
			src = f.Normalize(src)
		}
		var v any
		var err error
		if lang == LangNiFiJSON {
			v, err = compileJSONValues(comp, src)
		} else {
			v, err = comp.Compile(lang, src)
		}
		if err != nil {
			p := Problem{Path: f.Key, Message: err.Error()}
			var ee *ExprError
			if errors.As(err, &ee) && ee.Pos.Line > 0 {
				pos := ee.Pos
				p.Expr = &pos
			}
			probs = append(probs, p)
			continue
		}
		if c.compiled == nil {
			c.compiled = map[string]any{}
		}
		c.compiled[f.Key] = v
	}
	return probs
}

// compileJSONValues compiles each string value of a JSON object as NiFi
// text; the result maps keys to Exprs. A value that is not an object is
// left to the field's type check.
func compileJSONValues(comp Compiler, src string) (map[string]Expr, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(src), &m); err != nil {
		return nil, nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]Expr, len(m))
	for _, k := range keys {
		str, ok := m[k].(string)
		if !ok {
			continue
		}
		v, err := comp.Compile(LangNiFi, str)
		if err != nil {
			var ee *ExprError
			if errors.As(err, &ee) {
				return nil, &ExprError{Lang: ee.Lang, Pos: ee.Pos, Msg: fmt.Sprintf("value of %q: %s", k, ee.Msg)}
			}
			return nil, fmt.Errorf("value of %q: %w", k, err)
		}
		if x, ok := v.(Expr); ok {
			out[k] = x
		}
	}
	return out, nil
}

// Compiled returns the compile step's result for field key (nil when the
// field is empty or was not compiled).
func (c *Config) Compiled(key string) any { return c.compiled[key] }

// Expr returns field key compiled as NiFi EL, or an error saying it was
// not compiled (the Config did not go through the compile step).
func (c *Config) Expr(key string) (Expr, error) {
	x, ok := c.compiled[key].(Expr)
	if !ok {
		return nil, fmt.Errorf("%s: the expression was not compiled (build blocks from Spec.CompileConfig)", key)
	}
	return x, nil
}
