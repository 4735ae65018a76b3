package httpwrite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxResponseBytes bounds the memory one answer can take.
const maxResponseBytes = 64 << 20

// destination is the machinery shared by every worker (and every concurrent
// Process call) of one block instance: HTTP client, token, rate limiter,
// "not before" gate and the in-flight bound.
type destination struct {
	s       *settings
	client  *http.Client
	tokens  *tokenSource
	limiter *rate.Limiter
	gate    gate
	slots   chan struct{}
	log     *slog.Logger
	// now is wall-clock time for Retry-After and the gate (the token's
	// expiry uses the block's clock, which tests move).
	now func() time.Time
	// fence is Env.Fence (nil outside a cluster).
	fence func(context.Context) error
}

func newDestination(s *settings, log *slog.Logger, clock func() time.Time, fence func(context.Context) error) *destination {
	dialer := &net.Dialer{Timeout: s.connectTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: s.connectTimeout,
		// Keep one idle connection per possible in-flight request, so
		// bursts do not open and close connections (TIME_WAIT churn).
		MaxIdleConns:          max(100, 2*s.concurrency),
		MaxIdleConnsPerHost:   max(8, 2*s.concurrency),
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: s.responseTimeout,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
		WriteBufferSize:       64 << 10,
		ReadBufferSize:        64 << 10,
	}
	d := &destination{
		s: s,
		client: &http.Client{
			Transport: tr,
			// An API destination must not silently turn a POST into a GET
			// on a redirect: a 3xx is reported as the record's outcome.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		slots: make(chan struct{}, s.concurrency),
		log:   log,
		now:   time.Now,
		fence: fence,
	}
	if s.perSecond > 0 {
		// Burst 1: requests are spaced evenly, so the measured rate over any
		// window stays at the configured rate (a larger burst would front-load).
		d.limiter = rate.NewLimiter(rate.Limit(s.perSecond), 1)
	}
	if s.auth == authOAuth {
		d.tokens = &tokenSource{url: s.tokenURL, key: s.key, secret: s.secret, client: d.client, now: clock}
	}
	return d
}

func (d *destination) close() {
	d.client.CloseIdleConnections()
}

// gate is the destination-wide "not before" time set by yielding answers:
// every worker waits on it, so one 429 slows the whole destination rather
// than one worker.
type gate struct {
	mu    sync.Mutex
	until time.Time
}

func (g *gate) push(t time.Time) {
	g.mu.Lock()
	if t.After(g.until) {
		g.until = t
	}
	g.mu.Unlock()
}

func (g *gate) wait(ctx context.Context) error {
	for {
		g.mu.Lock()
		until := g.until
		g.mu.Unlock()
		d := time.Until(until)
		if d <= 0 {
			return nil
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// request is one HTTP request of a unit: method, URL, headers (without
// auth, which is set per attempt) and a body held in a pooled buffer.
type request struct {
	method string
	url    string
	header http.Header
	body   []byte
	id     string
	// lookup marks a resolution lookup (resolve.go): a read that does not
	// take one of the destination's in-flight slots, so resolving a
	// batch's in-doubt records costs one round trip, not one per record.
	// The rate limit and the yield gate still apply.
	lookup bool
	// ahead, when set, runs once right before the first attempt leaves
	// (after the rate limiter and an in-flight slot): the write-ahead log
	// entry, so requests still queued at a crash are not in doubt.
	ahead func() error
}

// result is the final answer to a request after retries.
type result struct {
	status int
	body   *[]byte // pooled; nil when there was no answer
	// err is set when no usable answer came (network error after the last
	// retry, token failure); status then holds the last HTTP status seen, if any.
	err       error
	exhausted bool
	attempts  int
	// header is the final answer's headers (http_read follows its Link).
	header http.Header
}

func (r *result) release() {
	if r.body != nil {
		putBuf(r.body)
		r.body = nil
	}
}

func (r *result) bytes() []byte {
	if r.body == nil {
		return nil
	}
	return *r.body
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 8<<20 {
		return // an outsized buffer would pin memory in the pool
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// send runs req with the retry policy. It returns ctx's error only when the
// run is stopped; every other failure is in the result.
func (d *destination) send(ctx context.Context, req *request) (result, error) {
	s := d.s
	var (
		res       result
		retries   int
		yields    int
		refreshed bool
		lastErr   error
	)
	for {
		if err := d.gate.wait(ctx); err != nil {
			return res, err
		}
		if d.limiter != nil {
			if err := d.limiter.Wait(ctx); err != nil {
				return res, ctxErr(ctx, err)
			}
			// A yield may have closed the gate while this worker waited
			// for its turn: honour it (the token stays spent, as a yielded
			// request counts against the rate anyway).
			if err := d.gate.wait(ctx); err != nil {
				return res, err
			}
		}
		if !req.lookup {
			select {
			case d.slots <- struct{}{}:
			case <-ctx.Done():
				return res, ctx.Err()
			}
		}
		if req.ahead != nil {
			err := req.ahead()
			req.ahead = nil
			if err != nil {
				if !req.lookup {
					<-d.slots
				}
				return res, err
			}
		}
		res.release()
		res.attempts++
		status, body, hdr, tok, err := d.attempt(ctx, req)
		if !req.lookup {
			<-d.slots
		}
		if ctx.Err() != nil {
			if body != nil {
				putBuf(body)
			}
			return res, ctx.Err()
		}
		res.status, res.body, res.err, res.header = status, body, nil, hdr
		if d.log.Enabled(ctx, slog.LevelDebug) {
			d.log.Debug("api request", "request_id", req.id, "method", req.method, "url", redactURL(req.url),
				"attempt", res.attempts, "status", status, "err", err)
		}
		var te *tokenError
		switch {
		case errors.As(err, &te) && te.permanent():
			res.status, res.err = te.status, err
			return res, nil
		case err != nil:
			lastErr = err
			retries++
			if retries > s.maxRetries {
				res.err, res.exhausted = fmt.Errorf("after %d attempts: %w", res.attempts, lastErr), true
				if te != nil {
					res.status = te.status
				}
				return res, nil
			}
			if err := sleep(ctx, d.backoff(retries)); err != nil {
				return res, err
			}
		case status == http.StatusUnauthorized && d.tokens != nil && !refreshed:
			// The token expired or was revoked early: fetch a new one once
			// and resend; a second 401 is the record's outcome.
			refreshed = true
			d.tokens.invalidate(tok)
		case s.yielding.has(status):
			yields++
			if yields > s.yieldRetry {
				res.exhausted = true
				return res, nil
			}
			wait, ok := retryAfter(hdr, d.now())
			if !ok {
				wait = d.backoff(yields)
			}
			d.gate.push(d.now().Add(wait))
		case s.recoverable.has(status):
			retries++
			if retries > s.maxRetries {
				res.exhausted = true
				return res, nil
			}
			wait := d.backoff(retries)
			if ra, ok := retryAfter(hdr, d.now()); ok && ra > wait {
				wait = ra
			}
			if err := sleep(ctx, wait); err != nil {
				return res, err
			}
		default:
			return res, nil
		}
	}
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// backoff is exponential with full jitter: uniform in [0, min(max, base·2^(n-1))],
// so workers that failed together do not retry together.
func (d *destination) backoff(n int) time.Duration {
	ceil := d.s.backoff
	for i := 1; i < n && ceil < d.s.maxBackoff; i++ {
		ceil *= 2
	}
	ceil = min(ceil, d.s.maxBackoff)
	if ceil <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

// retryAfter reads Retry-After as seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		d = time.Duration(secs * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
		if d < 0 {
			d = 0
		}
	} else {
		return 0, false
	}
	return min(d, maxRetryAfter), true
}

// attempt sends req once. It returns the status, the answer body (pooled),
// the answer headers and the token used (for invalidation on 401).
func (d *destination) attempt(ctx context.Context, req *request) (int, *[]byte, http.Header, string, error) {
	s := d.s
	ctx, cancel := context.WithTimeout(ctx, s.connectTimeout+s.responseTimeout)
	defer cancel()
	var body io.Reader
	if req.body != nil {
		// The transport gets its own copy: it may still be writing the body
		// after an early answer, while the pooled buffer is reused. A
		// *bytes.Reader also lets net/http send headers and body in one
		// write (with an unknown reader type it flushes the headers first
		// and copies the body through a fresh 32 KB buffer).
		body = bytes.NewReader(append([]byte(nil), req.body...))
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, req.url, body)
	if err != nil {
		return 0, nil, nil, "", fmt.Errorf("building request: %w", err)
	}
	// Attempts of one request are sequential, so the header map is reused
	// and only the auth header is replaced.
	hr.Header = req.header
	var tok string
	switch s.auth {
	case authOAuth:
		tok, err = d.tokens.token(ctx)
		if err != nil {
			return 0, nil, nil, "", err
		}
		hr.Header[TokenHeader] = []string{tok}
	case authBasic:
		hr.SetBasicAuth(s.key, s.secret)
	case authBearer:
		hr.Header.Set("Authorization", "Bearer "+s.bearer)
	}
	if d.fence != nil {
		// The last moment before the request leaves: a node that was
		// stalled for its lease must not send what another node resumed.
		if err := d.fence(ctx); err != nil {
			return 0, nil, nil, tok, err
		}
	}
	resp, err := d.client.Do(hr)
	if err != nil {
		return 0, nil, nil, tok, err
	}
	defer resp.Body.Close()
	buf := getBuf()
	if resp.ContentLength > 0 && resp.ContentLength <= maxResponseBytes && int(resp.ContentLength) > cap(*buf) {
		*buf = make([]byte, 0, resp.ContentLength)
	}
	b, err := readAll(*buf, resp.Body, maxResponseBytes+1)
	*buf = b
	if err != nil {
		putBuf(buf)
		return resp.StatusCode, nil, resp.Header, tok, fmt.Errorf("reading the answer: %w", err)
	}
	if len(b) > maxResponseBytes {
		putBuf(buf)
		return resp.StatusCode, nil, resp.Header, tok, fmt.Errorf("answer larger than %d bytes", maxResponseBytes)
	}
	return resp.StatusCode, buf, resp.Header, tok, nil
}

// readAll appends r to b, like io.ReadAll(io.LimitReader(r, limit)) but
// into a reused buffer (and without a LimitReader per call): it stops once
// limit bytes were read.
func readAll(b []byte, r io.Reader, limit int) ([]byte, error) {
	start := len(b)
	for {
		left := limit - (len(b) - start)
		if left <= 0 {
			return b, nil
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		room := b[len(b):min(cap(b), len(b)+left)]
		n, err := r.Read(room)
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				return b, nil
			}
			return b, err
		}
	}
}

// redactURL drops the query string from logged URLs: query parameters come
// from data and may carry personal data or keys.
func redactURL(u string) string {
	for i := 0; i < len(u); i++ {
		if u[i] == '?' {
			return u[:i] + "?…"
		}
	}
	return u
}
