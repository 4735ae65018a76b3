// Package exprcmd implements "connectplus expr", which evaluates a NiFi
// Expression Language property value against attributes given on the
// command line, the way a Connect+ block would.
package exprcmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/connectplus/connectplus/lang/javatime"
	"github.com/connectplus/connectplus/lang/nifiel"
)

type options struct {
	attrs     []string
	attrsJSON string
	showType  bool
	condition bool
	tz        string
	now       string
	params    []string
}

// functionsHelp lists every supported function with NiFi's signature,
// grouped as the NiFi Expression Language Guide groups them.
func functionsHelp() string {
	var b strings.Builder
	b.WriteString("Functions (subject type:function(arguments) result type; [optional]; NiFi 2.x marks\nthe functions NiFi 2 added):\n")
	group := ""
	for _, d := range nifiel.Functions() {
		if d.Group != group {
			group = d.Group
			fmt.Fprintf(&b, "\n  %s\n", group)
		}
		since := ""
		if d.NiFi2 {
			since = "   (NiFi 2.x)"
		}
		fmt.Fprintf(&b, "    %s%s\n", d.Signature(), since)
	}
	return strings.TrimRight(b.String(), "\n")
}

// NewCommand returns the expr command.
func NewCommand() *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "expr 'EXPR'",
		Short: "Evaluate a NiFi Expression Language value",
		Long: `Evaluate EXPR as NiFi evaluates a property value — literal text with embedded ${...}
expressions and $$ escapes — against the given attributes, and print the result as NiFi
renders it: booleans as true/false, whole numbers as integers, decimals as Java prints
doubles (5.0, 1.0E10), dates as "EEE MMM dd HH:mm:ss zzz yyyy", null as an empty line.

Attributes come from --attrs-json (a JSON object; "-" reads standard input) and then
--attr, which wins. A missing attribute is null, as in NiFi.

The command fails, printing the error, when NiFi would reject the expression (a syntax
error, an unknown function, a type that cannot be converted) or fail evaluating it (an
unparseable date, a division by zero, invalid JSON for jsonPath, ...). As in every
Connect+ block, a ${ without its closing } is a syntax error, not literal text.

--condition compiles EXPR the way a filter or relation condition is compiled: exactly one
${...} expression whose result is a Boolean; it prints whether the condition holds.

Quote EXPR in single quotes so the shell leaves ${...} alone.

Parameter references #{name} take their values from --param (in a dataflow: from the
Extension Configuration of that name).

` + functionsHelp(),
		Example: `  connectplus expr '${status:equals("paid"):or(${status:equals("refunded")})}' --attr status=paid
  connectplus expr 'merged_${now():format("yyyy-MM-dd")}.csv'
  connectplus expr '${bill_date:toDate("yyyy-MM-dd HH:mm:ss"):format("yyyyMMdd")}' --attr 'bill_date=2024-03-15 13:45:10'
  connectplus expr '${now():toNumber():minus(31536000000):format("yyyy")}' --tz Asia/Kolkata
  connectplus expr '${amount:toDecimal():multiply(1.18)}' --attr amount=100 --type
  connectplus expr '${customer:jsonPath("$.mobile")}' --attrs-json record.json
  connectplus expr --condition '${header_value:equals("paid")}' --attr header_value=paid`,
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.OutOrStdout(), cmd.InOrStdin(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.attrs, "attr", "a", nil, "attribute as NAME=VALUE (repeatable; the value may contain '=' and ',')")
	f.StringVar(&o.attrsJSON, "attrs-json", "", `file holding a JSON object of attributes ("-" for standard input)`)
	f.BoolVarP(&o.showType, "type", "t", false, "also print the result's type (String, Number, Decimal, Date, Boolean, Instant or Null)")
	f.BoolVar(&o.condition, "condition", false, "compile EXPR as a filter condition (one ${...} yielding a Boolean) and print whether it holds")
	f.StringVar(&o.tz, "tz", "UTC", "time zone for dates when the expression names none (a region such as Europe/Paris, UTC or GMT+05:30)")
	f.StringArrayVarP(&o.params, "param", "p", nil, "parameter for #{NAME} references, as NAME=VALUE (repeatable)")
	f.StringVar(&o.now, "now", "", "fix the time now() returns, as RFC 3339 (2024-03-15T13:45:10Z); default the current time")
	return cmd
}

func run(stdout io.Writer, stdin io.Reader, src string, o *options) error {
	attrs, err := loadAttrs(stdin, o)
	if err != nil {
		return err
	}
	loc, ok := javatime.ResolveZone(o.tz, nil)
	if !ok {
		return fmt.Errorf("unknown time zone %q", o.tz)
	}
	// Blocks compile with RejectUnterminated (package block/exprs): the
	// command shows what a block would do.
	opts := []nifiel.Option{nifiel.WithLocation(loc), nifiel.RejectUnterminated()}
	if o.now != "" {
		t, err := time.Parse(time.RFC3339Nano, o.now)
		if err != nil {
			return fmt.Errorf("--now: %w", err)
		}
		opts = append(opts, nifiel.WithClock(func() time.Time { return t }))
	}
	if h, err := os.Hostname(); err == nil {
		opts = append(opts, nifiel.WithHostname(h))
	}
	if len(o.params) > 0 {
		params := nifiel.ValueParameters{}
		for _, p := range o.params {
			name, value, ok := strings.Cut(p, "=")
			if !ok || name == "" {
				return fmt.Errorf("--param %q: want NAME=VALUE", p)
			}
			params[name] = value
		}
		opts = append(opts, nifiel.WithParameters(params))
	}
	compile := nifiel.Compile
	if o.condition {
		compile = nifiel.CompileCondition
	}
	x, err := compile(src, opts...)
	if err != nil {
		return fmt.Errorf("invalid expression: %w", err)
	}
	v, err := x.Evaluate(attrs)
	if err != nil {
		return fmt.Errorf("evaluation failed: %w", err)
	}
	if _, err := fmt.Fprintln(stdout, v.String()); err != nil {
		return fmt.Errorf("writing result: %w", err)
	}
	if o.showType {
		if _, err := fmt.Fprintf(stdout, "type: %s\n", v.Type()); err != nil {
			return fmt.Errorf("writing result: %w", err)
		}
	}
	return nil
}

func loadAttrs(stdin io.Reader, o *options) (nifiel.MapLookup, error) {
	attrs := nifiel.MapLookup{}
	if o.attrsJSON != "" {
		var data []byte
		var err error
		if o.attrsJSON == "-" {
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(o.attrsJSON)
		}
		if err != nil {
			return nil, fmt.Errorf("reading --attrs-json: %w", err)
		}
		if err := decodeAttrs(data, attrs); err != nil {
			return nil, fmt.Errorf("--attrs-json %s: %w", o.attrsJSON, err)
		}
	}
	for _, kv := range o.attrs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--attr %q: want NAME=VALUE", kv)
		}
		attrs[k] = v
	}
	return attrs, nil
}

// decodeAttrs reads a JSON object. Attributes are strings in NiFi, so other
// values are kept as their JSON text (numbers, booleans, nested JSON) and
// null leaves the attribute missing.
func decodeAttrs(data []byte, attrs nifiel.MapLookup) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("want a JSON object of attributes: %w", err)
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r := raw[k]
		var s string
		switch {
		case string(r) == "null":
			continue
		case len(r) > 0 && r[0] == '"':
			if err := json.Unmarshal(r, &s); err != nil {
				return fmt.Errorf("attribute %q: %w", k, err)
			}
		default:
			s = string(r)
		}
		attrs[k] = s
	}
	if len(raw) == 0 && string(data) != "" && !json.Valid(data) {
		return errors.New("invalid JSON")
	}
	return nil
}
