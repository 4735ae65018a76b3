// Package headers holds transform_header_data (Transform (Headers), Gen-1
// "Rebuild headers" / "Define headers and transform data"): it renames,
// reorders, drops and derives the columns of a delimited file (spec §2.4.4).
//
// The block takes a file and emits a file. Rows are streamed: the input is
// read row by row with csvio and the output is written to a spill file in the
// block's work directory, so memory does not grow with the file.
//
// A row whose mapping fails (an exp{} that divides by zero, a date that does
// not match the existing format, a malformed CSV row) does not fail the file:
// it is written to a companion error file — the row's input columns followed
// by line_number and error_message — emitted on the failure relation next to
// the good output on success. The file fails as a whole only for problems
// that concern every row: an unreadable input, an output header that is
// neither mapped nor in the input, a mapping that reads a missing column.
package headers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/format/csvio"
	"github.com/connectplus/connectplus/lang/spel"
)

// Attribute names set on emitted units.
const (
	// AttrDelimiter is the delimiter of the emitted file (filecore's name).
	AttrDelimiter = "file.delimiter"
	// AttrRowsOut and AttrRowsFailed count the rows written to the output
	// and to the error companion.
	AttrRowsOut    = "transform.rows.out"
	AttrRowsFailed = "transform.rows.failed"
	// AttrErrorOf names, on the error companion, the output it belongs to.
	AttrErrorOf = "transform.error.of"
)

// Spec is transform_header_data.
var Spec = &block.Spec{
	Type: "transform_header_data", Label: "Transform (Headers)", Class: block.ClassExecutor, Category: "Transformation",
	Description: "Renames, reorders, drops or derives the columns of a delimited file (file in, file out). " +
		"The output has exactly the columns of outputHeadersOrder; each is taken from headersMapping (a column rename, hdr{}, const{} or an exp{} expression) " +
		"or, when not mapped, from the input column of the same name. Rows whose mapping fails are written to a companion error file " +
		"(input columns + line_number + error_message) emitted on the failure relation; the other rows continue on success.",
	Input: block.KindFile, Output: block.KindFile,
	Fields: []block.Field{
		{Key: "outputHeadersOrder", Label: "Output Headers Order", Type: block.TypeList, Required: true,
			Description: "Comma-separated output columns, in order, no spaces (e.g. TAmount,bill_name,BillID). Input columns not listed are dropped.",
			Example:     "TAmount,bill_name,BillID"},
		{Key: "outputFileDelimiter", Label: "Output File Delimiter", Type: block.TypeString, Required: true, Default: ",",
			Description: "One character separating output fields, e.g. | , & % or \\t (tab). Letters and digits cannot be delimiters."},
		{Key: "outputFileName", Label: "Output Filename", Type: block.TypeString, Required: true, Default: "${filename}", SupportsExpressions: true, Normalize: block.FixDocNameTemplate,
			Description: "Name of the output file (NiFi Expression Language), e.g. merge_${now():format('yyyy-MM-dd')}.csv. A file name only: directories are rejected. Must match the destination block's file name."},
		{Key: "headersMapping", Label: "Header Mapping", Type: block.TypeText, Required: true, Default: "{}",
			Description: `JSON object {"<output header>": <value>}; a value is an input column name (rename), hdr{Col}, const{value} or exp{…} (SpEL), e.g. {"TAmount":"t_amount","Net":exp{hdr{Amount} - hdr{Discount}}}.`},
		{Key: "isHeaderless", Label: "Is the file headerless?", Type: block.TypeBool, Required: true, Default: "false",
			Description: "The input has no header row; its columns are named by headerlessMapping."},
		{Key: "headerlessMapping", Label: "Mention header names (for use in mapping and expressions)", Type: block.TypeList,
			Description: "Names of the input columns of a headerless file, in order, e.g. TAmount,BillID. No spaces, no double quotes."},
		{Key: "inputFileDelimiter", Label: "Input File Delimiter", Type: block.TypeString, Advanced: true,
			Description: "Delimiter of the input (Gen-1 field). Empty: the file.delimiter attribute set by the source block, else a comma."},
		{Key: "dateColumnHeader", Label: "Date Column Header", Type: block.TypeString, Advanced: true,
			Description: "Legacy: an input column whose dates are reformatted (before mappings read it) from existingDateFormat to newDateFormat."},
		{Key: "existingDateFormat", Label: "Existing Date Format", Type: block.TypeString, Advanced: true,
			Description: "Java date pattern of dateColumnHeader's values, e.g. dd/MM/yyyy."},
		{Key: "newDateFormat", Label: "New Date Format", Type: block.TypeString, Advanced: true,
			Description: "Java date pattern to write, e.g. yyyy-MM-dd HH:mm:ss."},
		{Key: "timeZone", Label: "Time Zone", Type: block.TypeString, Advanced: true,
			Description: "IANA zone in which dates are read and written, e.g. America/Chicago (default UTC)."},
	},
	Check: check,
	New:   newBlock,
}

// Register adds transform_header_data to r.
func Register(r *block.Registry) { r.MustRegister(Spec) }

func check(c *block.Config) []block.Problem {
	var probs []block.Problem
	if _, err := ParseDelimiter(c.String("outputFileDelimiter")); err != nil {
		probs = append(probs, block.Problem{Path: "outputFileDelimiter", Message: err.Error()})
	}
	if c.Has("inputFileDelimiter") {
		if _, err := ParseDelimiter(c.String("inputFileDelimiter")); err != nil {
			probs = append(probs, block.Problem{Path: "inputFileDelimiter", Message: err.Error()})
		}
	}
	if _, err := spel.CompileHeaderMapping(headersMappingText(c)); err != nil {
		probs = append(probs, block.Problem{Path: "headersMapping", Message: err.Error()})
	}
	if c.Bool("isHeaderless") && len(c.List("headerlessMapping")) == 0 {
		probs = append(probs, block.Problem{Path: "headerlessMapping", Message: "a headerless file needs its column names in headerlessMapping"})
	}
	for _, n := range c.List("headerlessMapping") {
		if strings.ContainsAny(n, "\" ") {
			probs = append(probs, block.Problem{Path: "headerlessMapping", Message: fmt.Sprintf("column name %q must not contain spaces or double quotes", n)})
		}
	}
	for _, n := range c.List("outputHeadersOrder") {
		if strings.ContainsAny(n, " ") {
			probs = append(probs, block.Problem{Path: "outputHeadersOrder", Message: fmt.Sprintf("header %q must not contain spaces", n)})
		}
	}
	if c.Has("dateColumnHeader") {
		for _, k := range []string{"existingDateFormat", "newDateFormat"} {
			if !c.Has(k) {
				probs = append(probs, block.Problem{Path: k, Message: fmt.Sprintf("%q is required with dateColumnHeader", k)})
			}
		}
		// A pattern error shows on any value: try one now rather than on every row.
		if c.Has("existingDateFormat") && c.Has("newDateFormat") {
			if _, err := spel.ReformatDate("2000-01-01", c.String("existingDateFormat"), c.String("newDateFormat"), nil); err != nil && strings.Contains(err.Error(), "date format:") {
				probs = append(probs, block.Problem{Path: "existingDateFormat", Message: err.Error()})
			}
		}
	}
	if c.Has("timeZone") {
		if _, err := time.LoadLocation(c.String("timeZone")); err != nil {
			probs = append(probs, block.Problem{Path: "timeZone", Message: fmt.Sprintf("unknown time zone %q", c.String("timeZone"))})
		}
	}
	return probs
}

// headersMappingText returns the mapping, treating an empty value as {}.
func headersMappingText(c *block.Config) string {
	s := strings.TrimSpace(c.String("headersMapping"))
	if s == "" {
		return "{}"
	}
	return s
}

// ParseDelimiter, FixDocNameTemplate and SafeFileName are shared by the
// file-producing blocks.
var (
	ParseDelimiter     = block.ParseDelimiter
	FixDocNameTemplate = block.FixDocNameTemplate
	SafeFileName       = block.SafeFileName
)

type transformBlock struct {
	name       string
	order      []string
	mapping    map[string]*spel.Mapping
	outDelim   byte
	inDelim    string // "" = from the unit's attribute
	fileName   *block.Template
	headerless bool
	names      []string
	dateCol    string
	dateFrom   string
	dateTo     string
	loc        *time.Location
	dir        string
	log        *slog.Logger

	spills block.Spills // lineage -> spill files
}

func newBlock(c *block.Config, env *block.Env) (block.Block, error) {
	entries, err := spel.CompileHeaderMapping(headersMappingText(c))
	if err != nil {
		return nil, fmt.Errorf("headersMapping: %w", err)
	}
	b := &transformBlock{
		name: env.Block, order: c.List("outputHeadersOrder"), mapping: map[string]*spel.Mapping{},
		headerless: c.Bool("isHeaderless"), names: c.List("headerlessMapping"),
		dateCol: c.String("dateColumnHeader"), dateFrom: c.String("existingDateFormat"), dateTo: c.String("newDateFormat"),
		dir: env.WorkDir, spills: block.Spills{Dir: env.WorkDir}, loc: time.UTC, log: env.Log(),
	}
	for _, e := range entries {
		b.mapping[e.Header] = e.Mapping
	}
	if b.outDelim, err = ParseDelimiter(c.String("outputFileDelimiter")); err != nil {
		return nil, fmt.Errorf("outputFileDelimiter: %w", err)
	}
	if c.Has("inputFileDelimiter") {
		d, err := ParseDelimiter(c.String("inputFileDelimiter"))
		if err != nil {
			return nil, fmt.Errorf("inputFileDelimiter: %w", err)
		}
		b.inDelim = string(d)
	}
	if c.Has("timeZone") {
		if b.loc, err = time.LoadLocation(c.String("timeZone")); err != nil {
			return nil, fmt.Errorf("timeZone: %w", err)
		}
	}
	if b.fileName, err = env.CompileTemplate(FixDocNameTemplate(c.String("outputFileName"))); err != nil {
		return nil, fmt.Errorf("outputFileName: %w", err)
	}
	if len(b.order) == 0 {
		return nil, errors.New("outputHeadersOrder is empty")
	}
	if b.headerless {
		// With a known input header every column reference can be checked now.
		if _, err := b.plan(b.names); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// source is where one output column comes from.
type source struct {
	col int           // input column copied, when m is nil
	m   *spel.Mapping // evaluated per row
}

// plan resolves every output column against the input header.
func (b *transformBlock) plan(header []string) ([]source, error) {
	idx := indexOf(header)
	out := make([]source, len(b.order))
	for i, h := range b.order {
		m, ok := b.mapping[h]
		if !ok {
			j, ok := idx[h]
			if !ok {
				return nil, fmt.Errorf("output header %q is neither in headersMapping nor an input column (input columns: %s)", h, strings.Join(header, ","))
			}
			out[i] = source{col: j}
			continue
		}
		for _, c := range m.Columns() {
			if _, ok := idx[c]; !ok {
				return nil, fmt.Errorf("headersMapping %q reads column %q, which the input does not have (input columns: %s)", h, c, strings.Join(header, ","))
			}
		}
		if m.Kind() == spel.KindColumn {
			out[i] = source{col: idx[m.Columns()[0]]}
			continue
		}
		out[i] = source{col: -1, m: m}
	}
	return out, nil
}

func indexOf(header []string) map[string]int {
	idx := make(map[string]int, len(header))
	for i, h := range header {
		if _, dup := idx[h]; !dup {
			idx[h] = i
		}
	}
	return idx
}

// row adapts one input row to spel.Row.
type row struct {
	idx    map[string]int
	fields []string
}

func (r *row) Get(col string) (string, bool) {
	i, ok := r.idx[col]
	if !ok {
		return "", false
	}
	if i < len(r.fields) {
		return r.fields[i], true
	}
	return "", true
}

func (b *transformBlock) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	if u.File == nil {
		return errors.New("transform_header_data takes files; it received records (place it before convert_csv_to_json)")
	}
	name, err := b.fileName.Eval(u.Attrs)
	if err != nil {
		return fmt.Errorf("outputFileName: %w", err)
	}
	if name, err = SafeFileName(name); err != nil {
		return err
	}
	inDelim := b.inDelim
	if inDelim == "" {
		inDelim = ","
		if d := u.Attrs[AttrDelimiter]; d != "" {
			if db, err := ParseDelimiter(d); err == nil {
				inDelim = string(db)
			}
		}
	}
	in, err := u.File.Open(ctx)
	if err != nil {
		return fmt.Errorf("open %s: %w", u.File.Name, err)
	}
	defer in.Close()
	lin := u.LineageID()
	okF, err := b.spills.Create(lin, "headers-out-*")
	if err != nil {
		return err
	}
	defer okF.Close()
	badF, err := b.spills.Create(lin, "headers-err-*")
	if err != nil {
		return err
	}
	defer badF.Close()
	st, err := b.transform(ctx, in, rune(inDelim[0]), okF, badF, out)
	if err != nil {
		return fmt.Errorf("%s: %w", u.File.Name, err)
	}
	if err := okF.Close(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if err := badF.Close(); err != nil {
		return fmt.Errorf("write error file: %w", err)
	}
	good, err := block.LocalFile(name, okF.Name())
	if err != nil {
		return err
	}
	nu := u.Derive()
	nu.File = good
	nu.Attrs[block.AttrFilename] = name
	nu.Attrs[block.AttrFileSize] = strconv.FormatInt(good.Size, 10)
	nu.Attrs[AttrDelimiter] = string(b.outDelim)
	nu.Attrs[AttrRowsOut] = strconv.FormatInt(st.ok, 10)
	nu.Attrs[AttrRowsFailed] = strconv.FormatInt(st.bad, 10)
	if err := out.Emit(ctx, block.RelSuccess, nu); err != nil {
		return err
	}
	if st.bad == 0 {
		return nil
	}
	// Without a failure edge the engine drops the companion file: the log
	// line and the transform.rows.failed attribute still tell.
	b.log.Warn("transform_header_data: rows failed", "file", u.File.Name, "failed", st.bad, "first", st.first)
	errName := "error_" + name
	bad, err := block.LocalFile(errName, badF.Name())
	if err != nil {
		return err
	}
	eu := u.Derive()
	eu.File = bad
	eu.Attrs[block.AttrFilename] = errName
	eu.Attrs[block.AttrFileSize] = strconv.FormatInt(bad.Size, 10)
	eu.Attrs[AttrDelimiter] = string(b.outDelim)
	eu.Attrs[AttrRowsFailed] = strconv.FormatInt(st.bad, 10)
	eu.Attrs[AttrErrorOf] = name
	eu.Attrs[block.ErrorAttr] = fmt.Sprintf("%d row(s) of %s failed in %s; first: %s", st.bad, u.File.Name, b.name, st.first)
	return out.Emit(ctx, block.RelFailure, eu)
}

type stats struct {
	ok, bad int64
	first   string
}

// transform streams in to the output and error writers.
func (b *transformBlock) transform(ctx context.Context, in io.Reader, delim rune, okW, badW io.Writer, out block.Output) (stats, error) {
	var st stats
	cr := &countingReader{r: in}
	rd := csvio.NewReader(cr, csvio.Options{Delimiter: delim, TrimBOM: true})
	ow := csvio.NewWriter(okW, b.outDelim)
	ew := csvio.NewWriter(badW, b.outDelim)
	var header []string
	if b.headerless {
		header = b.names
	} else {
		for {
			r, err := rd.Read()
			if err == io.EOF {
				// An empty file: nothing to rename; emit just the new header.
				header = nil
				break
			}
			if csvio.IsRecordError(err) {
				return st, fmt.Errorf("header row: %w", err)
			}
			if err != nil {
				return st, fmt.Errorf("read: %w", err)
			}
			header = append([]string(nil), r.Fields...)
			break
		}
	}
	var plan []source
	if header != nil || b.headerless {
		p, err := b.plan(header)
		if err != nil {
			return st, err
		}
		plan = p
	}
	if err := ow.Write(b.order); err != nil {
		return st, fmt.Errorf("write output: %w", err)
	}
	errHeader := append(append([]string(nil), header...), "line_number", "error_message")
	if err := ew.Write(errHeader); err != nil {
		return st, fmt.Errorf("write error file: %w", err)
	}
	if plan == nil {
		return st, finish(ow, ew)
	}
	dateCol := -1
	if b.dateCol != "" {
		if i, ok := indexOf(header)[b.dateCol]; ok {
			dateCol = i
		} else {
			return st, fmt.Errorf("dateColumnHeader %q is not an input column (input columns: %s)", b.dateCol, strings.Join(header, ","))
		}
	}
	rv := &row{idx: indexOf(header)}
	env := spel.NewEnv()
	outRow := make([]string, len(plan))
	failRow := make([]string, len(header)+2)
	fail := func(fields []string, line int64, msg string) error {
		st.bad++
		if st.first == "" {
			st.first = fmt.Sprintf("line %d: %s", line, msg)
		}
		for i := range header {
			failRow[i] = ""
			if i < len(fields) {
				failRow[i] = fields[i]
			}
		}
		failRow[len(header)] = strconv.FormatInt(line, 10)
		failRow[len(header)+1] = msg
		return ew.Write(failRow)
	}
	var n int
	for {
		r, err := rd.Read()
		if err == io.EOF {
			break
		}
		if re := (*csvio.RecordError)(nil); errors.As(err, &re) {
			if werr := fail(nil, re.StartLine, "malformed row: "+re.Msg); werr != nil {
				return st, fmt.Errorf("write error file: %w", werr)
			}
			continue
		}
		if err != nil {
			return st, fmt.Errorf("read: %w", err)
		}
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
			out.Progress(cr.take())
		}
		fields := r.Fields
		if dateCol >= 0 && dateCol < len(fields) && strings.TrimSpace(fields[dateCol]) != "" {
			d, err := spel.ReformatDate(fields[dateCol], b.dateFrom, b.dateTo, b.loc)
			if err != nil {
				if werr := fail(fields, r.Line, fmt.Sprintf("%s: %v", b.dateCol, err)); werr != nil {
					return st, fmt.Errorf("write error file: %w", werr)
				}
				continue
			}
			// Rows are not reused by the reader: a copy keeps the input intact for error rows.
			fields = append([]string(nil), fields...)
			fields[dateCol] = d
		}
		rv.fields = fields
		env.Reset()
		var rowErr error
		for i, s := range plan {
			if s.m == nil {
				outRow[i] = ""
				if s.col < len(fields) {
					outRow[i] = fields[s.col]
				}
				continue
			}
			v, err := s.m.Eval(rv, env)
			if err != nil {
				rowErr = fmt.Errorf("%s: %w", b.order[i], err)
				break
			}
			outRow[i] = v
		}
		if rowErr != nil {
			if werr := fail(r.Fields, r.Line, rowErr.Error()); werr != nil {
				return st, fmt.Errorf("write error file: %w", werr)
			}
			continue
		}
		if err := ow.Write(outRow); err != nil {
			return st, fmt.Errorf("write output: %w", err)
		}
		st.ok++
	}
	out.Progress(cr.take())
	return st, finish(ow, ew)
}

func finish(ow, ew *csvio.Writer) error {
	if err := ow.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if err := ew.Flush(); err != nil {
		return fmt.Errorf("write error file: %w", err)
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) take() int64 {
	n := c.n
	c.n = 0
	return n
}

// EndLineage removes the lineage's output and error files once every
// downstream block has read them.
func (b *transformBlock) EndLineage(_ context.Context, lineageID string, _ bool) error {
	b.spills.Release(lineageID)
	return nil
}

// Close removes every spill left.
func (b *transformBlock) Close() error {
	b.spills.ReleaseAll()
	return nil
}
