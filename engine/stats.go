package engine

import (
	"sync/atomic"
	"time"

	"github.com/connectplus/connectplus/block"
)

// Lineage statuses, as Connect+ names them.
const (
	StatusSuccess = "Success"
	StatusPartial = "Partial Success"
	StatusFailure = "Failure"
)

// LineageResult is the outcome of one source file.
type LineageResult struct {
	ID            string         `json:"lineageId"`
	Flow          string         `json:"flow"`
	Source        string         `json:"source"`
	Item          block.Item     `json:"item"`
	Status        string         `json:"status"`
	Error         string         `json:"error,omitempty"`
	FinishError   string         `json:"finishError,omitempty"`
	Counts        block.Outcomes `json:"counts"`
	StatusCodes   map[int]int64  `json:"statusCodes,omitempty"`
	Started       time.Time      `json:"started"`
	Finished      time.Time      `json:"finished"`
	ResultName    string         `json:"resultName"`
	ResultRows    int64          `json:"resultRows"`
	ResultPath    string         `json:"resultPath,omitempty"`
	Blocks        []BlockCounts  `json:"blocks,omitempty"`
	Resumed       bool           `json:"resumed,omitempty"`
	Interruptions int            `json:"interruptions,omitempty"`
}

// Balanced reports whether every input record is accounted for:
// in = delivered + filtered + failed.
func (r LineageResult) Balanced() bool {
	c := r.Counts
	return c.In == c.Delivered+c.Filtered+c.Failed
}

// BlockStats are one block's counters.
type BlockStats struct {
	Name            string        `json:"name"`
	Type            string        `json:"type"`
	UnitsIn         int64         `json:"unitsIn"`
	UnitsOut        int64         `json:"unitsOut"`
	RecordsIn       int64         `json:"recordsIn"`
	RecordsOut      int64         `json:"recordsOut"`
	RecordsFiltered int64         `json:"recordsFiltered"`
	RecordsFailed   int64         `json:"recordsFailed"`
	Bytes           int64         `json:"bytes"`
	Errors          int64         `json:"errors"`
	Busy            time.Duration `json:"busy"`
}

type nodeStats struct {
	name, typ                                             string
	unitsIn, unitsOut                                     atomic.Int64
	recordsIn, recordsOut, recordsFiltered, recordsFailed atomic.Int64
	bytes, errors, busyNs                                 atomic.Int64
}

func (s *nodeStats) snapshot() BlockStats {
	return BlockStats{
		Name: s.name, Type: s.typ,
		UnitsIn: s.unitsIn.Load(), UnitsOut: s.unitsOut.Load(),
		RecordsIn: s.recordsIn.Load(), RecordsOut: s.recordsOut.Load(),
		RecordsFiltered: s.recordsFiltered.Load(), RecordsFailed: s.recordsFailed.Load(),
		Bytes: s.bytes.Load(), Errors: s.errors.Load(), Busy: time.Duration(s.busyNs.Load()),
	}
}

// BlockCounts are one block's counters for one lineage: units or records
// in, out (success and other relations), filtered and failed.
type BlockCounts struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	In       int64  `json:"in"`
	Out      int64  `json:"out"`
	Filtered int64  `json:"filtered"`
	Failed   int64  `json:"failed"`
}
