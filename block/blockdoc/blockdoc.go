// Package blockdoc renders a block's documentation from its spec: the text
// `connectplus blocks TYPE` prints and the web UI's block help
// (GET /api/v1/blocks/{type} "docs"), so both read the same words.
package blockdoc

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/connectplus/connectplus/block"
)

// Write writes the documentation of s to w.
func Write(w io.Writer, s *block.Spec) {
	fmt.Fprintf(w, "%s — %s\n", s.Type, s.Label)
	fmt.Fprintf(w, "  class: %s   category: %s   input: %s   output: %s\n", s.Class, s.Category, s.Input, s.Output)
	if s.Deprecated {
		fmt.Fprintln(w, "  deprecated: will be removed in a future release")
	}
	if len(s.LegacyTypes) > 0 {
		fmt.Fprintf(w, "  legacy types: %s\n", strings.Join(s.LegacyTypes, ", "))
	}
	if s.Description != "" {
		fmt.Fprintf(w, "\n%s\n", s.Description)
	}
	rels := append([]string{block.RelSuccess, block.RelFailure}, s.Relations...)
	fmt.Fprintf(w, "\nRelations: %s (or a NiFi EL condition)\n\nFields:\n", strings.Join(rels, ", "))
	fields := append([]block.Field(nil), s.Fields...)
	sort.SliceStable(fields, func(i, j int) bool { return !fields[i].Advanced && fields[j].Advanced })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  KEY\tTYPE\tREQUIRED\tDEFAULT\tNOTES")
	for _, f := range fields {
		var notes []string
		if f.Advanced {
			notes = append(notes, "advanced")
		}
		if f.Secret {
			notes = append(notes, "secret")
		}
		if f.FromConfigs {
			notes = append(notes, "from Extension Configurations")
		}
		switch f.Language() {
		case block.LangNiFi:
			notes = append(notes, "NiFi EL")
		case block.LangNiFiCondition:
			notes = append(notes, "NiFi EL condition (Boolean)")
		case block.LangNiFiJSON:
			notes = append(notes, "NiFi EL in JSON values")
		case block.LangJSLT:
			notes = append(notes, "JSLT")
		case block.LangJOLT:
			notes = append(notes, "JOLT")
		case block.LangJavaScript:
			notes = append(notes, "JavaScript")
		}
		if len(f.Enum) > 0 {
			notes = append(notes, "one of "+strings.Join(f.Enum, "|"))
		}
		req := ""
		if f.Required {
			req = "yes"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", f.Key, f.Type, req, f.Default, strings.Join(notes, "; "))
	}
	_ = tw.Flush()
	for _, f := range fields {
		if f.Description != "" {
			fmt.Fprintf(w, "\n  %s (%s): %s", f.Key, f.Label, f.Description)
		}
	}
	fmt.Fprintln(w)
}

// Text returns the documentation of s.
func Text(s *block.Spec) string {
	var b strings.Builder
	Write(&b, s)
	return b.String()
}
