package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/preview"
)

// PreviewIn is a document (or a saved version) and a sample to run it on.
type PreviewIn struct {
	Document   any    `json:"document,omitempty" jsonschema:"an unsaved document (object or YAML/JSON text)"`
	Format     string `json:"format,omitempty"`
	FlowID     string `json:"flowId,omitempty" jsonschema:"or a saved dataflow (its Draft unless version is given)"`
	Version    int    `json:"version,omitempty"`
	Sample     string `json:"sample" jsonschema:"the sample file's text (at most 5 MB), e.g. a CSV with its header"`
	SampleName string `json:"sampleName,omitempty" jsonschema:"the sample's file name (default sample.csv)"`
	MaxRecords int    `json:"maxRecords,omitempty" jsonschema:"records of the sample to use (default 10, at most 200)"`
}

// PreviewOut is what each block did with the sample. With errors in
// Problems nothing ran.
type PreviewOut struct {
	Ran      bool      `json:"ran"`
	Problems []Problem `json:"problems"`
	// Result is the preview: per-block records in and out (by relation),
	// failures with reasons, HTTP requests the API destinations sent to
	// the sandbox, result files and counts.
	Result any `json:"result,omitempty" jsonschema:"the preview: blocks (records in, out by relation, failed, requests), files, counts, warnings"`
}

// previewDefaultRecords keeps previews small enough for a model's context.
const previewDefaultRecords = 10

func (h *handlers) preview(ctx context.Context, _ *mcp.CallToolRequest, in PreviewIn) (*mcp.CallToolResult, PreviewOut, error) {
	out := PreviewOut{Problems: []Problem{}}
	a, err := h.actor(ctx)
	if err != nil {
		return nil, out, err
	}
	if strings.TrimSpace(in.Sample) == "" {
		return nil, out, userErr("sample is empty: give the sample file's text (describe_template has one for each template)")
	}
	if len(in.Sample) > preview.MaxSampleBytes {
		return nil, out, userErr("the sample is %d bytes; a preview takes at most %d (5 MB)", len(in.Sample), preview.MaxSampleBytes)
	}
	if wait := h.t.previews.Allow(a.UserID); wait > 0 {
		return nil, out, userErr("at most %d previews a minute; try again in %d s", preview.PerMinute, int(wait.Seconds())+1)
	}
	text, format, err := h.documentOrFlow(ctx, a, in.Document, in.Format, in.FlowID, in.Version)
	if err != nil {
		return nil, out, err
	}
	c, err := h.check(ctx, a, text, format)
	if err != nil {
		return nil, out, err
	}
	if c.doc != nil {
		c.problems = previewSeverity(c.doc, h, c.problems)
	}
	out.Problems = c.problems
	if c.doc == nil || hasErrors(c.problems) {
		return nil, out, nil
	}
	if in.MaxRecords <= 0 {
		in.MaxRecords = previewDefaultRecords
	}
	res, err := preview.Run(ctx, preview.Request{Doc: c.doc, Registry: h.t.d.Service.Registry(), Sample: []byte(in.Sample), SampleName: in.SampleName,
		MaxRecords: in.MaxRecords, TempRoot: h.t.d.TempRoot, Logger: h.t.d.Logger})
	if err != nil {
		if errors.Is(err, preview.ErrSampleTooLarge) {
			return nil, out, userErr("%s", err.Error())
		}
		// A compile error the checks did not catch is the document's.
		out.Problems = append(out.Problems, Problem{Message: h.t.d.Redactor.String(err.Error()), Severity: "error"})
		return nil, out, nil
	}
	for i := range res.Warnings {
		res.Warnings[i] = h.t.d.Redactor.String(res.Warnings[i])
	}
	// The structured output is plain JSON (records are raw JSON in the
	// preview's types).
	b, err := json.Marshal(res)
	if err != nil {
		return nil, out, h.fail(fmt.Errorf("preview result: %w", err))
	}
	var generic any
	if err := json.Unmarshal([]byte(h.t.d.Redactor.String(string(b))), &generic); err != nil {
		return nil, out, h.fail(fmt.Errorf("preview result: %w", err))
	}
	out.Ran, out.Result = true, generic
	return nil, out, nil
}

func hasErrors(ps []Problem) bool {
	for _, p := range ps {
		if p.Severity == "error" {
			return true
		}
	}
	return false
}

// previewSeverity downgrades "no such Extension Configuration" to a
// warning, as the REST preview does: the preview resolves every reference
// to a placeholder.
func previewSeverity(doc *dataflow.Document, h *handlers, probs []Problem) []Problem {
	refs := map[string]bool{}
	for _, ref := range dataflow.References(doc, h.t.d.Service.Registry()) {
		refs[ref.Path] = true
	}
	for i, p := range probs {
		if refs[p.Path] && strings.Contains(p.Message, "does not exist") {
			probs[i].Severity = "warning"
			probs[i].Message += " (the preview uses a placeholder)"
		}
	}
	return probs
}
