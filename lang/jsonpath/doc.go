// Package jsonpath implements JSONPath queries (RFC 9535) over the jsonv
// value model, plus the non-standard forms that Connect+ configurations use.
//
// Connect+ users write paths for Jayway JsonPath (the engine inside NiFi),
// so real configurations contain forms RFC 9535 rejects. Compile accepts
// these on purpose (see the spec §4.7):
//
//	$.[*]          same as $[*]      (a dot followed by a bracketed selection)
//	$.['errors']   same as $['errors']
//	$.customer-id  a '-' inside a dot-notation member name
//
// CompileStrict accepts exactly the RFC 9535 grammar, and CompileMulti splits
// the comma-separated lists used by responseSplitPath
// ("$.result.errors.data.*,$.result.success.data.*") and concatenates the
// results of each path in order.
//
// A compiled *Path is immutable and safe for concurrent use. Evaluation never
// panics: a recovered panic yields an empty result rather than crashing the
// block that called it.
package jsonpath
