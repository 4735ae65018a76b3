// Package csvjson implements convert_csv_to_json (spec §2.4.1), the block
// where a file becomes records: it parses the delimited file, optionally
// sorts and groups the rows, and emits batches of records in file (or sort)
// order.
package csvjson

import (
	"fmt"
	"strings"

	"github.com/connectplus/connectplus/block"
)

// Unit attributes this block sets (besides request.id).
const (
	AttrAttributionType = "X-CAP-API-ATTRIBUTION-ENTITY-TYPE"
	AttrAttributionCode = "X-CAP-API-ATTRIBUTION-ENTITY-CODE"
	AttrRecordCount     = "record.count"
	AttrFragmentIndex   = "fragment.index"
	// AttrFileDelimiter is what sources set from their "File Delimiter".
	AttrFileDelimiter = "file.delimiter"
	// OptionSortMemBytes (Env.Options) bounds the memory of the row sort
	// used by sortHeaders/groupBy before it spills to Env.WorkDir.
	OptionSortMemBytes = "csvjson.sortMemBytes"
)

// CodeBadRow is the status_code of rows that cannot be parsed (broken
// quoting, wrong number of fields): the row itself is bad input.
const CodeBadRow = 400

// fileTypeCSV is the Gen-1 Record Reader Controller Service id for csv.
const fileTypeCSV = "5c5b9607-0173-1000-87ad-a0b9ca44885f"

// Spec is convert_csv_to_json.
var Spec = &block.Spec{
	Type:     "convert_csv_to_json",
	Label:    "Transform (CSV to JSON)",
	Class:    block.ClassExecutor,
	Category: "Transformation",
	Description: "Turns a delimited file into JSON records, batched groupSize at a time (the last partial batch is always sent). " +
		"Values stay strings (a mobile number never becomes a number). Rows with broken quoting or the wrong number of fields fail individually, with their line number; the rest of the file goes on. " +
		"Sort Headers sorts the rows by those columns (stable; files larger than memory sort on disk) and puts those columns first, in that order, in each JSON object. " +
		"Alphabetical sort orders the JSON keys alphabetically and compares sort values as plain text; without it, digit runs compare by numeric value (BILL9 before BILL10). " +
		"Group By merges rows with equal values in those columns into one object: the group columns once, and the other columns of every row, in file order, in a \"records\" array; groupSize then counts groups. Grouping sorts by the group columns first, so equal keys need not be adjacent in the file.",
	LegacyTypes: []string{"csv_json_neo_transformer", "csv_json_neo_transformer_v2"},
	Input:       block.KindFile,
	Output:      block.KindRecords,
	Fields: []block.Field{
		{Key: "fileType", Label: "File Type (Record Reader Controller Service)", Type: block.TypeEnum, Required: true, Default: "csv",
			Enum: []string{"csv", fileTypeCSV}, Aliases: []string{"File"}, Description: "Record reader: only csv (any delimiter)."},
		{Key: "sortHeaders", Label: "Sort Headers", Type: block.TypeList, Aliases: []string{"Sort"}, Example: "bill ID,itemID",
			Description: "Columns to sort rows by (in priority order); they also come first in each JSON object."},
		{Key: "alphabeticalSort", Label: "Alphabetical sort?", Type: block.TypeBool, Required: true, Default: "false", Aliases: []string{"Alphabetical Sort"},
			Description: "Order JSON keys alphabetically and sort values as plain text (otherwise numbers inside values compare numerically)."},
		{Key: "groupSize", Label: "Grouping Limit", Type: block.TypeInt, Required: true, Default: "1", Min: block.Bound(1), Max: block.Bound(1000), Aliases: []string{"Group size"},
			Description: "Records (or groups, with Group By) per output batch: one API request downstream."},
		{Key: "groupBy", Label: "Group By", Type: block.TypeList, Aliases: []string{"Group By"}, Example: "bill ID",
			Description: "Columns whose equal values merge rows into one record."},
		{Key: "JsonPath Expression", Label: "JsonPath Expression", Type: block.TypeString, Default: "$.[*]",
			Description: "With Split Response: $.[*] (or $[*], $.*) emits every record on its own; $ keeps the batch whole."},
		{Key: "split response", Label: "Split Response", Type: block.TypeBool, Default: "false",
			Description: "Emit each record of a batch as its own unit."},
		{Key: "attribution_type", Label: "Attribution Type", Type: block.TypeString, Advanced: true, Example: "TILL",
			Description: "Sent by API requests as header " + AttrAttributionType + "."},
		{Key: "attribution_code", Label: "Attribution Code", Type: block.TypeString, Advanced: true, Example: "store_till_001",
			Description: "Sent by API requests as header " + AttrAttributionCode + "."},
		{Key: "header_value", Label: "header value to pass", Type: block.TypeString, Advanced: true, Example: "status",
			Description: "Column whose value becomes each record's header_value attribute, for Filter conditions such as ${header_value:equals('paid')}."},
		{Key: "child_till_code", Label: "child org till", Type: block.TypeString, Advanced: true, Description: "Till of a child org (connected orgs), passed on as an attribute."},
		{Key: "child_org_id", Label: "child org Id", Type: block.TypeString, Advanced: true, Description: "Child org id (connected orgs), passed on as an attribute."},
		{Key: "lineNos", Label: "lineNo parsing", Type: block.TypeString, Advanced: true, Default: "$[0].LINE_NO",
			Description: "Kept for compatibility and passed on as an attribute: line numbers are tracked natively for every record."},
		{Key: "rewardId", Label: "rewardId", Type: block.TypeString, Advanced: true, Default: "null", Description: "Rewards templates: passed on as an attribute."},
		{Key: "brandId", Label: "brandId", Type: block.TypeString, Advanced: true, Default: "null", Description: "Rewards templates: passed on as an attribute."},
		{Key: "File Delimiter", Label: "File Delimiter", Type: block.TypeString, Advanced: true, Example: "|",
			Description: "Field delimiter: one character, or tab. Default: the source's File Delimiter, else a comma."},
		{Key: "encoding", Label: "File Encoding", Type: block.TypeEnum, Advanced: true, Default: "utf-8",
			Enum:        []string{"utf-8", "utf-16le", "utf-16be", "iso-8859-1", "windows-1252"},
			Description: "Character encoding of the file. A UTF-8 or UTF-16 byte-order mark is honoured whatever the setting; with utf-8, rows that are not valid UTF-8 fail and name the line."},
	},
	Check: check,
	New:   newBlock,
}

func check(c *block.Config) []block.Problem {
	var probs []block.Problem
	if _, err := splitMode(c.String("JsonPath Expression")); err != nil {
		probs = append(probs, block.Problem{Path: "JsonPath Expression", Message: err.Error()})
	}
	if d := c.String("File Delimiter"); d != "" {
		if _, err := parseDelimiter(d); err != nil {
			probs = append(probs, block.Problem{Path: "File Delimiter", Message: err.Error()})
		}
	}
	for _, k := range []string{"sortHeaders", "groupBy"} {
		seen := map[string]bool{}
		for _, n := range c.List(k) {
			if seen[n] {
				probs = append(probs, block.Problem{Path: k, Message: fmt.Sprintf("column %q listed twice", n)})
			}
			seen[n] = true
		}
	}
	return probs
}

// splitMode tells whether a JsonPath Expression selects every record (true)
// or the whole batch (false). Only these selections of the batch array keep
// every record accounted for; deeper paths belong in split_json.
func splitMode(p string) (perRecord bool, err error) {
	switch strings.ReplaceAll(strings.TrimSpace(p), " ", "") {
	case "", "$.[*]", "$[*]", "$.*", "$..[*]", "$[*].*":
		return true, nil
	case "$", "$.":
		return false, nil
	}
	return false, fmt.Errorf("unsupported JsonPath Expression %q: use $.[*] (each record) or $ (whole batch); use a split_json block for deeper paths", p)
}

// parseDelimiter accepts one character, or tab spelled "\t" or "tab".
func parseDelimiter(d string) (rune, error) {
	switch strings.ToLower(d) {
	case `\t`, "tab", "\t":
		return '\t', nil
	case "pipe":
		return '|', nil
	case "comma":
		return ',', nil
	}
	r := []rune(d)
	if len(r) != 1 || r[0] == '"' || r[0] == '\n' || r[0] == '\r' || r[0] == 0xFFFD {
		return 0, fmt.Errorf("file delimiter must be one character other than a quote or line break, got %q", d)
	}
	return r[0], nil
}
