package filecore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/connectplus/connectplus/block"
)

// Conflict is a conflictResolution strategy (NiFi PutSFTP's values).
type Conflict string

// Conflict strategies. Behaviour when the target name exists:
const (
	// ConflictNone does not look for a conflict: the new file replaces the
	// old one. (NiFi leaves NONE to the server, which makes it differ
	// between SFTP and local disk; here it is the same everywhere.)
	ConflictNone Conflict = "NONE"
	// ConflictReplace replaces the existing file.
	ConflictReplace Conflict = "REPLACE"
	// ConflictRename writes the new file as "<n>.<name>" with the smallest
	// free n, leaving the existing file alone.
	ConflictRename Conflict = "RENAME"
	// ConflictIgnore writes nothing and reports success.
	ConflictIgnore Conflict = "IGNORE"
	// ConflictFail fails the unit (its lineage goes to the error location).
	ConflictFail Conflict = "FAIL"
)

// Conflicts lists the strategies in spec order.
var Conflicts = []string{string(ConflictNone), string(ConflictReplace), string(ConflictRename), string(ConflictIgnore), string(ConflictFail)}

// Attribute set on units whose write was skipped by IGNORE.
const AttrConflictIgnored = "conflict.ignored"

// SinkConfig configures the generic Sink.
type SinkConfig struct {
	Dir       string // remotePath
	CreateDir bool   // createRemoteDirectory
	Conflict  Conflict
	Zip       bool            // zipFiles: upload <name>.zip holding the file
	Name      *block.Template // outputFileName, rendered per unit
	// ObjectKeys lets the rendered name contain "/" (S3 object keys, which
	// are validated as relative keys without ".." segments); otherwise it
	// must be a base name.
	ObjectKeys bool
	// SpoolDir holds record files for file systems that cannot append
	// (os.TempDir when empty). It must survive a restart for resume.
	SpoolDir string
	// Block names the block; its resume state is kept under this name.
	Block string
}

// Sink is the generic file destination (block.Processor). File units are
// uploaded as they are; record units are written as JSON Lines into one
// file per lineage, published when the engine ends the lineage.
type Sink struct {
	pool *Pool
	cfg  SinkConfig
	log  *slog.Logger
	// journal, when the runtime hands one (a cluster whose shared store
	// is S3), keeps the records file of a file system that cannot append
	// where every node reads it (journal.go); nil: the local spool only.
	journal block.Journal

	mu    sync.Mutex
	parts map[string]*part // by lineage ID
	// perRecord is the largest encoded record size seen (bytes, rounded
	// up), so a batch's buffer is allocated once rather than grown.
	perRecord atomic.Int64
}

// part is a lineage's records file while it is being written.
type part struct {
	mu     sync.Mutex
	name   string // final name (relative to Dir)
	remote string // remote part path (Appender file systems)
	spool  string // local spool path (other file systems)
	offset int64  // bytes written and acknowledged
	crc    uint32 // CRC-32C of those bytes
	w      Writer
	gen    FS
	local  *os.File
	// err: the resume state could not be verified; the lineage cannot
	// continue this file (the engine fails it with this reason).
	err error
	// published: the interrupted run had already published the file with
	// every acknowledged record; nothing is left to write.
	published bool
	// spans: the writers whose journal entries make up the spool, the
	// last one this process (journal.go).
	spans []journalSpan
	// writer is this process's writer id once it appended to the journal.
	writer string
}

// partState is the resume state acknowledged with each batch.
type partState struct {
	Name   string `json:"name"`
	Offset int64  `json:"offset"`
	// CRC32C fingerprints the Offset bytes, so a resume continues the
	// records file only if it holds what was acknowledged (nil in states
	// written before it existed: then only the size is checked).
	CRC32C *uint32 `json:"crc32c,omitempty"`
	// Journal lists, with a journal, the writers whose entries rebuild the
	// local spool of a file system that cannot append (journal.go).
	Journal []journalSpan `json:"journal,omitempty"`
}

// castagnoli is the CRC-32C table (hardware-accelerated on amd64 and arm64).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// NewSink builds a Sink; the caller owns the pool.
func NewSink(pool *Pool, cfg SinkConfig, env *block.Env) (*Sink, error) {
	switch cfg.Conflict {
	case "":
		cfg.Conflict = ConflictNone
	case ConflictNone, ConflictReplace, ConflictRename, ConflictIgnore, ConflictFail:
	default:
		return nil, fmt.Errorf("conflictResolution must be one of %s, got %q", strings.Join(Conflicts, ", "), cfg.Conflict)
	}
	cfg.Dir = CleanDir(cfg.Dir)
	if cfg.Block == "" {
		cfg.Block = env.Block
	}
	return &Sink{pool: pool, cfg: cfg, log: env.Log(), parts: map[string]*part{}, journal: env.Journal}, nil
}

// Start connects once so credential problems surface before the first unit.
func (s *Sink) Start(ctx context.Context) error {
	return s.pool.Do(ctx, "connect", func(FS) error { return nil })
}

// Close closes open record files and the connection.
func (s *Sink) Close() error {
	s.mu.Lock()
	for _, p := range s.parts {
		if p.w != nil {
			p.w.Abort()
		}
		if p.local != nil {
			p.local.Close()
		}
	}
	s.mu.Unlock()
	return s.pool.Close()
}

// renderName evaluates outputFileName and applies zipFiles' extension.
func (s *Sink) renderName(attrs block.Lookup) (string, error) {
	name, err := s.cfg.Name.Eval(attrs)
	if err != nil {
		return "", fmt.Errorf("outputFileName: %w", err)
	}
	name = strings.TrimSpace(name)
	if s.cfg.ObjectKeys {
		err = ValidObjectKey(name)
	} else {
		err = ValidBaseName(name)
	}
	if err != nil {
		return "", fmt.Errorf("outputFileName: %w", err)
	}
	if s.cfg.Zip && !IsZipName(name) {
		name += ".zip"
	}
	return name, nil
}

// zipEntry is the name of the file inside the uploaded archive.
func (s *Sink) zipEntry(name string) string {
	if !s.cfg.Zip {
		return ""
	}
	if IsZipName(name) {
		return strings.TrimSuffix(path.Base(name), path.Ext(name))
	}
	return path.Base(name)
}

// Process implements block.Processor.
func (s *Sink) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	name, err := s.renderName(u.Attrs)
	if err != nil {
		return err
	}
	if u.Batch != nil {
		return s.appendRecords(ctx, u, name, out)
	}
	if u.File == nil {
		return errors.New("unit has no content")
	}
	final, skipped, err := s.upload(ctx, name, u.File.Open)
	if err != nil {
		return err
	}
	d := u.Derive()
	d.File = u.File
	d.Attrs[block.AttrFilename] = path.Base(final)
	d.Attrs[block.AttrPath] = path.Dir(final)
	d.Attrs[block.AttrAbsPath] = final
	if skipped {
		d.Attrs[AttrConflictIgnored] = "true"
	}
	out.Ack(u, nil)
	return out.Emit(ctx, block.RelSuccess, d)
}

// upload writes content to Dir/name honouring the conflict strategy.
func (s *Sink) upload(ctx context.Context, name string, open func(context.Context) (io.ReadCloser, error)) (final string, skipped bool, err error) {
	dir := Join(s.cfg.Dir, path.Dir(name))
	base := path.Base(name)
	err = s.pool.Do(ctx, "upload", func(fs FS) error {
		if err := s.prepareDir(ctx, fs, dir); err != nil {
			return err
		}
		target, skip, err := s.resolve(ctx, fs, dir, base)
		if err != nil || skip {
			skipped = skip
			final = Join(dir, base)
			return err
		}
		rc, err := open(ctx)
		if err != nil {
			return Permanent(fmt.Errorf("read input: %w", err))
		}
		defer rc.Close()
		if ac, ok := fs.(AtomicCreator); ok && ac.AtomicCreate() {
			final, err = publish(ctx, fs, dir, target, rc, s.zipEntry(name), true)
			return err
		}
		tmp := Join(dir, tempName(target))
		w, err := fs.Create(ctx, tmp)
		if err != nil {
			return fmt.Errorf("create %s: %w", tmp, err)
		}
		if _, err := copyTo(w, rc, s.zipEntry(name)); err != nil {
			return fmt.Errorf("upload %s: %w", tmp, err)
		}
		final, skipped, err = s.place(ctx, fs, tmp, dir, base, target, true)
		return err
	})
	if err != nil {
		return "", false, s.explain(err, dir)
	}
	if skipped {
		s.log.Info("file sink: target exists, not written (IGNORE)", "path", final)
	}
	return final, skipped, nil
}

// explain turns FS errors into messages that say what to fix.
func (s *Sink) explain(err error, dir string) error {
	switch {
	case errors.Is(err, ErrConflict):
		return describeErr(s.pool, "%w", err)
	case IsPermission(err):
		return describeErr(s.pool, "write to %q: permission denied for this user: %w", dir, err)
	}
	return describeErr(s.pool, "write to %q: %w", dir, err)
}

func (s *Sink) prepareDir(ctx context.Context, fs FS, dir string) error {
	if s.cfg.CreateDir {
		return ensureDir(ctx, fs, dir)
	}
	if dir == "." || dir == "/" {
		return nil
	}
	e, err := fs.Stat(ctx, dir)
	if err != nil {
		if IsNotExist(err) {
			return Permanent(fmt.Errorf("remote directory %q does not exist (create it, or set createRemoteDirectory to true): %w", dir, err))
		}
		return err
	}
	if !e.IsDir {
		return Permanent(fmt.Errorf("remote path %q is not a directory", dir))
	}
	return nil
}

// resolve applies the strategy before uploading (so IGNORE and FAIL cost no
// transfer): it returns the name to write, or skip.
func (s *Sink) resolve(ctx context.Context, fs FS, dir, base string) (string, bool, error) {
	switch s.cfg.Conflict {
	case ConflictNone, ConflictReplace:
		return base, false, nil
	}
	_, err := fs.Stat(ctx, Join(dir, base))
	if IsNotExist(err) {
		return base, false, nil
	}
	if err != nil {
		return "", false, err
	}
	switch s.cfg.Conflict {
	case ConflictIgnore:
		return base, true, nil
	case ConflictFail:
		return "", false, Permanent(fmt.Errorf("%q: %w (conflictResolution FAIL)", Join(dir, base), ErrConflict))
	}
	return s.freeName(ctx, fs, dir, base, 1)
}

// freeName finds the smallest n >= from with "<n>.<base>" free.
func (s *Sink) freeName(ctx context.Context, fs FS, dir, base string, from int) (string, bool, error) {
	for n := from; n < from+10000; n++ {
		cand := strconv.Itoa(n) + "." + base
		_, err := fs.Stat(ctx, Join(dir, cand))
		if IsNotExist(err) {
			return cand, false, nil
		}
		if err != nil {
			return "", false, err
		}
	}
	return "", false, Permanent(fmt.Errorf("no free name for %q in %q", base, dir))
}

// place renames the uploaded temporary file tmp to dir/target (target is
// base, or base's RENAME alternative). Strategies that must not overwrite
// use a no-clobber rename, so a file created by someone else since resolve
// is never replaced. When discard is false tmp is kept on failure (it holds
// acknowledged records).
func (s *Sink) place(ctx context.Context, fs FS, tmp, dir, base, target string, discard bool) (string, bool, error) {
	overwrite := s.cfg.Conflict == ConflictNone || s.cfg.Conflict == ConflictReplace
	drop := func() {
		if discard {
			fs.Remove(ctx, tmp)
		}
	}
	for range 100 {
		final := Join(dir, target)
		err := fs.Rename(ctx, tmp, final, overwrite)
		if err == nil {
			return final, false, nil
		}
		if !IsExist(err) || overwrite {
			drop()
			return "", false, fmt.Errorf("rename %s to %s: %w", tmp, final, err)
		}
		switch s.cfg.Conflict {
		case ConflictIgnore:
			fs.Remove(ctx, tmp)
			return final, true, nil
		case ConflictFail:
			drop()
			return "", false, Permanent(fmt.Errorf("%q: %w (conflictResolution FAIL)", final, ErrConflict))
		}
		var rerr error
		if target, _, rerr = s.freeName(ctx, fs, dir, base, 1); rerr != nil {
			drop()
			return "", false, rerr
		}
	}
	drop()
	return "", false, Permanent(fmt.Errorf("could not find a free name for %q in %q", base, dir))
}

// lineageKey identifies a lineage's records file.
func lineageKey(u *block.Unit, name string) string {
	if u.Lineage != nil {
		return u.Lineage.ID()
	}
	return "name:" + name
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}

// partPath is the hidden name a lineage's records file has on an Appender
// file system until it is published.
func (s *Sink) partPath(name, key string) string {
	return Join(s.cfg.Dir, path.Dir(name), "."+path.Base(name)+partMarker+shortHash(key))
}

// spoolPath is the local file holding a lineage's records on file systems
// that cannot append.
func (s *Sink) spoolPath(key string) string {
	dir := s.cfg.SpoolDir
	if dir == "" {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "filecore-records-"+shortHash(s.cfg.Block+"\x00"+key)+".jsonl")
}

// ResumeLineage implements block.LineageResumer: an interrupted lineage's
// records file is verified against the resume state (size and CRC-32C) before
// anything is added to it, and is published when the lineage ends even if no
// batch reaches this block again.
func (s *Sink) ResumeLineage(ctx context.Context, l block.Lineage) error {
	st := l.State(s.cfg.Block)
	if len(st) == 0 {
		return nil // nothing acknowledged here: nothing to continue
	}
	var ps partState
	if err := json.Unmarshal(st, &ps); err != nil {
		return fmt.Errorf("resume state of %s: %w", s.cfg.Block, err)
	}
	if ps.Name == "" {
		return nil
	}
	p, err := s.partFor(ctx, l.ID(), ps.Name, l)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// partFor returns the lineage's records file, continuing (and verifying)
// the one its resume state describes the first time a resumed lineage is
// seen.
func (s *Sink) partFor(ctx context.Context, key, name string, lin block.Lineage) (*part, error) {
	s.mu.Lock()
	if p := s.parts[key]; p != nil {
		s.mu.Unlock()
		return p, nil
	}
	p := &part{name: name}
	var want *uint32
	resume := false
	if lin != nil && lin.Resumed() {
		if st := lin.State(s.cfg.Block); len(st) > 0 {
			var ps partState
			if err := json.Unmarshal(st, &ps); err != nil {
				s.mu.Unlock()
				return nil, fmt.Errorf("resume state of %s: %w", s.cfg.Block, err)
			}
			p.offset, want, resume = ps.Offset, ps.CRC32C, true
			p.spans = ps.Journal
			if ps.Name != "" {
				p.name = ps.Name
			}
		}
	}
	// Verification reads the file: other lineages need not wait for it,
	// this one's later batches do (they lock p).
	p.mu.Lock()
	s.parts[key] = p
	s.mu.Unlock()
	defer p.mu.Unlock()
	if resume {
		if err := s.pool.Do(ctx, "verify records file", func(fs FS) error { return s.verifyPart(ctx, fs, p, key, want) }); err != nil {
			p.err = s.explain(err, Join(s.cfg.Dir, path.Dir(p.name)))
		}
	}
	return p, nil
}

// verifyPart checks that the records file a resumed lineage continues holds
// the acknowledged bytes (at least Offset of them, with the acknowledged
// CRC-32C), and opens it for appending at Offset. A file that is gone may
// have been published by the interrupted run (killed between publishing it
// and recording the lineage as done): if the published file holds exactly
// the acknowledged bytes, the part is done. Anything else fails loudly: a
// resumed run never continues a file that lost acknowledged records.
func (s *Sink) verifyPart(ctx context.Context, fs FS, p *part, key string, want *uint32) error {
	check := func(what string, crc uint32, size int64) error {
		if size < p.offset {
			return Permanent(fmt.Errorf("cannot resume the records file %s: %s %w (%d bytes, %d acknowledged)", p.name, what, ErrShortAppend, size, p.offset))
		}
		if want != nil && crc != *want {
			return Permanent(fmt.Errorf("cannot resume the records file %s: %s does not hold the acknowledged records (CRC-32C %08x, acknowledged %08x)", p.name, what, crc, *want))
		}
		p.crc = crc
		return nil
	}
	gone := func(what string) error {
		return Permanent(fmt.Errorf("cannot resume the records file %s: %s is gone and no published file holds the %d acknowledged bytes (%w)", p.name, what, p.offset, ErrShortAppend))
	}
	ap, appends := fs.(Appender)
	if !appends {
		spool := s.spoolPath(key)
		crc, size, err := localPrefixCRC(spool, p.offset)
		if s.journal != nil && (err != nil || size < p.offset || want != nil && crc != *want) && len(p.spans) > 0 {
			// Not this node's spool (or not the acknowledged one): rebuild
			// it from the journal, as the node that wrote it left it.
			if err := s.restoreSpool(ctx, spool, key, p.spans); err != nil {
				return Permanent(err)
			}
			crc, size, err = localPrefixCRC(spool, p.offset)
		}
		if err == nil {
			if err := check("its local spool "+spool, crc, size); err != nil {
				return err
			}
			p.spool = spool
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return Permanent(fmt.Errorf("read spool %s: %w", spool, err))
		}
		if ok, err := s.published(ctx, fs, p, want); ok || err != nil {
			return err
		}
		if p.offset > 0 {
			return gone(spool)
		}
		return nil
	}
	remote := s.partPath(p.name, key)
	crc, size, err := prefixCRC(ctx, fs, remote, p.offset)
	if err != nil && !IsNotExist(err) {
		return err
	}
	if IsNotExist(err) {
		if ok, err := s.published(ctx, fs, p, want); ok || err != nil {
			return err
		}
		if p.offset > 0 {
			return gone(remote)
		}
		if err := s.prepareDir(ctx, fs, path.Dir(remote)); err != nil {
			return err
		}
	} else if err := check(remote, crc, size); err != nil {
		return err
	}
	// Opening at Offset drops what the interrupted run wrote after the
	// acknowledgement: those records are sent again.
	w, err := ap.OpenAppend(ctx, remote, p.offset)
	if err != nil {
		return fmt.Errorf("open %s: %w", remote, err)
	}
	p.remote, p.w, p.gen = remote, w, fs
	return nil
}

// published reports whether the records file was already published with
// exactly the acknowledged bytes (marking p published), looking where
// EndLineage puts it: the name, or under RENAME a numbered variant; under
// IGNORE any existing file counts (the publication is skipped then anyway).
func (s *Sink) published(ctx context.Context, fs FS, p *part, want *uint32) (bool, error) {
	dir := Join(s.cfg.Dir, path.Dir(p.name))
	base := path.Base(p.name)
	if s.cfg.Zip {
		// The published file is an archive: its bytes are not the records'.
		return false, nil
	}
	for n := 0; n < 10000; n++ {
		cand := base
		if n > 0 {
			if s.cfg.Conflict != ConflictRename {
				break
			}
			cand = strconv.Itoa(n) + "." + base
		}
		e, err := fs.Stat(ctx, Join(dir, cand))
		if IsNotExist(err) {
			break
		}
		if err != nil {
			return false, err
		}
		if s.cfg.Conflict == ConflictIgnore {
			p.published = true
			return true, nil
		}
		if e.Size != p.offset {
			continue
		}
		crc, _, err := prefixCRC(ctx, fs, Join(dir, cand), p.offset)
		if err != nil {
			return false, err
		}
		if want == nil || crc == *want {
			p.crc, p.published = crc, true
			s.log.Info("file sink: records file was published before the interruption", "path", Join(dir, cand), "bytes", p.offset)
			return true, nil
		}
	}
	return false, nil
}

// prefixCRC returns the CRC-32C of the first n bytes of the file at p and
// its size (when shorter than n, nothing is read).
func prefixCRC(ctx context.Context, fs FS, p string, n int64) (uint32, int64, error) {
	e, err := fs.Stat(ctx, p)
	if err != nil {
		return 0, 0, err
	}
	if e.Size < n || n == 0 {
		return 0, e.Size, nil
	}
	rc, err := fs.Open(ctx, p)
	if err != nil {
		return 0, 0, err
	}
	defer rc.Close()
	h := crc32.New(castagnoli)
	if _, err := io.CopyN(h, rc, n); err != nil {
		return 0, 0, fmt.Errorf("read %s: %w", p, err)
	}
	return h.Sum32(), e.Size, nil
}

// localPrefixCRC is prefixCRC for a local file.
func localPrefixCRC(p string, n int64) (uint32, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	if st.Size() < n || n == 0 {
		return 0, st.Size(), nil
	}
	h := crc32.New(castagnoli)
	if _, err := io.CopyN(h, f, n); err != nil {
		return 0, 0, err
	}
	return h.Sum32(), st.Size(), nil
}

// appendRecords writes a batch as JSON Lines to the lineage's part file and
// acknowledges it with the file's new length and checksum as resume state.
func (s *Sink) appendRecords(ctx context.Context, u *block.Unit, name string, out block.Output) error {
	b := u.Batch
	buf := make([]byte, 0, max(256, int(s.perRecord.Load()))*len(b.Records))
	for i := range b.Records {
		// Records already failed or filtered upstream are not data to deliver.
		if st := b.Records[i].Outcome.Status; st == block.Failed || st == block.Filtered {
			continue
		}
		buf = b.AppendRecordJSON(buf, i)
		buf = append(buf, '\n')
	}
	if n := len(b.Records); n > 0 {
		if per := int64(len(buf)/n*9/8 + 16); per > s.perRecord.Load() {
			s.perRecord.Store(per)
		}
	}
	key := lineageKey(u, name)
	p, err := s.partFor(ctx, key, name, u.Lineage)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	if p.published {
		return Permanent(fmt.Errorf("the records file %s was published before the interruption with %d bytes; records cannot be added to it", p.name, p.offset))
	}
	dir := Join(s.cfg.Dir, path.Dir(p.name))
	err = s.pool.Do(ctx, "append records", func(fs FS) error {
		ap, ok := fs.(Appender)
		if !ok {
			return s.appendSpool(p, key, buf)
		}
		if p.w == nil || p.gen != fs {
			if err := s.prepareDir(ctx, fs, dir); err != nil {
				return err
			}
			p.remote = s.partPath(p.name, key)
			w, err := ap.OpenAppend(ctx, p.remote, p.offset)
			if err != nil {
				return fmt.Errorf("open %s: %w", p.remote, err)
			}
			p.w, p.gen = w, fs
		}
		if _, err := p.w.Write(buf); err != nil {
			p.w.Abort()
			p.w = nil
			return fmt.Errorf("append to %s: %w", p.remote, err)
		}
		return nil
	})
	if err != nil {
		return s.explain(err, dir)
	}
	p.offset += int64(len(buf))
	p.crc = crc32.Update(p.crc, castagnoli, buf)
	crc := p.crc
	st, _ := json.Marshal(partState{Name: p.name, Offset: p.offset, CRC32C: &crc, Journal: p.spans})
	out.Ack(u, st)
	return nil
}

// appendSpool appends to a local spool file (file systems without append).
func (s *Sink) appendSpool(p *part, key string, buf []byte) error {
	if p.local == nil {
		if err := os.MkdirAll(filepath.Dir(s.spoolPath(key)), 0o700); err != nil {
			return Permanent(err)
		}
		p.spool = s.spoolPath(key)
		flags := os.O_RDWR
		if p.offset == 0 {
			flags |= os.O_CREATE
		}
		f, err := os.OpenFile(p.spool, flags, 0o600)
		if errors.Is(err, os.ErrNotExist) {
			return Permanent(fmt.Errorf("cannot resume: %d bytes were acknowledged but the local spool %s is gone", p.offset, p.spool))
		}
		if err != nil {
			return Permanent(err)
		}
		st, err := f.Stat()
		if err == nil && st.Size() < p.offset {
			f.Close()
			return Permanent(fmt.Errorf("cannot resume: %d bytes were acknowledged but the local spool %s holds %d", p.offset, p.spool, st.Size()))
		}
		if err == nil && st.Size() != p.offset {
			// Only when longer: see LocalFS.OpenAppend (ext4 flushes a
			// file truncated to 0 on close).
			err = f.Truncate(p.offset)
		}
		if err == nil {
			_, err = f.Seek(p.offset, io.SeekStart)
		}
		if err != nil {
			f.Close()
			return Permanent(err)
		}
		p.local = f
	}
	if _, err := p.local.Write(buf); err != nil {
		return Permanent(fmt.Errorf("write spool %s: %w", p.spool, err))
	}
	if s.journal != nil {
		if err := s.journalAppend(p, key, buf); err != nil {
			// Not acknowledged: the local spool goes back to what is, so
			// the batch, sent again, is written once.
			if terr := p.local.Truncate(p.offset); terr != nil {
				return Permanent(fmt.Errorf("%w; and truncating the spool %s: %v", err, p.spool, terr))
			}
			if _, serr := p.local.Seek(p.offset, io.SeekStart); serr != nil {
				return Permanent(fmt.Errorf("%w; and seeking the spool %s: %v", err, p.spool, serr))
			}
			return Permanent(err)
		}
	}
	return nil
}

// EndLineage publishes the lineage's records file under its final name
// (the engine calls it once every unit of the lineage is terminal). The
// records it holds were acknowledged as delivered, so the file is published
// whether or not the lineage as a whole succeeded.
func (s *Sink) EndLineage(ctx context.Context, lineageID string, ok bool) error {
	s.mu.Lock()
	p := s.parts[lineageID]
	delete(s.parts, lineageID)
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil || p.published {
		// Unverifiable: left where it is (the lineage failed with the
		// reason). Published: done before the interruption.
		return nil
	}
	if !ok {
		s.log.Warn("file sink: lineage failed; publishing the records it delivered", "lineage", lineageID, "file", p.name)
	}
	if p.spool != "" {
		if p.local != nil {
			if err := p.local.Sync(); err != nil {
				p.local.Close()
				return fmt.Errorf("sync spool %s: %w", p.spool, err)
			}
			p.local.Close()
			p.local = nil
		}
		// Only the acknowledged bytes: a resumed lineage's spool may hold
		// rows the interrupted run wrote after its last acknowledgement.
		spool, n := p.spool, p.offset
		_, _, err := s.upload(ctx, p.name, func(context.Context) (io.ReadCloser, error) {
			f, err := os.Open(spool)
			if err != nil {
				return nil, err
			}
			return struct {
				io.Reader
				io.Closer
			}{io.LimitReader(f, n), f}, nil
		})
		if err == nil {
			os.Remove(spool)
			s.journalEnd(ctx, lineageID)
		}
		return err
	}
	if p.remote == "" {
		return nil // nothing was written
	}
	if p.w != nil {
		err := p.w.Close()
		p.w = nil
		if err != nil {
			return s.explain(fmt.Errorf("close %s: %w", p.remote, err), p.remote)
		}
	}
	dir := Join(s.cfg.Dir, path.Dir(p.name))
	base := path.Base(p.name)
	var final string
	err := s.pool.Do(ctx, "publish records", func(fs FS) error {
		target, skip, err := s.resolve(ctx, fs, dir, base)
		if err != nil {
			return err
		}
		if skip {
			final = Join(dir, base)
			return fs.Remove(ctx, p.remote)
		}
		src := p.remote
		if s.cfg.Zip {
			rc, err := fs.Open(ctx, p.remote)
			if err != nil {
				return err
			}
			tmp := Join(dir, tempName(target))
			w, err := fs.Create(ctx, tmp)
			if err != nil {
				rc.Close()
				return err
			}
			_, err = copyTo(w, rc, s.zipEntry(p.name))
			rc.Close()
			if err != nil {
				return err
			}
			src = tmp
		}
		final, _, err = s.place(ctx, fs, src, dir, base, target, src != p.remote)
		if err == nil && src != p.remote {
			fs.Remove(ctx, p.remote)
		}
		return err
	})
	if err != nil {
		return s.explain(err, dir)
	}
	s.log.Info("file sink: records file published", "path", final, "bytes", p.offset)
	return nil
}

// LineageEnder is the optional processor interface the engine calls when a
// lineage completes (declared by the engine; mirrored here to check that
// Sink implements it).
type LineageEnder interface {
	EndLineage(ctx context.Context, lineageID string, ok bool) error
}

var (
	_ block.Processor = (*Sink)(nil)
	_ LineageEnder    = (*Sink)(nil)
	_ block.Source    = (*Source)(nil)
)
