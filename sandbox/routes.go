package sandbox

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

func (s *Server) routes() {
	// OAuth: Capillary's v3 generate endpoint, with and without the version.
	for _, p := range []string{"/v3/oauth/token/generate", "/oauth/token/generate", "/oauth/token"} {
		s.handle("POST "+p, routeToken, s.handleToken)
	}

	s.handle("POST /v2/customers", routeAPI, s.handleCustomerAdd)
	s.handle("POST /v2/customers/bulk", routeAPI, s.handleCustomerBulk)
	s.handle("POST /v2/bulk/addCustomers", routeAPI, s.handleCustomerBulk)
	s.handle("GET /v2/customers/lookup", routeAPI, s.handleCustomerLookup)
	s.handle("GET /v2/customers/lookup/customerDetails", routeAPI, s.handleCustomerLookup)
	s.handle("GET /v2/customers/{id}", routeAPI, s.handleCustomerGet)

	s.handle("POST /v2/transactions/bulk", routeAPI, s.handleTxnBulk)
	s.handle("POST /v2/transactions", routeAPI, s.handleTxnAdd)
	s.handle("GET /v2/transactions", routeAPI, s.handleTxnQuery)
	s.handle("GET /v2/transactions/getByBillNumber/{bill}", routeAPI, s.handleTxnQuery)
	s.handle("GET /v2/transactions/{id}", routeAPI, s.handleTxnGet)

	entities := func(mode bodyMode, fn entityFunc) apiHandler {
		return func(w http.ResponseWriter, r *http.Request, body []byte) { s.serveEntities(w, r, body, mode, fn) }
	}
	s.handle("POST /v2/coupon/redeem", routeAPI, entities(singleOrBulk, couponRedeem))
	s.handle("POST /v2/request-workflow/GOODWILL-POINTS", routeAPI, entities(singleOrBulk, goodwill))
	s.handle("POST /v2/card", routeAPI, entities(singleOrBulk, card))
	s.handle("PUT /v2/card", routeAPI, entities(singleOrBulk, card))
	s.handle("POST /v2/tnc/change/bulk/customers", routeAPI, entities(bulkOnly, tnc))
	s.handle("POST /v2/requests", routeAPI, entities(singleOrBulk, request))
	s.handle("POST /v2/customers/barcode/forceGenerate", routeAPI, entities(singleOrBulk, barcode))
	s.handle("POST /v1/badges/import/customerBadges", routeAPI, entities(singleOrBulk, badgeEarn(true)))
	s.handle("POST /v1/badges/issue", routeAPI, entities(singleOrBulk, badgeEarn(false)))
	s.handle("POST /v1/badges/earn", routeAPI, entities(singleOrBulk, badgeEarn(false)))
	s.handle("POST /v1/badges/badgeMeta", routeAPI, entities(singleOrBulk, badgeMeta))
	s.handle("POST /v2/rewards", routeAPI, entities(singleOrBulk, rewardCreate))
	s.handle("POST /v1/rewards/create", routeAPI, entities(singleOrBulk, rewardCreate))
	s.handle("PUT /v2/rewards", routeAPI, entities(singleOrBulk, rewardUpdate))
	s.handle("PUT /v1/rewards/update", routeAPI, entities(singleOrBulk, rewardUpdate))
	s.handle("POST /v1/rewards/issue", routeAPI, entities(singleOrBulk, rewardIssue))

	s.feedRoutes()
	s.irisRoutes()
	s.lookupRoutes()
	s.templateRoutes()

	s.handle("POST /x/neo/{name...}", routeAPI, s.handleNeo)
	s.handle("PUT /x/neo/{name...}", routeAPI, s.handleNeo)

	s.handle("GET /_sandbox/stats", routeAdmin, func(w http.ResponseWriter, r *http.Request, _ []byte) { writeJSON(w, http.StatusOK, s.Stats()) })
	s.handle("POST /_sandbox/reset", routeAdmin, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		s.Reset()
		writeJSON(w, http.StatusOK, map[string]any{"reset": true})
	})
	s.handle("GET /_sandbox/faults", routeAdmin, func(w http.ResponseWriter, r *http.Request, _ []byte) { writeJSON(w, http.StatusOK, s.Faults()) })
	s.handle("POST /_sandbox/faults", routeAdmin, s.handleSetFaults)
	s.handle("PUT /_sandbox/faults", routeAdmin, s.handleSetFaults)
	s.handle("GET /_sandbox/entities", routeAdmin, s.handleEntities)
	s.handle("GET /_sandbox/entities/{id}", routeAdmin, s.handleEntity)
	s.handle("GET /_sandbox/health", routeAdmin, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	})

	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.st.Load().recordRequest("unmatched", http.StatusNotFound)
		writeJSON(w, http.StatusNotFound, errorsBody(apiError{Code: 404, Message: "No sandbox endpoint for " + r.Method + " " + r.URL.Path + "; see GET /_sandbox/health and the sandbox README"}))
	})
}

func (s *Server) handleSetFaults(w http.ResponseWriter, r *http.Request, body []byte) {
	var f FaultConfig
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		writeJSON(w, http.StatusBadRequest, errorsBody(invalid("fault config: %v", err)))
		return
	}
	if err := s.SetFaults(f); err != nil {
		writeJSON(w, http.StatusBadRequest, errorsBody(invalid("fault config: %v", err)))
		return
	}
	writeJSON(w, http.StatusOK, f)
}

// GET /_sandbox/entities?kind=transaction&key=...&billNumber=...&limit=&offset=
// Every other query parameter filters on an entity attribute.
func (s *Server) handleEntities(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	limit, offset := pageParams(q.Get("limit"), q.Get("offset"), 100, 10000)
	filter := map[string]string{}
	for k, v := range q {
		switch k {
		case "kind", "limit", "offset":
		default:
			filter[k] = v[0]
		}
	}
	es, total := s.st.Load().list(q.Get("kind"), filter, offset, limit)
	if es == nil {
		es = []*Entity{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": q.Get("kind"), "total": total, "limit": limit, "offset": offset, "countOnly": s.cfg.CountOnly, "entities": es})
}

func (s *Server) handleEntity(w http.ResponseWriter, r *http.Request, _ []byte) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	e := s.st.Load().get(id)
	if e == nil {
		writeJSON(w, http.StatusNotFound, errorsBody(apiError{Code: 404, Message: "No entity " + r.PathValue("id")}))
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func pageParams(l, o string, def, max int) (limit, offset int) {
	limit, err := strconv.Atoi(l)
	if err != nil || limit <= 0 {
		limit = def
	}
	limit = min(limit, max)
	offset, err = strconv.Atoi(o)
	if err != nil || offset < 0 {
		offset = 0
	}
	return limit, offset
}

// withID renders a stored entity as the API would: its body plus "id".
func withID(e *Entity) map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal(e.Body, &m)
	m["id"] = e.ID
	return m
}

// GET /v2/customers/lookup?source=INSTORE&identifierName=mobile&identifierValue=...
func (s *Server) handleCustomerLookup(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	source, name, value := strings.ToUpper(q.Get("source")), q.Get("identifierName"), q.Get("identifierValue")
	var e *apiError
	switch {
	case source == "":
		e = &apiError{Code: 8001, Message: "Lookup failed, No source passed"}
	case !validSources[source]:
		e = &apiError{Code: 8011, Message: "Look up, Invalid source passed"}
	case name == "" || value == "":
		e = &apiError{Code: 8002, Message: "Lookup failed, No identifiers passed"}
	case !lookupIdentifierTypes[name]:
		e = &apiError{Code: 8013, Message: "Lookup, Invalid identifier passed"}
	}
	if e != nil {
		writeJSON(w, http.StatusBadRequest, errorsBody(*e))
		return
	}
	st := s.st.Load()
	st.mu.Lock()
	var id int64
	if name == "id" {
		id = st.idents["id|"+value]
	} else {
		id = st.idents[identKey(source, name, value)]
	}
	ent := st.byID[id]
	st.mu.Unlock()
	s.writeCustomer(w, id, ent)
}

func (s *Server) handleCustomerGet(w http.ResponseWriter, r *http.Request, _ []byte) {
	st := s.st.Load()
	st.mu.Lock()
	id := st.idents["id|"+r.PathValue("id")]
	ent := st.byID[id]
	st.mu.Unlock()
	s.writeCustomer(w, id, ent)
}

func (s *Server) writeCustomer(w http.ResponseWriter, id int64, ent *Entity) {
	if id == 0 {
		writeJSON(w, http.StatusNotFound, errorsBody(errCustNotFound))
		return
	}
	m := map[string]any{"id": id}
	if ent != nil {
		m = withID(ent)
	}
	m["warnings"] = []apiError{}
	writeJSON(w, http.StatusOK, m)
}

// GET /v2/transactions?identifierName=&identifierValue=&source=&billNumber=&limit=&offset=
// and GET /v2/transactions/getByBillNumber/{bill}, answered in the documented
// {"pagination":{limit,offset,total},"data":[...]} shape.
func (s *Server) handleTxnQuery(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	limit, offset := pageParams(q.Get("limit"), q.Get("offset"), 100, 1000)
	filter := map[string]string{}
	for param, attr := range map[string]string{"identifierName": "identifierType", "identifierValue": "identifierValue", "billNumber": "billNumber", "type": "type"} {
		if v := q.Get(param); v != "" {
			filter[attr] = v
		}
	}
	if v := q.Get("source"); v != "" {
		filter["source"] = strings.ToUpper(v)
	}
	if b := r.PathValue("bill"); b != "" {
		filter["billNumber"] = b
	}
	st := s.st.Load()
	var es []*Entity
	total := 0
	if bill := filter["billNumber"]; bill != "" {
		for _, e := range st.transactionsByBill(bill) {
			if matches(e, filter) {
				if total >= offset && len(es) < limit {
					es = append(es, e)
				}
				total++
			}
		}
	} else {
		es, total = st.list(KindTransaction, filter, offset, limit)
	}
	data := make([]map[string]any, 0, len(es))
	for _, e := range es {
		data = append(data, withID(e))
	}
	out := map[string]any{"pagination": map[string]any{"limit": limit, "offset": offset, "total": total}, "data": data}
	if s.cfg.CountOnly {
		out["warnings"] = []apiError{{Code: 200, Message: "sandbox runs count-only: transaction bodies are not stored"}}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleTxnGet(w http.ResponseWriter, r *http.Request, _ []byte) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	e := s.st.Load().get(id)
	if e == nil || e.Kind != KindTransaction {
		writeJSON(w, http.StatusNotFound, errorsBody(apiError{Code: 404, Message: "Transaction " + r.PathValue("id") + " not found"}))
		return
	}
	m := withID(e)
	m["warnings"] = []apiError{}
	writeJSON(w, http.StatusOK, m)
}
