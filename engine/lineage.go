package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/format/extsort"
)

// lineage tracks one source file from claim to completion: how many units of
// it are still travelling, which records are terminal, and the result spool.
type lineage struct {
	id     string
	item   block.Item
	source *node
	flow   *Flow

	mu          sync.Mutex
	outstanding int  // units queued or being processed
	opened      bool // the source unit has been emitted
	completed   bool
	slotFreed   bool // the MaxLineages slot was given back (held, or done)
	fileErr     error
	started     time.Time
	resumed     bool
	interrupts  int

	counts    block.Outcomes
	watermark int64
	done      map[int64]struct{}
	states    map[string][]byte
	dirty     bool

	header      []string
	delim       byte
	report      string // all | success | failure
	spool       *os.File
	spoolW      *bufio.Writer
	spoolSize   int64
	index       *os.File // (line, offset) pairs, for sorting an out-of-order spool
	indexW      *bufio.Writer
	lastLine    int64
	sorted      bool
	rowBuf      []byte
	extraKeys   []string
	statusCodes map[int]int64
	ackedPrior  map[int64]struct{} // Done set restored from a checkpoint
	priorWM     int64
	blocks      []BlockCounts // per-block counters for this lineage, in first-seen order
	autoSeq     int64
	autoSeen    map[int64]struct{}

	// Result rows are written by a spooler goroutine so a destination's
	// goroutine does not also pay for CSV-encoding every outcome. Jobs are
	// sent under mu, so the spool's order matches the terminal order.
	pendingRows []spoolRec
	spoolCh     chan spoolJob
	spoolDone   chan struct{}
	spoolStop   sync.Once
}

type spoolRec struct {
	seq  int64
	line int64
	cols []string
	raw  string
	o    block.Outcome
	skip bool // terminal but not reported (Report Status Code): keeps seq order contiguous
}

type spoolJob struct {
	recs    []spoolRec
	barrier chan spoolState // flush, then reply with the spool's state
}

// spoolState is what a checkpoint needs from the spooler.
type spoolState struct {
	size int64
	held []HeldRow
}

// HeldRow is a result row waiting for an earlier record to finish, so the
// spool stays in source order. Held rows are checkpointed: their records
// count as done, and a resumed run must still write them.
type HeldRow struct {
	Seq  int64  `json:"seq"`
	Line int64  `json:"line"`
	Row  string `json:"row,omitempty"`
	Skip bool   `json:"skip,omitempty"`
}

// maxHeld bounds the rows kept waiting; past it rows are written out of
// order and the result file is sorted at the end instead.
const maxHeld = 200_000

// startSpooler runs the goroutine that owns the spool files. It writes rows
// in record sequence (= source line) order: a row whose earlier records are
// still travelling waits in memory, so the result file is usually the spool
// itself, without a sort.
func (l *lineage) startSpooler(next int64, restored []HeldRow, done map[int64]struct{}) {
	l.spoolCh = make(chan spoolJob, 64)
	l.spoolDone = make(chan struct{})
	held := make(map[int64]HeldRow, len(restored))
	for _, h := range restored {
		held[h.Seq] = h
	}
	// Records done before a restart whose rows are not held were written
	// out of order then: skip them when the sequence reaches them.
	early := map[int64]bool{}
	for s := range done {
		if _, ok := held[s]; !ok {
			early[s] = true
		}
	}
	write := func(h HeldRow) {
		if !h.Skip {
			l.writeRow(h.Line, []byte(h.Row))
		}
	}
	drain := func() {
		for {
			if h, ok := held[next]; ok {
				write(h)
				delete(held, next)
				next++
				continue
			}
			if early[next] {
				delete(early, next)
				next++
				continue
			}
			return
		}
	}
	handle := func(rec *spoolRec) {
		switch {
		case rec.seq <= 0:
			if !rec.skip {
				l.writeRow(rec.line, l.encodeRow(rec))
			}
		case rec.seq < next || early[rec.seq]:
			// Already written (a duplicate outcome): never twice.
		case rec.seq == next:
			if !rec.skip {
				l.writeRow(rec.line, l.encodeRow(rec))
			}
			next++
			drain()
		case len(held) >= maxHeld:
			if !rec.skip {
				l.writeRow(rec.line, l.encodeRow(rec))
			}
			early[rec.seq] = true
		default:
			h := HeldRow{Seq: rec.seq, Line: rec.line, Skip: rec.skip}
			if !rec.skip {
				h.Row = string(l.encodeRow(rec))
			}
			held[rec.seq] = h
		}
	}
	go func() {
		defer close(l.spoolDone)
		for job := range l.spoolCh {
			for i := range job.recs {
				handle(&job.recs[i])
			}
			if job.barrier != nil {
				_ = l.spoolW.Flush()
				_ = l.indexW.Flush()
				st := spoolState{size: l.spoolSize, held: make([]HeldRow, 0, len(held))}
				for _, h := range held {
					st.held = append(st.held, h)
				}
				sort.Slice(st.held, func(i, j int) bool { return st.held[i].Seq < st.held[j].Seq })
				job.barrier <- st
			}
		}
		// Every record is terminal by now, so nothing should be waiting;
		// if something is, it is written rather than lost.
		rest := make([]HeldRow, 0, len(held))
		for _, h := range held {
			rest = append(rest, h)
		}
		sort.Slice(rest, func(i, j int) bool { return rest[i].Seq < rest[j].Seq })
		for _, h := range rest {
			write(h)
		}
		_ = l.spoolW.Flush()
		_ = l.indexW.Flush()
	}()
}

// flushPendingLocked hands collected rows to the spooler. Caller holds mu.
func (l *lineage) flushPendingLocked() {
	if len(l.pendingRows) == 0 {
		return
	}
	l.spoolCh <- spoolJob{recs: l.pendingRows}
	l.pendingRows = nil
}

// spoolBarrierLocked asks the spooler for its state once every row handed
// over so far is written or held. Caller holds mu.
func (l *lineage) spoolBarrierLocked() chan spoolState {
	l.flushPendingLocked()
	ch := make(chan spoolState, 1)
	l.spoolCh <- spoolJob{barrier: ch}
	return ch
}

func (l *lineage) stopSpooler() {
	l.spoolStop.Do(func() {
		close(l.spoolCh)
		<-l.spoolDone
	})
}

// countBlock adds a unit's size (records, or 1 for a file) to a block's
// counters for this lineage. rel is "in" for arrivals.
func (l *lineage) countBlock(name, typ, rel string, u *block.Unit) {
	n := int64(1)
	if u.Batch != nil {
		n = int64(len(u.Batch.Records))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var bc *BlockCounts
	for i := range l.blocks {
		if l.blocks[i].Name == name {
			bc = &l.blocks[i]
			break
		}
	}
	if bc == nil {
		l.blocks = append(l.blocks, BlockCounts{Name: name, Type: typ})
		bc = &l.blocks[len(l.blocks)-1]
	}
	switch rel {
	case "in":
		bc.In += n
	case block.RelFailure:
		bc.Failed += n
	case block.RelFiltered:
		bc.Filtered += n
	default:
		bc.Out += n
	}
}

func (l *lineage) blockCounts() []BlockCounts {
	return append([]BlockCounts(nil), l.blocks...)
}

func (f *Flow) newLineage(src *node, it block.Item, cp *Checkpoint) (*lineage, error) {
	l := &lineage{
		item: it, source: src, flow: f, started: f.now(),
		done: map[int64]struct{}{}, states: map[string][]byte{},
		delim: ',', report: "all", sorted: true, statusCodes: map[int]int64{},
	}
	if cp != nil {
		l.id = cp.LineageID
		l.watermark, l.priorWM = cp.Watermark, cp.Watermark
		l.ackedPrior = make(map[int64]struct{}, len(cp.Done))
		for _, s := range cp.Done {
			l.done[s] = struct{}{}
			l.ackedPrior[s] = struct{}{}
		}
		for k, v := range cp.States {
			l.states[k] = v
		}
		l.counts = cp.Counts
		// Records born but not terminal at the checkpoint are born again.
		l.counts.In = l.counts.Delivered + l.counts.Filtered + l.counts.Failed
		for k, v := range cp.StatusCodes {
			l.statusCodes[k] = v
		}
		l.header = cp.Header
		l.started = cp.Started
		l.resumed = true
		l.interrupts = cp.Interruptions + 1
		l.spoolSize = cp.SpoolSize
	} else {
		l.id = newID()
	}
	dir := filepath.Join(f.workDir, "lineages")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lineage dir: %w", err)
	}
	var err error
	flags := os.O_CREATE | os.O_RDWR
	if cp == nil {
		flags |= os.O_TRUNC
	}
	if l.spool, err = os.OpenFile(filepath.Join(dir, l.id+".rows"), flags, 0o600); err != nil {
		return nil, fmt.Errorf("result spool: %w", err)
	}
	if l.index, err = os.OpenFile(filepath.Join(dir, l.id+".idx"), flags, 0o600); err != nil {
		return nil, fmt.Errorf("result index: %w", err)
	}
	if cp != nil {
		// Rows written after the last checkpoint belong to records that will
		// be processed again: drop them.
		if err := l.spool.Truncate(cp.SpoolSize); err != nil {
			return nil, err
		}
		if st, err := l.index.Stat(); err == nil {
			n := st.Size() / 16
			keep := int64(0)
			r := bufio.NewReader(io.NewSectionReader(l.index, 0, st.Size()))
			var pair [16]byte
			for i := int64(0); i < n; i++ {
				if _, err := io.ReadFull(r, pair[:]); err != nil {
					break
				}
				line := int64(binary.LittleEndian.Uint64(pair[:8]))
				if int64(binary.LittleEndian.Uint64(pair[8:])) >= cp.SpoolSize {
					break
				}
				if line < l.lastLine {
					l.sorted = false
				}
				l.lastLine = line
				keep++
			}
			_ = l.index.Truncate(keep * 16)
		}
		if _, err := l.spool.Seek(cp.SpoolSize, io.SeekStart); err != nil {
			return nil, err
		}
		if _, err := l.index.Seek(0, io.SeekEnd); err != nil {
			return nil, err
		}
	}
	l.spoolW = bufio.NewWriterSize(l.spool, 256<<10)
	l.indexW = bufio.NewWriterSize(l.index, 64<<10)
	var held []HeldRow
	if cp != nil {
		held = cp.Held
	}
	l.startSpooler(l.priorWM+1, held, l.ackedPrior)
	return l, nil
}

// lineageView is what blocks see (block.Lineage).
type lineageView struct{ l *lineage }

func (v lineageView) ID() string { return v.l.id }

func (v lineageView) Acked(seq int64) bool {
	l := v.l
	if seq <= l.priorWM {
		return true
	}
	_, ok := l.ackedPrior[seq]
	return ok
}

func (v lineageView) State(blockName string) []byte {
	v.l.mu.Lock()
	defer v.l.mu.Unlock()
	return v.l.states[blockName]
}

func (v lineageView) Resumed() bool { return v.l.resumed }

// born counts records entering the lineage (a file turned into records).
func (l *lineage) born(b *block.Batch) {
	n := int64(0)
	l.mu.Lock()
	for i := range b.Records {
		n += 1 + int64(len(b.Records[i].Members))
		// Records from blocks that do not number them get a sequence here,
		// so each is counted terminal exactly once.
		if b.Records[i].Seq == 0 {
			l.autoSeq++
			b.Records[i].Seq = -l.autoSeq
		}
		for j := range b.Records[i].Members {
			if b.Records[i].Members[j].Seq == 0 {
				l.autoSeq++
				b.Records[i].Members[j].Seq = -l.autoSeq
			}
		}
	}
	l.counts.In += n
	if l.header == nil && b.Header != nil {
		l.header = append([]string(nil), b.Header.Names...)
	}
	l.mu.Unlock()
}

// terminal records the final outcome of every record in b.
func (l *lineage) terminal(b *block.Batch, status block.Status, blockName string) {
	l.terminalWithState(b, status, blockName, nil)
}

// terminalWithState records outcomes and, in the same critical section, a
// block's resume state: a checkpoint must never see the records as done
// with the state from before them (they would be skipped on resume while
// the block's output was truncated to before them: lost).
func (l *lineage) terminalWithState(b *block.Batch, status block.Status, blockName string, state []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if state != nil {
		l.states[blockName] = append([]byte(nil), state...)
		l.dirty = true
	}
	if b == nil {
		return
	}
	if l.pendingRows == nil {
		n := len(b.Records)
		for i := range b.Records {
			n += len(b.Records[i].Members)
		}
		l.pendingRows = make([]spoolRec, 0, n)
	}
	for i := range b.Records {
		r := &b.Records[i]
		if r.Outcome.Status == block.Pending || r.Outcome.Status != status && status == block.Failed {
			r.Outcome.Status = status
		}
		if r.Outcome.Block == "" {
			r.Outcome.Block = blockName
		}
		l.finishRecord(r, &r.Outcome)
		for j := range r.Members {
			m := &r.Members[j]
			l.finishRecord(m, &r.Outcome)
		}
	}
	l.flushPendingLocked()
	l.dirty = true
	if obs := l.flow.opts.Observer; obs != nil {
		n := int64(len(b.Records))
		for i := range b.Records {
			n += int64(len(b.Records[i].Members))
		}
		obs.Records(n)
	}
}

func (l *lineage) finishRecord(r *block.Record, o *block.Outcome) {
	if r.Seq < 0 {
		// Engine-numbered records (their block keeps no order): count once.
		if _, dup := l.autoSeen[r.Seq]; dup {
			return
		}
		if l.autoSeen == nil {
			l.autoSeen = map[int64]struct{}{}
		}
		l.autoSeen[r.Seq] = struct{}{}
	}
	if r.Seq > 0 {
		if r.Seq <= l.watermark {
			return // already terminal (defensive: never count twice)
		}
		if r.Seq == l.watermark+1 {
			// In-order completion, the common case: no set bookkeeping.
			l.watermark++
		} else {
			if _, dup := l.done[r.Seq]; dup {
				return
			}
			l.done[r.Seq] = struct{}{}
		}
		for len(l.done) > 0 {
			if _, ok := l.done[l.watermark+1]; !ok {
				break
			}
			delete(l.done, l.watermark+1)
			l.watermark++
		}
	}
	switch o.Status {
	case block.Delivered:
		l.counts.Delivered++
	case block.Filtered:
		l.counts.Filtered++
	default:
		l.counts.Failed++
		if o.RetryExhausted {
			l.counts.RetryExhausted++
		}
	}
	l.statusCodes[o.Code]++
	if l.wantRow(o) {
		l.pendingRows = append(l.pendingRows, spoolRec{seq: r.Seq, line: r.Line, cols: r.Cols, raw: r.Raw, o: *o})
	} else if r.Seq > 0 {
		l.pendingRows = append(l.pendingRows, spoolRec{seq: r.Seq, skip: true})
	}
}

func statusText(o *block.Outcome) (code, msg string) {
	switch o.Status {
	case block.Delivered:
		if o.Code == 0 {
			return "200", o.Message
		}
	case block.Filtered:
		if o.Message == "" {
			return "", "filtered by " + o.Block
		}
		return "", o.Message
	}
	if o.Code == 0 {
		return "", o.Message
	}
	return strconv.Itoa(o.Code), o.Message
}

func (l *lineage) wantRow(o *block.Outcome) bool {
	switch l.report {
	case "success":
		return o.Status == block.Delivered && (o.Code == 0 || o.Code/100 == 2)
	case "failure":
		return o.Status == block.Failed || (o.Status == block.Delivered && o.Code != 0 && o.Code/100 != 2)
	}
	return true
}

// encodeRow renders one result row: original columns, status_code,
// error_message, entity_id, extra parse-path keys, line number, lineage id.
// The returned slice is reused by the next call.
func (l *lineage) encodeRow(rec *spoolRec) []byte {
	o := &rec.o
	for _, kv := range o.Extra {
		known := false
		for _, k := range l.extraKeys {
			if k == kv[0] {
				known = true
				break
			}
		}
		if !known && len(l.extraKeys) < 16 {
			l.extraKeys = append(l.extraKeys, kv[0])
		}
	}
	code, msg := statusText(o)
	if red := l.flow.opts.Redact; red != nil && msg != "" {
		msg = red(msg)
	}
	buf := l.rowBuf[:0]
	ncols := len(l.header)
	if ncols == 0 {
		ncols = len(rec.cols)
	}
	if rec.raw != "" && len(rec.cols) == ncols {
		// The source line as it was: no need to re-encode each column.
		buf = append(buf, rec.raw...)
	} else {
		for i := 0; i < ncols; i++ {
			if i > 0 {
				buf = append(buf, l.delim)
			}
			if i < len(rec.cols) {
				buf = appendCSVField(buf, rec.cols[i], l.delim)
			}
		}
	}
	for _, s := range []string{code, msg, o.EntityID} {
		buf = append(buf, l.delim)
		buf = appendCSVField(buf, s, l.delim)
	}
	for _, k := range l.extraKeys {
		buf = append(buf, l.delim)
		for _, kv := range o.Extra {
			if kv[0] == k {
				buf = appendCSVField(buf, kv[1], l.delim)
				break
			}
		}
	}
	buf = append(buf, l.delim)
	buf = strconv.AppendInt(buf, rec.line, 10)
	buf = append(buf, l.delim)
	buf = append(buf, l.id...)
	buf = append(buf, '\n')
	l.rowBuf = buf
	return buf
}

// writeRow appends an encoded row to the spool and its (line, offset) to the index.
func (l *lineage) writeRow(line int64, row []byte) {
	var pair [16]byte
	binary.LittleEndian.PutUint64(pair[:8], uint64(line))
	binary.LittleEndian.PutUint64(pair[8:], uint64(l.spoolSize))
	_, _ = l.indexW.Write(pair[:])
	_, _ = l.spoolW.Write(row)
	l.spoolSize += int64(len(row))
	if line < l.lastLine {
		l.sorted = false
	}
	l.lastLine = line
}

// snapshot captures a checkpoint; its SpoolSize is filled from the reply on
// the returned channel, once the spooler has written every row of the
// records counted here. Caller holds l.mu.
func (l *lineage) snapshot() (*Checkpoint, chan spoolState) {
	cp := &Checkpoint{
		LineageID: l.id, Item: l.item, Watermark: l.watermark,
		Counts: l.counts, Header: l.header,
		Started: l.started, Interruptions: l.interrupts,
		States:      make(map[string][]byte, len(l.states)),
		StatusCodes: make(map[int]int64, len(l.statusCodes)),
	}
	for k, v := range l.statusCodes {
		cp.StatusCodes[k] = v
	}
	for k, v := range l.states {
		cp.States[k] = v
	}
	cp.Done = make([]int64, 0, len(l.done))
	for s := range l.done {
		cp.Done = append(cp.Done, s)
	}
	sort.Slice(cp.Done, func(i, j int) bool { return cp.Done[i] < cp.Done[j] })
	l.dirty = false
	// No fsync of the spool: it only has to survive the process (kill -9),
	// which the page cache guarantees; syncing a growing spool four times a
	// second forces writeback and costs more than the whole conversion.
	return cp, l.spoolBarrierLocked()
}

func (l *lineage) checkpoint(ctx context.Context) error {
	l.mu.Lock()
	if !l.dirty || l.completed {
		l.mu.Unlock()
		return nil
	}
	cp, state := l.snapshot()
	l.mu.Unlock()
	st := <-state
	cp.SpoolSize, cp.Held = st.size, st.held
	return l.flow.opts.Checkpointer.Save(ctx, l.flow.key, cp)
}

// resultFile builds the result file from the spool: a header row then the
// rows in source-line order.
//
// When outcomes arrived in line order (the common case) the spool already is
// the body: the result is served as header + spool without copying it.
func (l *lineage) resultFile() (open func() (io.ReadCloser, error), rows int64, err error) {
	l.mu.Lock()
	l.flushPendingLocked()
	l.mu.Unlock()
	l.stopSpooler()
	var hdr []byte
	for i, h := range l.header {
		if i > 0 {
			hdr = append(hdr, l.delim)
		}
		hdr = appendCSVField(hdr, h, l.delim)
	}
	for _, h := range append(append([]string{"status_code", "error_message", "entity_id"}, l.extraKeys...), "line_number", "lineage_id") {
		if len(hdr) > 0 {
			hdr = append(hdr, l.delim)
		}
		hdr = appendCSVField(hdr, h, l.delim)
	}
	hdr = append(hdr, '\n')
	st, err := l.index.Stat()
	if err != nil {
		return nil, 0, err
	}
	rows = st.Size() / 16
	if l.sorted {
		spool, size := l.spool, l.spoolSize
		return func() (io.ReadCloser, error) {
			f, err := os.Open(spool.Name())
			if err != nil {
				return nil, err
			}
			return &resultReader{hdr: bytes.NewReader(hdr), body: &io.LimitedReader{R: f, N: size}, f: f}, nil
		}, rows, nil
	}
	path := filepath.Join(l.flow.workDir, "lineages", l.id+".result")
	out, err := os.Create(path)
	if err != nil {
		return nil, 0, err
	}
	defer out.Close()
	w := bufio.NewWriterSize(out, 256<<10)
	if _, err := w.Write(hdr); err != nil {
		return nil, 0, err
	}
	{
		// Out-of-order outcomes (a parse failure decided before earlier rows
		// were delivered): sort the (line, offset) index, then copy rows.
		// Sort the (line, offset, length) index on disk: 24 bytes a row would
		// otherwise grow memory with the file.
		srt, err := extsort.New(extsort.Options{MemLimit: 32 << 20, TempDir: filepath.Join(l.flow.workDir, "lineages"),
			Key: func(rec []byte) []byte { return rec[:8] }})
		if err != nil {
			return nil, 0, err
		}
		defer srt.Close()
		r := bufio.NewReader(io.NewSectionReader(l.index, 0, st.Size()))
		var pair [16]byte
		var prev [24]byte
		havePrev := false
		for {
			if _, err := io.ReadFull(r, pair[:]); err != nil {
				break
			}
			off := binary.LittleEndian.Uint64(pair[8:])
			if havePrev {
				binary.BigEndian.PutUint64(prev[16:], off-binary.BigEndian.Uint64(prev[8:16]))
				if err := srt.Add(prev[:]); err != nil {
					return nil, 0, err
				}
			}
			// Lines are non-negative, so big-endian bytes sort like numbers.
			binary.BigEndian.PutUint64(prev[:8], binary.LittleEndian.Uint64(pair[:8]))
			binary.BigEndian.PutUint64(prev[8:16], off)
			havePrev = true
		}
		if havePrev {
			binary.BigEndian.PutUint64(prev[16:], uint64(l.spoolSize)-binary.BigEndian.Uint64(prev[8:16]))
			if err := srt.Add(prev[:]); err != nil {
				return nil, 0, err
			}
		}
		it, err := srt.Sort()
		if err != nil {
			return nil, 0, err
		}
		defer it.Close()
		buf := make([]byte, 0, 4096)
		// Outcomes come from a few streams that are each in line order, so
		// the sorted reads walk a few places of the spool at once: a small
		// cache of windows turns a syscall per row into a memory copy.
		wr := newWindowReader(l.spool, 1<<20, 16)
		for it.Next() {
			rec := it.Record()
			off, n := int64(binary.BigEndian.Uint64(rec[8:16])), int(binary.BigEndian.Uint64(rec[16:24]))
			if cap(buf) < n {
				buf = make([]byte, n)
			}
			buf = buf[:n]
			if err := wr.readAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
				return nil, 0, err
			}
			if _, err := w.Write(buf); err != nil {
				return nil, 0, err
			}
		}
		if err := it.Err(); err != nil {
			return nil, 0, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, 0, err
	}
	return func() (io.ReadCloser, error) { return os.Open(path) }, rows, nil
}

// appendCSVField appends s as one CSV field, quoted when it holds the
// delimiter, a quote or a line break (RFC 4180).
func appendCSVField(dst []byte, s string, delim byte) []byte {
	need := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == delim || c == '"' || c == '\n' || c == '\r' {
			need = true
			break
		}
	}
	if !need {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

func (l *lineage) cleanup() {
	l.stopSpooler()
	l.spool.Close()
	l.index.Close()
	base := filepath.Join(l.flow.workDir, "lineages", l.id)
	for _, ext := range []string{".rows", ".idx", ".result"} {
		_ = os.Remove(base + ext)
	}
}

// windowReader serves ReadAt from a few cached windows of a file, evicting
// the least recently used.
type windowReader struct {
	r       io.ReaderAt
	size    int
	windows []window
	tick    int
}

type window struct {
	off  int64
	data []byte
	used int
}

func newWindowReader(r io.ReaderAt, size, count int) *windowReader {
	return &windowReader{r: r, size: size, windows: make([]window, 0, count)}
}

func (w *windowReader) readAt(p []byte, off int64) error {
	if len(p) > w.size {
		_, err := w.r.ReadAt(p, off)
		return err
	}
	w.tick++
	for i := range w.windows {
		win := &w.windows[i]
		if off >= win.off && off+int64(len(p)) <= win.off+int64(len(win.data)) {
			copy(p, win.data[off-win.off:])
			win.used = w.tick
			return nil
		}
	}
	var win *window
	if len(w.windows) < cap(w.windows) {
		w.windows = append(w.windows, window{data: make([]byte, w.size)})
		win = &w.windows[len(w.windows)-1]
	} else {
		win = &w.windows[0]
		for i := range w.windows {
			if w.windows[i].used < win.used {
				win = &w.windows[i]
			}
		}
	}
	win.data = win.data[:cap(win.data)]
	n, err := w.r.ReadAt(win.data, off)
	win.data, win.off, win.used = win.data[:n], off, w.tick
	if n < len(p) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	copy(p, win.data)
	return nil
}

// resultReader serves a result file as header + spool. Its WriteTo lets a
// destination that is a file copy the spool in the kernel
// (copy_file_range) instead of through user space.
type resultReader struct {
	hdr  *bytes.Reader
	body *io.LimitedReader
	f    *os.File
}

func (r *resultReader) Read(p []byte) (int, error) {
	if r.hdr.Len() > 0 {
		return r.hdr.Read(p)
	}
	return r.body.Read(p)
}

func (r *resultReader) WriteTo(w io.Writer) (int64, error) {
	n, err := r.hdr.WriteTo(w)
	if err != nil {
		return n, err
	}
	var m int64
	if rf, ok := w.(io.ReaderFrom); ok {
		m, err = rf.ReadFrom(r.body)
	} else {
		m, err = io.Copy(w, r.body)
	}
	return n + m, err
}

func (r *resultReader) Close() error { return r.f.Close() }
