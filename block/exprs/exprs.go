// Package exprs adapts the expression languages to the block contract: it is
// the one place that decides how NiFi EL, JSLT, JOLT and JavaScript are compiled for blocks
// and relations. Its Step is the block.Compiler of the compile step that
// dataflow validation and the engine share.
package exprs

import (
	"errors"
	"fmt"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/lang/javascript"
	"github.com/connectplus/connectplus/lang/jolt"
	"github.com/connectplus/connectplus/lang/jslt"
	"github.com/connectplus/connectplus/lang/nifiel"
)

// Options configure a Step.
type Options struct {
	// Location is the time zone of NiFi dates (nil: UTC).
	Location *time.Location
	// Now is the clock of NiFi's now() and JSLT's now() (nil: system clock).
	Now func() time.Time
}

// Step compiles the languages of block config fields and relation
// conditions. Compile errors are *block.ExprError with the position inside
// the expression. A Step is safe for concurrent use.
type Step struct {
	nifi []nifiel.Option
	jslt []jslt.Option
	// params resolves NiFi parameter references (#{name}) from Extension
	// Configurations; nil leaves them null, as NiFi without a parameter
	// context.
	params block.Resolver
}

// NewStep returns a Step. Every NiFi value is compiled with
// nifiel.RejectUnterminated: a ${ without its '}' is a typo, never text.
// JSLT queries get no parameters from blocks, so an undefined variable is a
// compile error.
func NewStep(o Options) *Step {
	s := &Step{nifi: []nifiel.Option{nifiel.RejectUnterminated()}, jslt: []jslt.Option{jslt.WithVariables()}}
	if o.Location != nil {
		s.nifi = append(s.nifi, nifiel.WithLocation(o.Location))
	}
	if o.Now != nil {
		s.nifi = append(s.nifi, nifiel.WithClock(o.Now))
		s.jslt = append(s.jslt, jslt.WithClock(o.Now))
	}
	return s
}

// Compile implements block.Compiler: NiFi languages yield a block.Expr,
// JSLT a *jslt.Expr, JOLT a *jolt.Transform, JavaScript a
// *javascript.Program.
func (s *Step) Compile(lang block.Lang, src string) (any, error) {
	switch lang {
	case block.LangNiFi:
		return s.Template(src)
	case block.LangNiFiCondition:
		return s.Condition(src)
	case block.LangJSLT:
		return s.JSLT(src)
	case block.LangJOLT:
		return JOLT(src)
	case block.LangJavaScript:
		return JavaScript(src)
	}
	return nil, fmt.Errorf("no compiler for language %q", lang)
}

// WithParameters implements block.ParamCompiler: the returned Step
// resolves every #{name} in NiFi values as the Extension Configuration
// name, once, at compile time (so an evaluation never queries the store).
// A reference that does not resolve, or names a secret, is a compile error.
func (s *Step) WithParameters(r block.Resolver) block.Compiler {
	c := *s
	c.params = r
	return &c
}

// Template compiles a property value: text with embedded ${...}.
func (s *Step) Template(src string) (block.Expr, error) {
	x, err := s.compileNiFi(block.LangNiFi, src, nifiel.Compile)
	if err != nil {
		return nil, err
	}
	return expr{x}, nil
}

// Condition compiles a filter or relation condition: one ${...} with a
// Boolean result.
func (s *Step) Condition(src string) (block.Expr, error) {
	x, err := s.compileNiFi(block.LangNiFiCondition, src, nifiel.CompileCondition)
	if err != nil {
		return nil, err
	}
	return expr{x}, nil
}

// compileNiFi compiles src, then, when it references parameters and the
// Step has a parameter source, resolves them and compiles again with their
// values as its parameter context.
func (s *Step) compileNiFi(lang block.Lang, src string, compile func(string, ...nifiel.Option) (*nifiel.Expr, error)) (*nifiel.Expr, error) {
	x, err := compile(src, s.nifi...)
	if err != nil {
		return nil, nifiError(lang, err)
	}
	names := x.Parameters()
	if s.params == nil || len(names) == 0 {
		return x, nil
	}
	values := nifiel.ValueParameters{}
	for _, name := range names {
		if sr, ok := s.params.(block.SecretResolver); ok {
			secret, err := sr.IsSecret(name)
			if err != nil {
				return nil, &block.ExprError{Lang: lang, Msg: fmt.Sprintf("parameter #{%s}: %v", name, err)}
			}
			if secret {
				return nil, &block.ExprError{Lang: lang, Msg: fmt.Sprintf("parameter #{%s} names a secret Extension Configuration; secrets reach only secret fields, as {\"$config\": %q}", name, name)}
			}
		}
		v, err := s.params.Resolve(name)
		if err != nil {
			return nil, &block.ExprError{Lang: lang, Msg: fmt.Sprintf("parameter #{%s}: %v", name, err)}
		}
		values[name] = v
	}
	opts := append(s.nifi[:len(s.nifi):len(s.nifi)], nifiel.WithParameters(values))
	x, err = compile(src, opts...)
	if err != nil {
		return nil, nifiError(lang, err)
	}
	return x, nil
}

// JSLT compiles a JSLT query.
func (s *Step) JSLT(src string) (*jslt.Expr, error) {
	x, err := jslt.Compile(src, s.jslt...)
	if err != nil {
		var je *jslt.Error
		if errors.As(err, &je) {
			return nil, &block.ExprError{Lang: block.LangJSLT, Pos: block.TextPos{Line: je.Line, Column: je.Column}, Msg: je.Msg}
		}
		return nil, &block.ExprError{Lang: block.LangJSLT, Msg: err.Error()}
	}
	return x, nil
}

// JOLT compiles a JOLT chain specification.
func JOLT(src string) (*jolt.Transform, error) {
	x, err := jolt.Compile(src)
	if err != nil {
		var je *jolt.Error
		if errors.As(err, &je) {
			return nil, &block.ExprError{Lang: block.LangJOLT, Pos: block.TextPos{Line: je.Line, Column: je.Column}, Msg: je.Msg}
		}
		return nil, &block.ExprError{Lang: block.LangJOLT, Msg: err.Error()}
	}
	return x, nil
}

// ScriptFunction is the function a JavaScript field must define.
const ScriptFunction = "transform"

// JavaScript compiles a script_transform script.
func JavaScript(src string) (*javascript.Program, error) {
	x, err := javascript.Compile(src, ScriptFunction)
	if err != nil {
		var se *javascript.Error
		if errors.As(err, &se) {
			return nil, &block.ExprError{Lang: block.LangJavaScript, Pos: block.TextPos{Line: se.Line, Column: se.Column}, Msg: se.Msg}
		}
		return nil, &block.ExprError{Lang: block.LangJavaScript, Msg: err.Error()}
	}
	return x, nil
}

// ExprFunc is Template as a block.Env.CompileExpr.
func (s *Step) ExprFunc() func(string) (block.Expr, error) { return s.Template }

func nifiError(lang block.Lang, err error) error {
	var ne *nifiel.Error
	if errors.As(err, &ne) {
		return &block.ExprError{Lang: lang, Pos: block.TextPos{Line: ne.Line, Column: ne.Column}, Msg: ne.Msg}
	}
	return &block.ExprError{Lang: lang, Msg: err.Error()}
}

// Compiler returns a block.Env.CompileExpr function evaluating NiFi EL in
// the given time zone (nil: UTC) with the given clock (nil: system clock):
// the Template of NewStep.
func Compiler(loc *time.Location, now func() time.Time) func(string) (block.Expr, error) {
	return NewStep(Options{Location: loc, Now: now}).Template
}

type expr struct{ x *nifiel.Expr }

func (e expr) EvalString(l block.Lookup) (string, error) { return e.x.EvalString(l) }
func (e expr) EvalBool(l block.Lookup) (bool, error)     { return e.x.EvalBool(l) }

// Check compiles a relation condition and reports a compile error (the
// dataflow validation hook).
func Check(src string) error {
	_, err := NewStep(Options{}).Condition(src)
	return err
}
