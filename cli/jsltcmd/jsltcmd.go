// Package jsltcmd implements `connectplus jslt`, which runs a JSLT query
// against a JSON document from the command line: the quickest way to try
// out the transformation of a jslt_transform block.
package jsltcmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/connectplus/connectplus/jsonv"
	"github.com/connectplus/connectplus/lang/jslt"
)

const long = `Run a JSLT query against a JSON document and print the result as JSON.

QUERY_OR_@FILE is the query text, or @ followed by the name of a file that
holds it. The input document is read from INPUT.json, or from standard input
when no file is given (an empty input is null).

Query parameters ($name in the query) are set with --param name=value (the
value is a string) or --param-json name=JSON (any JSON value). Modules
imported by a query file (import "lib.jslt" as lib) are read relative to the
directory of that file, or to --modules.

Numbers are printed as JSLT prints them: integers as integers, decimals with
a fraction or exponent (2.0, 1.5E10). A query that does not compile, or that
fails while running, exits with a non-zero status and the error, with its
line and column, on standard error.`

const example = `  # pick a field
  echo '{"name": "Ann", "age": 41}' | connectplus jslt '.name'

  # the bulk customer payload of a jslt_transform block, from a file
  connectplus jslt @customers.jslt batch.json --pretty

  # query parameters
  connectplus jslt '{"source": $source, "limit": $limit, * : .}' in.json \
      --param source=INSTORE --param-json limit=100`

type options struct {
	pretty    bool
	params    []string
	jsonParam []string
	modules   string
}

// NewCommand returns the `jslt` command.
func NewCommand() *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:          "jslt QUERY_OR_@FILE [INPUT.json]",
		Short:        "Run a JSLT query against a JSON document",
		Long:         long,
		Example:      example,
		Args:         cobra.RangeArgs(1, 2),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.pretty, "pretty", false, "indent the output")
	f.StringArrayVar(&o.params, "param", nil, "set query parameter `name=value` (a string); repeatable")
	f.StringArrayVar(&o.jsonParam, "param-json", nil, "set query parameter `name=JSON` (any JSON value); repeatable")
	f.StringVar(&o.modules, "modules", "", "directory imported modules are read from (default: the query file's directory, else the current one)")
	return cmd
}

func run(cmd *cobra.Command, o options, args []string) error {
	query, queryFile := args[0], ""
	if name, ok := strings.CutPrefix(query, "@"); ok {
		data, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("reading query: %w", err)
		}
		query, queryFile = string(data), name
	}
	params, err := parseParams(o)
	if err != nil {
		return err
	}

	dir := o.modules
	if dir == "" && queryFile != "" {
		dir = filepath.Dir(queryFile)
	}
	resolver := func(name string) (string, error) {
		path := name
		if !filepath.IsAbs(path) && dir != "" {
			path = filepath.Join(dir, name)
		}
		data, err := os.ReadFile(path)
		return string(data), err
	}
	expr, err := jslt.Compile(query, jslt.WithModuleResolver(resolver))
	if err != nil {
		return withFile(queryFile, err)
	}

	var data []byte
	if len(args) == 2 {
		data, err = os.ReadFile(args[1])
	} else {
		data, err = io.ReadAll(cmd.InOrStdin())
	}
	if err != nil {
		return fmt.Errorf("reading input: %w", err)
	}
	var input any
	if strings.TrimSpace(string(data)) != "" {
		if input, err = jsonv.Parse(data); err != nil {
			return fmt.Errorf("parsing input: %w", err)
		}
	}

	result, err := expr.Apply(input, params)
	if err != nil {
		return withFile(queryFile, err)
	}
	var out []byte
	if o.pretty {
		out = jslt.AppendJSONIndent(nil, result)
	} else {
		out = jslt.AppendJSON(nil, result)
	}
	_, err = cmd.OutOrStdout().Write(append(out, '\n'))
	return err
}

func parseParams(o options) (map[string]any, error) {
	params := map[string]any{}
	for _, p := range o.params {
		name, value, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--param %q: want name=value", p)
		}
		params[name] = value
	}
	for _, p := range o.jsonParam {
		name, value, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--param-json %q: want name=JSON", p)
		}
		v, err := jsonv.ParseString(value)
		if err != nil {
			return nil, fmt.Errorf("--param-json %s: %w", name, err)
		}
		params[name] = v
	}
	return params, nil
}

// withFile prefixes errors in a query file with the file's name, so the
// line and column can be found.
func withFile(file string, err error) error {
	var je *jslt.Error
	if file != "" && errors.As(err, &je) {
		return fmt.Errorf("%s: %w", file, err)
	}
	return err
}
