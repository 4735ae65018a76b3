package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/blockdoc"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/dataflow"
)

// BlockInfo is one block type of the catalogue: its spec (the same one
// `connectplus blocks --json` prints) plus the JSON Schema of its config
// object and its documentation text.
type BlockInfo struct {
	*block.Spec
	// Schema is the JSON Schema (draft 2020-12) of the block's config,
	// cut from the dataflow schema (`connectplus blocks --schema`).
	Schema json.RawMessage `json:"schema"`
	// Docs is the text `connectplus blocks TYPE` prints.
	Docs string `json:"docs"`
}

// BlocksResponse is the block catalogue.
type BlocksResponse struct {
	Blocks []BlockInfo `json:"blocks"`
}

// catalogue is built once from the registry: specs do not change while the
// server runs.
type catalogue struct {
	list   []BlockInfo
	byType map[string]int
	reg    *block.Registry
}

func newCatalogue(reg *block.Registry) (*catalogue, error) {
	c := &catalogue{byType: map[string]int{}, reg: reg}
	if reg == nil {
		return c, nil
	}
	schemas, err := configSchemas(reg)
	if err != nil {
		return nil, err
	}
	for _, s := range reg.Specs() {
		c.list = append(c.list, BlockInfo{Spec: s, Schema: schemas[s.Type], Docs: blockdoc.Text(s)})
	}
	sort.SliceStable(c.list, func(i, j int) bool {
		a, b := c.list[i], c.list[j]
		if a.Category != b.Category {
			return a.Category < b.Category
		}
		if a.Label != b.Label {
			return a.Label < b.Label
		}
		return a.Type < b.Type
	})
	for i, b := range c.list {
		c.byType[b.Type] = i
	}
	return c, nil
}

// configSchemas cuts each block's config schema out of the dataflow JSON
// Schema, so the two can never disagree, and makes each a document of its
// own (with the $defs its references need).
func configSchemas(reg *block.Registry) (map[string]json.RawMessage, error) {
	doc, err := dataflow.Schema(reg)
	if err != nil {
		return nil, err
	}
	var root struct {
		Schema string                     `json:"$schema"`
		Defs   map[string]json.RawMessage `json:"$defs"`
	}
	if err := json.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("block schemas: %w", err)
	}
	var ref bytes.Buffer
	if err := json.Compact(&ref, root.Defs["configRef"]); err != nil {
		return nil, fmt.Errorf("block schemas: configRef: %w", err)
	}
	out := map[string]json.RawMessage{}
	for _, s := range reg.Specs() {
		var def struct {
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal(root.Defs["block_"+s.Type], &def); err != nil {
			return nil, fmt.Errorf("block schemas: %s: %w", s.Type, err)
		}
		var cfg bytes.Buffer
		if err := json.Compact(&cfg, def.Properties["config"]); err != nil || cfg.Len() < 2 || cfg.Bytes()[0] != '{' {
			return nil, fmt.Errorf("block schemas: %s has no config schema", s.Type)
		}
		head, _ := json.Marshal(map[string]string{"$schema": root.Schema, "title": s.Label + " configuration"})
		var b bytes.Buffer
		b.Write(head[:len(head)-1])
		b.WriteByte(',')
		inner := cfg.Bytes()[1 : cfg.Len()-1]
		if len(inner) > 0 {
			b.Write(inner)
			b.WriteByte(',')
		}
		b.WriteString(`"$defs":{"configRef":`)
		b.Write(ref.Bytes())
		b.WriteString("}}")
		if !json.Valid(b.Bytes()) {
			return nil, fmt.Errorf("block schemas: %s: invalid schema", s.Type)
		}
		out[s.Type] = json.RawMessage(b.Bytes())
	}
	return out, nil
}

func (s *Server) listBlocks(w http.ResponseWriter, _ *http.Request, _ control.Actor) error {
	list := s.blocks.list
	if list == nil {
		list = []BlockInfo{}
	}
	writeJSON(w, http.StatusOK, BlocksResponse{Blocks: list})
	return nil
}

func (s *Server) getBlock(w http.ResponseWriter, r *http.Request, _ control.Actor) error {
	typ := chi.URLParam(r, "type")
	i, ok := s.blocks.byType[typ]
	if !ok && s.blocks.reg != nil {
		// A legacy (Gen-1) name finds the block it is read as.
		if spec, found := s.blocks.reg.Lookup(typ); found {
			i, ok = s.blocks.byType[spec.Type]
		}
	}
	if !ok {
		msg := fmt.Sprintf("unknown block type %q", typ)
		if s.blocks.reg != nil {
			if sug := s.blocks.reg.Suggest(typ); sug != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			}
		}
		return newHTTPError(http.StatusNotFound, "not_found", "%s", msg)
	}
	writeJSON(w, http.StatusOK, s.blocks.list[i])
	return nil
}

// ValidateDocumentRequest is an unsaved document to validate.
type ValidateDocumentRequest struct {
	Document string `json:"document"`
	// Format is json, yaml or connectplus; empty detects JSON or YAML.
	Format string `json:"format,omitempty"`
}

// DocumentProblem is one finding, located by path (blocks[2].config.key)
// and, where the text allows, line and column.
type DocumentProblem struct {
	Path     string             `json:"path"`
	Message  string             `json:"message"`
	Position *dataflow.Position `json:"position,omitempty"`
	// Block names the block of a problem under blocks[i]; ExprPosition is
	// line and column inside the field's expression (NiFi EL, JSLT).
	Block        string             `json:"block,omitempty"`
	ExprPosition *dataflow.Position `json:"exprPosition,omitempty"`
	// Severity is "error" (the document cannot be submitted) or "warning"
	// (a note, e.g. from importing a Connect+ export, or something valid
	// but insecure, e.g. plain FTP with credentials).
	Severity string `json:"severity"`
}

// ValidateDocumentResponse lists an unsaved document's problems.
type ValidateDocumentResponse struct {
	Valid    bool              `json:"valid"`
	Problems []DocumentProblem `json:"problems"`
}

// syntaxAtRE finds the "at LINE:COLUMN" of a syntax error message, for
// errors the parser reports as text only.
var syntaxAtRE = regexp.MustCompile(`(?:error at|at line) (\d+)(?::|, column )(\d+)`)

func toProblems(ps []dataflow.Problem, severity string) []DocumentProblem {
	out := make([]DocumentProblem, 0, len(ps))
	for _, p := range ps {
		pos := p.Pos
		if pos == nil {
			if m := syntaxAtRE.FindStringSubmatch(p.Message); m != nil {
				line, _ := strconv.Atoi(m[1])
				col, _ := strconv.Atoi(m[2])
				pos = &dataflow.Position{Line: line, Column: col}
			}
		}
		out = append(out, DocumentProblem{Path: p.Path, Message: p.Message, Position: pos, Block: p.Block, ExprPosition: p.ExprPos, Severity: severity})
	}
	return out
}

// checkDocument validates a document text the way a saved version is
// validated (control's DecodeDocument, then control's Check against the
// block registry and the organisation's Extension Configurations). It
// returns the parsed document when it has no errors.
func (s *Server) checkDocument(r *http.Request, a control.Actor, text, format string) (*dataflow.Document, []DocumentProblem, error) {
	doc, notes, err := s.svc.DecodeDocument([]byte(text), format)
	if err != nil {
		var ve *control.ValidationError
		if errors.As(err, &ve) {
			return nil, toProblems(ve.Problems, "error"), nil
		}
		return nil, nil, err
	}
	probs, err := s.svc.Check(r.Context(), s.svc.Store().Queries, a.OrgID, doc)
	if err != nil {
		return nil, nil, err
	}
	out := toProblems(probs, "error")
	for i := range out {
		out[i].Message = s.redactor.String(out[i].Message)
	}
	out = append(out, toProblems(notes, "warning")...)
	out = append(out, toProblems(s.svc.Warnings(doc), "warning")...)
	return doc, out, nil
}

func hasErrors(ps []DocumentProblem) bool {
	for _, p := range ps {
		if p.Severity == "error" {
			return true
		}
	}
	return false
}

func (s *Server) validateDocument(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in ValidateDocumentRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	_, probs, err := s.checkDocument(r, a, in.Document, in.Format)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ValidateDocumentResponse{Valid: !hasErrors(probs), Problems: probs})
	return nil
}
