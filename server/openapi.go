package server

import (
	"encoding/json"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

var pathParamRE = regexp.MustCompile(`\{([^}]+)\}`)

// openAPI builds the OpenAPI 3.1 document from the route table; schemas are
// derived by reflection from the very Go types the handlers decode and
// encode.
func (s *Server) openAPI() ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}}
	g.defs["Error"] = g.schema(reflect.TypeOf(ErrorBody{}))
	errResp := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	}
	paths := map[string]map[string]any{}
	for _, rt := range s.routes {
		op := map[string]any{
			"summary":     rt.summary,
			"tags":        []string{rt.tag},
			"operationId": operationID(rt.method, rt.path),
		}
		var params []any
		for _, m := range pathParamRE.FindAllStringSubmatch(rt.path, -1) {
			typ := "string"
			if m[1] == "number" {
				typ = "integer"
			}
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": typ}})
		}
		for _, p := range rt.query {
			typ := "string"
			if p.integer {
				typ = "integer"
			}
			params = append(params, map[string]any{"name": p.name, "in": "query", "required": false, "description": p.desc, "schema": map[string]any{"type": typ}})
		}
		if rt.method == "PUT" || rt.method == "PATCH" {
			params = append(params, map[string]any{"name": "If-Match", "in": "header", "required": false,
				"description": "ETag of the revision being edited (alternative to the revision field)", "schema": map[string]any{"type": "string"}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.body))}}}
		}
		resp := map[string]any{"description": "success"}
		switch {
		case rt.produces != "":
			resp["content"] = map[string]any{rt.produces: map[string]any{"schema": map[string]any{"type": "string"}}}
		case rt.resp != nil:
			resp["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.resp))}}
		}
		responses := map[string]any{strconv.Itoa(rt.status): resp, "default": errResp("error")}
		if rt.public != nil {
			// Explicitly no authentication (an empty requirement list), so
			// a public route is a visible decision, not an omission.
			op["security"], op["x-public"] = []any{}, true
		}
		if rt.public == nil {
			op["security"] = []any{map[string]any{"bearer": []any{}}, map[string]any{"session": []any{}}}
			responses["401"] = errResp("not authenticated")
			responses["403"] = errResp("role too weak, or CSRF token missing for a cookie session")
			if rt.role != "" {
				op["x-min-role"] = rt.role
			}
		}
		if rt.body != nil {
			responses["400"] = errResp("malformed JSON, unknown field or validation failure")
			responses["413"] = errResp("request body too large")
		}
		op["responses"] = responses
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		paths[rt.path][strings.ToLower(rt.method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Connect+ control plane API", "version": "1.0.0",
			"description": "Dataflows, versions and approvals, Extension Configurations, runtime control, runs and audit. Errors are {\"error\":{\"code\",\"message\",\"fields\"}}."},
		"paths": paths,
		"components": map[string]any{
			"schemas": g.defs,
			"securitySchemes": map[string]any{
				"bearer":  map[string]any{"type": "http", "scheme": "bearer", "description": "API token (cpt_…)"},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": SessionCookie, "description": "Session from POST /api/v1/auth/login; unsafe methods need the X-CSRF-Token header"},
			},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

func operationID(method, path string) string {
	p := strings.TrimPrefix(path, Base)
	p = pathParamRE.ReplaceAllString(p, "by_$1")
	p = strings.NewReplacer("/", "_", "-", "_", ".", "_").Replace(p)
	return strings.ToLower(method) + p
}

type schemaGen struct {
	defs map[string]any
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage{})
	pkgRE    = regexp.MustCompile(`[A-Za-z0-9_./\-]*\.`)
)

func schemaName(t reflect.Type) string {
	n := pkgRE.ReplaceAllString(t.Name(), "")
	return strings.NewReplacer("[", "_", "]", "", ",", "_", "*", "").Replace(n)
}

// jsonSchemaer is a type that encodes itself unlike its Go kind (a
// duration written as "10m") and says so.
type jsonSchemaer interface{ JSONSchema() map[string]any }

var jsonSchemaerType = reflect.TypeFor[jsonSchemaer]()

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	if t.Implements(jsonSchemaerType) {
		return reflect.Zero(t).Interface().(jsonSchemaer).JSONSchema()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schema(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := schemaName(t)
		ref := map[string]any{"$ref": "#/components/schemas/" + name}
		if _, ok := g.defs[name]; ok {
			return ref
		}
		g.defs[name] = map[string]any{} // placeholder: recursion ends here
		props := map[string]any{}
		var required []string
		for _, f := range jsonFields(t) {
			tag := f.Tag.Get("json")
			parts := strings.Split(tag, ",")
			jname := parts[0]
			if jname == "" {
				jname = f.Name
			}
			omit := false
			for _, p := range parts[1:] {
				if p == "omitempty" || p == "omitzero" {
					omit = true
				}
			}
			props[jname] = g.schema(f.Type)
			if !omit && f.Type.Kind() != reflect.Pointer {
				required = append(required, jname)
			}
		}
		sort.Strings(required)
		def := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			def["required"] = required
		}
		g.defs[name] = def
		return ref
	}
	return map[string]any{}
}

// jsonFields lists the fields encoding/json encodes for struct t: exported,
// not tagged "-", with untagged embedded structs flattened into their
// parent (BlockInfo embeds block.Spec).
func jsonFields(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		if f.Anonymous && tag == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				out = append(out, jsonFields(et)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		out = append(out, f)
	}
	return out
}
