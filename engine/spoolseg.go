package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

// Result spools on a shared store (Options.Spools).
//
// An object store cannot append, so the working spool stays a local file
// (in StateDir, which then only needs to last as long as the process) and
// every checkpoint first makes the bytes it acknowledges durable on the
// store as one immutable segment: the spool's and the index's bytes since
// the previous segment. A node resuming the file — another node after a
// kill, or the same one whose local copy is gone or differs — lists the
// lineage's segments, rebuilds the spool from the chain that reaches the
// checkpoint's SpoolSize, and verifies it against the checkpoint's CRCs as
// it verifies a local spool.
//
// A segment's key carries everything the chain needs, so resuming lists
// and never reads headers: spools/<lineage>/<rows start>.<epoch>-<rows
// end>-<index start>-<index end>. The epoch is the lineage's interruption
// count, one per process that worked it. Truncation to a checkpoint is
// choosing: from offset 0, at each start the segment of the highest epoch
// not above the checkpoint's (a later writer's segments belong to
// checkpoints that were never saved — they are deleted when a new writer
// takes over; an older writer presumed dead and still uploading loses to
// the newer one's segments); bytes past SpoolSize are cut locally as
// before. When a checkpoint falls inside a segment, the next upload starts
// again at that segment's start, with the new epoch, so chains never
// overlap. A torn upload cannot be listed (objects appear whole); a
// damaged or missing segment makes the resume fail as a whole, like a
// damaged local spool.

// segMagic opens every segment; the header then repeats the key's ranges.
const (
	segMagic     = "CPSPOOL1"
	segHeaderLen = len(segMagic) + 4*8
)

type segment struct {
	key                                  string
	rowsStart, rowsEnd, idxStart, idxEnd int64
	epoch                                int
}

func (l *lineage) segPrefix() string { return "spools/" + l.id + "/" }

func segKey(prefix string, s segment) string {
	return fmt.Sprintf("%s%020d.%06d-%d-%d-%d", prefix, s.rowsStart, s.epoch, s.rowsEnd, s.idxStart, s.idxEnd)
}

func parseSegKey(key string) (segment, bool) {
	s := segment{key: key}
	_, err := fmt.Sscanf(path.Base(key), "%020d.%06d-%d-%d-%d", &s.rowsStart, &s.epoch, &s.rowsEnd, &s.idxStart, &s.idxEnd)
	return s, err == nil && s.rowsEnd > s.rowsStart && s.idxEnd >= s.idxStart
}

// storeTimeout bounds one store operation of a checkpoint or a resume.
const storeTimeout = 2 * time.Minute

// uploadSegment makes the spool's bytes up to st durable on the store
// before a checkpoint acknowledging them is saved. Uploads are serialised
// (segMu) and each continues where the previous one ended.
func (l *lineage) uploadSegment(ctx context.Context, st spoolState) error {
	store := l.flow.opts.Spools
	if store == nil {
		return nil
	}
	l.segMu.Lock()
	defer l.segMu.Unlock()
	if l.segDeleted {
		return errors.New("result spool: the lineage is complete")
	}
	s := segment{rowsStart: l.segRows, rowsEnd: st.size, idxStart: l.segIdx, idxEnd: st.check.Rows * 16, epoch: l.interrupts}
	if s.rowsEnd <= s.rowsStart {
		return nil // nothing new: the previous segment covers this checkpoint
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	s.key = segKey(l.segPrefix(), s)
	w, err := store.Create(ctx, s.key)
	if err != nil {
		return fmt.Errorf("result spool segment %s: %w", s.key, err)
	}
	hdr := make([]byte, 0, segHeaderLen)
	hdr = append(hdr, segMagic...)
	for _, v := range []int64{s.rowsStart, s.rowsEnd, s.idxStart, s.idxEnd} {
		hdr = binary.LittleEndian.AppendUint64(hdr, uint64(v))
	}
	// The bytes below st are written and flushed: the spooler only
	// appends past them, and ReadAt does not move its file offset.
	body := io.MultiReader(strings.NewReader(string(hdr)),
		io.NewSectionReader(l.spool, s.rowsStart, s.rowsEnd-s.rowsStart),
		io.NewSectionReader(l.index, s.idxStart, s.idxEnd-s.idxStart))
	start := time.Now()
	n, err := io.Copy(w, body)
	if err == nil && n != int64(segHeaderLen)+s.rowsEnd-s.rowsStart+s.idxEnd-s.idxStart {
		err = fmt.Errorf("read %d bytes of the local spool, want %d", n, int64(segHeaderLen)+s.rowsEnd-s.rowsStart+s.idxEnd-s.idxStart)
	}
	if err != nil {
		w.Abort()
		return fmt.Errorf("result spool segment %s: %w", s.key, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("result spool segment %s: %w", s.key, err)
	}
	l.segUploads.Add(1)
	l.segNanos.Add(int64(time.Since(start)))
	l.segRows, l.segIdx = s.rowsEnd, s.idxEnd
	return nil
}

// segmentChain lists the lineage's segments and returns the chain that
// rebuilds cp's spool (as far as the store has it) and the segments a
// writer after cp left (epoch above cp's).
func (l *lineage) segmentChain(ctx context.Context, cp *Checkpoint) (chain, later []segment, err error) {
	keys, err := l.flow.opts.Spools.List(ctx, l.segPrefix())
	if err != nil {
		return nil, nil, fmt.Errorf("listing the result spool's segments: %w", err)
	}
	byStart := map[int64][]segment{}
	for _, k := range keys {
		s, ok := parseSegKey(k)
		if !ok {
			continue
		}
		if s.epoch > cp.Interruptions {
			later = append(later, s)
			continue
		}
		byStart[s.rowsStart] = append(byStart[s.rowsStart], s)
	}
	var pos, ipos int64
	for pos < cp.SpoolSize {
		var best *segment
		for i, s := range byStart[pos] {
			if s.idxStart == ipos && (best == nil || s.epoch > best.epoch) {
				best = &byStart[pos][i]
			}
		}
		if best == nil {
			break
		}
		chain = append(chain, *best)
		pos, ipos = best.rowsEnd, best.idxEnd
	}
	return chain, later, nil
}

// resumeSegments prepares a resumed lineage's spool when a store is set:
// the local spool if it matches cp, else the one rebuilt from the store;
// and where the next upload starts.
func (l *lineage) resumeSegments(cp *Checkpoint) error {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	store := l.flow.opts.Spools
	chain, later, err := l.segmentChain(ctx, cp)
	if err != nil {
		return err
	}
	if len(later) > 0 {
		keys := make([]string, len(later))
		for i, s := range later {
			keys[i] = s.key
		}
		if err := store.Delete(ctx, keys...); err != nil {
			return fmt.Errorf("deleting the result spool segments past the checkpoint: %w", err)
		}
	}
	verr := l.verifySpool(cp)
	var re *resumeError
	if verr != nil && !errors.As(verr, &re) {
		return verr
	}
	if verr != nil {
		// Not here, or not this checkpoint's: rebuild from the store.
		if err := l.restoreSegments(ctx, cp, chain); err != nil {
			return err
		}
		// The failed verification read part of the local index.
		l.sorted, l.lastLine = true, 0
		l.restored = true
		if err := l.verifySpool(cp); err != nil {
			return err
		}
	}
	// The next segment continues the chain: after its last segment, or at
	// that segment's start when the checkpoint cut it (its new version,
	// with this writer's higher epoch, is the one a later resume picks).
	l.segRows, l.segIdx = 0, 0
	for _, s := range chain {
		if s.rowsEnd > cp.SpoolSize {
			break
		}
		l.segRows, l.segIdx = s.rowsEnd, s.idxEnd
	}
	if l.segRows > l.spoolSize {
		l.segRows, l.segIdx = 0, 0
	}
	return nil
}

// restoreSegments writes the chain's bytes into the (emptied) local spool
// and index.
func (l *lineage) restoreSegments(ctx context.Context, cp *Checkpoint, chain []segment) error {
	fail := func(format string, args ...any) error {
		acked := cp.Counts.Delivered + cp.Counts.Filtered + cp.Counts.Failed
		return &resumeError{msg: fmt.Sprintf("cannot resume %s: ", l.item.Name) + fmt.Sprintf(format, args...) +
			fmt.Sprintf("; the %d records acknowledged before the interruption were not sent again, the rest of the file was not processed and the result rows of the acknowledged records are lost", acked)}
	}
	var end int64
	if n := len(chain); n > 0 {
		end = chain[n-1].rowsEnd
	}
	if end < cp.SpoolSize {
		return fail("its result spool's segments on the shared store reach %d bytes but the checkpoint acknowledged %d", end, cp.SpoolSize)
	}
	for _, f := range []interface{ Truncate(int64) error }{l.spool, l.index} {
		if err := f.Truncate(0); err != nil {
			return fmt.Errorf("result spool: %w", err)
		}
	}
	for _, s := range chain {
		if err := l.restoreSegment(ctx, s); err != nil {
			var re *resumeError
			if errors.As(err, &re) {
				return fail("%s", re.msg)
			}
			return err
		}
	}
	return nil
}

func (l *lineage) restoreSegment(ctx context.Context, s segment) error {
	r, err := l.flow.opts.Spools.Open(ctx, s.key)
	if err != nil {
		return fmt.Errorf("result spool segment %s: %w", s.key, err)
	}
	defer r.Close()
	hdr := make([]byte, segHeaderLen)
	if _, err := io.ReadFull(r, hdr); err != nil || string(hdr[:len(segMagic)]) != segMagic {
		return &resumeError{msg: fmt.Sprintf("its result spool segment %s is damaged (header: %v)", s.key, err)}
	}
	var got [4]int64
	for i := range got {
		got[i] = int64(binary.LittleEndian.Uint64(hdr[len(segMagic)+8*i:]))
	}
	if got != [4]int64{s.rowsStart, s.rowsEnd, s.idxStart, s.idxEnd} {
		return &resumeError{msg: fmt.Sprintf("its result spool segment %s holds ranges %v, not its name's", s.key, got)}
	}
	for _, part := range []struct {
		w          io.WriterAt
		start, end int64
	}{{l.spool, s.rowsStart, s.rowsEnd}, {l.index, s.idxStart, s.idxEnd}} {
		n, err := io.CopyN(io.NewOffsetWriter(part.w, part.start), r, part.end-part.start)
		if err != nil {
			if n < part.end-part.start && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
				return &resumeError{msg: fmt.Sprintf("its result spool segment %s is short (%d of %d bytes)", s.key, n, part.end-part.start)}
			}
			return fmt.Errorf("result spool segment %s: %w", s.key, err)
		}
	}
	return nil
}

// deleteSegments removes a completed lineage's segments; later uploads are
// refused (segDeleted), so none is left behind.
func (l *lineage) deleteSegments() {
	store := l.flow.opts.Spools
	if store == nil {
		return
	}
	l.segMu.Lock()
	l.segDeleted = true
	l.segMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	keys, err := store.List(ctx, l.segPrefix())
	if err == nil {
		sort.Strings(keys)
		err = store.Delete(ctx, keys...)
	}
	if err != nil {
		// Harmless but costs storage: a completed lineage is never resumed.
		l.flow.log.Warn("deleting the result spool's segments", "lineage", l.id, "err", err)
	}
}
