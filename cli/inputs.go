package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/filecore"
	"github.com/connectplus/connectplus/sandbox"
)

// withInputs returns a registry in which every source block processes the
// given local files instead of listing its own location. Inputs are left in
// place; result files go to resultDir (default: next to each input). The
// source's own settings that shape the content (File Delimiter, Report
// Status Code) still apply.
func withInputs(reg *block.Registry, inputs []string, resultDir string) *block.Registry {
	out := block.NewRegistry()
	for _, s := range reg.Specs() {
		if s.Class != block.ClassSource {
			_ = out.Register(s)
			continue
		}
		wrapped := *s
		wrapped.New = func(c *block.Config, env *block.Env) (block.Block, error) {
			src := &inputSource{files: inputs, resultDir: resultDir, cfg: c}
			// The source's Unzip Files applies to --input archives too, with
			// the same zip-bomb limits.
			if _, ok := s.Field(filecore.KeyUnzipFiles); ok && c.Bool(filecore.KeyUnzipFiles) {
				lim, err := filecore.ZipLimitsFrom(c, env)
				if err != nil {
					return nil, err
				}
				src.unzip, src.zip = true, lim
			}
			return src, nil
		}
		_ = out.Register(&wrapped)
	}
	return out
}

type inputSource struct {
	files     []string
	resultDir string
	cfg       *block.Config
	unzip     bool
	zip       filecore.ZipLimits
}

// memberSep separates an archive from a member in item keys, as in
// package filecore.
const memberSep = "!/"

func (s *inputSource) List(context.Context) ([]block.Item, error) {
	items := make([]block.Item, 0, len(s.files))
	for _, f := range s.files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		st, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("--input: %w", err)
		}
		if st.IsDir() {
			return nil, fmt.Errorf("--input %s is a directory", f)
		}
		if s.unzip && filecore.IsZipName(abs) {
			members, err := filecore.ListLocalZip(abs, s.zip)
			if err != nil {
				return nil, fmt.Errorf("--input: %w", err)
			}
			for _, m := range members {
				// Named by the member's path: a/cust.csv and b/cust.csv are
				// two inputs with two result files.
				items = append(items, block.Item{Key: abs + memberSep + m.Name, Name: m.Name, Dir: filepath.Dir(abs), Size: m.Size, ModTime: st.ModTime()})
			}
			continue
		}
		items = append(items, block.Item{Key: abs, Name: filepath.Base(abs), Dir: filepath.Dir(abs), Size: st.Size(), ModTime: st.ModTime()})
	}
	return items, nil
}

func (s *inputSource) Open(_ context.Context, it block.Item) (*block.Unit, error) {
	if archive, member, ok := strings.Cut(it.Key, memberSep); ok && s.unzip {
		base := path.Base(member)
		f := block.NewFile(base, it.Size, func(context.Context) (io.ReadCloser, error) {
			return filecore.OpenLocalZipMember(archive, member)
		})
		f.ModTime = it.ModTime
		attrs := s.attrs(base, it.Dir, archive, it.Size)
		attrs[filecore.AttrArchive] = filepath.Base(archive)
		attrs[filecore.AttrArchiveMember] = member
		return &block.Unit{Attrs: attrs, File: f}, nil
	}
	f, err := block.LocalFile(it.Name, it.Key)
	if err != nil {
		return nil, err
	}
	return &block.Unit{Attrs: s.attrs(it.Name, it.Dir, it.Key, it.Size), File: f}, nil
}

func (s *inputSource) attrs(name, dir, abs string, size int64) block.Attributes {
	attrs := block.Attributes{
		block.AttrFilename: name, block.AttrPath: dir, block.AttrAbsPath: abs,
		block.AttrFileSize: strconv.FormatInt(size, 10),
	}
	if d := s.cfg.String("File Delimiter"); d != "" {
		attrs["file.delimiter"] = d
	}
	if r := s.cfg.String("Report Status Code"); r != "" {
		attrs["report.status.code"] = r
	}
	return attrs
}

func (s *inputSource) Finish(_ context.Context, it block.Item, c *block.Completion) error {
	if !c.HasResult {
		return nil
	}
	dir := s.resultDir
	if dir == "" {
		dir = it.Dir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rc, err := c.Result()
	if err != nil {
		return err
	}
	defer rc.Close()
	if lr, ok := rc.(block.LocalResult); ok && lr.LocalPath() != "" {
		// The result file exists already (the engine's spool): a second
		// name for it costs nothing, a copy a write of every byte.
		if name, err := linkNew(lr.LocalPath(), dir, c.ResultName); err == nil {
			if name != c.ResultName {
				c.WrittenAs = name
			}
			return nil
		}
	}
	tmp, err := os.CreateTemp(dir, ".result-*")
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, rc); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	name, err := placeNew(tmp.Name(), dir, c.ResultName)
	if err != nil {
		return fmt.Errorf("result file: %w", err)
	}
	if name != c.ResultName {
		c.WrittenAs = name
	}
	return nil
}

// placeNew gives the file tmp (in dir) the name want, or its first variant
// (block.ResultNameVariant) that no file has yet: two runs of the same input
// in the same second must not overwrite each other's result file. A hard
// link claims a name atomically; where links are not supported the name is
// checked first.
func placeNew(tmp, dir, want string) (string, error) {
	defer os.Remove(tmp)
	return claimName(dir, want, func(target string) error {
		err := os.Link(tmp, target)
		if err == nil || errors.Is(err, os.ErrExist) {
			return err
		}
		if _, serr := os.Lstat(target); serr == nil {
			return os.ErrExist
		}
		// No hard links here (some network file systems): checked, so rename.
		return os.Rename(tmp, target)
	})
}

// linkNew gives the file src the name want in dir, or its first variant
// that no file has yet, as a hard link; src keeps its name. It fails when
// no link can be made there (another file system, no hard links), and the
// caller copies instead.
func linkNew(src, dir, want string) (string, error) {
	return claimName(dir, want, func(target string) error { return os.Link(src, target) })
}

// claimName tries want and then its variants in dir with claim, which
// returns an error wrapping os.ErrExist when a name is taken; it returns the
// name claimed, or claim's first other error.
func claimName(dir, want string, claim func(target string) error) (string, error) {
	for n := 1; n <= 1000; n++ {
		name := want
		if n > 1 {
			name = block.ResultNameVariant(want, n)
		}
		err := claim(filepath.Join(dir, name))
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("%s and its first 1000 variants exist in %s", want, dir)
}

// sandboxCredentials are what `run --sandbox` gives both the sandbox and the
// API destinations, so examples run from a fresh clone without real keys.
const sandboxCredentials = "sandbox"

// startSandbox starts the in-process Capillary API sandbox on a loopback port.
func startSandbox() (string, func(), error) {
	_, ts := sandbox.NewTestServer(sandbox.Config{ClientKey: sandboxCredentials, ClientSecret: sandboxCredentials})
	return ts.URL, ts.Close, nil
}
