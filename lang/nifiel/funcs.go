package nifiel

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/connectplus/connectplus/lang/javatime"
)

type subjRule uint8

const (
	subjRequired subjRule = iota // ${attr:fn()}
	subjNone                     // ${fn()}
	subjOptional                 // either
)

// funcDef describes one function of the language.
type funcDef struct {
	min, max int // argument count; max -1 is unbounded
	subject  subjRule
	reducer  bool // count and join aggregate a multi-attribute chain
	build    func(*call) (node, error)
}

func (d *funcDef) arity() string {
	switch {
	case d.max < 0:
		return fmt.Sprintf("at least %d arguments", d.min)
	case d.min == d.max && d.min == 1:
		return "1 argument"
	case d.min == d.max:
		return fmt.Sprintf("%d arguments", d.min)
	}
	return fmt.Sprintf("%d to %d arguments", d.min, d.max)
}

// call is one function application being compiled.
type call struct {
	site
	c     *compiler
	subj  node // nil for subjectless calls
	args  []node
	chain *chain
}

func (c *call) str(i int) strNode { return toStr(c.args[i]) }

func (c *call) subjStr() strNode {
	if c.subj == nil {
		return constOf(Null)
	}
	return toStr(c.subj)
}

// functions is the function table. It is filled once by init and only read
// afterwards; init (rather than a variable initializer) avoids an
// initialization cycle through evaluateELString, which compiles at run time.
var functions map[string]*funcDef

func init() {
	functions = map[string]*funcDef{
		// Boolean logic
		"isNull":           {0, 0, subjRequired, false, buildIsNull(true)},
		"notNull":          {0, 0, subjRequired, false, buildIsNull(false)},
		"isEmpty":          {0, 0, subjRequired, false, buildIsEmpty},
		"equals":           {1, 1, subjRequired, false, buildEquals},
		"equalsIgnoreCase": {1, 1, subjRequired, false, strPredicate(strings.EqualFold)},
		"gt":               {1, 1, subjRequired, false, buildCompare(func(c int) bool { return c > 0 })},
		"ge":               {1, 1, subjRequired, false, buildCompare(func(c int) bool { return c >= 0 })},
		"lt":               {1, 1, subjRequired, false, buildCompare(func(c int) bool { return c < 0 })},
		"le":               {1, 1, subjRequired, false, buildCompare(func(c int) bool { return c <= 0 })},
		"and":              {1, 1, subjRequired, false, buildAndOr(true)},
		"or":               {1, 1, subjRequired, false, buildAndOr(false)},
		"not":              {0, 0, subjRequired, false, buildNot},
		"ifElse":           {2, 2, subjRequired, false, buildIfElse},
		"isJson":           {0, 0, subjRequired, false, buildIsJSON},

		// String manipulation
		"toUpper":              {0, 0, subjRequired, false, strMap(strings.ToUpper)},
		"toLower":              {0, 0, subjRequired, false, strMap(strings.ToLower)},
		"trim":                 {0, 0, subjRequired, false, strMap(javaTrim)},
		"substring":            {1, 2, subjRequired, false, buildSubstring},
		"substringBefore":      {1, 1, subjRequired, false, strCut(substringBefore)},
		"substringBeforeLast":  {1, 1, subjRequired, false, strCut(substringBeforeLast)},
		"substringAfter":       {1, 1, subjRequired, false, strCut(substringAfter)},
		"substringAfterLast":   {1, 1, subjRequired, false, strCut(substringAfterLast)},
		"getDelimitedField":    {1, 5, subjRequired, false, buildGetDelimitedField},
		"append":               {1, 1, subjRequired, false, buildAppend(false)},
		"prepend":              {1, 1, subjRequired, false, buildAppend(true)},
		"replace":              {2, 2, subjRequired, false, buildReplace},
		"replaceFirst":         {2, 2, subjRequired, false, buildReplaceRegex(false)},
		"replaceAll":           {2, 2, subjRequired, false, buildReplaceRegex(true)},
		"replaceByPattern":     {1, 1, subjRequired, false, buildReplaceByPattern},
		"replaceNull":          {1, 1, subjRequired, false, buildReplaceNull},
		"replaceEmpty":         {1, 1, subjRequired, false, buildReplaceEmpty},
		"length":               {0, 0, subjRequired, false, buildLength},
		"evaluateELString":     {0, 0, subjRequired, false, buildEvaluateELString},
		"repeat":               {1, 2, subjRequired, false, buildRepeat},
		"padLeft":              {1, 2, subjRequired, false, buildPad(true)},
		"padRight":             {1, 2, subjRequired, false, buildPad(false)},
		"unique":               {1, 1, subjRequired, false, listFunc(uniqueFields)},
		"compactDelimitedList": {1, 1, subjRequired, false, listFunc(compactFields)},
		"trimDelimitedList":    {1, 1, subjRequired, false, listFunc(trimFields)},

		// Encode / decode
		"escapeJson":    {0, 0, subjRequired, false, strMap(escapeJSON)},
		"escapeXml":     {0, 0, subjRequired, false, strMap(escapeXML)},
		"escapeCsv":     {0, 0, subjRequired, false, strMap(escapeCSV)},
		"escapeHtml3":   {0, 0, subjRequired, false, strMap(escapeHTML3)},
		"escapeHtml4":   {0, 0, subjRequired, false, strMap(escapeHTML4)},
		"unescapeJson":  {0, 0, subjRequired, false, strMap(unescapeJSON)},
		"unescapeXml":   {0, 0, subjRequired, false, strMap(unescapeXML)},
		"unescapeCsv":   {0, 0, subjRequired, false, strMap(unescapeCSV)},
		"unescapeHtml3": {0, 0, subjRequired, false, strMap(unescapeHTML3)},
		"unescapeHtml4": {0, 0, subjRequired, false, strMap(unescapeHTML4)},
		"urlEncode":     {0, 0, subjRequired, false, strMap(urlEncode)},
		"urlDecode":     {0, 0, subjRequired, false, strMapErr(urlDecode)},
		"base64Encode":  {0, 0, subjRequired, false, strMap(base64Encode)},
		"base64Decode":  {0, 0, subjRequired, false, strMapErr(base64Decode)},
		"UUID3":         {1, 1, subjRequired, false, buildNameUUID(3)},
		"UUID5":         {1, 1, subjRequired, false, buildNameUUID(5)},
		"hash":          {1, 1, subjRequired, false, buildHash},

		// Searching
		"startsWith":     {1, 1, subjRequired, false, strPredicate(strings.HasPrefix)},
		"endsWith":       {1, 1, subjRequired, false, strPredicate(strings.HasSuffix)},
		"contains":       {1, 1, subjRequired, false, strPredicate(strings.Contains)},
		"in":             {1, -1, subjRequired, false, buildIn},
		"find":           {1, 1, subjRequired, false, buildRegexMatch(false)},
		"matches":        {1, 1, subjRequired, false, buildRegexMatch(true)},
		"indexOf":        {1, 1, subjRequired, false, buildIndexOf(false)},
		"lastIndexOf":    {1, 1, subjRequired, false, buildIndexOf(true)},
		"jsonPath":       {1, 1, subjRequired, false, buildJSONPath},
		"jsonPathDelete": {1, 1, subjRequired, false, buildJSONPathUpdate(jsonDelete)},
		"jsonPathAdd":    {2, 2, subjRequired, false, buildJSONPathUpdate(jsonAdd)},
		"jsonPathSet":    {2, 2, subjRequired, false, buildJSONPathUpdate(jsonSet)},
		"jsonPathPut":    {3, 3, subjRequired, false, buildJSONPathUpdate(jsonPut)},

		// Mathematical operations
		"plus":      {1, 1, subjRequired, false, buildArith('+')},
		"minus":     {1, 1, subjRequired, false, buildArith('-')},
		"multiply":  {1, 1, subjRequired, false, buildArith('*')},
		"divide":    {1, 1, subjRequired, false, buildArith('/')},
		"mod":       {1, 1, subjRequired, false, buildArith('%')},
		"toRadix":   {1, 2, subjRequired, false, buildToRadix},
		"fromRadix": {1, 1, subjRequired, false, buildFromRadix},
		"random":    {0, 0, subjNone, false, buildRandom},
		"math":      {1, 2, subjOptional, false, buildMath},

		// Dates
		"format":               {1, 2, subjRequired, false, buildFormat},
		"toDate":               {0, 2, subjRequired, false, buildToDate},
		"now":                  {0, 0, subjNone, false, buildNow},
		"toInstant":            {0, 2, subjRequired, false, buildToInstant},
		"formatInstant":        {1, 2, subjRequired, false, buildFormatInstant},
		"toMicros":             {0, 0, subjRequired, false, buildEpoch(1e3)},
		"toNanos":              {0, 0, subjRequired, false, buildEpoch(1)},
		"isValidInstant":       {0, 0, subjRequired, false, buildIsValidInstant},
		"isValidDate":          {1, 2, subjRequired, false, buildIsValidDate},
		"plusDuration":         {1, 2, subjRequired, false, buildDateDuration(1)},
		"minusDuration":        {1, 2, subjRequired, false, buildDateDuration(-1)},
		"plusInstantDuration":  {1, 1, subjRequired, false, buildInstantDuration(1)},
		"minusInstantDuration": {1, 1, subjRequired, false, buildInstantDuration(-1)},

		// Type coercion
		"toString":  {0, 0, subjRequired, false, func(c *call) (node, error) { return toStr(c.subj), nil }},
		"toNumber":  {0, 0, subjRequired, false, func(c *call) (node, error) { return toWhole(c.subj) }},
		"toDecimal": {0, 0, subjRequired, false, func(c *call) (node, error) { return toDec(c.subj) }},

		// Subjectless
		"ip":            {0, 0, subjNone, false, func(c *call) (node, error) { return constString(c.c.cfg.ip), nil }},
		"hostname":      {0, 1, subjNone, false, buildHostname},
		"UUID":          {0, 0, subjNone, false, buildUUID},
		"nextInt":       {0, 0, subjNone, false, buildNextInt},
		"literal":       {1, 1, subjNone, false, buildLiteral},
		"getStateValue": {1, 1, subjNone, false, buildGetStateValue},
		"thread":        {0, 0, subjNone, false, func(c *call) (node, error) { return constString(c.c.cfg.thread), nil }},
		"getUri":        {7, 7, subjNone, false, buildGetURI},

		// Multiple attributes
		"anyAttribute":          {1, -1, subjNone, false, buildMulti(false, multiNamed)},
		"allAttributes":         {1, -1, subjNone, false, buildMulti(true, multiNamed)},
		"anyMatchingAttribute":  {1, -1, subjNone, false, buildMulti(false, multiMatching)},
		"allMatchingAttributes": {1, -1, subjNone, false, buildMulti(true, multiMatching)},
		"anyDelineatedValue":    {2, 2, subjNone, false, buildMulti(false, multiDelineated)},
		"allDelineatedValues":   {2, 2, subjNone, false, buildMulti(true, multiDelineated)},
		"join":                  {1, 1, subjRequired, true, buildJoin},
		"count":                 {0, 0, subjRequired, true, buildCount},
	}
}

// ---- generic shapes ----

// strMap applies f to a String subject; null stays null.
func strMap(f func(string) string) func(*call) (node, error) {
	return func(c *call) (node, error) {
		sub := c.subjStr()
		return strNodeOf(func(e env) (string, bool, error) {
			s, ok, err := sub.str(e)
			if err != nil || !ok {
				return "", false, err
			}
			return f(s), true, nil
		}), nil
	}
}

func strMapErr(f func(string) (string, error)) func(*call) (node, error) {
	return func(c *call) (node, error) {
		sub := c.subjStr()
		at := c.site
		return strNodeOf(func(e env) (string, bool, error) {
			s, ok, err := sub.str(e)
			if err != nil || !ok {
				return "", false, err
			}
			r, err := f(s)
			if err != nil {
				return "", false, at.fail(err)
			}
			return r, true, nil
		}), nil
	}
}

// strPredicate tests a String subject against a String argument; a null
// subject or argument is false.
func strPredicate(f func(s, arg string) bool) func(*call) (node, error) {
	return func(c *call) (node, error) {
		sub := c.subjStr()
		if k, ok := c.args[0].(*constNode); ok && !k.v.IsNull() {
			lit := k.s
			return boolNodeOf(func(e env) (bool, bool, error) {
				s, ok, err := sub.str(e)
				if err != nil || !ok {
					return false, err == nil, err
				}
				return f(s, lit), true, nil
			}), nil
		}
		arg := c.str(0)
		return boolNodeOf(func(e env) (bool, bool, error) {
			s, ok, err := sub.str(e)
			if err != nil || !ok {
				return false, err == nil, err
			}
			a, ok, err := arg.str(e)
			if err != nil || !ok {
				return false, err == nil, err
			}
			return f(s, a), true, nil
		}), nil
	}
}

// strCut is the substringBefore/After family: a null subject gives "".
func strCut(f func(s, sep string) string) func(*call) (node, error) {
	return func(c *call) (node, error) {
		sub, arg := c.subjStr(), c.str(0)
		return strNodeOf(func(e env) (string, bool, error) {
			s, ok, err := sub.str(e)
			if err != nil || !ok {
				return "", err == nil, err
			}
			a, _, err := arg.str(e)
			if err != nil {
				return "", false, err
			}
			return f(s, a), true, nil
		}), nil
	}
}

// An empty separator leaves the subject whole, as NiFi's evaluators do.
func substringBefore(s, sep string) string {
	if sep == "" {
		return s
	}
	if i := strings.Index(s, sep); i >= 0 {
		return s[:i]
	}
	return s
}

func substringBeforeLast(s, sep string) string {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i]
	}
	return s
}

func substringAfter(s, sep string) string {
	if sep == "" {
		return s
	}
	if i := strings.Index(s, sep); i >= 0 {
		return s[i+len(sep):]
	}
	return s
}

func substringAfterLast(s, sep string) string {
	if i := strings.LastIndex(s, sep); i >= 0 && i < len(s) {
		return s[i+len(sep):]
	}
	return s
}

// ---- boolean logic ----

func buildIsNull(wantNull bool) func(*call) (node, error) {
	return func(c *call) (node, error) {
		sub := c.subj
		if sn, ok := sub.(strNode); ok && sub.kind() == TypeString {
			return boolNodeOf(func(e env) (bool, bool, error) {
				_, ok, err := sn.str(e)
				return ok != wantNull, err == nil, err
			}), nil
		}
		return boolNodeOf(func(e env) (bool, bool, error) {
			v, err := sub.eval(e)
			return v.IsNull() == wantNull, err == nil, err
		}), nil
	}
}

func buildIsEmpty(c *call) (node, error) {
	sub := c.subjStr()
	return boolNodeOf(func(e env) (bool, bool, error) {
		s, ok, err := sub.str(e)
		if err != nil {
			return false, false, err
		}
		return !ok || javaTrim(s) == "", true, nil
	}), nil
}

func buildEquals(c *call) (node, error) {
	sub, arg := c.subj, c.args[0]
	switch sub.kind() {
	case TypeString:
		ss := toStr(sub)
		if k, ok := arg.(*constNode); ok && !k.v.IsNull() {
			lit := k.s
			return boolNodeOf(func(e env) (bool, bool, error) {
				s, ok, err := ss.str(e)
				if err != nil {
					return false, false, err
				}
				return ok && s == lit, true, nil
			}), nil
		}
		as := toStr(arg)
		return boolNodeOf(func(e env) (bool, bool, error) {
			s, ok, err := ss.str(e)
			if err != nil || !ok {
				return false, err == nil, err
			}
			a, ok, err := as.str(e)
			if err != nil || !ok {
				return false, err == nil, err
			}
			return s == a, true, nil
		}), nil
	case TypeBoolean:
		sb, _ := toBool(sub)
		as := toStr(arg)
		return boolNodeOf(func(e env) (bool, bool, error) {
			b, ok, err := sb.boolean(e)
			if err != nil || !ok {
				return false, err == nil, err
			}
			a, ok, err := as.str(e)
			if err != nil || !ok {
				return false, err == nil, err
			}
			return b == strings.EqualFold(javaTrim(a), "true"), true, nil
		}), nil
	case TypeDate:
		ad, err := toDate(arg)
		if err != nil {
			return nil, err
		}
		return valueEquals(sub, ad, func(a, b Value) bool { return a.i == b.i }), nil
	case TypeInstant:
		ai, err := toInstantNode(arg)
		if err != nil {
			return nil, err
		}
		return valueEquals(sub, ai, func(a, b Value) bool { return a.i == b.i && a.n == b.n }), nil
	}
	an, err := toNum(arg)
	if err != nil {
		return nil, err
	}
	return valueEquals(sub, an, func(a, b Value) bool {
		if a.t == TypeNumber && b.t == TypeNumber {
			return a.i == b.i
		}
		af, _ := a.Float()
		bf, _ := b.Float()
		return af == bf
	}), nil
}

func valueEquals(a, b node, eq func(a, b Value) bool) node {
	return boolNodeOf(func(e env) (bool, bool, error) {
		av, err := a.eval(e)
		if err != nil || av.IsNull() {
			return false, err == nil, err
		}
		bv, err := b.eval(e)
		if err != nil || bv.IsNull() {
			return false, err == nil, err
		}
		return eq(av, bv), true, nil
	})
}

func buildCompare(test func(int) bool) func(*call) (node, error) {
	return func(c *call) (node, error) {
		a, err := toNum(c.subj)
		if err != nil {
			return nil, err
		}
		b, err := toNum(c.args[0])
		if err != nil {
			return nil, err
		}
		return boolNodeOf(func(e env) (bool, bool, error) {
			av, err := a.eval(e)
			if err != nil || av.IsNull() {
				return false, err == nil, err
			}
			bv, err := b.eval(e)
			if err != nil || bv.IsNull() {
				return false, err == nil, err
			}
			if av.t == TypeNumber && bv.t == TypeNumber {
				switch {
				case av.i < bv.i:
					return test(-1), true, nil
				case av.i > bv.i:
					return test(1), true, nil
				}
				return test(0), true, nil
			}
			af, _ := av.Float()
			bf, _ := bv.Float()
			switch {
			case math.IsNaN(af) || math.IsNaN(bf):
				return false, true, nil
			case af < bf:
				return test(-1), true, nil
			case af > bf:
				return test(1), true, nil
			}
			return test(0), true, nil
		}), nil
	}
}

func buildAndOr(and bool) func(*call) (node, error) {
	return func(c *call) (node, error) {
		a, err := toBool(c.subj)
		if err != nil {
			return nil, err
		}
		b, err := toBool(c.args[0])
		if err != nil {
			return nil, err
		}
		// A null operand counts as false, as NiFi's evaluators test
		// Boolean.TRUE.equals(value).
		return boolNodeOf(func(e env) (bool, bool, error) {
			av, aok, err := a.boolean(e)
			if err != nil {
				return false, false, err
			}
			av = av && aok
			if av != and {
				return av, true, nil
			}
			bv, bok, err := b.boolean(e)
			if err != nil {
				return false, false, err
			}
			return bv && bok, true, nil
		}), nil
	}
}

func buildNot(c *call) (node, error) {
	a, err := toBool(c.subj)
	if err != nil {
		return nil, err
	}
	return boolNodeOf(func(e env) (bool, bool, error) {
		b, ok, err := a.boolean(e)
		if err != nil || !ok {
			return false, false, err
		}
		return !b, true, nil
	}), nil
}

func buildIfElse(c *call) (node, error) {
	cond, err := toBool(c.subj)
	if err != nil {
		return nil, err
	}
	yes, no := c.str(0), c.str(1)
	// A null condition takes the false branch, as Boolean.TRUE.equals(null) is false.
	return strNodeOf(func(e env) (string, bool, error) {
		b, ok, err := cond.boolean(e)
		if err != nil {
			return "", false, err
		}
		if b && ok {
			return yes.str(e)
		}
		return no.str(e)
	}), nil
}

func buildIn(c *call) (node, error) {
	sub := c.subjStr()
	args := make([]strNode, len(c.args))
	for i := range c.args {
		args[i] = c.str(i)
	}
	return boolNodeOf(func(e env) (bool, bool, error) {
		s, ok, err := sub.str(e)
		if err != nil || !ok {
			return false, err == nil, err
		}
		for _, a := range args {
			v, ok, err := a.str(e)
			if err != nil {
				return false, false, err
			}
			if ok && v == s {
				return true, true, nil
			}
		}
		return false, true, nil
	}), nil
}

// ---- string manipulation ----

func buildSubstring(c *call) (node, error) {
	sub := c.subjStr()
	start, err := toWhole(c.args[0])
	if err != nil {
		return nil, err
	}
	var end node
	if len(c.args) == 2 {
		if end, err = toWhole(c.args[1]); err != nil {
			return nil, err
		}
	}
	at := c.site
	return strNodeOf(func(e env) (string, bool, error) {
		s, ok, err := sub.str(e)
		if err != nil || !ok {
			return "", err == nil, err
		}
		sv, err := start.eval(e)
		if err != nil {
			return "", false, err
		}
		if sv.IsNull() {
			return "", false, at.failf("starting index is not a number")
		}
		n := int64(javaLen(s))
		from, to := sv.i, n
		if end != nil {
			ev, err := end.eval(e)
			if err != nil {
				return "", false, err
			}
			if ev.IsNull() {
				return "", false, at.failf("ending index is not a number")
			}
			to = ev.i
		}
		// Out-of-range indexes give "", as the guide specifies; only a
		// start past the end is an error.
		if from < 0 || from > n || to < 0 || to > n {
			return "", true, nil
		}
		if from > to {
			return "", false, at.failf("starting index %d is larger than ending index %d", from, to)
		}
		return javaSubstring(s, int(from), int(to)), true, nil
	}), nil
}

func buildAppend(prepend bool) func(*call) (node, error) {
	return func(c *call) (node, error) {
		sub, arg := c.subjStr(), c.str(0)
		max := c.c.cfg.maxResult
		at := c.site
		return strNodeOf(func(e env) (string, bool, error) {
			s, _, err := sub.str(e)
			if err != nil {
				return "", false, err
			}
			a, _, err := arg.str(e)
			if err != nil {
				return "", false, err
			}
			if len(s)+len(a) > max {
				return "", false, at.fail(fmt.Errorf("result exceeds %d bytes: %w", max, ErrResultTooLarge))
			}
			if prepend {
				return a + s, true, nil
			}
			return s + a, true, nil
		}), nil
	}
}

func buildReplace(c *call) (node, error) {
	sub, from, to := c.subjStr(), c.str(0), c.str(1)
	max := c.c.cfg.maxResult
	at := c.site
	return strNodeOf(func(e env) (string, bool, error) {
		s, ok, err := sub.str(e)
		if err != nil || !ok {
			return "", false, err
		}
		f, _, err := from.str(e)
		if err != nil {
			return "", false, err
		}
		t, _, err := to.str(e)
		if err != nil {
			return "", false, err
		}
		if f == "" && len(s) > 0 && (len(s)+1)*len(t)+len(s) > max {
			return "", false, at.fail(fmt.Errorf("result exceeds %d bytes: %w", max, ErrResultTooLarge))
		}
		if f != "" && len(t) > len(f) && strings.Count(s, f)*(len(t)-len(f))+len(s) > max {
			return "", false, at.fail(fmt.Errorf("result exceeds %d bytes: %w", max, ErrResultTooLarge))
		}
		return strings.ReplaceAll(s, f, t), true, nil
	}), nil
}

func buildReplaceNull(c *call) (node, error) {
	sub, arg := c.subjStr(), c.str(0)
	return strNodeOf(func(e env) (string, bool, error) {
		s, ok, err := sub.str(e)
		if err != nil || ok {
			return s, ok, err
		}
		return arg.str(e)
	}), nil
}

func buildReplaceEmpty(c *call) (node, error) {
	sub, arg := c.subjStr(), c.str(0)
	return strNodeOf(func(e env) (string, bool, error) {
		s, ok, err := sub.str(e)
		if err != nil || (ok && javaTrim(s) != "") {
			return s, ok, err
		}
		return arg.str(e)
	}), nil
}

func buildLength(c *call) (node, error) {
	sub := c.subjStr()
	return &vNode{t: TypeNumber, fn: func(e env) (Value, error) {
		s, _, err := sub.str(e)
		if err != nil {
			return Null, err
		}
		return NumberValue(int64(javaLen(s))), nil
	}}, nil
}

// maxELStringDepth bounds evaluateELString re-entering itself through
// attribute values that contain further evaluateELString calls.
const maxELStringDepth = 16

func buildEvaluateELString(c *call) (node, error) {
	sub := c.subjStr()
	// What evaluateELString evaluates sees no parameters, as NiFi's
	// ParametersDisabledEvaluationContext: an attribute value must not be
	// able to read a secret by naming it.
	noParams := *c.c.cfg
	noParams.noParams = true
	cfg, seq := &noParams, c.c.seq
	at := c.site
	return strNodeOf(func(e env) (string, bool, error) {
		s, ok, err := sub.str(e)
		if err != nil || !ok {
			return "", false, err
		}
		if e.depth >= maxELStringDepth {
			return "", false, at.failf("evaluateELString nested deeper than %d levels", maxELStringDepth)
		}
		x, err := compileWith(s, cfg, seq)
		if err != nil {
			return "", false, at.fail(err)
		}
		inner := e
		inner.depth++
		if x.root != nil {
			v, err := x.root.eval(inner)
			if err != nil {
				return "", false, err
			}
			return v.String(), true, nil
		}
		if x.parts == nil {
			return x.text, true, nil
		}
		r, err := x.concat(inner)
		return r, err == nil, err
	}), nil
}

// buildLiteral is NiFi's ToLiteralEvaluator: the argument as a String
// (literal(5) is the text "5", which later functions convert as they
// need). NiFi renders the argument's result with String.valueOf, so a null
// argument is the text "null".
func buildLiteral(c *call) (node, error) {
	if k, ok := c.args[0].(*constNode); ok {
		return constString(k.s), nil
	}
	if _, ok := c.args[0].(nullString); ok {
		return constString("null"), nil
	}
	arg := toStr(c.args[0])
	return strNodeOf(func(e env) (string, bool, error) {
		s, ok, err := arg.str(e)
		if err != nil {
			return "", false, err
		}
		if !ok {
			return "null", true, nil
		}
		return s, true, nil
	}), nil
}

func buildRepeat(c *call) (node, error) {
	sub := c.subjStr()
	minN, err := toWhole(c.args[0])
	if err != nil {
		return nil, err
	}
	var maxN node
	if len(c.args) == 2 {
		if maxN, err = toWhole(c.args[1]); err != nil {
			return nil, err
		}
	}
	limit := c.c.cfg.maxResult
	at := c.site
	return strNodeOf(func(e env) (string, bool, error) {
		s, ok, err := sub.str(e)
		if err != nil {
			return "", false, err
		}
		if !ok {
			return "", true, nil // RepeatEvaluator: a null subject repeats to ""
		}
		mv, err := minN.eval(e)
		if err != nil {
			return "", false, err
		}
		if mv.IsNull() || mv.i <= 0 {
			return "", false, at.failf("number of repeats must be > 0")
		}
		n := mv.i
		if maxN != nil {
			xv, err := maxN.eval(e)
			if err != nil {
				return "", false, err
			}
			if xv.IsNull() || xv.i < mv.i {
				return "", false, at.failf("maximum number of repeats must be at least the minimum %d", mv.i)
			}
			n = mv.i + randInt64n(xv.i-mv.i+1)
		}
		if len(s) > 0 && n > int64(limit/len(s)) {
			return "", false, at.fail(fmt.Errorf("repeating %d bytes %d times exceeds %d bytes: %w", len(s), n, limit, ErrResultTooLarge))
		}
		return strings.Repeat(s, int(n)), true, nil
	}), nil
}

func buildPad(left bool) func(*call) (node, error) {
	return func(c *call) (node, error) {
		sub := c.subjStr()
		length, err := toWhole(c.args[0])
		if err != nil {
			return nil, err
		}
		var pad strNode = constString("_")
		if len(c.args) == 2 {
			pad = c.str(1)
		}
		limit := c.c.cfg.maxResult
		at := c.site
		return strNodeOf(func(e env) (string, bool, error) {
			s, ok, err := sub.str(e)
			if err != nil || !ok {
				return "", false, err
			}
			lv, err := length.eval(e)
			if err != nil {
				return "", false, err
			}
			p, pok, err := pad.str(e)
			if err != nil {
				return "", false, err
			}
			cur := int64(javaLen(s))
			if lv.IsNull() || !pok || p == "" || lv.i <= cur || lv.i > math.MaxInt32 {
				return s, true, nil
			}
			if lv.i > int64(limit) {
				return "", false, at.fail(fmt.Errorf("padding to %d exceeds %d bytes: %w", lv.i, limit, ErrResultTooLarge))
			}
			need := int(lv.i - cur)
			pu := []rune(p)
			var b strings.Builder
			for i := 0; i < need; i++ {
				b.WriteRune(pu[i%len(pu)])
			}
			if left {
				return b.String() + s, true, nil
			}
			return s + b.String(), true, nil
		}), nil
	}
}

func buildGetDelimitedField(c *call) (node, error) {
	sub := c.subjStr()
	idx, err := toWhole(c.args[0])
	if err != nil {
		return nil, err
	}
	strArg := func(i int, def string) strNode {
		if len(c.args) > i {
			return c.str(i)
		}
		return constString(def)
	}
	delim, quote, escape := strArg(1, ","), strArg(2, `"`), strArg(3, `\`)
	var strip boolNode = constOf(BoolValue(false))
	if len(c.args) > 4 {
		if strip, err = toBool(c.args[4]); err != nil {
			return nil, err
		}
	}
	at := c.site
	return strNodeOf(func(e env) (string, bool, error) {
		s, ok, err := sub.str(e)
		if err != nil || !ok {
			return "", err == nil, err
		}
		iv, err := idx.eval(e)
		if err != nil {
			return "", false, err
		}
		if iv.IsNull() || iv.i < 1 {
			return "", false, at.failf("field index must be a number of at least 1")
		}
		var chars [3]rune
		for i, n := range []strNode{delim, quote, escape} {
			v, _, err := n.str(e)
			if err != nil {
				return "", false, err
			}
			r := []rune(v)
			if len(r) != 1 {
				return "", false, at.failf("delimiter, quote and escape must each be one character, got %q", v)
			}
			chars[i] = r[0]
		}
		st, _, err := strip.boolean(e)
		if err != nil {
			return "", false, err
		}
		return delimitedField(s, int(iv.i), chars[0], chars[1], chars[2], st), true, nil
	}), nil
}

// delimitedField returns the 1-based field of s, honouring quoting and
// escaping; with strip, quote and escape characters are removed.
func delimitedField(s string, want int, delim, quote, escape rune, strip bool) string {
	field := 1
	var b strings.Builder
	inQuote, escaped := false, false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case r == escape:
			escaped = true
			if strip {
				continue
			}
		case r == quote:
			inQuote = !inQuote
			if strip {
				continue
			}
		case r == delim && !inQuote:
			if field == want {
				return b.String()
			}
			field++
			continue
		}
		if field == want {
			b.WriteRune(r)
		}
	}
	if field == want {
		return b.String()
	}
	return ""
}

// ---- searching ----

func buildIndexOf(last bool) func(*call) (node, error) {
	return func(c *call) (node, error) {
		sub, arg := c.subjStr(), c.str(0)
		return &vNode{t: TypeNumber, fn: func(e env) (Value, error) {
			s, ok, err := sub.str(e)
			if err != nil {
				return Null, err
			}
			if !ok {
				return NumberValue(-1), nil
			}
			a, _, err := arg.str(e)
			if err != nil {
				return Null, err
			}
			var i int
			if last {
				i = strings.LastIndex(s, a)
			} else {
				i = strings.Index(s, a)
			}
			return NumberValue(int64(javaIndex(s, i))), nil
		}}, nil
	}
}

// ---- mathematics ----

func buildArith(op byte) func(*call) (node, error) {
	return func(c *call) (node, error) {
		a, err := toNum(c.subj)
		if err != nil {
			return nil, err
		}
		b, err := toNum(c.args[0])
		if err != nil {
			return nil, err
		}
		at := c.site
		return &vNode{t: typeAnyNumber, fn: func(e env) (Value, error) {
			av, err := a.eval(e)
			if err != nil || av.IsNull() {
				return Null, err
			}
			bv, err := b.eval(e)
			if err != nil || bv.IsNull() {
				return Null, err
			}
			if av.t == TypeNumber && bv.t == TypeNumber {
				x, y := av.i, bv.i
				switch op {
				case '+':
					return NumberValue(x + y), nil
				case '-':
					return NumberValue(x - y), nil
				case '*':
					return NumberValue(x * y), nil
				case '/':
					if y == 0 {
						return Null, at.failf("division by zero")
					}
					return NumberValue(x / y), nil
				default:
					if y == 0 {
						return Null, at.failf("division by zero")
					}
					return NumberValue(x % y), nil
				}
			}
			x, _ := av.Float()
			y, _ := bv.Float()
			switch op {
			case '+':
				return DecimalValue(x + y), nil
			case '-':
				return DecimalValue(x - y), nil
			case '*':
				return DecimalValue(x * y), nil
			case '/':
				return DecimalValue(x / y), nil
			}
			return DecimalValue(math.Mod(x, y)), nil
		}}, nil
	}
}

func buildToRadix(c *call) (node, error) {
	sub, err := toWhole(c.subj)
	if err != nil {
		return nil, err
	}
	radix, err := toWhole(c.args[0])
	if err != nil {
		return nil, err
	}
	var width node = constOf(NumberValue(0))
	if len(c.args) == 2 {
		if width, err = toWhole(c.args[1]); err != nil {
			return nil, err
		}
	}
	at := c.site
	return strNodeOf(func(e env) (string, bool, error) {
		v, err := sub.eval(e)
		if err != nil || v.IsNull() {
			return "", false, err
		}
		r, err := radix.eval(e)
		if err != nil {
			return "", false, err
		}
		if r.IsNull() || r.i < 2 || r.i > 36 {
			return "", false, at.failf("radix must be between 2 and 36")
		}
		w, err := width.eval(e)
		if err != nil {
			return "", false, err
		}
		s := strconv.FormatInt(v.i, int(r.i))
		neg := strings.HasPrefix(s, "-")
		digits := strings.TrimPrefix(s, "-")
		if w.i > 64 {
			return "", false, at.failf("padding width %d is too large", w.i)
		}
		if pad := int(w.i) - len(digits); pad > 0 {
			digits = strings.Repeat("0", pad) + digits
		}
		if neg {
			digits = "-" + digits
		}
		return digits, true, nil
	}), nil
}

func buildFromRadix(c *call) (node, error) {
	sub := c.subjStr()
	radix, err := toWhole(c.args[0])
	if err != nil {
		return nil, err
	}
	at := c.site
	return &vNode{t: TypeNumber, fn: func(e env) (Value, error) {
		s, ok, err := sub.str(e)
		if err != nil || !ok {
			return Null, err
		}
		r, err := radix.eval(e)
		if err != nil {
			return Null, err
		}
		if r.IsNull() || r.i < 2 || r.i > 36 {
			return Null, at.failf("radix must be between 2 and 36")
		}
		n, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), int(r.i), 64)
		if err != nil {
			return Null, at.failf("%q is not a number in radix %d", s, r.i)
		}
		return NumberValue(n), nil
	}}, nil
}

func buildRandom(*call) (node, error) {
	return &vNode{t: TypeNumber, fn: func(env) (Value, error) {
		// Java's Math.abs(Random.nextLong()): a non-negative long.
		return NumberValue(randInt64n(math.MaxInt64)), nil
	}}, nil
}

// ---- type coercion and dates ----

func (c *call) zone(i int) (func(e env) (*time.Location, error), error) {
	if len(c.args) <= i {
		return func(e env) (*time.Location, error) { return e.cfg.loc, nil }, nil
	}
	if k, ok := c.args[i].(*constNode); ok {
		loc := resolveZone(k.s, c.c.cfg)
		return func(env) (*time.Location, error) { return loc, nil }, nil
	}
	arg := c.str(i)
	return func(e env) (*time.Location, error) {
		s, ok, err := arg.str(e)
		if err != nil {
			return nil, err
		}
		if !ok {
			return e.cfg.loc, nil
		}
		return resolveZone(s, e.cfg), nil
	}, nil
}

// resolveZone follows java.util.TimeZone.getTimeZone: unknown IDs are GMT.
func resolveZone(id string, cfg *config) *time.Location {
	if l, ok := javatime.ResolveZone(id, cfg.loadZone); ok {
		return l
	}
	return time.FixedZone("GMT", 0)
}

// layoutArg returns the compiled pattern of argument i: compiled once when
// it is a literal (an invalid literal pattern is a compile error).
func (c *call) layoutArg(i int, formatter bool) (func(e env) (*javatime.Layout, error), error) {
	comp := javatime.Compile
	if formatter {
		comp = javatime.CompileFormatter
	}
	if k, ok := c.args[i].(*constNode); ok {
		l, err := comp(k.s)
		if err != nil {
			return nil, err
		}
		return func(env) (*javatime.Layout, error) { return l, nil }, nil
	}
	arg := c.str(i)
	at := c.site
	return func(e env) (*javatime.Layout, error) {
		s, _, err := arg.str(e)
		if err != nil {
			return nil, err
		}
		l, err := comp(s)
		if err != nil {
			return nil, at.fail(err)
		}
		return l, nil
	}, nil
}

// layoutZone compiles the (format, time zone) arguments 0 and 1 that the
// date functions share; the function it returns reads both for a record.
func (c *call) layoutZone(formatter bool) (func(e env) (*javatime.Layout, *time.Location, error), error) {
	layout, err := c.layoutArg(0, formatter)
	if err != nil {
		return nil, err
	}
	zone, err := c.zone(1)
	if err != nil {
		return nil, err
	}
	return func(e env) (*javatime.Layout, *time.Location, error) {
		l, err := layout(e)
		if err != nil {
			return nil, nil, err
		}
		loc, err := zone(e)
		if err != nil {
			return nil, nil, err
		}
		return l, loc, nil
	}, nil
}

func buildFormat(c *call) (node, error) {
	return buildFormatTime(c, toDate, false, func(l *javatime.Layout, v Value, loc *time.Location) string {
		var buf [64]byte
		return string(l.AppendFormat(buf[:0], time.UnixMilli(v.i).In(loc)))
	})
}

// buildFormatTime is format and formatInstant: the subject converted by
// subject (to a Date or an Instant), then written with the (format, time
// zone) arguments by write; a null subject gives null.
func buildFormatTime(c *call, subject func(node) (node, error), formatter bool, write func(l *javatime.Layout, v Value, loc *time.Location) string) (node, error) {
	sub, err := subject(c.subj)
	if err != nil {
		return nil, err
	}
	layoutZone, err := c.layoutZone(formatter)
	if err != nil {
		return nil, err
	}
	return strNodeOf(func(e env) (string, bool, error) {
		v, err := sub.eval(e)
		if err != nil || v.IsNull() {
			return "", false, err
		}
		l, loc, err := layoutZone(e)
		if err != nil {
			return "", false, err
		}
		return write(l, v, loc), true, nil
	}), nil
}

func buildToDate(c *call) (node, error) {
	if len(c.args) == 0 || c.subj.kind() != TypeString {
		w, err := toWhole(c.subj)
		if err != nil {
			return nil, err
		}
		return &vNode{t: TypeDate, fn: func(e env) (Value, error) {
			v, err := w.eval(e)
			if err != nil || v.IsNull() {
				return Null, err
			}
			return dateMillis(v.i, e.cfg.loc), nil
		}}, nil
	}
	sub := c.subjStr()
	layoutZone, err := c.layoutZone(false)
	if err != nil {
		return nil, err
	}
	at := c.site
	return &vNode{t: TypeDate, fn: func(e env) (Value, error) {
		s, ok, err := sub.str(e)
		if err != nil || !ok {
			return Null, err
		}
		l, loc, err := layoutZone(e)
		if err != nil {
			return Null, err
		}
		t, err := l.ParseAt(s, loc, e.cfg.now())
		if err != nil {
			return Null, at.fail(fmt.Errorf("cannot parse attribute value as a date; date format: %s; attribute value: %s: %w", l.Pattern(), s, err))
		}
		return dateMillis(t.UnixMilli(), e.cfg.loc), nil
	}}, nil
}

func buildNow(*call) (node, error) {
	return &vNode{t: TypeDate, fn: func(e env) (Value, error) {
		return dateMillis(e.cfg.now().UnixMilli(), e.cfg.loc), nil
	}}, nil
}

// toInstantNode converts Date, Number (epoch milliseconds) and ISO-8601
// text to an Instant.
func toInstantNode(n node) (node, error) {
	switch n.kind() {
	case TypeInstant:
		return n, nil
	case TypeBoolean:
		return nil, typeError{TypeBoolean, TypeInstant}
	}
	return &vNode{t: TypeInstant, fn: func(e env) (Value, error) {
		v, err := n.eval(e)
		if err != nil {
			return Null, err
		}
		return castInstant(v)
	}}, nil
}

func castInstant(v Value) (Value, error) {
	switch v.t {
	case TypeInstant, TypeNull:
		return v, nil
	case TypeDate, TypeNumber:
		return InstantValue(time.UnixMilli(v.i)), nil
	case TypeDecimal:
		return InstantValue(time.UnixMilli(javaToLong(v.f))), nil
	case TypeString:
		s := javaTrim(v.s)
		if isWholeText(s) {
			ms, err := strconv.ParseInt(s, 10, 64)
			if err == nil {
				return InstantValue(time.UnixMilli(ms)), nil
			}
		}
		t, ok := parseInstantText(s)
		if !ok {
			return Null, fmt.Errorf("could not convert %q to an instant: expected ISO-8601 such as 2024-01-31T10:15:30Z, RFC 1123 such as Thu, 01 Dec 1994 16:00:00 GMT, or epoch milliseconds", s)
		}
		return InstantValue(t), nil
	}
	return Null, nil
}

func buildToInstant(c *call) (node, error) {
	if len(c.args) == 1 {
		return nil, errors.New("takes a format and a time zone")
	}
	// As NiFi's ExpressionCompiler: only a String subject with a format and
	// a zone is parsed; any other subject is epoch milliseconds
	// (NumberToInstantEvaluator), whatever the arguments.
	if len(c.args) == 0 || c.subj.kind() != TypeString {
		return toInstantNode(c.subj)
	}
	sub := c.subjStr()
	layoutZone, err := c.layoutZone(true)
	if err != nil {
		return nil, err
	}
	at := c.site
	return &vNode{t: TypeInstant, fn: func(e env) (Value, error) {
		s, ok, err := sub.str(e)
		if err != nil || !ok {
			return Null, err
		}
		l, loc, err := layoutZone(e)
		if err != nil {
			return Null, err
		}
		t, err := l.ParseExact(s, loc)
		if err != nil {
			return Null, at.fail(fmt.Errorf("cannot parse %q as an instant with format %s: %w", s, l.Pattern(), err))
		}
		return InstantValue(t), nil
	}}, nil
}

func buildFormatInstant(c *call) (node, error) {
	return buildFormatTime(c, toInstantNode, true, func(l *javatime.Layout, v Value, loc *time.Location) string {
		return l.Format(time.Unix(v.i, int64(v.n)).In(loc))
	})
}

// buildEpoch converts an Instant to microseconds (unit 1e3) or nanoseconds
// (unit 1) since the epoch.
func buildEpoch(unit int64) func(*call) (node, error) {
	return func(c *call) (node, error) {
		sub, err := toInstantNode(c.subj)
		if err != nil {
			return nil, err
		}
		return &vNode{t: TypeNumber, fn: func(e env) (Value, error) {
			v, err := sub.eval(e)
			if err != nil || v.IsNull() {
				return Null, err
			}
			return NumberValue(v.i*(1e9/unit) + int64(v.n)/unit), nil
		}}, nil
	}
}

// ---- subjectless ----

func buildHostname(c *call) (node, error) {
	fqdn := false
	if len(c.args) == 1 {
		k, ok := c.args[0].(*constNode)
		if !ok || k.v.t != TypeBoolean {
			return nil, errors.New("takes an optional boolean literal (true for the fully qualified name)")
		}
		fqdn = k.v.i != 0
	}
	if fqdn {
		return constString(c.c.cfg.fqdn), nil
	}
	return constString(c.c.cfg.hostname), nil
}

func buildNextInt(*call) (node, error) {
	return &vNode{t: TypeNumber, fn: func(e env) (Value, error) {
		return NumberValue(e.seq.Add(1) - 1), nil
	}}, nil
}

func buildGetStateValue(c *call) (node, error) {
	key := c.str(0)
	return strNodeOf(func(e env) (string, bool, error) {
		k, ok, err := key.str(e)
		if err != nil || !ok || e.cfg.state == nil {
			return "", false, err
		}
		v, ok := e.cfg.state(k)
		return v, ok, nil
	}), nil
}
