package clientcmd

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// NewConfigsCommand returns `connectplus configs`.
func NewConfigsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "configs",
		Short: "Manage Extension Configurations (set requests, list, sync)",
		Long: `Extension Configurations are organisation-wide name → value entries that dataflows
reference ({"$config": "name"}). Secret values are encrypted at rest and never shown again.
Setting a value files a request that an admin other than you approves; after rotating a
credential, sync makes Live dataflows pick up the new value on their next file.`,
	}
	cmd.AddCommand(configsSet(), configsList(), configsSync())
	return cmd
}

func configsSet() *cobra.Command {
	var secret, fromStdin bool
	cmd := &cobra.Command{
		Use:   "set NAME [VALUE]",
		Short: "Request adding or changing an entry (an admin approves it)",
		Long: `Request a new value for an entry. Pass secrets with --value-stdin so they stay out of
your shell history and process list.`,
		Example: `  connectplus configs set sftp_host sftp.example.com
  printf '%s' "$SFTP_PASSWORD" | connectplus configs set sftp_password --secret --value-stdin`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var value string
			switch {
			case fromStdin && len(args) == 1:
				v, err := readLine(cmd.InOrStdin())
				if err != nil {
					return fmt.Errorf("read value: %w", err)
				}
				value = v
			case !fromStdin && len(args) == 2:
				value = args[1]
			default:
				return errors.New("give VALUE or --value-stdin (one of them)")
			}
			c, err := fromCommand()
			if err != nil {
				return err
			}
			var req struct {
				ID     string `json:"id"`
				Kind   string `json:"kind"`
				Status string `json:"status"`
			}
			if _, err := c.Do("POST", "/config-requests", map[string]any{"name": args[0], "value": value, "isSecret": secret}, &req); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "requested %s of %s (request %s, %s): an admin must approve it\n", req.Kind, args[0], req.ID, req.Status)
			return nil
		},
	}
	cmd.Flags().BoolVar(&secret, "secret", false, "store encrypted and never show it again")
	cmd.Flags().BoolVar(&fromStdin, "value-stdin", false, "read the value from stdin")
	return cmd
}

func configsList() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List entries (secret values shown as ****)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := fromCommand()
			if err != nil {
				return err
			}
			var cs []struct {
				Name     string `json:"name"`
				Value    string `json:"value"`
				IsSecret bool   `json:"isSecret"`
				Revision int64  `json:"revision"`
			}
			if _, err := c.Do("GET", "/configs", nil, &cs); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVALUE\tSECRET\tREVISION")
			for _, e := range cs {
				fmt.Fprintf(tw, "%s\t%s\t%v\t%d\n", e.Name, e.Value, e.IsSecret, e.Revision)
			}
			return tw.Flush()
		},
	}
}

func configsSync() *cobra.Command {
	var name, flowRef string
	cmd := &cobra.Command{
		Use:   "sync (--name ENTRY | --flow FLOW)",
		Short: "Make Live dataflows re-resolve their Extension Configurations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (name == "") == (flowRef == "") {
				return errors.New("give exactly one of --name or --flow")
			}
			c, err := fromCommand()
			if err != nil {
				return err
			}
			var res struct {
				Flows []struct {
					Name           string `json:"name"`
					ConfigRevision int64  `json:"configRevision"`
				} `json:"flows"`
			}
			path := "/configs/" + pathEscape(name) + "/sync"
			if flowRef != "" {
				f, err := findFlow(c, flowRef)
				if err != nil {
					return err
				}
				path = "/dataflows/" + f.ID + "/sync"
			}
			if _, err := c.Do("POST", path, nil, &res); err != nil {
				return err
			}
			for _, f := range res.Flows {
				fmt.Fprintf(cmd.OutOrStdout(), "synced %s (config revision %d)\n", f.Name, f.ConfigRevision)
			}
			if len(res.Flows) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no Live dataflow uses it")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "sync every Live dataflow that references this entry")
	cmd.Flags().StringVar(&flowRef, "flow", "", "sync one dataflow (id or name)")
	return cmd
}
