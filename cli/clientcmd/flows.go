package clientcmd

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/connectplus/connectplus/dataflow"
)

type flow struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Tags          []string `json:"tags"`
	Status        string   `json:"status"`
	Deactivated   bool     `json:"deactivated"`
	LiveVersion   int      `json:"liveVersion"`
	LatestVersion int      `json:"latestVersion"`
}

type version struct {
	Number      int    `json:"number"`
	State       string `json:"state"`
	Document    string `json:"document"`
	Revision    int64  `json:"revision"`
	CreatedBy   string `json:"createdBy"`
	SubmittedBy string `json:"submittedBy"`
	ApprovedBy  string `json:"approvedBy"`
}

type flowPage struct {
	Items []flow `json:"items"`
	Next  string `json:"next"`
}

// findFlow resolves a dataflow id ("flw_…") or exact name.
func findFlow(c *Client, ref string) (flow, error) {
	var f flow
	if strings.HasPrefix(ref, "flw_") {
		_, err := c.Do("GET", "/dataflows/"+pathEscape(ref), nil, &f)
		return f, err
	}
	cursor := ""
	for {
		var p flowPage
		q := url.Values{"name": {ref}, "limit": {"200"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		if _, err := c.Do("GET", "/dataflows?"+q.Encode(), nil, &p); err != nil {
			return f, err
		}
		for _, it := range p.Items {
			if it.Name == ref {
				return it, nil
			}
		}
		if p.Next == "" {
			return f, fmt.Errorf("no dataflow named %q", ref)
		}
		cursor = p.Next
	}
}

func versionsOf(c *Client, f flow) ([]version, error) {
	var vs []version
	_, err := c.Do("GET", "/dataflows/"+f.ID+"/versions", nil, &vs)
	return vs, err
}

// pickVersion returns the version numbered n, or (n == 0) the one in state.
func pickVersion(c *Client, f flow, n int, state string) (int, error) {
	if n > 0 {
		return n, nil
	}
	vs, err := versionsOf(c, f)
	if err != nil {
		return 0, err
	}
	for _, v := range vs {
		if v.State == state {
			return v.Number, nil
		}
	}
	return 0, fmt.Errorf("dataflow %q has no %s version; give --version", f.Name, state)
}

func vpath(f flow, n int, suffix string) string {
	return "/dataflows/" + f.ID + "/versions/" + strconv.Itoa(n) + suffix
}

// NewFlowsCommand returns `connectplus flows`.
func NewFlowsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "flows",
		Short: "Manage dataflows on a Connect+ server (list, get, apply, submit, approve, reject, live, diff, copy, paste)",
		Long: `Manage dataflows on the server you logged in to with ` + "`connectplus login`" + `.

Keep dataflow documents in git and ` + "`apply`" + ` them: apply creates the dataflow, or saves the
document as its Draft. Then submit the Draft, have another admin approve it, and make it live.
A dataflow is named by its id (flw_…) or its exact name.`,
		Example: `  connectplus flows apply -f flows/orders.yaml
  connectplus flows submit "Orders"
  connectplus flows approve "Orders" --version 3 --reason "reviewed"
  connectplus flows live "Orders" --version 3
  connectplus flows diff "Orders" 2 3
  connectplus flows copy "Orders" --description "Move to ANB organization"`,
	}
	cmd.AddCommand(flowsList(), flowsGet(), flowsApply(), flowsSubmit(), flowsDecide("approve"), flowsDecide("reject"), flowsLive(), flowsDiff(),
		flowsCopy(), flowsCopies(), flowsPaste())
	return cmd
}

func flowsList() *cobra.Command {
	var tag, status, name string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List dataflows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := fromCommand()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tLIVE\tLATEST\tTAGS")
			cursor := ""
			for {
				q := url.Values{"tag": {tag}, "status": {status}, "name": {name}, "limit": {"200"}, "cursor": {cursor}}
				var p flowPage
				if _, err := c.Do("GET", "/dataflows?"+q.Encode(), nil, &p); err != nil {
					return err
				}
				for _, f := range p.Items {
					st := f.Status
					if f.Deactivated {
						st = "Deactivated"
					}
					live := "-"
					if f.LiveVersion > 0 {
						live = "v" + strconv.Itoa(f.LiveVersion)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\tv%d\t%s\n", f.ID, f.Name, st, live, f.LatestVersion, strings.Join(f.Tags, ","))
				}
				if p.Next == "" {
					break
				}
				cursor = p.Next
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&tag, "tag", "", "only dataflows with this tag")
	cmd.Flags().StringVar(&status, "status", "", "Active, Paused or Stopped")
	cmd.Flags().StringVar(&name, "name", "", "name contains (case-insensitive)")
	return cmd
}

func flowsGet() *cobra.Command {
	var n int
	var versions bool
	cmd := &cobra.Command{
		Use:   "get FLOW",
		Short: "Print a version's document (default: the Live version, else the latest)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := fromCommand()
			if err != nil {
				return err
			}
			f, err := findFlow(c, args[0])
			if err != nil {
				return err
			}
			if versions {
				vs, err := versionsOf(c, f)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tSTATE\tCREATED BY\tSUBMITTED BY\tAPPROVED BY")
				for _, v := range vs {
					fmt.Fprintf(tw, "v%d\t%s\t%s\t%s\t%s\n", v.Number, v.State, v.CreatedBy, v.SubmittedBy, v.ApprovedBy)
				}
				return tw.Flush()
			}
			if n == 0 {
				n = f.LiveVersion
				if n == 0 {
					n = f.LatestVersion
				}
			}
			var v version
			if _, err := c.Do("GET", vpath(f, n, ""), nil, &v); err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), v.Document)
			return nil
		},
	}
	cmd.Flags().IntVar(&n, "version", 0, "version number")
	cmd.Flags().BoolVar(&versions, "versions", false, "list the versions instead")
	return cmd
}

func formatOf(file, flag string) string {
	if flag != "" {
		return flag
	}
	switch strings.ToLower(filepath.Ext(file)) {
	case ".json":
		return "json"
	case ".yaml", ".yml":
		return "yaml"
	}
	return ""
}

func flowsApply() *cobra.Command {
	var file, name, format string
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Create a dataflow from a document, or save the document as its Draft",
		Long: `Apply a dataflow document (YAML or JSON; --format connectplus for Connect+ block JSON).
The dataflow is found by --name, else by the document's name. A new dataflow starts as v1 Draft;
for an existing one the document replaces the open Draft, or starts the next Draft when none is
open. A version awaiting approval or rejected must be decided or reopened first.`,
		Example: `  connectplus flows apply -f orders.yaml
  connectplus flows apply -f export.json --format connectplus --name "Orders"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return errors.New("-f FILE is required")
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			format = formatOf(file, format)
			if name == "" && format != "connectplus" {
				doc, err := dataflow.Parse(data, filepath.Base(file))
				if doc == nil {
					return err
				}
				name = doc.Name
			}
			if name == "" {
				return errors.New("the document has no name: give --name")
			}
			c, err := fromCommand()
			if err != nil {
				return err
			}
			f, err := findFlow(c, name)
			if err != nil {
				var created struct {
					Dataflow flow    `json:"dataflow"`
					Version  version `json:"version"`
				}
				if _, err := c.Do("POST", "/dataflows", map[string]string{"name": name, "document": string(data), "format": format}, &created); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created %s (%s) v%d %s\n", created.Dataflow.Name, created.Dataflow.ID, created.Version.Number, created.Version.State)
				return nil
			}
			var rev int64
			vs, err := versionsOf(c, f)
			if err != nil {
				return err
			}
			for _, v := range vs {
				if v.State == "Draft" {
					rev = v.Revision
				}
			}
			var saved struct {
				Version version `json:"version"`
			}
			if _, err := c.Do("PUT", "/dataflows/"+f.ID+"/draft", map[string]any{"document": string(data), "format": format, "revision": rev}, &saved); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "saved %s (%s) v%d %s\n", f.Name, f.ID, saved.Version.Number, saved.Version.State)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "dataflow document")
	cmd.Flags().StringVar(&name, "name", "", "dataflow name (default: the document's)")
	cmd.Flags().StringVar(&format, "format", "", "yaml, json or connectplus (default: from the file extension)")
	return cmd
}

func flowsSubmit() *cobra.Command {
	var n int
	cmd := &cobra.Command{
		Use:   "submit FLOW",
		Short: "Send the Draft (or --version) for approval; refused with the problems when it does not validate",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return versionAction(cmd, args[0], n, "Draft", "/submit", nil)
		},
	}
	cmd.Flags().IntVar(&n, "version", 0, "version number (default: the Draft)")
	return cmd
}

func flowsDecide(action string) *cobra.Command {
	var n int
	var text string
	field, short := "reason", "Approve a version awaiting approval (admins; not your own submission)"
	if action == "reject" {
		field, short = "comment", "Reject a version awaiting approval (admins)"
	}
	cmd := &cobra.Command{
		Use:   action + " FLOW",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if text == "" {
				return fmt.Errorf("--%s is required", field)
			}
			return versionAction(cmd, args[0], n, "Awaiting Approval", "/"+action, map[string]string{field: text})
		},
	}
	cmd.Flags().IntVar(&n, "version", 0, "version number (default: the one awaiting approval)")
	cmd.Flags().StringVar(&text, field, "", "why ("+field+" is recorded in the audit log)")
	return cmd
}

func flowsLive() *cobra.Command {
	var n int
	cmd := &cobra.Command{
		Use:   "live FLOW --version N",
		Short: "Make an Approved version Live (an older one rolls back)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if n == 0 {
				return errors.New("--version is required")
			}
			return versionAction(cmd, args[0], n, "", "/live", nil)
		},
	}
	cmd.Flags().IntVar(&n, "version", 0, "version number")
	return cmd
}

func versionAction(cmd *cobra.Command, ref string, n int, state, suffix string, body any) error {
	c, err := fromCommand()
	if err != nil {
		return err
	}
	f, err := findFlow(c, ref)
	if err != nil {
		return err
	}
	if n, err = pickVersion(c, f, n, state); err != nil {
		return err
	}
	var v version
	if _, err := c.Do("POST", vpath(f, n, suffix), body, &v); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s v%d: %s\n", f.Name, v.Number, v.State)
	return nil
}

func flowsDiff() *cobra.Command {
	return &cobra.Command{
		Use:   "diff FLOW FROM TO",
		Short: "Show what changed between two versions",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			from, err1 := strconv.Atoi(args[1])
			to, err2 := strconv.Atoi(args[2])
			if err1 != nil || err2 != nil {
				return errors.New("FROM and TO are version numbers")
			}
			c, err := fromCommand()
			if err != nil {
				return err
			}
			f, err := findFlow(c, args[0])
			if err != nil {
				return err
			}
			var d struct {
				Text string `json:"text"`
			}
			if _, err := c.Do("GET", fmt.Sprintf("/dataflows/%s/diff?from=%d&to=%d", f.ID, from, to), nil, &d); err != nil {
				return err
			}
			if d.Text == "" {
				d.Text = "no changes\n"
			}
			fmt.Fprint(cmd.OutOrStdout(), d.Text)
			if !strings.HasSuffix(d.Text, "\n") {
				fmt.Fprintln(cmd.OutOrStdout())
			}
			return nil
		},
	}
}
