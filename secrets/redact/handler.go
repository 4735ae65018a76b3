package redact

import (
	"context"
	"fmt"
	"log/slog"
)

// Handler wraps h so that no record it passes on holds a registered secret:
// the message, every attribute (errors and other values by their printed
// form) and attributes bound with Logger.With are redacted.
//
// Attributes bound with With are redacted when they are bound. That is
// enough because a value is registered when it is decrypted, before any code
// holds it to bind it.
func (r *Redactor) Handler(h slog.Handler) slog.Handler { return &handler{inner: h, r: r} }

type handler struct {
	inner slog.Handler
	r     *Redactor
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, rec slog.Record) error {
	if h.r.Empty() {
		return h.inner.Handle(ctx, rec)
	}
	out := slog.NewRecord(rec.Time, rec.Level, h.r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.r.Attr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = h.r.Attr(a)
	}
	return &handler{inner: h.inner.WithAttrs(red), r: h.r}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{inner: h.inner.WithGroup(name), r: h.r}
}

// Attr returns a with every registered secret removed from its value. A
// value that is not a string (an error, a struct, a LogValuer) is replaced
// by its redacted printed form only when that form held a secret, so clean
// values keep their type.
func (r *Redactor) Attr(a slog.Attr) slog.Attr {
	if r.Empty() {
		return a
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		s := v.String()
		if t := r.String(s); t != s {
			return slog.String(a.Key, t)
		}
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, x := range g {
			out[i] = r.Attr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		// %+v prints an error by its Error() and a Stringer by String(),
		// and survives their panics.
		s := fmt.Sprintf("%+v", v.Any())
		if t := r.String(s); t != s {
			return slog.String(a.Key, t)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
