// Package related implements fetch_related_files (spec §2.2.7), a source
// that waits for a set of companion files sharing a token and hands them on
// zipped, and merge_content (§2.4.16), a NiFi MergeContent-style binning of
// per-record results into merged files.
package related

import (
	"archive/zip"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/filecore"
	"github.com/connectplus/connectplus/blocks/filecore/remote"
)

// Attributes set on the zipped unit.
const (
	AttrToken   = "related.token"
	AttrMembers = "related.files"
)

// FetchSpec is fetch_related_files.
var FetchSpec = &block.Spec{
	Type: "fetch_related_files", Label: "Fetch Related Files (SFTP)", Class: block.ClassSource, Category: "Source",
	Description: "Fetches companion files from SFTP: files matching file1Pattern, file2Pattern (and file3Pattern) whose first capture group is the same token form a set. " +
		"A complete set is handed on as one ZIP archive (outputZipNamePattern; {timestamp} is replaced) and its files are moved to processedDirectory. " +
		"An incomplete set waits up to retryTimeoutHours from when its first file was seen; then it fails (naming the missing pattern) and its files are moved to processedDirectory. " +
		"Files must be seen unchanged on two listings before they are used (partial uploads).",
	Input: block.KindNone, Output: block.KindFile,
	Fields: []block.Field{
		{Key: remote.KeyHostname, Label: "Hostname", Type: block.TypeString, Required: true, FromConfigs: true},
		{Key: remote.KeyUsername, Label: "Username", Type: block.TypeString, Required: true, FromConfigs: true},
		{Key: remote.KeyPassword, Label: "Password", Type: block.TypeString, Required: true, Secret: true},
		{Key: "sourceDirectory", Label: "Source Directory", Type: block.TypeString, Required: true, FromConfigs: true},
		{Key: "fileFilterRegex", Label: "ListSFTP File Filter Regex", Type: block.TypeRegex, Required: true, Default: ".*", Example: `TktCoupon_.*\.dat\.gpg`,
			Description: "Only file names matching this (whole name) are considered."},
		{Key: "file1Pattern", Label: "File 1 Pattern", Type: block.TypeRegex, Required: true, Example: `^TktCoupon_(.*)\.dat\.gpg$`,
			Description: "Regex with one capture group: the token shared by the companion files."},
		{Key: "file2Pattern", Label: "File 2 Pattern", Type: block.TypeRegex, Required: true, Example: `^TktDocument_(.*)\.dat\.gpg$`},
		{Key: "processedDirectory", Label: "Move Destination Directory", Type: block.TypeString, Required: true, FromConfigs: true},
		{Key: remote.KeyPort, Label: "Port", Type: block.TypeInt, Required: true, Default: "22", Min: block.Bound(1), Max: block.Bound(65535)},
		{Key: "file3Pattern", Label: "File 3 Pattern", Type: block.TypeRegex, Advanced: true, Description: "Optional third companion."},
		{Key: "retryTimeoutHours", Label: "Retry Timeout (hours)", Type: block.TypeNumber, Default: "1", Advanced: true, Min: block.Bound(0),
			Description: "How long an incomplete set waits for its companions."},
		{Key: "outputZipNamePattern", Label: "Output ZIP Name", Type: block.TypeString, Default: "joined_{timestamp}.zip", Advanced: true,
			Description: "{timestamp} becomes yyyyMMddHHmmss (UTC) and {token} the shared token."},
		{Key: "searchDirRecursively", Label: "Search Recursively", Type: block.TypeBool, Default: "false", Advanced: true},
		{Key: remote.KeyKnownHosts, Label: "Known Hosts", Type: block.TypeText, Advanced: true, FromConfigs: true,
			Description: "known_hosts lines for the server's host key."},
		{Key: remote.KeyFingerprint, Label: "Host Key Fingerprint", Type: block.TypeString, Advanced: true, FromConfigs: true,
			Description: "Pinned SHA256 fingerprint of the server's host key."},
		{Key: remote.KeyInsecure, Label: "Accept Any Host Key", Type: block.TypeBool, Default: "false", Advanced: true,
			Description: "Skip host-key verification (insecure; for tests only)."},
	},
	Check: func(c *block.Config) []block.Problem {
		var probs []block.Problem
		for _, k := range []string{"file1Pattern", "file2Pattern", "file3Pattern"} {
			if !c.Has(k) {
				continue
			}
			re, err := block.CompileJavaRegex(c.String(k))
			if err == nil && re.NumSubexp() < 1 {
				probs = append(probs, block.Problem{Path: k, Message: "needs a capture group for the shared token, e.g. ^TktCoupon_(.*)\\.dat$"})
			}
		}
		return probs
	},
	New: newFetch,
}

// Register adds the related-files blocks to r.
func Register(r *block.Registry) { r.MustRegister(FetchSpec, MergeSpec) }

func newFetch(c *block.Config, env *block.Env) (block.Block, error) {
	conn := &remote.Conn{
		Host: strings.TrimSpace(c.String(remote.KeyHostname)), Port: c.Int(remote.KeyPort, 22),
		User: c.String(remote.KeyUsername), Password: c.String(remote.KeyPassword),
		KnownHosts: c.String(remote.KeyKnownHosts), Fingerprint: c.String(remote.KeyFingerprint), InsecureAny: c.Bool(remote.KeyInsecure),
		Protocol: "sftp", Timeout: 30 * time.Second, Log: env.Log(),
	}
	cfg, err := FetchConfigFrom(c)
	if err != nil {
		return nil, err
	}
	return NewFetcher(filecore.NewPool(conn.Dial, filecore.RetryFrom(env), env.Log()), cfg, env), nil
}

// FetchConfig is what the fetcher needs besides the connection.
type FetchConfig struct {
	Dir, ProcessedDir string
	Recursive         bool
	Filter            *regexp.Regexp   // whole-name match
	Patterns          []*regexp.Regexp // file1, file2[, file3]
	Timeout           time.Duration
	ZipName           string
	StabilityWait     time.Duration
}

// FetchConfigFrom reads the block's fields.
func FetchConfigFrom(c *block.Config) (FetchConfig, error) {
	cfg := FetchConfig{
		Dir: filecore.CleanDir(c.String("sourceDirectory")), ProcessedDir: filecore.CleanDir(c.String("processedDirectory")),
		Recursive: c.Bool("searchDirRecursively"), ZipName: c.String("outputZipNamePattern"),
		Timeout:       time.Duration(c.Float("retryTimeoutHours", 1) * float64(time.Hour)),
		StabilityWait: filecore.DefaultStabilityWait,
	}
	var err error
	if cfg.Filter, err = block.CompileJavaRegexWhole(c.String("fileFilterRegex")); err != nil {
		return cfg, fmt.Errorf("fileFilterRegex: %w", err)
	}
	for _, k := range []string{"file1Pattern", "file2Pattern", "file3Pattern"} {
		if !c.Has(k) {
			continue
		}
		re, err := block.CompileJavaRegex(c.String(k))
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", k, err)
		}
		if re.NumSubexp() < 1 {
			return cfg, fmt.Errorf("%s needs a capture group for the shared token", k)
		}
		cfg.Patterns = append(cfg.Patterns, re)
	}
	if strings.TrimSpace(cfg.ZipName) == "" {
		cfg.ZipName = "joined_{timestamp}.zip"
	}
	return cfg, nil
}

// Fetcher is the fetch_related_files source over any filecore.FS.
type Fetcher struct {
	pool *filecore.Pool
	cfg  FetchConfig
	log  interface {
		Warn(msg string, args ...any)
	}
	now func() time.Time

	mu       sync.Mutex
	seen     map[string]filecore.Entry // previous listing, by path
	first    map[string]time.Time      // token -> when its first file was seen
	sets     map[string]*set           // item key -> set handed out
	inflight map[string]bool
}

type set struct {
	token   string
	members []filecore.Entry // by pattern order; missing ones are zero
	missing []int            // pattern numbers (1-based) not found
}

// NewFetcher builds the source. The pool is owned by the fetcher.
func NewFetcher(pool *filecore.Pool, cfg FetchConfig, env *block.Env) *Fetcher {
	return &Fetcher{
		pool: pool, cfg: cfg, log: env.Log(), now: env.Clock,
		seen: map[string]filecore.Entry{}, first: map[string]time.Time{}, sets: map[string]*set{}, inflight: map[string]bool{},
	}
}

// Close closes the connection.
func (f *Fetcher) Close() error { return f.pool.Close() }

func (f *Fetcher) list(ctx context.Context) ([]filecore.Entry, error) {
	var entries []filecore.Entry
	err := f.pool.Do(ctx, "list", func(fs filecore.FS) error {
		var err error
		entries, err = fs.List(ctx, f.cfg.Dir, f.cfg.Recursive)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", f.cfg.Dir, err)
	}
	out := entries[:0]
	for _, e := range entries {
		if f.cfg.Recursive && f.cfg.ProcessedDir != f.cfg.Dir && filecore.Within(e.Path, f.cfg.ProcessedDir) {
			continue
		}
		if f.cfg.Filter.MatchString(e.Name) || f.matchesAny(e.Name) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *Fetcher) matchesAny(name string) bool {
	for _, p := range f.cfg.Patterns {
		if p.MatchString(name) {
			return true
		}
	}
	return false
}

// List implements block.Source: complete sets of stable files, and sets
// whose companions did not arrive in time (their Open fails).
func (f *Fetcher) List(ctx context.Context) ([]block.Item, error) {
	entries, err := f.list(ctx)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	prev := f.seen
	unstable := false
	for _, e := range entries {
		if p, ok := prev[e.Path]; !ok || p.Size != e.Size || !p.ModTime.Equal(e.ModTime) {
			unstable = true
		}
	}
	f.remember(entries)
	f.mu.Unlock()
	if unstable && f.cfg.StabilityWait > 0 {
		// Look again shortly, so complete files are used in this poll.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(f.cfg.StabilityWait):
		}
		f.mu.Lock()
		prev = f.seen
		f.mu.Unlock()
		if entries, err = f.list(ctx); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var stable []filecore.Entry
	for _, e := range entries {
		// A zero wait means "no wait": take files at their first sighting.
		if p, ok := prev[e.Path]; f.cfg.StabilityWait == 0 || (ok && p.Size == e.Size && p.ModTime.Equal(e.ModTime)) {
			stable = append(stable, e)
		}
	}
	f.remember(entries)
	sets := map[string]*set{}
	var tokens []string
	for _, e := range stable {
		if !f.cfg.Filter.MatchString(e.Name) {
			continue
		}
		for i, p := range f.cfg.Patterns {
			m := p.FindStringSubmatch(e.Name)
			if m == nil {
				continue
			}
			key := e.Dir() + "\x00" + m[1]
			s := sets[key]
			if s == nil {
				s = &set{token: m[1], members: make([]filecore.Entry, len(f.cfg.Patterns))}
				sets[key] = s
				tokens = append(tokens, key)
			}
			if s.members[i].Path == "" || e.ModTime.After(s.members[i].ModTime) {
				s.members[i] = e
			}
			break
		}
	}
	sort.Strings(tokens)
	now := f.now()
	var items []block.Item
	live := map[string]bool{}
	for _, key := range tokens {
		s := sets[key]
		live[key] = true
		s.missing = nil
		var anchor filecore.Entry
		for i, m := range s.members {
			if m.Path == "" {
				s.missing = append(s.missing, i+1)
			} else if anchor.Path == "" {
				anchor = m
			}
		}
		if _, ok := f.first[key]; !ok {
			f.first[key] = now
		}
		if len(s.missing) > 0 && now.Sub(f.first[key]) < f.cfg.Timeout {
			continue // still waiting for companions
		}
		itemKey := anchor.Path
		if f.inflight[itemKey] {
			continue
		}
		f.sets[itemKey] = s
		items = append(items, block.Item{Key: itemKey, Name: anchor.Name, Dir: anchor.Dir(), Size: anchor.Size, ModTime: anchor.ModTime})
	}
	for key := range f.first {
		if !live[key] {
			delete(f.first, key) // the set is gone: forget it
		}
	}
	return items, nil
}

func (f *Fetcher) remember(entries []filecore.Entry) {
	seen := make(map[string]filecore.Entry, len(entries))
	for _, e := range entries {
		seen[e.Path] = e
	}
	f.seen = seen
}

// ZipName renders outputZipNamePattern.
func ZipName(pattern, token string, now time.Time) string {
	r := strings.NewReplacer("{timestamp}", now.UTC().Format("20060102150405"), "{token}", token)
	return r.Replace(pattern)
}

// Open implements block.Source: the set as one zip, built while it is read.
func (f *Fetcher) Open(ctx context.Context, it block.Item) (*block.Unit, error) {
	f.mu.Lock()
	s := f.sets[it.Key]
	if s != nil {
		f.inflight[it.Key] = true
	}
	f.mu.Unlock()
	if s == nil {
		return nil, fmt.Errorf("related files of %s are no longer listed", it.Key)
	}
	if len(s.missing) > 0 {
		var miss []string
		for _, i := range s.missing {
			miss = append(miss, fmt.Sprintf("file%dPattern (%s)", i, f.cfg.Patterns[i-1]))
		}
		return nil, fmt.Errorf("companion files for token %q did not arrive within %v: missing %s", s.token, f.cfg.Timeout, strings.Join(miss, ", "))
	}
	name := ZipName(f.cfg.ZipName, s.token, f.now())
	var names []string
	for _, m := range s.members {
		names = append(names, m.Name)
	}
	members := append([]filecore.Entry(nil), s.members...)
	file := block.NewFile(name, -1, func(ctx context.Context) (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(f.zipTo(ctx, pw, members)) }()
		return pr, nil
	})
	file.ModTime = it.ModTime
	return &block.Unit{Attrs: block.Attributes{
		block.AttrFilename: name, block.AttrPath: it.Dir, block.AttrAbsPath: it.Key,
		AttrToken: s.token, AttrMembers: strings.Join(names, ","), block.AttrMimeType: "application/zip",
	}, File: file}, nil
}

func (f *Fetcher) zipTo(ctx context.Context, w io.Writer, members []filecore.Entry) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	zw := zip.NewWriter(bw)
	for _, m := range members {
		err := f.pool.Do(ctx, "read "+m.Path, func(fs filecore.FS) error {
			rc, err := fs.Open(ctx, m.Path)
			if err != nil {
				return err
			}
			defer rc.Close()
			// Encrypted members do not compress: store them as they are.
			method := zip.Deflate
			if ext := strings.ToLower(path.Ext(m.Name)); ext == ".gpg" || ext == ".pgp" || ext == ".zip" || ext == ".gz" {
				method = zip.Store
			}
			zf, err := zw.CreateHeader(&zip.FileHeader{Name: m.Name, Method: method, Modified: m.ModTime})
			if err != nil {
				return filecore.Permanent(err)
			}
			n, err := io.Copy(zf, rc)
			if err == nil && n != m.Size {
				err = filecore.Permanent(fmt.Errorf("%s changed while being read (%d bytes, listed %d)", m.Path, n, m.Size))
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("fetch_related_files: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// Finish implements block.Source: every file of the set moves to
// processedDirectory (the spec has no separate error directory).
func (f *Fetcher) Finish(ctx context.Context, it block.Item, c *block.Completion) error {
	f.mu.Lock()
	s := f.sets[it.Key]
	delete(f.sets, it.Key)
	delete(f.inflight, it.Key)
	f.mu.Unlock()
	if s == nil {
		return nil
	}
	if c != nil && c.Err != nil {
		f.log.Warn("fetch_related_files: set failed", "token", s.token, "err", c.Err.Error())
	}
	var errs []error
	err := f.pool.Do(ctx, "mkdir", func(fs filecore.FS) error { return fs.MkdirAll(ctx, f.cfg.ProcessedDir) })
	if err != nil {
		return fmt.Errorf("create %s: %w", f.cfg.ProcessedDir, err)
	}
	for _, m := range s.members {
		if m.Path == "" || f.cfg.ProcessedDir == m.Dir() {
			continue
		}
		dst := filecore.Join(f.cfg.ProcessedDir, m.Name)
		if err := f.pool.Do(ctx, "move "+m.Path, func(fs filecore.FS) error { return fs.Rename(ctx, m.Path, dst, true) }); err != nil {
			errs = append(errs, fmt.Errorf("move %s to %s: %w", m.Path, dst, err))
		}
	}
	f.mu.Lock()
	delete(f.first, s.members[firstPresent(s)].Dir()+"\x00"+s.token)
	f.mu.Unlock()
	return errors.Join(errs...)
}

func firstPresent(s *set) int {
	for i, m := range s.members {
		if m.Path != "" {
			return i
		}
	}
	return 0
}
