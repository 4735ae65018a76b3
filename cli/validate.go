package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/connectplus/connectplus/block/blockdoc"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/quartz"
)

// loadDoc reads, parses and validates a dataflow document, returning every
// problem at once.
func (a *app) loadDoc(path string) (*dataflow.Document, []dataflow.Problem, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	doc, err := dataflow.Parse(data, path)
	if err != nil {
		return nil, nil, err
	}
	probs := dataflow.ValidateWith(doc, a.registry, dataflow.ValidateOptions{CronCheck: quartz.Check})
	return doc, probs, nil
}

func (a *app) validateCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate FLOW.yaml...",
		Short: "Check dataflow documents and report every problem with its location",
		Long: `Validate parses each dataflow document (YAML or JSON) and checks it against the block
catalogue: unknown types and fields, missing required fields, wrong types, bad enum values,
invalid regular expressions, dangling relations, cycles, and blocks wired file-to-records
without a converter. It compiles every NiFi expression, filter and relation condition and
JSLT query with the compile step run uses, so what validates also runs. Every problem is
reported at once, with its path (blocks[2].config.fileRegex), its block, for YAML the
line:column of the field, and for an expression the line:column inside it.

Exit status is 0 when every document is valid, 1 otherwise.`,
		Example: "  connectplus validate examples/*.yaml\n  connectplus validate --json flow.yaml",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bad := 0
			type report struct {
				File     string             `json:"file"`
				Valid    bool               `json:"valid"`
				Problems []dataflow.Problem `json:"problems,omitempty"`
				Error    string             `json:"error,omitempty"`
			}
			var reports []report
			for _, p := range args {
				_, probs, err := a.loadDoc(p)
				r := report{File: p, Valid: err == nil && len(probs) == 0, Problems: probs}
				if err != nil {
					r.Error = err.Error()
				}
				if !r.Valid {
					bad++
				}
				reports = append(reports, r)
				if asJSON {
					continue
				}
				switch {
				case err != nil:
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %v\n", p, err)
				case len(probs) == 0:
					fmt.Fprintf(cmd.OutOrStdout(), "%s: valid\n", p)
				default:
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %d problem(s)\n", p, len(probs))
					for _, pr := range probs {
						fmt.Fprintf(cmd.OutOrStdout(), "  %s\n", pr.Error())
					}
				}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(reports); err != nil {
					return err
				}
			}
			if bad > 0 {
				return &exitError{code: ExitError}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the findings as JSON")
	return cmd
}

func (a *app) blocksCmd() *cobra.Command {
	var schema, asJSON bool
	cmd := &cobra.Command{
		Use:   "blocks [TYPE]",
		Short: "List block types, show one block's fields, or print the dataflow JSON Schema",
		Long: `Without arguments, blocks lists every block type with its class and category.
With a TYPE, it documents the block: what it accepts and emits, and every config field
with its type, default, whether it is required, advanced, secret, takes NiFi expressions
or comes from Extension Configurations.

--schema prints the JSON Schema of dataflow documents, generated from the same block specs.`,
		Example: "  connectplus blocks\n  connectplus blocks sftp_read\n  connectplus blocks --schema > dataflow.schema.json",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			if schema {
				b, err := dataflow.Schema(a.registry)
				if err != nil {
					return err
				}
				_, err = w.Write(append(b, '\n'))
				return err
			}
			if len(args) == 0 {
				specs := a.registry.Specs()
				if asJSON {
					return writeJSON(w, specs)
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "TYPE\tLABEL\tCLASS\tCATEGORY\tIN → OUT")
				for _, s := range specs {
					label := s.Label
					if s.Deprecated {
						label += " (deprecated)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s → %s\n", s.Type, label, s.Class, s.Category, s.Input, s.Output)
				}
				return tw.Flush()
			}
			s, ok := a.registry.Lookup(args[0])
			if !ok {
				msg := fmt.Sprintf("unknown block type %q", args[0])
				if sug := a.registry.Suggest(args[0]); sug != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", sug)
				}
				return &exitError{code: ExitError, err: fmt.Errorf("%s", msg)}
			}
			if asJSON {
				return writeJSON(w, s)
			}
			blockdoc.Write(w, s)
			return nil
		},
	}
	cmd.Flags().BoolVar(&schema, "schema", false, "print the JSON Schema for dataflow documents")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print specs as JSON")
	return cmd
}

func writeJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
