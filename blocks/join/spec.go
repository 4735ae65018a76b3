// Package join holds the file-join blocks: two_join, three_join and
// four_join (Join files (2/3/4), spec §2.4.10) and file_join (Join Related
// Files (SQL), §2.4.11).
//
// The engine gives a block one unit per source file, but a join needs the
// companion files of a set. The blocks therefore collect companions
// themselves (see collector.go): a file is copied into the block's work
// directory and its own lineage completes at once; the join runs when the
// last file of a set arrives and its output is emitted in that last file's
// lineage. Files whose companions do not arrive within companionTimeout are
// reported as failures (see collector.go for how, and for the engine API
// that would report them in their own lineage).
//
// The N-file joins are sort-merge joins over external sorts, so files larger
// than memory join in bounded memory (merge.go). file_join loads the files
// into a temporary SQLite database and runs the configured query (sql.go).
package join

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/connectplus/connectplus/block"
)

// Join types as Connect+ spells them.
const (
	InnerJoin      = "INNER_JOIN"
	LeftOuterJoin  = "LEFT_OUTER_JOIN"
	RightOuterJoin = "RIGHT_OUTER_JOIN"
	OuterJoin      = "OUTER_JOIN"
)

// Use cases of the File Join Use Case field.
const (
	UseCaseNone     = "NONE"
	UseCaseLineItem = "TRANSACTION_LINE_ITEM"
)

// DefaultCompanionTimeout is how long a file waits for its companions. The
// Connect+ docs ask users to keep at least 10 minutes between sets (§1.7).
const DefaultCompanionTimeout = 10 * time.Minute

// joinTypes accepted in config: the documented names plus the spellings of
// the 2021 line-item template ("INNER JOIN", "FULL_OUTER_JOIN").
var joinTypeAliases = map[string]string{
	"INNER_JOIN": InnerJoin, "INNER JOIN": InnerJoin, "INNER": InnerJoin,
	"LEFT_OUTER_JOIN": LeftOuterJoin, "LEFT OUTER JOIN": LeftOuterJoin, "LEFT_OUTER": LeftOuterJoin, "LEFT_JOIN": LeftOuterJoin,
	"RIGHT_OUTER_JOIN": RightOuterJoin, "RIGHT OUTER JOIN": RightOuterJoin, "RIGHT_OUTER": RightOuterJoin, "RIGHT_JOIN": RightOuterJoin,
	"OUTER_JOIN": OuterJoin, "FULL_OUTER_JOIN": OuterJoin, "FULL OUTER JOIN": OuterJoin, "OUTER": OuterJoin, "FULL_JOIN": OuterJoin,
}

// NormalizeJoinType maps a configured join type to one of the four
// constants.
func NormalizeJoinType(s string) (string, error) {
	if t, ok := joinTypeAliases[strings.ToUpper(strings.TrimSpace(s))]; ok {
		return t, nil
	}
	return "", fmt.Errorf("unknown join type %q (use INNER_JOIN, LEFT_OUTER_JOIN, RIGHT_OUTER_JOIN or OUTER_JOIN)", s)
}

var joinTypeEnum = []string{LeftOuterJoin, OuterJoin, InnerJoin, RightOuterJoin, "FULL_OUTER_JOIN", "INNER JOIN"}

// Config keys. The Connect+ docs give only UI labels for these blocks (they
// are not in the block catalogue [R]), so the keys follow the catalogue's
// camelCase convention; each field's label is the documented UI label.
const (
	keyDelimiter    = "allFilesDelimiter"
	keyOutput       = "outputFileName"
	keyUseCase      = "fileJoinUseCase"
	keyAlphabetical = "useAlphabeticalSort"
	keyCommonName   = "mergeBasedOnCommonName"
	keyMatchAll     = "matchAllRegex"
	keyAllUnique    = "allUniqueMatch"
	keyTimeout      = "companionTimeout"
	keySortMemory   = "sortMemoryMB"
)

func keyJoinType(i int) string   { return fmt.Sprintf("files1%dJoinType", i) }
func keyRegex(i int) string      { return fmt.Sprintf("file%dRegex", i) }
func keyHeaders(i int) string    { return fmt.Sprintf("file%dHeaders", i) }
func keyTemplate(i int) string   { return fmt.Sprintf("commonNameTemplateFile%d", i) }
func keyHeaderless(i int) string { return fmt.Sprintf("file%dIsHeaderless", i) }
func keyNames(i int) string      { return fmt.Sprintf("file%dHeaderNames", i) }

func nJoinSpec(n int, typ, label string) *block.Spec {
	var fields []block.Field
	for i := 2; i <= n; i++ {
		what := "File 1 and File 2"
		if i > 2 {
			what = fmt.Sprintf("the result of Files 1-%d with File %d", i-1, i)
		}
		fields = append(fields, block.Field{
			Key: keyJoinType(i), Label: fmt.Sprintf("Files 1-%d Join Type", i), Type: block.TypeEnum, Required: true,
			Default: LeftOuterJoin, Enum: joinTypeEnum,
			Description: "SQL join used to merge " + what + ": INNER_JOIN (matching rows only), LEFT_OUTER_JOIN (all left rows), RIGHT_OUTER_JOIN (all right rows) or OUTER_JOIN (all rows).",
		})
	}
	fields = append(fields,
		block.Field{Key: keyDelimiter, Label: "All Files Delimiter", Type: block.TypeString, Required: true, Default: ",",
			Description: "Delimiter of every input file and of the output (comma, or \\t for tab)."},
	)
	for i := 1; i <= n; i++ {
		fields = append(fields,
			block.Field{Key: keyRegex(i), Label: fmt.Sprintf("File %d Regex", i), Type: block.TypeRegex, Required: true,
				Description: fmt.Sprintf("Whole-name pattern identifying file %d of a set, e.g. BILL_LEVEL_MERGE.*.csv.", i)},
			block.Field{Key: keyHeaders(i), Label: fmt.Sprintf("File %d Headers", i), Type: block.TypeList, Required: true,
				Description: fmt.Sprintf("Join key column(s) of file %d, comma-separated for a multi-column key, e.g. BillNumber. Every file lists the same number of columns.", i)},
		)
	}
	fields = append(fields,
		block.Field{Key: keyOutput, Label: "Output Filename", Type: block.TypeString, Required: true, SupportsExpressions: true, Normalize: fixDocNameTemplate,
			Description: "Name of the joined file (NiFi Expression Language over the last arriving file's attributes), e.g. merged_${now():format('yyyy-MM-dd')}.csv; the doc form merged_now():format('yyyy-MM-dd').csv is accepted."},
		block.Field{Key: keyUseCase, Label: "File Join Use Case", Type: block.TypeEnum, Default: UseCaseNone, Enum: []string{UseCaseNone, UseCaseLineItem},
			Description: "TRANSACTION_LINE_ITEM: file 1 holds bills (one row per key) and file 2 their line items; each line item gets its bill's columns. A repeated bill key keeps its first row (the others are dropped and counted in join.duplicate.keys) instead of multiplying line items."},
		block.Field{Key: keyAlphabetical, Label: "Use Alphabetical Sort", Type: block.TypeBool, Default: "false",
			Description: "When several waiting files match the same file regex, join them in alphabetical order of their names instead of arrival order (first come, first served)."},
		block.Field{Key: keyCommonName, Label: "Merge based on common Name", Type: block.TypeBool, Default: "false",
			Description: "Only join files sharing the <common> part of their names, per the templates below."},
	)
	for i := 1; i <= n; i++ {
		fields = append(fields, block.Field{Key: keyTemplate(i), Label: fmt.Sprintf("Merge based on common Name Template File %d", i), Type: block.TypeString,
			Description: fmt.Sprintf("Name template of file %d with a <common> tag, e.g. File_%d_<common>.csv; files whose <common> parts are equal form a set.", i, i)})
	}
	for i := 1; i <= n; i++ {
		fields = append(fields,
			block.Field{Key: keyHeaderless(i), Label: fmt.Sprintf("File %d is Headerless", i), Type: block.TypeBool, Default: "false",
				Description: fmt.Sprintf("File %d has no header row; name its columns in %s.", i, keyNames(i))},
			block.Field{Key: keyNames(i), Label: fmt.Sprintf("File %d Mention Header names (for use in mapping and expressions)", i), Type: block.TypeList,
				Description: fmt.Sprintf("Column names of headerless file %d, e.g. BillNumber,Amount,Date.", i)},
		)
	}
	if n == 2 {
		fields = append(fields,
			block.Field{Key: keyMatchAll, Label: "Match All Regex", Type: block.TypeBool, Default: "false",
				Description: "true: a file matching neither regex is dropped (its lineage completes with nothing emitted) instead of failing."},
			block.Field{Key: keyAllUnique, Label: "All Unique Match", Type: block.TypeBool, Default: "false",
				Description: "true: a file arriving while another file of the same kind and set is still waiting is a duplicate and is dropped instead of queued for the next set."},
		)
	}
	fields = append(fields,
		block.Field{Key: keyTimeout, Label: "Companion Timeout", Type: block.TypeString, Default: "10m", Advanced: true,
			Description: "How long a file waits for the other files of its set (Go duration, e.g. 10m, or seconds); then it fails with \"missing companion\"."},
		block.Field{Key: keySortMemory, Label: "Sort Memory (MB)", Type: block.TypeInt, Default: "96", Advanced: true, Min: block.Bound(8), Max: block.Bound(4096),
			Description: "Memory the external sorts of one join may use before spilling to disk."},
	)
	return &block.Spec{
		Type: typ, Label: label, Class: block.ClassExecutor, Category: "Transformation", Deprecated: true,
		Description: fmt.Sprintf("Joins %d delimited files into one on key columns (SQL-style join types, applied left to right). ", n) +
			"Each file of a set is recognised by its regex and waits in the block's work directory (its own lineage completes) until the set is complete; " +
			"the joined file is emitted in the lineage of the last file to arrive. Output columns: all of file 1, then each further file's non-key columns " +
			"(a name already taken gets the suffix _<file number>); key columns are filled from whichever file has the row. Rows come out in key order " +
			"(byte order of the key values), rows of one key in input order.",
		Input: block.KindFile, Output: block.KindFile,
		Fields:      fields,
		Concurrency: 1,
		Check:       func(c *block.Config) []block.Problem { return checkNJoin(c, n) },
		New:         func(c *block.Config, env *block.Env) (block.Block, error) { return newNJoin(c, env, n) },
	}
}

// Specs of the N-file joins.
var (
	TwoJoinSpec   = nJoinSpec(2, "two_join", "Join files (2)")
	ThreeJoinSpec = nJoinSpec(3, "three_join", "Join files (3)")
	FourJoinSpec  = nJoinSpec(4, "four_join", "Join files (4)")
)

// Register adds the join blocks to r.
func Register(r *block.Registry) {
	r.MustRegister(TwoJoinSpec, ThreeJoinSpec, FourJoinSpec, FileJoinSpec)
}

func checkNJoin(c *block.Config, n int) []block.Problem {
	var probs []block.Problem
	bad := func(k, format string, a ...any) {
		probs = append(probs, block.Problem{Path: k, Message: fmt.Sprintf(format, a...)})
	}
	if _, err := parseDelimiter(c.String(keyDelimiter)); err != nil {
		bad(keyDelimiter, "%v", err)
	}
	nk := len(c.List(keyHeaders(1)))
	for i := 1; i <= n; i++ {
		if k := len(c.List(keyHeaders(i))); k != nk {
			bad(keyHeaders(i), "file %d lists %d key column(s), file 1 lists %d: every file needs the same number", i, k, nk)
		}
		if c.Bool(keyHeaderless(i)) {
			names := c.List(keyNames(i))
			if len(names) == 0 {
				bad(keyNames(i), "file %d is headerless: name its columns", i)
			}
			for _, h := range c.List(keyHeaders(i)) {
				if !contains(names, h) {
					bad(keyHeaders(i), "key column %q is not among file %d's header names %s", h, i, strings.Join(names, ","))
				}
			}
		}
		if c.Bool(keyCommonName) {
			t := c.String(keyTemplate(i))
			if strings.Count(t, "<common>") != 1 {
				bad(keyTemplate(i), "merging on a common name needs a template with one <common> tag for file %d, got %q", i, t)
			}
		}
	}
	for i := 2; i <= n; i++ {
		if _, err := NormalizeJoinType(c.String(keyJoinType(i))); err != nil {
			bad(keyJoinType(i), "%v", err)
		}
	}
	if c.Has(keyTimeout) {
		if _, err := parseTimeout(c.String(keyTimeout)); err != nil {
			bad(keyTimeout, "%v", err)
		}
	}
	if c.String(keyUseCase) == UseCaseLineItem && n != 2 {
		bad(keyUseCase, "TRANSACTION_LINE_ITEM joins a bill file with a line-item file: use two_join")
	}
	return probs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func parseTimeout(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultCompanionTimeout, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil && secs > 0 {
		return time.Duration(secs * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("companion timeout %q must be a positive duration such as 10m or 600", s)
}
