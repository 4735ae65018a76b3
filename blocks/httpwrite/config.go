package httpwrite

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
	"github.com/connectplus/connectplus/lang/jsonpath"
)

type authMode uint8

const (
	authNone authMode = iota
	authOAuth
	authBasic
	authBearer
)

// maxRetryAfter bounds how long a Retry-After header can park the
// destination: a misbehaving server must not stall a run for hours.
const maxRetryAfter = 10 * time.Minute

// codeSet is a set of HTTP status codes (0–1023) without a map lookup on
// every attempt.
type codeSet [16]uint64

func (s *codeSet) add(c int) {
	if c >= 0 && c < 1024 {
		s[c>>6] |= 1 << (c & 63)
	}
}

func (s *codeSet) remove(c int) {
	if c >= 0 && c < 1024 {
		s[c>>6] &^= 1 << (c & 63)
	}
}

func (s *codeSet) has(c int) bool { return c >= 0 && c < 1024 && s[c>>6]&(1<<(c&63)) != 0 }

func parseCodes(key string, list []string) (codeSet, error) {
	var s codeSet
	for _, p := range list {
		c, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || c < 100 || c > 999 {
			return s, fmt.Errorf("%s: %q is not an HTTP status code", key, p)
		}
		s.add(c)
	}
	return s, nil
}

// pathEntry is one parsePathMap entry.
type pathEntry struct {
	name string
	path *jsonpath.Path
}

// settings is a block's parsed configuration, common to the three types.
type settings struct {
	typ    string
	method string
	// endpoint is the URL template: for http_write and arya_call the API
	// endpoint joined to the base URL, for webhook_write the full URL.
	endpoint      *urlTemplate
	tokenURL      string
	auth          authMode
	key           string
	secret        string
	bearer        string
	bulk          bool
	parse         bool
	sendBody      bool
	reqSplit      *jsonpath.Path
	splitRoot     bool // requestSplitPath is $ or a root wildcard
	splitWildcard bool // ... a root wildcard, which splits records that are arrays
	respSplit     *jsonpath.Path
	codePath      *jsonpath.Path
	msgPath       *jsonpath.Path
	idPath        *jsonpath.Path
	extra         []pathEntry

	recoverable codeSet
	yielding    codeSet
	maxRetries  int
	yieldRetry  int
	backoff     time.Duration
	maxBackoff  time.Duration
	perSecond   float64 // 0: no rate limit

	concurrency     int
	connectTimeout  time.Duration
	responseTimeout time.Duration

	headers     []headerTemplate
	attrsToSend *regexp.Regexp // webhook_write: unit attributes sent as headers
	sandbox     string         // webhook_write: scheme://host replaced by this
}

func checkAuth(c *block.Config) []block.Problem {
	mode := c.String("authType")
	var probs []block.Problem
	has := func(k string) bool {
		_, ref := c.Ref(k)
		return c.Has(k) || ref
	}
	switch mode {
	case "oauth", "basic":
		for _, k := range []string{"clientKey", "clientSecret"} {
			if _, ok := c.Spec().Field(k); ok && !has(k) && c.Spec().Type == "http_write" {
				probs = append(probs, block.Problem{Path: k, Message: fmt.Sprintf("%s is required when authType is %s", k, mode)})
			}
		}
	case "bearer":
		if !has("bearerToken") {
			probs = append(probs, block.Problem{Path: "bearerToken", Message: "bearerToken is required when authType is bearer"})
		}
	}
	return probs
}

func checkHTTPWrite(c *block.Config) []block.Problem {
	probs := checkAuth(c)
	return append(probs, checkPaths(c)...)
}

func checkPaths(c *block.Config) []block.Problem {
	var probs []block.Problem
	for _, k := range []string{"requestSplitPath", "responseSplitPath"} {
		if _, err := jsonpath.CompileMulti(c.String(k)); err != nil {
			probs = append(probs, block.Problem{Path: k, Message: err.Error()})
		}
	}
	if _, err := parsePathMap(c.String("parsePathMap")); err != nil {
		probs = append(probs, block.Problem{Path: "parsePathMap", Message: err.Error()})
	}
	if err := checkHeadersJSON(c.String("additionalHeaders")); err != nil {
		probs = append(probs, block.Problem{Path: "additionalHeaders", Message: err.Error()})
	}
	return probs
}

// parsePathMap reads the JSON object in key order (extra columns keep the
// order the user wrote).
func parsePathMap(src string) ([]pathEntry, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	v, err := jsonv.ParseString(src)
	if err != nil {
		return nil, fmt.Errorf("parsePathMap is not valid JSON: %w", err)
	}
	o, ok := v.(*jsonv.Object)
	if !ok {
		return nil, errors.New("parsePathMap must be a JSON object of name → JSONPath")
	}
	out := make([]pathEntry, 0, o.Len())
	for _, m := range o.Members {
		s, ok := m.Value.(string)
		if !ok || strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("parsePathMap %q: the value must be a JSONPath string", m.Key)
		}
		p, err := jsonpath.CompileMulti(s)
		if err != nil {
			return nil, fmt.Errorf("parsePathMap %q: %w", m.Key, err)
		}
		out = append(out, pathEntry{name: m.Key, path: p})
	}
	return out, nil
}

// rootSelf reports whether a request split path selects the record itself:
// $ does, and so does a root wildcard over a record (see the package doc).
func rootSelf(src string) (root, wildcard bool) {
	s := strings.ReplaceAll(strings.TrimSpace(src), " ", "")
	switch s {
	case "$":
		return true, false
	case "$.*", "$[*]", "$.[*]":
		return true, true
	}
	return false, false
}

// perSecond converts rate per period timeUnit.
func perSecond(rate, period int, unit string) float64 {
	if rate <= 0 || period <= 0 {
		return 0
	}
	secs := float64(period)
	switch strings.ToUpper(unit) {
	case "MINUTES":
		secs *= 60
	case "HOURS":
		secs *= 3600
	}
	return float64(rate) / secs
}

// parseDuration reads "30s", "1m30s", "30" (seconds) and the Connect+
// spellings "30 secs", "5 mins", "2 hours", "500 millis".
func parseDuration(key, v string, def time.Duration) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "null" {
		return def, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d <= 0 {
			return 0, fmt.Errorf("%s must be positive, got %q", key, v)
		}
		return d, nil
	}
	num, unit, _ := strings.Cut(v, " ")
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s: %q is not a duration (e.g. 30s or 30 secs)", key, v)
	}
	mult := time.Second
	switch strings.ToLower(strings.TrimSpace(unit)) {
	case "", "s", "sec", "secs", "second", "seconds":
	case "ms", "milli", "millis", "millisecond", "milliseconds":
		mult = time.Millisecond
	case "m", "min", "mins", "minute", "minutes":
		mult = time.Minute
	case "h", "hr", "hrs", "hour", "hours":
		mult = time.Hour
	default:
		return 0, fmt.Errorf("%s: unknown unit in %q", key, v)
	}
	return time.Duration(f * float64(mult)), nil
}

// resolvePlaceholders fills {intouch_url} and {host} from deployment options
// (the org's cluster host), so template defaults run unchanged where the
// deployment knows them.
func resolvePlaceholders(v string, env *block.Env) string {
	if env == nil || !strings.Contains(v, "{") {
		return v
	}
	for _, k := range []string{"intouch_url", "host"} {
		if r, ok := env.Options[k]; ok && r != "" {
			v = strings.ReplaceAll(v, "{"+k+"}", r)
		}
	}
	return v
}

func checkBaseURL(key, v string) error {
	if strings.Contains(v, "{") {
		return fmt.Errorf("%s %q still holds a placeholder: set it to the cluster's API host (e.g. https://eu.api.capillarytech.com) or run with --sandbox", key, v)
	}
	if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
		return fmt.Errorf("%s %q must start with http:// or https://", key, v)
	}
	return nil
}

// tokenURLFor appends Capillary's token path unless the URL already names one.
func tokenURLFor(base string) string {
	b := strings.TrimRight(base, "/")
	if strings.HasSuffix(b, "/token/generate") || strings.HasSuffix(b, "/oauth/token") {
		return b
	}
	return b + "/v3/oauth/token/generate"
}

// common reads the fields http_write and arya_call share.
func (s *settings) common(c *block.Config) error {
	var errs []error
	s.method = c.String("apiMethod")
	s.sendBody = s.method != "GET"
	s.parse = c.Bool("parseResponse")
	s.bulk = c.Bool("bulkSupport")
	var err error
	if s.reqSplit, err = jsonpath.CompileMulti(c.String("requestSplitPath")); err != nil {
		errs = append(errs, fmt.Errorf("requestSplitPath: %w", err))
	}
	s.splitRoot, s.splitWildcard = rootSelf(c.String("requestSplitPath"))
	if s.respSplit, err = jsonpath.CompileMulti(c.String("responseSplitPath")); err != nil {
		errs = append(errs, fmt.Errorf("responseSplitPath: %w", err))
	}
	entries, err := parsePathMap(c.String("parsePathMap"))
	if err != nil {
		errs = append(errs, err)
	}
	for _, e := range entries {
		switch e.name {
		case "status_code":
			s.codePath = e.path
		case "error_message":
			s.msgPath = e.path
		case "entity_id":
			s.idPath = e.path
		default:
			s.extra = append(s.extra, e)
		}
	}
	if s.recoverable, err = parseCodes("recoverableErrorCodes", c.List("recoverableErrorCodes")); err != nil {
		errs = append(errs, err)
	}
	if s.yielding, err = parseCodes("yieldingErrorCodes", c.List("yieldingErrorCodes")); err != nil {
		errs = append(errs, err)
	}
	s.maxRetries = c.Int("maxRetries", 3)
	return errors.Join(errs...)
}

// tuning reads the advanced fields every type has.
func (s *settings) tuning(c *block.Config, connectKey, responseKey string) error {
	var errs []error
	var err error
	s.concurrency = max(1, c.Int("concurrency", 4))
	s.yieldRetry = c.Int("yieldRetries", 20)
	if s.backoff, err = parseDuration("retryBackoff", c.String("retryBackoff"), 500*time.Millisecond); err != nil {
		errs = append(errs, err)
	}
	if s.maxBackoff, err = parseDuration("maxRetryBackoff", c.String("maxRetryBackoff"), 30*time.Second); err != nil {
		errs = append(errs, err)
	}
	if s.connectTimeout, err = parseDuration(connectKey, c.String(connectKey), 30*time.Second); err != nil {
		errs = append(errs, err)
	}
	if s.responseTimeout, err = parseDuration(responseKey, c.String(responseKey), 60*time.Second); err != nil {
		errs = append(errs, err)
	}
	if s.maxBackoff < s.backoff {
		s.maxBackoff = s.backoff
	}
	return errors.Join(errs...)
}

// authFrom reads authType and its credentials, with sandbox overrides.
func (s *settings) authFrom(c *block.Config, env *block.Env, mode string) error {
	switch mode {
	case "oauth":
		s.auth = authOAuth
	case "basic":
		s.auth = authBasic
	case "bearer":
		s.auth = authBearer
	default:
		s.auth = authNone
	}
	s.key, s.secret, s.bearer = c.String("clientKey"), c.String("clientSecret"), c.String("bearerToken")
	if env != nil && env.Sandbox != "" {
		if k := env.Options[OptSandboxKey]; k != "" {
			s.key = k
		}
		if v := env.Options[OptSandboxSecret]; v != "" {
			s.secret = v
		}
	}
	switch s.auth {
	case authOAuth, authBasic:
		if s.key == "" || s.secret == "" {
			return fmt.Errorf("authType %s needs clientKey and clientSecret", mode)
		}
	case authBearer:
		if s.bearer == "" {
			return errors.New("authType bearer needs bearerToken")
		}
	}
	return nil
}
