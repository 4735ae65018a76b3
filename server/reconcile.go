package server

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/connectplus/connectplus/control"
)

func (s *Server) listReconciliations(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	limit, offset, err := pageParams(r, 100, 500)
	if err != nil {
		return err
	}
	p, err := s.svc.ListReconciliations(r.Context(), a, chi.URLParam(r, "flowID"), r.URL.Query().Get("runId"), limit, offset)
	return reply(w, http.StatusOK, p, err)
}

func (s *Server) getReconciliation(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	rec, err := s.svc.GetReconciliation(r.Context(), a, chi.URLParam(r, "reconID"))
	return reply(w, http.StatusOK, rec, err)
}

func (s *Server) listReconRecords(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	limit, offset, err := pageParams(r, 100, 500)
	if err != nil {
		return err
	}
	p, err := s.svc.ListReconRecords(r.Context(), a, chi.URLParam(r, "reconID"), r.URL.Query().Get("kind"), limit, offset)
	return reply(w, http.StatusOK, p, err)
}

// reconResults serves the server's copy of a reconciliation's results file
// (the source file plus CAP_API_STATUS). Like a run's result file, the
// path comes from the runtime, never from the request, and only a regular
// file is served, under a sanitised download name.
func (s *Server) reconResults(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	rec, err := s.svc.GetReconciliation(r.Context(), a, chi.URLParam(r, "reconID"))
	if err != nil {
		return err
	}
	if rec.ResultPath == "" {
		return fmt.Errorf("%w: the reconciliation kept no results file", control.ErrNotFound)
	}
	return s.serveResult(w, r, rec.ResultPath, downloadName("reconciled_"+rec.ResultName), "text/csv", "results file is gone (purged with the run's result files)")
}
