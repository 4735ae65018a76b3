// Package agent is the dataflow assistant of Connect+ (the open aiRA Coder):
// a chat model behind any OpenAI-compatible chat-completions endpoint with
// tool calling drives the tools of package assist/tools — the very MCP
// server `connectplus mcp` serves, reached here through an in-memory MCP
// session — to create a dataflow from a prompt or a template, modify the
// open Draft, explain a dataflow or answer product questions.
//
// The write tools run in proposal mode: every proposal is validated by the
// product's validator and a refused one goes back to the model with its
// problems, for a bounded number of repair rounds. Nothing is saved until
// the user accepts the proposal (Accept), and accepting saves a Draft,
// never anything further. The model is configured per organisation by an
// admin through Extension Configurations (assistant_base_url,
// assistant_model, and the secret assistant_api_key); without them the
// assistant says so and nothing else changes.
package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/connectplus/connectplus/assist/tools"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/secrets/redact"
)

// The Extension Configurations that configure the model of an
// organisation. The API key must be a secret entry.
const (
	ConfigBaseURL = "assistant_base_url"
	ConfigModel   = "assistant_model"
	ConfigAPIKey  = "assistant_api_key"
)

// Limits.
const (
	DefaultMaxRepairs  = 3
	DefaultMaxSteps    = 16
	DefaultCallTimeout = 90 * time.Second
	// DefaultTurnTimeout bounds a whole turn (every model call and tool).
	DefaultTurnTimeout = 4 * time.Minute
	MaxPromptBytes     = 8 << 10
	// maxToolText bounds one tool result fed to the model.
	maxToolText = 24 << 10
	// maxReply bounds the model's answer read from the endpoint.
	maxReply = 4 << 20
)

// ErrNotConfigured: the organisation has no model configured.
var ErrNotConfigured = errors.New("the assistant is not configured for this organisation: an admin adds the Extension Configurations " +
	ConfigBaseURL + " (an OpenAI-compatible endpoint, e.g. https://api.openai.com/v1), " + ConfigModel + " and, as a secret, " + ConfigAPIKey)

// ModelError is a failure of the model or its endpoint (unreachable, a
// timeout, an error status, unreadable answers); the message is safe to
// show.
type ModelError struct{ Msg string }

func (e *ModelError) Error() string { return e.Msg }

// Options configure an Assistant.
type Options struct {
	Tools   *tools.Toolset
	Service *control.Service
	// Resolve reads an Extension Configuration's value (decrypting a
	// secret); the store's ResolveConfig.
	Resolve func(ctx context.Context, orgID, name string) (string, error)
	// HTTP is the client for the model endpoint (default: a plain client).
	HTTP *http.Client
	// CallTimeout bounds one model call (DefaultCallTimeout when 0).
	CallTimeout time.Duration
	// TurnTimeout bounds one turn (DefaultTurnTimeout when 0).
	TurnTimeout time.Duration
	MaxRepairs  int
	MaxSteps    int
	Logger      *slog.Logger
	Redactor    *redact.Redactor
}

// Assistant runs conversations.
type Assistant struct {
	o Options
}

// New builds an Assistant.
func New(o Options) (*Assistant, error) {
	if o.Tools == nil || o.Service == nil || o.Resolve == nil {
		return nil, errors.New("agent: tools, service and resolver are required")
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{}
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.TurnTimeout <= 0 {
		o.TurnTimeout = DefaultTurnTimeout
	}
	if o.MaxRepairs <= 0 {
		o.MaxRepairs = DefaultMaxRepairs
	}
	if o.MaxSteps <= 0 {
		o.MaxSteps = DefaultMaxSteps
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Assistant{o: o}, nil
}

// Model is an organisation's model configuration (the key is not kept).
type Model struct {
	BaseURL string `json:"baseUrl"`
	Model   string `json:"model"`
}

// Status says whether the assistant can run for the actor's organisation.
type Status struct {
	Configured bool   `json:"configured"`
	Model      string `json:"model,omitempty"`
	BaseURL    string `json:"baseUrl,omitempty"`
	Message    string `json:"message"`
}

// Status reports the configuration without calling the model.
func (as *Assistant) Status(ctx context.Context, a control.Actor) (Status, error) {
	m, _, err := as.model(ctx, a)
	if errors.Is(err, ErrNotConfigured) {
		return Status{Message: err.Error()}, nil
	}
	if err != nil {
		var ve *control.ValidationError
		if errors.As(err, &ve) {
			return Status{Message: ve.Message}, nil
		}
		return Status{}, err
	}
	return Status{Configured: true, Model: m.Model, BaseURL: m.BaseURL, Message: "the assistant uses " + m.Model}, nil
}

// model reads the organisation's model configuration.
func (as *Assistant) model(ctx context.Context, a control.Actor) (Model, string, error) {
	var m Model
	names := map[string]control.ConfigView{}
	cs, err := as.o.Service.ListConfigs(ctx, a)
	if err != nil {
		return m, "", err
	}
	for _, c := range cs {
		names[c.Name] = c
	}
	bu, okURL := names[ConfigBaseURL]
	mo, okModel := names[ConfigModel]
	if !okURL || !okModel {
		return m, "", ErrNotConfigured
	}
	if bu.IsSecret || mo.IsSecret {
		// Values of secrets are never shown; these two are shown in the
		// status, so they must be plain entries.
		return m, "", &control.ValidationError{Message: ConfigBaseURL + " and " + ConfigModel + " must be plain (not secret) Extension Configurations"}
	}
	if m.BaseURL, err = as.o.Resolve(ctx, a.OrgID, ConfigBaseURL); err != nil {
		return m, "", err
	}
	if m.Model, err = as.o.Resolve(ctx, a.OrgID, ConfigModel); err != nil {
		return m, "", err
	}
	m.BaseURL = strings.TrimRight(strings.TrimSpace(m.BaseURL), "/")
	if u, err := url.Parse(m.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return m, "", &control.ValidationError{Message: ConfigBaseURL + " must be an http(s) URL such as https://api.openai.com/v1"}
	}
	if strings.TrimSpace(m.Model) == "" {
		return m, "", ErrNotConfigured
	}
	key := ""
	if k, ok := names[ConfigAPIKey]; ok {
		if !k.IsSecret {
			return m, "", &control.ValidationError{Message: ConfigAPIKey + " must be a secret Extension Configuration (ask an admin to re-create it as a secret)"}
		}
		if key, err = as.o.Resolve(ctx, a.OrgID, ConfigAPIKey); err != nil {
			return m, "", err
		}
	}
	return m, key, nil
}

// Modes of a request.
const (
	// ModeChat answers, explains or proposes, as the prompt asks.
	ModeChat = "chat"
	// ModeDraft must end with a valid proposal (connectplus ai draft).
	ModeDraft = "draft"
	// ModeExplain explains; the write tools stay available but nothing
	// is expected from them.
	ModeExplain = "explain"
	// ModeAsk answers a product question from the documentation
	// (search_docs); nothing is proposed (connectplus ai ask).
	ModeAsk = "ask"
)

// Request is one user turn.
type Request struct {
	Prompt string `json:"prompt"`
	// FlowID is the dataflow open on the canvas (its Draft is what
	// "modify" changes; explain reads it).
	FlowID string `json:"flowId,omitempty"`
	// Mode is chat (default), draft or explain.
	Mode string `json:"mode,omitempty"`
	// History are earlier turns of this chat (user and assistant texts).
	History []Turn `json:"history,omitempty"`
}

// Turn is one earlier message of the chat.
type Turn struct {
	Role string `json:"role"` // user or assistant
	Text string `json:"text"`
}

// Step is one tool call the model made.
type Step struct {
	Tool  string `json:"tool"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Response is what the assistant did.
type Response struct {
	// Reply is the model's answer or explanation.
	Reply string `json:"reply"`
	// Proposal is the validated document to accept or reject (nil: none).
	Proposal *tools.Proposal `json:"proposal,omitempty"`
	// Diff is the proposal against the open Draft (or against nothing,
	// for a new dataflow), as `connectplus flows diff` prints it.
	Diff string `json:"diff,omitempty"`
	// Repairs is how many times a proposal was refused and the model
	// tried again.
	Repairs int    `json:"repairs"`
	Steps   []Step `json:"steps"`
	Model   string `json:"model"`
}

// Run runs one turn.
func (as *Assistant) Run(ctx context.Context, a control.Actor, req Request) (*Response, error) {
	req.Prompt = strings.TrimSpace(req.Prompt)
	if req.Prompt == "" {
		return nil, &control.ValidationError{Message: "prompt is empty"}
	}
	if len(req.Prompt) > MaxPromptBytes {
		return nil, &control.ValidationError{Message: fmt.Sprintf("the prompt is longer than %d bytes", MaxPromptBytes)}
	}
	switch req.Mode {
	case "":
		req.Mode = ModeChat
	case ModeChat, ModeDraft, ModeExplain, ModeAsk:
	default:
		return nil, &control.ValidationError{Message: "mode must be chat, draft, explain or ask"}
	}
	if req.Mode == ModeDraft && !atLeast(a.Role, control.RoleEditor) {
		return nil, fmt.Errorf("%w: proposing a dataflow needs the editor role (you have %s)", control.ErrForbidden, a.Role)
	}
	m, key, err := as.model(ctx, a)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, as.o.TurnTimeout)
	defer cancel()
	proposals := &tools.Proposals{}
	srv := as.o.Tools.Server(tools.Session{Actor: func(context.Context) (control.Actor, error) { return a, nil }, Proposals: proposals})
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		return nil, fmt.Errorf("assistant tools: %w", err)
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "connectplus-assistant"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		return nil, fmt.Errorf("assistant tools: %w", err)
	}
	defer cs.Close()
	c := &conversation{as: as, a: a, m: m, key: key, cs: cs, proposals: proposals, resp: &Response{Steps: []Step{}, Model: m.Model}}
	if err := c.start(ctx, req); err != nil {
		return nil, err
	}
	if err := c.loop(ctx, req); err != nil {
		return nil, err
	}
	return c.finish(ctx, req)
}

func atLeast(have, want string) bool { return control.MinRole(have, want) == want }

// conversation is one turn's exchange with the model.
type conversation struct {
	as        *Assistant
	a         control.Actor
	m         Model
	key       string
	cs        *mcp.ClientSession
	proposals *tools.Proposals
	resp      *Response
	messages  []message
	toolDefs  []toolDef
	// current is the open Draft's document (masked) when one is open.
	current string
}

// OpenAI chat-completions wire types.
type (
	message struct {
		Role       string     `json:"role"`
		Content    *string    `json:"content"`
		ToolCalls  []toolCall `json:"tool_calls,omitempty"`
		ToolCallID string     `json:"tool_call_id,omitempty"`
	}
	toolCall struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	}
	toolDef struct {
		Type     string  `json:"type"`
		Function funcDef `json:"function"`
	}
	funcDef struct {
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
		Parameters  any    `json:"parameters"`
	}
	chatRequest struct {
		Model      string    `json:"model"`
		Messages   []message `json:"messages"`
		Tools      []toolDef `json:"tools"`
		ToolChoice string    `json:"tool_choice"`
	}
	chatResponse struct {
		Choices []struct {
			Message      message `json:"message"`
			FinishReason string  `json:"finish_reason"`
		} `json:"choices"`
	}
)

func text(s string) *string { return &s }

// start builds the system prompt and the tool definitions.
func (c *conversation) start(ctx context.Context, req Request) error {
	lt, err := c.cs.ListTools(ctx, nil)
	if err != nil {
		return fmt.Errorf("assistant tools: %w", err)
	}
	for _, t := range lt.Tools {
		c.toolDefs = append(c.toolDefs, toolDef{Type: "function", Function: funcDef{Name: t.Name, Description: t.Description, Parameters: t.InputSchema}})
	}
	var sys strings.Builder
	sys.WriteString(systemPrompt)
	if blocks, err := c.callText(ctx, "list_blocks", map[string]any{}); err == nil {
		sys.WriteString("\n\nThe block catalogue (list_blocks):\n" + blocks)
	}
	if ts, err := c.callText(ctx, "list_templates", map[string]any{}); err == nil {
		sys.WriteString("\n\nTemplates (list_templates):\n" + ts)
	}
	if cfg, err := c.callText(ctx, "list_configs", map[string]any{}); err == nil {
		sys.WriteString("\n\nExtension Configurations of this organisation (names only):\n" + cfg)
	}
	switch req.Mode {
	case ModeDraft:
		sys.WriteString("\n\nThis request must end with a proposal: call create_draft (a new dataflow) or update_draft (the open Draft).")
	case ModeExplain:
		sys.WriteString("\n\nExplain only: do not propose changes.")
	case ModeAsk:
		sys.WriteString("\n\nThis is a product question: call search_docs, answer from the passages it returns and cite their paths. Do not propose changes.")
	}
	c.messages = append(c.messages, message{Role: "system", Content: text(sys.String())})
	if req.FlowID != "" {
		g, err := c.callText(ctx, "get_dataflow", map[string]any{"flowId": req.FlowID})
		if err != nil {
			return err
		}
		var d tools.DataflowOut
		if json.Unmarshal([]byte(g), &d) == nil {
			c.current = d.Document
		}
		c.messages = append(c.messages, message{Role: "system", Content: text("The user has this dataflow open on the canvas (get_dataflow); modify it with update_draft, passing its flowId, version and revision:\n" + g)})
	}
	for _, t := range req.History {
		if (t.Role == "user" || t.Role == "assistant") && t.Text != "" {
			c.messages = append(c.messages, message{Role: t.Role, Content: text(t.Text)})
		}
	}
	c.messages = append(c.messages, message{Role: "user", Content: text(req.Prompt)})
	return nil
}

const systemPrompt = `You are the Connect+ dataflow assistant (like Capillary's aiRA Coder). You build and change
dataflows by calling the tools, explain dataflows block by block or overall, and answer product questions.
A dataflow document is {"name", "description", "blocks": [{"type", "name", "config": {...}, "relations": [{"to": "<block name>", "on": "success"}]}]}.
Rules:
- Start from a template when one fits (create_draft with template and parameters); otherwise describe_block every block you use.
- A source block (file_read, sftp_read, s3_read) first; convert_csv_to_json turns files into records; jslt_transform shapes records; http_write calls an API.
- Secret fields take {"$config": "name"} references to the Extension Configurations listed below; never invent values for them.
- Propose a new dataflow with create_draft, a change to the open Draft with update_draft (a JSON Patch is best). Proposals are validated:
  when one is refused, read the problems, fix them and propose again. Nothing is saved until the user accepts.
- After proposing, answer with a short explanation: one line per block, and what changed.
- Copy and paste between organisations: copy_dataflow copies a saved version (a description is required) into the user's
  personal dataflow store; list_copies shows its last 10 ("view my dataflow store"); paste_dataflow proposes a copy as a new
  dataflow in this organisation. The trigger and the tags are not copied.
- Product and documentation questions: call search_docs and answer from the passages it returns, citing their paths
  (docs/mcp.md, blocks/sftp_read …); when nothing matches, say the documentation does not cover it instead of guessing.`

// callText calls a tool and returns its text (an error for a failed call).
func (c *conversation) callText(ctx context.Context, name string, args any) (string, error) {
	res, err := c.cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return "", fmt.Errorf("tool %s: %w", name, err)
	}
	t := resultText(res)
	if res.IsError {
		return "", errors.New(t)
	}
	return t, nil
}

func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, ct := range res.Content {
		if tc, ok := ct.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// loop exchanges messages until the model answers without tool calls, the
// step budget ends or the repair budget is spent.
func (c *conversation) loop(ctx context.Context, req Request) error {
	for step := 0; step < c.as.o.MaxSteps; step++ {
		msg, err := c.complete(ctx)
		if err != nil {
			var me *ModelError
			if errors.As(err, &me) && me.Msg == errUnreadable && c.resp.Repairs < c.as.o.MaxRepairs {
				// A reply that is not a chat completion: ask again, from
				// the same bounded budget as repairs.
				c.resp.Repairs++
				c.messages = append(c.messages, message{Role: "user", Content: text("Your last reply could not be read as a chat completion. Answer again, calling the tools as needed.")})
				continue
			}
			return err
		}
		c.messages = append(c.messages, msg)
		if len(msg.ToolCalls) == 0 {
			if msg.Content != nil {
				c.resp.Reply = *msg.Content
			}
			if req.Mode == ModeDraft && c.proposals.Len() == 0 {
				if c.resp.Repairs >= c.as.o.MaxRepairs {
					return &ModelError{Msg: fmt.Sprintf("the model made no valid proposal after %d repair rounds", c.resp.Repairs)}
				}
				c.resp.Repairs++
				c.messages = append(c.messages, message{Role: "user", Content: text("You have not proposed a valid dataflow yet. Call create_draft (or update_draft) with the document.")})
				continue
			}
			return nil
		}
		for _, tc := range msg.ToolCalls {
			content, refused := c.runTool(ctx, tc)
			c.messages = append(c.messages, message{Role: "tool", ToolCallID: tc.ID, Content: text(content)})
			if refused {
				if c.resp.Repairs >= c.as.o.MaxRepairs {
					return &ModelError{Msg: fmt.Sprintf("the model's proposal still does not validate after %d repair rounds: %s", c.resp.Repairs, firstLine(content))}
				}
				c.resp.Repairs++
			}
		}
	}
	if c.proposals.Len() > 0 && req.Mode != ModeExplain && req.Mode != ModeAsk {
		return nil
	}
	return &ModelError{Msg: fmt.Sprintf("the model did not finish within %d steps", c.as.o.MaxSteps)}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i]) + " " + strings.TrimSpace(strings.SplitN(s[i+1:], "\n", 2)[0])
	}
	return s
}

// runTool runs one tool call; refused reports a proposal the validator
// rejected (a repair round).
func (c *conversation) runTool(ctx context.Context, tc toolCall) (content string, refused bool) {
	name := tc.Function.Name
	var args map[string]any
	if strings.TrimSpace(tc.Function.Arguments) != "" {
		if err := json.Unmarshal([]byte(tc.Function.Arguments), &args); err != nil {
			c.resp.Steps = append(c.resp.Steps, Step{Tool: name, Error: "arguments are not a JSON object"})
			return "error: the arguments are not a JSON object: " + err.Error(), isProposal(name)
		}
	}
	if args == nil {
		args = map[string]any{}
	}
	before := c.proposals.Len()
	res, err := c.cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		c.resp.Steps = append(c.resp.Steps, Step{Tool: name, Error: err.Error()})
		return "error: " + err.Error(), false
	}
	t := resultText(res)
	if len(t) > maxToolText {
		t = t[:maxToolText] + "\n…(truncated)"
	}
	t = c.as.o.Redactor.String(t)
	if res.IsError {
		c.resp.Steps = append(c.resp.Steps, Step{Tool: name, Error: firstLine(t)})
		return "error: " + t, isProposal(name) && c.proposals.Len() == before
	}
	c.resp.Steps = append(c.resp.Steps, Step{Tool: name, OK: true})
	return t, false
}

func isProposal(tool string) bool { return tool == "create_draft" || tool == "update_draft" }

const errUnreadable = "the model's answer is not a chat completion"

// complete sends the conversation and reads the model's message.
func (c *conversation) complete(ctx context.Context) (message, error) {
	body, err := json.Marshal(chatRequest{Model: c.m.Model, Messages: c.messages, Tools: c.toolDefs, ToolChoice: "auto"})
	if err != nil {
		return message{}, fmt.Errorf("assistant request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.as.o.CallTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.m.BaseURL+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return message{}, &ModelError{Msg: "bad model endpoint: " + err.Error()}
	}
	hr.Header.Set("Content-Type", "application/json")
	if c.key != "" {
		hr.Header.Set("Authorization", "Bearer "+c.key)
	}
	res, err := c.as.o.HTTP.Do(hr)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return message{}, c.timeout()
		}
		return message{}, &ModelError{Msg: "the model endpoint cannot be reached: " + c.as.o.Redactor.String(err.Error())}
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxReply))
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return message{}, c.timeout()
		}
		return message{}, &ModelError{Msg: "reading the model's answer: " + err.Error()}
	}
	if res.StatusCode != http.StatusOK {
		snippet := strings.TrimSpace(string(data))
		if len(snippet) > 300 {
			snippet = snippet[:300] + "…"
		}
		return message{}, &ModelError{Msg: fmt.Sprintf("the model endpoint answered %d: %s", res.StatusCode, c.as.o.Redactor.String(snippet))}
	}
	var cr chatResponse
	if err := json.Unmarshal(data, &cr); err != nil || len(cr.Choices) == 0 {
		c.as.o.Logger.Warn("assistant: unreadable model answer", "bytes", len(data))
		return message{}, &ModelError{Msg: errUnreadable}
	}
	msg := cr.Choices[0].Message
	msg.Role = "assistant"
	if msg.Content == nil && len(msg.ToolCalls) == 0 {
		return message{}, &ModelError{Msg: errUnreadable}
	}
	for i := range msg.ToolCalls {
		if msg.ToolCalls[i].Type == "" {
			msg.ToolCalls[i].Type = "function"
		}
	}
	return msg, nil
}

func (c *conversation) timeout() error {
	return &ModelError{Msg: fmt.Sprintf("the model did not answer within %s (a turn may take at most %s)", c.as.o.CallTimeout, c.as.o.TurnTimeout)}
}

// finish attaches the last proposal and its diff.
func (c *conversation) finish(ctx context.Context, req Request) (*Response, error) {
	p, ok := c.proposals.Last()
	if !ok {
		if c.resp.Reply == "" {
			c.resp.Reply = "(the model gave no answer)"
		}
		return c.resp, nil
	}
	c.resp.Proposal = &p
	reg := c.as.o.Service.Registry()
	prop, err := dataflow.Parse([]byte(p.Document), "proposal.yaml")
	if err != nil {
		return nil, fmt.Errorf("proposal: %w", err)
	}
	base := &dataflow.Document{}
	if p.Kind == "update" {
		text, _, err := c.as.o.Service.Export(ctx, c.a, p.FlowID, p.Version, control.FormatYAML, "")
		if err != nil {
			return nil, err
		}
		if base, err = dataflow.Parse(text, "current.yaml"); err != nil {
			return nil, fmt.Errorf("current document: %w", err)
		}
	}
	c.resp.Diff = dataflow.DiffWith(base, prop, reg).String()
	if c.resp.Reply == "" {
		c.resp.Reply = "Proposed " + p.Name + "."
	}
	return c.resp, nil
}

// AcceptResult is the saved Draft.
type AcceptResult struct {
	FlowID   string `json:"flowId"`
	Name     string `json:"name"`
	Version  int    `json:"version"`
	State    string `json:"state"`
	Revision int64  `json:"revision"`
}

// Accept saves an accepted proposal as a Draft: a new dataflow (kind
// create) or the open Draft (kind update, with the revision it was based
// on, so an edit made meanwhile is not overwritten). It validates the
// document again and saves nothing invalid; it never submits, approves or
// makes anything Live.
func (as *Assistant) Accept(ctx context.Context, a control.Actor, p tools.Proposal) (AcceptResult, error) {
	var out AcceptResult
	if !atLeast(a.Role, control.RoleEditor) {
		return out, fmt.Errorf("%w: saving a Draft needs the editor role (you have %s)", control.ErrForbidden, a.Role)
	}
	v, err := as.o.Tools.Check(ctx, a, p.Document, control.FormatYAML)
	if err != nil {
		return out, err
	}
	if !v.Valid {
		var ps []dataflow.Problem
		for _, q := range v.Problems {
			if q.Severity == "error" {
				ps = append(ps, dataflow.Problem{Path: q.Path, Message: q.Message})
			}
		}
		return out, &control.ValidationError{Message: "the proposal does not validate; nothing was saved", Problems: ps}
	}
	switch p.Kind {
	case "create":
		res, err := as.o.Service.CreateDataflow(ctx, a, control.CreateFlowInput{Name: p.Name, Description: p.Description, Tags: p.Tags, Document: p.Document, Format: control.FormatYAML})
		if err != nil {
			return out, err
		}
		return AcceptResult{FlowID: res.Dataflow.ID, Name: res.Dataflow.Name, Version: res.Version.Number, State: res.Version.State, Revision: res.Version.Revision}, nil
	case "update":
		if p.FlowID == "" || p.Version == 0 || p.Revision == 0 {
			return out, &control.ValidationError{Message: "an update proposal needs flowId, version and revision"}
		}
		res, err := as.o.Service.SaveDraft(ctx, a, p.FlowID, p.Version, control.SaveInput{Document: p.Document, Format: control.FormatYAML, Revision: p.Revision})
		if err != nil {
			return out, err
		}
		return AcceptResult{FlowID: p.FlowID, Name: p.Name, Version: res.Version.Number, State: res.Version.State, Revision: res.Version.Revision}, nil
	}
	return out, &control.ValidationError{Message: "proposal kind must be create or update"}
}
