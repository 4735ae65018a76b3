package nifiel

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

type multiKind uint8

const (
	multiNamed      multiKind = iota // anyAttribute, allAttributes
	multiMatching                    // anyMatchingAttribute, allMatchingAttributes
	multiDelineated                  // anyDelineatedValue, allDelineatedValues
)

// multiSel selects several values; the rest of the expression is applied to
// each, and the results are combined by any/all or reduced by count/join.
type multiSel struct {
	name    string
	all     bool
	mk      multiKind
	args    []strNode
	regexes []func(env) (*regexp.Regexp, error)
}

func (m *multiSel) kind() Type { return TypeString }

func (m *multiSel) eval(env) (Value, error) {
	return Null, fmt.Errorf("%s must be followed by functions", m.name)
}

func buildMulti(all bool, mk multiKind) func(*call) (node, error) {
	return func(c *call) (node, error) {
		m := &multiSel{name: c.name, all: all, mk: mk}
		for i := range c.args {
			m.args = append(m.args, c.str(i))
			if mk == multiMatching {
				re, err := c.regexArg(i, true)
				if err != nil {
					return nil, err
				}
				m.regexes = append(m.regexes, re)
			}
		}
		return m, nil
	}
}

// each calls fn with every selected value until fn reports stop.
func (m *multiSel) each(e env, fn func(v string, ok bool) (stop bool, err error)) error {
	switch m.mk {
	case multiNamed:
		for _, a := range m.args {
			name, _, err := a.str(e)
			if err != nil {
				return err
			}
			v, ok := e.attrs.Get(name)
			if stop, err := fn(v, ok); stop || err != nil {
				return err
			}
		}
	case multiMatching:
		r, ok := e.attrs.(Ranger)
		if !ok {
			return fmt.Errorf("%s: the attribute lookup cannot list attribute names", m.name)
		}
		res := make([]*regexp.Regexp, len(m.regexes))
		for i, f := range m.regexes {
			re, err := f(e)
			if err != nil {
				return err
			}
			res[i] = re
		}
		type kv struct{ k, v string }
		var sel []kv
		r.Range(func(k, v string) bool {
			for _, re := range res {
				if re.MatchString(k) {
					sel = append(sel, kv{k, v})
					break
				}
			}
			return true
		})
		// Sorted, so that join gives the same result on every run.
		slices.SortFunc(sel, func(a, b kv) int { return strings.Compare(a.k, b.k) })
		for _, p := range sel {
			if stop, err := fn(p.v, true); stop || err != nil {
				return err
			}
		}
	case multiDelineated:
		v, ok, err := m.args[0].str(e)
		if err != nil || !ok {
			return err
		}
		d, _, err := m.args[1].str(e)
		if err != nil {
			return err
		}
		for _, part := range javaSplitLiteral(v, d) {
			if stop, err := fn(part, true); stop || err != nil {
				return err
			}
		}
	}
	return nil
}

// javaSplitLiteral splits like String.split(Pattern.quote(sep)): trailing
// empty strings are dropped.
func javaSplitLiteral(s, sep string) []string {
	var parts []string
	if sep == "" {
		for _, r := range s {
			parts = append(parts, string(r))
		}
	} else {
		parts = strings.Split(s, sep)
	}
	if len(parts) == 1 {
		return parts
	}
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// combine evaluates cond for every value: any is true when one is, all when
// every one is. As in NiFi, the condition is evaluated once, against null,
// when nothing is selected.
func (m *multiSel) combine(cond boolNode) node {
	return boolNodeOf(func(e env) (bool, bool, error) {
		result, seen := m.all, false
		err := m.each(e, func(v string, ok bool) (bool, error) {
			seen = true
			ie := e
			ie.item, ie.itemOK = v, ok
			b, bok, err := cond.boolean(ie)
			if err != nil {
				return true, err
			}
			if hit := b && bok; hit != m.all {
				// any stops at the first true, all at the first false.
				result = hit
				return true, nil
			}
			return false, nil
		})
		if err != nil {
			return false, false, err
		}
		if !seen {
			ie := e
			ie.item, ie.itemOK = "", false
			b, bok, err := cond.boolean(ie)
			if err != nil {
				return false, false, err
			}
			return b && bok, true, nil
		}
		return result, true, nil
	})
}

// buildJoin is NiFi's JoinEvaluator: the values of a multi-attribute chain
// with the delimiter between them, a null value as the empty string. On a
// single value, as NiFi evaluates it once, it is that value ("" for null).
func buildJoin(c *call) (node, error) {
	m := c.chain.multi
	item := toStr(c.subj)
	delim := c.str(0)
	max := c.c.cfg.maxResult
	at := c.site
	if m == nil {
		return strNodeOf(func(e env) (string, bool, error) {
			s, _, err := item.str(e)
			if err != nil {
				return "", false, err
			}
			if _, _, err := delim.str(e); err != nil {
				return "", false, err
			}
			return s, true, nil
		}), nil
	}
	return strNodeOf(func(e env) (string, bool, error) {
		d, _, err := delim.str(e)
		if err != nil {
			return "", false, err
		}
		var b strings.Builder
		n := 0
		err = m.each(e, func(v string, ok bool) (bool, error) {
			ie := e
			ie.item, ie.itemOK = v, ok
			s, _, err := item.str(ie)
			if err != nil {
				return true, err
			}
			if n > 0 {
				b.WriteString(d)
			}
			b.WriteString(s)
			n++
			if b.Len() > max {
				return true, at.fail(fmt.Errorf("result exceeds %d bytes: %w", max, ErrResultTooLarge))
			}
			return false, nil
		})
		if err != nil {
			return "", false, err
		}
		return b.String(), true, nil
	}), nil
}

// buildCount is NiFi's CountEvaluator: how many values of a multi-attribute
// chain are neither null nor false; on a single value, 0 or 1.
func buildCount(c *call) (node, error) {
	m := c.chain.multi
	item := c.subj
	if m == nil {
		return &vNode{t: TypeNumber, fn: func(e env) (Value, error) {
			r, err := item.eval(e)
			if err != nil {
				return Null, err
			}
			if r.IsNull() || (r.t == TypeBoolean && r.i == 0) {
				return NumberValue(0), nil
			}
			return NumberValue(1), nil
		}}, nil
	}
	return &vNode{t: TypeNumber, fn: func(e env) (Value, error) {
		var n int64
		err := m.each(e, func(v string, ok bool) (bool, error) {
			ie := e
			ie.item, ie.itemOK = v, ok
			r, err := item.eval(ie)
			if err != nil {
				return true, err
			}
			// count counts values that are neither null nor false.
			if !r.IsNull() && !(r.t == TypeBoolean && r.i == 0) {
				n++
			}
			return false, nil
		})
		if err != nil {
			return Null, err
		}
		return NumberValue(n), nil
	}}, nil
}

// ---- math: java.lang.Math by name ----

var (
	mathUnary = map[string]func(float64) float64{
		"abs": math.Abs, "acos": math.Acos, "asin": math.Asin, "atan": math.Atan, "cbrt": math.Cbrt,
		"ceil": math.Ceil, "cos": math.Cos, "cosh": math.Cosh, "exp": math.Exp, "expm1": math.Expm1,
		"floor": math.Floor, "log": math.Log, "log10": math.Log10, "log1p": math.Log1p,
		"rint": math.RoundToEven, "sin": math.Sin, "sinh": math.Sinh, "sqrt": math.Sqrt,
		"tan": math.Tan, "tanh": math.Tanh,
		"signum": func(f float64) float64 {
			switch {
			case f > 0:
				return 1
			case f < 0:
				return -1
			}
			return f
		},
		"toDegrees": func(f float64) float64 { return f * 180 / math.Pi },
		"toRadians": func(f float64) float64 { return f / 180 * math.Pi },
		"ulp": func(f float64) float64 {
			return math.Nextafter(math.Abs(f), math.Inf(1)) - math.Abs(f)
		},
		"nextUp":   func(f float64) float64 { return math.Nextafter(f, math.Inf(1)) },
		"nextDown": func(f float64) float64 { return math.Nextafter(f, math.Inf(-1)) },
	}
	mathBinary = map[string]func(a, b float64) float64{
		"atan2": math.Atan2, "hypot": math.Hypot, "IEEEremainder": math.Remainder,
		"max": math.Max, "min": math.Min, "pow": javaPow, "copySign": math.Copysign,
		"nextAfter": math.Nextafter,
		"scalb":     func(a, b float64) float64 { return math.Ldexp(a, int(b)) },
	}
	errOverflow   = errors.New("long overflow")
	mathLongUnary = map[string]func(int64) (int64, error){
		"abs": func(a int64) (int64, error) {
			if a < 0 {
				return -a, nil
			}
			return a, nil
		},
		"negateExact": func(a int64) (int64, error) {
			if a == math.MinInt64 {
				return 0, errOverflow
			}
			return -a, nil
		},
		"incrementExact": func(a int64) (int64, error) {
			if a == math.MaxInt64 {
				return 0, errOverflow
			}
			return a + 1, nil
		},
		"decrementExact": func(a int64) (int64, error) {
			if a == math.MinInt64 {
				return 0, errOverflow
			}
			return a - 1, nil
		},
	}
	mathLongBinary = map[string]func(a, b int64) (int64, error){
		"max": func(a, b int64) (int64, error) { return max(a, b), nil },
		"min": func(a, b int64) (int64, error) { return min(a, b), nil },
		"addExact": func(a, b int64) (int64, error) {
			r := a + b
			if (a > 0 && b > 0 && r < 0) || (a < 0 && b < 0 && r >= 0) {
				return 0, errOverflow
			}
			return r, nil
		},
		"subtractExact": func(a, b int64) (int64, error) {
			r := a - b
			if (a >= 0 && b < 0 && r < 0) || (a < 0 && b > 0 && r >= 0) {
				return 0, errOverflow
			}
			return r, nil
		},
		"multiplyExact": func(a, b int64) (int64, error) {
			if a == 0 || b == 0 {
				return 0, nil
			}
			r := a * b
			if r/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
				return 0, errOverflow
			}
			return r, nil
		},
		"floorDiv": func(a, b int64) (int64, error) {
			if b == 0 {
				return 0, errors.New("division by zero")
			}
			q := a / b
			if (a%b != 0) && ((a < 0) != (b < 0)) {
				q--
			}
			return q, nil
		},
		"floorMod": func(a, b int64) (int64, error) {
			if b == 0 {
				return 0, errors.New("division by zero")
			}
			m := a % b
			if m != 0 && ((m < 0) != (b < 0)) {
				m += b
			}
			return m, nil
		},
	}
)

func buildMath(c *call) (node, error) {
	fn := c.str(0)
	var sub, arg node
	var err error
	if c.subj != nil {
		if sub, err = toNum(c.subj); err != nil {
			return nil, err
		}
	} else if len(c.args) != 1 {
		return nil, errors.New("without a subject, math takes exactly one argument (the function name, such as \"random\")")
	}
	if len(c.args) == 2 {
		if arg, err = toNum(c.args[1]); err != nil {
			return nil, err
		}
	}
	at := c.site
	return &vNode{t: typeAnyNumber, fn: func(e env) (Value, error) {
		name, _, err := fn.str(e)
		if err != nil {
			return Null, err
		}
		if sub == nil {
			if name != "random" {
				return Null, at.failf("no java.lang.Math method %s() without arguments", name)
			}
			return DecimalValue(float64(randInt64n(1<<53)) / (1 << 53)), nil
		}
		sv, err := sub.eval(e)
		if err != nil || sv.IsNull() {
			return Null, err
		}
		if arg == nil {
			if name == "round" {
				f, _ := sv.Float()
				return NumberValue(javaToLong(math.Floor(f + 0.5))), nil
			}
			if name == "getExponent" {
				f, _ := sv.Float()
				_, exp := math.Frexp(f)
				return NumberValue(int64(exp - 1)), nil
			}
			if f, ok := mathLongUnary[name]; ok && sv.t == TypeNumber {
				r, err := f(sv.i)
				if err != nil {
					return Null, at.fail(err)
				}
				return NumberValue(r), nil
			}
			if f, ok := mathUnary[name]; ok {
				x, _ := sv.Float()
				return DecimalValue(f(x)), nil
			}
			return Null, at.failf("no java.lang.Math method %s with one argument", name)
		}
		av, err := arg.eval(e)
		if err != nil || av.IsNull() {
			return Null, err
		}
		if f, ok := mathLongBinary[name]; ok && sv.t == TypeNumber && av.t == TypeNumber {
			r, err := f(sv.i, av.i)
			if err != nil {
				return Null, at.fail(err)
			}
			return NumberValue(r), nil
		}
		if f, ok := mathBinary[name]; ok {
			x, _ := sv.Float()
			y, _ := av.Float()
			return DecimalValue(f(x, y)), nil
		}
		return Null, at.failf("no java.lang.Math method %s with two arguments", name)
	}}, nil
}

// ---- getUri: java.net.URI's seven-argument constructor ----

func buildGetURI(c *call) (node, error) {
	args := make([]node, 7)
	copy(args, c.args)
	at := c.site
	return strNodeOf(func(e env) (string, bool, error) {
		vals := make([]string, 7)
		set := make([]bool, 7)
		for i, a := range args {
			v, err := a.eval(e)
			if err != nil {
				return "", false, err
			}
			vals[i], set[i] = v.String(), !v.IsNull()
		}
		scheme, user, host, port, path, query, frag := vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6]
		var b strings.Builder
		if set[0] && scheme != "" {
			b.WriteString(scheme)
			b.WriteByte(':')
		}
		if set[2] && host != "" {
			b.WriteString("//")
			if set[1] && user != "" {
				b.WriteString(quoteURI(user, "@/?#"))
				b.WriteByte('@')
			}
			b.WriteString(host)
			if set[3] && port != "" && port != "-1" {
				if _, err := strconv.Atoi(port); err != nil {
					return "", false, at.failf("port %q is not a number", port)
				}
				b.WriteByte(':')
				b.WriteString(port)
			}
		}
		if set[4] {
			b.WriteString(quoteURI(path, "?#"))
		}
		if set[5] && query != "" {
			b.WriteByte('?')
			b.WriteString(quoteURI(query, "#"))
		}
		if set[6] && frag != "" {
			b.WriteByte('#')
			b.WriteString(quoteURI(frag, ""))
		}
		return b.String(), true, nil
	}), nil
}

// quoteURI percent-encodes what java.net.URI quotes: spaces, controls,
// non-ASCII, unsafe punctuation and the given delimiters.
func quoteURI(s, extra string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch <= ' ' || ch >= 0x7f || strings.IndexByte(`"<>\^`+"`{|}", ch) >= 0 || strings.IndexByte(extra, ch) >= 0 {
			b.WriteByte('%')
			b.WriteByte(hexDigits[ch>>4])
			b.WriteByte(hexDigits[ch&15])
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}
