// Package redact keeps decrypted secret values out of logs, stored run
// errors and API answers. A Redactor learns every secret value at the moment
// it is decrypted and replaces it — and its URL-escaped, Go-quoted and
// base64 forms — with a marker wherever text leaves the process: a slog
// Handler wraps the server's log handler, and String cleans error text before
// it is stored or returned.
//
// Redaction is by value, not by field: a secret referenced from a field that
// is not itself secret (a hostname, a user name, a directory) ends up inside
// connector error messages, and only its value can recognise it there.
package redact

import (
	"encoding/base64"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Marker replaces every secret value.
const Marker = "[REDACTED]"

// MinLength is the shortest value redacted: shorter ones ("a", "22", "on")
// would blank out unrelated text everywhere while protecting nothing.
const MinLength = 4

// Redactor replaces known secret values. The zero value is not usable; a nil
// *Redactor redacts nothing, so code that may run without one need not check.
// It is safe for concurrent use: Add is rare (a secret is decrypted), String
// is frequent (every log record), so String reads a replacer built by Add
// without taking a lock.
type Redactor struct {
	mu     sync.Mutex
	values map[string]struct{} // every form of every value, for Add
	rep    atomic.Pointer[strings.Replacer]
}

// New returns an empty Redactor.
func New() *Redactor { return &Redactor{values: map[string]struct{}{}} }

// Add registers a secret value (and the forms it takes when it is escaped
// into a URL, quoted by %q or base64-encoded). Values shorter than
// MinLength are ignored.
func (r *Redactor) Add(value string) {
	if r == nil || len(value) < MinLength {
		return
	}
	forms := []string{
		value,
		url.QueryEscape(value),
		url.PathEscape(value),
		strings.Trim(strconv.Quote(value), `"`),
		base64.StdEncoding.EncodeToString([]byte(value)),
		base64.RawStdEncoding.EncodeToString([]byte(value)),
		base64.URLEncoding.EncodeToString([]byte(value)),
		base64.RawURLEncoding.EncodeToString([]byte(value)),
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	added := false
	for _, f := range forms {
		if _, ok := r.values[f]; !ok && len(f) >= MinLength {
			r.values[f] = struct{}{}
			added = true
		}
	}
	if !added {
		return
	}
	all := make([]string, 0, len(r.values))
	for v := range r.values {
		all = append(all, v)
	}
	// Longest first: strings.Replacer tries its pairs in order at each
	// position, so a secret that contains another is replaced whole.
	sort.Slice(all, func(i, j int) bool {
		if len(all[i]) != len(all[j]) {
			return len(all[i]) > len(all[j])
		}
		return all[i] < all[j]
	})
	pairs := make([]string, 0, 2*len(all))
	for _, v := range all {
		pairs = append(pairs, v, Marker)
	}
	r.rep.Store(strings.NewReplacer(pairs...))
}

// String returns s with every known secret value replaced by Marker.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	rep := r.rep.Load()
	if rep == nil || s == "" {
		return s
	}
	return rep.Replace(s)
}

// Empty reports whether no value is registered yet.
func (r *Redactor) Empty() bool { return r == nil || r.rep.Load() == nil }
