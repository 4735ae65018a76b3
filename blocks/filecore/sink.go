package filecore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

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

	mu    sync.Mutex
	parts map[string]*part // by lineage ID
}

// part is a lineage's records file while it is being written.
type part struct {
	mu     sync.Mutex
	name   string // final name (relative to Dir)
	remote string // remote part path (Appender file systems)
	spool  string // local spool path (other file systems)
	offset int64  // bytes written and acknowledged
	w      Writer
	gen    FS
	local  *os.File
}

// partState is the resume state acknowledged with each batch.
type partState struct {
	Name   string `json:"name"`
	Offset int64  `json:"offset"`
}

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
	return &Sink{pool: pool, cfg: cfg, log: env.Log(), parts: map[string]*part{}}, nil
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

// appendRecords writes a batch as JSON Lines to the lineage's part file and
// acknowledges it with the file's new length as resume state.
func (s *Sink) appendRecords(ctx context.Context, u *block.Unit, name string, out block.Output) error {
	key := lineageKey(u, name)
	s.mu.Lock()
	p := s.parts[key]
	if p == nil {
		p = &part{name: name}
		if u.Lineage != nil && u.Lineage.Resumed() {
			if st := u.Lineage.State(s.cfg.Block); len(st) > 0 {
				var ps partState
				if err := json.Unmarshal(st, &ps); err != nil {
					s.mu.Unlock()
					return fmt.Errorf("resume state of %s: %w", s.cfg.Block, err)
				}
				p.offset = ps.Offset
				if ps.Name != "" {
					p.name = ps.Name
				}
			}
		}
		s.parts[key] = p
	}
	s.mu.Unlock()

	p.mu.Lock()
	defer p.mu.Unlock()
	b := u.Batch
	buf := make([]byte, 0, 256*len(b.Records))
	for i := range b.Records {
		// Records already failed or filtered upstream are not data to deliver.
		if st := b.Records[i].Outcome.Status; st == block.Failed || st == block.Filtered {
			continue
		}
		buf = b.AppendRecordJSON(buf, i)
		buf = append(buf, '\n')
	}
	dir := Join(s.cfg.Dir, path.Dir(p.name))
	partName := "." + path.Base(p.name) + partMarker + shortHash(key)
	err := s.pool.Do(ctx, "append records", func(fs FS) error {
		ap, ok := fs.(Appender)
		if !ok {
			return s.appendSpool(p, key, buf)
		}
		if p.w == nil || p.gen != fs {
			if err := s.prepareDir(ctx, fs, dir); err != nil {
				return err
			}
			p.remote = Join(dir, partName)
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
	st, _ := json.Marshal(partState{Name: p.name, Offset: p.offset})
	out.Ack(u, st)
	return nil
}

// appendSpool appends to a local spool file (file systems without append).
func (s *Sink) appendSpool(p *part, key string, buf []byte) error {
	if p.local == nil {
		dir := s.cfg.SpoolDir
		if dir == "" {
			dir = os.TempDir()
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return Permanent(err)
		}
		p.spool = filepath.Join(dir, "filecore-records-"+shortHash(s.cfg.Block+"\x00"+key)+".jsonl")
		f, err := os.OpenFile(p.spool, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return Permanent(err)
		}
		st, err := f.Stat()
		if err == nil && st.Size() < p.offset {
			f.Close()
			return Permanent(fmt.Errorf("cannot resume: %d bytes were acknowledged but the local spool %s holds %d", p.offset, p.spool, st.Size()))
		}
		if err == nil {
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
	if !ok {
		s.log.Warn("file sink: lineage failed; publishing the records it delivered", "lineage", lineageID, "file", p.name)
	}
	if p.local != nil {
		if err := p.local.Sync(); err != nil {
			p.local.Close()
			return fmt.Errorf("sync spool %s: %w", p.spool, err)
		}
		p.local.Close()
		p.local = nil
		spool := p.spool
		_, _, err := s.upload(ctx, p.name, func(context.Context) (io.ReadCloser, error) { return os.Open(spool) })
		if err == nil {
			os.Remove(spool)
		}
		return err
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
