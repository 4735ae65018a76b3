// Package okfile implements ok_file_3 (spec §2.4.12): a data file is
// released only once its companion trigger file (<name>.ok) exists, so a
// file still being uploaded is never processed.
//
// An executor cannot see the source directory, so the gate is split in two:
//
//  1. The file source decides. Sources that support companions call
//     Eligible on each listing, hand out only data files whose companion
//     is present, never hand out the companions themselves, set
//     AttrCompanionPresent="true" and AttrCompanionName on the unit, and
//     move the companion together with its data file in Finish (after the
//     last data file it releases).
//  2. ok_file_3 checks the unit: "true" passes; "false" fails the file with
//     "waiting for companion NAME.ok"; a missing attribute (a source without
//     companion support) passes through unless requireOkFile is set, as the
//     spec asks for optional gating.
package okfile

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/connectplus/connectplus/block"
)

// Attributes a companion-aware source sets on a data file's unit.
const (
	// AttrCompanionPresent is "true" when the companion existed at listing
	// time, "false" when the source checked and found none.
	AttrCompanionPresent = "ok.companion.present"
	// AttrCompanionName is the companion's file name.
	AttrCompanionName = "ok.companion.name"
)

// DefaultSuffix is the conventional trigger-file extension.
const DefaultSuffix = ".ok"

// Spec is ok_file_3.
var Spec = &block.Spec{
	Type: "ok_file_3", Label: "OK File", Class: block.ClassExecutor, Category: "Transformation", Deprecated: true,
	Description: "File acceptance marker: passes a file on only when its companion trigger file (data.csv.ok or data.ok) is present next to it. " +
		"The source checks for the companion when it lists files and moves it together with the data file; this block passes files the source released and fails files the source found without companion. " +
		"With a source that does not check companions, files pass through unless requireOkFile is true.",
	LegacyTypes: []string{"ok_file"},
	Input:       block.KindFile, Output: block.KindFile,
	Fields: []block.Field{
		{Key: "okFileExtension", Label: "OK File Extension", Type: block.TypeString, Default: DefaultSuffix, Advanced: true,
			Description: "Extension of the companion trigger file."},
		{Key: "requireOkFile", Label: "Require OK File", Type: block.TypeBool, Default: "false", Advanced: true,
			Description: "Fail files whose source did not confirm a companion (instead of passing them through)."},
	},
	New: newGate,
}

// Register adds ok_file_3 to r.
func Register(r *block.Registry) { r.MustRegister(Spec) }

type gate struct {
	suffix  string
	require bool
}

func newGate(c *block.Config, _ *block.Env) (block.Block, error) {
	s := strings.TrimSpace(c.String("okFileExtension"))
	if s == "" {
		s = DefaultSuffix
	}
	if strings.ContainsAny(s, "/\\") {
		return nil, fmt.Errorf("okFileExtension %q must not contain a path separator", s)
	}
	return &gate{suffix: s, require: c.Bool("requireOkFile")}, nil
}

func (g *gate) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	switch u.Attrs[AttrCompanionPresent] {
	case "true":
		return out.Emit(ctx, block.RelSuccess, u)
	case "false":
		return fmt.Errorf("waiting for companion %s", g.companion(u))
	}
	if g.require {
		return fmt.Errorf("waiting for companion %s: the source did not confirm it (it does not check companion files)", g.companion(u))
	}
	return out.Emit(ctx, block.RelSuccess, u)
}

// companion names the trigger file the unit waits for.
func (g *gate) companion(u *block.Unit) string {
	if n := u.Attrs[AttrCompanionName]; n != "" {
		return n
	}
	// The source's own name: blocks such as decrypt rename the unit.
	name := path.Base(u.Attrs[block.AttrAbsPath])
	if name == "." || name == "/" || name == "" {
		name = u.Attrs[block.AttrFilename]
	}
	return name + g.suffix
}

// Candidates returns the companion names that release data file name:
// name+suffix (data.csv.ok) and, when name has an extension, the name with
// its extension replaced (data.ok).
func Candidates(name, suffix string) []string {
	out := []string{name + suffix}
	if ext := path.Ext(name); ext != "" && len(ext) < len(name) {
		out = append(out, strings.TrimSuffix(name, ext)+suffix)
	}
	return out
}

// Eligible splits a directory listing (base names) for a companion-aware
// source. data maps each data file whose companion is present to that
// companion's name: the files to hand out. ok maps each companion in use
// to the data files it releases, so the source moves it after the last
// one. Companions themselves are never data, and a data file without
// companion is in neither map (it waits). Suffix matching ignores case
// (DATA.CSV.OK releases DATA.CSV); the first candidate wins when both a
// data.csv.ok and a data.ok exist.
func Eligible(names []string, suffix string) (data map[string]string, ok map[string][]string) {
	if suffix == "" {
		suffix = DefaultSuffix
	}
	ls := strings.ToLower(suffix)
	companions := map[string]string{} // lower-case name -> actual name
	for _, n := range names {
		if strings.HasSuffix(strings.ToLower(n), ls) && len(n) > len(suffix) {
			companions[strings.ToLower(n)] = n
		}
	}
	data = map[string]string{}
	ok = map[string][]string{}
	for _, n := range names {
		if _, isCompanion := companions[strings.ToLower(n)]; isCompanion {
			continue
		}
		for _, c := range Candidates(n, suffix) {
			if actual, found := companions[strings.ToLower(c)]; found {
				data[n] = actual
				ok[actual] = append(ok[actual], n)
				break
			}
		}
	}
	return data, ok
}
