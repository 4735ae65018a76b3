package httpwrite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/connectplus/connectplus/block"
)

// A stream partition's log in the runtime's journal (a cluster whose
// shared store is S3, docs/cluster.md): the file log's guarantees
// (streamwal.go) without a directory every node shares.
//
//   - Rounds: each round is one Journal.Round — one transaction that locks
//     the partition log's owner row, reads the entries other processes
//     appended since this one last read (they are loaded as the file's
//     catch-up loads them: answers settle records, requests still
//     unanswered are in doubt, logged bodies are re-sent as logged) and
//     appends the round's entries as one row. The row lock serialises the
//     rounds of every process on the partition, so a round sees every
//     earlier one.
//   - Fencing: the owner row holds the highest owner epoch (consumer group
//     generation) that took the log. A process takes it when it opens the
//     log and when it polls the partition under a newer generation; its
//     rounds append only while its epoch is not below the row's, checked
//     in the same transaction as the append. So once the new owner's
//     take-over committed, an old owner (a zombie that lost the partition
//     but still sends) cannot log a request, and it sends nothing it did
//     not log (errPartitionMoved); its answers are still appended, without
//     the check — they settle records for the new owner. An entry the old
//     owner appended before the take-over is read by the new owner's
//     take-over round and is in doubt there. No clock decides this.
//   - History: a consumer group deleted and created again numbers its
//     generations from 1 again, below the row's epoch. A take-over by a
//     lower epoch is refused (the process is fenced) until the owner row
//     has gone unwritten for streamReclaim on the database's clock; such a
//     process retries the take-over with every round. The file log lets
//     history fence nobody instead (it compares entry times with the
//     tenure's start), which a zombie opening the log late passes; here a
//     zombie would have to open the log for the first time more than
//     streamReclaim after the new owner's last write.
//   - Compaction: rows are deleted, never rewritten, so ids — what every
//     process reads after — stay valid. When a process opens the log and
//     whenever it read and wrote streamCompactBytes since, rows none of
//     whose entries compaction keeps (streamKeep: answers for 15 minutes,
//     requests never answered for a week) are deleted.

// streamReclaim is how long a partition log's owner must have been
// silent before a lower epoch may take the log (see above). By then every
// answer the owner logged is past streamAnswerKeep's reason to be kept:
// its offset is committed.
const streamReclaim = streamAnswerKeep

func streamJournalName(id string) string {
	h := sha256.Sum256([]byte(id))
	return "stream/" + hex.EncodeToString(h[:12])
}

// openStreamJournal takes the partition's log in j over for epoch, loads
// what previous owners left in flight or answered, and compacts it.
func (wf *walFile) openStreamJournal(j block.Journal, id string, epoch int64) error {
	st := wf.st
	st.j, st.jname, st.epoch, st.since = j, streamJournalName(id), epoch, time.Now().Unix()
	ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
	defer cancel()
	res, err := j.Round(ctx, st.jname, block.JournalRound{Epoch: epoch, Take: true, Reclaim: streamReclaim})
	if err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	kept, drop := compactJournal(res.Entries, time.Now())
	if len(drop) > 0 {
		if err := j.Delete(ctx, st.jname, drop); err != nil {
			return fmt.Errorf("write-ahead log: compaction: %w", err)
		}
	}
	wf.loadJournal(kept)
	wf.mu.Lock()
	if n := len(res.Entries); n > 0 {
		st.after = max(st.after, res.Entries[n-1].ID)
	}
	wf.tookJournal(res)
	st.grown = 0
	wf.mu.Unlock()
	return nil
}

// takeJournal is raiseEpoch on a journal: the partition is taken again
// under a newer epoch after reading what the owners in between logged.
// The caller leads (exclusive).
func (wf *walFile) takeJournal(epoch int64) error {
	st := wf.st
	ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
	defer cancel()
	res, err := st.j.Round(ctx, st.jname, block.JournalRound{After: st.after, Epoch: epoch, Take: true, Reclaim: streamReclaim})
	if err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	wf.loadJournal(res.Entries)
	wf.mu.Lock()
	defer wf.mu.Unlock()
	st.epoch, st.since = max(st.epoch, epoch), time.Now().Unix()
	wf.tookJournal(res)
	return nil
}

// tookJournal records the outcome of a take-over round. Called with mu.
func (wf *walFile) tookJournal(res block.JournalRoundResult) {
	st := wf.st
	st.after = max(st.after, res.ID)
	st.reclaim = res.Fenced
	st.fence = 0
	if res.Fenced {
		st.fence = res.Owner
	}
}

// loadJournal loads entries read from the journal (each row one round of
// whole lines) and moves the read position past them. History never
// fences here: the owner row does.
func (wf *walFile) loadJournal(es []block.JournalEntry) {
	if len(es) == 0 {
		return
	}
	var b []byte
	for _, e := range es {
		b = append(b, e.Entry...)
	}
	wf.loadStream(b, never)
	wf.mu.Lock()
	wf.st.after = max(wf.st.after, es[len(es)-1].ID)
	wf.st.grown += int64(len(b))
	wf.mu.Unlock()
}

// streamJournalRound is streamRound on a journal: one Round appends the
// round's entries if this process still owns the partition, after
// reading what others appended. A fenced round appends only its answers
// (a second, unchecked round) and its requests get errPartitionMoved. A
// row is committed whole or not at all: a failed round fails its entries'
// callers and leaves nothing behind.
func (wf *walFile) streamJournalRound(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	st := wf.st
	wf.mu.Lock()
	r := block.JournalRound{After: st.after, Epoch: st.epoch, Take: st.reclaim, Reclaim: streamReclaim, Entry: b}
	wf.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
	defer cancel()
	res, err := st.j.Round(ctx, st.jname, r)
	if err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	wf.loadJournal(res.Entries)
	wf.mu.Lock()
	st.after = max(st.after, res.ID)
	st.grown += int64(len(b))
	if r.Take && !res.Fenced {
		st.reclaim, st.fence = false, 0
	}
	if res.Fenced {
		st.fence = max(st.fence, res.Owner)
	}
	grown := st.grown
	wf.mu.Unlock()
	if res.Fenced {
		if a := answersOnly(b); len(a) > 0 {
			res, err := st.j.Round(ctx, st.jname, block.JournalRound{After: st.after, Entry: a})
			if err != nil {
				return fmt.Errorf("write-ahead log: %w", err)
			}
			wf.loadJournal(res.Entries)
			wf.mu.Lock()
			st.after = max(st.after, res.ID)
			wf.mu.Unlock()
		}
		return errPartitionMoved
	}
	if grown >= streamCompactBytes {
		return wf.compactStreamJournal(ctx)
	}
	return nil
}

// compactStreamJournal deletes the rows compaction no longer keeps. It
// reads the whole log (without moving the read position: entries others
// appended since are loaded by the next round) and is called by the
// leader.
func (wf *walFile) compactStreamJournal(ctx context.Context) error {
	st := wf.st
	res, err := st.j.Round(ctx, st.jname, block.JournalRound{})
	if err != nil {
		return fmt.Errorf("write-ahead log: compaction: %w", err)
	}
	_, drop := compactJournal(res.Entries, time.Now())
	if len(drop) > 0 {
		if err := st.j.Delete(ctx, st.jname, drop); err != nil {
			return fmt.Errorf("write-ahead log: compaction: %w", err)
		}
	}
	wf.mu.Lock()
	st.grown = 0
	wf.mu.Unlock()
	return nil
}

// compactJournal splits a journal's rows into those to keep and the ids
// of the others. A row is one round, whose entries compaction may judge
// differently; it is kept when streamKeep keeps any of its entries, and
// then so is every row answering a request it holds: a reader loads whole
// rows, and a request loaded without its answer would be in doubt again
// (and, with a body, re-sent).
func compactJournal(es []block.JournalEntry, now time.Time) (kept []block.JournalEntry, drop []int64) {
	var entries []streamEntry
	var row []int
	answerRows := map[int64][]int{}
	for i, e := range es {
		for line := range bytes.Lines(e.Entry) {
			var se streamEntry
			if json.Unmarshal(line, &se) != nil {
				continue // a row is whole; nothing here is torn
			}
			if se.Answers != nil {
				for _, s := range se.Seqs {
					answerRows[s] = append(answerRows[s], i)
				}
			}
			entries = append(entries, se)
			row = append(row, i)
		}
	}
	keep := streamKeep(entries, now)
	keepRow := make([]bool, len(es))
	for i, k := range keep {
		if k {
			keepRow[row[i]] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for i, e := range entries {
			if !keepRow[row[i]] || e.Answers != nil {
				continue
			}
			for _, s := range e.Seqs {
				for _, r := range answerRows[s] {
					if !keepRow[r] {
						keepRow[r], changed = true, true
					}
				}
			}
		}
	}
	for i, e := range es {
		if keepRow[i] {
			kept = append(kept, e)
		} else {
			drop = append(drop, e.ID)
		}
	}
	return kept, drop
}
