// Package control holds the control plane's use cases: organisations, users
// and roles, API tokens, the dataflow version lifecycle with maker-checker
// approval, Extension Configurations with their request workflow and Sync,
// runtime operations and the audit log. It is pure logic over package store;
// the HTTP layer (package server) only authenticates, decodes and encodes.
//
// Every method takes the acting Actor and checks its role itself, so no
// caller can skip authorisation by forgetting a middleware. Objects of
// another organisation are reported as ErrNotFound, never ErrForbidden, so
// their existence does not leak.
package control

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/fsroot"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/secrets"
	"github.com/connectplus/connectplus/store"
)

// Errors callers map to HTTP statuses. ErrNotFound, ErrConflict and
// ErrDuplicate are the store's.
var (
	ErrNotFound  = store.ErrNotFound
	ErrConflict  = store.ErrConflict
	ErrDuplicate = store.ErrDuplicate
	// ErrForbidden: authenticated but the role does not allow the action.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthenticated: bad credentials.
	ErrUnauthenticated = errors.New("invalid credentials")
	// ErrPreconditionRequired: an update did not say which revision it
	// read (If-Match or "revision"), so a lost update cannot be excluded.
	ErrPreconditionRequired = errors.New("revision required")
)

// ValidationError is bad input or an invalid document, with every problem.
type ValidationError struct {
	Message  string
	Problems []dataflow.Problem
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 0 {
		return e.Message
	}
	parts := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		parts = append(parts, p.Error())
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

func invalid(path, format string, a ...any) error {
	msg := fmt.Sprintf(format, a...)
	return &ValidationError{Message: msg, Problems: []dataflow.Problem{{Path: path, Message: msg}}}
}

// conflict wraps ErrConflict with a human explanation.
func conflict(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrConflict, fmt.Sprintf(format, a...))
}

func forbidden(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrForbidden, fmt.Sprintf(format, a...))
}

// Roles, weakest first.
const (
	RoleViewer = store.RoleViewer
	RoleEditor = store.RoleEditor
	RoleAdmin  = store.RoleAdmin
)

var roleRank = map[string]int{RoleViewer: 1, RoleEditor: 2, RoleAdmin: 3}

// ValidRole reports whether r is a role name.
func ValidRole(r string) bool { return roleRank[r] > 0 }

// MinRole returns the weaker of two roles.
func MinRole(a, b string) string {
	if roleRank[a] <= roleRank[b] {
		return a
	}
	return b
}

// ScopeRole maps a token scope to the strongest role it allows.
func ScopeRole(scope string) string {
	switch scope {
	case store.ScopeAdmin:
		return RoleAdmin
	case store.ScopeWrite:
		return RoleEditor
	default:
		return RoleViewer
	}
}

// Actor is who performs an action, in which organisation, with which
// effective role (a token's scope already applied).
type Actor struct {
	UserID        string
	Username      string
	OrgID         string
	Role          string
	PlatformAdmin bool
	// RequestID ties audit entries to log lines.
	RequestID string
}

func (a Actor) require(role string) error {
	if a.UserID == "" || a.OrgID == "" {
		return ErrUnauthenticated
	}
	if roleRank[a.Role] < roleRank[role] {
		return forbidden("this action needs the %s role (you have %s)", role, a.Role)
	}
	return nil
}

// Options configures a Service.
type Options struct {
	Store    *store.Store
	Keyring  *secrets.Keyring
	Registry *block.Registry
	// Controller is the runtime; nil uses NoopController.
	Controller runstate.Controller
	Logger     *slog.Logger
	// Validate plugs the runtime's cron and expression checks into
	// submission-time validation.
	Validate dataflow.ValidateOptions
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	// LocalPaths returns an organisation's local-path policy, against which
	// validation checks every local file and directory a dataflow names
	// (nil: not checked).
	LocalPaths func(orgID string) (*fsroot.Policy, error)
}

// Service is the control plane.
type Service struct {
	st    *store.Store
	kr    *secrets.Keyring
	reg   *block.Registry
	ctl   runstate.Controller
	log   *slog.Logger
	vopt  dataflow.ValidateOptions
	now   func() time.Time
	paths func(orgID string) (*fsroot.Policy, error)
}

// New builds a Service.
func New(o Options) *Service {
	s := &Service{st: o.Store, kr: o.Keyring, reg: o.Registry, ctl: o.Controller, log: o.Logger, vopt: o.Validate, now: o.Now, paths: o.LocalPaths}
	if s.ctl == nil {
		s.ctl = NoopController{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.reg == nil {
		s.reg = block.NewRegistry()
	}
	return s
}

// Store returns the underlying store.
func (s *Service) Store() *store.Store { return s.st }

// Registry returns the block registry used for validation.
func (s *Service) Registry() *block.Registry { return s.reg }

func (s *Service) clock() time.Time { return s.now().UTC() }

// audit appends one entry inside the caller's transaction, so a state change
// and its record commit together or not at all.
func (s *Service) audit(ctx context.Context, q *store.Queries, a Actor, action, objType, objID string, before, after any) error {
	e := store.AuditEntry{OrgID: a.OrgID, At: s.clock(), Actor: a.Username, Action: action, ObjectType: objType, ObjectID: objID, RequestID: a.RequestID}
	if e.Actor == "" {
		e.Actor = "system"
	}
	var err error
	if e.Before, err = snapshot(before); err != nil {
		return err
	}
	if e.After, err = snapshot(after); err != nil {
		return err
	}
	if err := q.AppendAudit(ctx, e); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

func snapshot(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("audit snapshot: %w", err)
	}
	return b, nil
}

// checkText validates a free-text name: trimmed, non-empty, at most max
// runes, no control characters. Any other character — quotes, semicolons,
// SQL or shell metacharacters — is allowed and stored verbatim: every query
// is parameterised and every output is encoded.
func checkText(path, v string, max int, required bool) error {
	if v != strings.TrimSpace(v) {
		return invalid(path, "%s must not start or end with spaces", path)
	}
	if v == "" {
		if required {
			return invalid(path, "%s is required", path)
		}
		return nil
	}
	if !utf8.ValidString(v) {
		return invalid(path, "%s is not valid UTF-8", path)
	}
	if utf8.RuneCountInString(v) > max {
		return invalid(path, "%s is longer than %d characters", path, max)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return invalid(path, "%s must not contain control characters", path)
		}
	}
	return nil
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Page is a slice of results with the cursor of the next page ("" at the
// end).
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// offsetPage pages items that were read from offset with one more than
// limit: the extra item only says that a next page exists.
func offsetPage[T any](items []T, limit, offset int) Page[T] {
	p := Page[T]{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		p.Next = fmt.Sprint(offset + limit)
	}
	return p
}

// NoopController stands in for the runtime when none is running: runtime
// operations succeed and only change the recorded status.
type NoopController struct{}

// Pause does nothing.
func (NoopController) Pause(context.Context, string, string) error { return nil }

// Stop does nothing.
func (NoopController) Stop(context.Context, string, string) error { return nil }

// Start does nothing.
func (NoopController) Start(context.Context, string, string) error { return nil }

// RunNow does nothing.
func (NoopController) RunNow(context.Context, string, string) error { return nil }

// Status reports nothing; the Service fills in the stored status.
func (NoopController) Status(_ context.Context, _ string, flowID string) (runstate.FlowRuntime, error) {
	return runstate.FlowRuntime{FlowID: flowID}, nil
}

// Reload does nothing.
func (NoopController) Reload(context.Context) error { return nil }

// CheckSourceConflict finds no conflicts.
func (NoopController) CheckSourceConflict(context.Context, string, string, []byte) error { return nil }
