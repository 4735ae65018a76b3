package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sources that can answer, as the report names them.
const (
	SourceSandbox = "sandbox"
	SourceAPI     = "capillary-api"
	SourceLedger  = "ledger"
)

// destination answers, for each lookup value, the entities that carry it.
type destination interface {
	name() string
	lookup(ctx context.Context, by string, values []string) ([][]candidate, error)
	requests() int64
}

// lookupBy names what an entity type is searched by in the destination.
// For customers the first mapped identifier with a value in the row wins
// (the row's other identifiers must then agree).
func lookupBy(m *Mapping, vals []string) (by, value string) {
	switch m.Entity.Name {
	case EntityRegularLineItems, EntityReturnLineItems:
		for i, f := range m.Fields {
			if f.Name == "bill_number" {
				return "billNumber", vals[i]
			}
		}
	case EntityProduct:
		for i, f := range m.Fields {
			if f.Name == "sku_code" {
				return "sku", vals[i]
			}
		}
	case EntityCustomer, EntityTestControl:
		for _, name := range []string{"mobile", "email", "external_id"} {
			for i, f := range m.Fields {
				if f.Name == name && vals[i] != "" {
					if m.Entity.Name == EntityTestControl {
						return "identifierValue", vals[i]
					}
					return identifierName(name), vals[i]
				}
			}
		}
		if m.Entity.Name == EntityTestControl {
			return "identifierValue", ""
		}
		return "mobile", ""
	}
	return "", ""
}

func identifierName(field string) string {
	if field == "external_id" {
		return "externalId"
	}
	return field
}

// httpDoer sends lookups with retries on 429/5xx (Retry-After honoured),
// a request-rate ceiling and a bounded number in flight.
type httpDoer struct {
	client  *http.Client
	base    string
	auth    func(ctx context.Context, req *http.Request) error
	limiter *limiter
	sem     chan struct{}
	mu      sync.Mutex
	count   int64
}

func (d *httpDoer) requests() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.count
}

// do sends one request and returns the body of a 2xx or 404 answer
// (404: nothing found). Other answers are errors after the retries.
func (d *httpDoer) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	return d.doAccept(ctx, method, path, body, nil)
}

// doAccept is do where accept may also take an answer of another status
// as final (an answer, not a failure to retry).
func (d *httpDoer) doAccept(ctx context.Context, method, path string, body []byte, accept func(status int, body []byte) bool) (int, []byte, error) {
	d.sem <- struct{}{}
	defer func() { <-d.sem }()
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		if err := d.limiter.wait(ctx); err != nil {
			return 0, nil, err
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, d.base+path, rd)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if d.auth != nil {
			if err := d.auth(ctx, req); err != nil {
				return 0, nil, err
			}
		}
		d.mu.Lock()
		d.count++
		d.mu.Unlock()
		resp, err := d.client.Do(req)
		var status int
		var data []byte
		var wait time.Duration
		if err == nil {
			status = resp.StatusCode
			data, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			resp.Body.Close()
			if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s >= 0 {
				wait = time.Duration(s) * time.Second
			}
		}
		if err == nil && (status < 300 || status == http.StatusNotFound || (accept != nil && accept(status, data))) {
			return status, data, nil
		}
		retryable := err != nil || status == http.StatusTooManyRequests || status >= 500
		if !retryable || attempt >= 6 || ctx.Err() != nil {
			if err != nil {
				return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
			return status, nil, fmt.Errorf("%s %s: HTTP %d: %s", method, path, status, snippet(data))
		}
		if wait == 0 {
			wait = backoff
			backoff = min(backoff*2, 10*time.Second)
		}
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// limiter spaces requests at least interval apart (0: unlimited).
type limiter struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
}

func newLimiter(perSecond float64) *limiter {
	if perSecond <= 0 {
		return &limiter{}
	}
	return &limiter{interval: time.Duration(float64(time.Second) / perSecond)}
}

func (l *limiter) wait(ctx context.Context) error {
	if l == nil || l.interval == 0 {
		return ctx.Err()
	}
	l.mu.Lock()
	now := time.Now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.interval)
	l.mu.Unlock()
	if d := time.Until(at); d > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
	return ctx.Err()
}

// sandboxDest asks the API sandbox's batched POST /_sandbox/lookup: one
// request per batch of distinct values.
type sandboxDest struct {
	http *httpDoer
	kind string
}

func (s *sandboxDest) name() string    { return SourceSandbox }
func (s *sandboxDest) requests() int64 { return s.http.requests() }

type sandboxEntity struct {
	ID         int64             `json:"id"`
	Attributes map[string]string `json:"attributes"`
	Body       json.RawMessage   `json:"body"`
}

func (s *sandboxDest) lookup(ctx context.Context, by string, values []string) ([][]candidate, error) {
	req, _ := json.Marshal(map[string]any{"kind": s.kind, "by": by, "values": values})
	status, data, err := s.http.do(ctx, http.MethodPost, "/_sandbox/lookup", req)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("sandbox lookup: HTTP %d: %s", status, snippet(data))
	}
	var ans struct {
		Results [][]sandboxEntity `json:"results"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return nil, fmt.Errorf("sandbox lookup answer: %w", err)
	}
	if len(ans.Results) != len(values) {
		return nil, fmt.Errorf("sandbox lookup answered %d results for %d values", len(ans.Results), len(values))
	}
	out := make([][]candidate, len(values))
	for i, es := range ans.Results {
		for _, e := range es {
			c := candidate{ID: strconv.FormatInt(e.ID, 10), Attrs: e.Attributes}
			if len(e.Body) > 0 {
				dec := json.NewDecoder(bytes.NewReader(e.Body))
				dec.UseNumber()
				_ = dec.Decode(&c.Body)
			}
			out[i] = append(out[i], c)
		}
	}
	return out, nil
}

// apiDest asks the Capillary API's documented read endpoints, with as many
// entities per call as the API documents a read for, concurrently within
// the rate ceiling:
//   - customers (INSTORE): GET /v1.1/customer/get with up to
//     customersPerCall comma-separated identifiers (mobile, email or
//     external_id) — "To fetch the details for customers in bulk, add the
//     identification details separated by a comma"
//     (https://docs.capillarytech.com/reference/get-customer-details-v1api);
//     v1.1 documents no source parameter (it reads the INSTORE profiles),
//     so customers of another source are looked up
//     one per call (GET /v2/customers/lookup);
//   - products: GET /v2/product/skus?skuCodes=a,b,… (50 codes a call);
//   - transactions: one per call (GET /v2/transactions/getByBillNumber/{bill}):
//     no documented read takes several bill numbers (v1.1 transaction/get
//     fetches "a specific transaction",
//     https://docs.capillarytech.com/reference/get_transaction_detailsv1).
type apiDest struct {
	http   *httpDoer
	entity *entityType
	source string
}

// customersPerCall bounds the identifiers of one GET /v1.1/customer/get.
// The API documents no maximum; 50 keeps the URL well under the 8 KiB
// request-line limits of common proxies (50 e-mail addresses ≈ 2 KiB).
const customersPerCall = 50

func (a *apiDest) name() string    { return SourceAPI }
func (a *apiDest) requests() int64 { return a.http.requests() }

func (a *apiDest) lookup(ctx context.Context, by string, values []string) ([][]candidate, error) {
	out := make([][]candidate, len(values))
	if a.entity.Kind == "product" {
		const perCall = 50
		for start := 0; start < len(values); start += perCall {
			end := min(start+perCall, len(values))
			if err := a.products(ctx, values[start:end], out[start:end]); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	run := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	var batch []int // indexes of values asked together
	flush := func() {
		if len(batch) == 0 {
			return
		}
		idx := batch
		batch = nil
		run(func() error { return a.customers(ctx, v11Param(by), values, idx, out) })
	}
	batched := a.entity.Kind == "customer" && v11Param(by) != "" && (a.source == "" || a.source == "INSTORE")
	for i, v := range values {
		if batched && !strings.Contains(v, ",") {
			if batch = append(batch, i); len(batch) == customersPerCall {
				flush()
			}
			continue
		}
		run(func() error {
			cs, err := a.one(ctx, by, v)
			if err == nil {
				out[i] = cs // each goroutine writes its own index
			}
			return err
		})
	}
	flush()
	wg.Wait()
	return out, firstErr
}

// v11Param is the v1.1 query parameter for a lookup identifier ("" when
// v1.1 has none).
func v11Param(by string) string {
	switch by {
	case "mobile", "email":
		return by
	case "externalId":
		return "external_id"
	}
	return ""
}

// customers asks GET /v1.1/customer/get for the values at idx. Each
// customer of the answer echoes the identifier it was asked for; item_status
// 1000 is found, anything else (1012: not found) is not.
func (a *apiDest) customers(ctx context.Context, param string, values []string, idx []int, out [][]candidate) error {
	vs := make([]string, len(idx))
	pos := make(map[string][]int, len(idx))
	for j, i := range idx {
		vs[j] = values[i]
		pos[values[i]] = append(pos[values[i]], i)
	}
	path := "/v1.1/customer/get?" + url.Values{"format": {"json"}, param: {strings.Join(vs, ",")}}.Encode()
	status, data, err := a.http.doAccept(ctx, http.MethodGet, path, nil, isV11Answer)
	if err != nil {
		return err
	}
	if status == http.StatusNotFound {
		return nil
	}
	var ans struct {
		Response struct {
			Customers struct {
				Customer []map[string]any `json:"customer"`
			} `json:"customers"`
		} `json:"response"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&ans); err != nil {
		return fmt.Errorf("GET /v1.1/customer/get: answer is not JSON: %w", err)
	}
	for _, c := range ans.Response.Customers.Customer {
		st, _ := c["item_status"].(map[string]any)
		if scalar(st["code"]) != "1000" {
			continue
		}
		id := scalar(c["user_id"])
		if id == "" {
			id = scalar(c["id"])
		}
		for _, i := range pos[scalar(c[param])] {
			out[i] = append(out[i], candidate{ID: id, Body: c})
		}
	}
	return nil
}

// isV11Answer accepts a v1.1 envelope whatever the HTTP status: v1.1
// reports per customer (item_status), and "all requests failed" (every
// customer unknown) is an answer, not an error to retry.
func isV11Answer(_ int, body []byte) bool {
	var probe struct {
		Response struct {
			Customers *json.RawMessage `json:"customers"`
		} `json:"response"`
	}
	return json.Unmarshal(body, &probe) == nil && probe.Response.Customers != nil
}

func (a *apiDest) one(ctx context.Context, by, v string) ([]candidate, error) {
	var path string
	switch a.entity.Kind {
	case "transaction":
		path = "/v2/transactions/getByBillNumber/" + url.PathEscape(v)
	default: // customer
		if by == "identifierValue" {
			by = "mobile"
			if strings.Contains(v, "@") {
				by = "email"
			}
		}
		path = "/v2/customers/lookup?" + url.Values{"source": {a.source}, "identifierName": {by}, "identifierValue": {v}}.Encode()
	}
	status, data, err := a.http.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	if status == http.StatusNotFound {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var body any
	if err := dec.Decode(&body); err != nil {
		return nil, fmt.Errorf("GET %s: answer is not JSON: %w", path, err)
	}
	if a.entity.Kind == "transaction" {
		return fromList(body), nil
	}
	m, _ := body.(map[string]any)
	if m == nil || m["id"] == nil {
		return nil, nil
	}
	return []candidate{{ID: scalar(m["id"]), Body: m}}, nil
}

// products asks GET /v2/product/skus?skuCodes=a,b,… for a batch.
func (a *apiDest) products(ctx context.Context, values []string, out [][]candidate) error {
	path := "/v2/product/skus?" + url.Values{"skuCodes": {strings.Join(values, ",")}, "limit": {strconv.Itoa(len(values) * 2)}}.Encode()
	status, data, err := a.http.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if status == http.StatusNotFound {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var body any
	if err := dec.Decode(&body); err != nil {
		return fmt.Errorf("GET /v2/product/skus: answer is not JSON: %w", err)
	}
	idx := map[string][]int{}
	for i, v := range values {
		idx[v] = append(idx[v], i)
	}
	for _, c := range fromList(body) {
		for _, p := range []string{"sku", "skuCode", "code"} {
			if code, ok := c.value(p); ok {
				for _, i := range idx[code] {
					out[i] = append(out[i], c)
				}
				break
			}
		}
	}
	return nil
}

// fromList reads {"data":[…]} answers.
func fromList(body any) []candidate {
	m, _ := body.(map[string]any)
	arr, _ := m["data"].([]any)
	var out []candidate
	for _, el := range arr {
		if e, ok := el.(map[string]any); ok {
			out = append(out, candidate{ID: scalar(e["id"]), Body: e})
		}
	}
	return out
}

// oauth fetches and caches a Capillary token (POST /v3/oauth/token/generate).
type oauth struct {
	client      *http.Client
	base        string
	key, secret string
	mu          sync.Mutex
	token       string
	expires     time.Time
}

func (o *oauth) apply(ctx context.Context, req *http.Request) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.token == "" || time.Now().After(o.expires) {
		body, _ := json.Marshal(map[string]string{"key": o.key, "secret": o.secret})
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, o.base+"/v3/oauth/token/generate", bytes.NewReader(body))
		if err != nil {
			return err
		}
		r.Header.Set("Content-Type", "application/json")
		resp, err := o.client.Do(r)
		if err != nil {
			return fmt.Errorf("token: %w", err)
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			// The answer may echo what was sent; only the status is reported.
			return fmt.Errorf("token: HTTP %d from %s/v3/oauth/token/generate (check clientKey and clientSecret)", resp.StatusCode, o.base)
		}
		var ans struct {
			Data struct {
				AccessToken string `json:"accessToken"`
				TTL         int64  `json:"ttlSeconds"`
			} `json:"data"`
		}
		if err := json.Unmarshal(data, &ans); err != nil || ans.Data.AccessToken == "" {
			return errors.New("token: the answer carries no data.accessToken")
		}
		o.token = ans.Data.AccessToken
		ttl := time.Duration(max(ans.Data.TTL, 120)) * time.Second
		o.expires = time.Now().Add(ttl - time.Minute)
	}
	req.Header.Set("X-CAP-API-OAUTH-TOKEN", o.token)
	return nil
}
