package sandbox

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Entity kinds of the endpoints the template catalogue added.
const (
	KindRetro         = "retro_request"
	KindIntouchUser   = "intouch_user"
	KindEvent         = "behavioural_event"
	KindDatabricksRun = "databricks_run"
)

// templateRoutes are the endpoints templates need beyond the core v2 APIs:
// retro transactions (via /v2/requests), customer updates (status label,
// subscriptions), InTouch user onboarding, behavioural-event webhooks and
// the Databricks jobs API.
func (s *Server) templateRoutes() {
	entities := func(mode bodyMode, fn entityFunc) apiHandler {
		return func(w http.ResponseWriter, r *http.Request, body []byte) { s.serveEntities(w, r, body, mode, fn) }
	}
	s.handle("PUT /v2/customers/{id}", routeAPI, entities(singleOrBulk, customerUpdate))
	s.handle("POST /intouch-ui/api/v1/users", routeAPI, entities(singleOrBulk, intouchUser))
	s.handle("POST /{cluster}/webhooks/{webhookId}", routeOpen, entities(singleOrBulk, behaviouralEvent))
	s.handle("POST /api/2.1/jobs/run-now", routeOpen, s.handleDatabricksRunNow)
	s.handle("GET /api/2.1/jobs/runs/get", routeOpen, s.handleDatabricksRunGet)
}

// ---- retro transactions: POST /v2/requests, type TRANSACTION ----

type retroIn struct {
	Type          str `json:"type"`
	BaseType      str `json:"baseType"`
	CustomerID    str `json:"customerId"`
	TransactionID str `json:"transactionId"`
	OldType       str `json:"oldType"`
	NewType       str `json:"newType"`
}

// retro tags a NOT_INTERESTED transaction to a customer (type TRANSACTION,
// baseType RETRO): the transaction must exist and still be NOT_INTERESTED,
// and the only change allowed is NOT_INTERESTED → REGULAR (spec §3.2.6,
// with the doc's reversed oldType/newType corrected). The stored
// transaction becomes REGULAR, so a replay is rejected.
func retro(c *entityCtx, raw json.RawMessage) entityResult {
	var in retroIn
	if res, ok := c.decode(raw, &in); !ok {
		return res
	}
	key := "retro|" + in.TransactionID.V
	c.st.receiveLocked(key)
	var errs []apiError
	if in.BaseType.V != "RETRO" {
		errs = append(errs, invalid("Invalid baseType %q for type TRANSACTION; expected RETRO", in.BaseType.V))
	}
	if in.CustomerID.V == "" {
		errs = append(errs, errCustDetails)
	} else if _, err := strconv.ParseInt(in.CustomerID.V, 10, 64); err != nil {
		errs = append(errs, invalid("customerId must be an integer, got %q", in.CustomerID.V))
	}
	if in.OldType.V != "NOT_INTERESTED" || in.NewType.V != "REGULAR" {
		errs = append(errs, invalid("a retro request changes oldType NOT_INTERESTED to newType REGULAR, got %q → %q", in.OldType.V, in.NewType.V))
	}
	id, err := strconv.ParseInt(in.TransactionID.V, 10, 64)
	var txn *Entity
	switch {
	case in.TransactionID.V == "":
		errs = append(errs, invalid("transactionId is required"))
	case err != nil:
		errs = append(errs, invalid("transactionId must be an integer, got %q", in.TransactionID.V))
	default:
		if txn = c.st.byID[id]; txn == nil || txn.Kind != KindTransaction {
			errs = append(errs, errorf(400, "TRANSACTION_NOT_FOUND", "Transaction %d not found", id))
		} else if t := txn.Attributes["type"]; t != "NOT_INTERESTED" {
			errs = append(errs, errorf(400, "TRANSACTION_NOT_NOT_INTERESTED", "Transaction %d is %s, not NOT_INTERESTED", id, t))
		}
	}
	if len(errs) > 0 {
		return c.reject(errs...)
	}
	if e := c.customerCheck("", "id", in.CustomerID.V); e != nil {
		return c.reject(*e)
	}
	c.st.updateLocked(id, txn.Body, "type", "REGULAR")
	c.st.accepted-- // the transaction's update is part of this request, counted once
	c.st.byID[id].Attributes["customerId"] = in.CustomerID.V
	rid := c.accept(KindRetro, key, raw, map[string]string{"transactionId": in.TransactionID.V, "customerId": in.CustomerID.V})
	return entityResult{id: rid, extra: map[string]any{"requestStatus": approval(c.r)}}
}

// approval is the state of a request-workflow request: APPROVED when the
// caller asked for auto-approval (X-CAP-AUTO-APPROVE: true), else PENDING.
func approval(r *http.Request) string {
	if strings.EqualFold(r.Header.Get("X-CAP-AUTO-APPROVE"), "true") {
		return "APPROVED"
	}
	return "PENDING"
}

// ---- customer update: PUT /v2/customers/{id} ----

type subscriptionIn struct {
	Channel str `json:"channel"`
	Type    str `json:"type"`
	Status  str `json:"status"`
}

type customerUpdateIn struct {
	StatusLabel       str `json:"statusLabel"`
	StatusLabelReason str `json:"statusLabelReason"`
	CommChannels      []struct {
		Type                str              `json:"type"`
		Value               str              `json:"value"`
		SubscriptionDetails []subscriptionIn `json:"subscriptionDetails"`
	} `json:"commChannels"`
	ExtendedFields map[string]any `json:"extendedFields"`
}

var (
	subscriptionChannels = map[string]bool{"SMS": true, "EMAIL": true, "MOBILEPUSH": true, "WHATSAPP": true, "WECHAT": true, "LINE": true}
	subscriptionTypes    = map[string]bool{"TRANS": true, "BULK": true}
	statusLabelText      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9 _-]*$`)
)

// customerUpdate changes a registered customer's status label and reason
// and channel subscriptions (the Customer status and Subscription status
// templates). The customer must exist (8015); a subscription needs a known
// channel, TRANS or BULK, and SUBSCRIBED or UNSUBSCRIBED.
func customerUpdate(c *entityCtx, raw json.RawMessage) entityResult {
	var in customerUpdateIn
	if res, ok := c.decode(raw, &in); !ok {
		return res
	}
	idText := c.r.PathValue("id")
	c.st.receiveLocked("customer-update|" + idText + "|" + strconv.FormatUint(hashKey(string(raw)), 16))
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return c.reject(invalid("customer id must be an integer, got %q", idText))
	}
	cust := c.st.byID[id]
	if !c.st.countOnly && (cust == nil || cust.Kind != KindCustomer) {
		return c.reject(errCustNotFound)
	}
	var errs []apiError
	if in.StatusLabel.V == "" && in.StatusLabelReason.V != "" {
		errs = append(errs, invalid("statusLabelReason needs a statusLabel"))
	}
	if in.StatusLabel.V != "" && !statusLabelText.MatchString(in.StatusLabel.V) {
		errs = append(errs, errorf(8086, "INVALID_STATUS_LABEL", "Status label passed is not valid: %q", in.StatusLabel.V))
	}
	subs := 0
	for _, ch := range in.CommChannels {
		for _, sd := range ch.SubscriptionDetails {
			subs++
			switch {
			case !subscriptionChannels[sd.Channel.V]:
				errs = append(errs, invalid("subscription channel %q is not one of SMS, EMAIL, MOBILEPUSH, WHATSAPP, WECHAT, LINE", sd.Channel.V))
			case !subscriptionTypes[sd.Type.V]:
				errs = append(errs, invalid("subscription type %q is not TRANS or BULK", sd.Type.V))
			case sd.Status.V != "SUBSCRIBED" && sd.Status.V != "UNSUBSCRIBED":
				errs = append(errs, invalid("subscription status %q is not SUBSCRIBED or UNSUBSCRIBED", sd.Status.V))
			}
		}
	}
	if in.StatusLabel.V == "" && subs == 0 && len(in.ExtendedFields) == 0 {
		errs = append(errs, invalid("nothing to update: send statusLabel, commChannels subscriptions or extendedFields"))
	}
	if len(errs) > 0 {
		return c.reject(errs...)
	}
	if cust != nil {
		merged := mergeJSON(cust.Body, raw)
		c.st.updateLocked(id, merged, "statusLabel", in.StatusLabel.V)
	}
	return entityResult{id: id, extra: map[string]any{"updated": true}}
}

// mergeJSON overlays the top-level keys of patch on base (both objects).
func mergeJSON(base, patch []byte) []byte {
	var b, p map[string]json.RawMessage
	if json.Unmarshal(base, &b) != nil || json.Unmarshal(patch, &p) != nil {
		return patch
	}
	for k, v := range p {
		b[k] = v
	}
	out, err := json.Marshal(b)
	if err != nil {
		return patch
	}
	return out
}

// ---- InTouch users: POST /intouch-ui/api/v1/users ----

type intouchUserIn struct {
	FirstName          str `json:"firstName"`
	LastName           str `json:"lastName"`
	Email              str `json:"email"`
	ReportsTo          str `json:"reportsTo"`
	UserRole           str `json:"userRole"`
	AccessibleEntities str `json:"accessibleEntities"`
	UserType           str `json:"userType"`
	GroupName          str `json:"groupName"`
}

var intouchUserTypes = map[string]bool{"Brand User": true, "Brand User - Reports Only": true, "Brand POC": true}

// intouchUser creates an external InTouch user (Onboard users template):
// firstName, a valid unique email, reportsTo the email of an existing user,
// a role, a user type of the three documented, and an access group.
// Concept-level roles (their name ends in "(Concept)") need
// accessibleEntities.
func intouchUser(c *entityCtx, raw json.RawMessage) entityResult {
	var in intouchUserIn
	if res, ok := c.decode(raw, &in); !ok {
		return res
	}
	email := strings.ToLower(in.Email.V)
	key := "intouch-user|" + email
	prev := c.st.receiveLocked(key)
	var errs []apiError
	for _, f := range []struct{ name, v string }{{"firstName", in.FirstName.V}, {"email", in.Email.V}, {"reportsTo", in.ReportsTo.V}, {"userRole", in.UserRole.V}, {"userType", in.UserType.V}, {"groupName", in.GroupName.V}} {
		if strings.TrimSpace(f.v) == "" {
			errs = append(errs, invalid("%s is required", f.name))
		}
	}
	if in.Email.V != "" && !validEmail(in.Email.V) {
		errs = append(errs, invalid("email %q is not a valid e-mail address", in.Email.V))
	}
	if in.ReportsTo.V != "" && !validEmail(in.ReportsTo.V) {
		errs = append(errs, invalid("reportsTo must be the e-mail of an existing user, got %q", in.ReportsTo.V))
	}
	if in.UserType.V != "" && !intouchUserTypes[in.UserType.V] {
		errs = append(errs, invalid("userType %q is not Brand User, Brand User - Reports Only or Brand POC", in.UserType.V))
	}
	if strings.HasSuffix(in.UserRole.V, "(Concept)") && strings.TrimSpace(in.AccessibleEntities.V) == "" {
		errs = append(errs, invalid("userRole %q is a concept-level role: accessibleEntities is required", in.UserRole.V))
	}
	if len(errs) > 0 {
		return c.reject(errs...)
	}
	if prev.id != 0 {
		return c.reject(invalid("A user with email %s already exists", in.Email.V))
	}
	id := c.accept(KindIntouchUser, key, raw, map[string]string{"email": email, "userRole": in.UserRole.V, "userType": in.UserType.V})
	return entityResult{id: id}
}

// ---- behavioural events: POST /{cluster}/webhooks/{webhookId} ----

// behaviouralEvent accepts one event for the webhook: eventName, a customer
// identifier and, when given, an eventDateTime in ISO 8601 or epoch
// milliseconds (older, retro events are allowed). The webhook needs no
// Capillary token: its id in the path is the credential.
func behaviouralEvent(c *entityCtx, raw json.RawMessage) entityResult {
	var in struct {
		customerRef
		EventName     str            `json:"eventName"`
		EventDateTime str            `json:"eventDateTime"`
		Attributes    map[string]any `json:"attributes"`
	}
	if res, ok := c.decode(raw, &in); !ok {
		return res
	}
	typ, value, _ := in.resolve(c.r)
	hook := c.r.PathValue("webhookId")
	key := "event|" + hook + "|" + in.EventName.V + "|" + typ + "|" + value + "|" + in.EventDateTime.V
	c.st.receiveLocked(key)
	var errs []apiError
	if !webhookIDRE.MatchString(hook) {
		errs = append(errs, errorf(404, "WEBHOOK_NOT_FOUND", "No webhook %q: the API endpoint is the webhook id, a UUID", hook))
	}
	if in.EventName.V == "" {
		errs = append(errs, invalid("eventName is required"))
	}
	if e := refError(typ, value); e != nil {
		errs = append(errs, *e)
	}
	if v := in.EventDateTime.V; v != "" {
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
				errs = append(errs, invalid("eventDateTime %q is not ISO 8601 or epoch milliseconds", v))
			}
		}
	}
	if len(errs) > 0 {
		return c.reject(errs...)
	}
	id := c.accept(KindEvent, key, raw, map[string]string{"webhookId": hook, "eventName": in.EventName.V, "identifierType": typ, "identifierValue": value})
	return entityResult{id: id}
}

var webhookIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// ---- Databricks jobs API (2.1) ----

// databricksAuth checks for a bearer token (any personal access token).
func databricksAuth(w http.ResponseWriter, r *http.Request) bool {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); !ok || strings.TrimSpace(tok) == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error_code": "UNAUTHENTICATED", "message": "Credential was not sent or was of an unsupported type"})
		return false
	}
	return true
}

// handleDatabricksRunNow starts a run of job_id that terminates with
// SUCCESS at once (job ids 9xx fail, to exercise failure paths).
func (s *Server) handleDatabricksRunNow(w http.ResponseWriter, r *http.Request, body []byte) {
	if !databricksAuth(w, r) {
		return
	}
	var in struct {
		JobID          int64             `json:"job_id"`
		NotebookParams map[string]string `json:"notebook_params"`
		JobParameters  map[string]string `json:"job_parameters"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.JobID <= 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error_code": "INVALID_PARAMETER_VALUE", "message": "job_id must be a positive integer"})
		return
	}
	st := s.st.Load()
	params := in.NotebookParams
	if params == nil {
		params = in.JobParameters
	}
	raw, _ := json.Marshal(map[string]any{"job_id": in.JobID, "params": params})
	result := "SUCCESS"
	if in.JobID >= 900 && in.JobID < 1000 {
		result = "FAILED"
	}
	st.mu.Lock()
	st.receiveLocked("")
	id := st.acceptLocked(KindDatabricksRun, "", r.Pattern, raw, map[string]string{"jobId": strconv.FormatInt(in.JobID, 10), "result": result, "filename": params["filename"]}, s.cfg.Now())
	st.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"run_id": id, "number_in_job": id})
}

func (s *Server) handleDatabricksRunGet(w http.ResponseWriter, r *http.Request, _ []byte) {
	if !databricksAuth(w, r) {
		return
	}
	id, _ := strconv.ParseInt(r.URL.Query().Get("run_id"), 10, 64)
	e := s.st.Load().get(id)
	if e == nil || e.Kind != KindDatabricksRun {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Run " + strconv.FormatInt(id, 10) + " does not exist."})
		return
	}
	jobID, _ := strconv.ParseInt(e.Attributes["jobId"], 10, 64)
	msg := ""
	if e.Attributes["result"] != "SUCCESS" {
		msg = "Workload failed (sandbox job ids 900-999 always fail)"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"run_id": id, "job_id": jobID, "run_page_url": "https://sandbox.databricks.invalid/#job/" + e.Attributes["jobId"] + "/run/" + strconv.FormatInt(id, 10),
		"state": map[string]any{"life_cycle_state": "TERMINATED", "result_state": e.Attributes["result"], "state_message": msg},
	})
}
