package block

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
