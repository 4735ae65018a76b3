package httpwrite

import (
	"net/url"
	"strings"
	"time"

	"github.com/connectplus/connectplus/block"
)

// endpointLabel names the block's destination for metrics: the method and
// the configured URL template with expressions as {…} and no query or
// credentials, so one label covers every record whatever its values (a
// label per customer id would be unbounded).
func endpointLabel(s *settings) string {
	raw := s.endpoint.path.src
	if s.endpoint.base != "" {
		raw = joinURL(s.endpoint.base, raw)
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		switch {
		case raw[i] == '$' && i+1 < len(raw) && raw[i+1] == '{':
			depth := 0
			j := i + 1
			for ; j < len(raw); j++ {
				if raw[j] == '{' {
					depth++
				} else if raw[j] == '}' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			b.WriteString("{…}")
			i = j
		case raw[i] == '$' && i+1 < len(raw) && isParamStart(raw[i+1]):
			j := i + 1
			for j < len(raw) && isParamChar(raw[j]) {
				j++
			}
			b.WriteString("{…}")
			i = j - 1
		default:
			b.WriteByte(raw[i])
		}
	}
	label := b.String()
	if k := strings.IndexAny(label, "?#"); k >= 0 {
		label = label[:k]
	}
	if u, err := url.Parse(label); err == nil && u.User != nil {
		u.User = nil
		label = u.String()
	}
	return s.method + " " + label
}

func isParamStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isParamChar(c byte) bool { return isParamStart(c) || c >= '0' && c <= '9' || c == '.' }

// recordCall reports a finished request to the runtime's call recorder.
func (w *writer) recordCall(u *block.Unit, req *request, res *result, started time.Time, seq int64, records int) {
	if w.calls == nil {
		return
	}
	c := block.Call{
		Block: w.name, Endpoint: w.endpoint, Method: req.method, URL: req.url,
		RequestID: req.id, LineageID: u.Attrs[block.AttrLineageID], Seq: seq, Records: records,
		Started: started, Latency: time.Since(started), Attempts: res.attempts,
		Status: res.status, Exhausted: res.exhausted, Err: res.err,
		RequestHeader: req.header, RequestBody: req.body, ResponseBody: res.bytes(),
	}
	w.calls.RecordCall(&c)
}
