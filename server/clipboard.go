package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/store"
)

// clipboardRoutes are copy/paste between organisations (spec §9.1): the
// caller's personal dataflow store. A copy belongs to the user who made
// it, whatever organisation the request is for; paste creates the Draft in
// the request's organisation (the token's, or the session's
// X-Connectplus-Org), where the caller must be an editor.
func (s *Server) clipboardRoutes() []route {
	const tClip = "clipboard"
	v, e := RoleViewer, RoleEditor
	cp := Base + "/clipboard/{copyID}"
	return []route{
		{method: "POST", path: Base + "/dataflows/{flowID}/versions/{number}/copy", tag: tClip, summary: "Copy a version into your personal dataflow store (description required; the trigger, the tags and any inline secret value are left out; the newest 10 copies are kept)",
			role: v, handler: s.copyVersion, body: control.CopyInput{}, resp: control.CopyResult{}, status: 201},
		{method: "GET", path: Base + "/clipboard", tag: tClip, summary: "Your personal dataflow store: your last 10 copies, from any organisation, newest first (no documents)", role: v, handler: s.listCopies, resp: []store.Copy{}, status: 200},
		{method: "GET", path: cp, tag: tClip, summary: "One of your copies with its document (another user's copy: 404)", role: v, handler: s.getCopy, resp: store.Copy{}, status: 200},
		{method: "DELETE", path: cp, tag: tClip, summary: "Remove one of your copies", role: v, handler: s.deleteCopy, status: 204},
		{method: "POST", path: cp + "/paste", tag: tClip, summary: "Paste one of your copies into this organisation as a new dataflow (version 1, Draft; editors), with the problems validation finds here (e.g. missing Extension Configurations)",
			role: e, handler: s.pasteCopy, body: control.PasteInput{}, resp: control.PasteResult{}, status: 201},
	}
}

func (s *Server) copyVersion(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	n, err := versionNumber(r)
	if err != nil {
		return err
	}
	var in control.CopyInput
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := s.svc.CopyVersion(r.Context(), a, chi.URLParam(r, "flowID"), n, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Base+"/clipboard/"+c.ID)
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (s *Server) listCopies(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	cs, err := s.svc.ListCopies(r.Context(), a)
	return reply(w, http.StatusOK, cs, err)
}

func (s *Server) getCopy(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	c, err := s.svc.GetCopy(r.Context(), a, chi.URLParam(r, "copyID"))
	return reply(w, http.StatusOK, c, err)
}

func (s *Server) deleteCopy(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return noContent(w, s.svc.DeleteCopy(r.Context(), a, chi.URLParam(r, "copyID")))
}

func (s *Server) pasteCopy(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in control.PasteInput
	if err := decode(r, &in); err != nil {
		return err
	}
	res, err := s.svc.Paste(r.Context(), a, chi.URLParam(r, "copyID"), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Base+"/dataflows/"+res.Dataflow.ID)
	writeJSON(w, http.StatusCreated, res)
	return nil
}
