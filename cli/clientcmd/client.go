// Package clientcmd holds the commands that talk to a running Connect+
// server — login, flows, configs — so teams can keep dataflows in git and
// drive the approval workflow from scripts and CI.
package clientcmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Environment overrides of the stored credentials.
const (
	EnvServer = "CONNECTPLUS_SERVER"
	EnvToken  = "CONNECTPLUS_TOKEN"
)

// Credentials are what `connectplus login` stores.
type Credentials struct {
	Server string `json:"server"`
	Token  string `json:"token"`
	User   string `json:"user,omitempty"`
	Org    string `json:"org,omitempty"`
}

// CredentialsPath is $XDG_CONFIG_HOME/connectplus/credentials.json, else
// ~/.config/connectplus/credentials.json.
func CredentialsPath() (string, error) {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "connectplus", "credentials.json"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find home directory: %w", err)
	}
	return filepath.Join(home, ".config", "connectplus", "credentials.json"), nil
}

// SaveCredentials writes the file with mode 0600 (directory 0700).
func SaveCredentials(c Credentials) (string, error) {
	p, err := CredentialsPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return "", err
	}
	return p, os.Rename(tmp, p)
}

// LoadCredentials reads the stored credentials; the environment overrides.
func LoadCredentials() (Credentials, error) {
	var c Credentials
	p, err := CredentialsPath()
	if err != nil {
		return c, err
	}
	if b, err := os.ReadFile(p); err == nil {
		if err := json.Unmarshal(b, &c); err != nil {
			return c, fmt.Errorf("%s: %w", p, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return c, err
	}
	if v := os.Getenv(EnvServer); v != "" {
		c.Server = v
	}
	if v := os.Getenv(EnvToken); v != "" {
		c.Token = v
	}
	if c.Server == "" || c.Token == "" {
		return c, errors.New("not logged in: run `connectplus login --server URL` (or set " + EnvServer + " and " + EnvToken + ")")
	}
	return c, nil
}

// Client calls the server's API.
type Client struct {
	Base  string
	Token string
	CSRF  string
	HTTP  *http.Client
}

// NewClient builds a client for base (the server URL).
func NewClient(base, token string) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{Base: strings.TrimRight(base, "/"), Token: token, HTTP: &http.Client{Timeout: 60 * time.Second, Jar: jar}}
}

// APIError is an error response from the server.
type APIError struct {
	Status  int
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Fields  []fieldError `json:"fields"`
}

type fieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (HTTP %d %s)", e.Message, e.Status, e.Code)
	for _, f := range e.Fields {
		b.WriteString("\n  ")
		if f.Line > 0 {
			fmt.Fprintf(&b, "%d:%d: ", f.Line, f.Column)
		}
		if f.Path != "" {
			b.WriteString(f.Path + ": ")
		}
		b.WriteString(f.Message)
	}
	return b.String()
}

// Do sends a JSON request to /api/v1+path and decodes a JSON answer into out
// (when non-nil). It returns the response headers.
func (c *Client) Do(method, path string, in, out any, hdr ...string) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.Base+"/api/v1"+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.CSRF != "" {
		req.Header.Set("X-CSRF-Token", c.CSRF)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode >= 400 {
		var eb struct {
			Error APIError `json:"error"`
		}
		if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
			return res.Header, &APIError{Status: res.StatusCode, Code: "http_error", Message: strings.TrimSpace(string(data))}
		}
		eb.Error.Status = res.StatusCode
		return res.Header, &eb.Error
	}
	if out != nil {
		switch o := out.(type) {
		case *[]byte:
			*o = data
		default:
			if err := json.Unmarshal(data, out); err != nil {
				return res.Header, fmt.Errorf("decode %s %s: %w", method, path, err)
			}
		}
	}
	return res.Header, nil
}

// fromCommand loads credentials and builds a client.
func fromCommand() (*Client, error) {
	c, err := LoadCredentials()
	if err != nil {
		return nil, err
	}
	return NewClient(c.Server, c.Token), nil
}

// Commands returns login, flows and configs.
func Commands() []*cobra.Command {
	return []*cobra.Command{NewLoginCommand(), NewFlowsCommand(), NewConfigsCommand()}
}

func pathEscape(s string) string { return url.PathEscape(s) }
