package jsonpath

import "regexp"

// query is one JSONPath query: $ or @ followed by segments.
type query struct {
	relative bool // @ (current node) rather than $ (root)
	segs     []segment
	singular bool // only child segments with exactly one name or index selector
}

// segment is a child segment ([...], .name, .*) or a descendant segment (..).
type segment struct {
	desc bool
	sels []selector
}

type selKind uint8

const (
	selName selKind = iota
	selWildcard
	selIndex
	selSlice
	selFilter
)

type selector struct {
	kind   selKind
	name   string
	index  int64
	slice  sliceSel
	filter logicalExpr
}

type sliceSel struct {
	start, end, step          int64
	hasStart, hasEnd, hasStep bool
}

// logicalExpr is a filter expression producing LogicalType.
type logicalExpr interface {
	test(e *evaluator, cur any) bool
}

type orExpr []logicalExpr
type andExpr []logicalExpr
type notExpr struct{ x logicalExpr }

// existExpr is a filter query used as a test: true when it selects a node.
type existExpr struct{ q *query }

// funcTest is a function call used as a test (LogicalType or NodesType result).
type funcTest struct{ f *funcCall }

type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

type cmpExpr struct {
	op   cmpOp
	l, r comparable
}

// comparable produces a ValueType: a value, or Nothing (ok == false).
type comparable interface {
	value(e *evaluator, cur any) (v any, ok bool)
}

type literal struct{ v any }

type singularQuery struct{ q *query }

// exprType is one of the three RFC 9535 function-extension types.
type exprType uint8

const (
	typeValue exprType = iota
	typeLogical
	typeNodes
)

func (t exprType) String() string {
	switch t {
	case typeValue:
		return "ValueType"
	case typeLogical:
		return "LogicalType"
	}
	return "NodesType"
}

type funcID uint8

const (
	fnLength funcID = iota
	fnCount
	fnMatch
	fnSearch
	fnValue
)

type funcDef struct {
	id     funcID
	params []exprType
	result exprType
}

var funcDefs = map[string]funcDef{
	"length": {fnLength, []exprType{typeValue}, typeValue},
	"count":  {fnCount, []exprType{typeNodes}, typeValue},
	"match":  {fnMatch, []exprType{typeValue, typeValue}, typeLogical},
	"search": {fnSearch, []exprType{typeValue, typeValue}, typeLogical},
	"value":  {fnValue, []exprType{typeNodes}, typeValue},
}

// funcArg is one argument, already converted to the declared parameter type.
type funcArg struct {
	typ     exprType
	val     comparable  // typeValue
	logical logicalExpr // typeLogical
	nodes   *query      // typeNodes
}

type funcCall struct {
	name string
	def  funcDef
	args []funcArg
	// re caches the compiled I-Regexp when match/search get a literal
	// pattern, so the hot path does not recompile it per node.
	re    *regexp.Regexp
	reBad bool // the literal pattern is not a valid I-Regexp
}
