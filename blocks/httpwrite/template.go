package httpwrite

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/connectplus/connectplus/block"
)

// textTemplate is a property value with NiFi expressions (${...}) and
// Connect+ attribute references ($name). Expressions are evaluated first;
// $name references in the result are then replaced by the attribute value
// (escaped with esc). Values without either are constant and cost nothing
// per request.
type textTemplate struct {
	src    string
	expr   *block.Template // nil: no ${...}
	params bool            // contains $name references
}

func compileText(src string, env *block.Env) (*textTemplate, error) {
	t := &textTemplate{src: src, params: hasParam(src)}
	if strings.Contains(src, "${") {
		if env == nil || env.CompileExpr == nil {
			return nil, fmt.Errorf("%q uses ${...} expressions but no expression language is available", src)
		}
		x, err := env.CompileTemplate(src)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", src, err)
		}
		t.expr = x
	}
	return t, nil
}

func (t *textTemplate) constant() bool { return t.expr == nil && !t.params }

func (t *textTemplate) eval(l block.Lookup, esc func(string) string) (string, error) {
	s := t.src
	if t.expr != nil {
		v, err := t.expr.Eval(l)
		if err != nil {
			return "", fmt.Errorf("evaluating %q: %w", t.src, err)
		}
		s = v
	}
	if !t.params {
		return s, nil
	}
	return substParams(s, l, esc)
}

func isNameStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isNameChar(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }

func hasParam(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '$' && isNameStart(s[i+1]) {
			return true
		}
	}
	return false
}

// errMissingParam is returned when a $name reference has no attribute: the
// request would otherwise go to a literal "/v2/customer/$userId".
var errMissingParam = errors.New("attribute not found")

func substParams(s string, l block.Lookup, esc func(string) string) (string, error) {
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) || !isNameStart(s[i+1]) {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(s) && isNameChar(s[j]) {
			j++
		}
		name := s[i+1 : j]
		v, ok := l.Get(name)
		if !ok {
			return "", fmt.Errorf("$%s: %w (declare it in the JSLT block's Attributes)", name, errMissingParam)
		}
		if esc != nil {
			v = esc(v)
		}
		b.WriteString(v)
		i = j - 1
	}
	return b.String(), nil
}

// urlTemplate builds request URLs: base + endpoint (+ query attributes).
type urlTemplate struct {
	base string // "" when the template is a full URL
	path *textTemplate
}

// joinURL joins a base URL and an endpoint with exactly one slash between
// them (templates write both "https://host/" + "id" and "https://host" +
// "/v2/..."). An absolute endpoint is used as is.
func joinURL(base, endpoint string) string {
	if base == "" || strings.HasPrefix(endpoint, "http://") || strings.HasPrefix(endpoint, "https://") {
		return endpoint
	}
	switch {
	case endpoint == "":
		return base
	case strings.HasSuffix(base, "/") && strings.HasPrefix(endpoint, "/"):
		return base + endpoint[1:]
	case !strings.HasSuffix(base, "/") && !strings.HasPrefix(endpoint, "/"):
		return base + "/" + endpoint
	}
	return base + endpoint
}

func (u *urlTemplate) eval(l block.Lookup) (string, error) {
	if u.path.constant() {
		return joinURL(u.base, u.path.src), nil
	}
	p, err := u.path.eval(l, url.PathEscape)
	if err != nil {
		return "", err
	}
	return joinURL(u.base, p), nil
}

// appendQuery adds http.query.<name> attributes as query parameters, sorted
// by name so the URL is stable. Later sources override earlier ones.
func appendQuery(raw string, sources ...block.Attributes) string {
	var q [][2]string
	for _, attrs := range sources {
		for k, v := range attrs {
			name, ok := strings.CutPrefix(k, QueryAttrPrefix)
			if !ok || name == "" {
				continue
			}
			replaced := false
			for i := range q {
				if q[i][0] == name {
					q[i][1], replaced = v, true
				}
			}
			if !replaced {
				q = append(q, [2]string{name, v})
			}
		}
	}
	if len(q) == 0 {
		return raw
	}
	sort.Slice(q, func(i, j int) bool { return q[i][0] < q[j][0] })
	var b strings.Builder
	b.WriteString(raw)
	sep := byte('?')
	if strings.Contains(raw, "?") {
		sep = '&'
	}
	for _, kv := range q {
		b.WriteByte(sep)
		sep = '&'
		b.WriteString(url.QueryEscape(kv[0]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[1]))
	}
	return b.String()
}

// headerTemplate is one additionalHeaders entry.
type headerTemplate struct {
	// name is kept as written: header names are case-insensitive, but some
	// gateways match Capillary's all-caps names case-sensitively.
	name  string
	value *textTemplate
}

func checkHeadersJSON(src string) error {
	_, err := decodeHeaders(src)
	return err
}

func decodeHeaders(src string) ([][2]string, error) {
	src = strings.TrimSpace(src)
	if src == "" || src == "null" || src == "{}" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(src))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, errors.New("additionalHeaders must be a JSON object of header → value")
	}
	var out [][2]string
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("additionalHeaders: %w", err)
		}
		k, _ := kt.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("additionalHeaders %q: %w", k, err)
		}
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case json.Number:
			s = x.String()
		case bool:
			s = fmt.Sprint(x)
		default:
			return nil, fmt.Errorf("additionalHeaders %q: the value must be a string", k)
		}
		if !validHeaderName(k) {
			return nil, fmt.Errorf("additionalHeaders: %q is not a valid header name", k)
		}
		out = append(out, [2]string{k, s})
	}
	return out, nil
}

func compileHeaders(src string, env *block.Env) ([]headerTemplate, error) {
	kvs, err := decodeHeaders(src)
	if err != nil {
		return nil, err
	}
	out := make([]headerTemplate, 0, len(kvs))
	for _, kv := range kvs {
		t, err := compileText(kv[1], env)
		if err != nil {
			return nil, fmt.Errorf("additionalHeaders %q: %w", kv[0], err)
		}
		out = append(out, headerTemplate{name: kv[0], value: t})
	}
	return out, nil
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
