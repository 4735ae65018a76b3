package filecore

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/connectplus/connectplus/block"
)

// Attribute names set on source units besides block.Attr*.
const (
	AttrLastModified = "file.lastModifiedTime"
	AttrDelimiter    = "file.delimiter"
	AttrReportStatus = "report.status.code"
	// AttrOKPresent and AttrOKName tell ok_file_3 whether the OK companion was found.
	AttrOKPresent      = "ok.companion.present"
	AttrOKName         = "ok.companion.name"
	AttrArchive        = "segment.original.filename" // NiFi UnpackContent's name for the archive
	AttrArchiveMember  = "zip.entry.path"            // the member's path inside the archive
	lastModifiedLayout = "2006-01-02T15:04:05-0700"  // NiFi's yyyy-MM-dd'T'HH:mm:ssZ
)

// DefaultStabilityWait is how long List waits before looking again at files
// it has just seen for the first time.
const DefaultStabilityWait = 2 * time.Second

// SourceConfig is what every file source is configured with.
type SourceConfig struct {
	Dir       string         // where files are picked up
	Pattern   *regexp.Regexp // whole-name match (block.CompileJavaRegexWhole)
	Recursive bool
	// ProcessedDir receives files whose lineage completed. ErrorDir receives
	// files that failed as a whole; empty means ProcessedDir. A directory
	// equal to Dir means "leave the file where it is".
	ProcessedDir string
	ErrorDir     string
	// ResultDir receives result files; empty means none are written.
	ResultDir    string
	Unzip        bool
	Delimiter    string
	ReportStatus string
	// StabilityWait: a file is handed out only once it was seen with the same
	// size and modification time on two consecutive listings. When a listing
	// finds files not yet stable, List waits this long and lists again.
	StabilityWait time.Duration
	// OKSuffix, when set, holds data files back until a companion
	// "<name><suffix>" or "<name without extension><suffix>" exists; the
	// companion is moved with its data file (ok_file_3).
	OKSuffix string
	Zip      ZipLimits
	// SpoolDir holds archives downloaded from file systems without random
	// access (os.TempDir when empty).
	SpoolDir string
}

// observation is what partial-upload protection compares.
type observation struct {
	size int64
	mod  time.Time
}

func observe(e Entry) observation { return observation{e.Size, e.ModTime} }

// Source is the generic file source (block.Source) over an FS.
type Source struct {
	pool *Pool
	cfg  SourceConfig
	log  *slog.Logger
	now  func() time.Time

	mu         sync.Mutex
	companions map[string]string      // OK files of the last listing, by lower-case path
	seen       map[string]observation // previous listing
	done       map[string]observation // finished in this process (even if the move failed)
	inflight   map[string]bool        // opened, not finished
	archives   map[string]*archive    // expanded zip archives by archive path
	bad        map[string]error       // archives rejected at listing
}

// archive is an expanded zip whose entries are separate inputs; the archive
// itself is moved once every entry finished.
type archive struct {
	entry   Entry
	members map[string]zipMember
	pending map[string]bool // entry names not yet finished
	failed  bool
	spool   string // local copy when the FS has no random access
}

// NewSource builds a Source. The pool is owned by the caller (Close it).
func NewSource(pool *Pool, cfg SourceConfig, env *block.Env) *Source {
	cfg.Dir = CleanDir(cfg.Dir)
	cfg.ProcessedDir = CleanDir(cfg.ProcessedDir)
	if strings.TrimSpace(cfg.ErrorDir) == "" {
		cfg.ErrorDir = cfg.ProcessedDir
	} else {
		cfg.ErrorDir = CleanDir(cfg.ErrorDir)
	}
	if strings.TrimSpace(cfg.ResultDir) != "" {
		cfg.ResultDir = CleanDir(cfg.ResultDir)
	}
	if cfg.Zip == (ZipLimits{}) {
		cfg.Zip = DefaultZipLimits
	}
	if cfg.StabilityWait < 0 {
		cfg.StabilityWait = 0
	}
	return &Source{
		pool: pool, cfg: cfg, log: env.Log(), now: env.Clock,
		seen: map[string]observation{}, done: map[string]observation{}, inflight: map[string]bool{},
		archives: map[string]*archive{}, bad: map[string]error{},
	}
}

// Config returns the effective configuration.
func (s *Source) Config() SourceConfig { return s.cfg }

// Start connects once so that authentication and host-key problems surface
// before the first poll.
func (s *Source) Start(ctx context.Context) error {
	return s.pool.Do(ctx, "connect", func(FS) error { return nil })
}

// Close closes the connection and removes spooled archives.
func (s *Source) Close() error {
	s.mu.Lock()
	for _, a := range s.archives {
		if a.spool != "" {
			os.Remove(a.spool)
		}
	}
	s.mu.Unlock()
	return s.pool.Close()
}

func (s *Source) listOnce(ctx context.Context) ([]Entry, error) {
	var entries []Entry
	err := s.pool.Do(ctx, "list", func(fs FS) error {
		var err error
		entries, err = fs.List(ctx, s.cfg.Dir, s.cfg.Recursive)
		return err
	})
	if err != nil {
		switch {
		case IsNotExist(err):
			return nil, describeErr(s.pool, "source directory %q does not exist (check sourceDirectory): %w", s.cfg.Dir, err)
		case IsPermission(err):
			return nil, describeErr(s.pool, "cannot list source directory %q: permission denied for this user: %w", s.cfg.Dir, err)
		}
		return nil, describeErr(s.pool, "list source directory %q: %w", s.cfg.Dir, err)
	}
	if s.cfg.OKSuffix != "" {
		s.noteCompanions(entries)
	}
	out := entries[:0]
	for _, e := range entries {
		if s.eligible(e) && (s.cfg.OKSuffix == "" || s.companionOf(e) != "") {
			out = append(out, e)
		}
	}
	return out, nil
}

// isCompanion reports whether name is an OK file.
func (s *Source) isCompanion(name string) bool {
	return s.cfg.OKSuffix != "" && len(name) > len(s.cfg.OKSuffix) &&
		strings.EqualFold(name[len(name)-len(s.cfg.OKSuffix):], s.cfg.OKSuffix)
}

// noteCompanions remembers the OK files present in this listing.
func (s *Source) noteCompanions(entries []Entry) {
	m := map[string]string{}
	for _, e := range entries {
		if s.isCompanion(e.Name) {
			m[strings.ToLower(e.Path)] = e.Path
		}
	}
	s.mu.Lock()
	s.companions = m
	s.mu.Unlock()
}

// companionOf returns the OK file that releases data file e, or "".
func (s *Source) companionOf(e Entry) string {
	if s.isCompanion(e.Name) {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dir := path.Dir(e.Path)
	for _, c := range []string{e.Name + s.cfg.OKSuffix, strings.TrimSuffix(e.Name, path.Ext(e.Name)) + s.cfg.OKSuffix} {
		if actual, ok := s.companions[strings.ToLower(Join(dir, c))]; ok {
			return actual
		}
	}
	return ""
}

// eligible applies the name filter and keeps the connector's own files and
// directories out of the pick-up.
func (s *Source) eligible(e Entry) bool {
	if isTempName(e.Name) || s.isCompanion(e.Name) {
		return false
	}
	if s.cfg.Recursive {
		for _, d := range []string{s.cfg.ProcessedDir, s.cfg.ErrorDir, s.cfg.ResultDir} {
			if d != "" && d != s.cfg.Dir && Within(d, s.cfg.Dir) && Within(e.Path, d) {
				return false
			}
		}
	}
	return s.cfg.Pattern == nil || s.cfg.Pattern.MatchString(e.Name)
}

// List implements block.Source.
func (s *Source) List(ctx context.Context) ([]block.Item, error) {
	entries, err := s.listOnce(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	unstable := false
	for _, e := range entries {
		if prev, ok := s.seen[e.Path]; (!ok || prev != observe(e)) && !s.isDoneLocked(e) {
			unstable = true
		}
	}
	if unstable && s.cfg.StabilityWait > 0 {
		// Remember this look and take a second one shortly, so a file that
		// is complete is picked up in this poll, not the next one.
		s.rememberLocked(entries)
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(s.cfg.StabilityWait):
		}
		if entries, err = s.listOnce(ctx); err != nil {
			return nil, err
		}
		s.mu.Lock()
	}
	var stable []Entry
	for _, e := range entries {
		// A zero wait means "no wait": every file is eligible at its first
		// sighting (stability needs two sightings, which a zero wait never
		// takes, so it used to pick up nothing at all).
		if prev, ok := s.seen[e.Path]; s.cfg.StabilityWait == 0 || (ok && prev == observe(e)) {
			stable = append(stable, e)
		}
	}
	s.rememberLocked(entries)
	// Forget finished files that are gone from the directory, so the
	// memory of a long-running source stays bounded.
	for p := range s.done {
		if _, ok := s.seen[p]; !ok {
			delete(s.done, p)
		}
	}
	s.mu.Unlock()

	sort.SliceStable(stable, func(i, j int) bool {
		a, b := stable[i], stable[j]
		if !a.ModTime.Equal(b.ModTime) {
			return a.ModTime.Before(b.ModTime)
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Path < b.Path
	})

	var items []block.Item
	for _, e := range stable {
		s.mu.Lock()
		skip := s.isDoneLocked(e) || s.inflight[e.Path]
		s.mu.Unlock()
		if skip {
			continue
		}
		if s.cfg.Unzip && IsZipName(e.Name) {
			zi, err := s.expand(ctx, e)
			if err != nil {
				return nil, err
			}
			items = append(items, zi...)
			continue
		}
		items = append(items, itemOf(e))
	}
	return items, nil
}

func (s *Source) rememberLocked(entries []Entry) {
	seen := make(map[string]observation, len(entries))
	for _, e := range entries {
		seen[e.Path] = observe(e)
	}
	s.seen = seen
}

func (s *Source) isDoneLocked(e Entry) bool {
	d, ok := s.done[e.Path]
	return ok && d == observe(e)
}

func itemOf(e Entry) block.Item {
	return block.Item{Key: e.Path, Name: e.Name, Dir: e.Dir(), Size: e.Size, ModTime: e.ModTime}
}

// memberSep separates an archive path from an entry name in item keys.
const memberSep = "!/"

func splitKey(key string) (archivePath, member string, ok bool) {
	i := strings.Index(key, memberSep)
	if i < 0 {
		return key, "", false
	}
	return key[:i], key[i+len(memberSep):], true
}

// expand lists a zip archive's files as items. A rejected archive (bomb,
// traversal, corrupt) becomes one item for the archive itself whose Open
// fails with the reason, so the engine routes it to the error location.
func (s *Source) expand(ctx context.Context, e Entry) ([]block.Item, error) {
	s.mu.Lock()
	a, ok := s.archives[e.Path]
	if ok && a.entry != e {
		// The archive was replaced by a new upload: forget the old listing.
		if a.spool != "" {
			os.Remove(a.spool)
		}
		delete(s.archives, e.Path)
		ok = false
	}
	_, isBad := s.bad[e.Path]
	s.mu.Unlock()
	if isBad {
		return []block.Item{itemOf(e)}, nil
	}
	if !ok {
		var err error
		a, err = s.scanArchive(ctx, e)
		if err != nil {
			if ctx.Err() != nil || IsTransient(err) {
				return nil, err
			}
			s.log.Warn("file source: zip archive rejected", "path", e.Path, "error", err.Error())
			s.mu.Lock()
			s.bad[e.Path] = err
			s.mu.Unlock()
			return []block.Item{itemOf(e)}, nil
		}
		s.mu.Lock()
		s.archives[e.Path] = a
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(a.pending))
	for n := range a.pending {
		if !s.inflight[e.Path+memberSep+n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	items := make([]block.Item, 0, len(names))
	for _, n := range names {
		m := a.members[n]
		// The name keeps the member's path: a/cust.csv and b/cust.csv are
		// two inputs with two results (the filename attribute is the base).
		items = append(items, block.Item{Key: e.Path + memberSep + n, Name: n, Dir: e.Dir(), Size: m.size, ModTime: e.ModTime})
	}
	return items, nil
}

func (s *Source) scanArchive(ctx context.Context, e Entry) (*archive, error) {
	a := &archive{entry: e, members: map[string]zipMember{}, pending: map[string]bool{}}
	var members []zipMember
	err := s.withZip(ctx, a, func(zr *zip.Reader) error {
		var err error
		members, err = scanZip(zr, s.cfg.Zip)
		return err
	})
	if err != nil {
		if a.spool != "" {
			os.Remove(a.spool)
		}
		return nil, fmt.Errorf("zip archive %s: %w", e.Path, err)
	}
	for _, m := range members {
		a.members[m.name] = m
		a.pending[m.name] = true
	}
	if len(members) == 0 {
		// An empty archive still has to be moved away once: represent it by
		// a rejected item.
		if a.spool != "" {
			os.Remove(a.spool)
		}
		return nil, fmt.Errorf("zip archive %s contains no files", e.Path)
	}
	return a, nil
}

// withZip opens the archive with random access (remote ReaderAt, or a local
// spool copy made once) and calls f. f must finish using the reader before
// returning unless it takes ownership through keep.
func (s *Source) withZip(ctx context.Context, a *archive, f func(*zip.Reader) error) error {
	ra, size, err := s.openArchive(ctx, a)
	if err != nil {
		return err
	}
	defer ra.Close()
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return fmt.Errorf("not a valid zip archive: %w", err)
	}
	return f(zr)
}

func (s *Source) openArchive(ctx context.Context, a *archive) (ReaderAtCloser, int64, error) {
	if a.spool != "" {
		f, err := os.Open(a.spool)
		return f, a.entry.Size, err
	}
	var ra ReaderAtCloser
	spool := false
	err := s.pool.Do(ctx, "open archive", func(fs FS) error {
		ro, ok := fs.(ReaderAtOpener)
		if !ok {
			spool = true
			return nil
		}
		var err error
		ra, err = ro.OpenReaderAt(ctx, a.entry.Path)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	if !spool {
		return ra, a.entry.Size, nil
	}
	f, err := os.CreateTemp(s.cfg.SpoolDir, "filecore-zip-*")
	if err != nil {
		return nil, 0, fmt.Errorf("spool archive: %w", err)
	}
	err = s.pool.Do(ctx, "download archive", func(fs FS) error {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := f.Truncate(0); err != nil {
			return err
		}
		rc, err := fs.Open(ctx, a.entry.Path)
		if err != nil {
			return err
		}
		defer rc.Close()
		// The spool is bounded by the archive's listed size: a file that grows
		// while being read is not the one that was judged stable.
		n, err := io.Copy(f, io.LimitReader(rc, a.entry.Size+1))
		if err == nil && n != a.entry.Size {
			err = fmt.Errorf("archive changed while downloading (%d bytes, listed %d)", n, a.entry.Size)
		}
		return err
	})
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, err
	}
	a.spool = f.Name()
	return f, a.entry.Size, nil
}

// Open implements block.Source.
func (s *Source) Open(ctx context.Context, it block.Item) (*block.Unit, error) {
	archivePath, member, isMember := splitKey(it.Key)
	s.mu.Lock()
	badErr := s.bad[it.Key]
	a := s.archives[archivePath]
	s.mu.Unlock()
	if badErr != nil {
		return nil, badErr
	}
	attrs := block.Attributes{
		block.AttrFilename: path.Base(it.Name),
		block.AttrPath:     it.Dir,
		block.AttrAbsPath:  it.Key,
		block.AttrFileSize: strconv.FormatInt(it.Size, 10),
		AttrLastModified:   it.ModTime.Format(lastModifiedLayout),
		AttrDelimiter:      s.cfg.Delimiter,
		AttrReportStatus:   s.cfg.ReportStatus,
	}
	if s.cfg.OKSuffix != "" && !isMember {
		if c := s.companionOf(Entry{Path: it.Key, Name: it.Name}); c != "" {
			attrs[AttrOKPresent] = "true"
			attrs[AttrOKName] = path.Base(c)
		} else {
			attrs[AttrOKPresent] = "false"
		}
	}
	var f *block.File
	if isMember {
		if a == nil || !a.pending[member] {
			return nil, fmt.Errorf("zip entry %s of %s is no longer listed", member, archivePath)
		}
		attrs[block.AttrAbsPath] = archivePath
		attrs[AttrArchive] = path.Base(archivePath)
		attrs[AttrArchiveMember] = member
		size := a.members[member].size
		f = block.NewFile(path.Base(it.Name), size, func(ctx context.Context) (io.ReadCloser, error) {
			return s.openMember(ctx, a, member)
		})
	} else {
		key := it.Key
		f = block.NewFile(it.Name, it.Size, func(ctx context.Context) (io.ReadCloser, error) {
			var rc io.ReadCloser
			err := s.pool.Do(ctx, "open", func(fs FS) error {
				var err error
				rc, err = fs.Open(ctx, key)
				return err
			})
			if err != nil {
				if IsNotExist(err) {
					return nil, describeErr(s.pool, "source file %q disappeared before it was read: %w", key, err)
				}
				return nil, describeErr(s.pool, "open %q: %w", key, err)
			}
			return rc, nil
		})
	}
	f.ModTime = it.ModTime
	s.mu.Lock()
	s.inflight[it.Key] = true
	s.mu.Unlock()
	return &block.Unit{Attrs: attrs, File: f}, nil
}

// openMember streams one archive entry; the archive is opened per reader
// so readers of different entries do not share state.
func (s *Source) openMember(ctx context.Context, a *archive, member string) (io.ReadCloser, error) {
	ra, size, err := s.openArchive(ctx, a)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		ra.Close()
		return nil, fmt.Errorf("zip archive %s: %w", a.entry.Path, err)
	}
	for _, zf := range zr.File {
		if zf.Name != member {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			ra.Close()
			return nil, fmt.Errorf("zip entry %s of %s: %w", member, a.entry.Path, err)
		}
		return &memberReader{boundedReader{r: rc, n: int64(zf.UncompressedSize64), name: member}, ra}, nil
	}
	ra.Close()
	return nil, fmt.Errorf("zip entry %s vanished from %s", member, a.entry.Path)
}

type memberReader struct {
	boundedReader
	archive io.Closer
}

func (m *memberReader) Close() error {
	err := m.boundedReader.Close()
	if cerr := m.archive.Close(); err == nil {
		err = cerr
	}
	return err
}

// Finish implements block.Source: write the result file, then move the
// input to the processed or error location.
func (s *Source) Finish(ctx context.Context, it block.Item, c *block.Completion) error {
	failed := c != nil && c.Err != nil
	var errs []error
	if c != nil && c.HasResult && s.cfg.ResultDir != "" && c.Result != nil {
		if err := s.uploadResult(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	archivePath, member, isMember := splitKey(it.Key)
	entry := Entry{Path: it.Key, Name: it.Name, Size: it.Size, ModTime: it.ModTime}
	moveNow := true
	s.mu.Lock()
	delete(s.inflight, it.Key)
	if isMember {
		a := s.archives[archivePath]
		moveNow = false
		if a != nil {
			delete(a.pending, member)
			a.failed = a.failed || failed
			if len(a.pending) == 0 {
				moveNow, failed, entry = true, a.failed, a.entry
				if a.spool != "" {
					os.Remove(a.spool)
				}
				delete(s.archives, archivePath)
			}
		}
	}
	if moveNow {
		// Remembered even when the move below fails, so the same file is
		// not processed again by this process (a user without move
		// permission would otherwise get every row sent on every poll).
		s.done[entry.Path] = observe(entry)
		delete(s.bad, entry.Path)
	}
	s.mu.Unlock()
	if moveNow {
		dest := s.cfg.ProcessedDir
		if failed {
			dest = s.cfg.ErrorDir
		}
		if !Within(entry.Path, s.cfg.Dir) {
			// Only files this source listed are ever moved: an item from
			// elsewhere (a claim of an older version with another
			// sourceDirectory) is left where it is.
			errs = append(errs, fmt.Errorf("not moving %q: it is not in the source directory %q", entry.Path, s.cfg.Dir))
		} else if dest != path.Dir(entry.Path) {
			companion := ""
			if s.cfg.OKSuffix != "" {
				companion = s.companionOf(entry)
			}
			if _, err := s.move(ctx, entry.Path, dest); err != nil {
				errs = append(errs, err)
			} else if companion != "" && !s.companionInUse(companion, entry.Path) {
				if _, err := s.move(ctx, companion, dest); err != nil && !IsNotExist(err) {
					errs = append(errs, fmt.Errorf("moving OK file: %w", err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// move renames src into dir, creating dir as needed; when the name is taken
// a timestamp is appended before the extension.
func (s *Source) move(ctx context.Context, src, dir string) (string, error) {
	name := path.Base(src)
	var final string
	err := s.pool.Do(ctx, "move", func(fs FS) error {
		if err := ensureDir(ctx, fs, dir); err != nil {
			return err
		}
		final = Join(dir, name)
		err := fs.Rename(ctx, src, final, false)
		if IsExist(err) {
			final = Join(dir, collisionName(name, s.now()))
			err = fs.Rename(ctx, src, final, false)
		}
		return err
	})
	if err != nil {
		if IsPermission(err) {
			return "", describeErr(s.pool, "cannot move %q to %q: permission denied. The user needs move (rename) permission on the source and target directories, otherwise files are never moved to the processed folder: %w", src, dir, err)
		}
		if IsNotExist(err) {
			return "", describeErr(s.pool, "cannot move %q to %q: %w", src, dir, err)
		}
		return "", describeErr(s.pool, "move %q to %q: %w", src, dir, err)
	}
	s.log.Info("file source: moved", "from", src, "to", final)
	return final, nil
}

func (s *Source) uploadResult(ctx context.Context, c *block.Completion) error {
	if err := ValidBaseName(c.ResultName); err != nil {
		return fmt.Errorf("result file: %w", err)
	}
	dir := s.cfg.ResultDir
	err := s.pool.Do(ctx, "upload result", func(fs FS) error {
		if err := ensureDir(ctx, fs, dir); err != nil {
			return err
		}
		rc, err := c.Result()
		if err != nil {
			return Permanent(fmt.Errorf("open result file: %w", err))
		}
		defer rc.Close()
		// Never over another result file (two runs of the same file in the
		// same second): the first free variant of the name, reported back.
		name := c.ResultName
		for n := 2; ; n++ {
			if _, err := fs.Stat(ctx, Join(dir, name)); err != nil {
				break
			}
			if n > 1000 {
				return Permanent(fmt.Errorf("%q and its first 1000 variants exist in %q", c.ResultName, dir))
			}
			name = block.ResultNameVariant(c.ResultName, n)
		}
		if _, err = publish(ctx, fs, dir, name, rc, "", false); err != nil {
			return err
		}
		if name != c.ResultName {
			c.WrittenAs = name
		}
		return nil
	})
	if err != nil {
		if IsPermission(err) {
			return describeErr(s.pool, "cannot write result file %q to %q: permission denied: %w", c.ResultName, dir, err)
		}
		return describeErr(s.pool, "write result file %q to %q: %w", c.ResultName, dir, err)
	}
	return nil
}

// ensureDir creates dir unless it exists.
func ensureDir(ctx context.Context, fs FS, dir string) error {
	if dir == "." || dir == "/" || dir == "" {
		return nil
	}
	if e, err := fs.Stat(ctx, dir); err == nil {
		if !e.IsDir {
			return fmt.Errorf("%q exists and is not a directory", dir)
		}
		return nil
	}
	if err := fs.MkdirAll(ctx, dir); err != nil {
		return fmt.Errorf("create directory %q: %w", dir, err)
	}
	return nil
}

// collisionName appends a UTC timestamp before the extension:
// orders.csv -> orders_20250102T030405.678Z.csv.
func collisionName(name string, t time.Time) string {
	ext := path.Ext(name)
	if ext == name {
		ext = ""
	}
	return strings.TrimSuffix(name, ext) + "_" + t.UTC().Format("20060102T150405.000Z") + ext
}

// companionInUse reports whether another data file still in flight is
// released by the same OK file (it moves with the last one).
func (s *Source) companionInUse(companion, except string) bool {
	s.mu.Lock()
	var others []string
	for p := range s.inflight {
		if p != except {
			others = append(others, p)
		}
	}
	s.mu.Unlock()
	for _, p := range others {
		if s.companionOf(Entry{Path: p, Name: path.Base(p)}) == companion {
			return true
		}
	}
	return false
}
