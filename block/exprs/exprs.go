// Package exprs adapts the expression languages to the block contract: it is
// the one place that decides how NiFi EL is compiled for blocks and relations.
package exprs

import (
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/lang/nifiel"
)

// Compiler returns a block.Env.CompileExpr function evaluating NiFi EL in
// the given time zone (nil: UTC) with the given clock (nil: system clock).
func Compiler(loc *time.Location, now func() time.Time) func(string) (block.Expr, error) {
	var opts []nifiel.Option
	if loc != nil {
		opts = append(opts, nifiel.WithLocation(loc))
	}
	if now != nil {
		opts = append(opts, nifiel.WithClock(now))
	}
	return func(src string) (block.Expr, error) {
		x, err := nifiel.Compile(src, opts...)
		if err != nil {
			return nil, err
		}
		return expr{x}, nil
	}
}

type expr struct{ x *nifiel.Expr }

func (e expr) EvalString(l block.Lookup) (string, error) { return e.x.EvalString(l) }
func (e expr) EvalBool(l block.Lookup) (bool, error)     { return e.x.EvalBool(l) }

// Check compiles src and reports a compile error (dataflow validation hook).
func Check(src string) error {
	_, err := nifiel.Compile(src)
	return err
}
