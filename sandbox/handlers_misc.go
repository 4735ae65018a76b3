package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The endpoints in this file are low-volume. They share one driver: each
// entity is decoded, validated and applied by an entityFunc while the store
// lock is held, so checks against earlier entities of the same batch see them.

type bodyMode int

const (
	singleOrBulk bodyMode = iota // object → single answer, array → bulk answer
	bulkOnly
)

type entityCtx struct {
	s        *Server
	st       *store
	r        *http.Request
	now      time.Time
	endpoint string
}

type entityResult struct {
	id    int64
	errs  []apiError
	warns []apiError
	extra map[string]any
}

type entityFunc func(c *entityCtx, raw json.RawMessage) entityResult

func (c *entityCtx) reject(errs ...apiError) entityResult {
	c.st.rejectLocked()
	return entityResult{errs: errs}
}

// decode reads an entity into v. A malformed entity still counts as
// received (under no key) before it is rejected, the same for every
// endpoint; ok is false with the rejection to answer.
func (c *entityCtx) decode(raw json.RawMessage, v any) (res entityResult, ok bool) {
	if e := decodeObject(raw, v); e != nil {
		c.st.receiveLocked("")
		return c.reject(*e), false
	}
	return entityResult{}, true
}

func (c *entityCtx) accept(kind, key string, raw []byte, attrs map[string]string) int64 {
	return c.st.acceptLocked(kind, key, c.endpoint, raw, attrs, c.now)
}

// customerCheck applies StrictCustomers to an identifier.
func (c *entityCtx) customerCheck(source, typ, value string) *apiError {
	if !c.s.cfg.StrictCustomers || customerKnownLocked(c.st, source, typ, value) != 0 {
		return nil
	}
	e := errCustNotFound
	return &e
}

func (s *Server) serveEntities(w http.ResponseWriter, r *http.Request, body []byte, mode bodyMode, fn entityFunc) {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || !json.Valid(t) {
		writeJSON(w, http.StatusBadRequest, errorsBody(invalid("Input is invalid. Please check request parameters or input xml/json: malformed JSON")))
		return
	}
	bulk := t[0] == '['
	if !bulk && mode == bulkOnly {
		writeJSON(w, http.StatusBadRequest, errorsBody(invalid("Input is invalid: expected a JSON array of entities")))
		return
	}
	elems := []json.RawMessage{t}
	if bulk {
		var ok bool
		if elems, ok = s.bulkElements(w, t); !ok {
			return
		}
	}
	c := &entityCtx{s: s, st: s.st.Load(), r: r, now: s.cfg.Now(), endpoint: r.Pattern}
	results := make([]entityResult, len(elems))
	c.st.mu.Lock()
	for i, raw := range elems {
		results[i] = fn(c, raw)
	}
	c.st.mu.Unlock()
	if !bulk {
		res := results[0]
		status := http.StatusOK
		if len(res.errs) > 0 {
			status = http.StatusBadRequest
		}
		m := singleBody(res.id, res.errs, res.extra)
		if len(res.warns) > 0 {
			m["warnings"] = res.warns
		}
		writeJSON(w, status, m)
		return
	}
	out := make([]map[string]any, len(elems))
	failures := 0
	for i, res := range results {
		var entity any
		if res.id != 0 {
			entity = res.id
		} else {
			failures++
		}
		m := map[string]any{"entity": entity, "result": elems[i], "errors": nonNil(res.errs), "warnings": nonNil(res.warns)}
		for k, v := range res.extra {
			m[k] = v
		}
		out[i] = m
	}
	writeJSON(w, http.StatusOK, map[string]any{"response": out, "totalCount": len(elems), "failureCount": failures})
}

// customerRef is how the smaller APIs name a customer: identifierType (or
// identifierName) + identifierValue, or one of mobile/email/externalId/customerId.
type customerRef struct {
	IdentifierType  str `json:"identifierType"`
	IdentifierName  str `json:"identifierName"`
	IdentifierValue str `json:"identifierValue"`
	Mobile          str `json:"mobile"`
	Email           str `json:"email"`
	ExternalID      str `json:"externalId"`
	CustomerID      str `json:"customerId"`
	Source          str `json:"source"`
}

func (c customerRef) resolve(r *http.Request) (typ, value, source string) {
	q := r.URL.Query()
	source = c.Source.V
	if source == "" {
		source = strings.ToUpper(q.Get("source"))
	}
	switch {
	case q.Get("identifierName") != "" && q.Get("identifierValue") != "":
		return q.Get("identifierName"), q.Get("identifierValue"), source
	case c.IdentifierValue.V != "":
		typ = c.IdentifierType.V
		if typ == "" {
			typ = c.IdentifierName.V
		}
		return typ, c.IdentifierValue.V, source
	case c.Mobile.V != "":
		return "mobile", c.Mobile.V, source
	case c.Email.V != "":
		return "email", c.Email.V, source
	case c.ExternalID.V != "":
		return "externalId", c.ExternalID.V, source
	case c.CustomerID.V != "":
		return "id", c.CustomerID.V, source
	}
	return "", "", source
}

// refError validates a resolved customer reference.
func refError(typ, value string) *apiError {
	if typ == "" || value == "" {
		e := errCustDetails
		return &e
	}
	if !lookupIdentifierTypes[typ] {
		e := errInvalidIdent
		e.Message += ": " + strconv.Quote(typ)
		return &e
	}
	return nil
}

// ---- coupons ----

type couponIn struct {
	customerRef
	RedeemCoupons []struct {
		Code str `json:"code"`
	} `json:"redeemCoupons"`
	Code              str `json:"code"`
	TransactionNumber str `json:"transactionNumber"`
	BillNumber        str `json:"billNumber"`
	BillAmount        num `json:"billAmount"`
}

// POST /v2/coupon/redeem: a customer, one or more codes, the transaction
// number and bill amount (all mandatory in the Connect+ coupon template). A
// code can be redeemed once.
func couponRedeem(c *entityCtx, raw json.RawMessage) entityResult {
	var in couponIn
	if res, ok := c.decode(raw, &in); !ok {
		return res
	}
	var codes []string
	for _, rc := range in.RedeemCoupons {
		if rc.Code.V != "" {
			codes = append(codes, rc.Code.V)
		}
	}
	if in.Code.V != "" {
		codes = append(codes, in.Code.V)
	}
	sort.Strings(codes)
	typ, value, source := in.resolve(c.r)
	txn := in.TransactionNumber.V
	if txn == "" {
		txn = in.BillNumber.V
	}
	key := ""
	if len(codes) > 0 {
		key = "coupon|" + strings.Join(codes, ",") + "|" + typ + "|" + value
	}
	c.st.receiveLocked(key)
	var errs []apiError
	if e := refError(typ, value); e != nil {
		errs = append(errs, *e)
	}
	if len(codes) == 0 {
		errs = append(errs, errEmptyRedemption)
	}
	if txn == "" {
		errs = append(errs, invalid("transactionNumber is required"))
	}
	switch {
	case !in.BillAmount.Set:
		errs = append(errs, invalid("billAmount is required"))
	case in.BillAmount.V < 0:
		errs = append(errs, errBillNegative)
	}
	if len(errs) > 0 {
		return c.reject(errs...)
	}
	if e := c.customerCheck(source, typ, value); e != nil {
		return c.reject(*e)
	}
	for _, code := range codes {
		if c.st.aux["coupon-code|"+code] != 0 {
			e := errCouponUsed
			e.Message += ": " + code
			return c.reject(e)
		}
	}
	id := c.accept(KindCoupon, key, raw, map[string]string{"codes": strings.Join(codes, ","), "transactionNumber": txn, "identifierType": typ, "identifierValue": value})
	for _, code := range codes {
		c.st.aux["coupon-code|"+code] = id
	}
	return entityResult{id: id, extra: map[string]any{"redemptionIds": []int64{id}}}
}

// ---- goodwill points (request workflow) ----

type goodwillIn struct {
	EntityInfo map[string]any `json:"entityInfo"`
	Payload    *struct {
		Task *struct {
			Body *struct {
				ReferenceID       str `json:"referenceId"`
				Reason            str `json:"reason"`
				BaseType          str `json:"baseType"`
				ProgramID         str `json:"programId"`
				EarningEntityType str `json:"earningEntityType"`
				EarningEntityID   str `json:"earningEntityId"`
				Points            num `json:"points"`
			} `json:"body"`
		} `json:"IntouchAPITask-Payload"`
	} `json:"payload"`
}

// POST /v2/request-workflow/GOODWILL-POINTS, payload as in the "issue
// goodwill points" reference. The referenceId makes a replay idempotent: the
// existing request is returned with a warning and no new points.
func goodwill(c *entityCtx, raw json.RawMessage) entityResult {
	var in goodwillIn
	if res, ok := c.decode(raw, &in); !ok {
		return res
	}
	if in.Payload == nil || in.Payload.Task == nil || in.Payload.Task.Body == nil {
		c.st.receiveLocked("")
		return c.reject(invalid("payload.IntouchAPITask-Payload.body is required"))
	}
	b := in.Payload.Task.Body
	key := ""
	if b.ReferenceID.V != "" {
		key = "goodwill|" + b.ReferenceID.V
	}
	prev := c.st.receiveLocked(key)
	var errs []apiError
	if b.EarningEntityID.V == "" {
		errs = append(errs, errCustDetails)
	}
	if et := b.EarningEntityType.V; et != "" && et != "CUSTOMER" {
		errs = append(errs, invalid("earningEntityType must be CUSTOMER, got %q", et))
	}
	if bt := b.BaseType.V; bt != "" && bt != "POINTS" {
		errs = append(errs, invalid("baseType must be POINTS, got %q", bt))
	}
	switch {
	case !b.Points.Set:
		errs = append(errs, invalid("points is required"))
	case b.Points.V <= 0:
		errs = append(errs, invalid("points must be a positive number"))
	}
	if len(errs) > 0 {
		return c.reject(errs...)
	}
	if e := c.customerCheck("", "id", b.EarningEntityID.V); e != nil {
		return c.reject(*e)
	}
	extra := map[string]any{"requestType": "goodwill-points", "state": "AdminTask"}
	if prev.id != 0 {
		extra["id"] = prev.id
		return entityResult{id: prev.id, extra: extra, warns: []apiError{{Code: 200, Key: "DUPLICATE_REFERENCE_ID", Message: "A request with referenceId " + b.ReferenceID.V + " already exists; no new points issued"}}}
	}
	id := c.accept(KindGoodwill, key, raw, map[string]string{"referenceId": b.ReferenceID.V, "customerId": b.EarningEntityID.V})
	extra["id"] = id
	return entityResult{id: id, extra: extra}
}

// ---- cards ----

type cardIn struct {
	CardNumber     str `json:"cardNumber"`
	StatusLabel    str `json:"statusLabel"`
	SeriesID       str `json:"seriesId"`
	SeriesCode     str `json:"seriesCode"`
	CustomerID     str `json:"customerId"`
	CardExternalID str `json:"cardExternalId"`
}

var statusLabelRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// POST /v2/card adds a card or, for a known card number, updates it (the
// Connect+ card template changes status labels), keeping the card id.
func card(c *entityCtx, raw json.RawMessage) entityResult {
	var in cardIn
	if res, ok := c.decode(raw, &in); !ok {
		return res
	}
	key := ""
	if in.CardNumber.V != "" {
		key = "card|" + in.CardNumber.V + "|" + in.StatusLabel.V
	}
	c.st.receiveLocked(key)
	var errs []apiError
	if in.CardNumber.V == "" {
		errs = append(errs, invalid("cardNumber is required"))
	}
	switch {
	case in.StatusLabel.V == "":
		errs = append(errs, invalid("statusLabel is required"))
	case !statusLabelRE.MatchString(in.StatusLabel.V):
		errs = append(errs, errorf(8086, "INVALID_STATUS_LABEL", "Status label passed is not valid: %q", in.StatusLabel.V))
	}
	if len(errs) > 0 {
		return c.reject(errs...)
	}
	cardKey := "card-number|" + in.CardNumber.V
	extra := map[string]any{"cardNumber": in.CardNumber.V, "statusLabel": in.StatusLabel.V}
	if existing := c.st.aux[cardKey]; existing != 0 {
		c.st.updateLocked(existing, raw, "statusLabel", in.StatusLabel.V)
		extra["updated"] = true
		return entityResult{id: existing, extra: extra}
	}
	id := c.accept(KindCard, key, raw, map[string]string{"cardNumber": in.CardNumber.V, "statusLabel": in.StatusLabel.V})
	c.st.aux[cardKey] = id
	return entityResult{id: id, extra: extra}
}

// ---- test & control ----

type tncIn struct {
	customerRef
	TestControlStatus str `json:"testControlStatus"`
	Status            str `json:"status"`
	TNCStatus         str `json:"tncStatus"`
}

// POST /v2/tnc/change/bulk/customers: per customer a status that must be
// exactly "test" or "control" (lower case, as the troubleshooting guide says).
func tnc(c *entityCtx, raw json.RawMessage) entityResult {
	var in tncIn
	if res, ok := c.decode(raw, &in); !ok {
		return res
	}
	status := in.TestControlStatus.V
	if status == "" {
		status = in.Status.V
	}
	if status == "" {
		status = in.TNCStatus.V
	}
	typ, value, source := in.resolve(c.r)
	key := ""
	if value != "" {
		key = "tnc|" + typ + "|" + value + "|" + status
	}
	c.st.receiveLocked(key)
	var errs []apiError
	if e := refError(typ, value); e != nil {
		errs = append(errs, *e)
	}
	if status != "test" && status != "control" {
		e := errInvalidTNC
		e.Message += " Expected \"test\" or \"control\", got " + strconv.Quote(status) + "."
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		return c.reject(errs...)
	}
	if e := c.customerCheck(source, typ, value); e != nil {
		return c.reject(*e)
	}
	return entityResult{id: c.accept(KindTNC, key, raw, map[string]string{"identifierType": typ, "identifierValue": value, "status": status})}
}

// ---- requests (change identifier, PII deletion, merge) ----

type requestIn struct {
	customerRef
	Type      str `json:"type"`
	BaseType  str `json:"baseType"`
	OldValue  str `json:"oldValue"`
	NewValue  str `json:"newValue"`
	AccountID str `json:"accountId"`
}

// POST /v2/requests: type CUSTOMER with baseType CHANGE_IDENTIFIER (needs
// oldValue/newValue, newValue checked like a registration), DELETE (the PII
// clean-up template) or MERGE.
func request(c *entityCtx, raw json.RawMessage) entityResult {
	var in requestIn
	if res, ok := c.decode(raw, &in); !ok {
		return res
	}
	if in.Type.V == "TRANSACTION" {
		return retro(c, raw)
	}
	typ, value, source := in.resolve(c.r)
	key := "request|" + in.BaseType.V + "|" + source + "|" + typ + "|" + value + "|" + in.NewValue.V
	c.st.receiveLocked(key)
	var errs []apiError
	if in.Type.V != "CUSTOMER" {
		errs = append(errs, invalid("type must be CUSTOMER or TRANSACTION, got %q", in.Type.V))
	}
	switch in.BaseType.V {
	case "CHANGE_IDENTIFIER":
		if in.OldValue.V == "" || in.NewValue.V == "" {
			errs = append(errs, invalid("oldValue and newValue are required for CHANGE_IDENTIFIER"))
		} else if e := identifierError(typ, in.NewValue.V); e != nil && typ != "" {
			errs = append(errs, *e)
		}
	case "DELETE", "MERGE":
	default:
		errs = append(errs, invalid("Invalid baseType %q; expected CHANGE_IDENTIFIER, DELETE or MERGE", in.BaseType.V))
	}
	if source != "" && !validSources[source] {
		errs = append(errs, errInvalidSource)
	}
	if e := refError(typ, value); e != nil {
		errs = append(errs, *e)
	}
	if len(errs) > 0 {
		return c.reject(errs...)
	}
	if e := c.customerCheck(source, typ, value); e != nil {
		return c.reject(*e)
	}
	id := c.accept(KindRequest, key, raw, map[string]string{"baseType": in.BaseType.V, "identifierType": typ, "identifierValue": value})
	return entityResult{id: id, extra: map[string]any{"requestStatus": "PENDING"}}
}

// ---- barcode ----

// POST /v2/customers/barcode/forceGenerate?source=INSTORE: generates a barcode
// for the identified customer (8122 when the identifier is missing).
func barcode(c *entityCtx, raw json.RawMessage) entityResult {
	var in customerRef
	if res, ok := c.decode(raw, &in); !ok {
		return res
	}
	typ, value, source := in.resolve(c.r)
	key := ""
	if value != "" {
		key = "barcode|" + typ + "|" + value
	}
	c.st.receiveLocked(key)
	if typ == "" || value == "" {
		return c.reject(errBarcodeIdent)
	}
	if e := refError(typ, value); e != nil {
		return c.reject(*e)
	}
	if e := c.customerCheck(source, typ, value); e != nil {
		return c.reject(*e)
	}
	id := c.accept(KindBarcode, key, raw, map[string]string{"identifierType": typ, "identifierValue": value})
	code := "SBX" + strconv.FormatInt(id, 10)
	return entityResult{id: id, extra: map[string]any{"entity": map[string]any{"barcode": code, "identifierName": typ, "identifierValue": value}}}
}

// ---- badges ----

type badgeIn struct {
	BadgeMetaID   str `json:"badgeMetaId"`
	CustomerID    str `json:"customerId"`
	EarnEventDate str `json:"earnEventDate"`
	EarnExpiresOn str `json:"earnExpiresOn"`
}

// parseBadgeDate accepts ISO 8601 or epoch seconds, both used by the badge
// templates' documentation and sample files.
func parseBadgeDate(v string) (time.Time, bool) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02"} {
		if t, err := time.Parse(l, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// badgeEarn serves the import of earned badges
// (/v1/badges/import/customerBadges) and single issue/earn calls; dates are
// required only for imports, where the template marks them mandatory.
func badgeEarn(needDates bool) entityFunc {
	return func(c *entityCtx, raw json.RawMessage) entityResult {
		var in badgeIn
		if res, ok := c.decode(raw, &in); !ok {
			return res
		}
		key := "badge|" + in.BadgeMetaID.V + "|" + in.CustomerID.V + "|" + in.EarnEventDate.V
		c.st.receiveLocked(key)
		var errs []apiError
		if in.BadgeMetaID.V == "" {
			errs = append(errs, invalid("badgeMetaId is required"))
		}
		if in.CustomerID.V == "" {
			errs = append(errs, invalid("customerId is required"))
		} else if _, err := strconv.ParseInt(in.CustomerID.V, 10, 64); err != nil {
			errs = append(errs, invalid("customerId must be an integer, got %q", in.CustomerID.V))
		}
		var ev, ex time.Time
		var okEv, okEx bool
		for _, f := range []struct {
			name string
			v    string
			t    *time.Time
			ok   *bool
		}{{"earnEventDate", in.EarnEventDate.V, &ev, &okEv}, {"earnExpiresOn", in.EarnExpiresOn.V, &ex, &okEx}} {
			switch {
			case f.v == "" && needDates:
				errs = append(errs, invalid("%s is required", f.name))
			case f.v != "":
				if *f.t, *f.ok = parseBadgeDate(f.v); !*f.ok {
					errs = append(errs, invalid("%s %q is not ISO 8601 (YYYY-MM-DDTHH:MM:SS.SSSZ) or epoch seconds", f.name, f.v))
				}
			}
		}
		if okEv && okEx && ex.Before(ev) {
			errs = append(errs, invalid("earnExpiresOn is before earnEventDate"))
		}
		if len(errs) > 0 {
			return c.reject(errs...)
		}
		if e := c.customerCheck("", "id", in.CustomerID.V); e != nil {
			return c.reject(*e)
		}
		id := c.accept(KindBadge, key, raw, map[string]string{"badgeMetaId": in.BadgeMetaID.V, "customerId": in.CustomerID.V})
		return entityResult{id: id, extra: map[string]any{"data": map[string]any{"id": strconv.FormatInt(id, 10)}}}
	}
}

// POST /v1/badges/badgeMeta creates a badge definition; name is mandatory.
func badgeMeta(c *entityCtx, raw json.RawMessage) entityResult {
	var in struct {
		Name     str `json:"name"`
		StartOn  str `json:"startOn"`
		ExpireOn str `json:"expiresOn"`
	}
	if res, ok := c.decode(raw, &in); !ok {
		return res
	}
	key := "badgemeta|" + in.Name.V
	prev := c.st.receiveLocked(key)
	if in.Name.V == "" {
		return c.reject(invalid("name is required"))
	}
	if prev.id != 0 {
		return c.reject(invalid("A badge named %q already exists", in.Name.V))
	}
	id := c.accept(KindBadgeMeta, key, raw, map[string]string{"name": in.Name.V})
	return entityResult{id: id, extra: map[string]any{"data": map[string]any{"id": strconv.FormatInt(id, 10)}}}
}

// ---- rewards ----

type rewardIn struct {
	customerRef
	ID             str `json:"id"`
	RewardID       str `json:"rewardId"`
	BrandID        str `json:"brandId"`
	Type           str `json:"type"`
	StartTime      str `json:"startTime"`
	EndTime        str `json:"endTime"`
	RedemptionType str `json:"redemptionType"`
}

var rewardOK = map[string]any{"status": map[string]any{"success": true, "code": 200, "message": "Success"}}

// rewardCreate checks the fields the Create Rewards template marks mandatory.
func rewardCreate(c *entityCtx, raw json.RawMessage) entityResult {
	var in rewardIn
	if res, ok := c.decode(raw, &in); !ok {
		return res
	}
	c.st.receiveLocked("")
	var errs []apiError
	for _, f := range []struct{ name, v string }{{"brandId", in.BrandID.V}, {"type", in.Type.V}, {"startTime", in.StartTime.V}, {"endTime", in.EndTime.V}, {"redemptionType", in.RedemptionType.V}} {
		if f.v == "" {
			errs = append(errs, invalid("%s is required", f.name))
		}
	}
	if len(errs) > 0 {
		return c.reject(errs...)
	}
	id := c.accept(KindReward, "", raw, map[string]string{"brandId": in.BrandID.V, "type": in.Type.V})
	return entityResult{id: id, extra: rewardOK}
}

// rewardUpdate needs the reward id and brand id, and the reward must exist.
func rewardUpdate(c *entityCtx, raw json.RawMessage) entityResult {
	var in rewardIn
	if res, ok := c.decode(raw, &in); !ok {
		return res
	}
	rid := in.ID.V
	if rid == "" {
		rid = in.RewardID.V
	}
	c.st.receiveLocked("reward-update|" + rid + "|" + strconv.FormatUint(hashKey(string(raw)), 16))
	if rid == "" || in.BrandID.V == "" {
		return c.reject(invalid("id and brandId are required"))
	}
	n, _ := strconv.ParseInt(rid, 10, 64)
	e := c.st.byID[n]
	if !c.st.countOnly && (e == nil || e.Kind != KindReward) {
		return c.reject(invalid("Reward %s not found", rid))
	}
	c.st.updateLocked(n, raw, "", "")
	return entityResult{id: n, extra: rewardOK}
}

// rewardIssue issues a reward to a customer.
func rewardIssue(c *entityCtx, raw json.RawMessage) entityResult {
	var in rewardIn
	if res, ok := c.decode(raw, &in); !ok {
		return res
	}
	rid := in.RewardID.V
	if rid == "" {
		rid = in.ID.V
	}
	typ, value, source := in.resolve(c.r)
	c.st.receiveLocked("")
	var errs []apiError
	if rid == "" {
		errs = append(errs, invalid("rewardId is required"))
	}
	if e := refError(typ, value); e != nil {
		errs = append(errs, *e)
	}
	if len(errs) > 0 {
		return c.reject(errs...)
	}
	if e := c.customerCheck(source, typ, value); e != nil {
		return c.reject(*e)
	}
	id := c.accept(KindReward, "", raw, map[string]string{"rewardId": rid, "identifierType": typ, "identifierValue": value, "action": "issue"})
	return entityResult{id: id, extra: rewardOK}
}

// ---- Neo ----

// POST|PUT /x/neo/{name}: any JSON is accepted and echoed in a success
// envelope (Connect+ calls Neo with Parse API Response off).
func (s *Server) handleNeo(w http.ResponseWriter, r *http.Request, body []byte) {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || !json.Valid(t) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": map[string]any{"success": false, "code": 400, "message": "Malformed JSON body"}})
		return
	}
	n := 1
	if t[0] == '[' {
		var elems []json.RawMessage
		_ = json.Unmarshal(t, &elems)
		n = len(elems)
	}
	name := r.PathValue("name")
	st := s.st.Load()
	st.mu.Lock()
	for range n - 1 {
		st.receiveLocked("")
		st.accepted++
	}
	st.receiveLocked("")
	id := st.acceptLocked(KindNeo, "", "POST /x/neo/"+name, t, map[string]string{"name": name}, s.cfg.Now())
	st.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"status":    map[string]any{"success": true, "code": 200, "message": "Success"},
		"requestId": strconv.FormatInt(id, 10),
		"name":      name,
		"received":  n,
		"body":      json.RawMessage(t),
	})
}
