package server

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/store"
)

// documentedPublic are the routes anyone may call without credentials (see
// docs/SECURITY.md). A new public route fails TestAuthzMatrix until it is
// added here, deliberately.
var documentedPublic = map[string]string{
	"GET /healthz":                    "liveness and database check",
	"GET /metrics":                    "metrics, only with the metrics bearer token (404 without a configured token)",
	"GET /openapi.json":               "the API description",
	"POST /api/v1/auth/login":         "password login (throttled)",
	"POST /api/v1/invitations/accept": "redeeming an invitation code (throttled)",
	"POST /mcp":                       "the MCP endpoint: it authenticates every request itself, with an API token only (docs/mcp.md)",
}

// matrixActor is one user of one organisation with both credential kinds.
type matrixActor struct {
	user, password, role string
	org                  string // "own" (org A) or "other" (org B)
	session, token       *client
}

// fixture holds org A's objects, addressed by the matrix, and ids that
// exist nowhere.
type fixture struct {
	own, missing map[string]string
	// secrets are strings of org A that no answer to org B may contain.
	secrets []string
}

func (f fixture) path(rt route, ids map[string]string) string {
	p := rt.path
	if strings.Contains(p, "/role-requests/") {
		p = strings.Replace(p, "{requestID}", ids["roleRequestID"], 1)
	}
	for k, v := range ids {
		p = strings.ReplaceAll(p, "{"+k+"}", v)
	}
	return p
}

// orgScoped says whether a route addresses one object of an organisation
// by a path parameter (the block catalogue is global).
func orgScoped(rt route) bool {
	return strings.Contains(rt.path, "{") && !strings.Contains(rt.path, "{type}")
}

// TestAuthzMatrix walks the route table — so a new route is covered as soon
// as it exists — for viewer, editor and admin of two organisations, each
// with an API token (scoped to the role) and with a cookie session, and
// checks:
//
//   - below the route's minimum role: 403 naming the role;
//   - at or above it: never 401, and never a role refusal;
//   - another organisation's object: never 2xx, and the same answer as for
//     an id that does not exist (its existence does not leak); collection
//     routes never show the other organisation's objects;
//   - a cookie session without the CSRF header on a non-GET route: 403
//     csrf_failed, whatever the role;
//   - without credentials: 401, except the documented public routes, which
//     answer anonymously.
func TestAuthzMatrix(t *testing.T) {
	h := newHarness(t, sqliteURL(t))
	ctx := context.Background()
	root := h.login("admin", h.adminPassword) // platform administrator: setup only
	h.addUser(root, "admin2", "admin2-Password-1234", "admin")
	for _, u := range []string{"editor", "editor2", "viewer"} {
		role := strings.TrimSuffix(u, "2")
		h.addUser(root, u, u+"-Password-1234", role)
	}
	var orgB store.Org
	root.must(201, "POST", "/api/v1/orgs", map[string]string{"name": "org-b"}, &orgB)
	rootB := h.login("admin", h.adminPassword)
	rootB.org = orgB.ID
	for _, u := range []string{"viewerb", "editorb", "adminb"} {
		h.addUser(rootB, u, u+"-Password-1234", strings.TrimSuffix(u, "b"))
	}

	// Org A's objects.
	editor := h.login("editor", "editor-Password-1234")
	var cr store.ConfigRequest
	for _, c := range []struct {
		name, value string
		secret      bool
	}{{"sftp_host", "sftp.example.com", false}, {"sftp_password", secretValue, true}} {
		editor.must(201, "POST", "/api/v1/config-requests", map[string]any{"name": c.name, "value": c.value, "isSecret": c.secret}, &cr)
		root.must(200, "POST", "/api/v1/config-requests/"+cr.ID+"/approve", map[string]string{"comment": "ok"}, nil)
	}
	editor.must(201, "POST", "/api/v1/config-requests", map[string]any{"name": "matrix_only_a", "value": "pending"}, &cr)
	flow := createFlow(t, editor, "MatrixFlow-A", flowDoc("MatrixFlow-A", "/in"))
	run := runstate.Run{ID: "run_matrix_a", OrgID: flow.Dataflow.OrgID, FlowID: flow.Dataflow.ID, FlowName: "MatrixFlow-A", Started: time.Now(), Status: runstate.RunSuccess}
	if err := h.st.UpsertRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	// A reconciliation of the run, for the reconciliation routes.
	recon := runstate.Reconciliation{ID: "rcn_matrix_a", OrgID: run.OrgID, FlowID: run.FlowID, FlowName: run.FlowName, RunID: run.ID, Block: "map_fields",
		File: "bills.csv", Source: "sandbox", Started: time.Now(), Finished: time.Now(), ResultName: "bills.csv", ResultPath: filepath.Join(t.TempDir(), "bills.csv")}
	if err := os.WriteFile(recon.ResultPath, []byte("bill_number,CAP_API_STATUS\nB1,0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.st.SaveReconciliation(ctx, recon, func(yield func(runstate.ReconRecord) error) error {
		return yield(runstate.ReconRecord{Line: 2, Kind: runstate.ReconMissing, Key: map[string]string{"bill_number": "B1"}})
	}); err != nil {
		t.Fatal(err)
	}
	// A stored API call of the run, for the drill-down routes.
	if err := h.st.WriteMetrics(ctx, store.MetricsBatch{Requests: []store.RequestLog{{OrgID: run.OrgID, FlowID: run.FlowID, LineageID: run.ID,
		RequestID: run.ID + "-1", Block: "write", Endpoint: "POST https://api.example.com/v2/customers", Method: "POST", At: time.Now(), Status: 200}}}); err != nil {
		t.Fatal(err)
	}
	calls, err := h.st.ListRequests(ctx, store.RequestFilter{OrgID: run.OrgID, LineageID: run.ID})
	if err != nil || len(calls) != 1 {
		t.Fatalf("stored call: %v %v", calls, err)
	}
	// A copy in the editor's personal dataflow store (no one else reads it).
	var cp control.CopyResult
	editor.must(201, "POST", "/api/v1/dataflows/"+flow.Dataflow.ID+"/versions/1/copy", map[string]string{"description": "matrix"}, &cp)
	editor2 := h.login("editor2", "editor2-Password-1234")
	tokenClient(h, editor2, "target", "write")
	var tokens []store.APIToken
	editor2.must(200, "GET", "/api/v1/tokens", nil, &tokens)
	editor2ID := memberID(t, root, "editor2")
	var inv control.InvitationCreated
	root.must(201, "POST", "/api/v1/users", map[string]string{"username": "invited-a", "role": "viewer"}, &inv)
	admin2 := h.login("admin2", "admin2-Password-1234")
	var rc RoleChange
	admin2.must(202, "PUT", "/api/v1/users/"+editor2ID+"/role", map[string]string{"role": "admin"}, &rc)

	fx := fixture{
		own: map[string]string{"flowID": flow.Dataflow.ID, "number": "1", "name": "sftp_host", "userID": editor2ID, "tokenID": tokens[0].ID,
			"runID": run.ID, "requestID": cr.ID, "roleRequestID": rc.RoleRequest.ID, "invitationID": inv.Invitation.ID, "type": "src_read",
			"callID": fmt.Sprint(calls[0].ID), "copyID": cp.ID, "reconID": recon.ID},
		missing: map[string]string{"flowID": "flw_000000000000000000000000", "number": "1", "name": "no_such_entry", "userID": "usr_000000000000000000000000",
			"tokenID": "tok_000000000000000000000000", "runID": "run_none", "requestID": "cfr_000000000000000000000000", "roleRequestID": "rrq_000000000000000000000000",
			"invitationID": "inv_000000000000000000000000", "type": "src_read", "callID": "999999999", "copyID": "cpy_000000000000000000000000", "reconID": "rcn_000000000000000000000000"},
	}
	fx.secrets = []string{flow.Dataflow.ID, flow.Dataflow.OrgID, "MatrixFlow-A", run.ID, "matrix_only_a", cr.ID, tokens[0].ID, inv.Invitation.ID, rc.RoleRequest.ID, editor2ID, secretValue, cp.ID, recon.ID}

	scope := map[string]string{"viewer": store.ScopeRead, "editor": store.ScopeWrite, "admin": store.ScopeAdmin}
	actors := []*matrixActor{
		{user: "viewer", role: "viewer", org: "own"}, {user: "editor", role: "editor", org: "own"}, {user: "admin2", role: "admin", org: "own"},
		{user: "viewerb", role: "viewer", org: "other"}, {user: "editorb", role: "editor", org: "other"}, {user: "adminb", role: "admin", org: "other"},
	}
	// refresh gives an actor working credentials again (a route may have
	// ended its session or revoked its tokens).
	refresh := func(a *matrixActor) {
		t.Helper()
		if a.session == nil || a.session.do("GET", "/api/v1/auth/me", nil).code != 200 {
			a.session = h.login(a.user, a.user+"-Password-1234")
		}
		if a.token == nil || a.token.do("GET", "/api/v1/auth/me", nil).code != 200 {
			a.token = tokenClient(h, a.session, fmt.Sprintf("matrix-%d", time.Now().UnixNano()), scope[a.role])
		}
	}
	for _, a := range actors {
		refresh(a)
	}

	body := func(rt route) any {
		if rt.method == "GET" || rt.method == "DELETE" {
			return nil
		}
		return "{}"
	}
	rank := map[string]int{"viewer": 1, "editor": 2, "admin": 3}
	public := map[string]bool{}
	checked := 0
	for _, rt := range h.srv.routeTable() {
		key := rt.method + " " + rt.path
		if rt.public != nil {
			public[key] = true
			if _, ok := documentedPublic[key]; !ok {
				t.Errorf("%s is public but not documented as such (documentedPublic, docs/SECURITY.md)", key)
			}
			r := h.anon().do(rt.method, fx.path(rt, fx.own), body(rt))
			// /metrics and /mcp check their own bearer tokens (the metrics
			// token; an API token, tested in mcp_test.go).
			if r.code == 401 && r.errCode(t) == "unauthenticated" && rt.path != "/metrics" && rt.path != MCPPath {
				t.Errorf("public %s asks for credentials: %d %s", key, r.code, r.body)
			}
			continue
		}
		if r := h.anon().do(rt.method, fx.path(rt, fx.own), body(rt)); r.code != 401 {
			t.Errorf("%s without credentials: %d %s", key, r.code, r.body)
		}
		minRole := rt.role
		if minRole == "" {
			minRole = "viewer"
		}
		for _, a := range actors {
			for _, kind := range []string{"token", "session"} {
				c := a.token
				if kind == "session" {
					c = a.session
				}
				who := fmt.Sprintf("%s %s (%s of the %s org, %s)", rt.method, rt.path, a.role, a.org, kind)
				checked++
				if a.org == "own" {
					r := c.do(rt.method, fx.path(rt, fx.own), body(rt))
					roleRefusal := r.code == 403 && strings.Contains(string(r.body), "role (you have")
					switch {
					case rank[a.role] < rank[minRole]:
						if r.code != 403 || r.errCode(t) != "forbidden" || !roleRefusal {
							t.Errorf("%s: below the %s role, want 403: %d %s", who, minRole, r.code, r.body)
						}
					case r.code == 401 || roleRefusal:
						t.Errorf("%s: allowed by role, got %d %s", who, r.code, r.body)
					}
				} else {
					if orgScoped(rt) {
						r := c.do(rt.method, fx.path(rt, fx.own), body(rt))
						if r.code >= 200 && r.code < 300 {
							t.Errorf("%s: another organisation's object answered %d %s", who, r.code, r.body)
						} else if m := c.do(rt.method, fx.path(rt, fx.missing), body(rt)); m.code != r.code || (r.code >= 400 && m.errCode(t) != r.errCode(t)) {
							t.Errorf("%s: another organisation's object (%d %s) answers unlike a missing one (%d %s)", who, r.code, r.body, m.code, m.body)
						}
					} else {
						r := c.do(rt.method, fx.path(rt, fx.own), body(rt))
						for _, s := range fx.secrets {
							if strings.Contains(string(r.body), s) {
								t.Errorf("%s: the answer shows %q of the other organisation: %.300s", who, s, r.body)
							}
						}
					}
				}
				if rt.method != http.MethodGet {
					refresh(a)
				}
			}
			// A cookie session without the CSRF header changes nothing.
			if rt.method != http.MethodGet {
				noCSRF := *a.session
				noCSRF.csrf = ""
				if r := noCSRF.do(rt.method, fx.path(rt, fx.own), body(rt)); r.code != 403 || r.errCode(t) != "csrf_failed" {
					t.Errorf("%s %s (%s of the %s org, session without CSRF): %d %s", rt.method, rt.path, a.role, a.org, r.code, r.body)
				}
			}
		}
	}
	var missing []string
	for k := range documentedPublic {
		if !public[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("documented as public but not public routes: %v", missing)
	}
	if checked < 6*2*50 {
		t.Fatalf("only %d combinations checked", checked)
	}
}
