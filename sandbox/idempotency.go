package sandbox

import (
	"bytes"
	"net/http"
	"sync"
)

// IdempotencyHeader is the request header the sandbox honours on API
// writes: a second request with the same key on the same endpoint gets the
// first one's stored answer replayed — nothing is stored again and the
// records are not counted as received (so not as duplicates); the replay
// counts in Stats.IdempotentReplays. Answers ≥ 500 are not stored (the
// request did nothing; a retry runs it for real).
const IdempotencyHeader = "Idempotency-Key"

// maxIdempotencyKeys bounds the remembered answers; the oldest go first.
const maxIdempotencyKeys = 200000

type idemEntry struct {
	done   chan struct{}
	status int
	ctype  string
	body   []byte
	stored bool
}

type idemCache struct {
	mu      sync.Mutex
	m       map[string]*idemEntry
	order   []string
	replays int64
}

func newIdemCache() *idemCache { return &idemCache{m: map[string]*idemEntry{}} }

// begin returns the entry of key and whether this request owns it (runs
// the handler); otherwise the caller waits on done and replays.
func (c *idemCache) begin(key string) (*idemEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		return e, false
	}
	e := &idemEntry{done: make(chan struct{})}
	c.m[key] = e
	c.order = append(c.order, key)
	if len(c.order) > maxIdempotencyKeys {
		old := c.order[0]
		c.order = c.order[1:]
		if o := c.m[old]; o != nil && o.stored {
			delete(c.m, old)
		}
	}
	return e, true
}

// finish stores the owner's answer, or forgets the key when the answer
// must not be replayed.
func (c *idemCache) finish(key string, e *idemEntry, status int, ctype string, body []byte) {
	c.mu.Lock()
	if status >= 500 || status == 0 || status == http.StatusTooManyRequests {
		delete(c.m, key)
	} else {
		e.status, e.ctype, e.body, e.stored = status, ctype, append([]byte(nil), body...), true
	}
	c.mu.Unlock()
	close(e.done)
}

func (c *idemCache) replayed() {
	c.mu.Lock()
	c.replays++
	c.mu.Unlock()
}

func (c *idemCache) count() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.replays
}

// recordingWriter keeps a copy of the answer for replays.
type recordingWriter struct {
	*statusWriter
	buf bytes.Buffer
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.statusWriter.Write(b)
}

// idempotent runs h at most once per (endpoint, key): later requests with
// the key wait for the first and replay its answer. ok=false means the
// request carried no key and the caller runs h itself.
func (s *Server) idempotent(st *store, sw *statusWriter, r *http.Request, pattern string, h func(w http.ResponseWriter)) bool {
	k := r.Header.Get(IdempotencyHeader)
	if k == "" || r.Method == http.MethodGet {
		return false
	}
	key := pattern + "\x00" + k
	for {
		e, owner := st.idem.begin(key)
		if owner {
			rw := &recordingWriter{statusWriter: sw}
			h(rw)
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			st.idem.finish(key, e, status, sw.Header().Get("Content-Type"), rw.buf.Bytes())
			return true
		}
		select {
		case <-e.done:
		case <-r.Context().Done():
			sw.status = http.StatusServiceUnavailable
			return true
		}
		if !e.stored {
			continue // the first attempt's answer was not kept: run again
		}
		st.idem.replayed()
		if e.ctype != "" {
			sw.Header().Set("Content-Type", e.ctype)
		}
		sw.Header().Set("Idempotent-Replayed", "true")
		sw.WriteHeader(e.status)
		_, _ = sw.Write(e.body)
		return true
	}
}
