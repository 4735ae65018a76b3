package httpwrite

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
)

// neo_transformer and neo_transformer_v2 (spec §2.4.18) send records to a
// Neo dataflow — Capillary's hosted JavaScript transformation, reached at
// /x/neo/<name> as Gen-2 does — and pass its answer on as the records'
// new values: a transformation step, not a destination. V2's retry codes
// follow NiFi InvokeHTTP: every 5xx is retried up to Max Retry, Extra Retry
// Error Codes are retried too (429 waiting as Retry-After says), and Extra
// No Retry Error Codes never are.

func neoFields() []block.Field {
	return []block.Field{
		{Key: "neoDataflow", Label: "Enter url", Type: block.TypeString, Required: true, SupportsExpressions: true,
			Aliases: []string{"Enter url", "enterUrl", "url", "apiEndPoint"}, Example: "customer_feedback_transform",
			Description: "The Neo dataflow: its name (called at /x/neo/<name>), a path such as /x/neo/<name>, or a full URL. NiFi expressions see the unit's attributes."},
		{Key: "splitResponse", Label: "Split Response", Type: block.TypeBool, Default: "true", Aliases: []string{"Split Response"},
			Description: "true: an array answer is one response per element (element i becomes record i when the counts match); false: the whole answer is one response."},
		{Key: "bulkSupport", Label: "Send Batch", Type: block.TypeBool, Default: "true", Advanced: true,
			Description: "true: the batch is one request, a JSON array of the records; false: one request per record."},
		{Key: "Max Retry", Label: "Max Retry", Type: block.TypeInt, Default: "3", Min: block.Bound(0), Aliases: []string{"maxRetries", "Max retries"},
			Description: "Retries after a 5xx, an Extra Retry code or a network error (no upper limit, as in Gen-1)."},
		{Key: "Extra Retry Error Codes", Label: "Extra Retry Error Codes", Type: block.TypeList, Aliases: []string{"extraRetryErrorCodes"},
			Description: "Codes retried besides the 5xx ones, e.g. 429 (which waits as Retry-After says) or 408."},
		{Key: "Extra No Retry Error Codes", Label: "Extra No Retry Error Codes", Type: block.TypeList, Aliases: []string{"extraNoRetryErrorCodes", "Extra no Retry Error Codes"},
			Description: "Codes never retried, even 5xx ones: adding 500 fails records on a 500 at once."},
		{Key: "Authorization", Label: "Authorization", Type: block.TypeString, Secret: true, Aliases: []string{"authorization"},
			Description: "Value of the Authorization header sent to Neo, when the Neo dataflow wants one (secret Extension Configuration); else the OAuth token authenticates."},
		fClientKey, fClientSecret, fAPIBaseURL, fOAuthBaseURL, fAuthType, fBearerToken,
		fAdditionalHeaders, fRate, fPeriod, fTimeUnit, fConnectTimeout, fResponseTimeout, fConcurrency, fYieldRetries, fRetryBackoff, fMaxRetryBackoff,
	}
}

// NeoSpec is neo_transformer.
var NeoSpec = &block.Spec{
	Type: "neo_transformer", Label: "Neo Transformer", Class: block.ClassExecutor, Category: "Transformation",
	Description: "Transforms records with a Neo dataflow (the JavaScript a Neo flow tagged Connectplus runs): the batch is POSTed to /x/neo/<name> and the answer becomes the records' new values. With Split Response an array answer of the same length maps element i to record i; any other answer is one payload for the whole batch. A failed call (after the retries of every 5xx) fails the batch's records with the HTTP status and message.",
	Input:       block.KindRecords, Output: block.KindRecords,
	Concurrency: 4,
	Fields:      neoFields(),
	Check:       checkAuth,
	New:         newNeo,
}

// NeoV2Spec is neo_transformer_v2: the same with its retry codes in front.
var NeoV2Spec = &block.Spec{
	Type: "neo_transformer_v2", Label: "Neo Transformer V2", Class: block.ClassExecutor, Category: "Transformation",
	Description: "Neo Transformer with explicit retry control: Max Retry, Extra Retry Error Codes (by default only 5XX are retried) and Extra No Retry Error Codes (e.g. 500 to skip retrying a 500). Otherwise as neo_transformer.",
	Input:       block.KindRecords, Output: block.KindRecords,
	Concurrency: 4,
	Fields:      neoFields(),
	Check:       checkAuth,
	New:         newNeo,
}

type neo struct {
	name  string
	s     *settings
	d     *destination
	split bool
	auth  string
}

// neoPath turns the configured Neo dataflow into an endpoint.
func neoPath(v string) string {
	v = strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(v, "http://"), strings.HasPrefix(v, "https://"), strings.HasPrefix(v, "/"):
		return v
	case strings.HasPrefix(v, "x/neo/"):
		return "/" + v
	}
	return "/x/neo/" + v
}

func newNeo(c *block.Config, env *block.Env) (block.Block, error) {
	s := &settings{typ: c.Spec().Type, method: http.MethodPost, sendBody: true, splitRoot: true}
	var errs []error
	s.bulk = c.Bool("bulkSupport")
	s.maxRetries = c.Int("Max Retry", 3)
	for code := 500; code < 600; code++ {
		s.recoverable.add(code)
	}
	extra, err := parseCodes("Extra Retry Error Codes", c.List("Extra Retry Error Codes"))
	errs = append(errs, err)
	noRetry, err := parseCodes("Extra No Retry Error Codes", c.List("Extra No Retry Error Codes"))
	errs = append(errs, err)
	for code := 100; code < 1000; code++ {
		if extra.has(code) {
			if code == http.StatusTooManyRequests {
				s.yielding.add(code)
			} else {
				s.recoverable.add(code)
			}
		}
		if noRetry.has(code) {
			s.recoverable.remove(code)
			s.yielding.remove(code)
		}
	}
	errs = append(errs, s.tuning(c, "connectTimeout", "responseTimeout"), s.authFrom(c, env, c.String("authType")))
	s.perSecond = perSecond(c.Int("rate", 1000), c.Int("period", 1), c.String("timeUnit"))
	base := resolvePlaceholders(c.String("apiBaseUrl"), env)
	oauth := resolvePlaceholders(c.String("oAuthBaseUrl"), env)
	if env.Sandbox != "" {
		base, oauth = env.Sandbox, env.Sandbox
	}
	errs = append(errs, checkBaseURL("apiBaseUrl", base))
	if s.auth == authOAuth {
		errs = append(errs, checkBaseURL("oAuthBaseUrl", oauth))
	}
	s.tokenURL = tokenURLFor(oauth)
	s.sandbox = env.Sandbox
	ep, err := compileText(neoPath(c.String("neoDataflow")), env)
	if err != nil {
		errs = append(errs, fmt.Errorf("neoDataflow: %w", err))
	}
	s.endpoint = &urlTemplate{base: base, path: ep}
	if s.headers, err = compileHeaders(c.String("additionalHeaders"), env); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &neo{name: env.Block, s: s, d: newDestination(s, env.Log(), env.Clock, env.Fence), split: c.Bool("splitResponse"), auth: c.String("Authorization")}, nil
}

func (n *neo) Concurrency() int { return n.s.concurrency }

func (n *neo) Close() error {
	n.d.close()
	return nil
}

func (n *neo) request(u *block.Unit, body []byte, seq int64) (*request, error) {
	raw, err := n.s.endpoint.eval(u.Attrs)
	if err != nil {
		return nil, fmt.Errorf("neoDataflow: %w", err)
	}
	if n.s.sandbox != "" {
		if raw, err = rebase(raw, n.s.sandbox); err != nil {
			return nil, err
		}
	}
	h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	for _, ht := range n.s.headers {
		v, err := ht.value.eval(u.Attrs, nil)
		if err != nil {
			return nil, fmt.Errorf("additionalHeaders %q: %w", ht.name, err)
		}
		if validHeaderValue(v) {
			h[ht.name] = []string{v}
		}
	}
	if n.auth != "" && n.s.auth != authBearer && n.s.auth != authBasic {
		h.Set("Authorization", n.auth)
	}
	id := u.Attrs[block.AttrRequestID]
	if id == "" {
		id = u.Attrs[block.AttrLineageID]
	}
	id += "-" + strconv.FormatInt(seq, 10)
	h.Set(RequestIDHeader, id)
	return &request{method: http.MethodPost, url: raw, header: h, body: body, id: id}, nil
}

// call sends one body and returns the parsed answer, or the outcome that
// fails the records it carried.
func (n *neo) call(ctx context.Context, u *block.Unit, body []byte, seq int64) (any, *block.Outcome, error) {
	req, err := n.request(u, body, seq)
	if err != nil {
		return nil, nil, err
	}
	res, err := n.d.send(ctx, req)
	defer res.release()
	if err != nil {
		return nil, nil, err
	}
	if res.err != nil {
		o := failedOutcome(res.status, "neo: "+res.err.Error())
		o.RetryExhausted = res.exhausted
		return nil, &o, nil
	}
	if res.status/100 != 2 {
		o := failedOutcome(res.status, "neo: "+shortBody(res.bytes(), res.status))
		o.RetryExhausted = res.exhausted
		return nil, &o, nil
	}
	b := res.bytes()
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, nil, nil
	}
	v, err := jsonv.Parse(b)
	if err != nil {
		o := failedOutcome(res.status, "neo: the answer is not JSON: "+err.Error())
		return nil, &o, nil
	}
	return v, nil, nil
}

func (n *neo) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	if u.Batch == nil {
		return fmt.Errorf("%s transforms records: connect it after convert_csv_to_json, split_json or a stream source", n.s.typ)
	}
	b := u.Batch
	b.Values()
	if !n.s.bulk {
		var ok, bad []block.Record
		for i := range b.Records {
			r := b.Records[i]
			ans, fail, err := n.call(ctx, u, b.AppendRecordJSON(nil, i), r.Seq)
			if err != nil {
				return err
			}
			if fail != nil {
				fail.Block = n.name
				r.Outcome = *fail
				bad = append(bad, r)
				continue
			}
			if n.split {
				ans = unwrapSingle(ans)
			}
			r.Value = ans
			ok = append(ok, r)
		}
		return n.emit(ctx, u, ok, bad, out)
	}
	ans, fail, err := n.call(ctx, u, b.AppendJSON(nil), b.Records[0].Seq)
	if err != nil {
		return err
	}
	if fail != nil {
		fail.Block = n.name
		failAll(b.Records, *fail)
		return out.Emit(ctx, block.RelFailure, u)
	}
	if arr, isArr := ans.([]any); isArr && n.split && len(arr) == len(b.Records) {
		for i := range b.Records {
			b.Records[i].Value = arr[i]
		}
		return out.Emit(ctx, block.RelSuccess, u)
	}
	// One payload for the batch: the first record carries the answer and
	// the others ride along as its members, sharing its outcome.
	first := b.Records[0]
	first.Value = ans
	for _, r := range b.Records[1:] {
		nested := r.Members
		r.Members = nil
		first.Members = append(first.Members, r)
		first.Members = append(first.Members, nested...)
	}
	b.Records = []block.Record{first}
	return out.Emit(ctx, block.RelSuccess, u)
}

func (n *neo) emit(ctx context.Context, u *block.Unit, ok, bad []block.Record, out block.Output) error {
	if len(ok) > 0 {
		okU := u.Derive()
		okU.Batch = u.Batch.With(ok)
		if err := out.Emit(ctx, block.RelSuccess, okU); err != nil {
			return err
		}
	}
	if len(bad) > 0 {
		badU := u.Derive()
		badU.Batch = u.Batch.With(bad)
		return out.Emit(ctx, block.RelFailure, badU)
	}
	return nil
}
