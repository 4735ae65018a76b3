package httpwrite

import (
	"strconv"
	"strings"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
	"github.com/connectplus/connectplus/lang/jsonpath"
)

// entityOutcome reads one response element with the parse path map. The
// element fails when it carries a non-empty "errors" array or its status
// code (from the status_code path) is 400 or more; Capillary's entity codes
// (8084, 604, …) are all above that, its success codes below.
func (s *settings) entityOutcome(e any, httpStatus int) block.Outcome {
	o := block.Outcome{Status: block.Delivered, Code: httpStatus}
	failed := false
	haveCode := false
	if s.codePath != nil {
		if v, ok := s.codePath.First(e); ok {
			if c, ok := toInt(v); ok {
				o.Code, haveCode = c, true
				failed = c >= 400
			}
		}
	}
	errs := errorsOf(e)
	if len(errs) > 0 {
		failed = true
	}
	if s.msgPath != nil {
		o.Message = joinValues(s.msgPath, e)
	}
	if failed {
		o.Status = block.Failed
		if len(errs) > 0 {
			first, _ := errs[0].(*jsonv.Object)
			if !haveCode {
				if v, ok := first.Get("code"); ok {
					if c, ok := toInt(v); ok {
						o.Code = c
					}
				}
			}
			if o.Message == "" {
				if v, ok := first.Get("message"); ok {
					o.Message = block.ScalarString(v)
				}
			}
		}
	}
	if s.idPath != nil {
		if v, ok := s.idPath.First(e); ok && v != nil {
			o.EntityID = block.ScalarString(v)
		}
	}
	if len(s.extra) > 0 {
		o.Extra = make([][2]string, 0, len(s.extra))
		for _, x := range s.extra {
			o.Extra = append(o.Extra, [2]string{x.name, joinValues(x.path, e)})
		}
	}
	return o
}

// errorsOf returns the element's "errors" array when it is one.
func errorsOf(e any) []any {
	o, ok := e.(*jsonv.Object)
	if !ok {
		return nil
	}
	v, _ := o.Get("errors")
	a, _ := v.([]any)
	return a
}

// firstErrorMessage digs the message out of Capillary-style error answers
// ({"errors":[{"message"}]}, {"error":{"message"}}, {"message"}).
func firstErrorMessage(v any) string {
	if errs := errorsOf(v); len(errs) > 0 {
		if o, ok := errs[0].(*jsonv.Object); ok {
			if m, ok := o.Get("message"); ok {
				return block.ScalarString(m)
			}
		}
	}
	o, ok := v.(*jsonv.Object)
	if !ok {
		return ""
	}
	if e, ok := o.Get("error"); ok {
		if eo, ok := e.(*jsonv.Object); ok {
			if m, ok := eo.Get("message"); ok {
				return block.ScalarString(m)
			}
		}
		if s, ok := e.(string); ok {
			return s
		}
	}
	if m, ok := o.Get("message"); ok {
		return block.ScalarString(m)
	}
	return ""
}

// joinValues renders every value the path selects, "; "-separated (an
// entity can carry several errors).
func joinValues(p *jsonpath.Path, e any) string {
	vals := p.Query(e)
	switch len(vals) {
	case 0:
		return ""
	case 1:
		return block.ScalarString(vals[0])
	}
	parts := make([]string, 0, len(vals))
	for _, v := range vals {
		if s := block.ScalarString(v); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "; ")
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int64:
		return int(x), true
	case float64:
		return int(x), x == float64(int(x))
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		return n, err == nil
	}
	return 0, false
}
