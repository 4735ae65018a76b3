package jsoncsv

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/hamba/avro/v2"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
)

// fromAvro turns a decoded Avro value into a JSON value, ordering record
// fields by the schema.
func fromAvro(v any, s avro.Schema) any {
	switch sc := s.(type) {
	case *avro.RefSchema:
		return fromAvro(v, sc.Schema())
	case *avro.RecordSchema:
		m, ok := v.(map[string]any)
		if !ok {
			return jsonv.FromGo(v)
		}
		o := jsonv.NewObject(len(sc.Fields()))
		for _, f := range sc.Fields() {
			o.Members = append(o.Members, jsonv.Member{Key: f.Name(), Value: fromAvro(m[f.Name()], f.Type())})
		}
		return o
	case *avro.UnionSchema:
		if v == nil {
			return nil
		}
		// hamba hands union values over unwrapped; find the branch that fits.
		for _, t := range sc.Types() {
			if t.Type() == avro.Record || t.Type() == avro.Ref || t.Type() == avro.Array || t.Type() == avro.Map {
				if _, isMap := v.(map[string]any); isMap && (t.Type() == avro.Record || t.Type() == avro.Ref || t.Type() == avro.Map) {
					return fromAvro(v, t)
				}
				if _, isArr := v.([]any); isArr && t.Type() == avro.Array {
					return fromAvro(v, t)
				}
			}
		}
		return jsonv.FromGo(v)
	case *avro.ArraySchema:
		a, ok := v.([]any)
		if !ok {
			return jsonv.FromGo(v)
		}
		out := make([]any, len(a))
		for i, e := range a {
			out[i] = fromAvro(e, sc.Items())
		}
		return out
	case *avro.MapSchema:
		m, ok := v.(map[string]any)
		if !ok {
			return jsonv.FromGo(v)
		}
		o := jsonv.NewObject(len(m))
		for _, k := range sortedKeys(m) {
			o.Members = append(o.Members, jsonv.Member{Key: k, Value: fromAvro(m[k], sc.Values())})
		}
		return o
	}
	switch x := v.(type) {
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case float32:
		return float64(x)
	}
	return jsonv.FromGo(v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Avro maps have no order: sort for reproducible output.
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// toAvro converts a JSON value to what hamba/avro encodes for schema s.
// Strings are coerced to numbers and booleans when the schema asks for
// them, because CSV input has only strings.
func toAvro(v any, s avro.Schema, path string) (any, error) {
	switch sc := s.(type) {
	case *avro.RefSchema:
		return toAvro(v, sc.Schema(), path)
	case *avro.UnionSchema:
		if v == nil {
			if sc.Nullable() {
				return nil, nil
			}
			return nil, fmt.Errorf("%s: null is not allowed by the schema", path)
		}
		var firstErr error
		for _, t := range sc.Types() {
			if t.Type() == avro.Null {
				continue
			}
			// An empty CSV cell in a nullable non-string field is null.
			if str, ok := v.(string); ok && str == "" && sc.Nullable() && t.Type() != avro.String {
				return nil, nil
			}
			out, err := toAvro(v, t, path)
			if err == nil {
				if len(sc.Types()) > 2 || !sc.Nullable() {
					// Several non-null branches: name the branch explicitly.
					return map[string]any{unionName(t): out}, nil
				}
				return out, nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		return nil, firstErr
	case *avro.RecordSchema:
		o, ok := v.(*jsonv.Object)
		if !ok {
			return nil, fmt.Errorf("%s: expected an object for record %s, got %s", path, sc.FullName(), jsonv.TypeName(v))
		}
		m := make(map[string]any, len(sc.Fields()))
		for _, f := range sc.Fields() {
			fv, present := o.Get(f.Name())
			if !present {
				if f.HasDefault() {
					continue
				}
				fv = nil
			}
			x, err := toAvro(fv, f.Type(), path+"."+f.Name())
			if err != nil {
				return nil, err
			}
			m[f.Name()] = x
		}
		return m, nil
	case *avro.ArraySchema:
		a, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s: expected an array, got %s", path, jsonv.TypeName(v))
		}
		out := make([]any, len(a))
		for i, e := range a {
			x, err := toAvro(e, sc.Items(), fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case *avro.MapSchema:
		o, ok := v.(*jsonv.Object)
		if !ok {
			return nil, fmt.Errorf("%s: expected an object for a map, got %s", path, jsonv.TypeName(v))
		}
		out := make(map[string]any, o.Len())
		for _, mb := range o.Members {
			x, err := toAvro(mb.Value, sc.Values(), path+"."+mb.Key)
			if err != nil {
				return nil, err
			}
			out[mb.Key] = x
		}
		return out, nil
	case *avro.EnumSchema:
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s: expected an enum symbol, got %s", path, jsonv.TypeName(v))
		}
		for _, sym := range sc.Symbols() {
			if sym == str {
				return str, nil
			}
		}
		return nil, fmt.Errorf("%s: %q is not a symbol of enum %s", path, str, sc.FullName())
	case *avro.FixedSchema:
		str, ok := v.(string)
		if !ok || len(str) != sc.Size() {
			return nil, fmt.Errorf("%s: expected a string of %d bytes for fixed %s", path, sc.Size(), sc.FullName())
		}
		return []byte(str), nil
	}
	return primitive(v, s.Type(), path)
}

func unionName(s avro.Schema) string {
	if n, ok := s.(avro.NamedSchema); ok {
		return n.FullName()
	}
	return string(s.Type())
}

func primitive(v any, t avro.Type, path string) (any, error) {
	bad := func() (any, error) {
		return nil, fmt.Errorf("%s: %s %s does not fit Avro type %s", path, jsonv.TypeName(v), abbreviate(v), t)
	}
	switch t {
	case avro.Null:
		if v == nil {
			return nil, nil
		}
		return bad()
	case avro.String:
		if v == nil {
			return bad()
		}
		return block.ScalarString(v), nil
	case avro.Boolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
				return b, nil
			}
		}
		return bad()
	case avro.Int, avro.Long:
		var n int64
		switch x := v.(type) {
		case int64:
			n = x
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1<<62 {
				return bad()
			}
			n = int64(x)
		case string:
			p, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				return bad()
			}
			n = p
		default:
			return bad()
		}
		if t == avro.Int {
			if n < math.MinInt32 || n > math.MaxInt32 {
				return bad()
			}
			return int32(n), nil
		}
		return n, nil
	case avro.Float, avro.Double:
		var f float64
		switch x := v.(type) {
		case int64:
			f = float64(x)
		case float64:
			f = x
		case string:
			p, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return bad()
			}
			f = p
		default:
			return bad()
		}
		if t == avro.Float {
			return float32(f), nil
		}
		return f, nil
	case avro.Bytes:
		if s, ok := v.(string); ok {
			return []byte(s), nil
		}
		return bad()
	}
	return nil, fmt.Errorf("%s: Avro type %s is not supported", path, t)
}

func abbreviate(v any) string {
	s := string(jsonv.Marshal(v))
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}

// inferSchema builds a record schema with one optional string field per
// key: lossless for any JSON scalar, and what CSV input is anyway. Keys
// that are not Avro names are sanitised; names maps field → source key.
func inferSchema(keys []string) (avro.Schema, map[string]string, error) {
	var b strings.Builder
	b.WriteString(`{"type":"record","name":"Record","namespace":"connectplus","fields":[`)
	names := make(map[string]string, len(keys))
	for i, k := range keys {
		n := avroName(k)
		for base, j := n, 2; names[n] != ""; j++ {
			n = base + "_" + strconv.Itoa(j)
		}
		names[n] = k
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":`)
		b.Write(jsonv.AppendString(nil, n))
		b.WriteString(`,"type":["null","string"],"default":null}`)
	}
	b.WriteString("]}")
	s, err := avro.Parse(b.String())
	if err != nil {
		return nil, nil, fmt.Errorf("inferred Avro schema: %w", err)
	}
	return s, names, nil
}

func avroName(k string) string {
	var b strings.Builder
	for i, r := range k {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			if i == 0 && r >= '0' && r <= '9' {
				b.WriteByte('_')
				b.WriteRune(r)
				continue
			}
			r = '_'
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}
