package jslt

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/connectplus/connectplus/jsonv"
)

// javaURLProtocols are the protocols java.net.URL accepts out of the box;
// any other makes the reference's parse-url fail.
var javaURLProtocols = map[string]bool{"http": true, "https": true, "ftp": true, "file": true, "jar": true, "mailto": true}

// fnParseURL splits a URL into its parts as the reference does with
// java.net.URL: host, port, path, scheme, query, parameters (decoded, each
// a list of values, null for a missing value), fragment, userinfo; parts
// that are absent are left out.
func fnParseURL(_ *ctx, call *callNode, _ any, a []any) any {
	if a[0] == nil {
		return nil
	}
	raw := toStr(a[0])
	fail := func() { panic(call.pos.errorf("Can't parse %s", raw)) }
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok || !javaURLProtocols[strings.ToLower(scheme)] {
		fail()
	}
	scheme = strings.ToLower(scheme)
	fragment, hasFragment := "", false
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		fragment, hasFragment = rest[i+1:], true
		rest = rest[:i]
	}
	query, hasQuery := "", false
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		query, hasQuery = rest[i+1:], true
		rest = rest[:i]
	}
	var userinfo, host, path string
	port := -1
	if strings.HasPrefix(rest, "//") {
		authority := rest[2:]
		path = ""
		if i := strings.IndexByte(authority, '/'); i >= 0 {
			path = authority[i:]
			authority = authority[:i]
		}
		if i := strings.LastIndexByte(authority, '@'); i >= 0 {
			userinfo = authority[:i]
			authority = authority[i+1:]
		}
		host = authority
		if strings.HasPrefix(host, "[") {
			end := strings.IndexByte(host, ']')
			if end < 0 {
				fail()
			}
			if p := host[end+1:]; strings.HasPrefix(p, ":") {
				port = parsePort(p[1:], fail)
			}
			host = host[:end+1]
		} else if i := strings.LastIndexByte(host, ':'); i >= 0 {
			port = parsePort(host[i+1:], fail)
			host = host[:i]
		}
	} else {
		path = rest
	}
	o := jsonv.NewObject(8)
	if host != "" {
		o.Members = append(o.Members, jsonv.Member{Key: "host", Value: host})
	}
	if port != -1 {
		o.Members = append(o.Members, jsonv.Member{Key: "port", Value: int64(port)})
	}
	if path != "" {
		o.Members = append(o.Members, jsonv.Member{Key: "path", Value: path})
	}
	o.Members = append(o.Members, jsonv.Member{Key: "scheme", Value: scheme})
	if hasQuery && query != "" {
		o.Members = append(o.Members, jsonv.Member{Key: "query", Value: query})
		params := jsonv.NewObject(4)
		for _, pair := range strings.Split(query, "&") {
			key := pair
			var value any
			if idx := strings.IndexByte(pair, '='); idx > 0 {
				key = decodeQuery(pair[:idx], fail)
				if idx+1 < len(pair) {
					value = decodeQuery(pair[idx+1:], fail)
				}
			}
			if v, ok := lookup(params, key); ok {
				params.Set(key, append(v.([]any), value))
			} else {
				params.Set(key, []any{value})
			}
		}
		o.Members = append(o.Members, jsonv.Member{Key: "parameters", Value: params})
	}
	if hasFragment {
		o.Members = append(o.Members, jsonv.Member{Key: "fragment", Value: fragment})
	}
	if userinfo != "" {
		o.Members = append(o.Members, jsonv.Member{Key: "userinfo", Value: userinfo})
	}
	return o
}

func parsePort(s string, fail func()) int {
	if s == "" {
		return -1
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 0 {
		fail()
	}
	return p
}

// decodeQuery is java.net.URLDecoder.decode: '+' is a space, %xx a byte.
func decodeQuery(s string, fail func()) string {
	v, err := url.QueryUnescape(s)
	if err != nil {
		fail()
	}
	return v
}
