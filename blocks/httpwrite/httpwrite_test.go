package httpwrite

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
	"github.com/connectplus/connectplus/sandbox"
)

func TestRegisterAndDefaults(t *testing.T) {
	r := block.NewRegistry()
	Register(r)
	for _, typ := range []string{"http_write", "arya_call", "webhook_write", "intouch_transaction_v2", "neo_transformer", "intouch_transaction_v2_1"} {
		if _, ok := r.Lookup(typ); !ok {
			t.Fatalf("type %s not registered", typ)
		}
	}
	cfg, probs := Spec.ParseConfig(map[string]any{"clientKey": "k", "clientSecret": map[string]any{"$config": "s"}, "apiEndPoint": "/v2/transactions/bulk"}, nil)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	want := map[string]string{
		"apiMethod": "POST", "parseResponse": "true", "apiBaseUrl": "{intouch_url}", "bulkSupport": "true",
		"requestSplitPath": "$.*", "responseSplitPath": "$.*", "parsePathMap": DefaultParsePathMap,
		"recoverableErrorCodes": "521,502,503,504", "yieldingErrorCodes": "429", "maxRetries": "3",
		"rate": "1000", "period": "1", "timeUnit": "MINUTES", "concurrency": "4", "authType": "oauth",
	}
	for k, v := range want {
		if got := cfg.String(k); got != v {
			t.Errorf("default %s = %q, want %q", k, got, v)
		}
	}
	// Placeholders must be replaced before a run (or --sandbox used).
	if _, err := Spec.New(cfg, testEnv()); err == nil || !strings.Contains(err.Error(), "placeholder") {
		t.Fatalf("placeholder base URL accepted: %v", err)
	}
	// ... unless the deployment knows the org's host.
	cfg.Set("clientSecret", "s")
	b, err := Spec.New(cfg, testEnv(func(e *block.Env) { e.Options["intouch_url"] = "https://eu.api.capillarytech.com" }))
	if err != nil {
		t.Fatal(err)
	}
	w := b.(*writer)
	if w.s.tokenURL != "https://eu.api.capillarytech.com/v3/oauth/token/generate" || w.s.perSecond != 1000.0/60 {
		t.Fatalf("token URL %s, rate %v", w.s.tokenURL, w.s.perSecond)
	}
	if w.Concurrency() != 4 {
		t.Fatalf("concurrency %d", w.Concurrency())
	}

	for _, tc := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"apiEndPoint": "/x"}, "clientKey is required"},
		{map[string]any{"apiEndPoint": "/x", "authType": "bearer"}, "bearerToken is required"},
		{map[string]any{"apiEndPoint": "/x", "authType": "none", "responseSplitPath": "$.[", "parsePathMap": `{"status_code": 1}`}, "parsePathMap"},
		{map[string]any{"apiEndPoint": "/x", "authType": "none", "responseSplitPath": "$.["}, "responseSplitPath"},
		{map[string]any{"apiEndPoint": "/x", "authType": "none", "additionalHeaders": `["a"]`}, "additionalHeaders"},
		{map[string]any{"apiEndPoint": "/x", "authType": "none", "timeUnit": "DAYS"}, "timeUnit"},
	} {
		_, probs := Spec.ParseConfig(tc.raw, nil)
		if len(probs) == 0 || !strings.Contains(probsText(probs), tc.want) {
			t.Errorf("%v: want a problem mentioning %q, got %v", tc.raw, tc.want, probs)
		}
	}
}

func probsText(ps []block.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.Error())
		b.WriteString("\n")
	}
	return b.String()
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"30 secs": 30 * time.Second, "30s": 30 * time.Second, "45": 45 * time.Second, "2 mins": 2 * time.Minute, "500 millis": 500 * time.Millisecond, "": 7 * time.Second} {
		got, err := parseDuration("k", in, 7*time.Second)
		if err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"soon", "-1s", "3 fortnights"} {
		if _, err := parseDuration("k", bad, 0); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	h := http.Header{}
	h.Set("Retry-After", "2")
	if d, ok := retryAfter(h, now); !ok || d != 2*time.Second {
		t.Fatalf("seconds: %v %v", d, ok)
	}
	h.Set("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat))
	if d, ok := retryAfter(h, now); !ok || d != 90*time.Second {
		t.Fatalf("date: %v %v", d, ok)
	}
	h.Set("Retry-After", "86400")
	if d, _ := retryAfter(h, now); d != maxRetryAfter {
		t.Fatalf("not capped: %v", d)
	}
	h.Set("Retry-After", "later")
	if _, ok := retryAfter(h, now); ok {
		t.Fatal("garbage accepted")
	}
}

// Bulk transactions: the answer is {"response":[…]} split with
// $.response[*]; per-entity errors land on the right records, with their
// source lines, and the others are delivered with their entity ids.
func TestBulkTransactionsPerEntityErrors(t *testing.T) {
	s, ts := sandbox.NewTestServer(sandbox.Config{})
	defer ts.Close()
	w := build(t, Spec, sandboxValues(ts, s, map[string]string{
		"apiEndPoint":       "/v2/transactions/bulk",
		"responseSplitPath": "$.response[*]",
		"parsePathMap":      `{"status_code":"$.['errors'].*.code","error_message":"$.['errors'].*.message","entity_id":"$.entityId","warnings":"$.warnings[*].message"}`,
	}), testEnv())
	b := objBatch(t, txn("B-1", "100.0"), txn("B-2", "-5"), txn("B-3", "7"), txn("B-1", "9"), txn("B-5", "1"))
	out := process(t, w, &block.Unit{Attrs: block.Attributes{}, Batch: b})

	ok, bad := out.records(block.RelSuccess), out.records(block.RelFailure)
	if len(ok) != 3 || len(bad) != 2 || out.ackedCount() != 3 {
		t.Fatalf("ok %d bad %d acked %d", len(ok), len(bad), out.ackedCount())
	}
	for _, r := range ok {
		if r.Outcome.Status != block.Delivered || r.Outcome.Code != 200 || r.Outcome.EntityID == "" || r.Outcome.Block != "post" {
			t.Fatalf("delivered record %d: %+v", r.Line, r.Outcome)
		}
		if len(r.Outcome.Extra) != 1 || r.Outcome.Extra[0][0] != "warnings" {
			t.Fatalf("extra columns: %+v", r.Outcome.Extra)
		}
	}
	if bad[0].Line != 3 || bad[0].Outcome.Code != 631 || !strings.Contains(bad[0].Outcome.Message, "negative") {
		t.Fatalf("negative amount: line %d %+v", bad[0].Line, bad[0].Outcome)
	}
	if bad[1].Line != 5 || bad[1].Outcome.Code != 604 || bad[1].Outcome.RetryExhausted {
		t.Fatalf("duplicate bill: line %d %+v", bad[1].Line, bad[1].Outcome)
	}
	st := s.Stats()
	if st.ReceivedEntities != 5 || st.AcceptedEntities != 3 || st.Requests["POST /v2/transactions/bulk"]["200"] != 1 || st.TokensIssued != 1 {
		t.Fatalf("sandbox stats: %+v", st)
	}
}

// Bulk customers: the answer is a top-level array split with $.*.
func TestBulkCustomersTopLevelArray(t *testing.T) {
	s, ts := sandbox.NewTestServer(sandbox.Config{})
	defer ts.Close()
	w := build(t, Spec, sandboxValues(ts, s, map[string]string{
		"apiEndPoint":  "/v2/customers/bulk",
		"parsePathMap": `{"status_code":"$.['errors'].*.code","error_message":"$.['errors'].*.message","entity_id":"$.entity.id"}`,
	}), testEnv())
	b := objBatch(t, customer("919800000001"), customer("919800000002"), customer("919800000001"), customer("12"))
	out := process(t, w, &block.Unit{Attrs: block.Attributes{}, Batch: b})
	ok, bad := out.records(block.RelSuccess), out.records(block.RelFailure)
	if len(ok) != 2 || len(bad) != 2 {
		t.Fatalf("ok %d bad %d", len(ok), len(bad))
	}
	if ok[0].Outcome.EntityID == "" || ok[0].Outcome.EntityID == ok[1].Outcome.EntityID {
		t.Fatalf("entity ids: %q %q", ok[0].Outcome.EntityID, ok[1].Outcome.EntityID)
	}
	if bad[0].Line != 4 || bad[0].Outcome.Code != 8006 || bad[1].Line != 5 || bad[1].Outcome.Code != 1001 {
		t.Fatalf("failures: %+v / %+v", bad[0], bad[1])
	}
}

// Rows that no block turned into JSON are encoded from their columns, and a
// split count that does not match the records sent gives every record the
// HTTP-level outcome.
func TestBulkColumnsAndCountMismatch(t *testing.T) {
	rc, ts := newRecorder(t, func(n int, r *http.Request, body []byte) (int, http.Header, string) {
		return 200, nil, `{"status":{"code":200,"message":"queued"},"requestId":"r1"}`
	})
	w := build(t, Spec, map[string]string{
		"apiEndPoint": "/x/neo/flow", "apiBaseUrl": ts.URL, "authType": "none",
		"parsePathMap": `{"status_code":"$.status.code","error_message":"$.status.message","entity_id":"$.requestId"}`,
	}, testEnv())
	b := &block.Batch{Header: block.NewHeader([]string{"id", "name"})}
	for i := 1; i <= 3; i++ {
		b.Records = append(b.Records, block.Record{Seq: int64(i), Line: int64(i + 1), Cols: []string{strconv.Itoa(i), "n\"" + strconv.Itoa(i)}})
	}
	out := process(t, w, &block.Unit{Attrs: block.Attributes{}, Batch: b})
	if got := rc.all()[0].body; got != `[{"id":"1","name":"n\"1"},{"id":"2","name":"n\"2"},{"id":"3","name":"n\"3"}]` {
		t.Fatalf("body %s", got)
	}
	ok := out.records(block.RelSuccess)
	if len(ok) != 3 || ok[2].Outcome.Message != "queued" || ok[2].Outcome.EntityID != "r1" || ok[2].Outcome.Code != 200 {
		t.Fatalf("HTTP-level outcome: %+v", ok)
	}
}

// One JSLT payload for a whole batch (a record whose value is an array, with
// the other source rows merged as members): the array is sent as is and each
// row gets its entity's outcome.
func TestBulkSinglePayloadArray(t *testing.T) {
	s, ts := sandbox.NewTestServer(sandbox.Config{})
	defer ts.Close()
	w := build(t, Spec, sandboxValues(ts, s, map[string]string{
		"apiEndPoint": "/v2/transactions/bulk", "responseSplitPath": "$.response[*]",
		"parsePathMap": `{"status_code":"$.['errors'].*.code","error_message":"$.['errors'].*.message","entity_id":"$.entityId"}`,
	}), testEnv())
	payload, _ := jsonv.ParseString("[" + txn("P-1", "1") + "," + txn("P-2", "-1") + "," + txn("P-3", "3") + "]")
	rec := block.Record{Seq: 1, Line: 2, Value: payload, Members: []block.Record{{Seq: 2, Line: 3}, {Seq: 3, Line: 4}}}
	out := process(t, w, &block.Unit{Attrs: block.Attributes{}, Batch: &block.Batch{Records: []block.Record{rec}}})
	ok, bad := out.records(block.RelSuccess), out.records(block.RelFailure)
	if len(ok) != 2 || len(bad) != 1 || bad[0].Line != 3 || bad[0].Outcome.Code != 631 || ok[1].Line != 4 {
		t.Fatalf("ok %+v bad %+v", ok, bad)
	}
	if st := s.Stats(); st.ReceivedEntities != 3 || st.Requests["POST /v2/transactions/bulk"]["200"] != 1 {
		t.Fatalf("stats %+v", st)
	}

	// Without members to spread the results over, the record fails if any
	// entity failed, naming it.
	payload, _ = jsonv.ParseString("[" + txn("Q-1", "1") + "," + txn("Q-2", "-1") + "]")
	out = process(t, w, &block.Unit{Attrs: block.Attributes{}, Batch: &block.Batch{Records: []block.Record{{Seq: 1, Line: 2, Value: payload}}}})
	bad = out.records(block.RelFailure)
	if len(bad) != 1 || !strings.HasPrefix(bad[0].Outcome.Message, "entity 2 of 2:") {
		t.Fatalf("aggregate: %+v", bad)
	}
}

// Single mode against /v2/customers: one request per record, concurrently,
// results in record order; the parse map reads Capillary's single answer.
func TestSingleCustomerParsePaths(t *testing.T) {
	s, ts := sandbox.NewTestServer(sandbox.Config{})
	defer ts.Close()
	w := build(t, Spec, sandboxValues(ts, s, map[string]string{
		"apiEndPoint": "/v2/customers", "bulkSupport": "false", "requestSplitPath": "$",
		"parsePathMap": `{"status_code":"$.errors[0].code","error_message":"$.errors[0].message","entity_id":"$.createdId"}`,
	}), testEnv())
	docs := []string{}
	for i := 1; i <= 12; i++ {
		docs = append(docs, customer("9198000000"+strconv.Itoa(10+i)))
	}
	docs[5] = customer("919800000011") // duplicate of the first
	out := process(t, w, &block.Unit{Attrs: block.Attributes{}, Batch: objBatch(t, docs...)})
	ok, bad := out.records(block.RelSuccess), out.records(block.RelFailure)
	if len(ok) != 11 || len(bad) != 1 {
		t.Fatalf("ok %d bad %d", len(ok), len(bad))
	}
	// Requests run concurrently, so either copy may reach the sandbox
	// second and be the duplicate (source line 2 or 7).
	if (bad[0].Line != 7 && bad[0].Line != 2) || bad[0].Outcome.Code != 8006 || !strings.Contains(bad[0].Outcome.Message, "already exists") {
		t.Fatalf("duplicate: %+v", bad[0])
	}
	for i, r := range ok {
		if i > 0 && r.Line <= ok[i-1].Line {
			t.Fatal("records out of order")
		}
		if r.Outcome.EntityID == "" || r.Outcome.Code != 200 {
			t.Fatalf("record %d: %+v", r.Line, r.Outcome)
		}
	}
	if st := s.Stats(); st.Requests["POST /v2/customers"]["200"] != 11 || st.Requests["POST /v2/customers"]["400"] != 1 || st.TokensIssued != 1 {
		t.Fatalf("stats %+v", st)
	}

	// The documented single-customer map $.status.code against an API that
	// answers with a status object (rewards), and $.* over an array record.
	w2 := build(t, Spec, sandboxValues(ts, s, map[string]string{
		"apiEndPoint": "/v2/rewards", "bulkSupport": "false",
		"parsePathMap": `{"status_code":"$.status.code","error_message":"$.status.message","entity_id":"$.createdId"}`,
	}), testEnv())
	reward := `{"brandId":"b","type":"VOUCHER","startTime":"2025-01-01","endTime":"2026-01-01","redemptionType":"INSTANT"}`
	out = process(t, w2, &block.Unit{Attrs: block.Attributes{}, Batch: objBatch(t, reward, `[`+reward+`,{"brandId":"b"}]`)})
	ok, bad = out.records(block.RelSuccess), out.records(block.RelFailure)
	if len(ok) != 1 || ok[0].Outcome.Message != "Success" || ok[0].Outcome.Code != 200 {
		t.Fatalf("rewards ok: %+v", ok)
	}
	if len(bad) != 1 || bad[0].Line != 3 || bad[0].Outcome.Code != 400 || !strings.Contains(bad[0].Outcome.Message, "entity 2 of 2") {
		t.Fatalf("rewards bad: %+v", bad)
	}
}

// Path parameters, expressions, additional headers, attribution headers,
// query attributes and request ids.
func TestPathParamsHeadersAndQuery(t *testing.T) {
	rc, ts := newRecorder(t, nil)
	w := build(t, Spec, map[string]string{
		"apiEndPoint": "/v2/customer/$userId/${filename:substringBefore('.')}", "apiBaseUrl": ts.URL + "/", "authType": "bearer", "bearerToken": "tok-1",
		"bulkSupport": "false", "apiMethod": "PUT", "parsePathMap": `{"status_code":"$.status.code"}`,
		"additionalHeaders": `{"X-Cap-Id": "$userId", "X-CAP-BADGES-MIGRATION": "migration", "X-File": "${filename}"}`,
	}, testEnv())
	u := &block.Unit{
		Attrs: block.Attributes{"filename": "in.csv", block.AttrRequestID: "req9", AttrAttributionType: "TILL", AttrAttributionCode: "", "http.query.source": "INSTORE"},
		Batch: objBatch(t, `{"a":1}`, `{"a":2}`, `{"a":3}`),
	}
	u.Batch.Records[0].Attrs = block.Attributes{"userId": "u 1/x"}
	u.Batch.Records[1].Attrs = block.Attributes{"userId": "u2", "http.query.format": "json"}
	out := process(t, w, u)
	reqs := rc.all()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	byID := map[string]recorded{}
	for _, r := range reqs {
		byID[r.header.Get(RequestIDHeader)] = r
	}
	r1, r2 := byID["req9-1"], byID["req9-2"]
	if r1.url != "/v2/customer/u%201%2Fx/in?source=INSTORE" || r2.url != "/v2/customer/u2/in?format=json&source=INSTORE" {
		t.Fatalf("urls %q %q", r1.url, r2.url)
	}
	if r1.method != "PUT" || r1.body != `{"a":1}` || r1.header.Get("X-Cap-Id") != "u 1/x" || r1.header.Get("X-Cap-Badges-Migration") != "migration" ||
		r1.header.Get("X-File") != "in.csv" || r1.header.Get("Authorization") != "Bearer tok-1" || r1.header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v", r1.header)
	}
	if r1.header.Get(AttrAttributionType) != "TILL" || len(r1.header.Values(AttrAttributionCode)) != 0 {
		t.Fatalf("attribution headers %v", r1.header)
	}
	// The third record has no userId: it fails without a request.
	bad := out.records(block.RelFailure)
	if len(bad) != 1 || bad[0].Line != 4 || !strings.Contains(bad[0].Outcome.Message, "$userId") {
		t.Fatalf("missing path parameter: %+v", bad)
	}
}

// One token for many concurrent requests; a token that expires on our clock
// is refreshed before use; one the API rejects early (401) is refreshed
// once and the request resent.
func TestOAuthCachingAndRefresh(t *testing.T) {
	apiClock, ourClock := newFakeClock(), newFakeClock()
	s, ts := sandbox.NewTestServer(sandbox.Config{TokenTTL: 10 * time.Minute, Now: apiClock.now})
	defer ts.Close()
	w := build(t, Spec, sandboxValues(ts, s, map[string]string{"apiEndPoint": "/x/neo/flow", "parseResponse": "false", "concurrency": "8"}),
		testEnv(func(e *block.Env) { e.Now = ourClock.now }))
	send := func(n int) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				out := process(t, w, &block.Unit{Attrs: block.Attributes{}, Batch: objBatch(t, `{"i":`+strconv.Itoa(i)+`}`)})
				if len(out.records(block.RelSuccess)) != 1 {
					t.Errorf("not delivered: %+v", out.records(block.RelFailure))
				}
			})
		}
		wg.Wait()
	}
	send(16)
	if st := s.Stats(); st.TokensIssued != 1 {
		t.Fatalf("tokens issued for 16 concurrent calls: %d", st.TokensIssued)
	}
	// Our clock passes the expiry: a new token before the next request.
	ourClock.add(10 * time.Minute)
	apiClock.add(10 * time.Minute)
	send(4)
	if st := s.Stats(); st.TokensIssued != 2 || st.Requests["POST /x/neo/{name...}"]["401"] != 0 {
		t.Fatalf("refresh before expiry: %+v", st)
	}
	// The API's clock runs ahead: it rejects the cached token with 401; the
	// block fetches a new one once and resends.
	apiClock.add(11 * time.Minute)
	send(4)
	st := s.Stats()
	if st.TokensIssued != 3 || st.Requests["POST /x/neo/{name...}"]["401"] < 1 || st.Requests["POST /x/neo/{name...}"]["200"] != 24 {
		t.Fatalf("refresh on 401: %+v", st)
	}
}

func TestOAuthBadCredentials(t *testing.T) {
	s, ts := sandbox.NewTestServer(sandbox.Config{})
	defer ts.Close()
	v := sandboxValues(ts, s, map[string]string{"apiEndPoint": "/x/neo/flow"})
	v["clientSecret"] = "wrong"
	w := build(t, Spec, v, testEnv())
	out := process(t, w, &block.Unit{Attrs: block.Attributes{}, Batch: objBatch(t, `{"a":1}`)})
	bad := out.records(block.RelFailure)
	if len(bad) != 1 || bad[0].Outcome.Code != 401 || !strings.Contains(bad[0].Outcome.Message, "Failed to generate OAuth token: access forbidden") || bad[0].Outcome.RetryExhausted {
		t.Fatalf("%+v", bad)
	}
}

func TestRetryClasses(t *testing.T) {
	noAuth := func(ts string, extra map[string]string) map[string]string {
		v := map[string]string{"apiEndPoint": "/x", "apiBaseUrl": ts, "authType": "none", "parseResponse": "false", "retryBackoff": "5ms", "maxRetryBackoff": "20ms"}
		for k, x := range extra {
			v[k] = x
		}
		return v
	}
	unit := func() *block.Unit {
		return &block.Unit{Attrs: block.Attributes{}, Batch: objBatch(t, `{"a":1}`, `{"a":2}`)}
	}

	t.Run("5xx recoverable then success", func(t *testing.T) {
		rc, ts := newRecorder(t, func(n int, _ *http.Request, _ []byte) (int, http.Header, string) {
			if n < 2 {
				return []int{502, 521}[n], nil, `{"errors":[{"code":502,"message":"bad gateway"}]}`
			}
			return 200, nil, `{}`
		})
		out := process(t, build(t, Spec, noAuth(ts.URL, nil), testEnv()), unit())
		if len(rc.all()) != 3 || len(out.records(block.RelSuccess)) != 2 {
			t.Fatalf("%d requests, %+v", len(rc.all()), out.records(block.RelFailure))
		}
	})
	t.Run("4xx not retried", func(t *testing.T) {
		rc, ts := newRecorder(t, func(int, *http.Request, []byte) (int, http.Header, string) {
			return 400, nil, `{"errors":[{"code":400,"message":"Input is invalid"}]}`
		})
		out := process(t, build(t, Spec, noAuth(ts.URL, nil), testEnv()), unit())
		bad := out.records(block.RelFailure)
		if len(rc.all()) != 1 || len(bad) != 2 || bad[0].Outcome.Code != 400 || bad[0].Outcome.Message != "Input is invalid" || bad[0].Outcome.RetryExhausted {
			t.Fatalf("%d requests, %+v", len(rc.all()), bad)
		}
	})
	t.Run("retry exhausted keeps last status", func(t *testing.T) {
		rc, ts := newRecorder(t, func(n int, _ *http.Request, _ []byte) (int, http.Header, string) {
			return []int{502, 503, 504}[n%3], nil, `{"errors":[{"code":504,"message":"gateway timeout"}]}`
		})
		out := process(t, build(t, Spec, noAuth(ts.URL, map[string]string{"maxRetries": "2"}), testEnv()), unit())
		bad := out.records(block.RelFailure)
		if len(rc.all()) != 3 || len(bad) != 2 || bad[0].Outcome.Code != 504 || !bad[0].Outcome.RetryExhausted ||
			!strings.Contains(bad[0].Outcome.Message, "retries exhausted after 3 attempts: gateway timeout") {
			t.Fatalf("%d requests, %+v", len(rc.all()), bad)
		}
	})
	t.Run("network error retried", func(t *testing.T) {
		// The first connection is dropped without an answer, the next served.
		rc, ts := newRecorder(t, nil)
		var once sync.Once
		inner := ts.Config.Handler
		ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			dropped := false
			once.Do(func() {
				dropped = true
				c, _, _ := w.(http.Hijacker).Hijack()
				_ = c.Close()
			})
			if !dropped {
				inner.ServeHTTP(w, r)
			}
		})
		out := process(t, build(t, Spec, noAuth(ts.URL, nil), testEnv()), unit())
		if len(rc.all()) != 1 || len(out.records(block.RelSuccess)) != 2 {
			t.Fatalf("%d requests, %+v", len(rc.all()), out.records(block.RelFailure))
		}
	})
	t.Run("network error exhausted", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close() // connection refused from now on
		out := process(t, build(t, Spec, noAuth("http://"+addr, map[string]string{"maxRetries": "1", "connectTimeout": "1s"}), testEnv()), unit())
		bad := out.records(block.RelFailure)
		if len(bad) != 2 || !bad[0].Outcome.RetryExhausted || bad[0].Outcome.Code != 0 || !strings.Contains(bad[0].Outcome.Message, "after 2 attempts") {
			t.Fatalf("%+v", bad)
		}
	})
	t.Run("response timeout retried", func(t *testing.T) {
		rc, ts := newRecorder(t, nil)
		var n sync.Mutex
		calls := 0
		inner := ts.Config.Handler
		ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Lock()
			calls++
			first := calls == 1
			n.Unlock()
			if first {
				// Read the body so the server notices the client leaving.
				_, _ = io.Copy(io.Discard, r.Body)
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
				return
			}
			inner.ServeHTTP(w, r)
		})
		start := time.Now()
		out := process(t, build(t, Spec, noAuth(ts.URL, map[string]string{"responseTimeout": "200ms", "connectTimeout": "1s"}), testEnv()), unit())
		if len(rc.all()) != 1 || len(out.records(block.RelSuccess)) != 2 || time.Since(start) > 3*time.Second {
			t.Fatalf("%d answered requests in %v, %+v", len(rc.all()), time.Since(start), out.records(block.RelFailure))
		}
	})
	t.Run("yielding bounded by yieldRetries", func(t *testing.T) {
		rc, ts := newRecorder(t, func(int, *http.Request, []byte) (int, http.Header, string) {
			return 429, http.Header{"Retry-After": {"0"}}, `{"errors":[{"code":429,"message":"slow down"}]}`
		})
		out := process(t, build(t, Spec, noAuth(ts.URL, map[string]string{"yieldRetries": "3", "maxRetries": "0"}), testEnv()), unit())
		bad := out.records(block.RelFailure)
		if len(rc.all()) != 4 || len(bad) != 2 || bad[0].Outcome.Code != 429 || !bad[0].Outcome.RetryExhausted {
			t.Fatalf("%d requests, %+v", len(rc.all()), bad)
		}
	})
}

// A 429 with Retry-After parks the whole destination: no worker sends
// until it has passed.
func TestRetryAfterGatesAllWorkers(t *testing.T) {
	var gated time.Time
	var mu sync.Mutex
	rc, ts := newRecorder(t, func(n int, _ *http.Request, _ []byte) (int, http.Header, string) {
		if n == 2 {
			mu.Lock()
			gated = time.Now()
			mu.Unlock()
			return 429, http.Header{"Retry-After": {"1"}}, `{}`
		}
		time.Sleep(20 * time.Millisecond)
		return 200, nil, `{}`
	})
	w := build(t, Spec, map[string]string{"apiEndPoint": "/x", "apiBaseUrl": ts.URL, "authType": "none", "parseResponse": "false",
		"bulkSupport": "false", "concurrency": "4", "rate": "100", "timeUnit": "SECONDS"}, testEnv())
	docs := make([]string, 16)
	for i := range docs {
		docs[i] = `{"i":` + strconv.Itoa(i) + `}`
	}
	start := time.Now()
	out := process(t, w, &block.Unit{Attrs: block.Attributes{}, Batch: objBatch(t, docs...)})
	took := time.Since(start)
	if len(out.records(block.RelSuccess)) != 16 || len(rc.all()) != 17 {
		t.Fatalf("%d delivered, %d requests", len(out.records(block.RelSuccess)), len(rc.all()))
	}
	if took < time.Second || took > 3*time.Second {
		t.Fatalf("took %v; want ≥ 1s (Retry-After) and well under 3s", took)
	}
	// Requests already on the wire when the 429 went out may land just
	// after it; nothing new may start inside the window.
	for _, r := range rc.all() {
		if d := r.at.Sub(gated); d > 100*time.Millisecond && d < 950*time.Millisecond {
			t.Fatalf("request %v after the 429, inside the Retry-After window", d)
		}
	}
}

// The shared limiter holds the request rate to the configured one.
func TestRateLimitAdherence(t *testing.T) {
	rc, ts := newRecorder(t, nil)
	w := build(t, Spec, map[string]string{"apiEndPoint": "/x", "apiBaseUrl": ts.URL, "authType": "none", "parseResponse": "false",
		"bulkSupport": "false", "concurrency": "8", "rate": "20", "period": "1", "timeUnit": "SECONDS"}, testEnv())
	docs := make([]string, 61)
	for i := range docs {
		docs[i] = `{"i":` + strconv.Itoa(i) + `}`
	}
	process(t, w, &block.Unit{Attrs: block.Attributes{}, Batch: objBatch(t, docs...)})
	reqs := rc.all()
	first, last := reqs[0].at, reqs[0].at
	for _, r := range reqs {
		if r.at.Before(first) {
			first = r.at
		}
		if r.at.After(last) {
			last = r.at
		}
	}
	got := float64(len(reqs)-1) / last.Sub(first).Seconds()
	if got < 19 || got > 21 {
		t.Fatalf("measured %.2f req/s over %v, want 20 ± 5%%", got, last.Sub(first))
	}
	t.Logf("measured %.2f req/s over %v", got, last.Sub(first))
}

func TestWebhookWrite(t *testing.T) {
	rc, ts := newRecorder(t, func(n int, r *http.Request, _ []byte) (int, http.Header, string) {
		if n == 0 {
			return 500, nil, `oops`
		}
		if strings.Contains(r.URL.Path, "reject") {
			return 400, nil, `{"message":"no such hook"}`
		}
		return 202, nil, ``
	})
	w := build(t, WebhookSpec, map[string]string{
		"webhookEndpoint": ts.URL + "/hooks/${filename}", "username": "u", "password": "p",
		"AttributesToSend": "kafka\\..*|filename", "additionalHeaders": `{"X-Src": "connect"}`, "Max Retry": "2",
		"retryBackoff": "5ms",
	}, testEnv())
	u := &block.Unit{Attrs: block.Attributes{"filename": "f.csv", "kafka.key": "k1", "lineage.id": "L"}, Batch: objBatch(t, `{"a":1}`, `{"a":2}`)}
	out := process(t, w, u)
	reqs := rc.all()
	if len(reqs) != 2 || len(out.records(block.RelSuccess)) != 2 || out.records(block.RelSuccess)[0].Outcome.Code != 202 {
		t.Fatalf("%d requests, %+v", len(reqs), out.records(block.RelFailure))
	}
	r := reqs[1]
	user, pass, _ := (&http.Request{Header: r.header}).BasicAuth()
	if r.url != "/hooks/f.csv" || r.body != `[{"a":1},{"a":2}]` || user != "u" || pass != "p" || r.header.Get("Kafka.key") != "k1" ||
		r.header.Get("Filename") != "f.csv" || r.header.Get("Lineage.id") != "" || r.header.Get("X-Src") != "connect" {
		t.Fatalf("request %+v", r)
	}

	// One request per record; 400 is in Extra no Retry Error Codes.
	w2 := build(t, WebhookSpec, map[string]string{"webhookEndpoint": ts.URL + "/reject", "bulkSupport": "false", "AttributesToSend": ""}, testEnv())
	out = process(t, w2, &block.Unit{Attrs: block.Attributes{}, Batch: objBatch(t, `{"a":1}`, `{"a":2}`)})
	bad := out.records(block.RelFailure)
	if len(rc.all()) != 4 || len(bad) != 2 || bad[0].Outcome.Code != 400 || bad[0].Outcome.Message != "no such hook" {
		t.Fatalf("%d requests, %+v", len(rc.all()), bad)
	}

	// GET sends no body; under --sandbox the host is replaced.
	rc3, ts3 := newRecorder(t, nil)
	w3 := build(t, WebhookSpec, map[string]string{"webhookEndpoint": "https://hooks.example.invalid/p?x=1", "apiMethod": "GET"},
		testEnv(func(e *block.Env) { e.Sandbox = ts3.URL }))
	process(t, w3, &block.Unit{Attrs: block.Attributes{}, Batch: objBatch(t, `{"a":1}`)})
	if got := rc3.all(); len(got) != 1 || got[0].method != "GET" || got[0].body != "" || got[0].url != "/p?x=1" {
		t.Fatalf("%+v", got)
	}
}

// arya_call: token from the Token URL, no rate limit; --sandbox replaces both
// URLs and the credentials.
func TestAryaCallAndSandboxMode(t *testing.T) {
	s, ts := sandbox.NewTestServer(sandbox.Config{ClientKey: "sk", ClientSecret: "ss"})
	defer ts.Close()
	env := testEnv(func(e *block.Env) {
		e.Sandbox = ts.URL
		e.Options[OptSandboxKey], e.Options[OptSandboxSecret] = "sk", "ss"
	})
	w := build(t, AryaSpec, map[string]string{"apiEndPoint": "/x/neo/users", "clientKey": "real", "clientSecret": "real",
		"parsePathMap": `{"status_code":"$.status.code","entity_id":"$.requestId"}`}, env)
	if w.d.limiter != nil {
		t.Fatal("arya_call has no rate limit")
	}
	out := process(t, w, &block.Unit{Attrs: block.Attributes{}, Batch: objBatch(t, `{"user":"a"}`, `{"user":"b"}`)})
	ok := out.records(block.RelSuccess)
	if len(ok) != 2 || ok[0].Outcome.EntityID == "" || s.Stats().TokensIssued != 1 {
		t.Fatalf("%+v %+v", ok, out.records(block.RelFailure))
	}
	// http_write with template placeholders runs against the sandbox too.
	w2 := build(t, Spec, map[string]string{"apiEndPoint": "/v2/transactions/bulk", "clientKey": "real", "clientSecret": "real",
		"responseSplitPath": "$.response[*]", "parsePathMap": `{"status_code":"$.['errors'].*.code","entity_id":"$.entityId"}`}, env)
	out = process(t, w2, &block.Unit{Attrs: block.Attributes{}, Batch: objBatch(t, txn("S-1", "1"))})
	if len(out.records(block.RelSuccess)) != 1 {
		t.Fatalf("%+v", out.records(block.RelFailure))
	}
}

func TestStoppedRunReturnsContextError(t *testing.T) {
	_, ts := newRecorder(t, func(int, *http.Request, []byte) (int, http.Header, string) {
		return 503, nil, `{}`
	})
	w := build(t, Spec, map[string]string{"apiEndPoint": "/x", "apiBaseUrl": ts.URL, "authType": "none", "retryBackoff": "10s"}, testEnv())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := w.Process(ctx, &block.Unit{Attrs: block.Attributes{}, Batch: objBatch(t, `{"a":1}`)}, newCapture())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the context error, got %v", err)
	}
}

func TestBasicAuth(t *testing.T) {
	rc, ts := newRecorder(t, nil)
	w := build(t, Spec, map[string]string{"apiEndPoint": "/x", "apiBaseUrl": ts.URL, "authType": "basic", "clientKey": "k", "clientSecret": "s", "parseResponse": "false"}, testEnv())
	process(t, w, &block.Unit{Attrs: block.Attributes{}, Batch: objBatch(t, `{"a":1}`)})
	if got := rc.all()[0].header.Get("Authorization"); got != "Basic "+base64.StdEncoding.EncodeToString([]byte("k:s")) {
		t.Fatalf("authorization %q", got)
	}
}

// An absolute apiEndPoint bypasses apiBaseUrl; under a sandbox it must be
// rebased too, or a preview would post to the real host.
func TestSandboxRebasesAbsoluteEndpoint(t *testing.T) {
	real, realTS := newRecorder(t, nil)
	rc, ts := newRecorder(t, nil)
	env := testEnv(func(e *block.Env) { e.Sandbox = ts.URL })
	for _, spec := range []*block.Spec{Spec, AryaSpec} {
		w := build(t, spec, map[string]string{"apiEndPoint": realTS.URL + "/v2/customers?source=x", "authType": "none", "parseResponse": "false"}, env)
		process(t, w, &block.Unit{Attrs: block.Attributes{}, Batch: objBatch(t, `{"a":1}`)})
	}
	if n := len(real.all()); n != 0 {
		t.Fatalf("the real host got %d requests", n)
	}
	got := rc.all()
	if len(got) != 2 || got[0].url != "/v2/customers?source=x" {
		t.Fatalf("sandbox got %+v", got)
	}
}
