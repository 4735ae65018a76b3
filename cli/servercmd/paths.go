package servercmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/connectplus/connectplus/fsroot"
)

// pathRules are the server's local-path rules: every organisation's
// dataflows read and write local files only under <files root>/<org id>,
// plus the directories a platform administrator allowed with --allow-path;
// the data directory, the master key, the database and the TLS key are out
// of reach whatever those say.
type pathRules struct {
	base      string
	allow     []string
	forbidden []string
}

// newPathRules checks the flags: the files root and every allowed path must
// neither contain nor lie inside a forbidden path.
func newPathRules(o options) (*pathRules, error) {
	r := &pathRules{}
	forbid := func(p string) error {
		if strings.TrimSpace(p) == "" {
			return nil
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		r.forbidden = append(r.forbidden, abs)
		return nil
	}
	db := o.db
	if db == "" {
		db = filepath.Join(o.dataDir, "connectplus.db")
	}
	sqlite := ""
	if !strings.HasPrefix(db, "postgres://") && !strings.HasPrefix(db, "postgresql://") {
		sqlite = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(db, "sqlite://"), "sqlite:"), "file:")
		if i := strings.IndexByte(sqlite, '?'); i >= 0 {
			sqlite = sqlite[:i]
		}
	}
	// The shared directory holds every organisation's result files and
	// block state, like the data directory.
	for _, p := range []string{o.dataDir, o.masterKeyFile, o.tlsKey, sqlite, o.sharedDir} {
		if err := forbid(p); err != nil {
			return nil, err
		}
	}
	if sqlite != "" {
		for _, sfx := range []string{"-wal", "-shm", "-journal"} {
			if err := forbid(sqlite + sfx); err != nil {
				return nil, err
			}
		}
	}
	if o.filesRoot != "" {
		abs, err := filepath.Abs(o.filesRoot)
		if err != nil {
			return nil, fmt.Errorf("--files-root: %w", err)
		}
		r.base = abs
	}
	for _, a := range o.allowPaths {
		if !filepath.IsAbs(a) {
			return nil, fmt.Errorf("--allow-path %q: give an absolute path", a)
		}
		r.allow = append(r.allow, filepath.Clean(a))
	}
	// One policy over the base itself: it refuses any root overlapping a
	// forbidden path, so a bad flag stops the server at start.
	if _, err := fsroot.New(fsroot.Config{Home: r.base, Allow: r.allow, Forbidden: r.forbidden}); err != nil {
		return nil, fmt.Errorf("--files-root/--allow-path: %w", err)
	}
	if r.base != "" {
		if err := os.MkdirAll(r.base, 0o700); err != nil {
			return nil, fmt.Errorf("--files-root: %w", err)
		}
	}
	return r, nil
}

// policy is an organisation's local-path policy: home <base>/<org id>.
func (r *pathRules) policy(orgID string) (*fsroot.Policy, error) {
	c := fsroot.Config{Allow: r.allow, Forbidden: r.forbidden}
	if r.base != "" {
		if orgID == "" || !filepath.IsLocal(orgID) || strings.ContainsAny(orgID, `/\`) || orgID != filepath.Clean(orgID) {
			return nil, fmt.Errorf("organisation id %q cannot name a directory", orgID)
		}
		c.Home = filepath.Join(r.base, orgID)
	}
	return fsroot.New(c)
}

// privateDataDir makes the data directory and everything in it readable by
// the server's user only (directories 0700, files 0600): it holds the
// master key, the database and every organisation's result files. Servers
// before this rule made them 0755/0644. Symbolic links are not followed.
func privateDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking (retention, a run finishing)
			}
			return fmt.Errorf("data directory: %w", err)
		}
		var want fs.FileMode
		switch {
		case d.IsDir():
			want = 0o700
		case d.Type().IsRegular():
			want = 0o600
		default:
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("data directory: %w", err)
		}
		if info.Mode().Perm()&^want == 0 {
			return nil
		}
		if err := os.Chmod(p, info.Mode().Perm()&want); err != nil {
			return fmt.Errorf("data directory: make %s private: %w", p, err)
		}
		return nil
	})
}
