package engine

import (
	"sort"
	"strings"
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
	ID          string         `json:"lineageId"`
	Flow        string         `json:"flow"`
	Source      string         `json:"source"`
	Item        block.Item     `json:"item"`
	Status      string         `json:"status"`
	Error       string         `json:"error,omitempty"`
	FinishError string         `json:"finishError,omitempty"`
	Counts      block.Outcomes `json:"counts"`
	StatusCodes map[int]int64  `json:"statusCodes,omitempty"`
	// Errors counts failed records by block, status code and message
	// (at most MaxLineageErrors distinct ones; the rest are counted under
	// the message OtherErrors).
	Errors []ErrorCount `json:"errors,omitempty"`
	// Warnings counts records delivered with a status code outside 2xx.
	Warnings      int64         `json:"warnings,omitempty"`
	Started       time.Time     `json:"started"`
	Finished      time.Time     `json:"finished"`
	ResultName    string        `json:"resultName"`
	ResultRows    int64         `json:"resultRows"`
	ResultPath    string        `json:"resultPath,omitempty"`
	Blocks        []BlockCounts `json:"blocks,omitempty"`
	Resumed       bool          `json:"resumed,omitempty"`
	Interruptions int           `json:"interruptions,omitempty"`
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

// ErrorCount is how many records of a lineage one block failed with one
// status code and message.
type ErrorCount struct {
	Block   string `json:"block"`
	Code    int    `json:"code,omitempty"`
	Message string `json:"message"`
	Count   int64  `json:"count"`
}

// MaxLineageErrors bounds the distinct error messages a lineage keeps: a
// message that embeds a record value must not grow a map per record.
const MaxLineageErrors = 100

// OtherErrors is the message failures past MaxLineageErrors are counted under.
const OtherErrors = "(other errors)"

type errorKey struct {
	block, msg string
	code       int
}

// countError adds one failed record to errs. The summary is stored (in
// checkpoints and run records), so its messages are redacted like the
// result file's: a connector error may quote a resolved secret.
func countError(errs map[errorKey]int64, o *block.Outcome, redact func(string) string) {
	msg := o.Message
	if redact != nil && msg != "" {
		msg = redact(msg)
	}
	if len(msg) > 300 {
		msg = strings.ToValidUTF8(msg[:300], "")
	}
	k := errorKey{block: o.Block, code: o.Code, msg: msg}
	if _, ok := errs[k]; !ok && len(errs) >= MaxLineageErrors {
		k = errorKey{block: o.Block, msg: OtherErrors}
	}
	errs[k]++
}

func errorList(errs map[errorKey]int64) []ErrorCount {
	if len(errs) == 0 {
		return nil
	}
	out := make([]ErrorCount, 0, len(errs))
	for k, n := range errs {
		out = append(out, ErrorCount{Block: k.block, Code: k.code, Message: k.msg, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Block != b.Block {
			return a.Block < b.Block
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Message < b.Message
	})
	return out
}

func errorMap(list []ErrorCount) map[errorKey]int64 {
	m := make(map[errorKey]int64, len(list))
	for _, e := range list {
		m[errorKey{block: e.Block, code: e.Code, msg: e.Message}] += e.Count
	}
	return m
}
