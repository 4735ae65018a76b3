package filecore

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The records file of a file system that cannot append (S3), in a cluster
// whose shared store is S3. Its working copy is a local spool in the
// block's state directory — the node's own then — so a file rescued on
// another node would find no spool and fail as a whole. With Env.Journal
// every batch's bytes are also appended to the journal (a row of the
// database) before the batch is acknowledged; a node that resumes the
// lineage without a matching local spool rebuilds it from there, verifies
// it as it verifies a local spool (size and CRC-32C of the acknowledged
// bytes), and continues. The journal log is removed once the file is
// published.
//
// Each process that writes a lineage's records is a writer with an id of
// its own; its entries carry it and the spool offset they start at, and
// the acknowledged state lists the writers in order with the offset each
// started at (partState.Journal). Rebuilding replays each listed writer's
// entries from its start, as its own spool was written (an entry at an
// offset cuts what follows it): bytes a writer wrote past the point where
// the next one took over — it was killed, or stalled and presumed dead and
// still writing — are cut by the next writer's start, and writers that
// never reached an acknowledged state are not listed. The rebuild reads
// the lineage's log into memory: the records file of one lineage.

// journalSpan is one writer of a records spool: its id and the offset its
// entries start at.
type journalSpan struct {
	Writer string `json:"w"`
	From   int64  `json:"from"`
}

// journalTimeout bounds one journal operation.
const journalTimeout = time.Minute

// journalLog is the journal log of a lineage's records spool.
func (s *Sink) journalLog(key string) string {
	h := sha256.Sum256([]byte(s.cfg.Block + "\x00" + key))
	return "records/" + hex.EncodeToString(h[:12])
}

// journalAppend appends buf, written at p.offset, to the journal; the
// first append of this process makes it the lineage's latest writer.
func (s *Sink) journalAppend(p *part, key string, buf []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
	defer cancel()
	log := s.journalLog(key)
	if p.writer == "" {
		var id [8]byte
		if _, err := rand.Read(id[:]); err != nil {
			return fmt.Errorf("records journal: writer id: %w", err)
		}
		if len(p.spans) == 0 {
			// Nothing acknowledged refers to a log of this lineage: what a
			// previous attempt left is dropped.
			if err := s.journal.Remove(ctx, log); err != nil {
				return fmt.Errorf("records journal: %w", err)
			}
		}
		p.writer = hex.EncodeToString(id[:])
		p.spans = append(append([]journalSpan(nil), p.spans...), journalSpan{Writer: p.writer, From: p.offset})
	}
	entry := make([]byte, 0, len(p.writer)+24+len(buf))
	entry = append(entry, p.writer...)
	entry = append(entry, ' ')
	entry = strconv.AppendInt(entry, p.offset, 10)
	entry = append(entry, '\n')
	entry = append(entry, buf...)
	if err := s.journal.Append(ctx, log, entry); err != nil {
		return fmt.Errorf("records journal: %w", err)
	}
	return nil
}

// restoreSpool rebuilds the local spool from the journal entries of the
// writers spans lists.
func (s *Sink) restoreSpool(ctx context.Context, spool, key string, spans []journalSpan) error {
	ctx, cancel := context.WithTimeout(ctx, journalTimeout)
	defer cancel()
	entries, err := s.journal.Read(ctx, s.journalLog(key))
	if err != nil {
		return fmt.Errorf("records journal: %w", err)
	}
	if len(entries) == 0 {
		return nil // nothing there: the resume check says what is missing
	}
	if err := os.MkdirAll(filepath.Dir(spool), 0o700); err != nil {
		return fmt.Errorf("records journal: %w", err)
	}
	f, err := os.OpenFile(spool, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("records journal: %w", err)
	}
	var size int64
	err = func() error {
		for _, sp := range spans {
			if sp.From > size {
				return fmt.Errorf("writer %s starts at byte %d, the writers before it reach %d", sp.Writer, sp.From, size)
			}
			size = sp.From
			for _, e := range entries {
				head, data, ok := bytes.Cut(e, []byte("\n"))
				w, at, ok2 := bytes.Cut(head, []byte(" "))
				if !ok || !ok2 || string(w) != sp.Writer {
					continue
				}
				start, err := strconv.ParseInt(string(at), 10, 64)
				if err != nil || start < sp.From {
					continue
				}
				if start > size {
					return fmt.Errorf("writer %s's entry at byte %d follows byte %d: an entry is missing", sp.Writer, start, size)
				}
				if _, err := f.WriteAt(data, start); err != nil {
					return err
				}
				size = start + int64(len(data))
			}
		}
		return f.Truncate(size)
	}()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(spool)
		return fmt.Errorf("rebuilding the records spool %s from the journal: %w", spool, err)
	}
	s.log.Info("file sink: records spool rebuilt from the journal", "spool", spool, "bytes", size, "writers", len(spans))
	return nil
}

// journalEnd removes a published lineage's log (a failure only costs rows:
// a fresh lineage of this id drops it).
func (s *Sink) journalEnd(ctx context.Context, key string) {
	if s.journal == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), journalTimeout)
	defer cancel()
	if err := s.journal.Remove(ctx, s.journalLog(key)); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Warn("file sink: removing the records journal", "err", err)
	}
}
