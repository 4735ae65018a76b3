package sandbox

import (
	"strconv"
	"strings"
	"testing"
)

// TestRetroTransactions: a NOT_INTERESTED bill is tagged to a customer
// once (it becomes REGULAR); a replay, a REGULAR bill, an unknown id and
// the doc's reversed types are rejected.
func TestRetroTransactions(t *testing.T) {
	e := newEnv(t, Config{})
	r := e.expect(e.do("POST", "/v2/transactions/bulk", `[{"type":"NOT_INTERESTED","billNumber":"NI-1","billAmount":100,"billingDate":"2025-01-01T10:00:00Z"},
		{"type":"REGULAR","identifierType":"mobile","identifierValue":"919800000001","source":"INSTORE","billNumber":"R-1","billAmount":50}]`), 200)
	if r.obj()["failureCount"].(float64) != 0 {
		t.Fatalf("seed: %s", r.raw)
	}
	retro := func(txn, oldT, newT string, hdr ...string) resp {
		return e.do("POST", "/v2/requests", `{"type":"TRANSACTION","baseType":"RETRO","customerId":"342211901","transactionId":"`+txn+`","oldType":"`+oldT+`","newType":"`+newT+`"}`, hdr...)
	}
	ok := e.expect(retro("100000001", "NOT_INTERESTED", "REGULAR", "X-CAP-AUTO-APPROVE", "true"), 200).obj()
	if ok["requestStatus"] != "APPROVED" || ok["createdId"] == nil {
		t.Fatalf("retro: %v", ok)
	}
	if got := e.s.Entities(KindTransaction)[0].Attributes; got["type"] != "REGULAR" || got["customerId"] != "342211901" {
		t.Errorf("transaction after retro: %v", got)
	}
	for _, c := range []struct{ txn, oldT, newT, want string }{
		{"100000001", "NOT_INTERESTED", "REGULAR", "is REGULAR, not NOT_INTERESTED"},
		{"100000002", "NOT_INTERESTED", "REGULAR", "is REGULAR"},
		{"100000077", "NOT_INTERESTED", "REGULAR", "not found"},
		{"100000001", "REGULAR", "NOT_INTERESTED", "changes oldType NOT_INTERESTED"},
	} {
		r := e.expect(retro(c.txn, c.oldT, c.newT), 400)
		if !strings.Contains(string(r.raw), c.want) {
			t.Errorf("%+v: %s", c, r.raw)
		}
	}
	if p := e.expect(retro("100000001", "NOT_INTERESTED", "REGULAR"), 400); !strings.Contains(string(p.raw), "not NOT_INTERESTED") {
		t.Errorf("replay: %s", p.raw)
	}
}

// TestCustomerUpdate: status label and subscriptions of a registered
// customer; unknown customers are 8015, bad subscriptions 400.
func TestCustomerUpdate(t *testing.T) {
	e := newEnv(t, Config{})
	e.expect(e.do("POST", "/v2/customers", `{"profiles":[{"firstName":"A","source":"INSTORE","identifiers":[{"type":"mobile","value":"919800000001"}]}]}`), 200)
	r := e.expect(e.do("PUT", "/v2/customers/100000001", `{"statusLabel":"Suspended","statusLabelReason":"Chargeback",
		"commChannels":[{"type":"mobile","value":"919800000001","subscriptionDetails":[{"channel":"SMS","type":"BULK","status":"UNSUBSCRIBED"}]}]}`), 200).obj()
	if r["updated"] != true {
		t.Fatalf("%v", r)
	}
	c := e.s.Entities(KindCustomer)[0]
	if c.Attributes["statusLabel"] != "Suspended" || !strings.Contains(string(c.Body), `"profiles"`) || !strings.Contains(string(c.Body), "UNSUBSCRIBED") {
		t.Errorf("stored: %v %s", c.Attributes, c.Body)
	}
	if code, _ := firstErrorCode(t, e.expect(e.do("PUT", "/v2/customers/100000099", `{"statusLabel":"Active"}`), 400).obj()); code != 8015 {
		t.Errorf("unknown customer: %d", code)
	}
	for _, body := range []string{`{"commChannels":[{"subscriptionDetails":[{"channel":"FAX","type":"BULK","status":"SUBSCRIBED"}]}]}`,
		`{"commChannels":[{"subscriptionDetails":[{"channel":"SMS","type":"BULK","status":"OPTED_OUT"}]}]}`, `{}`} {
		e.expect(e.do("PUT", "/v2/customers/100000001", body), 400)
	}
}

func TestIntouchUsersAndWebhooks(t *testing.T) {
	e := newEnv(t, Config{})
	user := `{"firstName":"Neha","email":"neha@brand.example","reportsTo":"ops.lead@brand.example","userRole":"Store Manager","userType":"Brand User","groupName":"Store Ops"}`
	e.expect(e.do("POST", "/intouch-ui/api/v1/users", user), 200)
	if r := e.expect(e.do("POST", "/intouch-ui/api/v1/users", user), 400); !strings.Contains(string(r.raw), "already exists") {
		t.Errorf("duplicate: %s", r.raw)
	}
	e.expect(e.do("POST", "/intouch-ui/api/v1/users", `{"firstName":"X","email":"x@brand.example","reportsTo":"ops.lead@brand.example","userRole":"Region Head (Concept)","userType":"Brand User","groupName":"Ops"}`), 400)
	e.expect(e.do("POST", "/intouch-ui/api/v1/users", `{"firstName":"X","email":"y@brand.example","reportsTo":"ops.lead@brand.example","userRole":"Analyst","userType":"Admin","groupName":"Ops"}`), 400)

	// Webhooks need no token.
	e.tok = ""
	hook := "/eucrm/webhooks/301f6b55-c7d7-4e42-873d-76a9a557bf3c"
	e.expect(e.do("POST", hook, `{"eventName":"app_login","mobile":"919800000001","eventDateTime":"2024-12-01T10:00:00Z","attributes":{"os":"android"}}`), 200)
	e.expect(e.do("POST", hook, `{"mobile":"919800000001"}`), 400)
	e.expect(e.do("POST", "/eucrm/webhooks/not-a-uuid", `{"eventName":"x","mobile":"919800000001"}`), 400)
	if n := len(e.s.Entities(KindEvent)); n != 1 {
		t.Errorf("%d events", n)
	}
}

func TestDatabricksJobs(t *testing.T) {
	e := newEnv(t, Config{})
	e.tok = ""
	e.expect(e.do("POST", "/api/2.1/jobs/run-now", `{"job_id":42}`), 401)
	run := e.expect(e.do("POST", "/api/2.1/jobs/run-now", `{"job_id":42,"notebook_params":{"filename":"a.csv"}}`, "Authorization", "Bearer dapi-test"), 200).obj()
	id := run["run_id"].(float64)
	got := e.expect(e.do("GET", "/api/2.1/jobs/runs/get?run_id="+jsonNum(id), "", "Authorization", "Bearer dapi-test"), 200).obj()
	st := got["state"].(map[string]any)
	if st["life_cycle_state"] != "TERMINATED" || st["result_state"] != "SUCCESS" {
		t.Fatalf("%v", got)
	}
	fail := e.expect(e.do("POST", "/api/2.1/jobs/run-now", `{"job_id":901}`, "Authorization", "Bearer dapi-test"), 200).obj()
	got = e.expect(e.do("GET", "/api/2.1/jobs/runs/get?run_id="+jsonNum(fail["run_id"].(float64)), "", "Authorization", "Bearer dapi-test"), 200).obj()
	if got["state"].(map[string]any)["result_state"] != "FAILED" {
		t.Errorf("%v", got)
	}
	e.expect(e.do("GET", "/api/2.1/jobs/runs/get?run_id=5", "", "Authorization", "Bearer dapi-test"), 400)
	e.expect(e.do("POST", "/api/2.1/jobs/run-now", `{"job_id":0}`, "Authorization", "Bearer dapi-test"), 400)
}

func jsonNum(f float64) string { return strconv.FormatInt(int64(f), 10) }
