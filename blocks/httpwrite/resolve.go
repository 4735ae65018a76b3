package httpwrite

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
)

// Resolution of in-doubt records (see wal.go): before a record that may
// already have reached the destination is sent again, the destination's own
// state decides. Each Capillary endpoint that creates entities declares here
// how to find an entity from the payload that would create it (lookup) and
// which answer codes mean "it already exists" (duplicate codes). Found →
// delivered with the found entity id; not found → sent; a duplicate code on
// a record that was in doubt → delivered before the crash, never a failure.
// Endpoints without a rule are resolved by the idempotency key alone.

// Messages of records resolved as delivered before a crash.
const (
	MsgConfirmedByLookup = "delivered before crash, confirmed by lookup"
	MsgDuplicateInDoubt  = "delivered before crash, destination answered duplicate"
)

// OptIdempotencyHeader is the Env.Options key naming the idempotency key
// header ("-" sends none); DefaultIdempotencyHeader otherwise.
const (
	OptIdempotencyHeader     = "httpwrite.idempotencyHeader"
	DefaultIdempotencyHeader = "Idempotency-Key"
)

// CheckIdempotencyHeader validates a deployment's idempotency header name
// (OptIdempotencyHeader; "-" sends none), so a bad name fails the command
// line rather than every request.
func CheckIdempotencyHeader(name string) error {
	if name == "-" || validHeaderName(name) {
		return nil
	}
	return fmt.Errorf("%q is not an HTTP header name", name)
}

// lookupRule is one endpoint's resolution rule.
type lookupRule struct {
	// suffixes of the endpoint path (query excluded) the rule applies to.
	suffixes []string
	// query returns the lookup's path and query for one payload element, or
	// "" when the element carries nothing to look up by.
	query func(v *jsonv.Object) string
	// found tells whether the lookup answer names the element's entity and
	// returns its id.
	found func(elem *jsonv.Object, status int, answer any) (string, bool)
	// duplicates are the answer codes that mean "already there".
	duplicates []int
}

// lookupRules is the endpoint table (Capillary v2/v1 documented lookups and
// "already applied" codes).
var lookupRules = []lookupRule{
	{
		// Transactions: a bill is identified by bill number, store and date
		// (GET /v2/transactions/getByBillNumber/{bill}); 604 is "duplicate
		// bill number".
		suffixes:   []string{"/v2/transactions/bulk", "/v2/transactions"},
		query:      txnLookup,
		found:      txnFound,
		duplicates: []int{604},
	},
	{
		// Customers: GET /v2/customers/lookup by the first identifier the
		// payload carries; 8006 (customer exists for the source) and 8007/8008
		// (identifier already taken) are the documented duplicate codes.
		suffixes:   []string{"/v2/customers/bulk", "/v2/bulk/addCustomers", "/v2/customers"},
		query:      customerLookup,
		found:      customerFound,
		duplicates: []int{8006, 8007, 8008},
	},
	// Coupons, points, badges, rewards: no lookup by payload; their
	// "already applied" answers are the duplicate codes.
	{suffixes: []string{"/v2/coupon/redeem"}, duplicates: []int{604}},
	{suffixes: []string{"/v1/badges/issue", "/v1/badges/earn", "/v1/badges/import/customerBadges"}, duplicates: []int{3015}},
	{suffixes: []string{"/v1/rewards/issue"}, duplicates: []int{8806}},
}

// ruleFor returns the rule of an endpoint template, or nil.
func ruleFor(method, endpoint string) *lookupRule {
	if method != http.MethodPost && method != "" {
		return nil
	}
	p := endpoint
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimRight(p, "/")
	for i := range lookupRules {
		for _, s := range lookupRules[i].suffixes {
			if strings.HasSuffix(p, s) {
				return &lookupRules[i]
			}
		}
	}
	return nil
}

func (r *lookupRule) isDuplicate(code int) bool {
	for _, c := range r.duplicates {
		if c == code {
			return true
		}
	}
	return false
}

func get(m *jsonv.Object, k string) any {
	if m == nil {
		return nil
	}
	v, _ := m.Get(k)
	return v
}

func str(m *jsonv.Object, k string) string {
	switch v := get(m, k).(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

func txnLookup(v *jsonv.Object) string {
	bill := str(v, "billNumber")
	if bill == "" {
		return ""
	}
	q := url.Values{}
	if t := str(v, "type"); t != "" {
		q.Set("type", t)
	}
	return "/v2/transactions/getByBillNumber/" + url.PathEscape(bill) + "?" + q.Encode()
}

// sameDay compares two bill dates by their date part (the API answers with
// its own time format).
func sameDay(a, b string) bool {
	if len(a) >= 10 && len(b) >= 10 {
		return a[:10] == b[:10]
	}
	return a == b
}

func txnFound(elem *jsonv.Object, status int, answer any) (string, bool) {
	if status/100 != 2 {
		return "", false
	}
	m, _ := answer.(*jsonv.Object)
	data, _ := get(m, "data").([]any)
	for _, d := range data {
		e, _ := d.(*jsonv.Object)
		if e == nil || str(e, "billNumber") != str(elem, "billNumber") {
			continue
		}
		if s, t := str(e, "storeCode"), str(elem, "storeCode"); s != "" && t != "" && s != t {
			continue
		}
		if s, t := str(e, "billDate"), str(elem, "billDate"); s != "" && t != "" && !sameDay(s, t) {
			continue
		}
		if id := str(e, "id"); id != "" {
			return id, true
		}
	}
	return "", false
}

func customerLookup(v *jsonv.Object) string {
	source, typ, val := str(v, "source"), "", ""
	idents, _ := get(v, "identifiers").([]any)
	if ps, ok := get(v, "profiles").([]any); ok && len(ps) > 0 {
		if p, ok := ps[0].(*jsonv.Object); ok {
			if s := str(p, "source"); s != "" {
				source = s
			}
			idents, _ = get(p, "identifiers").([]any)
		}
	}
	for _, x := range idents {
		if m, ok := x.(*jsonv.Object); ok {
			typ, val = str(m, "type"), str(m, "value")
			if typ != "" && val != "" {
				break
			}
		}
	}
	if source == "" || typ == "" || val == "" {
		return ""
	}
	q := url.Values{"source": {source}, "identifierName": {typ}, "identifierValue": {val}}
	return "/v2/customers/lookup?" + q.Encode()
}

func customerFound(_ *jsonv.Object, status int, answer any) (string, bool) {
	if status/100 != 2 {
		return "", false
	}
	m, _ := answer.(*jsonv.Object)
	id := str(m, "id")
	return id, id != "" && id != "0"
}

// lookup asks the destination whether elem's entity exists. ok=false means
// the lookup could not tell (no identifier, an error): the record is sent,
// and its duplicate code still protects it.
func (w *writer) lookup(ctx context.Context, u *block.Unit, rule *lookupRule, elem any, id string) (entity string, found bool, err error) {
	m, _ := elem.(*jsonv.Object)
	if m == nil || rule.query == nil {
		return "", false, nil
	}
	q := rule.query(m)
	if q == "" {
		return "", false, nil
	}
	raw := joinURL(strings.TrimRight(w.s.endpoint.base, "/"), q)
	if w.s.sandbox != "" {
		if raw, err = rebase(raw, w.s.sandbox); err != nil {
			return "", false, nil
		}
	}
	h := http.Header{"Accept": jsonType, RequestIDHeader: {id + ".lookup"}}
	for _, k := range [...]string{AttrAttributionType, AttrAttributionCode} {
		if v := u.Attrs[k]; v != "" && validHeaderValue(v) {
			h[k] = []string{v}
		}
	}
	res, err := w.d.send(ctx, &request{method: http.MethodGet, url: raw, header: h, id: id + ".lookup", lookup: true})
	defer res.release()
	if err != nil {
		return "", false, err
	}
	if res.err != nil {
		return "", false, nil
	}
	v, perr := jsonv.Parse(res.bytes())
	if perr != nil {
		return "", false, nil
	}
	entity, found = rule.found(m, res.status, v)
	return entity, found, nil
}

// walFor returns the unit's lineage log, or nil when the block keeps none
// (no state directory, no lineage).
func (w *writer) walFor(ctx context.Context, u *block.Unit, r *block.Record) (*walFile, error) {
	if w.wal == nil {
		return nil, nil
	}
	if p, ok := streamPartOf(u, r); ok {
		wf, err := w.wal.openStream(p)
		if err != nil {
			return nil, err
		}
		// Requests a previous owner of the partition left in doubt go
		// again, as logged, before any of it is batched anew.
		if err := w.replayStream(ctx, u, wf); err != nil {
			return nil, err
		}
		return wf, nil
	}
	if u.Lineage == nil {
		return nil, nil
	}
	return w.wal.open(u.Lineage)
}

// writeAhead sets the request's idempotency key and arranges for the
// request's record set to be logged right before it is sent: under a send
// horizon a plain write once the synced horizon covers its records
// (horizon.go); otherwise made durable, the entry announced for it when its
// unit was queued (Prepare), or a new one.
// groups are the number of records of each element of the request (a
// stream's log keeps them with the request, to re-send it).
func (w *writer) writeAhead(u *block.Unit, wf *walFile, req *request, seqs []int64, groups []int, part int) (string, error) {
	key := w.keyFor(u, seqs, part)
	if w.idemHeader != "" {
		req.header[w.idemHeader] = []string{key}
	}
	if wf == nil {
		return key, nil
	}
	if wf.st != nil {
		url := ""
		if part < 0 && groups != nil && w.logsBodies() {
			url = req.url
		}
		req.ahead = func() error { return wf.recordStream(key, seqs, groups, url, req.body) }
		return key, nil
	}
	if wf.hz != nil {
		// The entry is written right before the request leaves, once the
		// send horizon covers its records (horizon.go).
		recs := len(seqs)
		if u.Batch != nil {
			recs = max(recs, len(u.Batch.Records))
		}
		req.ahead = func() error { return wf.sendLine(key, seqs, recs) }
		return key, nil
	}
	n, announced := wf.take(key)
	req.ahead = func() error {
		if announced {
			return wf.awaitDurable(n)
		}
		return wf.record(key, seqs)
	}
	return key, nil
}

// keyFor is the idempotency key of a request carrying records seqs (and
// element part of a split record, or -1).
func (w *writer) keyFor(u *block.Unit, seqs []int64, part int) string {
	lineage := keyLineage(u)
	if part < 0 {
		// The key Prepare computed for the same unit, lineage and records
		// (a bulk request of the whole unit): the same value, hashed once.
		if pk := w.prepared.take(u); pk != nil {
			if pk.lineage == lineage && slices.Equal(pk.seqs, seqs) {
				return pk.key
			}
		}
	}
	return idempotencyKey(lineage, w.name, seqs, part)
}

// keyLineage is the lineage part of a unit's idempotency keys.
func keyLineage(u *block.Unit) string {
	lineage := u.Attrs[block.AttrLineageID]
	if u.Lineage != nil {
		lineage = u.Lineage.ID()
	}
	if g, ok := streamGroup(u); ok {
		// A stream record read again after a crash lands in another
		// window: its key follows its position (seqs are positions here).
		lineage = "stream-" + g
	}
	return lineage
}

// preparedKey is the idempotency key Prepare announced for a unit's bulk
// request, and what it was computed from (keyFor uses it only for the same
// lineage and records).
type preparedKey struct {
	lineage string
	seqs    []int64
	key     string
}

// preparedKeys are the prepared keys of queued units.
type preparedKeys struct {
	mu sync.Mutex
	m  map[*block.Unit]*preparedKey
}

func (p *preparedKeys) put(u *block.Unit, k *preparedKey) {
	p.mu.Lock()
	if p.m == nil {
		p.m = map[*block.Unit]*preparedKey{}
	}
	p.m[u] = k
	p.mu.Unlock()
}

// take removes and returns u's prepared key (nil: none).
func (p *preparedKeys) take(u *block.Unit) *preparedKey {
	p.mu.Lock()
	k, ok := p.m[u]
	if ok {
		delete(p.m, u)
	}
	p.mu.Unlock()
	return k
}

// Prepare is called by the engine when a unit is queued for the block,
// before Process gets it (engine/flow.go, preparer): a bulk request's
// record set is logged then, so one round of the log makes every queued
// request durable at once instead of one round per request or two. The
// request, when it is built, awaits that entry (writeAhead). Under a send
// horizon (horizon.go) nothing is logged yet: the unit's highest sequence
// number moves the horizon on ahead of its request. Either way the key is
// computed once. A lineage with records in doubt is not prepared: its
// requests may carry a subset.
func (w *writer) Prepare(u *block.Unit) {
	if w.wal == nil || !w.s.bulk || u.Batch == nil || len(u.Batch.Records) == 0 {
		return
	}
	if _, ok := streamGroup(u); ok || u.Lineage == nil {
		// A stream's requests are logged per partition with their bodies
		// (recordStream), when they are built.
		return
	}
	wf, err := w.wal.open(u.Lineage)
	if err != nil || wf == nil || wf.anyDoubt() {
		return // an error reaches Process, which opens the log again
	}
	// The records a bulk request of the whole unit carries (sendBulk).
	seqs := unitSeqs(u.Batch.Records)
	lineage := keyLineage(u)
	key := idempotencyKey(lineage, w.name, seqs, -1)
	if wf.hz != nil {
		// Under a send horizon the entry is written when the request
		// leaves; the unit's records may move the horizon on now.
		wf.intend(seqs)
	} else {
		wf.announce(key, seqs)
	}
	w.prepared.put(u, &preparedKey{lineage: lineage, seqs: seqs, key: key})
}

// logAnswer records the outcomes a request got (elements' records elems[i]
// got outs[i]; all is elems concatenated); a failure to log only costs
// lookups after a crash.
func (w *writer) logAnswer(wf *walFile, key string, all []int64, elems [][]int64, outs []block.Outcome) {
	if wf == nil || key == "" {
		return
	}
	ans := make([]walOutcome, 0, len(all))
	for i, ss := range elems {
		o := outs[i]
		for range ss {
			ans = append(ans, walOutcome{Status: o.Status, Code: o.Code, Message: o.Message, EntityID: o.EntityID})
		}
	}
	if err := wf.answer(key, all, ans); err != nil {
		w.log.Warn("write-ahead log: answer not logged; a crash now costs lookups", "err", err)
	}
}

// recordSeqs are what the write-ahead log knows a record and its merged
// members by (walID: sequence numbers, or a stream record's position).
func recordSeqs(r *block.Record) []int64 {
	s := make([]int64, 0, 1+len(r.Members))
	s = append(s, walID(r))
	for j := range r.Members {
		s = append(s, walID(&r.Members[j]))
	}
	return s
}

// unitSeqs are the records of a whole unit, members included, in order.
func unitSeqs(recs []block.Record) []int64 {
	n := len(recs)
	for i := range recs {
		n += len(recs[i].Members)
	}
	s := make([]int64, 0, n)
	for i := range recs {
		s = append(s, walID(&recs[i]))
		for j := range recs[i].Members {
			s = append(s, walID(&recs[i].Members[j]))
		}
	}
	return s
}

// bulkElementSeqs maps bulk request elements to the records they carry, or
// returns nil when the mapping is unknown. The elements' slices share one
// array (the unit's seqs in order), so a batch costs two allocations, not
// one per record.
func bulkElementSeqs(recs []block.Record, arr []any) [][]int64 {
	all := unitSeqs(recs)
	if arr == nil {
		out := make([][]int64, len(recs))
		at := 0
		for i := range recs {
			n := 1 + len(recs[i].Members)
			out[i] = all[at : at+n : at+n]
			at += n
		}
		return out
	}
	r := &recs[0]
	if len(r.Members)+1 != len(arr) {
		return nil
	}
	out := make([][]int64, len(arr))
	for j := range out {
		out[j] = all[j : j+1 : j+1]
	}
	return out
}

// lookupParallel bounds the lookups of one batch in flight at once: they
// are small GETs, and sequential ones made a resume cost a round trip per
// in-doubt record. The destination's rate limit still applies.
const lookupParallel = 16

// resolveInDoubt looks up every in-doubt element of only that the
// endpoint's rule can look up; found ones are settled as delivered. doubt marks every
// in-doubt element (resolved or not).
func (w *writer) resolveInDoubt(ctx context.Context, u *block.Unit, wf *walFile, elemSeqs [][]int64, only []int, value func(int) any) (map[int]block.Outcome, map[int]bool, error) {
	var doubt map[int]bool
	var pending []int
	var resolved map[int]block.Outcome
	for _, i := range only {
		seqs := elemSeqs[i]
		// Answered before the crash: the logged outcome stands.
		if o, ok := wf.logged(seqs[0]); ok {
			if resolved == nil {
				resolved = map[int]block.Outcome{}
			}
			if doubt == nil {
				doubt = map[int]bool{}
			}
			resolved[i] = block.Outcome{Status: o.Status, Code: o.Code, Message: o.Message, EntityID: o.EntityID}
			doubt[i] = true
			continue
		}
		in := false
		for _, s := range seqs {
			if _, ok := wf.doubt(s); ok {
				in = true
				break
			}
		}
		if !in {
			continue
		}
		if doubt == nil {
			doubt = map[int]bool{}
		}
		doubt[i] = true
		if w.rule != nil && w.rule.query != nil {
			pending = append(pending, i)
		}
	}
	if len(pending) == 0 {
		return resolved, doubt, nil
	}
	// Values are read before the workers start: Batch.Value may decode and
	// cache, which is not safe from several goroutines.
	vals := make([]any, len(pending))
	for j, i := range pending {
		vals[j] = value(i)
	}
	type found struct {
		id string
		ok bool
	}
	res := make([]found, len(pending))
	var next atomic.Int64
	var wg sync.WaitGroup
	var errOnce sync.Once
	var firstErr error
	for range min(lookupParallel, len(pending)) {
		wg.Go(func() {
			for {
				j := int(next.Add(1) - 1)
				if j >= len(pending) {
					return
				}
				i := pending[j]
				w.lookups.Add(1)
				id, ok, err := w.lookup(ctx, u, w.rule, vals[j], w.requestID(u, elemSeqs[i][0], i, -1))
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				res[j] = found{id, ok}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, nil, firstErr
	}
	for j, i := range pending {
		if !res[j].ok {
			continue
		}
		if resolved == nil {
			resolved = map[int]block.Outcome{}
		}
		resolved[i] = block.Outcome{Status: block.Delivered, Code: http.StatusOK, EntityID: res[j].id, Message: MsgConfirmedByLookup}
	}
	return resolved, doubt, nil
}

// duplicateInDoubt turns a documented duplicate answer to a record that was
// in doubt into "delivered before the crash": the destination already holds
// it, from the request the crash interrupted.
func (w *writer) duplicateInDoubt(o *block.Outcome) {
	if o.Status != block.Failed || w.rule == nil || !w.rule.isDuplicate(o.Code) {
		return
	}
	// The row reads as the delivery it is (status 200) and names the
	// destination's code in its reason: a 604 in status_code would make a
	// result file, and a failure-only result file's filter, call it failed.
	o.Status = block.Delivered
	o.Message = MsgDuplicateInDoubt + " (" + strconv.Itoa(o.Code) + ")"
	o.Code = http.StatusOK
	o.RetryExhausted = false
}

// EndLineage removes the lineage's write-ahead log: once it ended nothing
// can be in doubt.
func (w *writer) EndLineage(_ context.Context, lineageID string, _ bool) error {
	if w.wal == nil {
		return nil
	}
	if err := w.wal.end(lineageID); err != nil {
		return fmt.Errorf("%s: write-ahead log: %w", w.name, err)
	}
	return nil
}
