package reconcile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// state keeps the verdicts of a lineage's rows as they are decided, one
// JSON line per row, in the block's state directory: a lineage resumed
// after a crash replays them instead of asking the destination again.
// Rows are decided in file order, so line i is row i. Without a state
// directory (or a lineage id) nothing is kept.
type state struct {
	path   string
	replay *bufio.Scanner
	rf     *os.File
	w      *bufio.Writer
	wf     *os.File
	// renamed: the file being written already carries the state's name.
	renamed bool
}

type savedVerdict struct {
	S string      `json:"s,omitempty"`
	E string      `json:"e,omitempty"`
	M int         `json:"m,omitempty"`
	D []FieldDiff `json:"d,omitempty"`
	R string      `json:"r,omitempty"`
}

func openState(dir, lineage string, resumed bool) (*state, error) {
	st := &state{}
	if dir == "" || lineage == "" {
		return st, nil
	}
	st.path = filepath.Join(dir, safeName(lineage)+".verdicts")
	if resumed {
		if f, err := os.Open(st.path); err == nil {
			st.rf = f
			st.replay = bufio.NewScanner(f)
			st.replay.Buffer(make([]byte, 64<<10), 16<<20)
		}
	}
	// The replayed lines are rewritten as they are read, so a torn last
	// line of the crashed run is dropped rather than kept.
	tmp := st.path + ".new"
	f, err := os.Create(tmp)
	if err != nil {
		st.close()
		return nil, fmt.Errorf("reconciliation state: %w", err)
	}
	st.wf, st.w = f, bufio.NewWriterSize(f, 64<<10)
	return st, nil
}

// next returns the saved verdict of the next row, if the crashed run had
// decided it.
func (st *state) next() (verdict, bool) {
	if st.replay == nil {
		return verdict{}, false
	}
	for st.replay.Scan() {
		var sv savedVerdict
		if err := json.Unmarshal(st.replay.Bytes(), &sv); err != nil {
			break // a torn line: decide from here on
		}
		v := verdict{EntityID: sv.E, Matches: sv.M, Diffs: sv.D, Reason: sv.R}
		if sv.S != "" {
			v.Status = sv.S[0]
		}
		st.write(sv)
		return v, true
	}
	st.rf.Close()
	st.rf, st.replay = nil, nil
	return verdict{}, false
}

func (st *state) save(v verdict) error {
	if st.w == nil {
		return nil
	}
	sv := savedVerdict{E: v.EntityID, M: v.Matches, D: v.Diffs, R: v.Reason}
	if v.Status != 0 {
		sv.S = string(v.Status)
	}
	return st.write(sv)
}

func (st *state) write(sv savedVerdict) error {
	if st.w == nil {
		return nil
	}
	b, _ := json.Marshal(sv)
	st.w.Write(b)
	if err := st.w.WriteByte('\n'); err != nil {
		return fmt.Errorf("reconciliation state: %w", err)
	}
	return nil
}

// checkpoint makes the verdicts so far durable under the state's name
// (called after each batch).
func (st *state) checkpoint() error {
	if st.w == nil {
		return nil
	}
	if err := st.w.Flush(); err != nil {
		return fmt.Errorf("reconciliation state: %w", err)
	}
	if st.replay != nil || st.renamed {
		return nil // still replaying (the old file is being read), or in place
	}
	if err := os.Rename(st.path+".new", st.path); err != nil {
		return fmt.Errorf("reconciliation state: %w", err)
	}
	st.renamed = true
	return nil
}

// finish removes the state: the lineage is done.
func (st *state) finish() {
	st.close()
	if st.path != "" {
		os.Remove(st.path)
		os.Remove(st.path + ".new")
	}
}

func (st *state) close() {
	if st.rf != nil {
		st.rf.Close()
		st.rf = nil
	}
	if st.wf != nil {
		st.w.Flush()
		st.wf.Close()
		st.wf = nil
	}
}
