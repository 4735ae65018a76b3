package reconcile

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/format/csvio"
	"github.com/connectplus/connectplus/lang/javatime"
	"github.com/connectplus/connectplus/runstate"
)

// Attributes set on the emitted units.
const (
	AttrDiffPath = "diff.path"
	AttrSource   = "reconciliation.source"
	AttrMissing  = "reconciliation.missing"
	AttrPresent  = "reconciliation.present"
	AttrExpected = "reconciliation.expected"
)

// maxReportDiffs bounds the differences listed in the report; the totals
// always count all of them, and the output file marks every row.
const maxReportDiffs = 1000

type reconciler struct {
	env       *block.Env
	mapping   *Mapping
	diffPath  string
	orgID     string
	delim     byte
	layout    *javatime.Layout
	minYear   *block.Template
	batch     int
	dest      func() (destination, error)
	compareTo string
}

func newReconciler(c *block.Config, env *block.Env, types []string) (block.Block, error) {
	m, err := ParseFileTemplate(c.String(KeyFileTemplate), types)
	if err != nil {
		return nil, err
	}
	d, err := delimiter(c.String(KeyDelimiter))
	if err != nil {
		return nil, err
	}
	r := &reconciler{env: env, mapping: m, diffPath: c.String(KeyDiffPath), orgID: c.String(KeyOrgID), delim: d,
		batch: c.Int(KeyBatchSize, 1000), compareTo: c.String(KeyCompareWith)}
	if f := c.String(KeyDateFormat); f != "" {
		if r.layout, err = javatime.Compile(f); err != nil {
			return nil, fmt.Errorf("%s: %w", KeyDateFormat, err)
		}
	} else {
		r.layout = javatime.MustCompile("yyyy-MM-dd")
	}
	if c.Spec().Type == "diff_tool" {
		if r.minYear, err = env.CompileTemplate(c.String(KeyMinimumYear)); err != nil {
			return nil, fmt.Errorf("%s: %w", KeyMinimumYear, err)
		}
	}
	client := &http.Client{Timeout: 60 * time.Second}
	switch r.compareTo {
	case CompareLedger:
		if flow := c.String(KeyLedgerFlow); flow != "" {
			if env == nil || env.Ledger == nil {
				return nil, fmt.Errorf("%s: only the server keeps its dataflows' runs; under connectplus run give %s, the directory of the ingestion's result files", KeyLedgerFlow, KeyLedgerPath)
			}
			r.dest = func() (destination, error) { return openFlowLedger(env.Ledger, flow, m, r) }
			break
		}
		dir := c.String(KeyLedgerPath)
		if env != nil && env.LocalPaths != nil {
			if err := env.LocalPaths.Check(dir); err != nil {
				return nil, fmt.Errorf("%s: %w", KeyLedgerPath, err)
			}
		}
		r.dest = func() (destination, error) { return openLedger(dir, m, r) }
	default:
		base := strings.TrimRight(c.String(KeyAPIBaseURL), "/")
		mode := c.String(KeyLookupMode)
		if env != nil && env.Sandbox != "" {
			base = strings.TrimRight(env.Sandbox, "/")
			if mode == ModeAuto {
				mode = ModeSandbox
			}
		}
		if base == "" {
			return nil, fmt.Errorf("%s is required to compare with the destination", KeyAPIBaseURL)
		}
		sandboxDoer := &httpDoer{client: client, base: base, limiter: newLimiter(0), sem: make(chan struct{}, 1)}
		apiDoer := &httpDoer{client: client, base: base, limiter: newLimiter(c.Float(KeyRate, 16)), sem: make(chan struct{}, c.Int(KeyConcurrency, 4))}
		o := &oauth{client: client, base: base, key: c.String(KeyClientKey), secret: c.String(KeyClientSecret)}
		apiDoer.auth = o.apply
		source := strings.ToUpper(c.String(KeySource))
		r.dest = func() (destination, error) {
			use := mode
			if use == ModeAuto {
				// A base URL that is an API sandbox answers its health
				// check: ask its batched lookup instead of one call per key.
				use = ModeAPI
				if isSandbox(client, base) {
					use = ModeSandbox
				}
			}
			if use == ModeSandbox {
				return &sandboxDest{http: sandboxDoer, kind: m.Entity.Kind}, nil
			}
			if m.Entity.Name == EntityTestControl {
				return nil, errors.New("the Capillary API documents no read of a customer's test/control status: compare with the ledger (compareWith=ledger) or a sandbox")
			}
			return &apiDest{http: apiDoer, entity: m.Entity, source: source}, nil
		}
	}
	return r, nil
}

// isSandbox reports whether base is a Connect+ API sandbox.
func isSandbox(client *http.Client, base string) bool {
	resp, err := client.Get(base + "/_sandbox/health")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var ans struct {
		OK bool `json:"ok"`
	}
	return resp.StatusCode == http.StatusOK && json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&ans) == nil && ans.OK
}

// Report is the reconciliation report of one source file.
type Report struct {
	Block    string    `json:"block"`
	OrgID    string    `json:"orgId,omitempty"`
	File     string    `json:"file"`
	Output   string    `json:"output"`
	DiffPath string    `json:"diffPath"`
	Entity   string    `json:"entityType"`
	Source   string    `json:"source"` // which source answered: sandbox, capillary-api, ledger
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// MatchedOn lists the mapped identifying fields; Compared the fields
	// compared once an entity is found; Unverified the mapped fields the
	// destination did not carry (they could not be checked).
	MatchedOn  []string `json:"matchedOn"`
	Compared   []string `json:"compared"`
	Unverified []string `json:"unverified,omitempty"`
	FromYear   int      `json:"fromYear,omitempty"`
	Totals     Totals   `json:"totals"`
	Requests   int64    `json:"lookupRequests"`
	// Resumed counts rows whose answers came from the saved state of an
	// interrupted run (not asked again).
	Resumed     int64        `json:"resumedRows,omitempty"`
	Differences []Difference `json:"differences"`
	Truncated   bool         `json:"differencesTruncated,omitempty"`

	records *recordSink
}

// Totals are the report's counts (the runtime keeps them: one
// definition, in runstate).
type Totals = runstate.ReconTotals

// Difference is one row that is missing, mismatched, duplicated or invalid.
type Difference = runstate.ReconRecord

func (r *reconciler) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	if u.File == nil {
		return errors.New("diff_tool takes a file (the source CSV), not records: place it right after the source or decrypt block")
	}
	lineage := ""
	resumed := false
	if u.Lineage != nil {
		lineage, resumed = u.Lineage.ID(), u.Lineage.Resumed()
	}
	work := r.env.WorkDir
	if work == "" {
		work = os.TempDir()
	}
	outPath := filepath.Join(work, "reconciled-"+safeName(lineage+"-"+u.File.Name))
	// Every difference goes to the runtime, not only the report's first
	// maxReportDiffs: it keeps them for the paged table of the UI.
	recordsPath := ""
	if r.env != nil && r.env.Reports != nil {
		recordsPath = outPath + ".records.jsonl"
		defer os.Remove(recordsPath)
	}
	rep, err := r.run(ctx, u.File, lineage, resumed, outPath, recordsPath)
	if err != nil {
		os.Remove(outPath)
		return fmt.Errorf("reconcile %s: %w", u.File.Name, err)
	}
	rep.Block = r.env.Block
	doc, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	doc = append(doc, '\n')
	// Recorded before the results file is handed on: the runtime keeps a
	// copy of it for download while it is certainly still there.
	if recordsPath != "" {
		r.env.Reports.RecordReport(block.ReportDoc{LineageID: lineage, Block: r.env.Block, Kind: "reconciliation", File: u.File.Name, Doc: doc,
			Results: outPath, Records: recordsPath})
	}
	res, err := block.LocalFile(u.File.Name, outPath)
	if err != nil {
		return err
	}
	nu := u.Derive()
	nu.File = res
	nu.Attrs[AttrDiffPath] = r.diffPath
	nu.Attrs[AttrSource] = rep.Source
	nu.Attrs[AttrMissing] = strconv.FormatInt(rep.Totals.Missing, 10)
	nu.Attrs[AttrPresent] = strconv.FormatInt(rep.Totals.Present, 10)
	nu.Attrs[AttrExpected] = strconv.FormatInt(rep.Totals.Expected, 10)
	delete(nu.Attrs, block.AttrFileSize)
	if err := out.Emit(ctx, block.RelSuccess, nu); err != nil {
		return err
	}
	ru := nu.Derive()
	ru.File = block.NewFile(ReportName(u.File.Name), int64(len(doc)), func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(string(doc))), nil
	})
	ru.Attrs[block.AttrFilename] = ReportName(u.File.Name)
	ru.Attrs[block.AttrMimeType] = "application/json"
	return out.Emit(ctx, RelReport, ru)
}

// ReportName is the report file's name for a source file: reconciliation_<base>.json.
func ReportName(file string) string {
	base := path.Base(file)
	return "reconciliation_" + strings.TrimSuffix(base, path.Ext(base)) + ".json"
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, s)
}

func (r *reconciler) fromYear() (int, error) {
	if r.minYear == nil {
		return 0, nil
	}
	s, err := r.minYear.Eval(block.Attributes{})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", KeyMinimumYear, err)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	y, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s must be a year, got %q", KeyMinimumYear, s)
	}
	return y, nil
}

// pending is a row waiting for its batch's lookup.
type pending struct {
	line   int64
	fields []string // the row's columns (copied)
	raw    string
	vals   []string // mapped fields' values, dates as yyyy-MM-dd
	value  string   // the lookup value
	skip   string   // why the row is not compared ("" = compare)
	before bool
}

func (r *reconciler) run(ctx context.Context, f *block.File, lineage string, resumed bool, outPath, recordsPath string) (*Report, error) {
	year, err := r.fromYear()
	if err != nil {
		return nil, err
	}
	dest, err := r.dest()
	if err != nil {
		return nil, err
	}
	if c, ok := dest.(io.Closer); ok {
		defer c.Close() // the ledger's on-disk index
	}
	rep := &Report{OrgID: r.orgID, File: f.Name, Output: f.Name, DiffPath: r.diffPath, Entity: r.mapping.Entity.Name, Source: dest.name(),
		Started: r.env.Clock().UTC(), FromYear: year, Differences: []Difference{}}
	for _, mf := range r.mapping.identity() {
		rep.MatchedOn = append(rep.MatchedOn, mf.Name)
	}
	for _, mf := range r.mapping.compared() {
		rep.Compared = append(rep.Compared, mf.Name)
	}
	in, err := f.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer in.Close()
	// A new file, never the old one truncated: the runtime may keep a
	// hard link to the results of an earlier attempt.
	_ = os.Remove(outPath)
	of, err := os.Create(outPath)
	if err != nil {
		return nil, err
	}
	defer of.Close()
	bw := bufio.NewWriterSize(of, 256<<10)
	w := csvio.NewWriter(bw, r.delim)
	if recordsPath != "" {
		rf, err := os.Create(recordsPath)
		if err != nil {
			return nil, fmt.Errorf("records file: %w", err)
		}
		defer rf.Close()
		rep.records = &recordSink{f: rf, w: bufio.NewWriterSize(rf, 64<<10)}
	}

	st, err := openState(r.env, lineage, resumed)
	if err != nil {
		return nil, err
	}
	defer st.close()

	rd := csvio.NewReader(in, csvio.Options{Delimiter: rune(r.delim), TrimBOM: true})
	hdr, err := rd.Read()
	if err == io.EOF {
		return nil, errors.New("the file is empty: no header row")
	}
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	header := append([]string(nil), hdr.Fields...)
	cols := make([]int, len(r.mapping.Fields))
	var missingCols []string
	for i, mf := range r.mapping.Fields {
		cols[i] = indexOf(header, mf.Column)
		if cols[i] < 0 {
			missingCols = append(missingCols, mf.Column+" ("+mf.Name+")")
		}
	}
	if len(missingCols) > 0 {
		return nil, fmt.Errorf("fileTemplate maps columns that are not in the file: %s (file header: %s)", strings.Join(missingCols, ", "), strings.Join(header, string(r.delim)))
	}
	if indexOf(header, StatusColumn) >= 0 {
		return nil, fmt.Errorf("the file already has a %s column: reconcile the source file, not a results file", StatusColumn)
	}
	if err := w.Write(append(header, StatusColumn)); err != nil {
		return nil, err
	}
	unverified := map[string]bool{}
	batch := make([]pending, 0, r.batch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		verdicts, err := r.decide(ctx, dest, st, batch, unverified, rep)
		if err != nil {
			return err
		}
		for i := range batch {
			if err := r.emitRow(w, bw, &batch[i], verdicts[i], rep); err != nil {
				return err
			}
		}
		batch = batch[:0]
		return st.checkpoint()
	}
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read the source file: %w", err)
		}
		p := pending{line: row.Line, fields: append([]string(nil), row.Fields...), raw: row.Raw}
		r.prepare(&p, cols, year)
		batch = append(batch, p)
		if len(batch) >= r.batch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := of.Close(); err != nil {
		return nil, err
	}
	if err := rep.records.close(); err != nil {
		return nil, err
	}
	for k := range unverified {
		rep.Unverified = append(rep.Unverified, k)
	}
	sortStrings(rep.Unverified)
	rep.Requests = dest.requests()
	rep.Finished = r.env.Clock().UTC()
	st.finish()
	return rep, nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// prepare extracts and normalises the mapped values of a row.
func (r *reconciler) prepare(p *pending, cols []int, year int) {
	p.vals = make([]string, len(cols))
	for i, c := range cols {
		v := ""
		if c < len(p.fields) {
			v = strings.TrimSpace(p.fields[c])
		}
		mf := &r.mapping.Fields[i]
		if mf.Kind == kindDate && v != "" {
			t, err := r.layout.Parse(v, time.UTC)
			if err != nil {
				p.skip = fmt.Sprintf("%s %q does not match the date format %s", mf.Column, v, r.layout.Pattern())
				continue
			}
			if year > 0 && t.Year() < year {
				p.before = true
			}
			v = t.Format("2006-01-02")
		}
		p.vals[i] = v
	}
	if p.skip != "" {
		return
	}
	_, p.value = lookupBy(r.mapping, p.vals)
	if p.value == "" {
		by, _ := lookupBy(r.mapping, p.vals)
		p.skip = "no value to look the entity up by (" + by + ")"
	}
}

// decide looks up a batch (distinct values once) and judges its rows;
// answers already saved by an interrupted run are reused.
func (r *reconciler) decide(ctx context.Context, dest destination, st *state, batch []pending, unverified map[string]bool, rep *Report) ([]verdict, error) {
	out := make([]verdict, len(batch))
	pending := make([]int, 0, len(batch))
	for i := range batch {
		if v, ok := st.next(); ok {
			out[i] = v
			rep.Resumed++
			continue
		}
		pending = append(pending, i)
	}
	if len(pending) == 0 {
		return out, nil
	}
	by := ""
	var values []string
	pos := map[string]int{}
	for _, i := range pending {
		p := &batch[i]
		if p.skip != "" || p.before {
			continue
		}
		b, v := lookupBy(r.mapping, p.vals)
		by = b
		if _, seen := pos[b+"\x00"+v]; !seen {
			pos[b+"\x00"+v] = len(values)
			values = append(values, v)
		}
	}
	var answers [][]candidate
	if len(values) > 0 {
		// Customers may be looked up by different identifiers row to row:
		// group by what each row is looked up by.
		groups := map[string][]string{}
		for _, i := range pending {
			p := &batch[i]
			if p.skip != "" || p.before {
				continue
			}
			b, v := lookupBy(r.mapping, p.vals)
			groups[b] = append(groups[b], v)
		}
		answers = make([][]candidate, len(values))
		for b, vs := range groups {
			vs = dedupe(vs)
			res, err := dest.lookup(ctx, b, vs)
			if err != nil {
				return nil, fmt.Errorf("%s lookup: %w", dest.name(), err)
			}
			for j, v := range vs {
				answers[pos[b+"\x00"+v]] = res[j]
			}
		}
		_ = by
	}
	for _, i := range pending {
		p := &batch[i]
		switch {
		case p.skip != "":
			out[i] = verdict{Reason: p.skip}
		case p.before:
			out[i] = verdict{Reason: "before"}
		default:
			b, v := lookupBy(r.mapping, p.vals)
			out[i] = r.judgeRow(p.vals, answers[pos[b+"\x00"+v]], unverified)
		}
		if err := st.save(out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r *reconciler) judgeRow(vals []string, cands []candidate, unverified map[string]bool) verdict {
	if r.mapping.Entity.Name == EntityTestControl {
		// The customer's status is its latest change: judge against that
		// one alone; earlier changes are history, not duplicates.
		if len(cands) > 0 {
			cands = cands[len(cands)-1:]
		}
		v := judge(r.mapping, vals, cands, unverified)
		if v.Status == '1' && len(v.Diffs) > 0 {
			v.Status = '0'
		}
		return v
	}
	return judge(r.mapping, vals, cands, unverified)
}

func dedupe(vs []string) []string {
	seen := make(map[string]bool, len(vs))
	out := vs[:0]
	for _, v := range vs {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// emitRow writes the row plus its status and counts it.
func (r *reconciler) emitRow(w *csvio.Writer, bw *bufio.Writer, p *pending, v verdict, rep *Report) error {
	rep.Totals.Rows++
	status := ""
	var err error
	switch {
	case v.Reason == "before":
		rep.Totals.BeforeYear++
	case v.Reason != "":
		rep.Totals.Invalid++
		err = r.addDiff(rep, p, Difference{Kind: "invalid", Reason: v.Reason})
	default:
		rep.Totals.Expected++
		status = string(v.Status)
		if v.Status == '1' {
			rep.Totals.Present++
		} else {
			rep.Totals.Missing++
		}
		isTNC := r.mapping.Entity.Name == EntityTestControl
		switch {
		case v.Status == '0' && (!isTNC || v.EntityID == ""):
			err = r.addDiff(rep, p, Difference{Kind: "missing"})
		case len(v.Diffs) > 0:
			rep.Totals.Mismatched++
			err = r.addDiff(rep, p, Difference{Kind: "mismatch", EntityID: v.EntityID, Fields: v.Diffs})
		case v.Matches > 1 && !isTNC:
			rep.Totals.Duplicates++
			err = r.addDiff(rep, p, Difference{Kind: "duplicate", EntityID: v.EntityID, Matches: v.Matches})
		}
		if v.Matches > 1 && len(v.Diffs) > 0 && !isTNC {
			rep.Totals.Duplicates++
		}
	}
	if err != nil {
		return err
	}
	if p.raw != "" && len(p.fields) > 0 {
		if err := w.Flush(); err != nil {
			return err
		}
		bw.WriteString(p.raw)
		bw.WriteByte(r.delim)
		bw.WriteString(status)
		return bw.WriteByte('\n')
	}
	return w.Write(append(p.fields, status))
}

func (r *reconciler) addDiff(rep *Report, p *pending, d Difference) error {
	if len(rep.Differences) >= maxReportDiffs && rep.records == nil {
		rep.Truncated = true
		return nil
	}
	d.Line = p.line
	// The row's values share the CSV reader's 128 KiB chunk: a difference
	// kept in the report must own copies, or the first 1,000 differences
	// of a file would keep up to 1,000 chunks (128 MB) alive.
	d.Key = map[string]string{}
	for i, mf := range r.mapping.Fields {
		if mf.Role == roleIdentity && p.vals[i] != "" {
			d.Key[mf.Name] = strings.Clone(p.vals[i])
		}
	}
	if len(d.Fields) > 0 {
		fields := make([]FieldDiff, len(d.Fields))
		for i, f := range d.Fields {
			fields[i] = FieldDiff{Field: f.Field, Column: f.Column, Source: strings.Clone(f.Source), Destination: strings.Clone(f.Destination)}
		}
		d.Fields = fields
	}
	d.Reason = strings.Clone(d.Reason)
	if err := rep.records.add(&d); err != nil {
		return err
	}
	if len(rep.Differences) >= maxReportDiffs {
		rep.Truncated = true
		return nil
	}
	rep.Differences = append(rep.Differences, d)
	return nil
}

// recordSink writes every difference, one JSON line each, for the
// runtime (nil: no runtime keeps them).
type recordSink struct {
	f *os.File
	w *bufio.Writer
}

func (s *recordSink) add(d *Difference) error {
	if s == nil {
		return nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	s.w.Write(b)
	if err := s.w.WriteByte('\n'); err != nil {
		return fmt.Errorf("records file: %w", err)
	}
	return nil
}

func (s *recordSink) close() error {
	if s == nil {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("records file: %w", err)
	}
	return s.f.Close()
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
