// Package spel evaluates Connect+ mapping values: the plain column names,
// hdr{}, const{} and exp{…} forms of transform_header_data's headersMapping
// and of field maps (spec §4.3), including the legacy sum{}, base64{} and
// bare-expression forms found in production mappings.
//
// exp{…} holds a subset of the Spring Expression Language with SpEL
// semantics: literals ('it”s', "double", 42, 42L, 1.5, true, null),
// + - * / % ^ with Java numeric promotion (int, long, double; int arithmetic
// wraps and divides like Java), comparisons (== != < <= > >= and eq ne lt le
// gt ge, matches), && || ! (and or not), cond ? a : b, the Elvis a ?: b,
// parentheses, String methods (concat, substring, startsWith, …), inline
// lists {'A','B'}.contains(x), indexing, T(Math).floor/ceil/round/abs/max/
// min/pow/sqrt, Integer.parseInt, Long.parseLong, Double.parseDouble,
// String.valueOf, plus the MVEL-style forms the Connect+ docs show:
// assignment (var1 = 'Hello', kept in an Env for the rest of the record)
// and bare calls (toUpperCase('hello')).
//
// Column references are resolved when the expression is parsed, never by
// pasting text into the source: hdr{Col} (also hdr"Col", hdr'Col',
// hdr['Col']) is a value node, and 'hdr{Col}' inside a string literal is a
// template part. A cell holding quotes or operators therefore cannot change
// the expression. Outside quotes a cell is numeric when it looks like a
// number (so hdr{A} - hdr{B} subtracts), null when missing or empty, and a
// String otherwise; a numeric cell still keeps its text for string use, so
// '+91'.concat(hdr{Mobile}) never turns 9876543210 into 9.87654321E9.
//
// Documented deviations from Java/SpEL, chosen because a mapping writes
// into a CSV cell or an API field:
//   - null renders as the empty string, and concatenating null adds nothing
//     (Java would print "null");
//   - division or remainder by zero is an error for doubles too (Java
//     yields Infinity/NaN);
//   - String methods also work on numeric cells, equals() compares a
//     numeric cell with a String by text, and == compares a numeric cell
//     with a String literal by text ('007' == hdr{code} is true for "007").
package spel
