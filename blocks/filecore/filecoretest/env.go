package filecoretest

import (
	"log/slog"
	"os"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/lang/nifiel"
)

type expr struct{ x *nifiel.Expr }

func (e expr) EvalString(a block.Lookup) (string, error) { return e.x.EvalString(a) }
func (e expr) EvalBool(a block.Lookup) (bool, error)     { return e.x.EvalBool(a) }

// Env returns a block.Env for tests: NiFi EL compiler, a private work dir,
// fast retries, logs to the test log when -v.
func Env(t testing.TB, name string) *block.Env {
	t.Helper()
	lvl := slog.LevelWarn
	if testing.Verbose() {
		lvl = slog.LevelInfo
	}
	return &block.Env{
		Flow:    "test",
		Block:   name,
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl})),
		WorkDir: t.TempDir(),
		CompileExpr: func(src string) (block.Expr, error) {
			x, err := nifiel.Compile(src)
			if err != nil {
				return nil, err
			}
			return expr{x}, nil
		},
		Options: map[string]string{"file.retryAttempts": "2", "file.retryBackoff": "50ms"},
	}
}
