package sandbox

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// KindAudienceReload is the entity an Iris FTP audience reload leaves.
const KindAudienceReload = "audience_reload"

// irisRoutes serves Iris's audience refresh (spec §2.5.8): the call
// iris_ftp_audience_refresh makes after the list's file is on FTP/S3. Iris
// identifies the org with the X_CAP_ORG header and takes an opaque X_CAP_CT
// token (optional in practice), not the OAuth token, so the route is open;
// faults apply as elsewhere.
func (s *Server) irisRoutes() {
	for _, p := range []string{"/v2/audience/ftp/reload", "/iris/v2/audience/ftp/reload"} {
		for _, m := range []string{"POST", "GET"} {
			s.handle(m+" "+p, routeOpen, s.handleAudienceReload)
		}
	}
}

// header reads a header by the names Iris clients use for it.
func header(r *http.Request, names ...string) string {
	for _, n := range names {
		if v := r.Header.Values(n); len(v) > 0 && strings.TrimSpace(v[0]) != "" {
			return strings.TrimSpace(v[0])
		}
		// Names with underscores are kept as written by some clients;
		// net/http canonicalises only the names it knows to be valid.
		for k, v := range r.Header {
			if strings.EqualFold(k, n) && len(v) > 0 && strings.TrimSpace(v[0]) != "" {
				return strings.TrimSpace(v[0])
			}
		}
	}
	return ""
}

func (s *Server) handleAudienceReload(w http.ResponseWriter, r *http.Request, body []byte) {
	org := header(r, "X_CAP_ORG", "X-CAP-ORG")
	token := header(r, "X_CAP_CT", "X-CAP-CT")
	st := s.st.Load()
	fail := func(status, code int, msg string) {
		st.mu.Lock()
		st.rejectLocked()
		st.mu.Unlock()
		writeJSON(w, status, map[string]any{"status": map[string]any{"success": false, "code": code, "message": msg}})
	}
	if org == "" {
		fail(http.StatusUnauthorized, 401, "X_CAP_ORG header (org id) missing")
		return
	}
	if _, err := strconv.ParseInt(org, 10, 64); err != nil {
		fail(http.StatusBadRequest, 400, "X_CAP_ORG must be the numeric org id, got "+strconv.Quote(org))
		return
	}
	params := map[string]string{}
	for k, v := range r.URL.Query() {
		params[k] = v[0]
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			fail(http.StatusBadRequest, 400, "Malformed JSON body")
			return
		}
		for k, v := range m {
			if str, ok := v.(string); ok {
				params[k] = str
			}
		}
	}
	name := params["audienceName"]
	if name == "" {
		name = params["listName"]
	}
	switch {
	case name == "":
		fail(http.StatusBadRequest, 400, "audienceName missing: the name of the Engage+ audience list to reload")
		return
	case strings.ContainsAny(name, " \t"):
		fail(http.StatusBadRequest, 400, "audience list names have no spaces (FTP_Test, not FTP Test): "+strconv.Quote(name))
		return
	}
	file := params["fileName"]
	st.mu.Lock()
	st.receiveLocked("")
	attrs := map[string]string{"audienceName": name, "fileName": file, "filePath": params["filePath"], "orgId": org, "token": token}
	raw, _ := json.Marshal(params)
	id := st.acceptLocked(KindAudienceReload, "", r.Method+" "+r.URL.Path, raw, attrs, s.cfg.Now())
	st.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"status":       map[string]any{"success": true, "code": 200, "message": "Audience reload triggered"},
		"requestId":    strconv.FormatInt(id, 10),
		"audienceName": name,
		"fileName":     file,
	})
}
