package templates

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Mismatch is one golden file that differs from what the run produced.
type Mismatch struct {
	// Path is relative to the template's expected/ folder.
	Path string
	// Diff is a line diff, "-" expected, "+" got; or a sentence for a
	// missing or unexpected file.
	Diff string
}

func (m Mismatch) String() string { return m.Path + ":\n" + m.Diff }

// Compare returns how the outcome differs from the expected files (see
// Catalogue.Expected); nil when it matches.
func (o *Outcome) Compare(expected map[string][]byte) []Mismatch {
	var out []Mismatch
	names := map[string]bool{}
	for k := range expected {
		names[k] = true
	}
	for k := range o.Files {
		names[k] = true
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		want, inWant := expected[k]
		got, inGot := o.Files[k]
		switch {
		case !inWant:
			out = append(out, Mismatch{Path: k, Diff: "the run produced this file but there is no golden one (run with --update to add it)\n" + indent(got)})
		case !inGot:
			out = append(out, Mismatch{Path: k, Diff: "expected, but the run did not produce it"})
		case !bytes.Equal(want, got):
			out = append(out, Mismatch{Path: k, Diff: LineDiff(string(want), string(got))})
		}
	}
	return out
}

func indent(b []byte) string {
	if isBinary(b) {
		return fmt.Sprintf("  (%d bytes of binary data)\n", len(b))
	}
	var sb strings.Builder
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l != "" {
			sb.WriteString("  + " + l)
		}
	}
	if !strings.HasSuffix(sb.String(), "\n") {
		sb.WriteString("\n")
	}
	return sb.String()
}

func isBinary(b []byte) bool { return bytes.IndexByte(b, 0) >= 0 }

// WriteGolden replaces dir (a template's expected/ folder in a source
// tree) with the outcome's files.
func (o *Outcome) WriteGolden(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for name, b := range o.Files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// LineDiff is a minimal line diff of a and b (longest common subsequence),
// with two lines of context around each change.
func LineDiff(a, b string) string {
	al, bl := splitLines(a), splitLines(b)
	n, m := len(al), len(bl)
	// lcs[i][j] = LCS length of al[i:] and bl[j:]; goldens are small.
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if al[i] == bl[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		kind byte
		line string
	}
	var ops []op
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && al[i] == bl[j]:
			ops = append(ops, op{' ', al[i]})
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', al[i]})
			i++
		default:
			ops = append(ops, op{'+', bl[j]})
			j++
		}
	}
	const context = 2
	keep := make([]bool, len(ops))
	for k, o := range ops {
		if o.kind == ' ' {
			continue
		}
		for d := max(0, k-context); d <= min(len(ops)-1, k+context); d++ {
			keep[d] = true
		}
	}
	var sb strings.Builder
	gap := false
	for k, o := range ops {
		if !keep[k] {
			gap = true
			continue
		}
		if gap && sb.Len() > 0 {
			sb.WriteString("  …\n")
		}
		gap = false
		sb.WriteByte(o.kind)
		sb.WriteString(" " + o.line + "\n")
	}
	return sb.String()
}

func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// ExpectedRuns reads run.json from golden files (see Catalogue.Expected).
func (t *Template) ExpectedRuns(expected map[string][]byte) ([]FileRun, error) {
	var runs []FileRun
	b, ok := expected["run.json"]
	if !ok {
		return nil, fmt.Errorf("template %s has no run.json golden", t.Name)
	}
	if err := json.Unmarshal(b, &runs); err != nil {
		return nil, fmt.Errorf("template %s: run.json: %w", t.Name, err)
	}
	return runs, nil
}
