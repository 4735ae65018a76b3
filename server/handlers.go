package server

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/store"
)

func badParam(name, format string, a ...any) error {
	he := newHTTPError(http.StatusBadRequest, "invalid_parameter", "%s: %s", name, fmt.Sprintf(format, a...))
	he.fields = []FieldError{{Path: name, Message: fmt.Sprintf(format, a...)}}
	return he
}

func intParam(r *http.Request, name string, def, max int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || (max > 0 && n > max) {
		if max > 0 {
			return 0, badParam(name, "must be an integer between 0 and %d", max)
		}
		return 0, badParam(name, "must be a non-negative integer")
	}
	return n, nil
}

func timeParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, badParam(name, "must be an RFC 3339 time")
	}
	return t, nil
}

// pageParams reads a list's ?limit (def when absent, at most max) and
// ?cursor (the offset the previous page's Next gave).
func pageParams(r *http.Request, def, max int) (limit, offset int, err error) {
	if limit, err = intParam(r, "limit", def, max); err != nil {
		return 0, 0, err
	}
	if offset, err = intParam(r, "cursor", 0, 0); err != nil {
		return 0, 0, err
	}
	return limit, offset, nil
}

// sinceUntil reads a list's optional ?since and ?until (RFC 3339).
func sinceUntil(r *http.Request) (since, until time.Time, err error) {
	if since, err = timeParam(r, "since"); err != nil {
		return time.Time{}, time.Time{}, err
	}
	if until, err = timeParam(r, "until"); err != nil {
		return time.Time{}, time.Time{}, err
	}
	return since, until, nil
}

// decisionComment reads the optional {"comment": …} body that approving or
// rejecting a role or config request may carry.
func decisionComment(r *http.Request) (string, error) {
	var in CommentRequest
	err := optionalBody(r, &in)
	return in.Comment, err
}

func versionNumber(r *http.Request) (int, error) {
	n, err := strconv.Atoi(chi.URLParam(r, "number"))
	if err != nil || n <= 0 {
		return 0, badParam("number", "version number must be a positive integer")
	}
	return n, nil
}

func etag(rev int64) string { return `"r` + strconv.FormatInt(rev, 10) + `"` }

// ifMatch reads the revision from If-Match ("r3" or W/"r3"), 0 when absent.
func ifMatch(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, nil
	}
	h = strings.TrimPrefix(h, "W/")
	h = strings.Trim(h, `"`)
	n, err := strconv.ParseInt(strings.TrimPrefix(h, "r"), 10, 64)
	if err != nil || n <= 0 {
		return 0, badParam("If-Match", "must be an ETag returned by this API")
	}
	return n, nil
}

// revisionOf merges If-Match and a body revision; they must agree.
func revisionOf(r *http.Request, body int64) (int64, error) {
	h, err := ifMatch(r)
	if err != nil {
		return 0, err
	}
	if h != 0 && body != 0 && h != body {
		return 0, badParam("revision", "If-Match and revision disagree")
	}
	if h != 0 {
		return h, nil
	}
	return body, nil
}

func (s *Server) listOrgs(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	ms, err := s.svc.Orgs(r.Context(), a)
	return reply(w, http.StatusOK, nonNil(ms), err)
}

func (s *Server) createOrg(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in control.CreateOrgInput
	if err := decode(r, &in); err != nil {
		return err
	}
	o, err := s.svc.CreateOrg(r.Context(), a, in)
	return reply(w, http.StatusCreated, o, err)
}

func (s *Server) currentOrg(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	o, err := s.svc.Org(r.Context(), a)
	return reply(w, http.StatusOK, o, err)
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	ms, err := s.svc.Members(r.Context(), a)
	return reply(w, http.StatusOK, nonNil(ms), err)
}

func (s *Server) addUser(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in control.InviteInput
	if err := decode(r, &in); err != nil {
		return err
	}
	res, err := s.svc.Invite(r.Context(), a, in)
	return reply(w, http.StatusCreated, res, err)
}

// RoleChange answers PUT /users/{userID}/role: the membership, and the
// pending request when the admin role waits for another admin (202).
type RoleChange struct {
	Membership  store.Membership   `json:"membership"`
	RoleRequest *store.RoleRequest `json:"roleRequest,omitempty"`
}

func (s *Server) setRole(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in RoleRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	m, req, err := s.svc.SetRole(r.Context(), a, chi.URLParam(r, "userID"), in.Role)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if req != nil {
		status = http.StatusAccepted
	}
	writeJSON(w, status, RoleChange{Membership: m, RoleRequest: req})
	return nil
}

func (s *Server) listInvitations(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	is, err := s.svc.ListInvitations(r.Context(), a)
	return reply(w, http.StatusOK, nonNil(is), err)
}

func (s *Server) revokeInvitation(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return noContent(w, s.svc.RevokeInvitation(r.Context(), a, chi.URLParam(r, "invitationID")))
}

// acceptInvitation is public: the code is the credential. Failures are
// throttled per client address like logins, since a code for an existing
// account is redeemed with that account's password.
func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request) {
	var in control.AcceptInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	key := "invitation|" + clientIP(r)
	if wait := s.throttle.wait(key); wait > 0 {
		he := newHTTPError(http.StatusTooManyRequests, "too_many_attempts", "too many failed attempts; try again in %d seconds", secs(wait))
		he.header = http.Header{"Retry-After": {strconv.Itoa(secs(wait))}}
		s.fail(w, r, he)
		return
	}
	m, err := s.svc.AcceptInvitation(r.Context(), in)
	if errors.Is(err, control.ErrInvitation) {
		s.throttle.failure(key)
		s.fail(w, r, newHTTPError(http.StatusBadRequest, "invalid_invitation", "%s", control.ErrInvitation.Error()))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.throttle.success(key)
	if info := infoFrom(r.Context()); info != nil {
		info.user, info.org = m.Username, m.OrgID
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) listRoleRequests(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	rs, err := s.svc.ListRoleRequests(r.Context(), a, r.URL.Query().Get("status"))
	return reply(w, http.StatusOK, nonNil(rs), err)
}

func (s *Server) approveRoleRequest(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	comment, err := decisionComment(r)
	if err != nil {
		return err
	}
	rr, err := s.svc.ApproveRoleRequest(r.Context(), a, chi.URLParam(r, "requestID"), comment)
	return reply(w, http.StatusOK, rr, err)
}

func (s *Server) rejectRoleRequest(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	comment, err := decisionComment(r)
	if err != nil {
		return err
	}
	return noContent(w, s.svc.RejectRoleRequest(r.Context(), a, chi.URLParam(r, "requestID"), comment))
}

func (s *Server) removeUser(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return noContent(w, s.svc.RemoveMember(r.Context(), a, chi.URLParam(r, "userID")))
}

// ResetPasswordRequest is an admin-forced password reset.
type ResetPasswordRequest struct {
	NewPassword string `json:"newPassword"`
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in ResetPasswordRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	return noContent(w, s.svc.ResetPassword(r.Context(), a, chi.URLParam(r, "userID"), in.NewPassword))
}

// RevokedTokens says how many tokens POST /tokens/revoke-all revoked.
type RevokedTokens struct {
	Revoked int `json:"revoked"`
}

func (s *Server) revokeAllTokens(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	n, err := s.svc.RevokeMyTokens(r.Context(), a)
	return reply(w, http.StatusOK, RevokedTokens{Revoked: n}, err)
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	ts, err := s.svc.ListTokens(r.Context(), a, r.URL.Query().Get("all") == "true")
	return reply(w, http.StatusOK, nonNil(ts), err)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in control.CreateTokenInput
	if err := decode(r, &in); err != nil {
		return err
	}
	secret, t, err := s.svc.CreateToken(r.Context(), a, in)
	return reply(w, http.StatusCreated, TokenCreated{Token: secret, APIToken: t}, err)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return noContent(w, s.svc.RevokeToken(r.Context(), a, chi.URLParam(r, "tokenID")))
}

func (s *Server) listFlows(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	q := r.URL.Query()
	f := store.FlowFilter{Status: q.Get("status"), Tag: q.Get("tag"), Name: q.Get("name")}
	switch q.Get("deactivated") {
	case "":
	case "true", "false":
		d := q.Get("deactivated") == "true"
		f.Deactivated = &d
	default:
		return badParam("deactivated", "must be true or false")
	}
	var err error
	if f.Limit, f.Offset, err = pageParams(r, 50, 200); err != nil {
		return err
	}
	if v := q.Get("sort"); v != "" {
		f.Sort, f.Desc = strings.TrimPrefix(v, "-"), strings.HasPrefix(v, "-")
		if !slices.Contains(store.FlowSorts, f.Sort) {
			return badParam("sort", "must be one of %s, optionally prefixed by - (descending)", strings.Join(store.FlowSorts, ", "))
		}
	}
	p, err := s.svc.ListDataflows(r.Context(), a, f)
	if err != nil {
		return err
	}
	out := control.Page[FlowListItem]{Items: make([]FlowListItem, len(p.Items)), Next: p.Next}
	for i, d := range p.Items {
		out.Items[i].Dataflow = d
	}
	if err := s.todayFigures(r.Context(), a, out.Items); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createFlow(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in control.CreateFlowInput
	if err := decode(r, &in); err != nil {
		return err
	}
	res, err := s.svc.CreateDataflow(r.Context(), a, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Base+"/dataflows/"+res.Dataflow.ID)
	writeJSON(w, http.StatusCreated, res)
	return nil
}

func (s *Server) importFlow(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in control.CreateFlowInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Document == "" {
		return newHTTPError(http.StatusBadRequest, "validation_failed", "document is required")
	}
	res, err := s.svc.CreateDataflow(r.Context(), a, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Base+"/dataflows/"+res.Dataflow.ID)
	writeJSON(w, http.StatusCreated, res)
	return nil
}

func (s *Server) getFlow(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	f, err := s.svc.GetDataflow(r.Context(), a, chi.URLParam(r, "flowID"))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(f.Revision))
	writeJSON(w, http.StatusOK, f)
	return nil
}

func (s *Server) patchFlow(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in control.UpdateFlowInput
	if err := decode(r, &in); err != nil {
		return err
	}
	rev, err := revisionOf(r, in.Revision)
	if err != nil {
		return err
	}
	in.Revision = rev
	f, err := s.svc.UpdateDataflow(r.Context(), a, chi.URLParam(r, "flowID"), in)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(f.Revision))
	writeJSON(w, http.StatusOK, f)
	return nil
}

func (s *Server) setActive(active bool) func(http.ResponseWriter, *http.Request, control.Actor) error {
	return func(w http.ResponseWriter, r *http.Request, a control.Actor) error {
		f, err := s.svc.SetActive(r.Context(), a, chi.URLParam(r, "flowID"), active)
		return reply(w, http.StatusOK, f, err)
	}
}

func (s *Server) putDraft(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in control.SaveInput
	if err := decode(r, &in); err != nil {
		return err
	}
	rev, err := revisionOf(r, in.Revision)
	if err != nil {
		return err
	}
	in.Revision = rev
	res, err := s.svc.PutDraft(r.Context(), a, chi.URLParam(r, "flowID"), in)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(res.Version.Revision))
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) diff(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	from, err := intParam(r, "from", 0, 0)
	if err != nil {
		return err
	}
	to, err := intParam(r, "to", 0, 0)
	if err != nil {
		return err
	}
	if from == 0 || to == 0 {
		return badParam("from", "from and to are required version numbers")
	}
	d, err := s.svc.Diff(r.Context(), a, chi.URLParam(r, "flowID"), from, to)
	return reply(w, http.StatusOK, d, err)
}

func (s *Server) listVersions(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	vs, err := s.svc.ListVersions(r.Context(), a, chi.URLParam(r, "flowID"))
	return reply(w, http.StatusOK, nonNil(vs), err)
}

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	n, err := versionNumber(r)
	if err != nil {
		return err
	}
	v, err := s.svc.GetVersion(r.Context(), a, chi.URLParam(r, "flowID"), n)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(v.Revision))
	writeJSON(w, http.StatusOK, s.versionView(v))
	return nil
}

// versionView adds the document's warnings to a version.
func (s *Server) versionView(v store.Version) VersionView {
	return VersionView{Version: v, Warnings: s.svc.DocumentWarnings(v.Document)}
}

func (s *Server) saveVersion(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	n, err := versionNumber(r)
	if err != nil {
		return err
	}
	var in control.SaveInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Revision, err = revisionOf(r, in.Revision); err != nil {
		return err
	}
	res, err := s.svc.SaveDraft(r.Context(), a, chi.URLParam(r, "flowID"), n, in)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(res.Version.Revision))
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) validateVersion(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	n, err := versionNumber(r)
	if err != nil {
		return err
	}
	probs, err := s.svc.ValidateVersion(r.Context(), a, chi.URLParam(r, "flowID"), n)
	if err != nil {
		return err
	}
	// ValidateVersion has read the version already (and 404s for another
	// organisation's), so this second read only fetches the text.
	v, err := s.svc.GetVersion(r.Context(), a, chi.URLParam(r, "flowID"), n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ValidateResponse{Valid: len(probs) == 0, Problems: probs, Warnings: s.svc.DocumentWarnings(v.Document)})
	return nil
}

// versionAction runs a lifecycle action on {flowID}/{number}.
func (s *Server) versionAction(w http.ResponseWriter, r *http.Request, fn func(flowID string, n int) (store.Version, error)) error {
	n, err := versionNumber(r)
	if err != nil {
		return err
	}
	v, err := fn(chi.URLParam(r, "flowID"), n)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(v.Revision))
	writeJSON(w, http.StatusOK, s.versionView(v))
	return nil
}

// optionalBody decodes a body when one was sent.
func optionalBody(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return decode(r, v)
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	return s.versionAction(w, r, func(id string, n int) (store.Version, error) { return s.svc.Submit(r.Context(), a, id, n, rev) })
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in DecisionRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	return s.versionAction(w, r, func(id string, n int) (store.Version, error) { return s.svc.Approve(r.Context(), a, id, n, in.Reason) })
}

func (s *Server) reject(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in DecisionRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	return s.versionAction(w, r, func(id string, n int) (store.Version, error) { return s.svc.Reject(r.Context(), a, id, n, in.Comment) })
}

func (s *Server) reopen(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.versionAction(w, r, func(id string, n int) (store.Version, error) { return s.svc.Reopen(r.Context(), a, id, n) })
}

func (s *Server) live(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.versionAction(w, r, func(id string, n int) (store.Version, error) { return s.svc.MakeLive(r.Context(), a, id, n) })
}

func (s *Server) export(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	n, err := versionNumber(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	data, name, err := s.svc.Export(r.Context(), a, chi.URLParam(r, "flowID"), n, format, r.URL.Query().Get("filename"))
	if err != nil {
		return err
	}
	ct := "application/yaml"
	if format == "json" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return nil
}

func (s *Server) operate(op string) func(http.ResponseWriter, *http.Request, control.Actor) error {
	return func(w http.ResponseWriter, r *http.Request, a control.Actor) error {
		st, err := s.svc.Operate(r.Context(), a, chi.URLParam(r, "flowID"), op)
		return reply(w, http.StatusOK, st, err)
	}
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	st, err := s.svc.Status(r.Context(), a, chi.URLParam(r, "flowID"))
	return reply(w, http.StatusOK, st, err)
}

func (s *Server) summary(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	window := 24 * time.Hour
	if v := r.URL.Query().Get("window"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return badParam("window", "must be a duration such as 24h or 720h")
		}
		window = d
	}
	sum, err := s.svc.Summary(r.Context(), a, chi.URLParam(r, "flowID"), window)
	return reply(w, http.StatusOK, sum, err)
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	q := r.URL.Query()
	f := runstate.RunFilter{FlowID: q.Get("flowId"), Status: q.Get("status")}
	var err error
	if f.Since, f.Until, err = sinceUntil(r); err != nil {
		return err
	}
	if f.Limit, f.Offset, err = pageParams(r, 100, 500); err != nil {
		return err
	}
	p, err := s.svc.ListRuns(r.Context(), a, f)
	return reply(w, http.StatusOK, p, err)
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	run, err := s.svc.GetRun(r.Context(), a, chi.URLParam(r, "runID"))
	return reply(w, http.StatusOK, run, err)
}

// runResult serves the run's local result file. The path comes from the
// runtime, never from the request; only a regular file is served, under a
// sanitised download name.
func (s *Server) runResult(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	run, err := s.svc.GetRun(r.Context(), a, chi.URLParam(r, "runID"))
	if err != nil {
		return err
	}
	if run.ResultPath == "" {
		return fmt.Errorf("%w: run has no result file", control.ErrNotFound)
	}
	name := run.ResultName
	if name == "" {
		name = path.Base(filepath.ToSlash(run.ResultPath))
	}
	return s.serveResult(w, r, run.ResultPath, downloadName(name), "application/octet-stream", "result file is gone")
}

// serveResult serves a kept result file: a local regular file (with
// ranges), or an object of the cluster's shared store, streamed.
func (s *Server) serveResult(w http.ResponseWriter, r *http.Request, ref, name, ctype, gone string) error {
	if strings.HasPrefix(ref, "s3://") {
		if s.openResult == nil {
			return fmt.Errorf("%w: %s (kept on a shared store this server is not configured with)", control.ErrNotFound, gone)
		}
		rc, err := s.openResult(r.Context(), ref)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%w: %s", control.ErrNotFound, gone)
			}
			return fmt.Errorf("opening the result file on the shared store: %w", err)
		}
		defer rc.Close()
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
		w.Header().Set("Content-Type", ctype)
		if _, err := io.Copy(w, rc); err != nil {
			s.log.Warn("serving a result file from the shared store", "err", err)
		}
		return nil
	}
	f, err := os.Open(ref)
	if err != nil {
		return fmt.Errorf("%w: %s", control.ErrNotFound, gone)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("%w: %s", control.ErrNotFound, gone)
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	w.Header().Set("Content-Type", ctype)
	http.ServeContent(w, r, "", st.ModTime(), f)
	return nil
}

func (s *Server) listConfigs(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	cs, err := s.svc.ListConfigs(r.Context(), a)
	return reply(w, http.StatusOK, cs, err)
}

func (s *Server) getConfig(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	c, err := s.svc.GetConfig(r.Context(), a, chi.URLParam(r, "name"))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(c.Revision))
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) syncConfig(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	res, err := s.svc.Sync(r.Context(), a, control.SyncInput{Name: chi.URLParam(r, "name")})
	return reply(w, http.StatusOK, res, err)
}

func (s *Server) syncFlow(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	res, err := s.svc.Sync(r.Context(), a, control.SyncInput{FlowID: chi.URLParam(r, "flowID")})
	return reply(w, http.StatusOK, res, err)
}

func (s *Server) listConfigRequests(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	rs, err := s.svc.ListConfigRequests(r.Context(), a, r.URL.Query().Get("status"))
	return reply(w, http.StatusOK, rs, err)
}

func (s *Server) requestConfig(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in control.ConfigRequestInput
	if err := decode(r, &in); err != nil {
		return err
	}
	req, err := s.svc.RequestConfig(r.Context(), a, in)
	return reply(w, http.StatusCreated, req, err)
}

func (s *Server) approveConfig(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	comment, err := decisionComment(r)
	if err != nil {
		return err
	}
	c, err := s.svc.ApproveConfigRequest(r.Context(), a, chi.URLParam(r, "requestID"), comment)
	return reply(w, http.StatusOK, c, err)
}

func (s *Server) rejectConfig(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	comment, err := decisionComment(r)
	if err != nil {
		return err
	}
	return noContent(w, s.svc.RejectConfigRequest(r.Context(), a, chi.URLParam(r, "requestID"), comment))
}

func auditFilter(r *http.Request) (store.AuditFilter, error) {
	q := r.URL.Query()
	f := store.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), ObjectType: q.Get("objectType"), ObjectID: q.Get("objectId")}
	var err error
	if f.Since, f.Until, err = sinceUntil(r); err != nil {
		return f, err
	}
	return f, nil
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	if f.Limit, err = intParam(r, "limit", 100, 1000); err != nil {
		return err
	}
	cur, err := intParam(r, "cursor", 0, 0)
	if err != nil {
		return err
	}
	f.BeforeSeq = int64(cur)
	p, err := s.svc.ListAudit(r.Context(), a, f)
	return reply(w, http.StatusOK, p, err)
}

func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	switch format {
	case "", "jsonl":
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Content-Disposition", `attachment; filename="audit.jsonl"`)
		enc := json.NewEncoder(w)
		return s.svc.EachAudit(r.Context(), a, f, func(e store.AuditEntry) error { return enc.Encode(e) })
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="audit.csv"`)
		cw := csv.NewWriter(w)
		if err := cw.Write([]string{"seq", "at", "actor", "action", "objectType", "objectId", "before", "after", "requestId"}); err != nil {
			return err
		}
		err := s.svc.EachAudit(r.Context(), a, f, func(e store.AuditEntry) error {
			return cw.Write([]string{strconv.FormatInt(e.Seq, 10), e.At.Format(time.RFC3339Nano), csvSafe(e.Actor), e.Action, e.ObjectType, e.ObjectID,
				csvSafe(string(e.Before)), csvSafe(string(e.After)), e.RequestID})
		})
		cw.Flush()
		if err != nil {
			return err
		}
		return cw.Error()
	default:
		return badParam("format", "must be jsonl or csv")
	}
}

// csvSafe defuses spreadsheet formula injection in exported cells.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// downloadName keeps letters, digits, '.', '-' and '_' of a file name and
// never yields "." or ".." or a leading dot.
func downloadName(name string) string {
	var b strings.Builder
	for _, r := range filepath.Base(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := strings.TrimLeft(b.String(), ".")
	if out == "" {
		return "result"
	}
	return out
}
