package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
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
	// completing and ended mirror Checkpoint.Completing and Ended.
	completing bool
	ended      bool

	counts    block.Outcomes
	watermark int64
	done      doneSet // terminal records above the watermark
	states    map[string][]byte
	dirty     bool

	header      []string
	delim       byte
	report      string // all | success | failure
	spool       *os.File
	spoolBuf    []byte // rows not yet written to spool (spooler goroutine only)
	spoolSize   int64
	spoolCRC    uint32   // CRC-32C of the spool's spoolSize bytes
	indexCRC    uint32   // CRC-32C of the index entries
	rows        int64    // index entries (result rows) in the spool
	spoolErr    error    // first failure writing the spool: the result file cannot be trusted
	index       *os.File // (line, offset) pairs, for sorting an out-of-order spool
	indexBuf    []byte   // index entries not yet written to index
	lastLine    int64
	sorted      bool
	rowBuf      []byte
	extraKeys   []string
	statusCodes statusCounts
	errors      map[errorKey]int64
	warnings    int64
	ackedPrior  map[int64]struct{} // Done set restored from a checkpoint
	priorWM     int64
	blocks      []BlockCounts // per-block counters for this lineage, in first-seen order
	autoSeq     int64
	autoSeen    map[int64]struct{}

	// Result rows are written by a spooler goroutine so a destination's
	// goroutine does not also pay for CSV-encoding every outcome. Jobs are
	// sent under mu, so the spool's order matches the terminal order.
	pendingRows []spoolRec
	// spoolFree hands written jobs' slices back for reuse: a slice per
	// terminal batch was the engine's largest allocation.
	spoolFree chan []spoolRec
	spoolCh   chan spoolJob
	spoolDone chan struct{}
	spoolStop sync.Once

	// Segments on the shared store (Options.Spools, spoolseg.go): where
	// the next upload starts, and whether the lineage's segments are gone.
	segMu      sync.Mutex
	segRows    int64
	segIdx     int64
	segDeleted bool
	restored   bool // the resumed spool was rebuilt from the store
	segUploads atomic.Int64
	segNanos   atomic.Int64

	// Saves of one lineage can overlap (the checkpoint loop, a completion
	// step): each snapshot is numbered under mu, and a save stores its
	// checkpoint (and commits it upstream, Stream.Ended) only when no
	// later snapshot was stored first, so a stored checkpoint never goes
	// back to an older one.
	saveGen   int64 // snapshots taken (under mu)
	saveOrder sync.Mutex
	savedGen  int64 // the newest snapshot stored (under saveOrder)
}

type spoolRec struct {
	seq  int64
	line int64
	cols []string // nil when whole
	raw  string
	o    block.Outcome
	skip bool // terminal but not reported (Report Status Code): keeps seq order contiguous
	// whole: raw stands for the row's columns (as many as the header has),
	// so cols is not kept — a source reusing the slices its Cols come from
	// (block.Recycler) needs the spooler not to hold them.
	whole bool
}

type spoolJob struct {
	recs    []spoolRec
	barrier chan spoolState // flush, then reply with the spool's state
}

// spoolState is what a checkpoint needs from the spooler.
type spoolState struct {
	size  int64
	check SpoolCheck
	held  []HeldRow
	err   error
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

// spoolJobRows is how many result rows collect before they are handed to
// the spooler as one job.
const spoolJobRows = 256

// maxHeld bounds the rows kept waiting; past it rows are written out of
// order and the result file is sorted at the end instead.
const maxHeld = 200_000

// startSpooler runs the goroutine that owns the spool files. It writes rows
// in record sequence (= source line) order: a row whose earlier records are
// still travelling waits in memory, so the result file is usually the spool
// itself, without a sort.
func (l *lineage) startSpooler(next int64, restored []HeldRow, done map[int64]struct{}) {
	l.spoolCh = make(chan spoolJob, 16)
	l.spoolFree = make(chan []spoolRec, 16)
	l.spoolDone = make(chan struct{})
	w := &heldWindow{next: next}
	for _, h := range restored {
		w.put(h.Seq, heldEntry{pre: true, row: h.Row, line: h.Line, skip: h.Skip})
	}
	// Records done before a restart whose rows are not held were written
	// out of order then: skip them when the sequence reaches them.
	early := map[int64]bool{}
	for s := range done {
		if !w.has(s) {
			early[s] = true
		}
	}
	write := func(e *heldEntry) {
		switch {
		case e.skip:
		case e.pre:
			l.spoolBuf = append(l.spoolBuf, e.row...)
			l.indexRow(e.line, len(e.row))
		default:
			l.writeRec(&e.rec)
		}
	}
	drain := func() {
		for {
			if e := w.first(); e != nil {
				write(e)
				w.advance()
				continue
			}
			if len(early) > 0 && early[w.next] {
				delete(early, w.next)
				w.advance()
				continue
			}
			return
		}
	}
	handle := func(rec *spoolRec) {
		switch {
		case rec.seq <= 0:
			if !rec.skip {
				l.writeRec(rec)
			}
		case rec.seq < w.next || (len(early) > 0 && early[rec.seq]):
			// Already written or waiting (a duplicate outcome): never twice.
		case rec.seq == w.next:
			if !rec.skip {
				l.writeRec(rec)
			}
			w.advance()
			drain()
		case w.n >= maxHeld || rec.seq-w.next >= 4*maxHeld:
			if !rec.skip {
				l.writeRec(rec)
			}
			early[rec.seq] = true
		default:
			// The outcome is kept, not its encoded row: most rows wait
			// only until the records before them are delivered, and
			// encoding them once, when written, spares a copy each.
			w.put(rec.seq, heldEntry{rec: *rec, skip: rec.skip})
		}
	}
	heldRows := func() []HeldRow {
		rows := make([]HeldRow, 0, w.n)
		w.each(func(seq int64, e *heldEntry) {
			h := HeldRow{Seq: seq, Skip: e.skip}
			switch {
			case e.pre:
				h.Line, h.Row = e.line, e.row
			default:
				h.Line = e.rec.line
				if !e.skip {
					h.Row = string(l.encodeRow(&e.rec))
				}
			}
			rows = append(rows, h)
		})
		return rows
	}
	go func() {
		defer close(l.spoolDone)
		for job := range l.spoolCh {
			for i := range job.recs {
				handle(&job.recs[i])
			}
			if job.recs != nil {
				// Held rows were copied into the window: the slice is free.
				clear(job.recs)
				select {
				case l.spoolFree <- job.recs[:0]:
				default:
				}
			}
			if job.barrier != nil {
				l.flushSpool()
				job.barrier <- spoolState{size: l.spoolSize, held: heldRows(), err: l.spoolErr,
					check: SpoolCheck{CRC32C: l.spoolCRC, Rows: l.rows, IndexCRC32C: l.indexCRC}}
			}
		}
		// Every record is terminal by now, so nothing should be waiting;
		// if something is, it is written (in sequence order) rather than lost.
		w.each(func(_ int64, e *heldEntry) { write(e) })
		l.flushSpool()
	}()
}

// heldEntry is a result row waiting in a heldWindow: an outcome still to be
// encoded, or (restored from a checkpoint) the encoded row itself.
type heldEntry struct {
	set  bool
	skip bool   // terminal but not reported: nothing to write
	pre  bool   // row and line are the encoded row (restored)
	line int64  // pre only
	row  string // pre only
	rec  spoolRec
}

// heldWindow holds the rows that wait for earlier records, indexed by
// sequence number from next (the next row the spool expects): a ring rather
// than a map, because in a running pipeline most rows pass through here
// (filtered rows finish before their batch's delivered ones, parallel
// destinations acknowledge out of order) and the window stays short.
type heldWindow struct {
	next int64
	buf  []heldEntry // ring, a power of two long; slots outside the span are zero
	head int         // slot of seq next
	span int         // seqs next … next+span-1 may be set
	n    int         // entries set
}

func (w *heldWindow) at(i int) *heldEntry { return &w.buf[(w.head+i)&(len(w.buf)-1)] }

func (w *heldWindow) has(seq int64) bool {
	i := seq - w.next
	return i >= 0 && i < int64(w.span) && w.at(int(i)).set
}

func (w *heldWindow) put(seq int64, e heldEntry) {
	i := int(seq - w.next)
	if i < 0 {
		return
	}
	if i >= len(w.buf) {
		size := max(len(w.buf), 16)
		for size <= i {
			size *= 2
		}
		nb := make([]heldEntry, size)
		for j := 0; j < w.span; j++ {
			nb[j] = *w.at(j)
		}
		w.buf, w.head = nb, 0
	}
	e.set = true
	if i >= w.span || !w.at(i).set {
		w.n++
	}
	*w.at(i) = e
	w.span = max(w.span, i+1)
}

// first returns the entry for next, or nil when that row has not arrived.
func (w *heldWindow) first() *heldEntry {
	if w.span > 0 && w.at(0).set {
		return w.at(0)
	}
	return nil
}

// advance moves past next (written, or skipped).
func (w *heldWindow) advance() {
	w.next++
	if w.span == 0 {
		return
	}
	e := w.at(0)
	if e.set {
		w.n--
	}
	*e = heldEntry{} // release its columns for the collector
	w.head = (w.head + 1) & (len(w.buf) - 1)
	w.span--
}

// each calls f for every entry set, in sequence order.
func (w *heldWindow) each(f func(seq int64, e *heldEntry)) {
	for i := 0; i < w.span; i++ {
		if e := w.at(i); e.set {
			f(w.next+int64(i), e)
		}
	}
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
		states: map[string][]byte{},
		delim:  ',', report: "all", sorted: true,
	}
	if cp != nil {
		l.id = cp.LineageID
		l.watermark, l.priorWM = cp.Watermark, cp.Watermark
		l.ackedPrior = make(map[int64]struct{}, len(cp.Done))
		l.done.wm = cp.Watermark
		for _, s := range cp.Done {
			if s > cp.Watermark {
				l.done.add(s)
			}
			l.ackedPrior[s] = struct{}{}
		}
		for k, v := range cp.States {
			l.states[k] = v
		}
		l.counts = cp.Counts
		// Records born but not terminal at the checkpoint are born again.
		l.counts.In = l.counts.Delivered + l.counts.Filtered + l.counts.Failed
		for k, v := range cp.StatusCodes {
			l.statusCodes.add(k, v)
		}
		l.errors = errorMap(cp.Errors)
		l.warnings = cp.Warnings
		l.header = cp.Header
		l.started = cp.Started
		l.resumed = true
		l.interrupts = cp.Interruptions + 1
		l.completing, l.ended = cp.Completing, cp.Ended
		if cp.Error != "" {
			l.fileErr = errors.New(cp.Error)
		}
	} else {
		l.id = newID()
	}
	var held []HeldRow
	if cp != nil {
		held = cp.Held
	}
	if err := l.openSpool(cp); err != nil {
		var re *resumeError
		if !errors.As(err, &re) {
			l.closeSpool()
			return nil, err
		}
		// The spool this checkpoint continues is gone or is not the one it
		// describes: continuing would leave a hole where the acknowledged
		// records' rows were. The file fails as a whole instead, its result
		// file saying why; acknowledged records are still never sent again.
		if err := l.resetSpool(); err != nil {
			l.closeSpool()
			return nil, err
		}
		if l.fileErr == nil {
			l.fileErr = re
		}
		held = nil
	}
	l.spoolBuf = make([]byte, 0, spoolBufSize)
	l.indexBuf = make([]byte, 0, indexBufSize)
	l.startSpooler(l.priorWM+1, held, l.ackedPrior)
	return l, nil
}

// castagnoli is the CRC-32C table (hardware-accelerated on amd64 and arm64).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// resumeError says why an interrupted lineage cannot continue its result
// spool; the lineage then fails as a whole with this message.
type resumeError struct{ msg string }

func (e *resumeError) Error() string { return e.msg }

// spoolPaths returns the lineage's result spool and index. They live in the
// state directory, next to the checkpoints that refer to them.
func (l *lineage) spoolPaths() (rows, idx string) {
	base := filepath.Join(l.flow.stateDir, "lineages", l.id)
	return base + ".rows", base + ".idx"
}

// openSpool opens the lineage's result spool and index: empty for a new
// lineage; for a resumed one, verified against the checkpoint and cut back
// to what it acknowledged.
func (l *lineage) openSpool(cp *Checkpoint) error {
	f := l.flow
	if err := os.MkdirAll(filepath.Join(f.stateDir, "lineages"), 0o700); err != nil {
		return fmt.Errorf("lineage dir: %w", err)
	}
	rows, idx := l.spoolPaths()
	if cp != nil && f.stateDir != f.workDir {
		// Checkpoints written before the state directory existed refer to
		// spools in the work directory (the server's was persistent).
		legacy := filepath.Join(f.workDir, "lineages", l.id)
		if _, err := os.Stat(rows); errors.Is(err, os.ErrNotExist) {
			if _, err := os.Stat(legacy + ".rows"); err == nil {
				_ = os.Rename(legacy+".rows", rows)
				_ = os.Rename(legacy+".idx", idx)
			}
		}
	}
	flags := os.O_CREATE | os.O_RDWR
	if cp == nil {
		flags |= os.O_TRUNC
	}
	var err error
	if l.spool, err = os.OpenFile(rows, flags, 0o600); err != nil {
		return fmt.Errorf("result spool: %w", err)
	}
	if l.index, err = os.OpenFile(idx, flags, 0o600); err != nil {
		return fmt.Errorf("result index: %w", err)
	}
	if cp == nil {
		return nil
	}
	if f.opts.Spools != nil {
		return l.resumeSegments(cp)
	}
	return l.verifySpool(cp)
}

// verifySpool checks that the spool and index hold what cp acknowledged —
// its size, the CRC-32C of its bytes, the number and CRC-32C of its index
// entries — drops what was written after cp, and positions both for
// appending. A mismatch is a *resumeError.
func (l *lineage) verifySpool(cp *Checkpoint) error {
	acked := cp.Counts.Delivered + cp.Counts.Filtered + cp.Counts.Failed
	fail := func(format string, args ...any) error {
		return &resumeError{msg: fmt.Sprintf("cannot resume %s: ", l.item.Name) + fmt.Sprintf(format, args...) +
			fmt.Sprintf("; the %d records acknowledged before the interruption were not sent again, the rest of the file was not processed and the result rows of the acknowledged records are lost", acked)}
	}
	rowsPath, _ := l.spoolPaths()
	st, err := l.spool.Stat()
	if err != nil {
		return fmt.Errorf("result spool: %w", err)
	}
	if st.Size() < cp.SpoolSize {
		return fail("its result spool %s holds %d bytes but the checkpoint acknowledged %d (was it removed, or kept in a directory that did not survive?)", rowsPath, st.Size(), cp.SpoolSize)
	}
	h := crc32.New(castagnoli)
	if _, err := io.Copy(h, io.NewSectionReader(l.spool, 0, cp.SpoolSize)); err != nil {
		return fmt.Errorf("reading result spool: %w", err)
	}
	crc := h.Sum32()
	if cp.Spool != nil && crc != cp.Spool.CRC32C {
		return fail("its result spool %s does not hold what the checkpoint acknowledged (CRC-32C %08x, checkpoint %08x)", rowsPath, crc, cp.Spool.CRC32C)
	}
	ist, err := l.index.Stat()
	if err != nil {
		return fmt.Errorf("result index: %w", err)
	}
	var (
		keep    int64
		icrc    uint32
		prevOff int64 = -1
		pair    [16]byte
	)
	r := bufio.NewReader(io.NewSectionReader(l.index, 0, ist.Size()))
	for i := int64(0); i < ist.Size()/16; i++ {
		if _, err := io.ReadFull(r, pair[:]); err != nil {
			return fmt.Errorf("reading result index: %w", err)
		}
		line := int64(binary.LittleEndian.Uint64(pair[:8]))
		off := int64(binary.LittleEndian.Uint64(pair[8:]))
		if off >= cp.SpoolSize {
			break
		}
		if off <= prevOff || (prevOff < 0 && off != 0) {
			return fail("its result index is damaged (row %d at offset %d)", keep+1, off)
		}
		prevOff = off
		icrc = crc32.Update(icrc, castagnoli, pair[:])
		if line < l.lastLine {
			l.sorted = false
		}
		l.lastLine = line
		keep++
	}
	if cp.Spool != nil && (keep != cp.Spool.Rows || icrc != cp.Spool.IndexCRC32C) {
		return fail("its result index holds %d rows (CRC-32C %08x) but the checkpoint acknowledged %d (%08x)", keep, icrc, cp.Spool.Rows, cp.Spool.IndexCRC32C)
	}
	if keep == 0 && cp.SpoolSize > 0 {
		return fail("its result index is missing")
	}
	// Rows written after the checkpoint belong to records that will be
	// processed again: drop them.
	if err := l.spool.Truncate(cp.SpoolSize); err != nil {
		return fmt.Errorf("result spool: %w", err)
	}
	if err := l.index.Truncate(keep * 16); err != nil {
		return fmt.Errorf("result index: %w", err)
	}
	if _, err := l.spool.Seek(cp.SpoolSize, io.SeekStart); err != nil {
		return fmt.Errorf("result spool: %w", err)
	}
	if _, err := l.index.Seek(keep*16, io.SeekStart); err != nil {
		return fmt.Errorf("result index: %w", err)
	}
	l.spoolSize, l.spoolCRC, l.indexCRC, l.rows = cp.SpoolSize, crc, icrc, keep
	return nil
}

// resetSpool empties the spool and index (a lineage that cannot resume).
func (l *lineage) resetSpool() error {
	for _, f := range []*os.File{l.spool, l.index} {
		if err := f.Truncate(0); err != nil {
			return fmt.Errorf("result spool: %w", err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("result spool: %w", err)
		}
	}
	l.spoolSize, l.spoolCRC, l.indexCRC, l.rows = 0, 0, 0, 0
	l.sorted, l.lastLine = true, 0
	return nil
}

func (l *lineage) closeSpool() {
	if l.spool != nil {
		l.spool.Close()
	}
	if l.index != nil {
		l.index.Close()
	}
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
	n := len(b.Records)
	for i := range b.Records {
		n += len(b.Records[i].Members)
	}
	if len(l.pendingRows)+n > cap(l.pendingRows) {
		l.flushPendingLocked() // the job is full: a new slice, not a copy
	}
	if l.pendingRows == nil {
		select {
		case free := <-l.spoolFree:
			if cap(free) >= n {
				l.pendingRows = free
			}
		default:
		}
		if l.pendingRows == nil {
			l.pendingRows = make([]spoolRec, 0, max(n, spoolJobRows+spoolJobRows/2))
		}
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
	if len(l.pendingRows) >= spoolJobRows {
		// Rows go to the spooler in jobs of a few batches: a job per
		// batch woke it for every unit. The rest wait for the next batch
		// or a checkpoint's barrier (which hands them over first).
		l.flushPendingLocked()
	}
	l.dirty = true
	if obs := l.flow.opts.Observer; obs != nil {
		obs.Records(int64(n))
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
		} else if !l.done.add(r.Seq) {
			return // a duplicate outcome
		}
		l.watermark = l.done.advance(l.watermark)
	}
	switch o.Status {
	case block.Delivered:
		l.counts.Delivered++
		if o.Code != 0 && o.Code/100 != 2 {
			l.warnings++
		}
	case block.Filtered:
		l.counts.Filtered++
	default:
		l.counts.Failed++
		if o.RetryExhausted {
			l.counts.RetryExhausted++
		}
		if l.errors == nil {
			l.errors = map[errorKey]int64{}
		}
		countError(l.errors, o, l.flow.opts.Redact)
	}
	l.statusCodes.add(o.Code, 1)
	if l.wantRow(o) {
		rec := spoolRec{seq: r.Seq, line: r.Line, cols: r.Cols, raw: r.Raw, o: *o}
		// The header, once known, does not change: appendRow would take
		// raw for this row whenever it writes it.
		if r.Raw != "" && len(l.header) > 0 && len(r.Cols) == len(l.header) {
			rec.cols, rec.whole = nil, true
		}
		l.pendingRows = append(l.pendingRows, rec)
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
	if o.Code > 0 && o.Code < len(codeTexts) {
		return codeTexts[o.Code], o.Message
	}
	return strconv.Itoa(o.Code), o.Message
}

// codeTexts holds the decimal text of every HTTP status code, so the result
// row of each delivered record does not format (and allocate) "200" anew.
// Read-only after init.
var codeTexts = func() (t [600]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

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
	l.rowBuf = l.appendRow(l.rowBuf[:0], rec)
	return l.rowBuf
}

// appendRow appends rec's result row (encodeRow) to buf.
func (l *lineage) appendRow(buf []byte, rec *spoolRec) []byte {
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
	ncols := len(l.header)
	if ncols == 0 {
		ncols = len(rec.cols)
	}
	if rec.whole || rec.raw != "" && len(rec.cols) == ncols {
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
	return append(buf, '\n')
}

// Sizes of the spooler's buffers: rows and index entries are written to
// their files once this much collected (and at every barrier).
const (
	spoolBufSize = 256 << 10
	indexBufSize = 64 << 10
)

// writeRec encodes rec's row straight into the spool's buffer.
func (l *lineage) writeRec(rec *spoolRec) {
	n := len(l.spoolBuf)
	l.spoolBuf = l.appendRow(l.spoolBuf, rec)
	l.indexRow(rec.line, len(l.spoolBuf)-n)
}

// indexRow records the row of n bytes just appended to the spool's
// buffer: its index entry, the counts, the order.
func (l *lineage) indexRow(line int64, n int) {
	l.indexBuf = binary.LittleEndian.AppendUint64(l.indexBuf, uint64(line))
	l.indexBuf = binary.LittleEndian.AppendUint64(l.indexBuf, uint64(l.spoolSize))
	l.rows++
	l.spoolSize += int64(n)
	if line < l.lastLine {
		l.sorted = false
	}
	l.lastLine = line
	if len(l.spoolBuf) >= spoolBufSize || len(l.indexBuf) >= indexBufSize {
		l.flushSpool()
	}
}

// flushSpool writes buffered rows and index entries to the files, keeping
// the running checksums a checkpoint records: CRC-32C is computed over the
// buffers a write at a time, which gives the same value as row by row
// (spooler goroutine only).
func (l *lineage) flushSpool() {
	l.flushBuf(&l.spoolBuf, &l.spoolCRC, l.spool, "result spool")
	l.flushBuf(&l.indexBuf, &l.indexCRC, l.index, "result index")
}

// flushBuf writes one of flushSpool's buffers to f and adds it to its CRC.
func (l *lineage) flushBuf(buf *[]byte, crc *uint32, f *os.File, what string) {
	if len(*buf) == 0 {
		return
	}
	*crc = crc32.Update(*crc, castagnoli, *buf)
	if l.spoolErr == nil {
		if _, err := f.Write(*buf); err != nil {
			l.spoolErr = fmt.Errorf("writing %s: %w", what, err)
		}
	}
	*buf = (*buf)[:0]
}

// snapshot captures a checkpoint; its SpoolSize is filled from the reply on
// the returned channel, once the spooler has written every row of the
// records counted here. Caller holds l.mu.
func (l *lineage) snapshot() (*Checkpoint, chan spoolState) {
	cp := &Checkpoint{
		LineageID: l.id, Item: l.item, Watermark: l.watermark,
		Counts: l.counts, Header: l.header,
		Started: l.started, Interruptions: l.interrupts,
		Completing: l.completing, Ended: l.ended,
		States:      make(map[string][]byte, len(l.states)),
		StatusCodes: l.statusCodes.export(),
		Errors:      errorList(l.errors), Warnings: l.warnings,
	}
	if l.completing && l.fileErr != nil {
		// Stored in the checkpoint (the database, under the server): a
		// connector error may quote a resolved secret.
		cp.Error = l.fileErr.Error()
		if red := l.flow.opts.Redact; red != nil {
			cp.Error = red(cp.Error)
		}
	}
	for k, v := range l.states {
		cp.States[k] = v
	}
	cp.Done = l.done.sorted()
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
	return l.saveLocked(ctx)
}

// save records the lineage's progress now, whatever has changed (a resume,
// the steps of completing it). Its spooler must be running.
func (l *lineage) save(ctx context.Context) error {
	l.mu.Lock()
	return l.saveLocked(ctx)
}

// saveLocked is save with l.mu held; it unlocks it.
func (l *lineage) saveLocked(ctx context.Context) error {
	cp, state := l.snapshot()
	l.saveGen++
	gen := l.saveGen
	l.mu.Unlock()
	st := <-state
	if st.err != nil {
		// A checkpoint must never acknowledge rows the spool does not hold.
		return fmt.Errorf("not saving progress: %w", st.err)
	}
	cp.SpoolSize, cp.Held = st.size, st.held
	cp.Spool = &st.check
	l.saveOrder.Lock()
	defer l.saveOrder.Unlock()
	if gen < l.savedGen {
		// A later snapshot, which holds everything this one does, is
		// stored already.
		return nil
	}
	// The checkpoint may acknowledge only rows the shared store holds.
	err := l.uploadSegment(ctx, st)
	if err != nil {
		err = fmt.Errorf("not saving progress: %w", err)
	} else {
		err = l.flow.opts.Checkpointer.Save(ctx, l.flow.key, cp)
	}
	if err != nil {
		// Not saved: the next checkpoint tries again (Close's final one
		// included) even if nothing changes meanwhile.
		l.mu.Lock()
		l.dirty = true
		l.mu.Unlock()
		return err
	}
	l.savedGen = gen
	if st, ok := l.source.src.(block.Stream); ok {
		// Only what a stored checkpoint counts may be committed upstream:
		// after a crash the window resumes with these counts, and every
		// record past the commit is read again (at-least-once).
		st.Ended(ctx, l.item, cp.Watermark)
	}
	return nil
}

// resultFile builds the result file from the spool: a header row, the rows
// in source-line order and, when the file failed as a whole (fileErr), a
// file-level row with the reason.
//
// When outcomes arrived in line order (the common case) the spool already is
// the body: the result is served as header + spool without copying it.
func (l *lineage) resultFile(fileErr error) (open func() (io.ReadCloser, error), rows int64, err error) {
	l.mu.Lock()
	l.flushPendingLocked()
	l.mu.Unlock()
	l.stopSpooler()
	if l.spoolErr != nil {
		return nil, 0, l.spoolErr
	}
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
	var tail []byte
	if fileErr != nil {
		tail = l.fileRow(fileErr.Error())
	}
	rows = l.rows
	if tail != nil {
		rows++
	}
	if l.sorted {
		spool, size := l.spool, l.spoolSize
		return func() (io.ReadCloser, error) {
			f, err := os.Open(spool.Name())
			if err != nil {
				return nil, err
			}
			return &resultReader{hdr: bytes.NewReader(hdr), body: &io.LimitedReader{R: f, N: size}, tail: bytes.NewReader(tail), f: f}, nil
		}, rows, nil
	}
	tmpDir := filepath.Join(l.flow.workDir, "lineages")
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return nil, 0, err
	}
	path := filepath.Join(tmpDir, l.id+".result")
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, 0, err
	}
	defer out.Close()
	w := bufio.NewWriterSize(out, 256<<10)
	if _, err := w.Write(hdr); err != nil {
		return nil, 0, err
	}
	st, err := l.index.Stat()
	if err != nil {
		return nil, 0, err
	}
	{
		// Out-of-order outcomes (a parse failure decided before earlier rows
		// were delivered): sort the (line, offset) index, then copy rows.
		// Sort the (line, offset, length) index on disk: 24 bytes a row would
		// otherwise grow memory with the file.
		srt, err := extsort.New(extsort.Options{MemLimit: 32 << 20, TempDir: tmpDir,
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
	if _, err := w.Write(tail); err != nil {
		return nil, 0, err
	}
	if err := w.Flush(); err != nil {
		return nil, 0, err
	}
	return func() (io.ReadCloser, error) { return os.Open(path) }, rows, nil
}

// fileRow renders the file-level row of a file that failed as a whole: no
// source columns, no line number, the reason as error_message.
func (l *lineage) fileRow(reason string) []byte {
	// The reason is a connector error: it may quote a resolved secret
	// (a directory, a host), so it is redacted like record errors.
	if red := l.flow.opts.Redact; red != nil {
		reason = red(reason)
	}
	var buf []byte
	for i := 1; i < len(l.header); i++ {
		buf = append(buf, l.delim)
	}
	if len(l.header) > 0 {
		buf = append(buf, l.delim)
	}
	buf = append(buf, l.delim) // status_code: none
	buf = appendCSVField(buf, reason, l.delim)
	buf = append(buf, l.delim) // entity_id
	for range l.extraKeys {
		buf = append(buf, l.delim)
	}
	buf = append(buf, l.delim) // line_number: the file, not a line
	buf = append(buf, l.delim)
	buf = append(buf, l.id...)
	return append(buf, '\n')
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
	l.closeSpool()
	rows, idx := l.spoolPaths()
	_ = os.Remove(rows)
	_ = os.Remove(idx)
	_ = os.Remove(filepath.Join(l.flow.workDir, "lineages", l.id+".result"))
	l.deleteSegments()
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
	tail *bytes.Reader // the file-level row, if any
	f    *os.File
}

func (r *resultReader) Read(p []byte) (int, error) {
	if r.hdr.Len() > 0 {
		return r.hdr.Read(p)
	}
	if r.body.N > 0 {
		n, err := r.body.Read(p)
		if err == io.EOF && r.body.N > 0 {
			err = io.ErrUnexpectedEOF // the spool is shorter than it should be
		}
		if n > 0 || err != io.EOF {
			return n, err
		}
	}
	return r.tail.Read(p)
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
	n += m
	if err != nil {
		return n, err
	}
	if r.body.N > 0 {
		return n, fmt.Errorf("result spool ended %d bytes early", r.body.N)
	}
	k, err := r.tail.WriteTo(w)
	return n + k, err
}

func (r *resultReader) Close() error { return r.f.Close() }
