package sandbox

import (
	"encoding/json"
	"hash/fnv"
	"maps"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Entity is one accepted record as stored by the sandbox.
type Entity struct {
	ID         int64             `json:"id"`
	Kind       string            `json:"kind"`
	Key        string            `json:"key"`
	Endpoint   string            `json:"endpoint"`
	ReceivedAt time.Time         `json:"receivedAt"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Body       json.RawMessage   `json:"body"`
}

// Entity kinds, as used by GET /_sandbox/entities?kind=...
const (
	KindCustomer    = "customer"
	KindTransaction = "transaction"
	KindCoupon      = "coupon_redemption"
	KindGoodwill    = "goodwill_request"
	KindCard        = "card"
	KindTNC         = "tnc_change"
	KindRequest     = "request"
	KindBarcode     = "barcode"
	KindBadge       = "badge"
	KindBadgeMeta   = "badge_meta"
	KindReward      = "reward"
	KindNeo         = "neo"
)

// keyState tracks one record key: how often it arrived and, once accepted,
// the entity id (0 = never accepted). Only a hash of the key is kept so
// count-only runs over millions of records stay at a few dozen bytes each.
type keyState struct {
	id       int64
	received uint32
}

const maxDuplicateExamples = 100

// store holds everything accepted plus the counters behind /_sandbox/stats.
// One mutex guards it; a bulk request takes it once for the whole batch, so
// lock traffic is per request, not per record.
type store struct {
	countOnly bool
	mu        sync.Mutex
	nextID    int64
	keys      map[uint64]keyState
	idents    map[string]int64 // customer identifier "source|type|value" → id
	entities  map[string][]*Entity
	byID      map[int64]*Entity
	bills     map[string][]int64 // billNumber → transaction ids
	// aux holds lookups that are not record keys (redeemed coupon codes, card
	// numbers), so they do not count as received keys.
	aux map[string]int64

	received, accepted, rejected, duplicates int64
	perKind                                  map[string]int64
	dupExamples                              []string

	// idem remembers answers by idempotency key (idempotency.go).
	idem *idemCache

	reqMu    sync.Mutex
	requests map[string]map[int]int64
	faults   map[string]int64
	tokens   int64
	started  time.Time
}

func newStore(countOnly bool, now time.Time) *store {
	return &store{
		countOnly: countOnly,
		nextID:    100000000,
		keys:      map[uint64]keyState{},
		idents:    map[string]int64{},
		entities:  map[string][]*Entity{},
		byID:      map[int64]*Entity{},
		bills:     map[string][]int64{},
		aux:       map[string]int64{},
		perKind:   map[string]int64{},
		requests:  map[string]map[int]int64{},
		faults:    map[string]int64{},
		started:   now,
		idem:      newIdemCache(),
	}
}

func hashKey(k string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(k))
	return h.Sum64()
}

// The methods below with the "Locked" suffix require st.mu.

// receiveLocked counts one arrival of a record key and returns its state
// before this arrival.
func (st *store) receiveLocked(key string) keyState {
	st.received++
	if key == "" {
		return keyState{}
	}
	h := hashKey(key)
	ks := st.keys[h]
	prev := ks
	ks.received++
	st.keys[h] = ks
	if prev.received > 0 {
		st.duplicates++
		if len(st.dupExamples) < maxDuplicateExamples {
			st.dupExamples = append(st.dupExamples, key)
		}
	}
	return prev
}

func (st *store) lookupKeyLocked(key string) keyState { return st.keys[hashKey(key)] }

// acceptLocked assigns an id and, unless count-only, stores the record.
func (st *store) acceptLocked(kind, key, endpoint string, body []byte, attrs map[string]string, now time.Time) int64 {
	st.nextID++
	id := st.nextID
	st.accepted++
	st.perKind[kind]++
	if key != "" {
		h := hashKey(key)
		ks := st.keys[h]
		ks.id = id
		st.keys[h] = ks
	}
	if st.countOnly {
		return id
	}
	e := &Entity{ID: id, Kind: kind, Key: key, Endpoint: endpoint, ReceivedAt: now, Attributes: attrs, Body: append(json.RawMessage(nil), body...)}
	st.entities[kind] = append(st.entities[kind], e)
	st.byID[id] = e
	if kind == KindTransaction && attrs["billNumber"] != "" {
		st.bills[attrs["billNumber"]] = append(st.bills[attrs["billNumber"]], id)
	}
	return id
}

func (st *store) rejectLocked() { st.rejected++ }

// updateLocked replaces a stored entity's body (card status changes, reward
// updates). Entities handed out by list may be encoded outside the lock, so
// the old value is never mutated: a copy takes its place.
func (st *store) updateLocked(id int64, body []byte, attr, value string) {
	st.accepted++
	old := st.byID[id]
	if old == nil {
		return
	}
	e := *old
	e.Body = append(json.RawMessage(nil), body...)
	e.Attributes = maps.Clone(old.Attributes)
	if attr != "" {
		e.Attributes[attr] = value
	}
	st.byID[id] = &e
	list := st.entities[e.Kind]
	for i := range list {
		if list[i].ID == id {
			list[i] = &e
			break
		}
	}
}

func (st *store) recordRequest(endpoint string, status int) {
	st.reqMu.Lock()
	m := st.requests[endpoint]
	if m == nil {
		m = map[int]int64{}
		st.requests[endpoint] = m
	}
	m[status]++
	st.reqMu.Unlock()
}

func (st *store) recordFault(name string) {
	st.reqMu.Lock()
	st.faults[name]++
	st.reqMu.Unlock()
}

func (st *store) recordToken() {
	st.reqMu.Lock()
	st.tokens++
	st.reqMu.Unlock()
}

// Stats is the body of GET /_sandbox/stats.
type Stats struct {
	StartedAt time.Time `json:"startedAt"`
	// Requests counts answered requests by endpoint ("POST /v2/transactions/bulk")
	// and HTTP status ("200").
	Requests      map[string]map[string]int64 `json:"requests"`
	TotalRequests int64                       `json:"totalRequests"`
	// ReceivedEntities counts records in parsed request bodies (each bulk
	// element counts one), whatever their outcome. Faulted requests are not
	// parsed and count nothing.
	ReceivedEntities int64 `json:"receivedEntities"`
	AcceptedEntities int64 `json:"acceptedEntities"`
	RejectedEntities int64 `json:"rejectedEntities"`
	// UniqueKeys is the number of distinct record keys received; Duplicates
	// counts arrivals of a key already received before (any outcome), which is
	// what "no duplicate delivery" tests assert to be zero.
	UniqueKeys    int64            `json:"uniqueKeys"`
	Duplicates    int64            `json:"duplicates"`
	DuplicateKeys []string         `json:"duplicateKeys,omitempty"`
	Entities      map[string]int64 `json:"entities"`
	// Faults counts injected faults: "429", "500".."521", "timeout", "rate_limited".
	Faults       map[string]int64 `json:"faults"`
	TokensIssued int64            `json:"tokensIssued"`
	// IdempotentReplays counts requests answered from a stored answer
	// because they repeated an Idempotency-Key (idempotency.go).
	IdempotentReplays int64 `json:"idempotentReplays"`
	CountOnly         bool  `json:"countOnly"`
}

func (st *store) snapshot() Stats {
	s := Stats{StartedAt: st.started, Requests: map[string]map[string]int64{}, CountOnly: st.countOnly}
	st.reqMu.Lock()
	for ep, m := range st.requests {
		mm := map[string]int64{}
		for code, n := range m {
			mm[strconv.Itoa(code)] = n
			s.TotalRequests += n
		}
		s.Requests[ep] = mm
	}
	s.Faults = maps.Clone(st.faults)
	s.TokensIssued = st.tokens
	st.reqMu.Unlock()
	s.IdempotentReplays = st.idem.count()

	st.mu.Lock()
	s.ReceivedEntities, s.AcceptedEntities, s.RejectedEntities = st.received, st.accepted, st.rejected
	s.Duplicates = st.duplicates
	s.UniqueKeys = int64(len(st.keys))
	s.DuplicateKeys = append([]string(nil), st.dupExamples...)
	s.Entities = maps.Clone(st.perKind)
	st.mu.Unlock()
	return s
}

// list returns stored entities of a kind (all kinds if empty) in acceptance
// order, filtered by attribute equality.
func (st *store) list(kind string, filter map[string]string, offset, limit int) ([]*Entity, int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	var src []*Entity
	if kind != "" {
		src = st.entities[kind]
	} else {
		for _, es := range st.entities {
			src = append(src, es...)
		}
		sort.Slice(src, func(i, j int) bool { return src[i].ID < src[j].ID })
	}
	var out []*Entity
	total := 0
	for _, e := range src {
		if !matches(e, filter) {
			continue
		}
		if total >= offset && len(out) < limit {
			out = append(out, e)
		}
		total++
	}
	return out, total
}

func matches(e *Entity, filter map[string]string) bool {
	for k, v := range filter {
		switch k {
		case "key":
			if e.Key != v {
				return false
			}
		case "id":
			if strconv.FormatInt(e.ID, 10) != v {
				return false
			}
		default:
			if e.Attributes[k] != v {
				return false
			}
		}
	}
	return true
}

func (st *store) get(id int64) *Entity {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.byID[id]
}

func (st *store) customerByIdentifier(source, typ, value string) *Entity {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.byID[st.idents[identKey(source, typ, value)]]
}

func (st *store) transactionsByBill(bill string) []*Entity {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []*Entity
	for _, id := range st.bills[bill] {
		out = append(out, st.byID[id])
	}
	return out
}

func identKey(source, typ, value string) string { return source + "|" + typ + "|" + value }
