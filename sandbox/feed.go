package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The feed is a read API that paginates, for the pull-from-API source
// (http_read, Gen-1 "Invoke-Neo-Iteratively"): a deterministic list of
// customer-feedback records served in the four pagination styles real APIs
// use, with an updatedSince filter for incremental pulls. Faults apply to
// it like to every API path (an endpoint rule for /x/feed/page, …).

// DefaultFeedSize is how many records the feed holds unless Config.FeedSize says otherwise.
const DefaultFeedSize = 120

// feedEpoch is the updatedAt of record 0; record i was updated i minutes later.
var feedEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// FeedPage is one page the feed served (for tests and GET /_sandbox/feed).
type FeedPage struct {
	Style string `json:"style"`
	// From and To are the 1-based ids of the first and last record served
	// (0 and 0 for an empty page).
	From  int64 `json:"from"`
	To    int64 `json:"to"`
	Count int   `json:"count"`
}

type feed struct {
	mu     sync.Mutex
	size   int64
	served []FeedPage
}

// FeedItem is one record of the feed, its fields in this order.
type FeedItem struct {
	ID        int64  `json:"id"`
	Customer  string `json:"customer"`
	Rating    int64  `json:"rating"`
	Comment   string `json:"comment"`
	UpdatedAt string `json:"updatedAt"`
}

// FeedRecord returns record id (1-based) of the feed.
func FeedRecord(id int64) FeedItem {
	return FeedItem{ID: id, Customer: "cust-" + strconv.FormatInt(id, 10), Rating: 1 + (id*7)%5,
		Comment: "feedback " + strconv.FormatInt(id, 10), UpdatedAt: FeedUpdatedAt(id).Format(time.RFC3339)}
}

// FeedUpdatedAt is the updatedAt of record id.
func FeedUpdatedAt(id int64) time.Time { return feedEpoch.Add(time.Duration(id) * time.Minute) }

// AddFeed appends n records to the feed (new data for an incremental pull)
// and returns the new size.
func (s *Server) AddFeed(n int64) int64 {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	s.feed.size += n
	return s.feed.size
}

// FeedServed returns the pages served so far, in order.
func (s *Server) FeedServed() []FeedPage {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	return append([]FeedPage(nil), s.feed.served...)
}

func (s *Server) resetFeed() {
	s.feed.mu.Lock()
	s.feed.size = int64(s.cfg.FeedSize)
	s.feed.served = nil
	s.feed.mu.Unlock()
}

func (s *Server) feedRoutes() {
	for _, m := range []string{"GET", "POST"} {
		s.handle(m+" /x/feed/{style}", routeAPI, s.handleFeed)
	}
	s.handle("GET /_sandbox/feed", routeAdmin, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		s.feed.mu.Lock()
		defer s.feed.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"size": s.feed.size, "served": append([]FeedPage{}, s.feed.served...)})
	})
	s.handle("POST /_sandbox/feed", routeAdmin, func(w http.ResponseWriter, r *http.Request, body []byte) {
		var req struct {
			Add *int64 `json:"add"`
		}
		if err := json.Unmarshal(body, &req); err != nil || req.Add == nil || *req.Add < 0 {
			writeJSON(w, http.StatusBadRequest, errorsBody(invalid(`expected {"add": n} with n >= 0`)))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"size": s.AddFeed(*req.Add)})
	})
}

// feedParams merges the query string with a POST body's top-level scalars
// (an API that takes its paging in the body).
func feedParams(r *http.Request, body []byte) (url.Values, error) {
	q := r.URL.Query()
	if r.Method != http.MethodPost || len(strings.TrimSpace(string(body))) == 0 {
		return q, nil
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("body: %v", err)
	}
	for k, v := range m {
		switch x := v.(type) {
		case string:
			q.Set(k, x)
		case float64:
			q.Set(k, strconv.FormatFloat(x, 'f', -1, 64))
		case bool:
			q.Set(k, strconv.FormatBool(x))
		}
	}
	return q, nil
}

// parseSince reads updatedSince as RFC 3339 or epoch milliseconds.
func parseSince(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("updatedSince %q is neither RFC 3339 nor epoch milliseconds", v)
	}
	return t, nil
}

func intParam(q url.Values, key string, def, lo, hi int64) (int64, error) {
	v := q.Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be an integer in [%d, %d], got %q", key, lo, hi, v)
	}
	return n, nil
}

func (s *Server) handleFeed(w http.ResponseWriter, r *http.Request, body []byte) {
	style := r.PathValue("style")
	bad := func(err error) { writeJSON(w, http.StatusBadRequest, errorsBody(invalid("%v", err))) }
	q, err := feedParams(r, body)
	if err != nil {
		bad(err)
		return
	}
	since, err := parseSince(q.Get("updatedSince"))
	if err != nil {
		bad(err)
		return
	}
	s.feed.mu.Lock()
	size := s.feed.size
	s.feed.mu.Unlock()
	// Records newer than since: ids first..size, in id (= updatedAt) order.
	first := int64(1)
	if !since.IsZero() {
		// Record i was updated at epoch + i minutes: the first one strictly
		// after since.
		first = max(int64(since.Sub(feedEpoch)/time.Minute)+1, 1)
	}
	total := max(size-first+1, 0)
	slice := func(offset, limit int64) []any {
		out := []any{}
		for i := first + offset; i < first+offset+limit && i <= size; i++ {
			out = append(out, FeedRecord(i))
		}
		return out
	}
	var offset, limit int64
	switch style {
	case "page", "link":
		page, err := intParam(q, "page", 1, 1, 1<<31)
		if err != nil {
			bad(err)
			return
		}
		if limit, err = intParam(q, "size", 50, 1, 1000); err != nil {
			bad(err)
			return
		}
		offset = (page - 1) * limit
		data := slice(offset, limit)
		totalPages := (total + limit - 1) / limit
		s.served(style, first+offset, len(data))
		if style == "link" {
			if page < totalPages {
				next := *r.URL
				nq := next.Query()
				nq.Set("page", strconv.FormatInt(page+1, 10))
				nq.Set("size", strconv.FormatInt(limit, 10))
				next.RawQuery = nq.Encode()
				w.Header().Set("Link", "<"+next.RequestURI()+`>; rel="next"`)
			}
			writeJSON(w, http.StatusOK, data)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": data, "page": page, "size": limit,
			"totalPages": totalPages, "totalElements": total, "hasMore": page < totalPages})
	case "offset":
		if offset, err = intParam(q, "offset", 0, 0, 1<<40); err != nil {
			bad(err)
			return
		}
		if limit, err = intParam(q, "limit", 50, 1, 1000); err != nil {
			bad(err)
			return
		}
		data := slice(offset, limit)
		s.served(style, first+offset, len(data))
		writeJSON(w, http.StatusOK, map[string]any{"pagination": map[string]any{"offset": offset, "limit": limit, "total": total}, "data": data})
	case "cursor":
		if c := q.Get("cursor"); c != "" {
			raw, err := base64.RawURLEncoding.DecodeString(c)
			n, perr := strconv.ParseInt(strings.TrimPrefix(string(raw), "after:"), 10, 64)
			if err != nil || perr != nil || !strings.HasPrefix(string(raw), "after:") || n < 0 {
				bad(fmt.Errorf("cursor %q is not one this API issued", c))
				return
			}
			offset = n
		}
		if limit, err = intParam(q, "limit", 50, 1, 1000); err != nil {
			bad(err)
			return
		}
		data := slice(offset, limit)
		s.served(style, first+offset, len(data))
		var next any
		if offset+limit < total {
			next = base64.RawURLEncoding.EncodeToString([]byte("after:" + strconv.FormatInt(offset+limit, 10)))
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": map[string]any{"nextCursor": next, "total": total}})
	default:
		writeJSON(w, http.StatusNotFound, errorsBody(apiError{Code: 404, Message: "feed style " + style + " unknown: page, offset, cursor or link"}))
	}
}

func (s *Server) served(style string, from int64, n int) {
	p := FeedPage{Style: style, Count: n}
	if n > 0 {
		p.From, p.To = from, from+int64(n)-1
	}
	s.feed.mu.Lock()
	s.feed.served = append(s.feed.served, p)
	s.feed.mu.Unlock()
}
