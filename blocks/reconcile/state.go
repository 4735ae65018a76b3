package reconcile

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/connectplus/connectplus/block"
)

// state keeps the verdicts of a lineage's rows as they are decided, one
// JSON line per row, in the block's state directory: a lineage resumed
// after a crash replays them instead of asking the destination again.
// Rows are decided in file order, so line i is row i. Without a state
// directory (or a lineage id) nothing is kept.
//
// When the runtime hands a block.Journal (a cluster whose shared store is
// S3: the state directory is then the node's own, and a file rescued on
// another node would decide every row again), the verdicts are rows of the
// journal instead: each checkpoint appends one entry with the batch's
// verdicts and the number of its first row, so a resume on any node
// replays them. Numbering the rows makes the log immune to a former holder
// presumed dead that still appends (its entries repeat rows already
// numbered: the first verdict of a row wins, both were decided by a
// lookup).
type state struct {
	// Journal-backed: the log, the saved verdicts by row, the next row's
	// number, and the verdicts decided since the last checkpoint.
	jr      block.Journal
	jlog    string
	saved   map[int64]savedVerdict
	row     int64
	pending []byte
	first   int64

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

// journalTimeout bounds one journal operation of the verdict state.
const journalTimeout = time.Minute

func journalLogName(lineage string) string {
	h := sha256.Sum256([]byte(lineage))
	return "verdicts/" + hex.EncodeToString(h[:12])
}

func openState(env *block.Env, lineage string, resumed bool) (*state, error) {
	st := &state{}
	if env == nil || lineage == "" {
		return st, nil
	}
	if env.Journal != nil {
		return openJournalState(env.Journal, lineage, resumed)
	}
	dir := env.StateDir
	if dir == "" {
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

// openJournalState reads a resumed lineage's verdicts from the journal (a
// fresh lineage's left-over log, whose end was never recorded, is dropped).
func openJournalState(j block.Journal, lineage string, resumed bool) (*state, error) {
	st := &state{jr: j, jlog: journalLogName(lineage)}
	ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
	defer cancel()
	if !resumed {
		if err := j.Remove(ctx, st.jlog); err != nil {
			return nil, fmt.Errorf("reconciliation state: %w", err)
		}
		return st, nil
	}
	entries, err := j.Read(ctx, st.jlog)
	if err != nil {
		return nil, fmt.Errorf("reconciliation state: %w", err)
	}
	st.saved = map[int64]savedVerdict{}
	for _, e := range entries {
		head, body, ok := bytes.Cut(e, []byte("\n"))
		first, err := strconv.ParseInt(string(head), 10, 64)
		if !ok || err != nil {
			continue // not an entry of this format: decide those rows again
		}
		for n := first; len(body) > 0; n++ {
			var line []byte
			line, body, _ = bytes.Cut(body, []byte("\n"))
			var sv savedVerdict
			if json.Unmarshal(line, &sv) != nil {
				break
			}
			if _, dup := st.saved[n]; !dup {
				st.saved[n] = sv
			}
		}
	}
	return st, nil
}

// next returns the saved verdict of the next row, if the crashed run had
// decided it.
func (st *state) next() (verdict, bool) {
	if st.jr != nil {
		sv, ok := st.saved[st.row]
		if !ok {
			st.saved = nil // replay ends at the first row not decided
			return verdict{}, false
		}
		st.row++
		return sv.verdict(), true
	}
	if st.replay == nil {
		return verdict{}, false
	}
	for st.replay.Scan() {
		var sv savedVerdict
		if err := json.Unmarshal(st.replay.Bytes(), &sv); err != nil {
			break // a torn line: decide from here on
		}
		st.write(sv)
		return sv.verdict(), true
	}
	st.rf.Close()
	st.rf, st.replay = nil, nil
	return verdict{}, false
}

func (sv savedVerdict) verdict() verdict {
	v := verdict{EntityID: sv.E, Matches: sv.M, Diffs: sv.D, Reason: sv.R}
	if sv.S != "" {
		v.Status = sv.S[0]
	}
	return v
}

func (st *state) save(v verdict) error {
	sv := savedVerdict{E: v.EntityID, M: v.Matches, D: v.Diffs, R: v.Reason}
	if v.Status != 0 {
		sv.S = string(v.Status)
	}
	if st.jr != nil {
		if len(st.pending) == 0 {
			st.first = st.row
			st.pending = strconv.AppendInt(st.pending, st.first, 10)
			st.pending = append(st.pending, '\n')
		}
		b, _ := json.Marshal(sv)
		st.pending = append(append(st.pending, b...), '\n')
		st.row++
		return nil
	}
	if st.w == nil {
		return nil
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
	if st.jr != nil {
		if len(st.pending) == 0 {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
		defer cancel()
		if err := st.jr.Append(ctx, st.jlog, st.pending); err != nil {
			return fmt.Errorf("reconciliation state: %w", err)
		}
		st.pending = st.pending[:0]
		return nil
	}
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
	if st.jr != nil {
		ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
		defer cancel()
		// Harmless if it fails: a fresh lineage of this id drops the log.
		_ = st.jr.Remove(ctx, st.jlog)
		return
	}
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
