package server

import (
	"net/http"

	"github.com/connectplus/connectplus/assist/agent"
	"github.com/connectplus/connectplus/assist/tools"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/store"
)

// route is one endpoint: the router and the OpenAPI document are both built
// from this table, so the documentation cannot drift from the routes.
type route struct {
	method  string
	path    string
	tag     string
	summary string
	// role is the minimum role; "" with public == nil means any
	// authenticated user.
	role    string
	public  http.Handler
	handler func(http.ResponseWriter, *http.Request, control.Actor) error
	query   []param
	body    any
	resp    any
	status  int
	// produces names a non-JSON response media type.
	produces string
	// maxBody raises the body limit for this (parameterless) path.
	maxBody int64
}

type param struct {
	name, desc string
	integer    bool
}

// Base is the API prefix.
const Base = "/api/v1"

var (
	pLimit  = param{name: "limit", desc: "page size", integer: true}
	pCursor = param{name: "cursor", desc: "the `next` value of the previous page"}
)

func (s *Server) routeTable() []route {
	const (
		tAuth   = "auth"
		tOrgs   = "organisations"
		tUsers  = "users"
		tTokens = "tokens"
		tFlows  = "dataflows"
		tVers   = "versions"
		tRT     = "runtime"
		tCfg    = "configurations"
		tAudit  = "audit"
		tRuns   = "runs"
		tRec    = "reconciliation"
		tOps    = "operations"
		tBlocks = "blocks"
		tEdit   = "editor"
		tAI     = "assistant"
		tTmpl   = "templates"
	)
	v := RoleViewer
	e := RoleEditor
	ad := RoleAdmin
	fv := Base + "/dataflows/{flowID}/versions/{number}"
	rts := []route{
		{method: "GET", path: "/healthz", tag: tOps, summary: "Liveness and database check (public)", public: http.HandlerFunc(s.health), resp: map[string]string{}, status: 200},
		{method: "GET", path: "/metrics", tag: tOps, summary: "Prometheus metrics (Authorization: Bearer <metrics token>; 404 without a configured token: use the metrics listener)", public: s.apiMetrics(), status: 200, produces: "text/plain"},
		{method: "POST", path: MCPPath, tag: tAI, summary: "Model Context Protocol server (streamable HTTP, stateless, JSON responses): the assistant tools, resources and prompts. Authorization: Bearer <API token> on every request; the token's organisation and role bound every tool (docs/mcp.md)",
			public: s.mcpHandler(), status: 200, resp: map[string]any{}, maxBody: previewMaxBody},
		{method: "GET", path: "/openapi.json", tag: tOps, summary: "This OpenAPI 3.1 document (public)", public: http.HandlerFunc(s.serveOpenAPI), status: 200, resp: map[string]any{}},

		{method: "POST", path: Base + "/auth/login", tag: tAuth, summary: "Password login: sets the session cookie and returns the CSRF token (public, throttled)",
			public: http.HandlerFunc(s.login), body: LoginRequest{}, resp: LoginResponse{}, status: 200},
		{method: "POST", path: Base + "/auth/logout", tag: tAuth, summary: "End the session", role: v, handler: s.logout, status: 204},
		{method: "GET", path: Base + "/auth/me", tag: tAuth, summary: "The caller, their role and organisations", role: v, handler: s.me, resp: MeResponse{}, status: 200},
		{method: "POST", path: Base + "/auth/password", tag: tAuth, summary: "Change the caller's password (ends their sessions; revokeTokens: also revokes all their API tokens)", role: v, handler: s.changePassword, body: PasswordRequest{}, status: 204},

		{method: "GET", path: Base + "/orgs", tag: tOrgs, summary: "Organisations the caller belongs to", role: v, handler: s.listOrgs, resp: []store.Membership{}, status: 200},
		{method: "POST", path: Base + "/orgs", tag: tOrgs, summary: "Create an organisation (platform administrators)", role: v, handler: s.createOrg, body: control.CreateOrgInput{}, resp: store.Org{}, status: 201},
		{method: "GET", path: Base + "/org", tag: tOrgs, summary: "The current organisation", role: v, handler: s.currentOrg, resp: store.Org{}, status: 200},

		{method: "GET", path: Base + "/users", tag: tUsers, summary: "Members of the organisation and their roles", role: v, handler: s.listUsers, resp: []store.Membership{}, status: 200},
		{method: "POST", path: Base + "/users", tag: tUsers, summary: "Invite someone under a username: returns a one-time code they redeem at /invitations/accept (the same answer whether the username exists or not; the admin role by an org admin waits for another admin's approval)",
			role: ad, handler: s.addUser, body: control.InviteInput{}, resp: control.InvitationCreated{}, status: 201},
		{method: "PUT", path: Base + "/users/{userID}/role", tag: tUsers, summary: "Change a member's role (making an admin: 202 with a role request another admin approves, unless you are a platform administrator)",
			role: ad, handler: s.setRole, body: RoleRequest{}, resp: RoleChange{}, status: 200},
		{method: "POST", path: Base + "/users/{userID}/password", tag: tUsers, summary: "Force a member's password reset: ends their sessions and revokes all their API tokens (not admins, nor members of organisations you do not administer, unless platform administrator)",
			role: ad, handler: s.resetPassword, body: ResetPasswordRequest{}, status: 204},
		{method: "DELETE", path: Base + "/users/{userID}", tag: tUsers, summary: "Remove a member from the organisation", role: ad, handler: s.removeUser, status: 204},

		{method: "GET", path: Base + "/invitations", tag: tUsers, summary: "The organisation's invitations (codes are never shown again)", role: ad, handler: s.listInvitations, resp: []store.Invitation{}, status: 200},
		{method: "DELETE", path: Base + "/invitations/{invitationID}", tag: tUsers, summary: "Revoke an invitation not yet redeemed", role: ad, handler: s.revokeInvitation, status: 204},
		{method: "POST", path: Base + "/invitations/accept", tag: tUsers, summary: "Redeem an invitation code: creates the account, or joins an existing one given its password (public, throttled; one answer for every failure)",
			public: http.HandlerFunc(s.acceptInvitation), body: control.AcceptInput{}, resp: store.Membership{}, status: 200},
		{method: "GET", path: Base + "/role-requests", tag: tUsers, summary: "Admin grants waiting for (or decided by) a second admin", role: ad, handler: s.listRoleRequests,
			query: []param{{name: "status", desc: "Pending, Approved or Rejected"}}, resp: []store.RoleRequest{}, status: 200},
		{method: "POST", path: Base + "/role-requests/{requestID}/approve", tag: tUsers, summary: "Approve an admin grant (admins other than the requester and the grantee)", role: ad, handler: s.approveRoleRequest,
			body: CommentRequest{}, resp: store.RoleRequest{}, status: 200},
		{method: "POST", path: Base + "/role-requests/{requestID}/reject", tag: tUsers, summary: "Reject an admin grant", role: ad, handler: s.rejectRoleRequest, body: CommentRequest{}, status: 204},

		{method: "GET", path: Base + "/tokens", tag: tTokens, summary: "The caller's API tokens (admins: all=true for everyone's)", role: v, handler: s.listTokens,
			query: []param{{name: "all", desc: "true: every token of the organisation (admins)"}}, resp: []store.APIToken{}, status: 200},
		{method: "POST", path: Base + "/tokens", tag: tTokens, summary: "Create an API token; the secret is shown once", role: v, handler: s.createToken, body: control.CreateTokenInput{}, resp: TokenCreated{}, status: 201},
		{method: "POST", path: Base + "/tokens/revoke-all", tag: tTokens, summary: "Revoke every API token of the caller, in every organisation", role: v, handler: s.revokeAllTokens, resp: RevokedTokens{}, status: 200},
		{method: "DELETE", path: Base + "/tokens/{tokenID}", tag: tTokens, summary: "Revoke an API token (own; admins: anyone's)", role: v, handler: s.revokeToken, status: 204},

		{method: "GET", path: Base + "/dataflows", tag: tFlows, summary: "List dataflows, each with its last run and today's figures (since midnight in the organisation's time zone; without observability, none)", role: v, handler: s.listFlows,
			query: []param{{name: "status", desc: "Active, Paused or Stopped"}, {name: "tag", desc: "exact tag"}, {name: "name", desc: "case-insensitive substring"},
				{name: "deactivated", desc: "true or false"}, {name: "sort", desc: "name (default), status, lastRun or updated; prefix - for descending (e.g. -lastRun); applied before pagination"},
				pLimit, pCursor}, resp: control.Page[FlowListItem]{}, status: 200},
		{method: "POST", path: Base + "/dataflows", tag: tFlows, summary: "Create a dataflow (version 1, Draft)", role: e, handler: s.createFlow, body: control.CreateFlowInput{}, resp: control.CreateResult{}, status: 201},
		{method: "POST", path: Base + "/dataflows/import", tag: tFlows, summary: "Import a document (yaml, json or Connect+ block JSON) as a new dataflow", role: e, handler: s.importFlow,
			body: control.CreateFlowInput{}, resp: control.CreateResult{}, status: 201},
		{method: "GET", path: Base + "/dataflows/{flowID}", tag: tFlows, summary: "Read a dataflow (ETag: its revision)", role: v, handler: s.getFlow, resp: store.Dataflow{}, status: 200},
		{method: "PATCH", path: Base + "/dataflows/{flowID}", tag: tFlows, summary: "Rename, describe or tag a dataflow (If-Match or revision)", role: ad, handler: s.patchFlow,
			body: control.UpdateFlowInput{}, resp: store.Dataflow{}, status: 200},
		{method: "POST", path: Base + "/dataflows/{flowID}/deactivate", tag: tFlows, summary: "Deactivate a dataflow (no delete)", role: ad, handler: s.setActive(false), resp: store.Dataflow{}, status: 200},
		{method: "POST", path: Base + "/dataflows/{flowID}/activate", tag: tFlows, summary: "Activate a deactivated dataflow", role: ad, handler: s.setActive(true), resp: store.Dataflow{}, status: 200},
		{method: "PUT", path: Base + "/dataflows/{flowID}/draft", tag: tFlows, summary: "Save a document as the Draft (creates the next Draft when none is open)", role: e, handler: s.putDraft,
			body: control.SaveInput{}, resp: control.SaveResult{}, status: 200},
		{method: "GET", path: Base + "/dataflows/{flowID}/diff", tag: tVers, summary: "Compare two versions", role: v, handler: s.diff,
			query: []param{{name: "from", desc: "version number", integer: true}, {name: "to", desc: "version number", integer: true}}, resp: control.DiffResult{}, status: 200},
		{method: "POST", path: Base + "/dataflows/{flowID}/sync", tag: tCfg, summary: "Sync: re-resolve this dataflow's Extension Configuration references", role: e, handler: s.syncFlow, resp: control.SyncResult{}, status: 200},

		{method: "GET", path: Base + "/dataflows/{flowID}/versions", tag: tVers, summary: "List versions (newest first)", role: v, handler: s.listVersions, resp: []store.Version{}, status: 200},
		{method: "GET", path: fv, tag: tVers, summary: "Read a version with its document (ETag: its revision)", role: v, handler: s.getVersion, resp: VersionView{}, status: 200},
		{method: "PUT", path: fv, tag: tVers, summary: "Save a Draft's document (If-Match or revision; 409 when someone saved first)", role: e, handler: s.saveVersion,
			body: control.SaveInput{}, resp: control.SaveResult{}, status: 200},
		{method: "POST", path: fv + "/validate", tag: tVers, summary: "Validate a version without changing it", role: v, handler: s.validateVersion, resp: ValidateResponse{}, status: 200},
		{method: "POST", path: fv + "/submit", tag: tVers, summary: "Send a Draft for approval (only when it validates)", role: e, handler: s.submit, resp: VersionView{}, status: 200},
		{method: "POST", path: fv + "/approve", tag: tVers, summary: "Approve (admins; never your own submission; reason required)", role: ad, handler: s.approve,
			body: DecisionRequest{}, resp: VersionView{}, status: 200},
		{method: "POST", path: fv + "/reject", tag: tVers, summary: "Reject (admins; comment required)", role: ad, handler: s.reject, body: DecisionRequest{}, resp: VersionView{}, status: 200},
		{method: "POST", path: fv + "/edit", tag: tVers, summary: "Reopen a Rejected version as the Draft", role: e, handler: s.reopen, resp: VersionView{}, status: 200},
		{method: "POST", path: fv + "/live", tag: tVers, summary: "Make an Approved version Live (older one: rollback)", role: ad, handler: s.live, resp: VersionView{}, status: 200},
		{method: "GET", path: fv + "/export", tag: tVers, summary: "Download a version's document", role: v, handler: s.export,
			query: []param{{name: "format", desc: "yaml (default) or json"}, {name: "filename", desc: "download name: letters, digits, spaces, ._- only"}}, status: 200, produces: "application/yaml"},

		{method: "POST", path: Base + "/dataflows/{flowID}/pause", tag: tRT, summary: "Pause: no new files; in-flight files finish", role: e, handler: s.operate(control.OpPause), resp: runstate.FlowRuntime{}, status: 200},
		{method: "POST", path: Base + "/dataflows/{flowID}/stop", tag: tRT, summary: "Stop: cancel in-flight files and release them", role: e, handler: s.operate(control.OpStop), resp: runstate.FlowRuntime{}, status: 200},
		{method: "POST", path: Base + "/dataflows/{flowID}/start", tag: tRT, summary: "Start a paused or stopped dataflow", role: e, handler: s.operate(control.OpStart), resp: runstate.FlowRuntime{}, status: 200},
		{method: "POST", path: Base + "/dataflows/{flowID}/run-now", tag: tRT, summary: "Poll the source now", role: e, handler: s.operate(control.OpRunNow), resp: runstate.FlowRuntime{}, status: 200},
		{method: "GET", path: Base + "/dataflows/{flowID}/status", tag: tRT, summary: "Runtime status", role: v, handler: s.status, resp: runstate.FlowRuntime{}, status: 200},
		{method: "GET", path: Base + "/dataflows/{flowID}/summary", tag: tRuns, summary: "Performance summary over a window (≤ 30 days)", role: v, handler: s.summary,
			query: []param{{name: "window", desc: "Go duration, e.g. 24h (default) or 720h"}}, resp: runstate.Summary{}, status: 200},

		{method: "GET", path: Base + "/runs", tag: tRuns, summary: "List runs", role: v, handler: s.listRuns,
			query: []param{{name: "flowId", desc: "dataflow id"}, {name: "status", desc: "run status"}, {name: "since", desc: "RFC 3339"}, {name: "until", desc: "RFC 3339"}, pLimit, pCursor},
			resp:  control.Page[runstate.Run]{}, status: 200},
		{method: "GET", path: Base + "/runs/{runID}", tag: tRuns, summary: "Read a run", role: v, handler: s.getRun, resp: runstate.Run{}, status: 200},
		{method: "GET", path: Base + "/runs/{runID}/result", tag: tRuns, summary: "Download a run's result file", role: v, handler: s.runResult, status: 200, produces: "application/octet-stream"},
		{method: "GET", path: Base + "/dataflows/{flowID}/reconciliations", tag: tRec, summary: "List a dataflow's reconciliations (what its diff_tool blocks reported about its runs), newest first", role: v,
			handler: s.listReconciliations, query: []param{{name: "runId", desc: "only this run's"}, pLimit, pCursor}, resp: control.Page[runstate.Reconciliation]{}, status: 200},
		{method: "GET", path: Base + "/reconciliations/{reconID}", tag: tRec, summary: "Read a reconciliation: totals (expected, present, missing, mismatched, duplicates at the destination) and which source answered", role: v,
			handler: s.getReconciliation, resp: runstate.Reconciliation{}, status: 200},
		{method: "GET", path: Base + "/reconciliations/{reconID}/records", tag: tRec, summary: "Page a reconciliation's missing, mismatched (with field differences), duplicate and invalid records in file order", role: v,
			handler: s.listReconRecords, query: []param{{name: "kind", desc: "missing, mismatch, duplicate or invalid (default: all)"}, pLimit, pCursor}, resp: control.Page[runstate.ReconRecord]{}, status: 200},
		{method: "GET", path: Base + "/reconciliations/{reconID}/results", tag: tRec, summary: "Download a reconciliation's results file (the source file plus CAP_API_STATUS)", role: v,
			handler: s.reconResults, status: 200, produces: "text/csv"},

		{method: "GET", path: Base + "/configs", tag: tCfg, summary: "List Extension Configurations (secrets masked)", role: v, handler: s.listConfigs, resp: []control.ConfigView{}, status: 200},
		{method: "GET", path: Base + "/configs/{name}", tag: tCfg, summary: "Read an Extension Configuration (secrets masked)", role: v, handler: s.getConfig, resp: control.ConfigView{}, status: 200},
		{method: "POST", path: Base + "/configs/{name}/sync", tag: tCfg, summary: "Sync every dataflow whose Live version uses this entry", role: e, handler: s.syncConfig, resp: control.SyncResult{}, status: 200},
		{method: "GET", path: Base + "/config-requests", tag: tCfg, summary: "List add/change requests", role: v, handler: s.listConfigRequests,
			query: []param{{name: "status", desc: "Pending, Approved or Rejected"}}, resp: []store.ConfigRequest{}, status: 200},
		{method: "POST", path: Base + "/config-requests", tag: tCfg, summary: "Request adding or changing an entry (an admin other than you approves)", role: e, handler: s.requestConfig,
			body: control.ConfigRequestInput{}, resp: store.ConfigRequest{}, status: 201},
		{method: "POST", path: Base + "/config-requests/{requestID}/approve", tag: tCfg, summary: "Approve a request (admins; never your own)", role: ad, handler: s.approveConfig,
			body: CommentRequest{}, resp: control.ConfigView{}, status: 200},
		{method: "POST", path: Base + "/config-requests/{requestID}/reject", tag: tCfg, summary: "Reject a request (admins)", role: ad, handler: s.rejectConfig, body: CommentRequest{}, status: 204},

		{method: "GET", path: Base + "/blocks", tag: tBlocks, summary: "The block catalogue: every block type's spec, config JSON Schema and docs (sorted by category, then label)", role: v, handler: s.listBlocks, resp: BlocksResponse{}, status: 200},
		{method: "GET", path: Base + "/blocks/{type}", tag: tBlocks, summary: "One block type's spec, config JSON Schema and docs (legacy names accepted)", role: v, handler: s.getBlock, resp: BlockInfo{}, status: 200},
		{method: "POST", path: Base + "/validate", tag: tEdit, summary: "Validate an unsaved document (the checks submission runs); problems carry block/field paths and line/column", role: v, handler: s.validateDocument,
			body: ValidateDocumentRequest{}, resp: ValidateDocumentResponse{}, status: 200},
		{method: "POST", path: Base + "/preview", tag: tEdit, summary: "Live data preview: run an unsaved document on a sample (≤ 5 MB, first maxRecords records, ≤ 20 s) with every API destination replaced by a sandbox and file destinations by a capture; per-block records, failures and HTTP requests. 422 with problems when the document does not validate; 413 over 5 MB; 429 over 10 a minute per user",
			role: v, handler: s.preview, body: PreviewRequest{}, resp: PreviewResponse{}, status: 200, maxBody: previewMaxBody},

		{method: "GET", path: Base + "/assistant", tag: tAI, summary: "Whether the dataflow assistant has a model configured (Extension Configurations assistant_base_url, assistant_model, secret assistant_api_key), and which",
			role: v, handler: s.assistantStatus, resp: agent.Status{}, status: 200},
		{method: "POST", path: Base + "/assistant", tag: tAI, summary: "One chat turn of the dataflow assistant (create from a prompt or template, modify the open Draft, explain, answer): the model drives the MCP tools; proposals are validated (bounded repair rounds) and returned with a diff, never saved. 503 without a configured model; 502 when the model fails; 429 over 20 a minute per user",
			role: v, handler: s.assistantTurn, body: agent.Request{}, resp: agent.Response{}, status: 200},
		{method: "POST", path: Base + "/assistant/accept", tag: tAI, summary: "Accept a proposal: validated again and saved as a Draft (a new dataflow, or the open Draft at the proposal's revision); nothing is submitted",
			role: e, handler: s.assistantAccept, body: tools.Proposal{}, resp: agent.AcceptResult{}, status: 201},
		{method: "GET", path: Base + "/templates", tag: tTmpl, summary: "The template catalogue: every template's category, destination, blocks, parameters and sample names", role: v, handler: s.listTemplates, resp: TemplatesResponse{}, status: 200},
		{method: "GET", path: Base + "/templates/{name}", tag: tTmpl, summary: "One template: parameters, flow with placeholders, sample files and the outcome of its sample run (golden result files, sandbox entities)", role: v, handler: s.getTemplate, resp: TemplateDetail{}, status: 200},
		{method: "POST", path: Base + "/templates/{name}/render", tag: tTmpl, summary: "The document a template makes with parameter values (defaults for the rest), checked as creating it would; 422 with problems on bad values", role: v, handler: s.postTemplateRender,
			body: TemplateRenderRequest{}, resp: TemplateRenderResponse{}, status: 200},
		{method: "POST", path: Base + "/templates/{name}/instantiate", tag: tTmpl, summary: "Copy a template into the organisation: create a dataflow (version 1, Draft) from it with parameter values; 422 with problems when the document does not validate (missing Extension Configurations are warnings)", role: e, handler: s.postTemplateInstantiate,
			body: TemplateInstantiateRequest{}, resp: TemplateInstantiateResponse{}, status: 201},

		{method: "GET", path: Base + "/audit", tag: tAudit, summary: "Query the audit log (newest first)", role: ad, handler: s.listAudit, query: auditParams(true), resp: control.Page[store.AuditEntry]{}, status: 200},
		{method: "GET", path: Base + "/audit/export", tag: tAudit, summary: "Export the audit log as JSON Lines or CSV", role: ad, handler: s.exportAudit,
			query: append(auditParams(false), param{name: "format", desc: "jsonl (default) or csv"}), status: 200, produces: "application/x-ndjson"},
	}
	rts = append(rts, route{method: "GET", path: Base + "/cluster", tag: tOps,
		summary: "The servers sharing the runtime's work: nodes (alive, leader, jobs running), the elected leader, queue depths",
		role:    ad, handler: s.clusterStatus, resp: runstate.ClusterStatus{}, status: 200})
	rts = append(rts, s.obsRoutes()...)
	rts = append(rts, s.alertRoutes()...)
	rts = append(rts, s.clipboardRoutes()...)
	return rts
}

// Role names for the route table.
const (
	RoleViewer = control.RoleViewer
	RoleEditor = control.RoleEditor
	RoleAdmin  = control.RoleAdmin
)

func auditParams(paged bool) []param {
	ps := []param{{name: "actor", desc: "username"}, {name: "action", desc: "e.g. version.approve"}, {name: "objectType", desc: "e.g. version"},
		{name: "objectId", desc: "object id"}, {name: "since", desc: "RFC 3339"}, {name: "until", desc: "RFC 3339"}}
	if paged {
		ps = append(ps, pLimit, pCursor)
	}
	return ps
}

// Request and response shapes that exist only at the HTTP layer.
type (
	// RoleRequest sets a member's role.
	RoleRequest struct {
		Role string `json:"role"`
	}
	// TokenCreated returns a new token's secret once.
	TokenCreated struct {
		Token    string         `json:"token"`
		APIToken store.APIToken `json:"apiToken"`
	}
	// DecisionRequest approves (reason) or rejects (comment) a version.
	DecisionRequest struct {
		Reason  string `json:"reason,omitempty"`
		Comment string `json:"comment,omitempty"`
	}
	// CommentRequest decides a config request.
	CommentRequest struct {
		Comment string `json:"comment,omitempty"`
	}
	// ValidateResponse lists a version's problems, and its warnings: what
	// is valid but insecure (plain FTP, unverified host keys), shown so
	// they are decided on, not discovered in the runtime log.
	ValidateResponse struct {
		Valid    bool               `json:"valid"`
		Problems []dataflow.Problem `json:"problems"`
		Warnings []dataflow.Problem `json:"warnings"`
	}
	// VersionView is a version with its document's warnings, so whoever
	// reads it — the approver above all — sees them.
	VersionView struct {
		store.Version
		Warnings []dataflow.Problem `json:"warnings"`
	}
)
