// Package aicmd is `connectplus ai`: the dataflow assistant from the
// command line. It talks to a running server (the credentials of
// `connectplus login`, or $CONNECTPLUS_SERVER and $CONNECTPLUS_TOKEN), whose
// organisation has a model configured; the server runs the model against
// the MCP tools and returns a validated proposal, which is saved as a Draft
// only when the user accepts it.
package aicmd

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/connectplus/connectplus/assist/agent"
	"github.com/connectplus/connectplus/cli/clientcmd"
)

// turnTimeout is how long the CLI waits for one assistant turn: the
// server bounds a turn by agent.DefaultTurnTimeout.
const turnTimeout = agent.DefaultTurnTimeout + 30*time.Second

// NewCommand returns `connectplus ai`.
func NewCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ai",
		Short: "The dataflow assistant: draft, change or explain dataflows by prompt",
		Long: `The dataflow assistant (the open aiRA Coder). The server's organisation must have a model
configured by an admin: the Extension Configurations assistant_base_url (an OpenAI-compatible
endpoint), assistant_model and, as a secret, assistant_api_key. ` + "`connectplus ai status`" + ` says
whether it has one.

Every proposal is validated by the product's validator; the model repairs refused proposals a
bounded number of times. Nothing is saved until you accept, and accepting saves a Draft —
submitting it for approval is a separate step (` + "`connectplus flows submit`" + `).`,
	}
	cmd.AddCommand(draftCommand(), explainCommand(), askCommand(), statusCommand())
	return cmd
}

func client() (*clientcmd.Client, error) {
	creds, err := clientcmd.LoadCredentials()
	if err != nil {
		return nil, err
	}
	c := clientcmd.NewClient(creds.Server, creds.Token)
	c.HTTP.Timeout = turnTimeout
	return c, nil
}

// flowID finds a dataflow by id or exact name.
func flowID(c *clientcmd.Client, ref string) (string, error) {
	var page struct {
		Items []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"items"`
	}
	if _, err := c.Do("GET", "/dataflows?limit=200&name="+url.QueryEscape(ref), nil, &page); err != nil {
		return "", err
	}
	for _, f := range page.Items {
		if f.Name == ref || f.ID == ref {
			return f.ID, nil
		}
	}
	if strings.HasPrefix(ref, "flw_") {
		return ref, nil
	}
	return "", fmt.Errorf("no dataflow %q", ref)
}

func draftCommand() *cobra.Command {
	var flow, output string
	var accept bool
	cmd := &cobra.Command{
		Use:   `draft "PROMPT"`,
		Short: "Create a dataflow, or change a Draft, from a prompt",
		Long: `Ask the assistant for a dataflow (or, with --flow, a change to that dataflow's Draft). It
prints the explanation and the diff of the validated proposal, then asks whether to save it
as a Draft (--accept saves without asking; --output writes the proposed document).`,
		Example: `  connectplus ai draft "Read a CSV from SFTP, convert it to JSON and call the v2 customer bulk API"
  connectplus ai draft --flow AddCustomerV2 "update the group size from 10 to 20"
  connectplus ai draft --flow AddCustomerV2 "add a filter so only INSTORE passes" --accept`,
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			req := agent.Request{Prompt: args[0], Mode: agent.ModeDraft}
			if flow != "" {
				if req.FlowID, err = flowID(c, flow); err != nil {
					return err
				}
			}
			var res agent.Response
			if _, err := c.Do("POST", "/assistant", req, &res); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintln(out, strings.TrimSpace(res.Reply))
			if res.Proposal == nil {
				return errors.New("the assistant made no proposal")
			}
			fmt.Fprintf(out, "\nProposal (%s %q, validated", res.Proposal.Kind, res.Proposal.Name)
			if res.Repairs > 0 {
				fmt.Fprintf(out, " after %d repair round(s)", res.Repairs)
			}
			fmt.Fprintln(out, "):")
			fmt.Fprintln(out, strings.TrimRight(res.Diff, "\n"))
			for _, w := range res.Proposal.Warnings {
				fmt.Fprintf(out, "warning: %s: %s\n", w.Path, w.Message)
			}
			if output != "" {
				if err := os.WriteFile(output, []byte(res.Proposal.Document), 0o644); err != nil {
					return fmt.Errorf("--output: %w", err)
				}
				fmt.Fprintf(out, "Wrote the proposed document to %s.\n", output)
			}
			if !accept {
				fmt.Fprint(out, "\nSave it as a Draft? [y/N] ")
				line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
					fmt.Fprintln(out, "Not saved.")
					return nil
				}
			}
			var acc agent.AcceptResult
			if _, err := c.Do("POST", "/assistant/accept", res.Proposal, &acc); err != nil {
				return err
			}
			fmt.Fprintf(out, "Saved %q version %d as a Draft (%s). Submit it for approval with: connectplus flows submit %s\n", acc.Name, acc.Version, acc.FlowID, acc.FlowID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&flow, "flow", "", "change this dataflow's Draft (name or id) instead of creating one")
	f.BoolVar(&accept, "accept", false, "save the proposal as a Draft without asking")
	f.StringVarP(&output, "output", "o", "", "also write the proposed document (YAML) to this file")
	return cmd
}

func explainCommand() *cobra.Command {
	var overall bool
	cmd := &cobra.Command{
		Use:          "explain FLOW [QUESTION]",
		Short:        "Explain a dataflow block by block (or --overall), or answer a question about it",
		Args:         cobra.RangeArgs(1, 2),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			id, err := flowID(c, args[0])
			if err != nil {
				return err
			}
			prompt := "Explain this dataflow block by block."
			if overall {
				prompt = "Explain this dataflow overall, in a short paragraph."
			}
			if len(args) == 2 {
				prompt = args[1]
			}
			var res agent.Response
			if _, err := c.Do("POST", "/assistant", agent.Request{Prompt: prompt, FlowID: id, Mode: agent.ModeExplain}, &res); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), strings.TrimSpace(res.Reply))
			return nil
		},
	}
	cmd.Flags().BoolVar(&overall, "overall", false, "one overall explanation instead of block by block")
	return cmd
}

func askCommand() *cobra.Command {
	return &cobra.Command{
		Use:   `ask "QUESTION"`,
		Short: "Answer a product question from the bundled documentation (the model searches it with search_docs)",
		Long: `Ask a question about Connect+. The model searches the documentation built into the server
(docs/, block docs, template docs) with the search_docs tool and answers from the passages, citing
their paths; nothing is proposed or saved.`,
		Example:      `  connectplus ai ask "how does maker-checker approval work?"`,
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var res agent.Response
			if _, err := c.Do("POST", "/assistant", agent.Request{Prompt: args[0], Mode: agent.ModeAsk}, &res); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), strings.TrimSpace(res.Reply))
			return nil
		},
	}
}

func statusCommand() *cobra.Command {
	return &cobra.Command{
		Use:          "status",
		Short:        "Say whether the organisation has a model configured",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var st agent.Status
			if _, err := c.Do("GET", "/assistant", nil, &st); err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), st)
		},
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
