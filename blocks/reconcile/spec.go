// Package reconcile implements data reconciliation (spec §8, §2.4.15):
// diff_tool ("Map fields for reconciliation") and
// diff_tool_test_and_control compare a source file — the brand's source of
// truth — with what the destination holds, and hand on the source file
// plus a CAP_API_STATUS column (0 = missing, 1 = exists, §8.4) for the
// Reconciliation Results Directory, with a report of what was expected,
// present, missing, mismatched field by field and duplicated at the
// destination.
//
// The destination's state is asked directly, never a warehouse export: the
// Capillary API through its documented lookup endpoints (rate-limited,
// concurrent, per bill number, identifier or SKU batch), the API sandbox
// through its batched lookup, or our own delivery ledger — the result files
// of the ingestion runs, which record every delivered row with its entity
// id. The report names the source that answered.
//
// The file streams: rows are looked up a batch at a time and written out at
// once, so memory does not grow with the file; answers are saved per batch
// in the block's state directory, so a resumed lineage asks nothing twice.
package reconcile

import (
	"fmt"

	"github.com/connectplus/connectplus/block"
)

// Field keys (spec §2.4.15 first, then Connect+ additions).
const (
	KeyOrgID        = "orgId"
	KeyFileTemplate = "fileTemplate"
	KeyDiffPath     = "diffPath"
	KeyDateFormat   = "existingDateFormat"
	KeyMinimumYear  = "minimumYear"

	KeyCompareWith  = "compareWith"
	KeyLookupMode   = "lookupMode"
	KeyAPIBaseURL   = "apiBaseUrl"
	KeyClientKey    = "clientKey"
	KeyClientSecret = "clientSecret"
	KeySource       = "identifierSource"
	KeyLedgerPath   = "ledgerPath"
	KeyLedgerFlow   = "ledgerDataflow"
	KeyBatchSize    = "batchSize"
	KeyConcurrency  = "lookupConcurrency"
	KeyRate         = "lookupRatePerSecond"
	KeyDelimiter    = "File Delimiter"
)

// StatusColumn is the column reconciliation adds (spec §8.4).
const StatusColumn = "CAP_API_STATUS"

// RelReport is the relation the JSON reconciliation report leaves on.
const RelReport = "report"

// DateFormats are the existingDateFormat choices (§2.4.15).
var DateFormats = []string{"yyyy-MM-dd", "dd-MM-yyyy", "dd/MM/yyyy", "dd-MMM-yy", "dd/MM/yy", "MM/dd/yy", "dd-MMM-yyyy", "yyyyMMdd"}

// DefaultMinimumYear is the spec's default From Year: the previous year.
const DefaultMinimumYear = "${now():toNumber():minus(31536000000):format('yyyy')}"

// Compare-with choices.
const (
	CompareDestination = "destination"
	CompareLedger      = "ledger"
)

// Lookup modes against the destination.
const (
	ModeAuto    = "auto"
	ModeAPI     = "api"
	ModeSandbox = "sandbox"
)

var regularTypes = []string{EntityRegularLineItems, EntityReturnLineItems, EntityCustomer, EntityProduct}
var tncTypes = []string{EntityTestControl}

func commonFields(types []string, example string) []block.Field {
	return []block.Field{
		{Key: KeyOrgID, Label: "Intouch Org", Type: block.TypeString, FromConfigs: true, Example: "100458",
			Description: "The InTouch organisation whose data is compared (the org picker); recorded in the report."},
		{Key: KeyFileTemplate, Label: "Map fields (fileTemplate)", Type: block.TypeJSON, Required: true, Default: "{}", Example: example,
			Description: "For each Capillary data field, the matching source column, under the entity type: {\"<entity type>\": {\"<Capillary field>\": \"<source column>\"}}. " +
				"Several identifying fields together identify one entity (bill number + store code + bill date …); with only the bill number mapped, any transaction sharing it counts as present (§8.3). " +
				CatalogueDoc(types)},
		{Key: KeyDiffPath, Label: "Reconciliation Results Directory", Type: block.TypeString, Required: true, FromConfigs: true, Example: "APAC2Cluster/EUConnect",
			Description: "Where the source file plus CAP_API_STATUS goes (path without the leading slash, §8.3); set as attribute diff.path for the writer that follows, and point the re-ingestion dataflow's Source Directory here."},
		{Key: KeyCompareWith, Label: "Compare with", Type: block.TypeEnum, Default: CompareDestination, Enum: []string{CompareDestination, CompareLedger}, Advanced: true,
			Description: "destination: ask the destination itself (the Capillary API's lookup endpoints, or the sandbox). ledger: our own delivery ledger — the result files the ingestion runs wrote (ledgerPath), delivered rows with their entity ids."},
		{Key: KeyLookupMode, Label: "Lookup mode", Type: block.TypeEnum, Default: ModeAuto, Enum: []string{ModeAuto, ModeAPI, ModeSandbox}, Advanced: true,
			Description: "api: the documented endpoints (GET /v2/transactions/getByBillNumber/{bill}, GET /v2/customers/lookup, GET /v2/product/skus?skuCodes=). sandbox: the API sandbox's batched POST /_sandbox/lookup. auto: sandbox under a sandbox run, else api."},
		{Key: KeyAPIBaseURL, Label: "API Base URL", Type: block.TypeString, FromConfigs: true, Example: "https://eu.api.capillarytech.com",
			Description: "The cluster's API host (no trailing /). Required when comparing with the destination, except under a sandbox run."},
		{Key: KeyClientKey, Label: "Client Key", Type: block.TypeString, FromConfigs: true,
			Description: "OAuth client key (token from POST /v3/oauth/token/generate)."},
		{Key: KeyClientSecret, Label: "Client Secret", Type: block.TypeString, Secret: true,
			Description: "OAuth client secret (an Extension Configuration reference)."},
		{Key: KeySource, Label: "Customer identifier source", Type: block.TypeString, Default: "INSTORE", Advanced: true,
			Description: "The source customers are looked up in (GET /v2/customers/lookup?source=)."},
		{Key: KeyLedgerPath, Label: "Ledger directory", Type: block.TypeString, Advanced: true, Example: "/data/transactions/error",
			Description: "Local directory holding the ingestion runs' result files (result_*.csv: the API Error Filepath they were written to). With compareWith=ledger, this or ledgerDataflow."},
		{Key: KeyLedgerFlow, Label: "Ledger dataflow", Type: block.TypeString, Advanced: true, Example: "add_transactions",
			Description: "Under the server: the ingestion dataflow (of this organisation) whose runs' kept result files are the ledger — every row each run recorded as delivered, with its entity id. With compareWith=ledger, this or ledgerPath."},
		{Key: KeyBatchSize, Label: "Lookup batch size", Type: block.TypeInt, Default: "1000", Advanced: true, Min: block.Bound(1), Max: block.Bound(10000),
			Description: "Rows looked up together: one sandbox request, or the rows whose distinct keys the API is asked for concurrently."},
		{Key: KeyConcurrency, Label: "Lookup concurrency", Type: block.TypeInt, Default: "4", Advanced: true, Min: block.Bound(1), Max: block.Bound(64),
			Description: "API lookups in flight at once."},
		{Key: KeyRate, Label: "Lookup rate (requests/second)", Type: block.TypeNumber, Default: "16", Advanced: true, Min: block.Bound(0),
			Description: "Ceiling on lookup requests per second (Capillary's default is 1000 per minute per key); 0 = unlimited. 429 answers are retried after Retry-After."},
		{Key: KeyDelimiter, Label: "File Delimiter", Type: block.TypeString, Default: ",", Advanced: true,
			Description: "Delimiter of the source file (one character, \\t for tab); the output keeps it."},
	}
}

func regularFields() []block.Field {
	f := commonFields(regularTypes, `{"regular_transaction_line_items": {"bill_number": "bill_no", "store_code": "store", "bill_date": "bill_date", "bill_amount": "amount"}}`)
	out := append([]block.Field{}, f[:3]...)
	out = append(out,
		block.Field{Key: KeyDateFormat, Label: "Date Format", Type: block.TypeEnum, Required: true, Default: "yyyy-MM-dd", Enum: DateFormats,
			Description: "Format of the date columns in the source file (bill_date); dates are compared as dates."},
		block.Field{Key: KeyMinimumYear, Label: "From Year", Type: block.TypeString, Default: DefaultMinimumYear, SupportsExpressions: true,
			Description: "Rows dated before this year are not compared (CAP_API_STATUS stays empty) — it speeds up the comparison; the default is the previous year."},
	)
	return append(out, f[3:]...)
}

// DiffTool is diff_tool, "Map fields for reconciliation".
var DiffTool = &block.Spec{
	Type: "diff_tool", Label: "Map fields for reconciliation", Class: block.ClassExecutor, Category: "Data Management",
	Description: "Compares the source file (the source of truth) with the destination's state and hands on the file plus a CAP_API_STATUS column (0 = missing, 1 = exists) for the Reconciliation Results Directory, and on relation report a JSON report: expected, present, missing, mismatched (field by field), duplicates at the destination, and which source answered. " +
		"Re-ingest the missing rows with the matching ingestion template reading that directory, filter header CAP_API_STATUS, condition ${header_value:equals(0)} (§8.4). " +
		"Insights+-based comparisons lag a day; this one asks the destination directly, so it can run right after ingestion.",
	Input: block.KindFile, Output: block.KindFile,
	Relations: []string{RelReport},
	Fields:    regularFields(),
	Check:     check(regularTypes),
	LocalPaths: func(c *block.Config) []block.LocalPath {
		if p := c.String(KeyLedgerPath); p != "" && c.String(KeyCompareWith) == CompareLedger {
			return []block.LocalPath{{Key: KeyLedgerPath, Path: p}}
		}
		return nil
	},
	New: func(c *block.Config, env *block.Env) (block.Block, error) { return newReconciler(c, env, regularTypes) },
}

// DiffToolTNC is diff_tool_test_and_control, "Map fields for reconcile" of
// the Test and Control template (§3.2.7): rows whose customer already has
// the wanted status are 1 (nothing to send), the others 0.
var DiffToolTNC = &block.Spec{
	Type: "diff_tool_test_and_control", Label: "Map fields for reconcile (Test and Control)", Class: block.ClassExecutor, Category: "Data Management",
	Description: "Compares a Test and Control file (Mobile, Email, Test and Control, External ID columns) with the customers' current test/control status at the destination: CAP_API_STATUS 1 = the customer already has that status, 0 = missing or different (to be sent to /v2/tnc/change/bulk/customers). Hands on the file plus CAP_API_STATUS and, on relation report, the JSON report.",
	Input:       block.KindFile, Output: block.KindFile,
	Relations: []string{RelReport},
	Fields:    commonFields(tncTypes, `{"test_and_control": {"mobile": "Mobile", "email": "Email", "external_id": "External ID", "test_control": "Test and Control"}}`),
	Check:     check(tncTypes),
	LocalPaths: func(c *block.Config) []block.LocalPath {
		if p := c.String(KeyLedgerPath); p != "" && c.String(KeyCompareWith) == CompareLedger {
			return []block.LocalPath{{Key: KeyLedgerPath, Path: p}}
		}
		return nil
	},
	New: func(c *block.Config, env *block.Env) (block.Block, error) { return newReconciler(c, env, tncTypes) },
}

// Register adds both reconciliation blocks to r.
func Register(r *block.Registry) {
	r.MustRegister(DiffTool)
	r.MustRegister(DiffToolTNC)
}

func check(types []string) func(c *block.Config) []block.Problem {
	return func(c *block.Config) []block.Problem {
		var probs []block.Problem
		if _, err := ParseFileTemplate(c.String(KeyFileTemplate), types); err != nil {
			probs = append(probs, block.Problem{Path: KeyFileTemplate, Message: err.Error()})
		}
		if _, err := delimiter(c.String(KeyDelimiter)); err != nil {
			probs = append(probs, block.Problem{Path: KeyDelimiter, Message: err.Error()})
		}
		switch c.String(KeyCompareWith) {
		case CompareLedger:
			switch {
			case c.String(KeyLedgerPath) == "" && c.String(KeyLedgerFlow) == "":
				probs = append(probs, block.Problem{Path: KeyLedgerPath, Message: "compareWith=ledger needs the directory of the ingestion runs' result files (ledgerPath) or the ingestion dataflow whose runs the server kept (ledgerDataflow)"})
			case c.String(KeyLedgerPath) != "" && c.String(KeyLedgerFlow) != "":
				probs = append(probs, block.Problem{Path: KeyLedgerFlow, Message: "give ledgerPath or ledgerDataflow, not both: they are two ledgers"})
			}
		default:
			if c.String(KeyLookupMode) == ModeAPI && c.String(KeyAPIBaseURL) == "" && !c.Has(KeyAPIBaseURL) {
				probs = append(probs, block.Problem{Path: KeyAPIBaseURL, Message: "lookupMode=api needs the API Base URL"})
			}
		}
		return probs
	}
}

func delimiter(s string) (byte, error) {
	switch s {
	case "", "null":
		return ',', nil
	case `\t`, "\t", "tab", "TAB":
		return '\t', nil
	}
	if len(s) != 1 || s == `"` || s == "\r" || s == "\n" {
		return 0, fmt.Errorf("delimiter must be one character other than a quote or line break, got %q", s)
	}
	return s[0], nil
}
