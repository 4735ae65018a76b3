package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/preview"
)

// PreviewRequest is a document and a sample to run it on.
type PreviewRequest struct {
	Document string `json:"document"`
	// Format is json, yaml or connectplus; empty detects JSON or YAML.
	Format string `json:"format,omitempty"`
	// Sample is the sample file's text (at most 5 MB).
	Sample     string `json:"sample"`
	SampleName string `json:"sampleName,omitempty"`
	// MaxRecords is how many records of the sample to use (default 20, at
	// most 200).
	MaxRecords int `json:"maxRecords,omitempty"`
}

// PreviewResponse is what each block of the document did with the sample.
// With problems (status 422) nothing ran.
type PreviewResponse struct {
	Problems []DocumentProblem `json:"problems"`
	*preview.Result
}

// Preview limits.
const (
	// previewMaxBody leaves room for a 5 MB sample escaped in JSON and a
	// 4 MB document.
	previewMaxBody = 16 << 20
	previewPerMin  = preview.PerMinute
)

// preview runs an unsaved document on a sample with every destination
// replaced by the sandbox or a capture. Missing Extension Configurations
// are warnings here (the preview uses placeholders), not errors.
func (s *Server) preview(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	if wait := s.previewLimit.Allow(a.UserID); wait > 0 {
		he := newHTTPError(http.StatusTooManyRequests, "rate_limited", "at most %d previews a minute; try again in %d s", previewPerMin, int(wait.Seconds())+1)
		he.header = http.Header{"Retry-After": {strconv.Itoa(int(wait.Seconds()) + 1)}}
		return he
	}
	var in PreviewRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.Sample) > preview.MaxSampleBytes {
		return newHTTPError(http.StatusRequestEntityTooLarge, "sample_too_large", "the sample is %d bytes; a preview takes at most %d (5 MB): cut the file", len(in.Sample), preview.MaxSampleBytes)
	}
	if strings.TrimSpace(in.Sample) == "" {
		return newHTTPError(http.StatusBadRequest, "sample_required", "sample is empty: send the sample file's text")
	}
	doc, probs, err := s.checkDocument(r, a, in.Document, in.Format)
	if err != nil {
		return err
	}
	if doc != nil {
		probs = previewSeverity(doc, s.svc.Registry(), probs)
	}
	if doc == nil || hasErrors(probs) {
		writeJSON(w, http.StatusUnprocessableEntity, PreviewResponse{Problems: probs})
		return nil
	}
	res, err := preview.Run(r.Context(), preview.Request{
		Doc: doc, Registry: s.svc.Registry(), Sample: []byte(in.Sample), SampleName: in.SampleName,
		MaxRecords: in.MaxRecords, Logger: s.log,
	})
	if err != nil {
		if errors.Is(err, preview.ErrSampleTooLarge) {
			return newHTTPError(http.StatusRequestEntityTooLarge, "sample_too_large", "%s", err.Error())
		}
		msg := err.Error()
		// A compile error the checks did not catch is still the
		// document's problem, not the server's.
		writeJSON(w, http.StatusUnprocessableEntity, PreviewResponse{Problems: append(probs, DocumentProblem{Message: s.redactor.String(msg), Severity: "error"})})
		return nil
	}
	for i := range res.Warnings {
		res.Warnings[i] = s.redactor.String(res.Warnings[i])
	}
	writeJSON(w, http.StatusOK, PreviewResponse{Problems: probs, Result: res})
	return nil
}

// previewSeverity downgrades "no such Extension Configuration" to a
// warning: the preview resolves every reference to a placeholder.
func previewSeverity(doc *dataflow.Document, reg *block.Registry, probs []DocumentProblem) []DocumentProblem {
	refs := map[string]bool{}
	for _, ref := range dataflow.References(doc, reg) {
		refs[ref.Path] = true
	}
	for i, p := range probs {
		if refs[p.Path] && strings.Contains(p.Message, "does not exist") {
			probs[i].Severity = "warning"
			probs[i].Message = fmt.Sprintf("%s (the preview uses a placeholder)", p.Message)
		}
	}
	return probs
}
