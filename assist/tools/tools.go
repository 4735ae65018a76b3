// Package tools is the product seen by an AI assistant: the Model Context
// Protocol tools, resources and prompts of Connect+ (list and describe
// blocks and templates, create and edit Drafts, validate, preview, explain
// runs, evaluate NiFi EL and JSLT, copy and paste dataflows between
// organisations, search the product documentation), built on the official
// Go SDK.
//
// It is the one tool layer: `connectplus mcp` (stdio), the server's /mcp
// endpoint (streamable HTTP) and the in-product assistant (package
// assist/agent, through an in-memory MCP session) all serve the *mcp.Server
// that Toolset.Server builds. Every tool call resolves its control.Actor
// first and goes through control.Service, so the caller's organisation and
// role bound every tool and maker-checker applies: no tool submits,
// approves or makes anything Live.
//
// Secrets never pass through it: Extension Configuration values are never
// returned, documents are returned with inline secret values masked, and a
// document that carries a secret field's value inline (anything but a
// {$config: name} reference) is refused.
package tools

import (
	"context"
	"errors"
	"fmt"
	"github.com/connectplus/connectplus/preview"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/connectplus/connectplus/assist/docsearch"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/secrets/redact"
)

// ServerName is the MCP implementation name.
const ServerName = "connectplus"

// Deps are what the tools work over.
type Deps struct {
	Service *control.Service
	// Templates are the dataflow templates (nil: DefaultTemplates, the
	// template catalogue and the bundled examples).
	Templates TemplateSource
	// Redactor removes decrypted secret values from every message a tool
	// returns (nil: none registered).
	Redactor *redact.Redactor
	Logger   *slog.Logger
	// Version is reported in the MCP implementation info.
	Version string
	// TempRoot is where previews make their scratch directories.
	TempRoot string
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	// Previews bounds previews per user; the server passes the REST API's
	// limiter so both share one budget (nil: a limiter of its own).
	Previews *preview.Limiter
	// OpenResult opens a result file kept on the cluster's shared store
	// (s3://…); nil: only local result files are read.
	OpenResult func(ctx context.Context, ref string) (io.ReadCloser, error)
}

// Toolset builds MCP servers over one control.Service. It is safe for
// concurrent use; one Toolset serves every session of a process.
type Toolset struct {
	d       Deps
	cache   *mcp.SchemaCache
	catalog *catalog
	// previews bounds previews per user, as the REST API does.
	previews *preview.Limiter
	// docs is the product documentation search_docs searches.
	docs *docsearch.Index
}

// New builds a Toolset.
func New(d Deps) (*Toolset, error) {
	if d.Service == nil {
		return nil, errors.New("tools: no control service")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Templates == nil {
		src, err := DefaultTemplates()
		if err != nil {
			return nil, err
		}
		d.Templates = src
	}
	cat, err := newCatalog(d.Service.Registry())
	if err != nil {
		return nil, err
	}
	previews := d.Previews
	if previews == nil {
		previews = preview.NewLimiter(preview.PerMinute, d.Now)
	}
	ix, err := docIndex(cat, d.Templates)
	if err != nil {
		return nil, err
	}
	return &Toolset{d: d, cache: mcp.NewSchemaCache(), catalog: cat, previews: previews, docs: ix}, nil
}

// ActorFunc resolves who is calling, on every tool call (so a revoked
// token or a changed role takes effect at once).
type ActorFunc func(ctx context.Context) (control.Actor, error)

// Session configures one MCP server.
type Session struct {
	Actor ActorFunc
	// Proposals, when set, puts the write tools in proposal mode (the
	// in-product assistant): create_draft and update_draft validate the
	// document and record it here instead of saving it; the user accepts
	// or rejects it afterwards. Invalid proposals are refused with their
	// problems, which is what the model repairs.
	Proposals *Proposals
}

// Server builds the MCP server of one session.
func (t *Toolset) Server(s Session) *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: ServerName, Title: "Connect+", Version: t.d.Version}, &mcp.ServerOptions{
		Instructions: instructions,
		SchemaCache:  t.cache,
		Logger:       t.d.Logger,
	})
	h := &handlers{t: t, s: s}
	h.register(srv)
	return srv
}

const instructions = `Connect+ builds dataflows: graphs of blocks that read files (SFTP, FTP, S3, local),
turn them into records, transform them (JSLT, NiFi Expression Language) and deliver them (Capillary
APIs, files). Start from list_templates or list_blocks, build a document, check it with validate and
preview, then save it with create_draft or update_draft. Saving only ever makes a Draft: a human
submits it and another admin approves it. Secret fields take {"$config": "name"} references to
Extension Configurations (see list_configs), never values. Product questions: search_docs.`

// handlers are the tool implementations of one session.
type handlers struct {
	t *Toolset
	s Session
}

// actor resolves the caller; tools call it before anything else.
func (h *handlers) actor(ctx context.Context) (control.Actor, error) {
	if h.s.Actor == nil {
		return control.Actor{}, control.ErrUnauthenticated
	}
	a, err := h.s.Actor(ctx)
	if err != nil {
		return a, h.fail(err)
	}
	if a.UserID == "" || a.OrgID == "" || !control.ValidRole(a.Role) {
		return a, h.fail(control.ErrUnauthenticated)
	}
	return a, nil
}

// fail turns an error into the message a tool returns: the caller's
// mistakes are said plainly, internal errors are logged and summarised, and
// every message is redacted.
func (h *handlers) fail(err error) error {
	var ve *control.ValidationError
	var te *toolError
	msg := ""
	switch {
	case errors.As(err, &te):
		msg = te.msg
	case errors.As(err, &ve):
		msg = ve.Error()
	case errors.Is(err, control.ErrUnauthenticated):
		msg = "not authenticated: the API token is missing, revoked or expired"
	case errors.Is(err, control.ErrForbidden):
		msg = err.Error()
	case errors.Is(err, control.ErrNotFound):
		msg = "not found" + detail(err, control.ErrNotFound)
	case errors.Is(err, control.ErrDuplicate), errors.Is(err, control.ErrConflict):
		msg = err.Error()
		if i := strings.Index(msg, ": UNIQUE constraint"); i >= 0 {
			msg = msg[:i]
		}
	case errors.Is(err, control.ErrPreconditionRequired):
		msg = "say which revision you edited: pass the revision get_dataflow returned"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		msg = "the call was cancelled or timed out"
	default:
		h.t.d.Logger.Error("tool failed", "err", err)
		msg = "internal error"
	}
	return errors.New(h.t.d.Redactor.String(msg))
}

// detail keeps what a wrapped sentinel error adds ("not found: run has no
// result file").
func detail(err, sentinel error) string {
	msg, base := err.Error(), sentinel.Error()
	if i := strings.Index(msg, base+": "); i >= 0 {
		return ": " + msg[i+len(base)+2:]
	}
	return ""
}

// toolError is a message for the caller, returned as is.
type toolError struct{ msg string }

func (e *toolError) Error() string { return e.msg }

func userErr(format string, a ...any) error { return &toolError{msg: fmt.Sprintf(format, a...)} }

// Problem is one validation finding: a path into the document
// (blocks[2].config.fileRegex), the block it belongs to, the config field,
// and where the text allows, line and column.
type Problem struct {
	Path     string `json:"path"`
	Block    string `json:"block,omitempty" jsonschema:"name of the block the problem is in"`
	Field    string `json:"field,omitempty" jsonschema:"config key of that block"`
	Message  string `json:"message"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	Severity string `json:"severity" jsonschema:"error (cannot be submitted) or warning"`
}

// problems converts dataflow problems, locating each in doc (nil: unknown
// blocks).
func (h *handlers) problems(doc *dataflow.Document, ps []dataflow.Problem, severity string) []Problem {
	out := make([]Problem, 0, len(ps))
	for _, p := range ps {
		q := Problem{Path: p.Path, Message: h.t.d.Redactor.String(p.Message), Severity: severity}
		if p.Pos != nil {
			q.Line, q.Column = p.Pos.Line, p.Pos.Column
		}
		q.Block, q.Field = locate(doc, p.Path)
		out = append(out, q)
	}
	return out
}

// locate names the block and config key of a path like
// blocks[2].config.fileRegex.
func locate(doc *dataflow.Document, path string) (blockName, field string) {
	rest, ok := strings.CutPrefix(path, "blocks[")
	if !ok {
		return "", ""
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return "", ""
	}
	var i int
	if _, err := fmt.Sscanf(rest[:end], "%d", &i); err != nil {
		return "", ""
	}
	if doc != nil && i >= 0 && i < len(doc.Blocks) {
		blockName = doc.Blocks[i].Name
	}
	if f, ok := strings.CutPrefix(rest[end+1:], ".config."); ok {
		if j := strings.IndexAny(f, ".["); j >= 0 {
			f = f[:j]
		}
		field = f
	}
	return blockName, field
}
