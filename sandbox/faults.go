package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Duration is a time.Duration that reads and writes JSON as "250ms" or "2s"
// (a bare number is taken as milliseconds), so fault files stay readable.
type Duration time.Duration

// MarshalJSON writes the Go duration syntax.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON accepts "1.5s" style strings or milliseconds as a number.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return fmt.Errorf("duration must be a string like \"250ms\" or a number of milliseconds")
	}
	*d = Duration(time.Duration(ms * float64(time.Millisecond)))
	return nil
}

// Allowed5xx are the server errors a fault may answer with: the gateway codes
// Connect+ treats as recoverable (502, 503, 504, 520, 521) plus a plain 500.
var Allowed5xx = []int{500, 502, 503, 504, 520, 521}

// maxHang bounds a timeout fault so a forgotten client cannot pin a goroutine.
const maxHang = 5 * time.Minute

// FaultRule describes what can go wrong with one endpoint (or all of them).
// Rates are probabilities in [0,1]; one draw decides between 429, 5xx and
// timeout, so their sum must not exceed 1.
type FaultRule struct {
	Rate429           float64  `json:"rate429,omitempty"`
	RetryAfterSeconds int      `json:"retryAfterSeconds,omitempty"`
	Rate5xx           float64  `json:"rate5xx,omitempty"`
	Codes5xx          []int    `json:"codes5xx,omitempty"`
	TimeoutRate       float64  `json:"timeoutRate,omitempty"`
	TimeoutAfter      Duration `json:"timeoutAfter,omitempty"`
	LatencyMin        Duration `json:"latencyMin,omitempty"`
	LatencyMax        Duration `json:"latencyMax,omitempty"`
}

// IsZero reports whether the rule injects nothing.
func (r FaultRule) IsZero() bool {
	return r.Rate429 == 0 && r.Rate5xx == 0 && r.TimeoutRate == 0 && r.LatencyMin == 0 && r.LatencyMax == 0
}

// Validate checks ranges.
func (r FaultRule) Validate() error {
	var errs []error
	for name, v := range map[string]float64{"rate429": r.Rate429, "rate5xx": r.Rate5xx, "timeoutRate": r.TimeoutRate} {
		if v < 0 || v > 1 {
			errs = append(errs, fmt.Errorf("%s %v is not a probability in [0,1]", name, v))
		}
	}
	if s := r.Rate429 + r.Rate5xx + r.TimeoutRate; s > 1+1e-9 {
		errs = append(errs, fmt.Errorf("rate429+rate5xx+timeoutRate = %v exceeds 1", s))
	}
	for _, c := range r.Codes5xx {
		if !slices.Contains(Allowed5xx, c) {
			errs = append(errs, fmt.Errorf("5xx code %d not one of %v", c, Allowed5xx))
		}
	}
	if r.RetryAfterSeconds < 0 {
		errs = append(errs, errors.New("retryAfterSeconds must not be negative"))
	}
	if r.LatencyMin < 0 || r.LatencyMax < 0 || r.TimeoutAfter < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if r.LatencyMax != 0 && r.LatencyMax < r.LatencyMin {
		errs = append(errs, errors.New("latencyMax is below latencyMin"))
	}
	if time.Duration(r.TimeoutAfter) > maxHang {
		errs = append(errs, fmt.Errorf("timeoutAfter is capped at %v", maxHang))
	}
	return errors.Join(errs...)
}

// FaultConfig is the whole fault setup: a global rule plus per-endpoint rules
// keyed by path (for example "/v2/transactions/bulk"). An endpoint rule
// replaces the global rule for that path rather than adding to it, so a test
// can make one endpoint flaky and leave the others clean. The token endpoint
// only gets faults from its own per-path rule.
type FaultConfig struct {
	Seed      uint64               `json:"seed"`
	Global    FaultRule            `json:"global"`
	Endpoints map[string]FaultRule `json:"endpoints,omitempty"`
}

// Validate checks every rule.
func (f FaultConfig) Validate() error {
	var errs []error
	if err := f.Global.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("global: %w", err))
	}
	for k, r := range f.Endpoints {
		if !strings.HasPrefix(k, "/") {
			errs = append(errs, fmt.Errorf("endpoint %q: must be a path starting with /", k))
		}
		if err := r.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("endpoint %s: %w", k, err))
		}
	}
	return errors.Join(errs...)
}

// ParseFaults reads one fault setting as given on the command line and merges
// it into cfg. The value is one of:
//   - a JSON FaultConfig object ("{...}"), replacing cfg;
//   - "@file.json", a JSON FaultConfig read from a file, replacing cfg;
//   - "seed=N";
//   - a compact rule "[PATH:]key=value,key=value" with keys 429, 5xx, codes
//     (502|503), retry-after (seconds), timeout (rate), timeout-after
//     (duration) and latency ("50ms" fixed or "10ms-200ms" uniform). Without
//     PATH the rule is the global one.
func ParseFaults(cfg FaultConfig, value string) (FaultConfig, error) {
	value = strings.TrimSpace(value)
	switch {
	case value == "":
		return cfg, nil
	case strings.HasPrefix(value, "{"):
		var out FaultConfig
		if err := json.Unmarshal([]byte(value), &out); err != nil {
			return cfg, fmt.Errorf("fault JSON: %w", err)
		}
		return out, out.Validate()
	case strings.HasPrefix(value, "@"):
		b, err := os.ReadFile(value[1:])
		if err != nil {
			return cfg, err
		}
		var out FaultConfig
		if err := json.Unmarshal(b, &out); err != nil {
			return cfg, fmt.Errorf("fault file %s: %w", value[1:], err)
		}
		return out, out.Validate()
	case strings.HasPrefix(value, "seed="):
		n, err := strconv.ParseUint(strings.TrimPrefix(value, "seed="), 10, 64)
		if err != nil {
			return cfg, fmt.Errorf("fault seed: %w", err)
		}
		cfg.Seed = n
		return cfg, nil
	}
	path := ""
	if strings.HasPrefix(value, "/") {
		i := strings.IndexByte(value, ':')
		if i < 0 {
			return cfg, fmt.Errorf("fault %q: expected PATH:key=value", value)
		}
		path, value = value[:i], value[i+1:]
	}
	var r FaultRule
	for part := range strings.SplitSeq(value, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return cfg, fmt.Errorf("fault %q: expected key=value", part)
		}
		var err error
		switch k {
		case "429":
			r.Rate429, err = strconv.ParseFloat(v, 64)
		case "5xx":
			r.Rate5xx, err = strconv.ParseFloat(v, 64)
		case "timeout":
			r.TimeoutRate, err = strconv.ParseFloat(v, 64)
		case "retry-after":
			r.RetryAfterSeconds, err = strconv.Atoi(v)
		case "codes":
			for c := range strings.SplitSeq(v, "|") {
				n, cerr := strconv.Atoi(c)
				if cerr != nil {
					err = cerr
					break
				}
				r.Codes5xx = append(r.Codes5xx, n)
			}
		case "timeout-after":
			var d time.Duration
			d, err = time.ParseDuration(v)
			r.TimeoutAfter = Duration(d)
		case "latency":
			lo, hi, ranged := strings.Cut(v, "-")
			var d time.Duration
			if d, err = time.ParseDuration(lo); err == nil {
				r.LatencyMin = Duration(d)
				if ranged {
					d, err = time.ParseDuration(hi)
					r.LatencyMax = Duration(d)
				}
			}
		default:
			err = fmt.Errorf("unknown key (want 429, 5xx, codes, retry-after, timeout, timeout-after, latency)")
		}
		if err != nil {
			return cfg, fmt.Errorf("fault %s: %w", k, err)
		}
	}
	if err := r.Validate(); err != nil {
		return cfg, err
	}
	if path == "" {
		cfg.Global = r
		return cfg, nil
	}
	if cfg.Endpoints == nil {
		cfg.Endpoints = map[string]FaultRule{}
	}
	cfg.Endpoints[path] = r
	return cfg, nil
}

type faultKind int

const (
	faultNone faultKind = iota
	fault429
	fault5xx
	faultTimeout
)

type faultDecision struct {
	kind       faultKind
	code       int
	retryAfter int
	latency    time.Duration
	hang       time.Duration
}

// injector draws decisions from one seeded generator per endpoint path, so a
// sequential client of one endpoint sees the same sequence of faults on every
// run whatever other endpoints are doing.
type injector struct {
	cfg  FaultConfig
	mu   sync.Mutex
	rngs map[string]*rand.Rand
}

func newInjector(cfg FaultConfig) *injector {
	return &injector{cfg: cfg, rngs: map[string]*rand.Rand{}}
}

// rule picks the rule for a request: its exact path first ("/x/neo/myflow"),
// then the route pattern ("/x/neo/{name}"), then the global rule. The
// returned key names the random stream used.
func (in *injector) rule(path, pattern string, isToken bool) (FaultRule, string, bool) {
	if r, ok := in.cfg.Endpoints[path]; ok {
		return r, path, true
	}
	if r, ok := in.cfg.Endpoints[pattern]; ok {
		return r, pattern, true
	}
	if isToken {
		return FaultRule{}, "", false
	}
	return in.cfg.Global, pattern, !in.cfg.Global.IsZero()
}

func (in *injector) decide(path, pattern string, isToken bool) faultDecision {
	r, key, ok := in.rule(path, pattern, isToken)
	if !ok || r.IsZero() {
		return faultDecision{}
	}
	path = key
	in.mu.Lock()
	rng := in.rngs[path]
	if rng == nil {
		h := fnv.New64a()
		h.Write([]byte(path))
		rng = rand.New(rand.NewPCG(in.cfg.Seed, h.Sum64()))
		in.rngs[path] = rng
	}
	u := rng.Float64()
	pick := rng.Float64()
	lat := rng.Float64()
	in.mu.Unlock()

	var d faultDecision
	d.latency = time.Duration(r.LatencyMin)
	if r.LatencyMax > r.LatencyMin {
		d.latency += time.Duration(lat * float64(r.LatencyMax-r.LatencyMin))
	}
	switch {
	case u < r.Rate429:
		d.kind = fault429
		d.code = 429
		d.retryAfter = r.RetryAfterSeconds
		if d.retryAfter == 0 {
			d.retryAfter = 1
		}
	case u < r.Rate429+r.Rate5xx:
		d.kind = fault5xx
		codes := r.Codes5xx
		if len(codes) == 0 {
			codes = []int{503}
		}
		d.code = codes[int(pick*float64(len(codes)))%len(codes)]
	case u < r.Rate429+r.Rate5xx+r.TimeoutRate:
		d.kind = faultTimeout
		d.code = 504
		d.hang = time.Duration(r.TimeoutAfter)
		if d.hang <= 0 {
			d.hang = 30 * time.Second
		}
	}
	return d
}
