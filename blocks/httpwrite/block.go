package httpwrite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
)

// writer is a built http_write, arya_call or webhook_write block. Process is
// safe for concurrent use: an engine that runs several units of the block at
// once (Spec.Concurrency) shares the token, limiter, gate and in-flight bound.
type writer struct {
	name string
	s    *settings
	d    *destination
	log  *slog.Logger
	// raw parses bulk answers without a value tree; nil when a path is
	// outside the raw subset.
	raw *rawParser
	// calls receives every finished request (nil: none); endpoint is the
	// destination's label for it.
	calls    block.CallRecorder
	endpoint string
	// wal is the write-ahead log of sent requests (nil without a state
	// directory); rule resolves in-doubt records of this endpoint (nil:
	// none declared); idemHeader names the idempotency key header ("" for
	// none); lookups counts resolution lookups, replays the in-doubt
	// stream requests re-sent as logged (figures, tests).
	wal        *wal
	rule       *lookupRule
	idemHeader string
	lookups    atomic.Int64
	replays    atomic.Int64
	// prepared holds the key Prepare computed for a queued unit's bulk
	// request, until its request takes it or its Process ends (a plain
	// map: a sync.Map keeps deleted keys, so units and their batches,
	// reachable until it rebuilds its read-only copy).
	prepared preparedKeys
}

func newWriter(s *settings, env *block.Env) *writer {
	log := env.Log()
	w := &writer{name: env.Block, s: s, d: newDestination(s, log, env.Clock, env.Fence), log: log}
	if env != nil && env.Calls != nil {
		w.calls, w.endpoint = env.Calls, endpointLabel(s)
	}
	if s.parse && s.bulk && s.respSplit != nil {
		w.raw, _ = newRawParser(s, s.respSplit.String())
	}
	w.wal = newWALFor(env)
	if w.wal != nil {
		// Units the block holds at once: in flight, and the engine's input
		// queue of 4 ahead of them (sizes the send horizon, horizon.go).
		w.wal.slots = s.concurrency + 4
	}
	w.rule = ruleFor(s.method, s.endpoint.path.src)
	w.idemHeader = DefaultIdempotencyHeader
	if h, ok := env.Options[OptIdempotencyHeader]; ok && h != "" {
		w.idemHeader = http.CanonicalHeaderKey(h)
		if h == "-" {
			w.idemHeader = ""
		}
	}
	return w
}

// Concurrency is how many units the engine may hand this instance at once;
// the block keeps at most this many requests in flight whatever it gets.
func (w *writer) Concurrency() int { return w.s.concurrency }

// OpaqueValues implements block.OpaqueValues: bodies are the records'
// values encoded (Batch.AppendJSON, AppendRecordJSON), endpoints and headers
// read records through block.RecordLookup, requestSplitPath and a batch
// payload's array go through Batch.Value (all three decode pre-encoded
// values), and delivered records go on with their values untouched.
func (w *writer) OpaqueValues() bool { return true }

// Transient implements block.Transient: Process returns once every request
// of the unit is answered; bodies are encoded into the block's own buffers
// and the write-ahead log keeps record numbers and outcomes, not values.
func (w *writer) Transient() bool { return true }

// Close releases idle connections.
func (w *writer) Close() error {
	w.d.close()
	if w.wal != nil {
		w.wal.close()
	}
	return nil
}

func newHTTPWrite(c *block.Config, env *block.Env) (block.Block, error) {
	s := &settings{typ: "http_write"}
	errs := []error{s.common(c), s.tuning(c, "connectTimeout", "responseTimeout"), s.authFrom(c, env, c.String("authType"))}
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
	// An absolute apiEndPoint ignores apiBaseUrl, so under a sandbox every
	// URL is rebased too: a preview or --sandbox run never reaches the real
	// host whatever the endpoint says.
	s.sandbox = env.Sandbox
	errs = append(errs, s.templates(c, env, base, "apiEndPoint"))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return newWriter(s, env), nil
}

func newArya(c *block.Config, env *block.Env) (block.Block, error) {
	s := &settings{typ: "arya_call"}
	errs := []error{s.common(c), s.tuning(c, "connectTimeout", "responseTimeout"), s.authFrom(c, env, c.String("authType"))}
	base := resolvePlaceholders(c.String("apiBaseUrl"), env)
	tokenBase := resolvePlaceholders(c.String("aryaBaseUrl"), env)
	if env.Sandbox != "" {
		base, tokenBase = env.Sandbox, env.Sandbox
	}
	errs = append(errs, checkBaseURL("apiBaseUrl", base))
	if s.auth == authOAuth {
		errs = append(errs, checkBaseURL("aryaBaseUrl", tokenBase))
	}
	s.tokenURL = tokenURLFor(tokenBase)
	s.sandbox = env.Sandbox
	errs = append(errs, s.templates(c, env, base, "apiEndPoint"))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return newWriter(s, env), nil
}

func newWebhook(c *block.Config, env *block.Env) (block.Block, error) {
	s := &settings{typ: "webhook_write", parse: false, splitRoot: true}
	var errs []error
	s.method = c.String("apiMethod")
	s.sendBody = s.method != http.MethodGet
	s.bulk = c.Bool("bulkSupport")
	s.maxRetries = c.Int("Max Retry", 10)
	// NiFi InvokeHTTP semantics: 5xx are retried, "extra retry" codes too
	// (429 as a yielding code that honours Retry-After), and "no retry"
	// codes never, whatever the other lists say.
	for c := 500; c < 600; c++ {
		s.recoverable.add(c)
	}
	extra, err := parseCodes("Extra Retry Error Codes", c.List("Extra Retry Error Codes"))
	errs = append(errs, err)
	for code := 100; code < 1000; code++ {
		if extra.has(code) {
			if code == http.StatusTooManyRequests {
				s.yielding.add(code)
			} else {
				s.recoverable.add(code)
			}
		}
	}
	noRetry, err := parseCodes("Extra no Retry Error Codes", c.List("Extra no Retry Error Codes"))
	errs = append(errs, err)
	for code := 100; code < 1000; code++ {
		if noRetry.has(code) {
			s.recoverable.remove(code)
			s.yielding.remove(code)
		}
	}
	errs = append(errs, s.tuning(c, "Connection Timeout", "Read Timeout"))
	s.perSecond = perSecond(c.Int("Rate", 1000), c.Int("Time Period", 1), c.String("Time Unit"))
	if c.Has("username") {
		s.auth, s.key, s.secret = authBasic, c.String("username"), c.String("password")
	}
	if src := c.String("AttributesToSend"); src != "" {
		re, err := block.CompileJavaRegexWhole(src)
		if err != nil {
			errs = append(errs, fmt.Errorf("AttributesToSend: %w", err))
		}
		s.attrsToSend = re
	}
	s.sandbox = env.Sandbox
	errs = append(errs, s.templates(c, env, "", "webhookEndpoint"))
	if err := errors.Join(errs...); err == nil && s.endpoint.path.constant() && s.sandbox == "" {
		errs = append(errs, checkBaseURL("webhookEndpoint", s.endpoint.path.src))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return newWriter(s, env), nil
}

func (s *settings) templates(c *block.Config, env *block.Env, base, endpointKey string) error {
	ep, err := compileText(c.String(endpointKey), env)
	if err != nil {
		return fmt.Errorf("%s: %w", endpointKey, err)
	}
	s.endpoint = &urlTemplate{base: base, path: ep}
	if s.headers, err = compileHeaders(c.String("additionalHeaders"), env); err != nil {
		return err
	}
	return nil
}

// Process sends one unit's records and reports each record's outcome:
// delivered records are acknowledged and passed on success, failed ones are
// emitted on failure. It returns only when every request of the unit is
// done, so outputs keep input order.
func (w *writer) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	if u.Batch == nil {
		return fmt.Errorf("%s sends records: connect it after convert_csv_to_json or jslt_transform", w.s.typ)
	}
	if len(u.Batch.Records) == 0 {
		return nil
	}
	var err error
	if w.s.bulk {
		err = w.processBulk(ctx, u)
	} else {
		err = w.processSingle(ctx, u)
	}
	if err != nil {
		return err
	}
	return w.emit(ctx, u, out)
}

func (w *writer) emit(ctx context.Context, u *block.Unit, out block.Output) error {
	recs := u.Batch.Records
	failed := 0
	for i := range recs {
		recs[i].Outcome.Block = w.name
		if recs[i].Outcome.Status == block.Failed {
			failed++
		}
	}
	switch failed {
	case 0:
		out.Ack(u, nil)
		return out.Emit(ctx, block.RelSuccess, u)
	case len(recs):
		return out.Emit(ctx, block.RelFailure, u)
	}
	ok := make([]block.Record, 0, len(recs)-failed)
	bad := make([]block.Record, 0, failed)
	for i := range recs {
		if recs[i].Outcome.Status == block.Failed {
			bad = append(bad, recs[i])
		} else {
			ok = append(ok, recs[i])
		}
	}
	okU, badU := u.Derive(), u.Derive()
	okU.Batch = u.Batch.With(ok)
	badU.Batch = u.Batch.With(bad)
	out.Ack(okU, nil)
	if err := out.Emit(ctx, block.RelSuccess, okU); err != nil {
		return err
	}
	return out.Emit(ctx, block.RelFailure, badU)
}

func failAll(recs []block.Record, o block.Outcome) {
	for i := range recs {
		recs[i].Outcome = o
	}
}

func failedOutcome(code int, msg string) block.Outcome {
	return block.Outcome{Status: block.Failed, Code: code, Message: msg}
}

// processBulk sends the batch as one request (a stream's, one per
// partition). Records in doubt after a crash (wal.go) are resolved first;
// only the others are sent.
func (w *writer) processBulk(ctx context.Context, u *block.Unit) error {
	if w.wal != nil {
		// A key Prepare left and no request took (elements resolved
		// without sending, an error before sending) goes with the unit.
		defer w.prepared.take(u)
	}
	b := u.Batch
	recs := b.Records
	// One JSLT payload for the whole batch: a single record whose value is
	// the array to send.
	var arr []any
	if len(recs) == 1 {
		if isArray(recs[0].Value) {
			arr, _ = b.Value(0).([]any)
		}
	}
	n := len(recs)
	if arr != nil {
		n = len(arr)
	}
	// elemSeqs[i] are the records request element i carries; nil when
	// elements cannot be told apart (an array not matching the record and
	// its members).
	elemSeqs := bulkElementSeqs(recs, arr)
	groups, err := w.sendGroups(ctx, u, arr, n, elemSeqs)
	if err != nil {
		return err
	}
	// resolved holds outcomes of in-doubt elements settled without sending;
	// doubt marks elements in doubt.
	resolved := map[int]block.Outcome{}
	doubt := map[int]bool{}
	for _, g := range groups {
		if g.wf == nil || !g.wf.anyDoubt() || elemSeqs == nil {
			continue
		}
		res, dbt, err := w.resolveInDoubt(ctx, u, g.wf, elemSeqs, g.idx, func(i int) any {
			if arr != nil {
				return arr[i]
			}
			return b.Value(i)
		})
		if err != nil {
			return err
		}
		for i, o := range res {
			resolved[i] = o
		}
		for i := range dbt {
			doubt[i] = true
		}
	}
	for gi := range groups {
		g := &groups[gi]
		if len(resolved) == 0 {
			g.keep = g.idx // neither is changed from here on
			continue
		}
		for _, i := range g.idx {
			if _, ok := resolved[i]; !ok {
				g.keep = append(g.keep, i)
			}
		}
	}
	// The groups' requests go out together (a stream's partitions); each
	// waits for an in-flight slot like any request.
	var wg sync.WaitGroup
	for gi := range groups {
		g := &groups[gi]
		if len(g.keep) == 0 {
			continue
		}
		send := func() {
			g.outs, g.whole, g.err = w.sendBulk(ctx, u, arr, g.keep, elemSeqs, g.wf)
		}
		if len(groups) == 1 {
			send()
		} else {
			wg.Go(send)
		}
	}
	wg.Wait()
	var full []block.Outcome
	split := len(resolved) > 0 || len(groups) > 1
	// One request carried every element and its answer split into one
	// outcome each, in order: those are the outcomes (no copy).
	asAnswered := len(groups) == 1 && len(resolved) == 0 && groups[0].err == nil && groups[0].outs != nil &&
		len(doubt) == 0 && identity(groups[0].keep, n)
	if asAnswered {
		full = groups[0].outs
	} else {
		full = make([]block.Outcome, n)
	}
	var keep0 = -1
	for gi := range groups {
		g := &groups[gi]
		if g.err != nil {
			return g.err
		}
		if g.outs != nil {
			split = true
		}
		if asAnswered {
			// keep is 0…n-1, full is g.outs and doubt is empty.
			if n > 0 {
				keep0 = 0
			}
			continue
		}
		for j, i := range g.keep {
			if keep0 < 0 {
				keep0 = i
			}
			if g.outs != nil {
				full[i] = g.outs[j]
			} else {
				full[i] = g.whole
			}
			if doubt[i] {
				w.duplicateInDoubt(&full[i])
			}
		}
	}
	for i, o := range resolved {
		full[i] = o
	}
	for _, g := range groups {
		if g.wf == nil {
			continue
		}
		for _, i := range g.idx {
			if doubt[i] {
				g.wf.resolve(elemSeqs[i])
			}
		}
	}
	if !split {
		// The answer could not be split: every record gets the HTTP-level
		// outcome (a duplicate code on an in-doubt batch included).
		var whole block.Outcome
		if keep0 >= 0 {
			whole = full[keep0]
		}
		if arr == nil {
			failAll(recs, whole)
			return nil
		}
		recs[0].Outcome = whole
		return nil
	}
	if arr == nil {
		for i := range recs {
			recs[i].Outcome = full[i]
		}
		if asAnswered {
			putOutcomes(full) // copied: nothing else holds the answer's slice
		}
		return nil
	}
	r := &recs[0]
	switch {
	case len(r.Members)+1 == len(full):
		// The payload's elements are the record and its merged member rows,
		// in order: give each row its own outcome.
		expanded := make([]block.Record, 0, len(full))
		head := *r
		head.Members = nil
		head.Outcome = full[0]
		expanded = append(expanded, head)
		for j := range r.Members {
			m := r.Members[j]
			m.Outcome = full[j+1]
			expanded = append(expanded, m)
		}
		u.Batch = b.With(expanded)
	default:
		r.Outcome = aggregate(full)
	}
	return nil
}

// identity reports whether keep is 0, 1, …, n-1.
func identity(keep []int, n int) bool {
	if len(keep) != n {
		return false
	}
	for j, i := range keep {
		if i != j {
			return false
		}
	}
	return true
}

// sendGroup is the elements of a bulk batch that go out as one request,
// and the write-ahead log they are logged in.
type sendGroup struct {
	idx, keep []int
	wf        *walFile
	outs      []block.Outcome
	whole     block.Outcome
	err       error
}

// sendGroups divides a bulk batch's elements by the log they belong to:
// all of them into one group, except for stream records, whose log is their
// partition's (streamwal.go) — a request never carries records of two
// partitions, so each partition's owner alone decides what to send again.
// Elements that cannot be told apart go as one request, logged with the
// first record's partition.
func (w *writer) sendGroups(ctx context.Context, u *block.Unit, arr []any, n int, elemSeqs [][]int64) ([]sendGroup, error) {
	recs := u.Batch.Records
	all := func() ([]sendGroup, error) {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		wf, err := w.walFor(ctx, u, &recs[0])
		return []sendGroup{{idx: idx, wf: wf}}, err
	}
	if _, ok := streamGroup(u); !ok || elemSeqs == nil || w.wal == nil {
		return all()
	}
	elem := func(i int) *block.Record {
		switch {
		case arr == nil:
			return &recs[i]
		case i == 0:
			return &recs[0]
		}
		return &recs[0].Members[i-1]
	}
	var groups []sendGroup
	byPart := map[string]int{}
	for i := range n {
		r := elem(i)
		k := r.Attrs[attrStreamTopic] + "\x00" + r.Attrs[attrStreamPartition]
		gi, ok := byPart[k]
		if !ok {
			wf, err := w.walFor(ctx, u, r)
			if err != nil {
				return nil, err
			}
			gi = len(groups)
			byPart[k] = gi
			groups = append(groups, sendGroup{wf: wf})
		}
		groups[gi].idx = append(groups[gi].idx, i)
	}
	if len(groups) == 0 {
		return all()
	}
	return groups, nil
}

// sendBulk sends elements keep of the batch (all of them normally) as one
// request, written ahead with its idempotency key, and returns one outcome
// per kept element, or nil and the HTTP-level outcome.
func (w *writer) sendBulk(ctx context.Context, u *block.Unit, arr []any, keep []int, elemSeqs [][]int64, wf *walFile) ([]block.Outcome, block.Outcome, error) {
	b := u.Batch
	recs := b.Records
	all := len(keep) == len(recs) || arr != nil && len(keep) == len(arr)
	var bufp *[]byte
	var body []byte
	if w.s.sendBody {
		bufp = getBuf()
		switch {
		case arr != nil && all:
			*bufp = jsonv.Append(*bufp, arr)
		case arr != nil:
			sub := make([]any, len(keep))
			for j, i := range keep {
				sub[j] = arr[i]
			}
			*bufp = jsonv.Append(*bufp, sub)
		case all:
			*bufp = b.AppendJSON(*bufp)
		default:
			*bufp = append(*bufp, '[')
			for j, i := range keep {
				if j > 0 {
					*bufp = append(*bufp, ',')
				}
				*bufp = b.AppendRecordJSON(*bufp, i)
			}
			*bufp = append(*bufp, ']')
		}
		body = *bufp
	}
	firstSeq := recs[0].Seq
	var seqs []int64
	var groups []int
	if elemSeqs != nil {
		n := 0
		for _, i := range keep {
			n += len(elemSeqs[i])
		}
		seqs = make([]int64, 0, n)
		for _, i := range keep {
			seqs = append(seqs, elemSeqs[i]...)
			groups = append(groups, len(elemSeqs[i]))
		}
		if len(seqs) > 0 {
			firstSeq = seqs[0]
		}
	} else {
		seqs = unitSeqs(recs)
	}
	req, err := w.newRequest(u, bulkLookup{u}, nil, w.requestID(u, firstSeq, 0, -1), body)
	if err != nil {
		w.releaseBody(bufp)
		return nil, failedOutcome(0, err.Error()), nil
	}
	key, err := w.writeAhead(u, wf, req, seqs, groups, -1)
	if err != nil {
		w.releaseBody(bufp)
		return nil, block.Outcome{}, err
	}
	started := time.Now()
	res, err := w.d.send(ctx, req)
	if err == nil {
		w.recordCall(u, req, &res, started, firstSeq, len(keep))
	}
	w.releaseBody(bufp)
	defer res.release()
	if errors.Is(err, errPartitionMoved) {
		return nil, failedOutcome(0, err.Error()), nil
	}
	if err != nil {
		return nil, block.Outcome{}, err
	}
	outs, whole := w.bulkOutcomes(&res, len(keep))
	if wf != nil && elemSeqs != nil {
		// The answer's elements and outcomes in keep's order: outs already
		// is (logAnswer only reads it), and when every element was kept so
		// is elemSeqs — the common case, two n-sized copies per request
		// saved.
		ks, lo := elemSeqs, outs
		if !identity(keep, len(elemSeqs)) {
			ks = make([][]int64, len(keep))
			for j, i := range keep {
				ks[j] = elemSeqs[i]
			}
		}
		if lo == nil {
			lo = make([]block.Outcome, len(keep))
			for j := range lo {
				lo[j] = whole
			}
		}
		w.logAnswer(wf, key, seqs, ks, lo)
	}
	return outs, whole, nil
}

// aggregate is the outcome of one record sent as several entities: the first
// failure (saying which entity), else the first success.
func aggregate(outs []block.Outcome) block.Outcome {
	for i := range outs {
		if outs[i].Status == block.Failed {
			o := outs[i]
			if len(outs) > 1 {
				o.Message = fmt.Sprintf("entity %d of %d: %s", i+1, len(outs), o.Message)
			}
			return o
		}
	}
	return outs[0]
}

// releaseBody returns a request body's buffer to the pool: the transport
// sends its own copy, so the buffer is free once the request is built.
func (w *writer) releaseBody(bufp *[]byte) {
	if bufp == nil {
		return
	}
	putBuf(bufp)
}

// bulkOutcomes splits a bulk answer into n per-entity outcomes, or returns
// nil and the HTTP-level outcome when it cannot be split n ways.
func (w *writer) bulkOutcomes(res *result, n int) ([]block.Outcome, block.Outcome) {
	if res.err != nil || res.status/100 != 2 || !w.s.parse {
		return nil, w.answerOutcome(res)
	}
	if w.raw != nil {
		body := res.bytes()
		if !validJSON(body) {
			return nil, w.answerOutcome(res)
		}
		doc := trimWS(body)
		if c, simple := w.raw.split.container(doc); simple && len(c) > 0 && c[0] == '[' {
			// The common shape ($.response[*]): the elements are walked
			// once, each indexed and turned into its outcome as it is met.
			if outs, ok := w.rawArrayOutcomes(doc, c, n, res.status); ok {
				return outs, block.Outcome{}
			}
			// Not n elements: the tree's split decides, as below.
		} else {
			// A bulk answer's elements fit on the stack (groupSize is ≤ 1000
			// and usually 100 or less).
			var spanBuf [128]span
			elems := w.raw.split.spans(spanBuf[:0], doc)
			if len(elems) == n {
				outs := make([]block.Outcome, n)
				var ev entityView
				if w.raw.id != nil {
					ev.doc, ev.text = doc, string(doc)
				}
				for i, sp := range elems {
					ev.reset(doc[sp.start:sp.end])
					w.raw.outcomeTo(w.s, &ev, res.status, &outs[i])
				}
				return outs, block.Outcome{}
			}
		}
	}
	v, err := jsonv.Parse(res.bytes())
	if err != nil {
		return nil, w.answerOutcome(res)
	}
	elems := w.s.respSplit.Query(v)
	if len(elems) != n {
		return nil, w.s.entityOutcome(v, res.status)
	}
	outs := make([]block.Outcome, n)
	for i, e := range elems {
		outs[i] = w.s.entityOutcome(e, res.status)
	}
	return outs, block.Outcome{}
}

// rawArrayOutcomes is the raw split of doc, a valid answer, whose split
// path selects the elements of the array c (within doc): one outcome per
// element, or false when there are not n of them.
func (w *writer) rawArrayOutcomes(doc, c []byte, n, status int) ([]block.Outcome, bool) {
	outs := getOutcomes(n)
	var ev entityView
	if w.raw.id != nil {
		ev.doc, ev.text = doc, string(doc)
	}
	k := 0
	for i := 1; ; {
		for i < len(c) && (isWS(c[i]) || c[i] == ',') {
			i++
		}
		if i >= len(c) || c[i] == ']' {
			break
		}
		if k == n {
			putOutcomes(outs)
			return nil, false
		}
		i = ev.resetAt(c, i)
		w.raw.outcomeTo(w.s, &ev, status, &outs[k])
		k++
	}
	if k != n {
		putOutcomes(outs)
		return nil, false
	}
	return outs, true
}

// outcomesPool holds the outcome slices of bulk answers (rawArrayOutcomes):
// processBulk hands one back once the records have their outcomes, so the
// ~10 KB a request of 100 records answered took are not allocated anew
// for every request.
var outcomesPool sync.Pool

// getOutcomes returns n zero outcomes.
func getOutcomes(n int) []block.Outcome {
	if p, _ := outcomesPool.Get().(*[]block.Outcome); p != nil && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]block.Outcome, n)
}

// putOutcomes hands o back, cleared (its strings go).
func putOutcomes(o []block.Outcome) {
	o = o[:cap(o)]
	clear(o)
	outcomesPool.Put(&o)
}

// answerOutcome is the outcome of a whole answer (single requests, or bulk
// answers that cannot be split).
func (w *writer) answerOutcome(res *result) block.Outcome {
	if res.err != nil {
		o := failedOutcome(res.status, res.err.Error())
		o.RetryExhausted = res.exhausted
		return o
	}
	var v any
	parsed := false
	if body := res.bytes(); len(body) > 0 && (body[0] == '{' || body[0] == '[' || body[0] == ' ' || body[0] == '\n') {
		if x, err := jsonv.Parse(body); err == nil {
			v, parsed = unwrapSingle(x), true
		}
	}
	if res.status/100 == 2 {
		if !w.s.parse || !parsed {
			return block.Outcome{Status: block.Delivered, Code: res.status}
		}
		return w.s.entityOutcome(v, res.status)
	}
	o := failedOutcome(res.status, "")
	if parsed && w.s.parse && !res.exhausted {
		e := w.s.entityOutcome(v, res.status)
		o.Code, o.Message, o.EntityID, o.Extra = e.Code, e.Message, e.EntityID, e.Extra
		if o.Code < 400 {
			o.Code = res.status
		}
	}
	if o.Message == "" && parsed {
		o.Message = firstErrorMessage(v)
	}
	if o.Message == "" {
		o.Message = shortBody(res.bytes(), res.status)
	}
	if res.exhausted {
		o.RetryExhausted = true
		o.Message = fmt.Sprintf("retries exhausted after %d attempts: %s", res.attempts, o.Message)
	}
	return o
}

func unwrapSingle(v any) any {
	if a, ok := v.([]any); ok && len(a) == 1 {
		return a[0]
	}
	return v
}

func shortBody(b []byte, status int) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return fmt.Sprintf("HTTP %d: %s", status, s)
}

// part is one request of single mode: a record, or one element selected in
// it by requestSplitPath.
type part struct {
	rec  int
	elem any
	self bool
	k    int // index of the element within its record
}

// processSingle sends one request per record (or per split element), up to
// concurrency at once, and assembles the outcomes in record order.
func (w *writer) processSingle(ctx context.Context, u *block.Unit) error {
	b := u.Batch
	recs := b.Records
	parts := make([]part, 0, len(recs))
	for i := range recs {
		if w.s.reqSplit == nil || w.s.splitRoot && (!w.s.splitWildcard || !isArray(recs[i].Value)) {
			parts = append(parts, part{rec: i, self: true})
			continue
		}
		elems := w.s.reqSplit.Query(b.Value(i))
		if len(elems) == 0 {
			recs[i].Outcome = failedOutcome(0, fmt.Sprintf("requestSplitPath %s selected nothing in the record", w.s.reqSplit))
			continue
		}
		for k, e := range elems {
			parts = append(parts, part{rec: i, elem: e, k: k})
		}
	}
	outs := make([]block.Outcome, len(parts))
	workers := min(w.s.concurrency, len(parts))
	if workers <= 1 {
		for i := range parts {
			o, err := w.sendPart(ctx, u, &parts[i])
			if err != nil {
				return err
			}
			outs[i] = o
		}
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		var errOnce sync.Once
		var firstErr error
		for range workers {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= len(parts) {
						return
					}
					o, err := w.sendPart(ctx, u, &parts[i])
					if err != nil {
						errOnce.Do(func() { firstErr = err })
						return
					}
					outs[i] = o
				}
			})
		}
		wg.Wait()
		if firstErr != nil {
			return firstErr
		}
	}
	for i := range recs {
		if wf, _ := w.walFor(ctx, u, &recs[i]); wf != nil && wf.anyDoubt() {
			wf.resolve(recordSeqs(&recs[i]))
		}
	}
	// Parts of a record are contiguous and in order.
	for p := 0; p < len(parts); {
		q := p
		for q < len(parts) && parts[q].rec == parts[p].rec {
			q++
		}
		recs[parts[p].rec].Outcome = aggregate(outs[p:q])
		p = q
	}
	return nil
}

// isArray tells arrays, pre-encoded ones (block.ValueEncoder) included.
func isArray(v any) bool {
	switch x := v.(type) {
	case []any:
		return true
	case jsonv.RawJSON:
		return len(x) > 0 && x[0] == '['
	}
	return false
}

func (w *writer) sendPart(ctx context.Context, u *block.Unit, p *part) (block.Outcome, error) {
	b := u.Batch
	r := &b.Records[p.rec]
	var bufp *[]byte
	var body []byte
	if w.s.sendBody {
		bufp = getBuf()
		if p.self {
			*bufp = b.AppendRecordJSON(*bufp, p.rec)
		} else {
			*bufp = jsonv.Append(*bufp, p.elem)
		}
		body = *bufp
	}
	k := -1
	if !p.self {
		k = p.k
	}
	wf, err := w.walFor(ctx, u, r)
	if err != nil {
		w.releaseBody(bufp)
		return block.Outcome{}, err
	}
	seqs := recordSeqs(r)
	inDoubt := false
	if wf != nil && wf.anyDoubt() {
		for _, s := range seqs {
			if _, ok := wf.doubt(s); ok {
				inDoubt = true
			}
		}
	}
	if wf != nil && p.self {
		if o, ok := wf.logged(walID(r)); ok {
			// Answered before the crash: the logged outcome stands.
			w.releaseBody(bufp)
			return block.Outcome{Status: o.Status, Code: o.Code, Message: o.Message, EntityID: o.EntityID}, nil
		}
	}
	if inDoubt && w.rule != nil && w.rule.query != nil {
		v := p.elem
		if p.self {
			v = b.Value(p.rec)
		}
		w.lookups.Add(1)
		id, found, err := w.lookup(ctx, u, w.rule, v, w.requestID(u, r.Seq, p.rec, k))
		if err != nil {
			w.releaseBody(bufp)
			return block.Outcome{}, err
		}
		if found {
			w.releaseBody(bufp)
			return block.Outcome{Status: block.Delivered, Code: http.StatusOK, EntityID: id, Message: MsgConfirmedByLookup}, nil
		}
	}
	req, err := w.newRequest(u, block.RecordLookup{Unit: u, Batch: b, Index: p.rec}, r.Attrs, w.requestID(u, r.Seq, p.rec, k), body)
	if err != nil {
		w.releaseBody(bufp)
		return failedOutcome(0, err.Error()), nil
	}
	key, err := w.writeAhead(u, wf, req, seqs, []int{len(seqs)}, k)
	if err != nil {
		w.releaseBody(bufp)
		return block.Outcome{}, err
	}
	started := time.Now()
	res, err := w.d.send(ctx, req)
	if err == nil {
		w.recordCall(u, req, &res, started, r.Seq, 1)
	}
	w.releaseBody(bufp)
	defer res.release()
	if errors.Is(err, errPartitionMoved) {
		return failedOutcome(0, err.Error()), nil
	}
	if err != nil {
		return block.Outcome{}, err
	}
	o := w.answerOutcome(&res)
	if inDoubt {
		w.duplicateInDoubt(&o)
	}
	if p.self {
		w.logAnswer(wf, key, seqs, [][]int64{seqs}, []block.Outcome{o})
	}
	return o, nil
}

// bulkLookup resolves names for a whole-batch request: unit attributes, then
// the first record's attributes (JSLT Attributes are per record, and in bulk
// mode only values shared by the batch make sense).
type bulkLookup struct{ u *block.Unit }

func (l bulkLookup) Get(name string) (string, bool) {
	if v, ok := l.u.Attrs[name]; ok {
		return v, true
	}
	if b := l.u.Batch; b != nil && len(b.Records) > 0 {
		if v, ok := b.Records[0].Attrs[name]; ok {
			return v, true
		}
	}
	return "", false
}

// requestID is the unit's request.id (else its lineage id) plus the first
// record's sequence number, so API-side logs can be matched to result rows.
func (w *writer) requestID(u *block.Unit, seq int64, index, part int) string {
	base := u.Attrs[block.AttrRequestID]
	if base == "" {
		base = u.Attrs[block.AttrLineageID]
	}
	if base == "" {
		base = w.name
	}
	n := seq
	if n <= 0 {
		n = int64(index + 1)
	}
	// One allocation: the id's bytes gather on the stack.
	var buf [96]byte
	id := append(buf[:0], base...)
	id = append(id, '-')
	id = strconv.AppendInt(id, n, 10)
	if part >= 0 {
		id = append(id, '.')
		id = strconv.AppendInt(id, int64(part+1), 10)
	}
	return string(id)
}

var (
	jsonType = []string{"application/json"}
	// reserved headers are never taken from attributes: they would corrupt
	// framing or override authentication.
	reserved = map[string]bool{
		"Content-Type": true, "Content-Length": true, "Host": true, "Authorization": true,
		"Transfer-Encoding": true, "Connection": true, "Accept": true, "Te": true, "Upgrade": true,
		http.CanonicalHeaderKey(TokenHeader): true,
	}
)

func (w *writer) newRequest(u *block.Unit, l block.Lookup, recAttrs block.Attributes, id string, body []byte) (*request, error) {
	s := w.s
	raw, err := s.endpoint.eval(l)
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	raw = appendQuery(raw, u.Attrs, recAttrs)
	if s.sandbox != "" {
		if raw, err = rebase(raw, s.sandbox); err != nil {
			return nil, err
		}
	}
	h := make(http.Header, 6+len(s.headers))
	if body != nil {
		h["Content-Type"] = jsonType
	}
	h["Accept"] = jsonType
	h[RequestIDHeader] = []string{id}
	if s.attrsToSend != nil {
		for k, v := range u.Attrs {
			if validHeaderName(k) && validHeaderValue(v) && !reserved[http.CanonicalHeaderKey(k)] && s.attrsToSend.MatchString(k) {
				h[k] = []string{v}
			}
		}
	}
	for _, k := range [...]string{AttrAttributionType, AttrAttributionCode} {
		if v := u.Attrs[k]; v != "" && validHeaderValue(v) {
			h[k] = []string{v}
		}
	}
	for _, ht := range s.headers {
		v, err := ht.value.eval(l, nil)
		if err != nil {
			return nil, fmt.Errorf("additionalHeaders %q: %w", ht.name, err)
		}
		if !validHeaderValue(v) {
			return nil, fmt.Errorf("additionalHeaders %q: the value holds control characters", ht.name)
		}
		h[ht.name] = []string{v}
	}
	return &request{method: s.method, url: raw, header: h, body: body, id: id}, nil
}

// rebase points a URL at the sandbox, keeping path and query, so a
// --sandbox run never calls a real endpoint.
func rebase(raw, sandbox string) (string, error) {
	p, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("webhook URL %q: %w", raw, err)
	}
	rest := p.EscapedPath()
	if p.RawQuery != "" {
		rest += "?" + p.RawQuery
	}
	return joinURL(strings.TrimRight(sandbox, "/"), rest), nil
}
