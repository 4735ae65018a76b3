package clientcmd

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// Copy/paste between organisations (spec §9.1): copy into your personal
// dataflow store, list its last 10, paste into the organisation you are
// logged in to (log in with --org, or set CONNECTPLUS_TOKEN to a token of
// the target organisation).

type copyEntry struct {
	ID             string    `json:"id"`
	SourceOrgName  string    `json:"sourceOrgName"`
	SourceFlowName string    `json:"sourceFlowName"`
	SourceVersion  int       `json:"sourceVersion"`
	Description    string    `json:"description"`
	CreatedAt      time.Time `json:"createdAt"`
	Removed        []string  `json:"removed"`
}

func flowsCopy() *cobra.Command {
	var n int
	var desc string
	cmd := &cobra.Command{
		Use:   "copy FLOW --description TEXT",
		Short: "Copy a version (default: the Draft, else the latest) into your personal dataflow store, to paste it into another organisation",
		Long: `Copy a saved version of a dataflow into your personal dataflow store. The trigger (schedule), the
tags and any secret value are not copied; the source is unchanged. The store keeps your last 10
copies; paste one with ` + "`connectplus flows paste`" + ` while logged in to the target organisation.`,
		Example: `  connectplus flows copy AddCutomerV2 --version 4 --description "Move to ANB organization"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(desc) == "" {
				return errors.New("--description is required: say what the copy is for")
			}
			c, err := fromCommand()
			if err != nil {
				return err
			}
			f, err := findFlow(c, args[0])
			if err != nil {
				return err
			}
			if n == 0 {
				if n, err = pickVersion(c, f, 0, "Draft"); err != nil {
					n = f.LatestVersion
				}
			}
			var e copyEntry
			if _, err := c.Do("POST", vpath(f, n, "/copy"), map[string]string{"description": desc}, &e); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Copied %s v%d from %s as %s.\n", e.SourceFlowName, e.SourceVersion, e.SourceOrgName, e.ID)
			for _, r := range e.Removed {
				fmt.Fprintf(out, "  not copied: %s\n", r)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&n, "version", 0, "version number (default: the Draft, else the latest)")
	cmd.Flags().StringVar(&desc, "description", "", "what the copy is for (required)")
	return cmd
}

func flowsCopies() *cobra.Command {
	return &cobra.Command{
		Use:   "copies",
		Short: "List your personal dataflow store: your last 10 copies, from any organisation",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := fromCommand()
			if err != nil {
				return err
			}
			var list []copyEntry
			if _, err := c.Do("GET", "/clipboard", nil, &list); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "COPY\tDATAFLOW\tVERSION\tFROM\tCOPIED\tDESCRIPTION")
			for _, e := range list {
				fmt.Fprintf(tw, "%s\t%s\tv%d\t%s\t%s\t%s\n", e.ID, e.SourceFlowName, e.SourceVersion, e.SourceOrgName, e.CreatedAt.Local().Format("2006-01-02 15:04"), e.Description)
			}
			return tw.Flush()
		},
	}
}

func flowsPaste() *cobra.Command {
	var name, desc string
	cmd := &cobra.Command{
		Use:   "paste COPY",
		Short: "Paste a copy into the organisation you are logged in to, as a new dataflow (version 1, Draft)",
		Long: `Paste a copy of your personal dataflow store (` + "`connectplus flows copies`" + ` lists them) into the
organisation of your credentials as a new dataflow whose version 1 is a Draft (editors). It is validated
there: Extension Configurations the copy references must exist in this organisation before the Draft
can be submitted; the problems are printed.`,
		Example: `  connectplus login --server https://cp.example.com --username alice --org ANB
  connectplus flows paste cpy_3f2a… --name AddCustomerV2`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := fromCommand()
			if err != nil {
				return err
			}
			var res struct {
				Dataflow flow `json:"dataflow"`
				Version  struct {
					Number int    `json:"number"`
					State  string `json:"state"`
				} `json:"version"`
				Valid    bool `json:"valid"`
				Problems []struct {
					Path    string `json:"path"`
					Message string `json:"message"`
				} `json:"problems"`
			}
			body := map[string]string{}
			if name != "" {
				body["name"] = name
			}
			if desc != "" {
				body["description"] = desc
			}
			if _, err := c.Do("POST", "/clipboard/"+pathEscape(args[0])+"/paste", body, &res); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Pasted as %s (%s) v%d: %s\n", res.Dataflow.Name, res.Dataflow.ID, res.Version.Number, res.Version.State)
			if !res.Valid {
				fmt.Fprintln(out, "Fix these before submitting:")
				for _, p := range res.Problems {
					fmt.Fprintf(out, "  %s: %s\n", p.Path, p.Message)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "name of the new dataflow (default: the copied dataflow's)")
	cmd.Flags().StringVar(&desc, "description", "", "description of the new dataflow (default: the copy's)")
	return cmd
}
