package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Reconciliation support (spec §8): a batched lookup of what the sandbox
// holds, products (the fourth entity type reconciliation compares), and a
// way to lose accepted records on purpose, so a test can stage a faulty
// ingestion and watch reconciliation find exactly what is missing.

// KindProduct is a product SKU (POST /_sandbox/products, GET /v2/product/skus).
const KindProduct = "product"

// maxLookupValues bounds one batched lookup, like the bulk write endpoints.
const maxLookupValues = 10000

func (s *Server) lookupRoutes() {
	s.handle("POST /_sandbox/lookup", routeAdmin, s.handleLookup)
	s.handle("POST /_sandbox/lose", routeAdmin, s.handleLose)
	s.handle("POST /_sandbox/products", routeAdmin, s.handleProductSeed)
	s.handle("GET /v2/product/skus", routeAPI, s.handleProductSkus)
	s.handle("GET /v1.1/customer/get", routeAPI, s.handleV11CustomerGet)
}

// LookupRequest asks, for each value, which stored entities of Kind carry
// it in By: billNumber (transactions, through the bill index), an
// identifier type such as mobile, email or externalId (customers), sku
// (products), or any other attribute (a scan).
type LookupRequest struct {
	Kind   string   `json:"kind"`
	By     string   `json:"by"`
	Values []string `json:"values"`
}

// LookupAnswer holds, per requested value in order, the matching entities.
type LookupAnswer struct {
	Results [][]*Entity `json:"results"`
}

// Lookup answers a LookupRequest in process (what POST /_sandbox/lookup serves).
func (s *Server) Lookup(req LookupRequest) (LookupAnswer, *apiError) {
	if req.Kind == "" || req.By == "" {
		e := invalid("lookup needs kind and by")
		return LookupAnswer{}, &e
	}
	if len(req.Values) > maxLookupValues {
		e := invalid("at most %d values per lookup, got %d", maxLookupValues, len(req.Values))
		return LookupAnswer{}, &e
	}
	if s.cfg.CountOnly {
		e := invalid("the sandbox runs count-only (--store=false): it keeps no entities to look up")
		return LookupAnswer{}, &e
	}
	st := s.st.Load()
	st.mu.Lock()
	defer st.mu.Unlock()
	out := LookupAnswer{Results: make([][]*Entity, len(req.Values))}
	switch {
	case req.Kind == KindTransaction && req.By == "billNumber":
		for i, v := range req.Values {
			for _, id := range st.bills[v] {
				if e := st.byID[id]; e != nil {
					out.Results[i] = append(out.Results[i], e)
				}
			}
		}
	default:
		// One pass over the kind for the whole batch, not one per value.
		want := make(map[string][]int, len(req.Values))
		for i, v := range req.Values {
			want[v] = append(want[v], i)
		}
		for _, e := range st.entities[req.Kind] {
			v := e.Attributes[req.By]
			if v == "" && req.By == "key" {
				v = e.Key
			}
			for _, i := range want[v] {
				out.Results[i] = append(out.Results[i], e)
			}
		}
	}
	for i := range out.Results {
		if out.Results[i] == nil {
			out.Results[i] = []*Entity{}
		}
	}
	return out, nil
}

func (s *Server) handleLookup(w http.ResponseWriter, r *http.Request, body []byte) {
	var req LookupRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, errorsBody(invalid("lookup: %v", err)))
		return
	}
	ans, e := s.Lookup(req)
	if e != nil {
		writeJSON(w, http.StatusBadRequest, errorsBody(*e))
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// LoseRequest names accepted entities the sandbox forgets as if they had
// never arrived: IDs, or every Every-th entity of Kind (in acceptance order,
// starting with the Offset-th, 0-based). A lost record can be sent again
// and is accepted again (its record key is forgotten too).
type LoseRequest struct {
	Kind   string  `json:"kind"`
	IDs    []int64 `json:"ids,omitempty"`
	Every  int     `json:"every,omitempty"`
	Offset int     `json:"offset,omitempty"`
}

// Lose forgets entities (POST /_sandbox/lose) and returns the ids lost.
func (s *Server) Lose(req LoseRequest) ([]int64, *apiError) {
	if s.cfg.CountOnly {
		e := invalid("the sandbox runs count-only: it keeps no entities to lose")
		return nil, &e
	}
	if len(req.IDs) == 0 && req.Every <= 0 {
		e := invalid("lose needs ids or every (> 0)")
		return nil, &e
	}
	st := s.st.Load()
	st.mu.Lock()
	defer st.mu.Unlock()
	drop := map[int64]bool{}
	for _, id := range req.IDs {
		drop[id] = true
	}
	if req.Every > 0 {
		for i, e := range st.entities[req.Kind] {
			if i >= req.Offset && (i-req.Offset)%req.Every == 0 {
				drop[e.ID] = true
			}
		}
	}
	var lost []int64
	for kind, list := range st.entities {
		kept := list[:0:0]
		for _, e := range list {
			if !drop[e.ID] {
				kept = append(kept, e)
				continue
			}
			lost = append(lost, e.ID)
			delete(st.byID, e.ID)
			st.accepted--
			st.perKind[kind]--
			if e.Key != "" {
				delete(st.keys, hashKey(e.Key))
			}
			if b := e.Attributes["billNumber"]; kind == KindTransaction && b != "" {
				ids := st.bills[b][:0:0]
				for _, id := range st.bills[b] {
					if id != e.ID {
						ids = append(ids, id)
					}
				}
				st.bills[b] = ids
			}
			for k, id := range st.idents {
				if id == e.ID {
					delete(st.idents, k)
				}
			}
		}
		st.entities[kind] = kept
	}
	if lost == nil {
		lost = []int64{}
	}
	return lost, nil
}

func (s *Server) handleLose(w http.ResponseWriter, r *http.Request, body []byte) {
	var req LoseRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, errorsBody(invalid("lose: %v", err)))
		return
	}
	lost, e := s.Lose(req)
	if e != nil {
		writeJSON(w, http.StatusBadRequest, errorsBody(*e))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"lost": lost, "count": len(lost)})
}

// productIn is a seeded product SKU: there is no documented product write
// API outside DIY templates, so products are seeded as the catalogue a
// brand already has.
type productIn struct {
	SKU      string          `json:"sku"`
	Name     string          `json:"name"`
	Brand    string          `json:"brand"`
	Category string          `json:"category"`
	Price    json.RawMessage `json:"price,omitempty"`
}

// POST /_sandbox/products [{"sku","name","brand","category","price"}]
func (s *Server) handleProductSeed(w http.ResponseWriter, r *http.Request, body []byte) {
	var in []json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		writeJSON(w, http.StatusBadRequest, errorsBody(invalid("products: a JSON array of {sku,name,brand,category,price}: %v", err)))
		return
	}
	st := s.st.Load()
	st.mu.Lock()
	ids := make([]int64, 0, len(in))
	for i, raw := range in {
		var p productIn
		if err := json.Unmarshal(raw, &p); err != nil || p.SKU == "" {
			st.mu.Unlock()
			writeJSON(w, http.StatusBadRequest, errorsBody(invalid("products[%d]: sku is required", i)))
			return
		}
		key := "product|" + p.SKU
		st.receiveLocked(key)
		ids = append(ids, st.acceptLocked(KindProduct, key, "POST /_sandbox/products", raw, map[string]string{"sku": p.SKU}, s.cfg.Now()))
	}
	st.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ids": ids})
}

// GET /v2/product/skus?skuCodes=A,B&limit=&offset= — Capillary's
// "Get/Search Product SKUs" (batch support: several codes per call),
// answered as {"data":[…],"pagination":{limit,offset,total}}.
func (s *Server) handleProductSkus(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	limit, offset := pageParams(q.Get("limit"), q.Get("offset"), 100, 1000)
	want := map[string]bool{}
	for _, c := range strings.Split(q.Get("skuCodes"), ",") {
		if c = strings.TrimSpace(c); c != "" {
			want[c] = true
		}
	}
	es, _ := s.st.Load().list(KindProduct, nil, 0, int(^uint(0)>>1))
	data := []map[string]any{}
	total := 0
	for _, e := range es {
		if len(want) > 0 && !want[e.Attributes["sku"]] {
			continue
		}
		if total >= offset && len(data) < limit {
			data = append(data, withID(e))
		}
		total++
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "pagination": map[string]any{"limit": limit, "offset": offset, "total": total}, "warnings": []apiError{}})
}
