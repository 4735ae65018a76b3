// Package templatecmd is the "connectplus templates" and "connectplus new"
// commands: list and show the template catalogue (package templates),
// create a dataflow document from a template, and run every template on its
// sample against the API sandbox, comparing with the golden outcome.
package templatecmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/templates"
)

// Deps are what the commands need from the binary.
type Deps struct {
	Registry func() *block.Registry
	Validate dataflow.ValidateOptions
}

// Commands returns "templates" (with show and test) and "new".
func Commands(d Deps) []*cobra.Command {
	return []*cobra.Command{templatesCmd(d), newCmd(d)}
}

func load() (*templates.Catalogue, error) {
	c, err := templates.Load()
	if err != nil {
		return nil, fmt.Errorf("template catalogue: %w", err)
	}
	return c, nil
}

func templatesCmd(d Deps) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "templates",
		Short: "List the dataflow templates (show one, test them all on their samples)",
		Long: `Templates are ready-made dataflows (spec §3): Data Ingestion, File Transfer & Transformation,
Data Management, Audience & Campaigns. Each has parameters, a sample input and the outcome it
must produce on it against the API sandbox.

  connectplus templates                          the catalogue
  connectplus templates show NAME                parameters, blocks, sample, flow
  connectplus new my_flow --template NAME --set sourceDirectory=/in -o my_flow.yaml
  connectplus templates test [NAME...]           run on the samples, compare with the goldens`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := load()
			if err != nil {
				return err
			}
			return list(cmd.OutOrStdout(), c, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the catalogue as JSON")
	cmd.AddCommand(showCmd(), testCmd(d))
	return cmd
}

func list(w io.Writer, c *templates.Catalogue, asJSON bool) error {
	if asJSON {
		return writeJSON(w, c.All())
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCATEGORY\tDESTINATION\tBLOCKS")
	for _, cat := range templates.Categories() {
		for _, t := range c.All() {
			if t.Category == cat {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Category, t.Destination, strings.Join(t.Blocks, " → "))
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d templates; connectplus templates show NAME for one\n", len(c.Names()))
	return nil
}

func showCmd() *cobra.Command {
	var asJSON, flowOnly bool
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a template: parameters, blocks, samples and its flow",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := load()
			if err != nil {
				return err
			}
			t, err := get(c, args[0])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			src, err := t.Source()
			if err != nil {
				return err
			}
			if flowOnly {
				_, err := w.Write(src)
				return err
			}
			if asJSON {
				return writeJSON(w, struct {
					*templates.Template
					Flow string `json:"flow"`
				}{t, string(src)})
			}
			return show(w, c, t, src)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the template as JSON")
	cmd.Flags().BoolVar(&flowOnly, "flow", false, "print only the flow, with its {$param: ...} placeholders")
	return cmd
}

func get(c *templates.Catalogue, name string) (*templates.Template, error) {
	t, ok := c.Get(name)
	if !ok {
		return nil, fmt.Errorf("no template %q (connectplus templates lists them)", name)
	}
	return t, nil
}

func show(w io.Writer, c *templates.Catalogue, t *templates.Template, src []byte) error {
	fmt.Fprintf(w, "%s — %s\n", t.Name, t.Label)
	fmt.Fprintf(w, "  category: %s   destination: %s", t.Category, t.Destination)
	if t.Spec != "" {
		fmt.Fprintf(w, "   spec §%s", t.Spec)
	}
	fmt.Fprintf(w, "\n  blocks: %s\n\n%s\n\nParameters (--set name=value):\n", strings.Join(t.Blocks, " → "), t.Description)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tTYPE\tREQUIRED\tDEFAULT\tLABEL")
	for _, p := range t.Parameters {
		typ := p.Type
		if p.Secret {
			typ = "secret (Extension Configuration name)"
		}
		if p.Type == templates.ParamEnum {
			typ = "one of " + strings.Join(p.Options, " | ")
		}
		req := ""
		if p.Required {
			req = "yes"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", p.Name, typ, req, p.Default, p.Label)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range t.Parameters {
		if p.Description != "" {
			fmt.Fprintf(w, "  %s: %s\n", p.Name, p.Description)
		}
	}
	fmt.Fprintf(w, "\nSample files: %s\n", strings.Join(t.Samples, ", "))
	if t.Sandbox.StrictCustomers || len(t.Sandbox.Seed) > 0 {
		fmt.Fprintf(w, "Sandbox: strict customers %v, %d seed call(s)\n", t.Sandbox.StrictCustomers, len(t.Sandbox.Seed))
	}
	if len(t.Samples) > 0 {
		if b, err := c.Sample(t, t.Samples[0]); err == nil && !strings.ContainsRune(string(b), 0) {
			lines := strings.SplitAfterN(string(b), "\n", 4)
			if len(lines) > 3 {
				lines = lines[:3]
			}
			fmt.Fprintf(w, "First lines of %s:\n", t.Samples[0])
			for _, l := range lines {
				fmt.Fprint(w, "  "+strings.TrimRight(l, "\r\n")+"\n")
			}
		}
	}
	fmt.Fprintf(w, "\nFlow:\n")
	for _, l := range strings.SplitAfter(strings.TrimRight(string(src), "\n"), "\n") {
		fmt.Fprint(w, "  "+l)
	}
	fmt.Fprintf(w, "\n\nCreate a dataflow: connectplus new my_flow --template %s [--set name=value ...] -o my_flow.yaml\n", t.Name)
	return nil
}

func newCmd(d Deps) *cobra.Command {
	var (
		tmpl  string
		sets  []string
		out   string
		force bool
	)
	cmd := &cobra.Command{
		Use:   "new NAME --template TEMPLATE",
		Short: "Create a dataflow document from a template",
		Long: `New writes the dataflow document of a template with the given parameter values (defaults for the
rest), named NAME, and validates it. Secret parameters take the name of an Extension
Configuration, never the secret: the document references it as {"$config": "name"}.`,
		Example: `  connectplus new tx_eu --template transaction_v2_add --set sourceDirectory=/eu/in -o tx_eu.yaml
  connectplus new tx_eu --template transaction_v2_add -o - | less`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tmpl == "" {
				return errors.New("--template is required (connectplus templates lists them)")
			}
			vals, err := parseSets(sets)
			if err != nil {
				return err
			}
			c, err := load()
			if err != nil {
				return err
			}
			t, err := get(c, tmpl)
			if err != nil {
				return err
			}
			doc, err := t.Instantiate(args[0], vals)
			if err != nil {
				return err
			}
			if probs := dataflow.ValidateWith(doc, d.Registry(), d.Validate); len(probs) > 0 {
				var b strings.Builder
				fmt.Fprintf(&b, "the dataflow from %s has %d problem(s):", t.Name, len(probs))
				for _, p := range probs {
					b.WriteString("\n  " + p.Error())
				}
				return errors.New(b.String())
			}
			data, err := dataflow.Marshal(doc, "yaml")
			if err != nil {
				return err
			}
			if out == "" {
				out = args[0] + ".yaml"
			}
			if out == "-" {
				_, err := cmd.OutOrStdout().Write(data)
				return err
			}
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			f, err := os.OpenFile(out, flags, 0o644)
			if err != nil {
				if errors.Is(err, os.ErrExist) {
					return fmt.Errorf("%s exists (use --force to replace it)", out)
				}
				return err
			}
			if _, err := f.Write(data); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s from template %s; try it: connectplus run %s --sandbox --input <file>\n", out, t.Name, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&tmpl, "template", "t", "", "template name")
	f.StringArrayVar(&sets, "set", nil, "parameter value, name=value (repeatable)")
	f.StringVarP(&out, "output", "o", "", "file to write (default NAME.yaml; - for stdout)")
	f.BoolVar(&force, "force", false, "replace the output file if it exists")
	return cmd
}

func parseSets(sets []string) (map[string]string, error) {
	vals := map[string]string{}
	for _, kv := range sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--set %q: want name=value", kv)
		}
		vals[k] = v
	}
	return vals, nil
}

func testCmd(d Deps) *cobra.Command {
	var update string
	cmd := &cobra.Command{
		Use:   "test [NAME...]",
		Short: "Run templates on their samples against the API sandbox and compare with the goldens",
		Long: `Test runs each template (all by default) with its default parameters on its sample files:
sources read the samples, API destinations call an in-process Capillary API sandbox, file
destinations (SFTP, FTP, S3) are captured, Extension Configurations are placeholders, and the
clock is fixed. The result files (lineage ids normalised), the entities the sandbox holds
afterwards, what file destinations received and each file's status must equal the template's
golden files (templates/<name>/expected/). Exit status 0 only when every template matches; a
diff is printed for each mismatch.

--update DIR rewrites the goldens in DIR (the templates/ folder of a source tree) instead.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := load()
			if err != nil {
				return err
			}
			names := args
			if len(names) == 0 {
				names = c.Names()
			}
			w := cmd.OutOrStdout()
			failed := 0
			for _, n := range names {
				t, err := get(c, n)
				if err != nil {
					return err
				}
				ok, err := testOne(cmd.Context(), w, c, t, d.Registry(), update)
				if err != nil {
					fmt.Fprintf(w, "FAIL %s: %v\n", n, err)
				}
				if !ok || err != nil {
					failed++
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d template(s) do not match their goldens", failed, len(names))
			}
			fmt.Fprintf(w, "%d template(s) match their goldens\n", len(names))
			return nil
		},
	}
	cmd.Flags().StringVar(&update, "update", "", "rewrite the goldens in this templates/ folder of a source tree instead of comparing")
	return cmd
}

func testOne(ctx context.Context, w io.Writer, c *templates.Catalogue, t *templates.Template, reg *block.Registry, update string) (bool, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	tmp, err := os.MkdirTemp("", "connectplus-template-*")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	out, err := c.Run(ctx, t, templates.RunOptions{Registry: reg, TempRoot: tmp})
	if err != nil {
		return false, err
	}
	if update != "" {
		dir := filepath.Join(update, t.Name, "expected")
		if err := out.WriteGolden(dir); err != nil {
			return false, err
		}
		fmt.Fprintf(w, "updated %s (%d files)\n", dir, len(out.Files))
		return true, nil
	}
	want, err := c.Expected(t)
	if err != nil {
		return false, err
	}
	ms := out.Compare(want)
	if len(ms) == 0 {
		fmt.Fprintf(w, "ok   %s (%d golden files)\n", t.Name, len(want))
		return true, nil
	}
	fmt.Fprintf(w, "FAIL %s\n", t.Name)
	for _, m := range ms {
		fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(strings.TrimRight(m.String(), "\n"), "\n", "\n    "))
	}
	return false, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
