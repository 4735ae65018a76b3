package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/dataflow"
)

// ErrorBody is every error response: {"error": {...}}.
type ErrorBody struct {
	Error APIError `json:"error"`
}

// APIError describes what went wrong; Fields lists per-path problems.
type APIError struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Fields  []FieldError `json:"fields,omitempty"`
}

// FieldError is one problem at a path of the input.
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
}

// httpError is an error with its own status and code.
type httpError struct {
	status  int
	code    string
	message string
	fields  []FieldError
	header  http.Header
}

func (e *httpError) Error() string { return e.message }

func newHTTPError(status int, code, format string, a ...any) *httpError {
	return &httpError{status: status, code: code, message: fmt.Sprintf(format, a...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// reply ends a handler whose service call returned v and err: err as it
// is, else v as JSON with status. v is evaluated before err is looked at,
// so callers pass plain values, never a field of a result that is nil on
// error.
func reply(w http.ResponseWriter, status int, v any, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, status, v)
	return nil
}

// noContent ends a handler whose service call answers only an error: err
// as it is, else 204.
func noContent(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// fail writes err as a JSON error. Unexpected errors are logged with the
// request id and answered with a generic message, so internals (SQL, paths)
// never reach clients.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	var ve *control.ValidationError
	body := APIError{}
	status := http.StatusInternalServerError
	switch {
	case errors.As(err, &he):
		status, body.Code, body.Message, body.Fields = he.status, he.code, he.message, he.fields
		for k, vs := range he.header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
	case errors.As(err, &ve):
		status, body.Code, body.Message = http.StatusBadRequest, "validation_failed", ve.Message
		body.Fields = problemsToFields(ve.Problems)
	case errors.Is(err, control.ErrUnauthenticated):
		status, body.Code, body.Message = http.StatusUnauthorized, "unauthenticated", "authentication required"
	case errors.Is(err, control.ErrForbidden):
		status, body.Code, body.Message = http.StatusForbidden, "forbidden", err.Error()
	case errors.Is(err, control.ErrNotFound):
		status, body.Code, body.Message = http.StatusNotFound, "not_found", "not found"
	case errors.Is(err, control.ErrDuplicate):
		status, body.Code, body.Message = http.StatusConflict, "duplicate", cleanMsg(err)
	case errors.Is(err, control.ErrConflict):
		status, body.Code, body.Message = http.StatusConflict, "conflict", cleanMsg(err)
	case errors.Is(err, control.ErrPreconditionRequired):
		status, body.Code, body.Message = http.StatusPreconditionRequired, "precondition_required",
			"say which revision you edited: send If-Match with the ETag, or a \"revision\" field"
	default:
		body.Code, body.Message = "internal", "internal error"
		logger(r, s.log).ErrorContext(r.Context(), "request failed", "err", err)
	}
	body.Message = s.redactor.String(body.Message)
	for i := range body.Fields {
		body.Fields[i].Message = s.redactor.String(body.Fields[i].Message)
	}
	writeJSON(w, status, ErrorBody{Error: body})
}

// cleanMsg keeps the human part of a duplicate/conflict error and drops any
// driver text after it.
func cleanMsg(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ": UNIQUE constraint"); i >= 0 {
		msg = msg[:i]
	}
	if i := strings.Index(msg, ": ERROR:"); i >= 0 {
		msg = msg[:i]
	}
	if i := strings.Index(msg, "constraint failed"); i >= 0 {
		return "conflicts with existing data"
	}
	return msg
}

func problemsToFields(ps []dataflow.Problem) []FieldError {
	out := make([]FieldError, 0, len(ps))
	for _, p := range ps {
		f := FieldError{Path: p.Path, Message: p.Message}
		if p.Pos != nil {
			f.Line, f.Column = p.Pos.Line, p.Pos.Column
		}
		out = append(out, f)
	}
	return out
}

// decode reads a JSON body strictly: size-limited (413), well-formed (400
// with line and column), no unknown fields (400), one value only.
func decode(r *http.Request, v any) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return newHTTPError(http.StatusRequestEntityTooLarge, "body_too_large", "request body is larger than %d bytes", mbe.Limit)
		}
		return newHTTPError(http.StatusBadRequest, "bad_request", "cannot read the request body")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return newHTTPError(http.StatusBadRequest, "malformed_json", "request body is empty; expected a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(data, err)
	}
	if dec.More() {
		return newHTTPError(http.StatusBadRequest, "malformed_json", "unexpected data after the JSON value")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return newHTTPError(http.StatusBadRequest, "malformed_json", "unexpected data after the JSON value")
	}
	return nil
}

func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := position(data, se.Offset)
		he := newHTTPError(http.StatusBadRequest, "malformed_json", "malformed JSON at line %d, column %d: %s", line, col, se.Error())
		he.fields = []FieldError{{Path: "", Message: se.Error(), Line: line, Column: col}}
		return he
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := position(data, int64(len(data)))
		return newHTTPError(http.StatusBadRequest, "malformed_json", "malformed JSON: unexpected end at line %d, column %d", line, col)
	case errors.As(err, &te):
		line, col := position(data, te.Offset)
		he := newHTTPError(http.StatusBadRequest, "invalid_type", "field %q must be %s (line %d, column %d)", te.Field, te.Type.String(), line, col)
		he.fields = []FieldError{{Path: te.Field, Message: "must be " + te.Type.String(), Line: line, Column: col}}
		return he
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		he := newHTTPError(http.StatusBadRequest, "unknown_field", "unknown field %q", name)
		he.fields = []FieldError{{Path: name, Message: "unknown field"}}
		return he
	}
	return newHTTPError(http.StatusBadRequest, "malformed_json", "malformed JSON: %v", err)
}

// position turns a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col = 1, 1
	for _, b := range data[:off] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

func logger(r *http.Request, base *slog.Logger) *slog.Logger {
	if info := infoFrom(r.Context()); info != nil {
		return base.With("request_id", info.requestID)
	}
	return base
}
