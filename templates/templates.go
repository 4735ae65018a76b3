// Package templates is the catalogue of Connect+ dataflow templates (spec
// §3): one folder per template, embedded in the binary, each holding the
// template (a dataflow document with parameters), its sample input files and
// the expected outcome of running it on them against the API sandbox (the
// golden result files, the entities the sandbox holds afterwards and the
// files written by file destinations). The catalogue is whatever folders
// exist: there is no second list.
//
// Load and Instantiate are pure (they read the embedded files only); Run
// executes a template on its sample, which is why the package sits in the
// use-case layer beside preview.
package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// files holds every template folder. A folder is a template when it holds
// template.yaml; the pattern takes whole folders so a new template needs no
// edit here.
//
//go:embed */*
var files embed.FS

// FS returns the embedded catalogue (one folder per template).
func FS() fs.FS { return files }

// Categories of spec §3.0, in the order the UI shows them.
const (
	CategoryIngestion  = "Data Ingestion"
	CategoryTransfer   = "File Transfer & Transformation"
	CategoryManagement = "Data Management"
	CategoryAudience   = "Audience & Campaigns"
)

// Categories lists the categories in display order.
func Categories() []string {
	return []string{CategoryIngestion, CategoryTransfer, CategoryManagement, CategoryAudience}
}

// Parameter types.
const (
	ParamString  = "string"
	ParamText    = "text"
	ParamInteger = "integer"
	ParamBoolean = "boolean"
	ParamEnum    = "enum"
)

// Parameter is one value a user supplies when creating a dataflow from the
// template. In the flow a config value {$param: name} is replaced by it. A
// secret parameter's value is the name of an Extension Configuration: the
// flow gets {$config: value}, never the secret itself.
type Parameter struct {
	Name        string   `json:"name" yaml:"name"`
	Label       string   `json:"label" yaml:"label"`
	Description string   `json:"description,omitempty" yaml:"description,omitempty"`
	Type        string   `json:"type" yaml:"type"`
	Default     string   `json:"default,omitempty" yaml:"default,omitempty"`
	Required    bool     `json:"required,omitempty" yaml:"required,omitempty"`
	Secret      bool     `json:"secret,omitempty" yaml:"secret,omitempty"`
	Options     []string `json:"options,omitempty" yaml:"options,omitempty"`
}

// SandboxSetup is what the sandbox needs before the sample runs.
type SandboxSetup struct {
	// StrictCustomers makes the sandbox reject calls for customers it does
	// not hold (8015), as the real API does.
	StrictCustomers bool `json:"strictCustomers,omitempty" yaml:"strictCustomers,omitempty"`
	// Seed are API calls made before the run (e.g. registering the
	// customers a transaction file refers to).
	Seed []SeedCall `json:"seed,omitempty" yaml:"seed,omitempty"`
}

// SampleRun changes how the sample run (Run, connectplus templates test)
// differs from the defaults: parameter values (e.g. decryption on for an
// encrypted sample) and Extension Configuration values (test keys, never
// real ones; "file:NAME" reads NAME from the template's sample/ folder).
type SampleRun struct {
	Parameters map[string]string `json:"parameters,omitempty" yaml:"parameters,omitempty"`
	Configs    map[string]string `json:"configs,omitempty" yaml:"configs,omitempty"`
}

// SeedCall is one API request sent to the sandbox before a run.
type SeedCall struct {
	Method string `json:"method" yaml:"method"`
	Path   string `json:"path" yaml:"path"`
	// Body is JSON text.
	Body string `json:"body" yaml:"body"`
}

// Template is one catalogue entry.
type Template struct {
	// Name is the folder name; it is also the dataflow name by default.
	Name        string `json:"name"`
	Label       string `json:"label"`
	Category    string `json:"category"`
	Description string `json:"description"`
	// Destination is the API (method and path) or the kind of file
	// destination the template delivers to.
	Destination string `json:"destination"`
	// Spec is the spec section the template follows, e.g. "3.2.2".
	Spec       string       `json:"spec,omitempty"`
	Parameters []Parameter  `json:"parameters"`
	Sandbox    SandboxSetup `json:"sandbox"`
	// SampleRun is how the sample run sets the template up.
	SampleRun SampleRun `json:"sampleRun"`
	// Blocks are the block types of the flow, in document order.
	Blocks []string `json:"blocks"`
	// Samples are the sample input file names (in sample/), processed in
	// this order.
	Samples []string `json:"samples"`

	flow *yaml.Node
	root string
}

// templateFile is the YAML shape of template.yaml.
type templateFile struct {
	Label       string       `yaml:"label"`
	Category    string       `yaml:"category"`
	Description string       `yaml:"description"`
	Destination string       `yaml:"destination"`
	Spec        string       `yaml:"spec"`
	Parameters  []Parameter  `yaml:"parameters"`
	Sandbox     SandboxSetup `yaml:"sandbox"`
	SampleRun   SampleRun    `yaml:"sampleRun"`
	Samples     []string     `yaml:"samples"`
	Flow        yaml.Node    `yaml:"flow"`
}

// Catalogue is the loaded set of templates.
type Catalogue struct {
	byName map[string]*Template
	names  []string
	fsys   fs.FS
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_]*$`)

// Load reads the embedded catalogue. It fails on the first folder that is
// not a well-formed template: a broken template must not ship.
func Load() (*Catalogue, error) { return LoadFS(files) }

// LoadFS reads a catalogue from fsys (one folder per template).
func LoadFS(fsys fs.FS) (*Catalogue, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	c := &Catalogue{byName: map[string]*Template{}, fsys: fsys}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t, err := loadOne(fsys, e.Name())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.byName[t.Name] = t
		c.names = append(c.names, t.Name)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Strings(c.names)
	return c, nil
}

func loadOne(fsys fs.FS, dir string) (*Template, error) {
	if !nameRE.MatchString(dir) {
		return nil, fmt.Errorf("templates/%s: a template folder name is lower case letters, digits and _", dir)
	}
	raw, err := fs.ReadFile(fsys, path.Join(dir, "template.yaml"))
	if err != nil {
		return nil, fmt.Errorf("templates/%s: %w", dir, err)
	}
	var tf templateFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&tf); err != nil {
		return nil, fmt.Errorf("templates/%s/template.yaml: %w", dir, err)
	}
	t := &Template{
		Name: dir, Label: tf.Label, Category: tf.Category, Description: strings.TrimSpace(tf.Description),
		Destination: tf.Destination, Spec: tf.Spec, Parameters: tf.Parameters, Sandbox: tf.Sandbox,
		SampleRun: tf.SampleRun, Samples: tf.Samples, flow: &tf.Flow, root: dir,
	}
	if t.Parameters == nil {
		t.Parameters = []Parameter{}
	}
	if err := t.check(fsys); err != nil {
		return nil, fmt.Errorf("templates/%s: %w", dir, err)
	}
	return t, nil
}

// check verifies the metadata; Instantiate with the defaults (see the
// tests) verifies the flow against the block registry.
func (t *Template) check(fsys fs.FS) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if t.Label == "" || t.Description == "" || t.Destination == "" {
		bad("label, description and destination are required")
	}
	ok := false
	for _, c := range Categories() {
		ok = ok || c == t.Category
	}
	if !ok {
		bad("category %q is not one of %s", t.Category, strings.Join(Categories(), "; "))
	}
	seen := map[string]bool{}
	for i, p := range t.Parameters {
		switch {
		case p.Name == "" || p.Label == "":
			bad("parameters[%d]: name and label are required", i)
		case seen[p.Name]:
			bad("parameters[%d]: %q is declared twice", i, p.Name)
		}
		seen[p.Name] = true
		switch p.Type {
		case ParamString, ParamText, ParamInteger, ParamBoolean:
		case ParamEnum:
			if len(p.Options) == 0 {
				bad("parameter %s: an enum needs options", p.Name)
			}
		default:
			bad("parameter %s: type %q is not string, text, integer, boolean or enum", p.Name, p.Type)
		}
		if p.Secret && p.Type != ParamString {
			bad("parameter %s: a secret parameter names an Extension Configuration, so its type is string", p.Name)
		}
		if p.Default != "" {
			if err := p.check(p.Default); err != nil {
				bad("parameter %s: default: %v", p.Name, err)
			}
		}
	}
	if t.flow == nil || t.flow.Kind != yaml.MappingNode {
		bad("flow: a dataflow document (mapping) is required")
	} else {
		used := map[string]bool{}
		walkParams(t.flow, func(name string) { used[name] = true })
		for n := range used {
			if !seen[n] {
				bad("flow uses {$param: %s}, which is not declared", n)
			}
		}
		for n := range seen {
			if !used[n] {
				bad("parameter %s is declared but the flow never uses it", n)
			}
		}
		t.Blocks = blockTypes(t.flow)
	}
	if len(t.Samples) == 0 {
		bad("samples: at least one sample file is required")
	}
	for _, s := range t.Samples {
		if _, err := fs.Stat(fsys, path.Join(t.root, "sample", s)); err != nil {
			bad("sample %s: %v", s, err)
		}
	}
	if _, err := t.Values(t.SampleRun.Parameters); err != nil {
		bad("sampleRun.parameters: %v", err)
	}
	for name, v := range t.SampleRun.Configs {
		if f, ok := strings.CutPrefix(v, "file:"); ok {
			if _, err := fs.Stat(fsys, path.Join(t.root, "sample", f)); err != nil {
				bad("sampleRun.configs.%s: %v", name, err)
			}
		}
	}
	return errors.Join(errs...)
}

// blockTypes lists flow.blocks[*].type.
func blockTypes(flow *yaml.Node) []string {
	out := []string{}
	blocks := mapValue(flow, "blocks")
	if blocks == nil || blocks.Kind != yaml.SequenceNode {
		return out
	}
	for _, b := range blocks.Content {
		if t := mapValue(b, "type"); t != nil {
			out = append(out, t.Value)
		}
	}
	return out
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// Names lists the templates, sorted.
func (c *Catalogue) Names() []string { return append([]string(nil), c.names...) }

// All returns the templates sorted by name.
func (c *Catalogue) All() []*Template {
	out := make([]*Template, 0, len(c.names))
	for _, n := range c.names {
		out = append(out, c.byName[n])
	}
	return out
}

// Get returns the named template.
func (c *Catalogue) Get(name string) (*Template, bool) {
	t, ok := c.byName[name]
	return t, ok
}

// Sample returns the bytes of one sample file of t.
func (c *Catalogue) Sample(t *Template, name string) ([]byte, error) {
	return fs.ReadFile(c.fsys, path.Join(t.root, "sample", name))
}

// Expected returns the golden files of t: path relative to expected/ →
// content. A template never run with --update has none.
func (c *Catalogue) Expected(t *Template) (map[string][]byte, error) {
	out := map[string][]byte{}
	root := path.Join(t.root, "expected")
	err := fs.WalkDir(c.fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return fs.SkipDir
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := fs.ReadFile(c.fsys, p)
		if err != nil {
			return err
		}
		out[strings.TrimPrefix(p, root+"/")] = b
		return nil
	})
	return out, err
}
