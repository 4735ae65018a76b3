package preview

import (
	"sync"
	"time"
)

// PerMinute is how many previews one user may run a minute, through the
// REST API and MCP together.
const PerMinute = 10

// Limiter allows n calls per key per minute (a sliding window). It is safe
// for concurrent use.
type Limiter struct {
	mu    sync.Mutex
	n     int
	now   func() time.Time
	calls map[string][]time.Time
}

// NewLimiter returns a limiter of n calls per key per minute; now is the
// clock (nil: time.Now).
func NewLimiter(n int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{n: n, now: now, calls: map[string][]time.Time{}}
}

// Allow records a call by key, or returns how long until one is allowed.
func (l *Limiter) Allow(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	keep := l.calls[key][:0]
	for _, t := range l.calls[key] {
		if now.Sub(t) < time.Minute {
			keep = append(keep, t)
		}
	}
	if len(keep) >= l.n {
		l.calls[key] = keep
		return time.Minute - now.Sub(keep[0])
	}
	l.calls[key] = append(keep, now)
	// Forget idle keys so the map stays small.
	if len(l.calls) > 10000 {
		for k, ts := range l.calls {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= time.Minute {
				delete(l.calls, k)
			}
		}
	}
	return 0
}
