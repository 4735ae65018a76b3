package httpwrite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/connectplus/connectplus/block"
)

// Stream records (a Kafka source) need the same exactly-once effect, but a
// stream has no lineage that survives a crash: the reader commits a
// partition's offset only past records whose outcome a stored checkpoint
// counts, and after a kill the records past the commit are read again into
// a new window — a new lineage with new sequence numbers, so the lineage's
// write-ahead log could not know them. A stream record is therefore
// identified by its position (consumer group, topic, partition, offset),
// which every re-read keeps: the block's log for the group records
// positions, a resumed process finds the positions in flight at the crash
// in doubt (looked up, or their duplicate answer taken as delivered) and
// those answered before it with their logged outcome (not sent again), and
// a request's idempotency key derives from its positions.
//
// The log lasts as long as the stream. It is compacted when a process opens
// it and whenever it outgrew streamCompactBytes: answers older than
// streamAnswerKeep are dropped (by then their offsets are committed: the
// reader commits within a checkpoint interval and a commit round trip), and
// so are entries whose request was answered; requests never answered stay
// for streamDoubtKeep.

// Record attributes the Kafka source sets (blocks/kafka), and the unit
// attribute naming the consumer group.
const (
	attrStreamTopic     = "kafka.topic"
	attrStreamPartition = "kafka.partition"
	attrStreamOffset    = "kafka.offset"
	attrStreamGroup     = "kafka.group"
)

const (
	streamCompactBytes = 16 << 20
	streamAnswerKeep   = 15 * time.Minute
	streamDoubtKeep    = 7 * 24 * time.Hour
)

// streamGroup returns the consumer group of a unit read from a stream.
func streamGroup(u *block.Unit) (string, bool) {
	g := u.Attrs[attrStreamGroup]
	if g == "" || u.Batch == nil || len(u.Batch.Records) == 0 || u.Batch.Records[0].Attrs[attrStreamOffset] == "" {
		return "", false
	}
	return g, true
}

// walID is what the write-ahead log knows a record by: its sequence
// number, or for a stream record its position (a 63-bit hash; a collision
// between two positions of one group is vanishingly unlikely).
func walID(r *block.Record) int64 {
	off := r.Attrs[attrStreamOffset]
	if off == "" {
		return r.Seq
	}
	h := fnv.New64a()
	h.Write([]byte(r.Attrs[attrStreamTopic]))
	h.Write([]byte{0})
	h.Write([]byte(r.Attrs[attrStreamPartition]))
	h.Write([]byte{0})
	h.Write([]byte(off))
	return int64(h.Sum64() &^ (1 << 63))
}

func (w *wal) streamPath(group string) string { return w.path("stream\x00" + group) }

// openStream returns the log of a stream's consumer group, loading what a
// previous process left in flight or answered.
func (w *wal) openStream(group string) (*walFile, error) {
	id := "stream\x00" + group
	w.mu.Lock()
	defer w.mu.Unlock()
	if f, ok := w.files[id]; ok {
		return f, f.err
	}
	wf := &walFile{inDoubt: map[int64]string{}, answered: map[int64]walOutcome{}, stream: true, path: w.streamPath(group)}
	wf.flushed = sync.NewCond(&wf.mu)
	w.files[id] = wf
	wf.err = func() error {
		if err := os.MkdirAll(w.dir, 0o700); err != nil {
			return fmt.Errorf("write-ahead log: %w", err)
		}
		if _, err := compactStream(wf.path, time.Now()); err != nil {
			return err
		}
		// Nothing a stream's log holds is acknowledged: a record whose
		// offset was committed is never read again, so its entry is never
		// asked about.
		end, torn, err := loadInDoubt(wf.path, nil, wf.inDoubt, wf.answered)
		if err != nil {
			return err
		}
		// A position answered after it was logged is settled, not in doubt.
		for s := range wf.answered {
			delete(wf.inDoubt, s)
		}
		f, err := os.OpenFile(wf.path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return fmt.Errorf("write-ahead log: %w", err)
		}
		if err := f.Truncate(end); err != nil {
			f.Close()
			return fmt.Errorf("write-ahead log: %w", err)
		}
		wf.f, wf.off, wf.size, wf.torn = f, end, end, torn
		wf.compactAt = max(streamCompactBytes, 2*end)
		return nil
	}()
	return wf, wf.err
}

// stamp is the time written into an entry: a stream's log only.
func (wf *walFile) stamp() int64 {
	if !wf.stream {
		return 0
	}
	return time.Now().Unix()
}

// compact rewrites a stream's log once it outgrew compactAt. Only the
// leader calls it (from writeRound), so the file and its offsets are its.
func (wf *walFile) compact() error {
	if err := wf.f.Close(); err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	size, err := compactStream(wf.path, time.Now())
	if err != nil {
		return err
	}
	f, err := os.OpenFile(wf.path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	wf.f, wf.off, wf.size, wf.torn = f, size, size, false
	wf.compactAt = max(streamCompactBytes, 2*size)
	return nil
}

// compactStream rewrites a stream's log without what can no longer be
// asked about (see above) and returns its new size. The rewrite is synced
// and renamed into place, so a crash leaves the old or the new file.
func compactStream(p string, now time.Time) (int64, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("write-ahead log: %w", err)
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i] // the preallocated zeros (wal.go)
	}
	var entries []walEntry
	lastAnswer := map[int64]int{}
	for line := range bytes.Lines(b) {
		var e walEntry
		if json.Unmarshal(line, &e) != nil {
			continue // torn: never synced, its request never left
		}
		if e.Answers != nil {
			for _, s := range e.Seqs {
				lastAnswer[s] = len(entries)
			}
		}
		entries = append(entries, e)
	}
	var out []byte
	for i, e := range entries {
		age := now.Sub(time.Unix(e.At, 0))
		keep := false
		if e.Answers != nil {
			keep = age < streamAnswerKeep
		} else if age < streamDoubtKeep {
			for _, s := range e.Seqs {
				if j, ok := lastAnswer[s]; !ok || j < i {
					keep = true // never answered after it was sent
					break
				}
			}
		}
		if keep {
			out = appendWALEntry(out, e.Key, e.Seqs, e.Answers, e.At)
		}
	}
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("write-ahead log: %w", err)
	}
	if _, err := f.Write(out); err != nil {
		f.Close()
		return 0, fmt.Errorf("write-ahead log: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, fmt.Errorf("write-ahead log: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("write-ahead log: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return 0, fmt.Errorf("write-ahead log: %w", err)
	}
	if d, err := os.Open(filepath.Dir(p)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return int64(len(out)), nil
}
