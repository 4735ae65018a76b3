package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ---- customers ----

type identIn struct {
	Type  str `json:"type"`
	Value str `json:"value"`
}

type profileIn struct {
	FirstName   str       `json:"firstName"`
	LastName    str       `json:"lastName"`
	Source      str       `json:"source"`
	AccountID   str       `json:"accountId"`
	Identifiers []identIn `json:"identifiers"`
}

type customerIn struct {
	Profiles    []profileIn `json:"profiles"`
	LoyaltyInfo *struct {
		LoyaltyType str `json:"loyaltyType"`
	} `json:"loyaltyInfo"`
}

// validateCustomer checks what can be checked without the store.
func validateCustomer(c *customerIn) []apiError {
	if len(c.Profiles) == 0 {
		return []apiError{errCustDetails}
	}
	var errs []apiError
	for _, p := range c.Profiles {
		switch {
		case !p.Source.Set || p.Source.V == "":
			errs = append(errs, errNoSource)
		case !validSources[p.Source.V]:
			e := errInvalidSource
			e.Message += ": " + p.Source.V
			errs = append(errs, e)
		}
		if len(p.Identifiers) == 0 {
			errs = append(errs, errNoIdentifiers)
		}
		for _, id := range p.Identifiers {
			if !customerIdentifierTypes[id.Type.V] {
				e := errInvalidIdent
				e.Message += ": type " + strconv.Quote(id.Type.V)
				errs = append(errs, e)
				continue
			}
			if e := identifierError(id.Type.V, id.Value.V); e != nil {
				errs = append(errs, *e)
			}
		}
	}
	if c.LoyaltyInfo != nil && c.LoyaltyInfo.LoyaltyType.Set {
		switch c.LoyaltyInfo.LoyaltyType.V {
		case "loyalty", "non_loyalty":
		default:
			errs = append(errs, invalid("Invalid loyaltyType %q; expected loyalty or non_loyalty", c.LoyaltyInfo.LoyaltyType.V))
		}
	}
	return errs
}

// applyCustomerLocked registers a validated customer; a customer is a
// duplicate when any of its identifiers is already registered in the same
// source (8006, as the real API answers).
func (s *Server) applyCustomerLocked(st *store, c *customerIn, raw []byte, endpoint string, now time.Time) (int64, []apiError) {
	p0 := c.Profiles[0]
	key := "cust|" + p0.Source.V + "|" + p0.AccountID.V + "|" + p0.Identifiers[0].Type.V + "|" + p0.Identifiers[0].Value.V
	st.receiveLocked(key)
	for _, p := range c.Profiles {
		for _, id := range p.Identifiers {
			if existing := st.idents[identKey(p.Source.V, id.Type.V, id.Value.V)]; existing != 0 {
				st.rejectLocked()
				return 0, []apiError{errorf(8006, "CUSTOMER_EXISTS", "Add failed, Customer already exists with id %d for same source", existing)}
			}
		}
	}
	attrs := map[string]string{"source": p0.Source.V}
	if p0.FirstName.V != "" {
		attrs["firstName"] = p0.FirstName.V
	}
	for _, id := range p0.Identifiers {
		attrs[id.Type.V] = id.Value.V
	}
	id := st.acceptLocked(KindCustomer, key, endpoint, raw, attrs, now)
	for _, p := range c.Profiles {
		for _, ident := range p.Identifiers {
			st.idents[identKey(p.Source.V, ident.Type.V, ident.Value.V)] = id
		}
	}
	st.idents["id|"+strconv.FormatInt(id, 10)] = id
	return id, nil
}

// customerKnownLocked resolves an identifier to a registered customer id.
// Without a source (or with identifier "id") any source matches.
func customerKnownLocked(st *store, source, typ, value string) int64 {
	if typ == "id" {
		return st.idents["id|"+value]
	}
	if source != "" {
		if id := st.idents[identKey(source, typ, value)]; id != 0 {
			return id
		}
	}
	for src := range validSources {
		if id := st.idents[identKey(src, typ, value)]; id != 0 {
			return id
		}
	}
	return 0
}

// POST /v2/customers: one customer, documented answer {"createdId","warnings"}.
func (s *Server) handleCustomerAdd(w http.ResponseWriter, r *http.Request, body []byte) {
	var c customerIn
	if e := decodeSingle(body, &c); e != nil {
		writeJSON(w, http.StatusBadRequest, singleBody(0, []apiError{*e}, nil))
		return
	}
	errs := validateCustomer(&c)
	st := s.st.Load()
	st.mu.Lock()
	var id int64
	if len(errs) > 0 {
		st.receiveLocked("")
		st.rejectLocked()
	} else {
		id, errs = s.applyCustomerLocked(st, &c, body, "POST /v2/customers", s.cfg.Now())
	}
	st.mu.Unlock()
	if len(errs) > 0 {
		writeJSON(w, http.StatusBadRequest, singleBody(0, errs, nil))
		return
	}
	writeJSON(w, http.StatusOK, singleBody(id, nil, map[string]any{"sideEffects": []any{}}))
}

// POST /v2/customers/bulk (and the older /v2/bulk/addCustomers): the
// documented answer is a top-level array with one {"entity":{"id"},"errors",
// "warnings"} per customer, in request order.
func (s *Server) handleCustomerBulk(w http.ResponseWriter, r *http.Request, body []byte) {
	elems, ok := s.bulkElements(w, body)
	if !ok {
		return
	}
	type res struct {
		id   int64
		errs []apiError
	}
	parsed := make([]customerIn, len(elems))
	results := make([]res, len(elems))
	for i, raw := range elems {
		if e := decodeObject(raw, &parsed[i]); e != nil {
			results[i].errs = []apiError{*e}
			continue
		}
		results[i].errs = validateCustomer(&parsed[i])
	}
	for _, rs := range results {
		if len(rs.errs) == 1 && rs.errs[0].Key == malformedKey {
			writeJSON(w, http.StatusBadRequest, errorsBody(rs.errs[0]))
			return
		}
	}
	st := s.st.Load()
	now := s.cfg.Now()
	st.mu.Lock()
	for i := range elems {
		if len(results[i].errs) > 0 {
			st.receiveLocked("")
			st.rejectLocked()
			continue
		}
		results[i].id, results[i].errs = s.applyCustomerLocked(st, &parsed[i], elems[i], r.Pattern, now)
	}
	st.mu.Unlock()
	out := make([]map[string]any, len(elems))
	for i, rs := range results {
		var entity any
		if rs.id != 0 {
			entity = map[string]any{"id": rs.id}
		}
		out[i] = map[string]any{"entity": entity, "errors": nonNil(rs.errs), "warnings": []apiError{}}
	}
	writeJSON(w, http.StatusOK, out)
}

// ---- transactions ----

type lineIn struct {
	ItemCode str `json:"itemCode"`
	Amount   num `json:"amount"`
	Rate     num `json:"rate"`
	Qty      num `json:"qty"`
	Value    num `json:"value"`
	Discount num `json:"discount"`
}

type txnIn struct {
	IdentifierType  str      `json:"identifierType"`
	IdentifierValue str      `json:"identifierValue"`
	Source          str      `json:"source"`
	AccountID       str      `json:"accountId"`
	Type            str      `json:"type"`
	ReturnType      str      `json:"returnType"`
	BillNumber      str      `json:"billNumber"`
	BillingDate     str      `json:"billingDate"`
	BillAmount      num      `json:"billAmount"`
	GrossAmount     num      `json:"grossAmount"`
	Discount        num      `json:"discount"`
	LineItemsV2     []lineIn `json:"lineItemsV2"`
}

var billingDateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}

func notInterested(t string) bool { return strings.HasPrefix(t, "NOT_INTERESTED") }

func validateTxn(t *txnIn) []apiError {
	var errs []apiError
	typ := t.Type.V
	switch typ {
	case "REGULAR", "RETURN", "NOT_INTERESTED", "NOT_INTERESTED_RETURN":
	case "":
		errs = append(errs, invalid("type is required (REGULAR, RETURN, NOT_INTERESTED or NOT_INTERESTED_RETURN)"))
	default:
		errs = append(errs, invalid("Invalid transaction type %q; expected REGULAR, RETURN, NOT_INTERESTED or NOT_INTERESTED_RETURN", typ))
	}
	if !notInterested(typ) {
		switch {
		case t.IdentifierType.V == "" || t.IdentifierValue.V == "":
			errs = append(errs, errCustDetails)
		case !lookupIdentifierTypes[t.IdentifierType.V]:
			e := errInvalidIdent
			e.Message += ": identifierType " + strconv.Quote(t.IdentifierType.V)
			errs = append(errs, e)
		}
		if !validSources[t.Source.V] {
			e := errInvalidSource
			if t.Source.V != "" {
				e.Message += ": " + t.Source.V
			}
			errs = append(errs, e)
		}
	}
	if t.BillNumber.V == "" {
		errs = append(errs, invalid("billNumber is required"))
	}
	if strings.HasSuffix(typ, "RETURN") {
		switch t.ReturnType.V {
		case "AMOUNT", "FULL", "LINE_ITEM", "CANCELLED":
		default:
			errs = append(errs, invalid("returnType is required for a return: AMOUNT, FULL, LINE_ITEM or CANCELLED"))
		}
	}
	switch {
	case !t.BillAmount.Set:
		errs = append(errs, invalid("billAmount is required"))
	case t.BillAmount.V < 0:
		errs = append(errs, errBillNegative)
	}
	if t.GrossAmount.Set && t.GrossAmount.V < 0 {
		errs = append(errs, errGrossNegative)
	}
	if t.Discount.Set && t.Discount.V < 0 {
		errs = append(errs, errDiscountNegative)
	}
	for i, li := range t.LineItemsV2 {
		if (li.Amount.Set && li.Amount.V < 0) || (li.Value.Set && li.Value.V < 0) || (li.Rate.Set && li.Rate.V < 0) {
			e := errLineNegative
			e.Message += " (line " + strconv.Itoa(i+1) + ")"
			errs = append(errs, e)
		}
	}
	if t.BillingDate.V != "" {
		ok := false
		for _, l := range billingDateLayouts {
			if _, err := time.Parse(l, t.BillingDate.V); err == nil {
				ok = true
				break
			}
		}
		if !ok {
			errs = append(errs, invalid("Invalid billingDate %q; expected ISO 8601 (YYYY-MM-DDTHH:MM:SSZ)", t.BillingDate.V))
		}
	}
	return errs
}

// txnKey identifies a bill: the attribution store/till (the
// X-CAP-API-ATTRIBUTION-ENTITY-CODE header, else the client's default till),
// the customer, and the bill number, since bill-number uniqueness is scoped
// by store or till in Capillary.
func txnKey(till string, t *txnIn) string {
	if notInterested(t.Type.V) {
		return "txn|" + till + "|NI|" + t.BillNumber.V
	}
	return "txn|" + till + "|" + t.Source.V + "|" + t.IdentifierType.V + "|" + t.IdentifierValue.V + "|" + t.BillNumber.V
}

func attributionTill(r *http.Request) string {
	if v := r.Header.Get("X-CAP-API-ATTRIBUTION-ENTITY-CODE"); v != "" {
		return v
	}
	return "sandbox.till"
}

func (s *Server) applyTxnLocked(st *store, t *txnIn, raw []byte, till, endpoint string, now time.Time) (int64, []apiError) {
	regular := txnKey(till, t)
	key := regular
	isReturn := strings.HasSuffix(t.Type.V, "RETURN")
	if isReturn {
		// A bill can be returned in several parts, so a return's record key is
		// the whole return payload; only a byte-identical resend is a duplicate.
		// The original bill shares the return's customer and bill number, so
		// txnKey already names it.
		key = "txn-return|" + regular + "|" + strconv.FormatUint(hashKey(string(raw)), 16)
	}
	prev := st.receiveLocked(key)
	if s.cfg.StrictCustomers && !notInterested(t.Type.V) && customerKnownLocked(st, t.Source.V, t.IdentifierType.V, t.IdentifierValue.V) == 0 {
		st.rejectLocked()
		return 0, []apiError{errCustNotFound}
	}
	switch {
	case !isReturn && prev.id != 0:
		st.rejectLocked()
		return 0, []apiError{errDuplicateBill}
	case isReturn && st.lookupKeyLocked(regular).id == 0:
		st.rejectLocked()
		return 0, []apiError{errReturnNotExists}
	}
	var attrs map[string]string
	if !st.countOnly {
		attrs = map[string]string{"billNumber": t.BillNumber.V, "type": t.Type.V, "till": till}
		if !notInterested(t.Type.V) {
			attrs["source"] = t.Source.V
			attrs["identifierType"] = t.IdentifierType.V
			attrs["identifierValue"] = t.IdentifierValue.V
		}
	}
	return st.acceptLocked(KindTransaction, key, endpoint, raw, attrs, now), nil
}

// POST /v2/transactions/bulk. This is the hot path of the API benchmark, so
// the answer is assembled by hand: each entry echoes the submitted
// transaction as "result" (as the documented response does) without
// re-encoding it.
func (s *Server) handleTxnBulk(w http.ResponseWriter, r *http.Request, body []byte) {
	elems, ok := s.bulkElements(w, body)
	if !ok {
		return
	}
	parsed := make([]txnIn, len(elems))
	errs := make([][]apiError, len(elems))
	for i, raw := range elems {
		if e := decodeObject(raw, &parsed[i]); e != nil {
			errs[i] = []apiError{*e}
			continue
		}
		errs[i] = validateTxn(&parsed[i])
	}
	if malformed(w, errs) {
		return
	}
	ids := make([]int64, len(elems))
	till := attributionTill(r)
	st := s.st.Load()
	now := s.cfg.Now()
	st.mu.Lock()
	for i := range elems {
		if len(errs[i]) > 0 {
			key := ""
			if parsed[i].BillNumber.V != "" {
				key = txnKey(till, &parsed[i])
			}
			st.receiveLocked(key)
			st.rejectLocked()
			continue
		}
		ids[i], errs[i] = s.applyTxnLocked(st, &parsed[i], elems[i], till, r.Pattern, now)
	}
	st.mu.Unlock()

	buf := s.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 4<<20 {
			s.bufs.Put(buf)
		}
	}()
	failures := 0
	buf.WriteString(`{"response":[`)
	for i, raw := range elems {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"entityId":`)
		if ids[i] != 0 {
			buf.Write(strconv.AppendInt(buf.AvailableBuffer(), ids[i], 10))
		} else {
			buf.WriteString("null")
		}
		buf.WriteString(`,"result":`)
		buf.Write(raw)
		buf.WriteString(`,"errors":`)
		if len(errs[i]) == 0 {
			buf.WriteString("[]")
		} else {
			failures++
			b, _ := json.Marshal(errs[i])
			buf.Write(b)
		}
		buf.WriteString(`,"warnings":[]}`)
	}
	buf.WriteString(`],"totalCount":`)
	buf.Write(strconv.AppendInt(buf.AvailableBuffer(), int64(len(elems)), 10))
	buf.WriteString(`,"failureCount":`)
	buf.Write(strconv.AppendInt(buf.AvailableBuffer(), int64(failures), 10))
	buf.WriteByte('}')
	writeRawJSON(w, http.StatusOK, buf.Bytes())
}

// POST /v2/transactions?identifierName=&identifierValue=&source=: one
// transaction, customer in the query string; documented answer
// {"createdId","warnings","errors","sideEffects"}.
func (s *Server) handleTxnAdd(w http.ResponseWriter, r *http.Request, body []byte) {
	var t txnIn
	if e := decodeSingle(body, &t); e != nil {
		writeJSON(w, http.StatusBadRequest, singleBody(0, []apiError{*e}, nil))
		return
	}
	q := r.URL.Query()
	if v := q.Get("identifierName"); v != "" {
		t.IdentifierType = str{V: v, Set: true}
	}
	if v := q.Get("identifierValue"); v != "" {
		t.IdentifierValue = str{V: v, Set: true}
	}
	if v := q.Get("source"); v != "" {
		t.Source = str{V: strings.ToUpper(v), Set: true}
	}
	errs := validateTxn(&t)
	st := s.st.Load()
	till := attributionTill(r)
	var id int64
	st.mu.Lock()
	if len(errs) > 0 {
		st.receiveLocked("")
		st.rejectLocked()
	} else {
		id, errs = s.applyTxnLocked(st, &t, body, till, r.Pattern, s.cfg.Now())
	}
	st.mu.Unlock()
	if len(errs) > 0 {
		writeJSON(w, http.StatusBadRequest, singleBody(0, errs, nil))
		return
	}
	writeJSON(w, http.StatusOK, singleBody(id, nil, map[string]any{"sideEffects": []any{}}))
}

// ---- shared helpers ----

// bulkElements splits a bulk body, answering 400 itself for a malformed body
// and the documented 1060 for an oversized batch.
func (s *Server) bulkElements(w http.ResponseWriter, body []byte) ([]json.RawMessage, bool) {
	elems, err := splitArray(body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorsBody(invalid("Input is invalid. Please check request parameters or input xml/json: %v", err)))
		return nil, false
	}
	if len(elems) > s.cfg.MaxBatchSize {
		e := errBatchLimit
		e.Message += " Maximum " + strconv.Itoa(s.cfg.MaxBatchSize) + " entities per request, got " + strconv.Itoa(len(elems)) + "."
		writeJSON(w, http.StatusBadRequest, errorsBody(e))
		return nil, false
	}
	return elems, true
}

// malformed answers 400 for the whole body when an element was not valid
// JSON: the request was not parsed, so nothing of it is applied.
func malformed(w http.ResponseWriter, errs [][]apiError) bool {
	for _, e := range errs {
		if len(e) == 1 && e[0].Key == malformedKey {
			writeJSON(w, http.StatusBadRequest, errorsBody(e[0]))
			return true
		}
	}
	return false
}

// decodeSingle decodes a single-entity body, which must be one JSON object.
func decodeSingle(body []byte, v any) *apiError {
	t := bytes.TrimSpace(body)
	if len(t) == 0 {
		e := invalid("Input is invalid: empty request body")
		return &e
	}
	if !json.Valid(t) {
		e := invalid("Input is invalid: malformed JSON")
		return &e
	}
	return decodeObject(t, v)
}

// singleBody is the documented single-entity answer.
func singleBody(id int64, errs []apiError, extra map[string]any) map[string]any {
	m := map[string]any{"createdId": nil, "errors": nonNil(errs), "warnings": []apiError{}}
	if id != 0 {
		m["createdId"] = id
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func nonNil(errs []apiError) []apiError {
	if errs == nil {
		return []apiError{}
	}
	return errs
}
