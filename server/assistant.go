package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/connectplus/connectplus/assist/agent"
	"github.com/connectplus/connectplus/assist/tools"
	"github.com/connectplus/connectplus/control"
)

// assistantPerMin bounds assistant turns per user: each one costs model
// calls the organisation pays for.
const assistantPerMin = 20

// assistantStatus tells the UI whether the chat panel can work, and if not,
// why (no model configured).
func (s *Server) assistantStatus(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	st, err := s.assistant.Status(r.Context(), a)
	return reply(w, http.StatusOK, st, err)
}

// assistantTurn runs one chat turn of the canvas panel (or `connectplus ai
// draft`). It saves nothing: a proposal comes back to be accepted.
func (s *Server) assistantTurn(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	if wait := s.assistantLimit.Allow(a.UserID); wait > 0 {
		he := newHTTPError(http.StatusTooManyRequests, "rate_limited", "at most %d assistant requests a minute; try again in %d s", assistantPerMin, int(wait.Seconds())+1)
		he.header = http.Header{"Retry-After": {strconv.Itoa(int(wait.Seconds()) + 1)}}
		return he
	}
	var in agent.Request
	if err := decode(r, &in); err != nil {
		return err
	}
	res, err := s.assistant.Run(r.Context(), a, in)
	if err != nil {
		return assistantErr(err)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// assistantAccept saves an accepted proposal as a Draft (validated again;
// never submitted).
func (s *Server) assistantAccept(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in tools.Proposal
	if err := decode(r, &in); err != nil {
		return err
	}
	res, err := s.assistant.Accept(r.Context(), a, in)
	return reply(w, http.StatusCreated, res, err)
}

func assistantErr(err error) error {
	var me *agent.ModelError
	switch {
	case errors.Is(err, agent.ErrNotConfigured):
		return newHTTPError(http.StatusServiceUnavailable, "assistant_not_configured", "%s", err.Error())
	case errors.As(err, &me):
		return newHTTPError(http.StatusBadGateway, "model_failed", "%s", me.Msg)
	}
	return err
}
