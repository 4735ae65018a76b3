package runstate

import (
	"context"
	"encoding/json"
	"time"
)

// Reconciliation is one reconciliation of a source file (spec §8): the
// report a diff_tool block wrote about one run (lineage) of a dataflow,
// kept beside the run so the API and the UI can show it.
type Reconciliation struct {
	ID       string `json:"id"`
	OrgID    string `json:"orgId"`
	FlowID   string `json:"flowId"`
	FlowName string `json:"flowName"`
	Version  int    `json:"version"`
	RunID    string `json:"runId"` // the run (lineage) it is part of
	Block    string `json:"block"`
	File     string `json:"file"`
	// Source names which source answered: sandbox, capillary-api, ledger.
	Source   string    `json:"source"`
	Entity   string    `json:"entityType"`
	DiffPath string    `json:"diffPath,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`

	Totals         ReconTotals `json:"totals"`
	LookupRequests int64       `json:"lookupRequests"`
	ResumedRows    int64       `json:"resumedRows,omitempty"`
	MatchedOn      []string    `json:"matchedOn"`
	Compared       []string    `json:"compared"`
	Unverified     []string    `json:"unverified,omitempty"`
	FromYear       int         `json:"fromYear,omitempty"`
	// Records counts the missing, mismatched, duplicate and invalid rows
	// kept (every one of them: the report file lists only the first 1,000).
	Records int64 `json:"records"`
	// ResultName is the results file's name (the source file plus
	// CAP_API_STATUS); ResultPath its local copy, for download (never
	// returned by the API).
	ResultName string `json:"resultName,omitempty"`
	ResultPath string `json:"-"`
	// Status is saving while the records of a large reconciliation are
	// still being stored (totals are final, the records table fills),
	// finished once every record is kept, failed if they could not be.
	Status string `json:"status"`
}

// Statuses of a kept Reconciliation.
const (
	ReconSaving   = "saving"
	ReconFinished = "finished"
	ReconFailed   = "failed"
)

// ReconTotals are a reconciliation's counts.
type ReconTotals struct {
	Rows       int64 `json:"rows"`       // data rows in the file
	Expected   int64 `json:"expected"`   // rows compared
	Present    int64 `json:"present"`    // CAP_API_STATUS 1
	Missing    int64 `json:"missing"`    // CAP_API_STATUS 0
	Mismatched int64 `json:"mismatched"` // present, with field differences
	Duplicates int64 `json:"duplicates"` // rows matching more than one destination entity
	BeforeYear int64 `json:"beforeFromYear"`
	Invalid    int64 `json:"invalid"` // rows without a lookup value or with an unreadable date
}

// ReconRecord is one row of the source file that is missing at the
// destination, differs from what it holds, matches several of its entities
// or could not be compared.
type ReconRecord struct {
	Line     int64             `json:"line"`
	Kind     string            `json:"kind"` // missing, mismatch, duplicate, invalid
	Key      map[string]string `json:"key"`
	EntityID string            `json:"entityId,omitempty"`
	Matches  int               `json:"matches,omitempty"`
	Fields   []ReconField      `json:"fields,omitempty"`
	Reason   string            `json:"reason,omitempty"`
}

// Kinds of ReconRecord.
const (
	ReconMissing   = "missing"
	ReconMismatch  = "mismatch"
	ReconDuplicate = "duplicate"
	ReconInvalid   = "invalid"
)

// ReconField is one field-level difference between a source row and the
// entity found for it.
type ReconField struct {
	Field       string `json:"field"`
	Column      string `json:"column"`
	Source      string `json:"source"`
	Destination string `json:"destination"`
}

// ReconFilter selects the records of one reconciliation.
type ReconFilter struct {
	OrgID  string
	ID     string
	Kind   string // "" = all kinds
	Limit  int
	Offset int
}

// ReconciliationRepo is implemented by Repos that keep reconciliations
// (store.Store). SaveReconciliation replaces what was kept under the same
// ID (a resumed run reports again) in one transaction; records yields the
// reconciliation's records in file order.
type ReconciliationRepo interface {
	SaveReconciliation(ctx context.Context, r Reconciliation, records func(yield func(ReconRecord) error) error) error
	GetReconciliation(ctx context.Context, orgID, id string) (Reconciliation, error)
	ListReconciliations(ctx context.Context, orgID, flowID, runID string, limit, offset int) ([]Reconciliation, error)
	ListReconRecords(ctx context.Context, f ReconFilter) ([]ReconRecord, error)
	// SaveReconciliationChunked is SaveReconciliation for a large one:
	// visible at once (status saving), its records stored in several
	// transactions, status finished once all are.
	SaveReconciliationChunked(ctx context.Context, r Reconciliation, records func(yield func(ReconRecord) error) error) error
	// SetReconciliationStatus changes a kept reconciliation's status.
	SetReconciliationStatus(ctx context.Context, id, status string) error
}

// ReconReport is the part of a reconciliation report document (what
// diff_tool writes on its report relation) that is kept.
type ReconReport struct {
	File        string        `json:"file"`
	DiffPath    string        `json:"diffPath"`
	Entity      string        `json:"entityType"`
	Source      string        `json:"source"`
	Started     time.Time     `json:"started"`
	Finished    time.Time     `json:"finished"`
	MatchedOn   []string      `json:"matchedOn"`
	Compared    []string      `json:"compared"`
	Unverified  []string      `json:"unverified,omitempty"`
	FromYear    int           `json:"fromYear,omitempty"`
	Totals      ReconTotals   `json:"totals"`
	Requests    int64         `json:"lookupRequests"`
	Resumed     int64         `json:"resumedRows,omitempty"`
	Differences []ReconRecord `json:"differences"`
}

// ParseReconReport reads a report document.
func ParseReconReport(doc []byte) (ReconReport, error) {
	var r ReconReport
	err := json.Unmarshal(doc, &r)
	return r, err
}
