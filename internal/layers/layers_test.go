package layers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/connectplus/connectplus"

// layerOrder is THE layer order, top first; docs/ARCHITECTURE.md draws the
// same table and TestArchitectureDocMatches keeps the two equal. A package
// may import packages of its own layer or of any layer below it, never one
// above. Each entry is a package path relative to the module, or a prefix
// ending in "/..." for a family of packages.
var layerOrder = []struct {
	name     string
	packages []string
}{
	{"entry points", []string{"cmd/...", "bench/cmd/...", "bench/peers/...", "e2e"}},
	{"commands", []string{"cli", "cli/..."}},
	{"http", []string{"server", "webui"}},
	{"use cases and runtime", []string{"control", "scheduler", "cluster", "preview", "templates", "assist/...", "obs", "alerts"}},
	{"persistence", []string{"store", "sharedstore"}},
	{"executor", []string{"engine"}},
	{"block implementations", []string{"blocks/..."}},
	{"contract and document", []string{"block", "block/...", "dataflow"}},
	{"foundations", []string{"format/...", "lang/...", "jsonv", "examples", "quartz", "secrets", "secrets/...", "runstate", "runstate/...", "sandbox", "bench/gen", "fsroot", "docs"}},
}

// testOnly may be imported only from _test.go files.
var testOnly = []string{"internal/testenv", "blocks/filecore/filecoretest", "assist/assisttest"}

// pure packages do no I/O: they are languages and document models that the
// UI, validation and the engine share.
var pure = []string{"lang/...", "jsonv", "dataflow", "quartz"}

// ioImports are what a pure package must not import.
var ioImports = []string{"os", "os/exec", "net", "net/http", "io/fs", "syscall"}

type pkg struct {
	ImportPath   string
	Doc          string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		p.ImportPath = strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func matches(pattern, p string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/..."); ok {
		return strings.HasPrefix(p, prefix+"/")
	}
	return p == pattern
}

func matchesAny(patterns []string, p string) bool {
	for _, pat := range patterns {
		if matches(pat, p) {
			return true
		}
	}
	return false
}

// layerOf returns the index of p's layer, or -1.
func layerOf(p string) int {
	for i, l := range layerOrder {
		if matchesAny(l.packages, p) {
			return i
		}
	}
	return -1
}

// local returns the module-relative path of an import of this module.
func local(imp string) (string, bool) {
	if imp == module {
		return "", true
	}
	rel, ok := strings.CutPrefix(imp, module+"/")
	return rel, ok
}

func TestImportDirection(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.ImportPath == "internal/layers" {
			continue
		}
		if matchesAny(testOnly, p.ImportPath) {
			continue // test helpers may use any layer they start servers for
		}
		from := layerOf(p.ImportPath)
		if from < 0 {
			t.Errorf("%s belongs to no layer: add it to layerOrder here and to docs/ARCHITECTURE.md", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			rel, ok := local(imp)
			if !ok {
				continue
			}
			if matchesAny(testOnly, rel) {
				t.Errorf("%s imports the test-only %s outside its tests", p.ImportPath, rel)
				continue
			}
			to := layerOf(rel)
			if to >= 0 && to < from {
				t.Errorf("%s (%s) imports %s (%s), a higher layer", p.ImportPath, layerOrder[from].name, rel, layerOrder[to].name)
			}
		}
	}
}

// A block family never imports another block family (only the shared
// filecore), so any block can be removed or replaced on its own.
func TestBlockFamiliesIndependent(t *testing.T) {
	family := func(p string) string {
		parts := strings.Split(p, "/")
		if len(parts) < 2 || parts[0] != "blocks" {
			return ""
		}
		return parts[1]
	}
	for _, p := range listPackages(t) {
		f := family(p.ImportPath)
		if f == "" || f == "all" || f == "filecore" {
			continue
		}
		for _, imp := range p.Imports {
			rel, _ := local(imp)
			if g := family(rel); g != "" && g != f && g != "filecore" {
				t.Errorf("%s imports another block family: %s", p.ImportPath, rel)
			}
		}
	}
}

func TestPurePackagesDoNoIO(t *testing.T) {
	for _, p := range listPackages(t) {
		if !matchesAny(pure, p.ImportPath) {
			continue
		}
		for _, imp := range p.Imports {
			for _, bad := range ioImports {
				if imp == bad {
					t.Errorf("%s is pure (no I/O) but imports %s", p.ImportPath, imp)
				}
			}
		}
	}
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("%s has no package doc comment (say in one line what it holds and who may import it)", p.ImportPath)
		}
	}
}

// TestArchitectureDocMatches keeps the layer table in docs/ARCHITECTURE.md
// equal to layerOrder: the doc lists each layer as a line
// "N. name: pkg, pkg, ..." between the markers below.
func TestArchitectureDocMatches(t *testing.T) {
	b, err := os.ReadFile("../../docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	const begin, end = "<!-- layers:begin -->", "<!-- layers:end -->"
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("docs/ARCHITECTURE.md lacks the %s … %s layer table", begin, end)
	}
	var want []string
	for n, l := range layerOrder {
		want = append(want, fmt.Sprintf("%d. %s: %s", n+1, l.name, strings.Join(l.packages, ", ")))
	}
	var got []string
	for _, line := range strings.Split(doc[i+len(begin):j], "\n") {
		line = strings.TrimSpace(line)
		if line != "" && line != "```" {
			got = append(got, line)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("docs/ARCHITECTURE.md layer table differs from layerOrder.\ngot:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
