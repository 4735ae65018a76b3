package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type env struct {
	t   *testing.T
	s   *Server
	ts  *httptest.Server
	tok string
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	s, ts := NewTestServer(cfg)
	t.Cleanup(ts.Close)
	return &env{t: t, s: s, ts: ts, tok: s.IssueToken()}
}

type resp struct {
	status int
	header http.Header
	raw    []byte
	body   any
}

func (r resp) obj() map[string]any {
	m, _ := r.body.(map[string]any)
	return m
}

func (e *env) do(method, path, body string, hdr ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if e.tok != "" {
		req.Header.Set("X-CAP-API-OAUTH-TOKEN", e.tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: response is not JSON: %v: %s", method, path, err, raw)
		}
	}
	return r
}

func (e *env) expect(r resp, status int) resp {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

// firstErrorCode returns errors[0].code of a single-entity answer or entry.
func firstErrorCode(t *testing.T, m map[string]any) (int, string) {
	t.Helper()
	errs, _ := m["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("no errors in %v", m)
	}
	e := errs[0].(map[string]any)
	key, _ := e["key"].(string)
	return int(e["code"].(float64)), key
}

func noErrors(t *testing.T, m map[string]any) {
	t.Helper()
	if errs, _ := m["errors"].([]any); len(errs) != 0 {
		t.Fatalf("unexpected errors: %v", errs)
	}
}

func txn(mobile, bill string, amount any) string {
	b, _ := json.Marshal(map[string]any{"identifierType": "mobile", "identifierValue": mobile, "source": "INSTORE", "type": "REGULAR", "billNumber": bill, "billAmount": amount, "billingDate": "2025-04-11T11:00:00+05:30"})
	return string(b)
}

// fakeClock is a settable clock for token expiry.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }
func newFakeClock(start time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(start.UnixNano())
	return c
}

func TestTokenFlow(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	e := newEnv(t, Config{ClientKey: "K", ClientSecret: "S", TokenTTL: time.Minute, Now: clock.now})
	e.tok = ""
	r := e.expect(e.do("POST", "/v3/oauth/token/generate", `{"key":"K","secret":"S"}`), 200)
	data := r.obj()["data"].(map[string]any)
	tok := data["accessToken"].(string)
	if data["ttlSeconds"].(float64) != 60 {
		t.Fatalf("ttlSeconds = %v", data["ttlSeconds"])
	}
	body := "[" + txn("919800000001", "b1", 10) + "]"
	e.expect(e.do("POST", "/v2/transactions/bulk", body, "X-CAP-API-OAUTH-TOKEN", tok), 200)
	e.expect(e.do("POST", "/v2/transactions/bulk", "["+txn("919800000001", "b2", 10)+"]", "Authorization", "Bearer "+tok), 200)

	// Wrong secret, missing, forged and expired tokens.
	e.expect(e.do("POST", "/v3/oauth/token/generate", `{"key":"K","secret":"nope"}`), 401)
	e.expect(e.do("POST", "/v2/transactions/bulk", body), 401)
	// The forgery changes the MAC's last hex digit; overwriting it with a
	// fixed "00" left 1 token in 256 unchanged (and accepted: CI saw it).
	forged := tok[:len(tok)-1] + "0"
	if tok[len(tok)-1] == '0' {
		forged = tok[:len(tok)-1] + "1"
	}
	e.expect(e.do("POST", "/v2/transactions/bulk", body, "X-CAP-API-OAUTH-TOKEN", forged), 401)
	e.expect(e.do("POST", "/v2/transactions/bulk", body, "X-CAP-API-OAUTH-TOKEN", "garbage"), 401)
	clock.advance(59 * time.Second)
	e.expect(e.do("GET", "/v2/transactions", "", "X-CAP-API-OAUTH-TOKEN", tok), 200)
	clock.advance(2 * time.Second)
	r = e.expect(e.do("GET", "/v2/transactions", "", "X-CAP-API-OAUTH-TOKEN", tok), 401)
	if !strings.Contains(string(r.raw), "expired") {
		t.Fatalf("expired token message: %s", r.raw)
	}

	// OAuth2 client-credentials form, credentials in Basic auth and in the form.
	req, _ := http.NewRequest("POST", e.ts.URL+"/v3/oauth/token/generate", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("K", "S")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var cc struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	_ = json.NewDecoder(res.Body).Decode(&cc)
	res.Body.Close()
	if res.StatusCode != 200 || cc.AccessToken == "" || cc.ExpiresIn != 60 || cc.TokenType != "bearer" {
		t.Fatalf("client credentials: %d %+v", res.StatusCode, cc)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"K"}, "client_secret": {"bad"}}.Encode()
	r = e.do("POST", "/v3/oauth/token/generate", form, "Content-Type", "application/x-www-form-urlencoded")
	if r.status != 401 || r.obj()["error"] != "invalid_client" {
		t.Fatalf("bad form credentials: %d %s", r.status, r.raw)
	}
	e.expect(e.do("GET", "/v2/transactions", "", "Authorization", "Bearer "+cc.AccessToken), 200)

	// Basic auth with key:secret, and its switch.
	e.expect(e.do("GET", "/v2/transactions", "", "Authorization", "Basic "+basic("K", "S")), 200)
	e.expect(e.do("GET", "/v2/transactions", "", "Authorization", "Basic "+basic("K", "x")), 401)
	e2 := newEnv(t, Config{DisableBasicAuth: true})
	e2.expect(e2.do("GET", "/v2/transactions", "", "X-CAP-API-OAUTH-TOKEN", "", "Authorization", "Basic "+basic(DefaultClientKey, DefaultClientSecret)), 401)
	if n := e.s.Stats().TokensIssued; n != 2 {
		t.Fatalf("tokens issued over HTTP: %d, want 2", n)
	}
}

func basic(k, s string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(k, s)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

func TestTransactionsBulkPerEntityResults(t *testing.T) {
	e := newEnv(t, Config{})
	body := "[" + strings.Join([]string{
		txn("919800000001", "B-1", "6000.0"),
		`{"source":"INSTORE","type":"REGULAR","billNumber":"B-2","billAmount":10}`,
		txn("919800000003", "B-3", -5),
		`{"identifierType":"mobile","identifierValue":"919800000004","source":"INSTORE","type":"REGULAR","billNumber":"B-4","billAmount":{"v":1}}`,
		txn("919800000001", "B-1", 7),
		strings.Replace(txn("919800000006", "B-6", 1), "INSTORE", "Instore", 1),
		`42`,
		`{"identifierType":"phone","identifierValue":"1","source":"INSTORE","type":"REGULAR","billNumber":"B-8","billAmount":1}`,
		`{"identifierType":"mobile","identifierValue":"919800000009","source":"INSTORE","type":"REGULAR","billNumber":"B-9","billAmount":5,"grossAmount":-1,"discount":-2,"lineItemsV2":[{"itemCode":"a","amount":-1}]}`,
		`{"type":"NOT_INTERESTED","billNumber":"NI-1","billAmount":3}`,
	}, ",") + "]"
	r := e.expect(e.do("POST", "/v2/transactions/bulk", body), 200)
	m := r.obj()
	entries := m["response"].([]any)
	if len(entries) != 10 || m["totalCount"].(float64) != 10 || m["failureCount"].(float64) != 8 {
		t.Fatalf("counts: %d entries, %v", len(entries), m)
	}
	want := []struct {
		code int
		key  string
	}{{0, ""}, {8084, "CUST_DETAILS_NOT_PASSED"}, {631, "ERR_LOYALTY_BILL_AMOUNT_NEGATIVE"}, {400, "INVALID_INPUT"},
		{604, "ERR_LOYALTY_DUPLICATE_BILL_NUMBER"}, {8003, "INVALID_SOURCE"}, {400, "INVALID_INPUT"}, {8013, "INVALID_IDENTIFIER"},
		{665, "ERR_LOYALTY_BILL_GROSS_AMOUNT_NEGATIVE"}, {0, ""}}
	for i, w := range want {
		en := entries[i].(map[string]any)
		if w.code == 0 {
			noErrors(t, en)
			if en["entityId"] == nil {
				t.Fatalf("entry %d: no entityId", i)
			}
			continue
		}
		if en["entityId"] != nil {
			t.Fatalf("entry %d: failed entity has id %v", i, en["entityId"])
		}
		code, key := firstErrorCode(t, en)
		if code != w.code || key != w.key {
			t.Fatalf("entry %d: got %d %s, want %d %s (%v)", i, code, key, w.code, w.key, en["errors"])
		}
	}
	// The result echoes the submitted transaction, as documented.
	if res := entries[0].(map[string]any)["result"].(map[string]any); res["billNumber"] != "B-1" || res["billAmount"] != "6000.0" {
		t.Fatalf("result echo: %v", res)
	}
	if errs := entries[8].(map[string]any)["errors"].([]any); len(errs) != 3 {
		t.Fatalf("entry 8 should report gross, discount and line errors: %v", errs)
	}
	if msg := entries[3].(map[string]any)["errors"].([]any)[0].(map[string]any)["message"].(string); !strings.Contains(msg, "billAmount") {
		t.Fatalf("type error should name the field: %s", msg)
	}

	// Resending an accepted bill is a duplicate for the API and for the stats.
	r = e.expect(e.do("POST", "/v2/transactions/bulk", "["+txn("919800000001", "B-1", 1)+"]"), 200)
	if code, _ := firstErrorCode(t, r.obj()["response"].([]any)[0].(map[string]any)); code != 604 {
		t.Fatalf("resend: %d", code)
	}
	// Same bill number for another customer or another store is fine.
	r = e.expect(e.do("POST", "/v2/transactions/bulk", "["+txn("919800000002", "B-1", 1)+"]"), 200)
	noErrors(t, r.obj()["response"].([]any)[0].(map[string]any))
	r = e.expect(e.do("POST", "/v2/transactions/bulk", "["+txn("919800000001", "B-1", 1)+"]", "X-CAP-API-ATTRIBUTION-ENTITY-CODE", "store-2"), 200)
	noErrors(t, r.obj()["response"].([]any)[0].(map[string]any))

	st := e.s.Stats()
	if st.AcceptedEntities != 4 || st.ReceivedEntities != 13 || st.Entities[KindTransaction] != 4 {
		t.Fatalf("stats: %+v", st)
	}
	if st.Duplicates != 2 || len(st.DuplicateKeys) != 2 {
		t.Fatalf("duplicates: %d %v", st.Duplicates, st.DuplicateKeys)
	}
	if st.Requests["POST /v2/transactions/bulk"]["200"] != 4 {
		t.Fatalf("request stats: %v", st.Requests)
	}

	// Malformed bodies are rejected whole.
	for _, bad := range []string{`[{"billNumber":`, `{"billNumber":"x"}`, ``, `"x"`, `[{"a":1} {"b":2}]`, `[{"a":}]`, `[tru]`, `[1,]`, `[1] x`} {
		r := e.expect(e.do("POST", "/v2/transactions/bulk", bad), 400)
		if code, _ := firstErrorCode(t, r.obj()); code != 400 {
			t.Fatalf("%q: code %d", bad, code)
		}
	}
	e2 := newEnv(t, Config{MaxBatchSize: 2})
	r = e2.expect(e2.do("POST", "/v2/transactions/bulk", "["+txn("1", "a", 1)+","+txn("1", "b", 1)+","+txn("1", "c", 1)+"]"), 400)
	if code, _ := firstErrorCode(t, r.obj()); code != 1060 {
		t.Fatalf("batch limit code %d", code)
	}
}

func TestTransactionReturnsAndSingleAdd(t *testing.T) {
	e := newEnv(t, Config{})
	ret := `{"identifierType":"mobile","identifierValue":"919800000001","source":"INSTORE","type":"RETURN","returnType":"AMOUNT","billNumber":"R-1","billAmount":5}`
	r := e.expect(e.do("POST", "/v2/transactions/bulk", "["+ret+"]"), 200)
	if _, key := firstErrorCode(t, r.obj()["response"].([]any)[0].(map[string]any)); key != "ERR_RETURN_TXN_NOT_EXISTS" {
		t.Fatalf("return of unknown bill: %s", key)
	}
	r = e.expect(e.do("POST", "/v2/transactions?identifierName=mobile&identifierValue=919800000001&source=INSTORE", `{"type":"REGULAR","billNumber":"R-1","billAmount":"100"}`), 200)
	if r.obj()["createdId"] == nil {
		t.Fatalf("single add: %s", r.raw)
	}
	r = e.expect(e.do("POST", "/v2/transactions/bulk", "["+ret+"]"), 200)
	noErrors(t, r.obj()["response"].([]any)[0].(map[string]any))
	r = e.expect(e.do("POST", "/v2/transactions?identifierName=mobile&identifierValue=919800000001&source=INSTORE", `{"type":"REGULAR","billNumber":"R-1","billAmount":"100"}`), 400)
	if code, _ := firstErrorCode(t, r.obj()); code != 604 {
		t.Fatalf("single duplicate: %d", code)
	}
	e.expect(e.do("POST", "/v2/transactions", `{"type":"REGULAR","billNumber":"R-2","billAmount":"1"}`), 400)
}

func TestCustomers(t *testing.T) {
	e := newEnv(t, Config{StrictCustomers: true})
	// Strict mode: unknown customers cannot transact.
	r := e.expect(e.do("POST", "/v2/transactions/bulk", "["+txn("919812345678", "S-1", 1)+"]"), 200)
	if code, _ := firstErrorCode(t, r.obj()["response"].([]any)[0].(map[string]any)); code != 8015 {
		t.Fatalf("strict: %d", code)
	}
	cust := func(first, typ, value, source string) string {
		return fmt.Sprintf(`{"profiles":[{"firstName":%q,"lastName":"Doe","source":%q,"identifiers":[{"type":%q,"value":%q}]}],"loyaltyInfo":{"loyaltyType":"loyalty"}}`, first, source, typ, value)
	}
	r = e.expect(e.do("POST", "/v2/customers", cust("John", "mobile", "919812345678", "INSTORE")), 200)
	id := r.obj()["createdId"].(float64)
	noErrors(t, r.obj())
	r = e.expect(e.do("POST", "/v2/transactions/bulk", "["+txn("919812345678", "S-1", 1)+"]"), 200)
	noErrors(t, r.obj()["response"].([]any)[0].(map[string]any))

	for _, c := range []struct {
		body string
		code int
	}{
		{cust("Jane", "mobile", "919812345678", "INSTORE"), 8006},
		{cust("Jane", "mobile", "12ab", "INSTORE"), 1001},
		{cust("Jane", "email", "jane.example.com", "INSTORE"), 1002},
		{cust("Jane", "ssn", "1", "INSTORE"), 8013},
		{cust("Jane", "mobile", "919812340000", ""), 8004},
		{cust("Jane", "mobile", "919812340000", "Instore"), 8003},
		{`{"profiles":[{"source":"INSTORE","identifiers":[]}]}`, 8005},
		{`{"profiles":[]}`, 8084},
		{`{"profiles":"x"}`, 400},
		{`{"profiles":`, 400},
	} {
		r := e.expect(e.do("POST", "/v2/customers", c.body), 400)
		if code, _ := firstErrorCode(t, r.obj()); code != c.code {
			t.Fatalf("%s: code %d, want %d", c.body, code, c.code)
		}
	}
	// Same mobile in another source is another profile.
	e.expect(e.do("POST", "/v2/customers", cust("John", "mobile", "919812345678", "WECHAT")), 200)

	// Bulk: documented top-level array, one entry per customer, in order.
	bulk := "[" + cust("A", "mobile", "919812300001", "INSTORE") + "," + cust("B", "email", "bad", "INSTORE") + "," + cust("C", "email", "c@example.com", "INSTORE") + "," + cust("D", "mobile", "919812300001", "INSTORE") + "]"
	r = e.expect(e.do("POST", "/v2/customers/bulk", bulk), 200)
	arr := r.body.([]any)
	if len(arr) != 4 {
		t.Fatalf("bulk entries: %s", r.raw)
	}
	for i, want := range []int{0, 1002, 0, 8006} {
		en := arr[i].(map[string]any)
		if want == 0 {
			noErrors(t, en)
			if en["entity"].(map[string]any)["id"] == nil {
				t.Fatalf("entry %d has no entity id", i)
			}
			continue
		}
		if code, _ := firstErrorCode(t, en); code != want || en["entity"] != nil {
			t.Fatalf("entry %d: %d, want %d", i, code, want)
		}
	}
	e.expect(e.do("POST", "/v2/bulk/addCustomers", "["+cust("E", "externalId", "ext-1", "INSTORE")+"]"), 200)
	e.expect(e.do("POST", "/v2/customers/bulk", cust("F", "mobile", "919812300009", "INSTORE")), 400)

	// Lookups.
	r = e.expect(e.do("GET", "/v2/customers/lookup?source=INSTORE&identifierName=mobile&identifierValue=919812345678", ""), 200)
	if r.obj()["id"].(float64) != id || r.obj()["profiles"].([]any)[0].(map[string]any)["firstName"] != "John" {
		t.Fatalf("lookup: %s", r.raw)
	}
	r = e.expect(e.do("GET", "/v2/customers/lookup?source=INSTORE&identifierName=mobile&identifierValue=1", ""), 404)
	if code, _ := firstErrorCode(t, r.obj()); code != 8015 {
		t.Fatalf("lookup miss: %d", code)
	}
	e.expect(e.do("GET", "/v2/customers/lookup?identifierName=mobile&identifierValue=1", ""), 400)
	e.expect(e.do("GET", fmt.Sprintf("/v2/customers/%d", int64(id)), ""), 200)
	e.expect(e.do("GET", "/v2/customers/1", ""), 404)
}

func TestOtherEndpoints(t *testing.T) {
	e := newEnv(t, Config{})
	type call struct {
		method, path, body string
		status             int
		code               int // first error code; 0 = success
	}
	goodwillBody := func(ref string, points any) string {
		b, _ := json.Marshal(map[string]any{"entityInfo": map[string]any{"tillId": 1}, "payload": map[string]any{"IntouchAPITask-Payload": map[string]any{
			"path": "/internal/goodwill/", "method": "POST",
			"body": map[string]any{"referenceId": ref, "reason": "sorry", "baseType": "POINTS", "earningEntityType": "CUSTOMER", "earningEntityId": "123", "points": points, "source": "API"}}}})
		return string(b)
	}
	calls := []call{
		{"POST", "/v2/coupon/redeem", `{"redeemCoupons":[{"code":"C1"}],"mobile":"919800000001","transactionNumber":"T1","billAmount":"100"}`, 200, 0},
		{"POST", "/v2/coupon/redeem", `{"redeemCoupons":[{"code":"C1"}],"mobile":"919800000001","transactionNumber":"T2","billAmount":"100"}`, 400, 604},
		{"POST", "/v2/coupon/redeem", `{"redeemCoupons":[],"mobile":"919800000001","transactionNumber":"T2","billAmount":"100"}`, 400, 661},
		{"POST", "/v2/coupon/redeem", `{"code":"C2","transactionNumber":"T2","billAmount":"100"}`, 400, 8084},
		{"POST", "/v2/coupon/redeem?identifierName=mobile&identifierValue=919800000001", `{"code":"C2","transactionNumber":"T2"}`, 400, 400},
		{"POST", "/v2/request-workflow/GOODWILL-POINTS", goodwillBody("ref-1", 50), 200, 0},
		{"POST", "/v2/request-workflow/GOODWILL-POINTS", goodwillBody("ref-2", -1), 400, 400},
		{"POST", "/v2/request-workflow/GOODWILL-POINTS", `{"payload":{}}`, 400, 400},
		{"POST", "/v2/card", `{"cardNumber":"CARD1","statusLabel":"ACTIVE","seriesId":1}`, 200, 0},
		{"POST", "/v2/card", `{"cardNumber":"CARD2","statusLabel":"active"}`, 400, 8086},
		{"POST", "/v2/card", `{"statusLabel":"ACTIVE"}`, 400, 400},
		{"POST", "/v2/tnc/change/bulk/customers", `[{"mobile":"919800000001","testControlStatus":"test"},{"email":"a@b.co","testControlStatus":"Control"},{"testControlStatus":"control"}]`, 200, -1},
		{"POST", "/v2/tnc/change/bulk/customers", `{"mobile":"919800000001","testControlStatus":"test"}`, 400, 400},
		{"POST", "/v2/requests", `{"type":"CUSTOMER","baseType":"CHANGE_IDENTIFIER","source":"INSTORE","identifierType":"mobile","identifierValue":"919800000001","oldValue":"919800000001","newValue":"919800000002"}`, 200, 0},
		{"POST", "/v2/requests", `{"type":"CUSTOMER","baseType":"CHANGE_IDENTIFIER","source":"INSTORE","identifierType":"mobile","identifierValue":"919800000001","oldValue":"919800000001"}`, 400, 400},
		{"POST", "/v2/requests", `{"type":"CUSTOMER","baseType":"DELETE","source":"INSTORE","identifierType":"email","identifierValue":"a@b.co"}`, 200, 0},
		{"POST", "/v2/requests", `{"type":"CUSTOMER","baseType":"DELETE","source":"INSTORE"}`, 400, 8084},
		{"POST", "/v2/customers/barcode/forceGenerate?source=INSTORE&format=json", `{"identifierName":"mobile","identifierValue":"919800000001"}`, 200, 0},
		{"POST", "/v2/customers/barcode/forceGenerate?source=INSTORE&format=json", `{}`, 400, 8122},
		{"POST", "/api_gateway/v1/badges/import/customerBadges", `[{"badgeMetaId":"b1","customerId":123,"earnEventDate":"1674292011","earnExpiresOn":"2030-01-01T00:00:00.000Z"},{"badgeMetaId":"b1","customerId":124,"earnEventDate":"1674292011"}]`, 200, -1},
		{"POST", "/v1/badges/issue", `{"badgeMetaId":"b1","customerId":"x"}`, 400, 400},
		{"POST", "/v1/badges/earn", `{"badgeMetaId":"b1","customerId":123}`, 200, 0},
		{"POST", "/api_gateway/v1/badges/badgeMeta", `{"name":"Gold","startOn":1757777926}`, 200, 0},
		{"POST", "/v1/badges/badgeMeta", `{"name":"Gold"}`, 400, 400},
		{"POST", "/v2/rewards", `{"brandId":"B","type":"VOUCHER","startTime":"2026-01-01","endTime":"2026-12-31","redemptionType":"INTOUCH_REWARD"}`, 200, 0},
		{"POST", "/v2/rewards", `{"brandId":"B"}`, 400, 400},
		{"POST", "/v1/rewards/issue", `{"rewardId":"7","mobile":"919800000001"}`, 200, 0},
		{"POST", "/v1/rewards/issue", `{"mobile":"919800000001"}`, 400, 400},
		{"PUT", "/v2/rewards", `{"id":"1","brandId":"B"}`, 400, 400},
		{"POST", "/x/neo/customerAddTransformation", `[{"a":1},{"b":2}]`, 200, -2},
		{"PUT", "/x/neo/deep/name", `{"a":1}`, 200, -2},
		{"POST", "/x/neo/x", `{"a":`, 400, -2},
	}
	for _, c := range calls {
		r := e.do(c.method, c.path, c.body)
		if r.status != c.status {
			t.Fatalf("%s %s %s: status %d, want %d: %s", c.method, c.path, c.body, r.status, c.status, r.raw)
		}
		switch {
		case c.code == 0:
			noErrors(t, r.obj())
			if r.obj()["createdId"] == nil {
				t.Fatalf("%s %s: no createdId: %s", c.method, c.path, r.raw)
			}
		case c.code > 0:
			if code, _ := firstErrorCode(t, r.obj()); code != c.code {
				t.Fatalf("%s %s %s: code %d, want %d (%s)", c.method, c.path, c.body, code, c.code, r.raw)
			}
		}
	}

	// Bulk answers of the small APIs: {"response":[{"entity","result","errors","warnings"}]}.
	r := e.expect(e.do("POST", "/v2/tnc/change/bulk/customers", `[{"mobile":"919800000009","testControlStatus":"control"},{"mobile":"919800000010","testControlStatus":"TEST"}]`), 200)
	entries := r.obj()["response"].([]any)
	if entries[0].(map[string]any)["entity"] == nil || r.obj()["failureCount"].(float64) != 1 {
		t.Fatalf("tnc bulk: %s", r.raw)
	}
	if code, _ := firstErrorCode(t, entries[1].(map[string]any)); code != 1062 {
		t.Fatalf("tnc status code %d", code)
	}

	// Goodwill replays with the same referenceId return the same request, no new points.
	a := e.expect(e.do("POST", "/v2/request-workflow/GOODWILL-POINTS", goodwillBody("ref-9", 10)), 200).obj()
	b := e.expect(e.do("POST", "/v2/request-workflow/GOODWILL-POINTS", goodwillBody("ref-9", 10)), 200).obj()
	if a["createdId"] != b["createdId"] || a["state"] != "AdminTask" || len(b["warnings"].([]any)) != 1 {
		t.Fatalf("goodwill replay: %v / %v", a, b)
	}
	// Card update keeps the card id and stores the new status.
	c1 := e.expect(e.do("POST", "/v2/card", `{"cardNumber":"CARD9","statusLabel":"ACTIVE"}`), 200).obj()
	c2 := e.expect(e.do("PUT", "/v2/card", `{"cardNumber":"CARD9","statusLabel":"SUSPENDED"}`), 200).obj()
	if c1["createdId"] != c2["createdId"] || c2["updated"] != true {
		t.Fatalf("card update: %v / %v", c1, c2)
	}
	cards, _ := e.s.st.Load().list(KindCard, map[string]string{"cardNumber": "CARD9"}, 0, 10)
	if len(cards) != 1 || cards[0].Attributes["statusLabel"] != "SUSPENDED" {
		t.Fatalf("stored card: %+v", cards)
	}
	// Barcode answer carries the generated code in "entity".
	bc := e.expect(e.do("POST", "/v2/customers/barcode/forceGenerate?source=INSTORE", `{"identifierName":"mobile","identifierValue":"919800000077"}`), 200).obj()
	if !strings.HasPrefix(bc["entity"].(map[string]any)["barcode"].(string), "SBX") {
		t.Fatalf("barcode: %v", bc)
	}
	// Rewards: create then update by id.
	rw := e.expect(e.do("POST", "/v1/rewards/create", `{"brandId":"B","type":"VOUCHER","startTime":"x","endTime":"y","redemptionType":"MILES"}`), 200).obj()
	e.expect(e.do("PUT", "/v2/rewards", fmt.Sprintf(`{"id":"%d","brandId":"B","enabled":false}`, int64(rw["createdId"].(float64)))), 200)
	// Neo echoes and counts each element.
	n := e.expect(e.do("POST", "/x/neo/flow1", `[1,2,3]`), 200).obj()
	if n["status"].(map[string]any)["success"] != true || n["received"].(float64) != 3 || n["name"] != "flow1" {
		t.Fatalf("neo: %v", n)
	}
	e.expect(e.do("GET", "/v2/nothing-here", ""), 404)
}

func TestQueries(t *testing.T) {
	e := newEnv(t, Config{})
	e.expect(e.do("POST", "/v2/transactions/bulk", "["+txn("919800000001", "Q-1", 10)+","+txn("919800000002", "Q-2", 20)+","+txn("919800000001", "Q-3", 30)+"]"), 200)
	r := e.expect(e.do("GET", "/v2/transactions?identifierName=mobile&identifierValue=919800000001&source=instore", ""), 200)
	if r.obj()["pagination"].(map[string]any)["total"].(float64) != 2 {
		t.Fatalf("by customer: %s", r.raw)
	}
	r = e.expect(e.do("GET", "/v2/transactions/getByBillNumber/Q-2", ""), 200)
	data := r.obj()["data"].([]any)
	if len(data) != 1 || data[0].(map[string]any)["billAmount"].(float64) != 20 {
		t.Fatalf("by bill: %s", r.raw)
	}
	id := int64(data[0].(map[string]any)["id"].(float64))
	e.expect(e.do("GET", fmt.Sprintf("/v2/transactions/%d", id), ""), 200)
	e.expect(e.do("GET", "/v2/transactions/5", ""), 404)
	r = e.expect(e.do("GET", "/_sandbox/entities?kind=transaction&limit=2", "", "X-CAP-API-OAUTH-TOKEN", ""), 200)
	if r.obj()["total"].(float64) != 3 || len(r.obj()["entities"].([]any)) != 2 {
		t.Fatalf("entities: %s", r.raw)
	}
	r = e.expect(e.do("GET", "/_sandbox/entities?kind=transaction&billNumber=Q-3", "", "X-CAP-API-OAUTH-TOKEN", ""), 200)
	ent := r.obj()["entities"].([]any)[0].(map[string]any)
	if ent["attributes"].(map[string]any)["identifierValue"] != "919800000001" || ent["body"].(map[string]any)["billNumber"] != "Q-3" {
		t.Fatalf("entity: %v", ent)
	}
	e.expect(e.do("GET", fmt.Sprintf("/_sandbox/entities/%d", id), ""), 200)
	st := e.expect(e.do("GET", "/_sandbox/stats", ""), 200).obj()
	if st["acceptedEntities"].(float64) != 3 || st["duplicates"].(float64) != 0 {
		t.Fatalf("stats: %v", st)
	}
	e.expect(e.do("POST", "/_sandbox/reset", ""), 200)
	if st := e.s.Stats(); st.AcceptedEntities != 0 || st.TotalRequests != 0 || len(e.s.Entities("")) != 0 {
		t.Fatalf("after reset: %+v", st)
	}
}

func TestFaultRatesAreSeededAndStoreNothing(t *testing.T) {
	const n = 2000
	run := func() (codes []int, s *Server) {
		e := newEnv(t, Config{Faults: FaultConfig{Seed: 7, Global: FaultRule{Rate429: 0.2, RetryAfterSeconds: 3, Rate5xx: 0.1, Codes5xx: []int{502, 521}}}})
		for i := range n {
			r := e.do("POST", "/x/neo/f", fmt.Sprintf(`{"i":%d}`, i))
			codes = append(codes, r.status)
			if r.status == 429 && r.header.Get("Retry-After") != "3" {
				t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
			}
		}
		return codes, e.s
	}
	a, s := run()
	b, _ := run()
	count := map[int]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("request %d: %d vs %d with the same seed", i, a[i], b[i])
		}
		count[a[i]]++
	}
	within := func(got int, p float64) bool { return math.Abs(float64(got)/n-p) < 0.03 }
	if !within(count[429], 0.2) || !within(count[502]+count[521], 0.1) || count[502] == 0 || count[521] == 0 {
		t.Fatalf("fault mix: %v", count)
	}
	st := s.Stats()
	if st.AcceptedEntities != int64(count[200]) || st.ReceivedEntities != int64(count[200]) {
		t.Fatalf("faulted requests must store nothing: %+v, codes %v", st, count)
	}
	if st.Faults["429"] != int64(count[429]) || st.Requests["POST /x/neo/{name...}"]["429"] != int64(count[429]) {
		t.Fatalf("fault stats: %+v", st)
	}

	// A per-endpoint rule replaces the global one for that path only.
	e := newEnv(t, Config{Faults: FaultConfig{Endpoints: map[string]FaultRule{"/v2/transactions/bulk": {Rate5xx: 1, Codes5xx: []int{504}}}}})
	e.expect(e.do("POST", "/v2/transactions/bulk", "["+txn("1", "x", 1)+"]"), 504)
	e.expect(e.do("POST", "/x/neo/a", `{}`), 200)
	if e.s.Stats().ReceivedEntities != 1 {
		t.Fatal("the 504 must not have been applied")
	}
}

func TestRuntimeFaultsAndTimeouts(t *testing.T) {
	e := newEnv(t, Config{})
	e.expect(e.do("POST", "/_sandbox/faults", `{"global":{"rate429":2}}`), 400)
	e.expect(e.do("POST", "/_sandbox/faults", `{"global":{"rate5xx":0.5,"codes5xx":[418]}}`), 400)
	e.expect(e.do("POST", "/_sandbox/faults", `{"bogus":1}`), 400)
	e.expect(e.do("POST", "/_sandbox/faults", `{"endpoints":{"/x/neo/slow":{"latencyMin":"40ms"},"/x/neo/hang":{"timeoutRate":1,"timeoutAfter":"150ms"}}}`), 200)
	got := e.expect(e.do("GET", "/_sandbox/faults", ""), 200).obj()
	if got["endpoints"].(map[string]any)["/x/neo/hang"].(map[string]any)["timeoutAfter"] != "150ms" {
		t.Fatalf("faults: %v", got)
	}
	start := time.Now()
	e.expect(e.do("POST", "/x/neo/slow", `{}`), 200)
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Fatalf("latency not applied: %v", d)
	}
	start = time.Now()
	e.expect(e.do("POST", "/x/neo/hang", `{}`), 504)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("timeout answered after %v", d)
	}
	// A client that gives up first sees a timeout; nothing was stored.
	c := &http.Client{Timeout: 50 * time.Millisecond}
	req, _ := http.NewRequest("POST", e.ts.URL+"/x/neo/hang", strings.NewReader(`{}`))
	req.Header.Set("X-CAP-API-OAUTH-TOKEN", e.tok)
	if res, err := c.Do(req); err == nil {
		res.Body.Close()
		t.Fatal("expected a client timeout")
	}
	if st := e.s.Stats(); st.ReceivedEntities != 1 || st.Faults["timeout"] != 2 {
		t.Fatalf("stats: %+v", st)
	}
	// Token endpoint: only its own rule applies.
	if err := e.s.SetFaults(FaultConfig{Global: FaultRule{Rate429: 1}}); err != nil {
		t.Fatal(err)
	}
	e.expect(e.do("POST", "/v3/oauth/token/generate", `{"key":"sandbox-key","secret":"sandbox-secret"}`), 200)
	e.expect(e.do("POST", "/x/neo/a", `{}`), 429)
	e.expect(e.do("GET", "/_sandbox/stats", ""), 200)
}

func TestRateLimitBodyLimitAndCountOnly(t *testing.T) {
	e := newEnv(t, Config{RateLimit: RateLimitConfig{RequestsPerSecond: 1, Burst: 2}, MaxBodyBytes: 1024})
	e.expect(e.do("POST", "/x/neo/a", `{}`), 200)
	e.expect(e.do("POST", "/x/neo/a", `{}`), 200)
	r := e.expect(e.do("POST", "/x/neo/a", `{}`), 429)
	if r.header.Get("Retry-After") == "" || e.s.Stats().Faults["rate_limited"] != 1 {
		t.Fatalf("rate limit: %v", r.header)
	}
	e2 := newEnv(t, Config{MaxBodyBytes: 1024})
	r = e2.expect(e2.do("POST", "/v2/transactions/bulk", "["+strings.Repeat(txn("1", "b", 1)+",", 20)+"1]"), 413)
	if code, _ := firstErrorCode(t, r.obj()); code != 413 {
		t.Fatalf("413 code %d", code)
	}

	e3 := newEnv(t, Config{CountOnly: true})
	e3.expect(e3.do("POST", "/v2/transactions/bulk", "["+txn("1", "c1", 1)+","+txn("1", "c2", 1)+"]"), 200)
	r = e3.expect(e3.do("POST", "/v2/transactions/bulk", "["+txn("1", "c1", 1)+"]"), 200)
	if code, _ := firstErrorCode(t, r.obj()["response"].([]any)[0].(map[string]any)); code != 604 {
		t.Fatalf("count-only duplicate detection: %d", code)
	}
	st := e3.s.Stats()
	if !st.CountOnly || st.AcceptedEntities != 2 || st.Duplicates != 1 || len(e3.s.Entities(KindTransaction)) != 0 {
		t.Fatalf("count-only: %+v", st)
	}
}

func TestConcurrentDeliveryNoLossNoDuplicates(t *testing.T) {
	e := newEnv(t, Config{})
	const workers, batches, per = 8, 20, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				var sb bytes.Buffer
				sb.WriteByte('[')
				for i := range per {
					if i > 0 {
						sb.WriteByte(',')
					}
					sb.WriteString(txn(fmt.Sprintf("9198%08d", w), fmt.Sprintf("w%d-b%d-%d", w, b, i), 1))
				}
				sb.WriteByte(']')
				req, _ := http.NewRequest("POST", e.ts.URL+"/v2/transactions/bulk", &sb)
				req.Header.Set("X-CAP-API-OAUTH-TOKEN", e.tok)
				res, err := e.ts.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}()
	}
	wg.Wait()
	st := e.s.Stats()
	if st.AcceptedEntities != workers*batches*per || st.Duplicates != 0 || st.UniqueKeys != workers*batches*per {
		t.Fatalf("stats: %+v", st)
	}
}

func TestParseFaults(t *testing.T) {
	f, err := ParseFaults(FaultConfig{}, "429=0.2,5xx=0.1,codes=502|521,retry-after=4,timeout=0.05,timeout-after=2s,latency=10ms-50ms")
	if err != nil {
		t.Fatal(err)
	}
	g := f.Global
	if g.Rate429 != 0.2 || g.Rate5xx != 0.1 || len(g.Codes5xx) != 2 || g.RetryAfterSeconds != 4 || g.TimeoutRate != 0.05 ||
		time.Duration(g.TimeoutAfter) != 2*time.Second || time.Duration(g.LatencyMin) != 10*time.Millisecond || time.Duration(g.LatencyMax) != 50*time.Millisecond {
		t.Fatalf("parsed %+v", g)
	}
	if f, err = ParseFaults(f, "/v2/customers/bulk:5xx=1"); err != nil || f.Endpoints["/v2/customers/bulk"].Rate5xx != 1 || f.Global.Rate429 != 0.2 {
		t.Fatalf("endpoint rule: %+v %v", f, err)
	}
	if f, err = ParseFaults(f, "seed=9"); err != nil || f.Seed != 9 {
		t.Fatalf("seed: %+v %v", f, err)
	}
	if f, err = ParseFaults(f, `{"seed":3,"global":{"rate429":0.5,"latencyMin":25}}`); err != nil || f.Seed != 3 || time.Duration(f.Global.LatencyMin) != 25*time.Millisecond || f.Endpoints != nil {
		t.Fatalf("json: %+v %v", f, err)
	}
	for _, bad := range []string{"429=2", "429=0.6,5xx=0.6", "codes=418", "nope=1", "429", "/x", "latency=abc", "seed=x", "{", "@/does/not/exist"} {
		if _, err := ParseFaults(FaultConfig{}, bad); err == nil {
			t.Errorf("%q: expected an error", bad)
		}
	}
}

// BenchmarkTransactionsBulk measures the sandbox's own cost per record for
// batches of 100 through the full handler (auth, parse, validate, store-count,
// encode), without network.
func BenchmarkTransactionsBulk(b *testing.B) {
	for _, countOnly := range []bool{true, false} {
		b.Run(fmt.Sprintf("countOnly=%v", countOnly), func(b *testing.B) {
			s := New(Config{CountOnly: countOnly})
			tok := s.IssueToken()
			var seq atomic.Int64
			var sb bytes.Buffer
			sb.WriteByte('[')
			for i := range 100 {
				if i > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, `{"identifierType":"mobile","identifierValue":"9198%08d","source":"INSTORE","type":"REGULAR","billNumber":"bill-%d","billAmount":"%d.50","billingDate":"2025-04-11T11:00:00+05:30","lineItemsV2":[{"itemCode":"sku-1","amount":100.5,"rate":100.5,"qty":1}]}`, i%10, i, i)
			}
			sb.WriteByte(']')
			body := sb.Bytes()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					// One body, made unique per request by the attribution till
					// (part of the bill key), so client-side formatting stays
					// out of the measurement and no record is a duplicate.
					req := httptest.NewRequest("POST", "/v2/transactions/bulk", bytes.NewReader(body))
					req.Header.Set("X-CAP-API-OAUTH-TOKEN", tok)
					req.Header.Set("X-CAP-API-ATTRIBUTION-ENTITY-CODE", "till-"+strconv.FormatInt(seq.Add(1), 10))
					w := httptest.NewRecorder()
					s.ServeHTTP(w, req)
					if w.Code != 200 {
						b.Fatalf("status %d: %s", w.Code, w.Body.String())
					}
				}
			})
			b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// TestV11CustomerGetMany: GET /v1.1/customer/get takes comma-separated
// identifiers and answers one customer per value in request order, each
// with its item_status (1000 found, 1012 not), the overall status 200, 201
// (some missing) or 500 (none found), HTTP 200 throughout; v1.1 answers
// from INSTORE.
func TestV11CustomerGetMany(t *testing.T) {
	e := newEnv(t, Config{})
	cust := func(first, typ, value, source string) string {
		return fmt.Sprintf(`{"profiles":[{"firstName":%q,"lastName":"Doe","source":%q,"identifiers":[{"type":%q,"value":%q},{"type":"email","value":"%s@example.com"}]}],"loyaltyInfo":{"loyaltyType":"loyalty"}}`, first, source, typ, value, first)
	}
	e.expect(e.do("POST", "/v2/customers/bulk", "["+cust("asha", "mobile", "919800000001", "INSTORE")+","+cust("ravi", "mobile", "919800000002", "INSTORE")+","+cust("meera", "mobile", "919800000003", "WECHAT")+"]"), 200)
	r := e.expect(e.do("GET", "/v1.1/customer/get?format=json&mobile=919800000002,919800000009,919800000001,919800000003", ""), 200)
	resp := r.obj()["response"].(map[string]any)
	if st := resp["status"].(map[string]any); st["code"].(float64) != 201 || st["success"] != "true" {
		t.Fatalf("status: %s", r.raw)
	}
	list := resp["customers"].(map[string]any)["customer"].([]any)
	want := []struct {
		mobile, first string
		code          float64
	}{{"919800000002", "ravi", 1000}, {"919800000009", "", 1012}, {"919800000001", "asha", 1000}, {"919800000003", "", 1012}}
	if len(list) != len(want) {
		t.Fatalf("customers: %s", r.raw)
	}
	for i, w := range want {
		c := list[i].(map[string]any)
		is := c["item_status"].(map[string]any)
		if c["mobile"] != w.mobile || is["code"].(float64) != w.code || (w.first != "" && (c["firstname"] != w.first || c["user_id"] == "" || c["email"] != w.first+"@example.com")) {
			t.Fatalf("customer %d: %v", i, c)
		}
	}
	r = e.expect(e.do("GET", "/v1.1/customer/get?format=json&email=ravi@example.com,asha@example.com", ""), 200)
	if st := r.obj()["response"].(map[string]any)["status"].(map[string]any); st["code"].(float64) != 200 {
		t.Fatalf("by email: %s", r.raw)
	}
	r = e.expect(e.do("GET", "/v1.1/customer/get?format=json&external_id=nobody", ""), 200)
	if st := r.obj()["response"].(map[string]any)["status"].(map[string]any); st["code"].(float64) != 500 || st["success"] != "false" {
		t.Fatalf("none found: %s", r.raw)
	}
	e.expect(e.do("GET", "/v1.1/customer/get?format=json", ""), 400)
}
