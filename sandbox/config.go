// Package sandbox is a local stand-in for the Capillary v2 APIs that Connect+
// templates call. It follows the documented request and response shapes closely
// enough that a dataflow can run end to end against it, stores what it accepts
// so reconciliation can query it later, and can inject the failures (429, 5xx,
// hangs, latency) that the http_write retry logic must survive.
//
// A Server is an http.Handler with no global state: tests create as many as
// they like, in-process, with New or NewTestServer.
package sandbox

import (
	"errors"
	"fmt"
	"time"
)

// Default credentials accepted when Config leaves them empty. Tests and the
// CLI print them so nobody has to invent secrets for a local sandbox.
const (
	DefaultClientKey    = "sandbox-key"
	DefaultClientSecret = "sandbox-secret"
	DefaultTokenTTL     = time.Hour
	DefaultMaxBodyBytes = 10 << 20
	DefaultMaxBatchSize = 1000
)

// Config configures a Server. The zero value is usable: default credentials,
// one-hour tokens, 10 MB bodies, entities stored in memory, no faults.
type Config struct {
	// ClientKey and ClientSecret are the only credentials the token endpoint
	// (and Basic auth) accept.
	ClientKey    string
	ClientSecret string
	// TokenTTL is the lifetime of generated access tokens; Capillary lets an
	// admin set it per client, 60 minutes by default.
	TokenTTL time.Duration
	// DisableAuth accepts every API request without a token; for quick curl
	// experiments only, since it hides token-refresh bugs.
	DisableAuth bool
	// DisableBasicAuth rejects "Authorization: Basic key:secret", which the
	// real API accepts next to OAuth; Connect+ itself only uses OAuth.
	DisableBasicAuth bool
	// MaxBodyBytes bounds the memory one request can take; larger bodies get 413.
	MaxBodyBytes int64
	// MaxBatchSize is the largest bulk array accepted; larger batches are
	// rejected whole with code 1060 "Batch limit exceeded".
	MaxBatchSize int
	// CountOnly keeps counters and duplicate detection but not entity bodies,
	// so benchmarks can push millions of records with bounded memory.
	CountOnly bool
	// StrictCustomers makes transaction, coupon, goodwill and barcode calls
	// fail with 8015 CUSTOMER_NOT_FOUND unless the customer was added first,
	// as the real API does. Off by default so a transaction-only dataflow
	// works without seeding customers.
	StrictCustomers bool
	// Faults are injected before a request is applied.
	Faults FaultConfig
	// RateLimit is an optional server-side limit answered with 429.
	RateLimit RateLimitConfig
	// Now is the clock for token expiry; tests move it forward instead of sleeping.
	Now func() time.Time
	// FeedSize is how many records the paginated feed (/x/feed/{style})
	// starts with; 0 means DefaultFeedSize.
	FeedSize int
}

// RateLimitConfig is a token bucket over all API requests.
type RateLimitConfig struct {
	// RequestsPerSecond of zero or less disables the limit.
	RequestsPerSecond float64 `json:"requestsPerSecond"`
	// Burst is the bucket size; at least 1.
	Burst int `json:"burst"`
}

func (c Config) withDefaults() Config {
	if c.ClientKey == "" {
		c.ClientKey = DefaultClientKey
	}
	if c.ClientSecret == "" {
		c.ClientSecret = DefaultClientSecret
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxBatchSize <= 0 {
		c.MaxBatchSize = DefaultMaxBatchSize
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.FeedSize <= 0 {
		c.FeedSize = DefaultFeedSize
	}
	if c.RateLimit.RequestsPerSecond > 0 && c.RateLimit.Burst < 1 {
		c.RateLimit.Burst = 1
	}
	return c
}

// Validate reports configuration mistakes before a server starts serving.
func (c Config) Validate() error {
	var errs []error
	if c.TokenTTL < 0 {
		errs = append(errs, errors.New("token TTL must not be negative"))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("max body bytes must not be negative"))
	}
	if c.RateLimit.RequestsPerSecond < 0 {
		errs = append(errs, fmt.Errorf("rate limit %v must not be negative", c.RateLimit.RequestsPerSecond))
	}
	if err := c.Faults.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
