package block

import (
	"context"
	"io"
)

// ReportRecorder receives documents a block produces about a lineage
// besides its records — a reconciliation report — so the runtime can keep
// them beside the run (the server stores them and serves them with the
// run). RecordReport may take the time to copy the files it is
// handed (the block waits for it); it may be called from several
// goroutines at once and owns nothing after it returns (Doc is not reused).
type ReportRecorder interface {
	RecordReport(r ReportDoc)
}

// ReportDoc is one report.
type ReportDoc struct {
	LineageID string // the run (source file) it is about
	Block     string // the block that wrote it
	Kind      string // e.g. "reconciliation"
	File      string // the file it is about
	Doc       []byte // the report, JSON
	// Results, when set, is a local file the report is about (the source
	// file with CAP_API_STATUS) and Records a local file of every record
	// the report counts as different, one JSON object a line; both exist
	// until RecordReport returns, and the recorder copies what it keeps.
	Results string
	Records string
}

// DeliveryLedger lists what a dataflow's runs recorded as delivered: the
// result files the runtime kept of them (each source row with its status
// code, error and the entity id the destination gave). Reconciliation
// compares a file with it (diff_tool compareWith=ledger).
type DeliveryLedger interface {
	// ResultFiles lists the kept result files of the runs of the named
	// dataflow of the block's own organisation, oldest first.
	ResultFiles(ctx context.Context, flowName string) ([]LedgerFile, error)
}

// LedgerFile is one kept result file: its name and where it is — a local
// path, or (Open set) an object of the cluster's shared store.
type LedgerFile struct {
	Name string
	Path string
	// Open streams the file when it is not a local path (nil: os.Open).
	Open func(ctx context.Context) (io.ReadCloser, error)
}
