package tools

import (
	"context"
	"encoding/json"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/jsonv"
	"github.com/connectplus/connectplus/lang/javatime"
	"github.com/connectplus/connectplus/lang/jslt"
	"github.com/connectplus/connectplus/lang/nifiel"
)

// EvalNiFiIn is a NiFi Expression Language value and the attributes to
// evaluate it against.
type EvalNiFiIn struct {
	Expression string            `json:"expression" jsonschema:"a property value: text with embedded ${...} expressions, e.g. ${filename:substringBefore('.')}.json"`
	Attributes map[string]string `json:"attributes,omitempty" jsonschema:"flow-file attributes (filename, header_value, …); a missing one is null"`
	AsBoolean  bool              `json:"asBoolean,omitempty" jsonschema:"evaluate as a relation condition (true or false)"`
	TimeZone   string            `json:"timeZone,omitempty" jsonschema:"zone for dates (default UTC)"`
	Now        string            `json:"now,omitempty" jsonschema:"fix now() as RFC 3339"`
}

// EvalOut is an evaluation's result.
type EvalOut struct {
	Result any    `json:"result" jsonschema:"the value: a string (NiFi EL), a boolean (a condition) or any JSON value (JSLT)"`
	Error  string `json:"error,omitempty" jsonschema:"why the expression does not compile or fails"`
}

func (h *handlers) evalNiFi(ctx context.Context, _ *mcp.CallToolRequest, in EvalNiFiIn) (*mcp.CallToolResult, EvalOut, error) {
	var out EvalOut
	if _, err := h.actor(ctx); err != nil {
		return nil, out, err
	}
	var loc *time.Location
	if in.TimeZone != "" {
		l, ok := javatime.ResolveZone(in.TimeZone, nil)
		if !ok {
			return nil, out, userErr("unknown time zone %q", in.TimeZone)
		}
		loc = l
	}
	var now func() time.Time
	if in.Now != "" {
		t, err := time.Parse(time.RFC3339Nano, in.Now)
		if err != nil {
			return nil, out, userErr("now must be RFC 3339 (2024-03-15T13:45:10Z)")
		}
		now = func() time.Time { return t }
	}
	// block/exprs compiles exactly as blocks and relations do: a value as
	// a template, a condition as one Boolean ${...}.
	step := exprs.NewStep(exprs.Options{Location: loc, Now: now})
	compile := step.Template
	if in.AsBoolean {
		compile = step.Condition
	}
	x, err := compile(in.Expression)
	if err != nil {
		out.Error = "invalid expression: " + err.Error()
		return nil, out, nil
	}
	attrs := nifiel.MapLookup{}
	for k, v := range in.Attributes {
		attrs[k] = v
	}
	if in.AsBoolean {
		b, err := x.EvalBool(attrs)
		if err != nil {
			out.Error = "evaluation failed: " + err.Error()
			return nil, out, nil
		}
		out.Result = b
		return nil, out, nil
	}
	s, err := x.EvalString(attrs)
	if err != nil {
		out.Error = "evaluation failed: " + err.Error()
		return nil, out, nil
	}
	out.Result = s
	return nil, out, nil
}

// EvalJSLTIn is a JSLT query and its input.
type EvalJSLTIn struct {
	Query  string         `json:"query" jsonschema:"the JSLT transformation (as in a jslt_transform block)"`
	Input  any            `json:"input,omitempty" jsonschema:"the input JSON value (a record, or the array of a batch)"`
	Params map[string]any `json:"params,omitempty" jsonschema:"query parameters ($name)"`
}

func (h *handlers) evalJSLT(ctx context.Context, _ *mcp.CallToolRequest, in EvalJSLTIn) (*mcp.CallToolResult, EvalOut, error) {
	var out EvalOut
	if _, err := h.actor(ctx); err != nil {
		return nil, out, err
	}
	// Without parameters the query compiles as a jslt_transform block's
	// does (block/exprs); with them, only the given names are variables.
	// No module resolver either way: a query from a client reads no files.
	var x *jslt.Expr
	var err error
	if len(in.Params) == 0 {
		x, err = exprs.NewStep(exprs.Options{}).JSLT(in.Query)
	} else {
		names := make([]string, 0, len(in.Params))
		for k := range in.Params {
			names = append(names, k)
		}
		x, err = jslt.Compile(in.Query, jslt.WithVariables(names...), jslt.WithMaxOutputSize(16<<20))
	}
	if err != nil {
		out.Error = "invalid query: " + err.Error()
		return nil, out, nil
	}
	input, err := toJSONV(in.Input)
	if err != nil {
		return nil, out, userErr("input: %v", err)
	}
	params := map[string]any{}
	for k, v := range in.Params {
		if params[k], err = toJSONV(v); err != nil {
			return nil, out, userErr("param %s: %v", k, err)
		}
	}
	res, err := x.Apply(input, params)
	if err != nil {
		out.Error = "evaluation failed: " + err.Error()
		return nil, out, nil
	}
	// Back to plain JSON for the structured output.
	var v any
	if err := json.Unmarshal(jslt.AppendJSON(nil, res), &v); err != nil {
		return nil, out, h.fail(err)
	}
	out.Result = v
	return nil, out, nil
}

// toJSONV converts a decoded JSON value to the jsonv model JSLT runs on
// (ordered objects, integers kept apart from decimals).
func toJSONV(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonv.Parse(b)
}
