package clientcmd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

type membership struct {
	OrgID   string `json:"orgId"`
	OrgName string `json:"orgName"`
	Role    string `json:"role"`
}

// NewLoginCommand returns `connectplus login`.
func NewLoginCommand() *cobra.Command {
	var server, user, token, org, scope, name string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in to a Connect+ server and store an API token",
		Long: `Log in to a Connect+ server. With a username, the password is read from stdin
(--password-stdin, or a prompt) and exchanged for an API token scoped to your role; with
--token an existing token is stored as is. The server URL and token are saved in
~/.config/connectplus/credentials.json (mode 0600). ` + EnvServer + ` and ` + EnvToken + ` override it.`,
		Example: `  connectplus login --server https://connectplus.example.com --username alice
  echo "$PASSWORD" | connectplus login --server http://127.0.0.1:8080 --username ci --password-stdin
  connectplus login --server http://127.0.0.1:8080 --token cpt_…`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if server == "" {
				return errors.New("--server is required")
			}
			c := NewClient(server, "")
			creds := Credentials{Server: c.Base, Org: org}
			if token != "" {
				c.Token = token
				var me struct {
					Username string `json:"username"`
					OrgID    string `json:"orgId"`
				}
				if _, err := c.Do("GET", "/auth/me", nil, &me); err != nil {
					return fmt.Errorf("check token: %w", err)
				}
				creds.Token, creds.User, creds.Org = token, me.Username, me.OrgID
			} else {
				if user == "" {
					return errors.New("give --username (with the password on stdin) or --token")
				}
				if !passwordStdin {
					fmt.Fprint(cmd.ErrOrStderr(), "Password: ")
				}
				pw, err := readLine(cmd.InOrStdin())
				if err != nil {
					return fmt.Errorf("read password: %w", err)
				}
				var lr struct {
					CSRFToken string       `json:"csrfToken"`
					Orgs      []membership `json:"orgs"`
				}
				if _, err := c.Do("POST", "/auth/login", map[string]string{"username": user, "password": pw, "org": org}, &lr); err != nil {
					return err
				}
				c.CSRF = lr.CSRFToken
				var hdr []string
				role := ""
				for _, m := range lr.Orgs {
					if org == "" || m.OrgID == org || m.OrgName == org {
						role, creds.Org = m.Role, m.OrgID
						hdr = []string{"X-Connectplus-Org", m.OrgID}
						break
					}
				}
				if scope == "" {
					scope = map[string]string{"admin": "admin", "editor": "write"}[role]
					if scope == "" {
						scope = "read"
					}
				}
				if name == "" {
					host, _ := os.Hostname()
					name = "cli " + user + "@" + host
				}
				var tc struct {
					Token string `json:"token"`
				}
				if _, err := c.Do("POST", "/tokens", map[string]string{"name": name, "scope": scope}, &tc, hdr...); err != nil {
					return fmt.Errorf("create token: %w", err)
				}
				_, _ = c.Do("POST", "/auth/logout", nil, nil)
				creds.Token, creds.User = tc.Token, user
			}
			p, err := SaveCredentials(creds)
			if err != nil {
				return fmt.Errorf("save credentials: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Logged in to %s as %s; credentials saved to %s\n", creds.Server, creds.User, p)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", os.Getenv(EnvServer), "server URL, e.g. http://127.0.0.1:8080")
	f.StringVar(&user, "username", "", "username for password login")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin without prompting")
	f.StringVar(&token, "token", "", "store an existing API token instead of logging in with a password")
	f.StringVar(&org, "org", "", "organisation id or name (default: your first)")
	f.StringVar(&scope, "scope", "", "token scope: read, write or admin (default: your role's)")
	f.StringVar(&name, "token-name", "", "name of the created token (default: cli USER@HOST)")
	return cmd
}

func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
