package dataflow

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The Gen-1 "Transform Data" block (spec §2.4.17: transform_to_* and the
// other template transform types) maps file headers to API fields. Gen-2
// runs the same mapping as a chain, so the import expands such a block:
//
//	[transform_header_data]  when the file is headerless, or a mapping value
//	                         is an exp{…} SpEL expression (computed columns)
//	convert_csv_to_json      the file's rows as records (delimiter, group
//	                         size, group by, sort, the filter header)
//	[filter_on_condition]    when the block had a filter condition
//	jslt_transform           the API payload, generated from the mapping
//
// The first block keeps the original name, so relations into the
// transform still arrive; the last takes over the original's relations.
//
// Accepted shape (Connect+ publishes no export format; the keys are the
// block's UI labels, as the DIY template response carries them, with the
// camelCase forms too):
//   - the mapping under "mapping", "fieldMapping", "Field Mapping",
//     "headerMapping", "Header Mapping" or "headersMapping": an object
//     {"<API field>": "<file header>" | "const{value}" | "exp{…}"} (or its
//     JSON text), or a list of rows {"apiField", "fileHeader",
//     "transformation"}. API fields are dotted paths; name[] is an array of
//     one element (profiles[].identifiers[].value), as the mapping screen
//     shows them;
//   - "Format Transaction Date" + "Transaction Date Format", "Customer
//     Creation Date Format" + "Customer Create Date Format", "Format
//     transaction data" + "Event Date Format": the Java pattern the file's
//     dates are written in; the fields they apply to (billingDate,
//     transactionDate; registeredOn, registrationDate, createdOn;
//     eventDateTime) are converted to ISO 8601 (yyyy-MM-dd'T'HH:mm:ss, the
//     wall time kept: the API applies the org's zone);
//   - "File Delimiter", "Is file headerless" + "headers", "Records Per
//     Split"/"Group size", "Record Group By", "Sort Headers", "Use
//     Alphabetical Sort", "Filter Header" + "Filter Condition".
// Anything else is reported and dropped.

// gen1TransformKeys are the recognised keys of a Transform Data block.
var gen1TransformKeys = map[string][]string{
	"mapping":         {"mapping", "fieldMapping", "Field Mapping", "headerMapping", "Header Mapping", "headersMapping", "fieldsMapping"},
	"delimiter":       {"File Delimiter", "fileDelimiter", "delimiter"},
	"headerless":      {"Is file headerless", "isHeaderless", "Is the file headerless?", "headerless"},
	"headers":         {"headers", "headerlessMapping", "Headers", "Header Names"},
	"groupSize":       {"Records Per Split", "recordsPerSplit", "Group size", "groupSize", "Grouping Limit"},
	"groupBy":         {"Record Group By", "recordGroupBy", "groupBy", "Group By"},
	"sortHeaders":     {"Sort Headers", "sortHeaders"},
	"alphabetical":    {"Use Alphabetical Sort", "alphabeticalSort", "Alphabetical sort?"},
	"filterHeader":    {"Filter Header", "filterHeader", "filter header"},
	"filterCondition": {"Filter Condition", "filterCondition", "filter condition"},
	"txnDateOn":       {"Format Transaction Date", "formatTransactionDate"},
	"txnDateFormat":   {"Transaction Date Format", "transactionDateFormat"},
	"custDateOn":      {"Customer Creation Date Format", "formatCustomerCreationDate", "customerCreationDateFormat"},
	"custDateFormat":  {"Customer Create Date Format", "customerCreateDateFormat"},
	"eventDateOn":     {"Format transaction data", "formatTransactionData", "Format Event Date"},
	"eventDateFormat": {"Event Date Format", "eventDateFormat"},
	"org":             {"Intouch Org", "intouchOrg", "orgId"},
	"timeZone":        {"Time Zone", "timeZone", "timezone"},
}

// dateFields are the API fields each date option reformats.
var dateFields = map[string][]string{
	"txn":   {"billingDate", "transactionDate", "billingTime"},
	"cust":  {"registeredOn", "registrationDate", "createdOn", "createdDate"},
	"event": {"eventDateTime", "eventDate"},
}

// isoOut is the format dates are converted to.
const isoOut = "yyyy-MM-dd'T'HH:mm:ss"

func isGen1Transform(rawType string, cfg map[string]any) bool {
	matched := false
	for _, p := range gen1Transforms {
		if strings.HasPrefix(rawType, p) {
			matched = true
		}
	}
	if !matched {
		return false
	}
	// Already a Gen-2 jslt_transform (an export of a migrated flow).
	_, hasJSLT := cfg["transformation"]
	return !hasJSLT
}

// takeKey removes and returns the first of keys present in cfg.
func takeKey(cfg map[string]any, used map[string]bool, keys []string) (any, bool) {
	for _, k := range keys {
		if v, ok := cfg[k]; ok {
			used[k] = true
			if v == nil {
				continue
			}
			return v, true
		}
	}
	return nil, false
}

func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// mappingRow is one API field ← source entry.
type mappingRow struct {
	field  string // dotted API path
	source string // header name, const{…} or exp{…}
}

func parseMapping(v any) ([]mappingRow, error) {
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, nil
		}
		if strings.HasPrefix(s, "{") {
			// Keep the order the mapping was written in: it is the order
			// of the payload's fields.
			return orderedMapping(s)
		}
		var x any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if err := dec.Decode(&x); err != nil {
			return nil, fmt.Errorf("the mapping is not JSON: %v", err)
		}
		v = natural(x)
	}
	var rows []mappingRow
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			rows = append(rows, mappingRow{field: k, source: scalarText(x[k])})
		}
	case []any:
		for i, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("mapping row %d is not an object", i)
			}
			field := str(m, "apiField", "field", "API field", "destination")
			src := str(m, "transformation", "expression")
			if src == "" {
				src = str(m, "fileHeader", "header", "File header", "source")
			}
			if field == "" || src == "" {
				return nil, fmt.Errorf("mapping row %d needs an API field and a file header or transformation", i)
			}
			rows = append(rows, mappingRow{field: field, source: src})
		}
	default:
		return nil, fmt.Errorf("the mapping must be an object or a list of rows, got %T", v)
	}
	return rows, nil
}

// orderedMapping reads a JSON object of API field → source in order.
func orderedMapping(s string) ([]mappingRow, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	bad := func(err error) ([]mappingRow, error) {
		return nil, fmt.Errorf("the mapping is not a JSON object: %v", err)
	}
	if _, err := dec.Token(); err != nil {
		return bad(err)
	}
	var rows []mappingRow
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return bad(err)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return bad(err)
		}
		k, _ := kt.(string)
		rows = append(rows, mappingRow{field: k, source: scalarText(natural(v))})
	}
	return rows, nil
}

var constRE = regexp.MustCompile(`^const\s*[{(](.*)[})]$`)

// payloadNode is a node of the generated payload: an object (children), an
// array of one element (array), or a leaf (expr).
type payloadNode struct {
	key      string
	array    bool
	expr     string
	children []*payloadNode
}

func (n *payloadNode) child(key string, array bool) *payloadNode {
	for _, c := range n.children {
		if c.key == key {
			return c
		}
	}
	c := &payloadNode{key: key, array: array}
	n.children = append(n.children, c)
	return c
}

func (n *payloadNode) jslt(indent string) string {
	if n.expr != "" && len(n.children) == 0 {
		if n.array {
			return "[" + n.expr + "]"
		}
		return n.expr
	}
	var b strings.Builder
	b.WriteString("{\n")
	for i, c := range n.children {
		k, _ := json.Marshal(c.key)
		b.WriteString(indent + "  " + string(k) + ": ")
		v := c.jslt(indent + "  ")
		if c.array && len(c.children) > 0 {
			v = "[" + v + "]"
		}
		b.WriteString(v)
		if i < len(n.children)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString(indent + "}")
	return b.String()
}

var nonWordRE = regexp.MustCompile(`[^A-Za-z0-9_]+`)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func jsltField(h string) string {
	if identRE.MatchString(h) {
		return "." + h
	}
	q, _ := json.Marshal(h)
	return "get-key(., " + string(q) + ")"
}

// expandGen1Transform returns the Gen-2 chain for a Transform Data block;
// taken holds the names in use (new names are added).
func (im *importer) expandGen1Transform(b importedBlock, taken map[string]bool) []importedBlock {
	cfg := b.Config
	if cfg == nil {
		cfg = map[string]any{}
	}
	used := map[string]bool{}
	get := func(name string) (any, bool) { return takeKey(cfg, used, gen1TransformKeys[name]) }
	text := func(name string) string {
		v, _ := get(name)
		return strings.TrimSpace(scalarText(v))
	}
	on := func(name string) bool {
		v, ok := get(name)
		if !ok {
			return false
		}
		t, ok := boolish(v)
		return ok && t
	}
	path := b.path + ".config"

	mv, ok := get("mapping")
	var rows []mappingRow
	if ok {
		var err error
		if rows, err = parseMapping(mv); err != nil {
			im.add(path, "Gen-1 transform %q: %v", b.original, err)
		}
	}
	if len(rows) == 0 {
		im.add(path, "Gen-1 transform %q has no field mapping; the generated jslt_transform passes records through unchanged: write its JSLT by hand", b.original)
	}

	dateFormat := map[string]string{}
	for _, d := range []struct{ kind, on, format string }{{"txn", "txnDateOn", "txnDateFormat"}, {"cust", "custDateOn", "custDateFormat"}, {"event", "eventDateOn", "eventDateFormat"}} {
		enabled := on(d.on)
		format := text(d.format)
		if enabled && format == "" {
			im.add(path, "Gen-1 transform %q: the %s date option is on but no date format is given; dates are passed as they are", b.original, d.kind)
		}
		if enabled && format != "" {
			for _, f := range dateFields[d.kind] {
				dateFormat[f] = format
			}
		}
	}

	headerless := on("headerless")
	headers := text("headers")
	if headerless && headers == "" {
		im.add(path, "Gen-1 transform %q: the file is headerless but no header names are given", b.original)
	}
	filterHeader, filterCond := text("filterHeader"), text("filterCondition")
	if org := text("org"); org != "" {
		im.add(path, "Gen-1 transform %q: Intouch Org %q is not carried over (the destination's credentials choose the org)", b.original, org)
	}
	if tz := text("timeZone"); tz != "" {
		im.add(path, "Gen-1 transform %q: time zone %q is not needed: dates keep their wall time and the API reads them in the org's zone", b.original, tz)
	}

	// The payload, and the computed columns SpEL expressions need. With a
	// transform_header_data step the columns the payload reads are written
	// by it, under names without spaces (its rule), so the JSLT reads those.
	needHeaders := headerless
	for _, r := range rows {
		if src := strings.TrimSpace(r.source); strings.HasPrefix(src, "exp{") || strings.HasPrefix(src, "exp(") {
			needHeaders = true
		}
	}
	root := &payloadNode{}
	var exprCols [][2]string // column name, exp{…}
	var refs []string        // input headers read, in order
	outName := map[string]string{}
	usedOut := map[string]bool{}
	ref := func(h string) string {
		if n, ok := outName[h]; ok {
			return n
		}
		n := h
		if needHeaders && strings.ContainsAny(h, " ,\"") {
			n = strings.Trim(nonWordRE.ReplaceAllString(h, "_"), "_")
			if n == "" {
				n = "col"
			}
		}
		for base, k := n, 2; usedOut[n]; k++ {
			n = base + "_" + strconv.Itoa(k)
		}
		usedOut[n] = true
		outName[h] = n
		refs = append(refs, h)
		return n
	}
	for _, r := range rows {
		segs := strings.Split(r.field, ".")
		n := root
		for i, s := range segs {
			arr := strings.HasSuffix(s, "[]") || strings.HasSuffix(s, "[0]")
			name := strings.TrimSuffix(strings.TrimSuffix(s, "[]"), "[0]")
			if i == len(segs)-1 {
				leaf := n.child(name, arr)
				leaf.expr = leafExpr(r, name, dateFormat, &exprCols, ref)
				continue
			}
			n = n.child(name, arr)
		}
	}
	if filterHeader != "" {
		filterHeader = ref(filterHeader)
	}

	var chain []importedBlock
	mk := func(suffix, typ string, config map[string]any) importedBlock {
		nb := importedBlock{path: b.path, order: b.order, hasOrder: b.hasOrder, original: b.original}
		nb.Name = b.Name
		if suffix != "" {
			base := b.Name + "_" + suffix
			nb.Name = base
			for n := 2; taken[nb.Name]; n++ {
				nb.Name = base + "_" + strconv.Itoa(n)
			}
			taken[nb.Name] = true
		}
		nb.Type, nb.Config, nb.Disabled = typ, config, b.Disabled
		return nb
	}
	delim := text("delimiter")
	if needHeaders {
		var order []string
		mapping := map[string]any{}
		for _, h := range refs {
			order = append(order, outName[h])
			mapping[outName[h]] = h
		}
		for _, ec := range exprCols {
			order = append(order, ec[0])
			mapping[ec[0]] = ec[1]
		}
		mj, _ := json.Marshal(mapping)
		hc := map[string]any{"outputHeadersOrder": strings.Join(order, ","), "headersMapping": string(mj), "outputFileDelimiter": ","}
		if delim != "" {
			hc["inputFileDelimiter"] = delim
		}
		if headerless {
			hc["isHeaderless"] = "true"
			hc["headerlessMapping"] = headers
		}
		chain = append(chain, mk("", "transform_header_data", hc))
		delim = "" // the headers block writes commas
	}
	cc := map[string]any{}
	if delim != "" {
		cc["File Delimiter"] = delim
	}
	if g := text("groupSize"); g != "" {
		if n, err := strconv.Atoi(g); err == nil && n >= 1 {
			cc["groupSize"] = strconv.Itoa(min(n, 1000))
		} else {
			im.add(path, "Gen-1 transform %q: group size %q is not a number from 1 to 1000", b.original, g)
		}
	}
	if g := text("groupBy"); g != "" {
		cc["groupBy"] = g
	}
	if s := text("sortHeaders"); s != "" {
		cc["sortHeaders"] = s
	}
	if on("alphabetical") {
		cc["alphabeticalSort"] = "true"
	}
	if filterHeader != "" {
		cc["header_value"] = filterHeader
	}
	suffix := "json"
	if len(chain) == 0 {
		suffix = ""
	}
	chain = append(chain, mk(suffix, "convert_csv_to_json", cc))
	if filterCond != "" {
		chain = append(chain, mk("filter", "filter_on_condition", map[string]any{"filterCondition": filterCond}))
	} else if filterHeader != "" {
		im.add(path, "Gen-1 transform %q: a filter header without a filter condition filters nothing", b.original)
	}
	query := "."
	if len(root.children) > 0 {
		query = root.jslt("")
	}
	chain = append(chain, mk("jslt", "jslt_transform", map[string]any{"transformation": query}))

	var unknown []string
	for k := range cfg {
		if !used[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		im.add(path+"."+k, "Gen-1 transform %q: field %q is not carried over to the Gen-2 chain", b.original, k)
	}
	for i := 0; i+1 < len(chain); i++ {
		chain[i].Relations = []Relation{{To: chain[i+1].Name}}
	}
	chain[len(chain)-1].Relations = b.Relations
	chain[0].Position = b.Position
	names := make([]string, len(chain))
	for i, c := range chain {
		names[i] = c.Type
	}
	im.add(b.path+".type", "Gen-1 transform %q (%s) became %s", b.original, b.rawType, strings.Join(names, " → "))
	return chain
}

// leafExpr is the JSLT for one mapped API field.
func leafExpr(r mappingRow, field string, dateFormat map[string]string, exprCols *[][2]string, ref func(string) string) string {
	src := strings.TrimSpace(r.source)
	if m := constRE.FindStringSubmatch(src); m != nil {
		q, _ := json.Marshal(m[1])
		return string(q)
	}
	var col string
	if strings.HasPrefix(src, "exp{") || strings.HasPrefix(src, "exp(") {
		col = "expr_" + strconv.Itoa(len(*exprCols)+1)
		*exprCols = append(*exprCols, [2]string{col, src})
	} else {
		col = ref(src)
	}
	x := jsltField(col)
	if f, ok := dateFormat[field]; ok {
		in, _ := json.Marshal(f)
		out, _ := json.Marshal(isoOut)
		return "if (" + x + ") format-time(parse-time(" + x + ", " + string(in) + "), " + string(out) + ") else null"
	}
	return x
}
