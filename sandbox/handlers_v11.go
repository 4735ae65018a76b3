package sandbox

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// GET /v1.1/customer/get — the documented multi-customer read
// (https://docs.capillarytech.com/reference/get-customer-details-v1api):
// "To fetch the details for customers in bulk, add the identification
// details separated by a comma", on one of the identifiers mobile, email,
// external_id or id (the user id). v1.1 customer APIs answer from the
// org's INSTORE source. The answer is the v1.1 envelope
// {"response":{"status":{...},"customers":{"customer":[...]}}} with one
// customer per requested value, in request order, each with its
// item_status: 1000 retrieved, 1012 "Cannot find customer with the
// provided mobile number/external ID/e-mail ID" (the customer status codes,
// https://docs.capillarytech.com/reference/status-codes-customer). The
// overall status is 200 when every customer was found, 201 when some were
// not, 500 when none was; the HTTP status is 200 in each case (v1.1
// reports per item). No identifier at all is a 400.
func (s *Server) handleV11CustomerGet(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	var by, raw string
	for _, p := range []string{"mobile", "email", "external_id", "id"} {
		if v := q.Get(p); v != "" {
			by, raw = p, v
			break
		}
	}
	if by == "" {
		writeJSON(w, http.StatusBadRequest, v11Envelope(v11Status{Success: "false", Code: 400, Message: "No identifier provided to get loyalty users"}, nil))
		return
	}
	var values []string
	for _, v := range strings.Split(raw, ",") {
		if v = strings.TrimSpace(v); v != "" {
			values = append(values, v)
		}
	}
	typ := map[string]string{"mobile": "mobile", "email": "email", "external_id": "externalId", "id": "id"}[by]
	st := s.st.Load()
	st.mu.Lock()
	customers := make([]map[string]any, 0, len(values))
	found := 0
	for _, v := range values {
		var id int64
		if typ == "id" {
			id = st.idents["id|"+v]
		} else {
			id = st.idents[identKey("INSTORE", typ, v)]
		}
		c := map[string]any{by: v}
		if id == 0 {
			c["item_status"] = v11Status{Success: "false", Code: 1012, Message: "Cannot find customer with the provided mobile number/external ID/e-mail ID"}
			customers = append(customers, c)
			continue
		}
		found++
		c = v11Customer(id, st.byID[id])
		c["item_status"] = v11Status{Success: "true", Code: 1000, Message: "Customer retrieved successfully"}
		customers = append(customers, c)
	}
	st.mu.Unlock()
	status := v11Status{Success: "true", Code: 200, Message: "SUCCESS"}
	switch {
	case found == 0:
		status = v11Status{Success: "false", Code: 500, Message: "All requests have failed due to errors"}
	case found < len(values):
		status = v11Status{Success: "true", Code: 201, Message: "Some requests have failed due to errors"}
	}
	writeJSON(w, http.StatusOK, v11Envelope(status, customers))
}

type v11Status struct {
	Success string `json:"success"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func v11Envelope(status v11Status, customers []map[string]any) map[string]any {
	resp := map[string]any{"status": status}
	if customers != nil {
		resp["customers"] = map[string]any{"customer": customers}
	}
	return map[string]any{"response": resp}
}

// v11Customer renders a stored (v2-shaped) customer in v1.1's flat shape:
// user_id, firstname, lastname, mobile, email, external_id.
func v11Customer(id int64, e *Entity) map[string]any {
	c := map[string]any{"user_id": strconv.FormatInt(id, 10), "firstname": "", "lastname": "", "mobile": "", "email": "", "external_id": ""}
	if e == nil {
		return c
	}
	var body struct {
		Profiles []struct {
			FirstName   string `json:"firstName"`
			LastName    string `json:"lastName"`
			Identifiers []struct {
				Type  string `json:"type"`
				Value string `json:"value"`
			} `json:"identifiers"`
		} `json:"profiles"`
	}
	if json.Unmarshal(e.Body, &body) != nil || len(body.Profiles) == 0 {
		return c
	}
	p := body.Profiles[0]
	c["firstname"], c["lastname"] = p.FirstName, p.LastName
	for _, id := range p.Identifiers {
		switch id.Type {
		case "mobile":
			c["mobile"] = id.Value
		case "email":
			c["email"] = id.Value
		case "externalId":
			c["external_id"] = id.Value
		}
	}
	return c
}
