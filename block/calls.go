package block

import (
	"net/http"
	"time"
)

// CallRecorder receives every API call a destination block makes, once
// its retries are over: the runtime turns them into per-endpoint metrics
// (status classes, latency histograms) and the request log that
// drill-down reads. RecordCall must be quick and must not block; it may
// be called from several goroutines at once, and the Call's slices and
// header are reused after it returns, so it copies what it keeps.
type CallRecorder interface {
	RecordCall(c *Call)
}

// Call is one API request and its final answer.
type Call struct {
	// Block names the block that sent it.
	Block string
	// Endpoint identifies the destination with bounded cardinality: the
	// method and the configured URL template (host and path, expressions
	// as {…}, no query), e.g. "POST https://api.example.com/v2/customers".
	Endpoint string
	Method   string
	URL      string // the URL sent (with its query)
	// RequestID is the X-CAP-REQUEST-ID sent; LineageID and Seq name the
	// source file and the (first) record the request carried.
	RequestID string
	LineageID string
	Seq       int64
	// Records is how many records the request carried (a bulk request
	// carries many).
	Records int
	Started time.Time
	// Latency runs from the first attempt to the final answer, retries
	// and back-off included: what the records waited.
	Latency  time.Duration
	Attempts int
	// Status is the final HTTP status (0: no answer).
	Status int
	// Exhausted: the call failed after its last retry.
	Exhausted bool
	Err       error
	// RequestHeader is what was sent, credentials included: a recorder
	// drops them before keeping anything.
	RequestHeader http.Header
	RequestBody   []byte
	ResponseBody  []byte
}
