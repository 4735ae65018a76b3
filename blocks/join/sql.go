package join

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/format/csvio"
)

// FileJoinSpec is file_join (Join Related Files (SQL), spec §2.4.11).
var FileJoinSpec = &block.Spec{
	Type: "file_join", Label: "Join Related Files (SQL)", Class: block.ClassExecutor, Category: "Transformation",
	Description: "Joins delimited files with an SQLite query and outputs one CSV file. File i (the one matching the i-th pattern of tableFilePatterns) " +
		"is loaded into table{i} (every column TEXT) of a temporary database in the block's work directory, then joinQuery runs (a single read-only SELECT). " +
		"The input is either a ZIP archive holding the related files (from fetch_related_files / decrypt_related_files) or the files themselves, one unit each: " +
		"those wait for their companions like two_join's (a pattern with a capture group pairs files whose group 1 is equal).",
	Input: block.KindFile, Output: block.KindFile,
	Fields: []block.Field{
		{Key: "tableFilePatterns", Label: "Table File Patterns", Type: block.TypeString, Required: true,
			Description: `Comma-separated whole-name regexes; pattern i loads into table{i}, e.g. TktCoupon_.*\.dat, TktDocument_.*\.dat.`,
			Example:     `TktCoupon_(.*)\.dat, TktDocument_(.*)\.dat`},
		{Key: "headerlessTableMappings", Label: "Headerless Table Mappings", Type: block.TypeJSON,
			Description: `Column names of headerless files by table number, '|'-separated: {"1": "col1|col2|col3", "2": "colA|colB"}.`},
		{Key: "joinQuery", Label: "Join Query", Type: block.TypeText, Required: true,
			Description: "SQLite SELECT over table1, table2, …, e.g. SELECT table1.*, table2.* FROM table1 INNER JOIN table2 ON table1.col = table2.col."},
		{Key: "outputFilename", Label: "Output Filename", Type: block.TypeString, Default: "joined_output.csv", SupportsExpressions: true, Normalize: fixDocNameTemplate,
			Description: "Name of the output (NiFi Expression Language), e.g. merg_${now():format('yyyy-MM-dd')}.csv."},
		{Key: "includeHeader", Label: "Include Header", Type: block.TypeBool, Default: "true",
			Description: "Write the query's column names as the first row."},
		{Key: "csvDelimiter", Label: "CSV Delimiter", Type: block.TypeString, Default: ",",
			Description: "Delimiter of the input files (listed as required by the catalogue, which does not define it; spec §9 issue 12)."},
		{Key: "outputCsvDelimiter", Label: "Output CSV Delimiter", Type: block.TypeString,
			Description: "Delimiter of the output; empty: csvDelimiter."},
		{Key: keyTimeout, Label: "Companion Timeout", Type: block.TypeString, Default: "10m", Advanced: true,
			Description: "For inputs given as separate files: how long a file waits for the others (Go duration or seconds)."},
	},
	Check: checkFileJoin,
	New:   newFileJoin,
}

// splitPatterns splits a comma-separated list of regexes, ignoring commas
// inside {m,n} quantifiers, [classes] and (groups).
func splitPatterns(s string) []string {
	var out []string
	depth, start := 0, 0
	esc := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case c == '{' || c == '[' || c == '(':
			depth++
		case (c == '}' || c == ']' || c == ')') && depth > 0:
			depth--
		case c == ',' && depth == 0:
			if p := strings.TrimSpace(s[start:i]); p != "" {
				out = append(out, p)
			}
			start = i + 1
		}
	}
	if p := strings.TrimSpace(s[start:]); p != "" {
		out = append(out, p)
	}
	return out
}

func parseHeaderless(c *block.Config, n int) (map[int][]string, error) {
	raw := map[string]string{}
	if err := c.JSON("headerlessTableMappings", &raw); err != nil {
		return nil, err
	}
	out := map[int][]string{}
	for k, v := range raw {
		i, err := strconv.Atoi(strings.TrimSpace(k))
		if err != nil || i < 1 || i > n {
			return nil, fmt.Errorf("headerlessTableMappings: key %q is not a table number between 1 and %d", k, n)
		}
		var names []string
		for _, s := range strings.Split(v, "|") {
			names = append(names, strings.TrimSpace(s))
		}
		out[i] = names
	}
	return out, nil
}

func checkFileJoin(c *block.Config) []block.Problem {
	var probs []block.Problem
	pats := splitPatterns(c.String("tableFilePatterns"))
	if len(pats) == 0 {
		probs = append(probs, block.Problem{Path: "tableFilePatterns", Message: "no pattern given"})
	}
	for _, p := range pats {
		if _, err := block.CompileJavaRegexWhole(p); err != nil {
			probs = append(probs, block.Problem{Path: "tableFilePatterns", Message: fmt.Sprintf("pattern %q: %v", p, err)})
		}
	}
	if _, err := parseHeaderless(c, len(pats)); err != nil {
		probs = append(probs, block.Problem{Path: "headerlessTableMappings", Message: err.Error()})
	}
	if err := checkQuery(c.String("joinQuery")); err != nil {
		probs = append(probs, block.Problem{Path: "joinQuery", Message: err.Error()})
	}
	for _, k := range []string{"csvDelimiter", "outputCsvDelimiter"} {
		if c.Has(k) {
			if _, err := parseDelimiter(c.String(k)); err != nil {
				probs = append(probs, block.Problem{Path: k, Message: err.Error()})
			}
		}
	}
	if _, err := parseTimeout(c.String(keyTimeout)); err != nil {
		probs = append(probs, block.Problem{Path: keyTimeout, Message: err.Error()})
	}
	return probs
}

// checkQuery accepts one SELECT (or WITH … SELECT) statement: the query runs
// on a read-only connection that cannot attach databases, and refusing other
// statements up front gives a clear message instead of an SQLite error.
func checkQuery(q string) error {
	s := strings.TrimSpace(stripSQLComments(q))
	s = strings.TrimSpace(strings.TrimSuffix(s, ";"))
	if s == "" {
		return errors.New("the join query is empty")
	}
	up := strings.ToUpper(s)
	if !strings.HasPrefix(up, "SELECT") && !strings.HasPrefix(up, "WITH") && !strings.HasPrefix(up, "VALUES") {
		return fmt.Errorf("the join query must be a SELECT statement, got %q", firstWord(s))
	}
	if i := outsideQuotes(s, ';'); i >= 0 {
		return errors.New("the join query must be a single statement (found ';' before its end)")
	}
	return nil
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t\r\n("); i > 0 {
		return s[:i]
	}
	return s
}

// outsideQuotes returns the index of the first c outside '…', "…", `…` and
// […] quoting, or -1.
func outsideQuotes(s string, c byte) int {
	var q byte
	for i := 0; i < len(s); i++ {
		switch {
		case q != 0:
			if s[i] == q {
				q = 0
			}
		case s[i] == '\'' || s[i] == '"' || s[i] == '`':
			q = s[i]
		case s[i] == '[':
			q = ']'
		case s[i] == c:
			return i
		}
	}
	return -1
}

var (
	lineComment  = regexp.MustCompile(`--[^\n]*`)
	blockComment = regexp.MustCompile(`(?s)/\*.*?\*/`)
)

func stripSQLComments(q string) string {
	return lineComment.ReplaceAllString(blockComment.ReplaceAllString(q, " "), " ")
}

type fileJoin struct {
	*waitingBlock
	patterns []*regexp.Regexp
	labels   []string
	headless map[int][]string
	query    string
	header   bool
	inDelim  byte
	outDelim byte
	workDir  string
}

func newFileJoin(c *block.Config, env *block.Env) (block.Block, error) {
	b := &fileJoin{query: c.String("joinQuery"), header: c.Bool("includeHeader"), workDir: env.WorkDir}
	pats := splitPatterns(c.String("tableFilePatterns"))
	slots := make([]slotMatcher, len(pats))
	for i, p := range pats {
		re, err := block.CompileJavaRegexWhole(p)
		if err != nil {
			return nil, fmt.Errorf("tableFilePatterns %q: %w", p, err)
		}
		b.patterns, b.labels = append(b.patterns, re), append(b.labels, p)
		slots[i] = slotMatcher{label: p, re: re}
		if re.NumSubexp() > 0 {
			slots[i].key = re
		}
	}
	var err error
	if b.headless, err = parseHeaderless(c, len(pats)); err != nil {
		return nil, err
	}
	if err := checkQuery(b.query); err != nil {
		return nil, fmt.Errorf("joinQuery: %w", err)
	}
	delim := c.String("csvDelimiter")
	if delim == "" {
		delim = ","
	}
	if b.inDelim, err = parseDelimiter(delim); err != nil {
		return nil, fmt.Errorf("csvDelimiter: %w", err)
	}
	b.outDelim = b.inDelim
	if c.Has("outputCsvDelimiter") {
		if b.outDelim, err = parseDelimiter(c.String("outputCsvDelimiter")); err != nil {
			return nil, fmt.Errorf("outputCsvDelimiter: %w", err)
		}
	}
	timeout, err := parseTimeout(c.String(keyTimeout))
	if err != nil {
		return nil, err
	}
	if b.waitingBlock, err = newWaitingBlock("file_join", env, slots, timeout, c.String("outputFilename")); err != nil {
		return nil, err
	}
	b.join = b.joinSet
	return b, nil
}

// Process joins a ZIP archive's members at once; other files wait for their
// companions.
func (b *fileJoin) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	if u.File == nil {
		return errors.New("file_join takes files; it received records")
	}
	isZip, err := looksLikeZip(ctx, u.File)
	if err != nil {
		return err
	}
	if !isZip {
		return b.waitingBlock.Process(ctx, u, out)
	}
	lin := u.LineageID()
	spool, err := os.CreateTemp(b.workDir, "file-join-zip-*")
	if err != nil {
		return fmt.Errorf("spool archive: %w", err)
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	in, err := u.File.Open(ctx)
	if err != nil {
		return fmt.Errorf("open %s: %w", u.File.Name, err)
	}
	size, err := io.Copy(spool, ctxReader{ctx, in})
	in.Close()
	if err != nil {
		return fmt.Errorf("spool archive %s: %w", u.File.Name, err)
	}
	zr, err := zip.NewReader(spool, size)
	if err != nil {
		return fmt.Errorf("%s is not a readable ZIP archive: %w", u.File.Name, err)
	}
	tables := make([][]tableSource, len(b.patterns))
	for _, m := range zr.File {
		if m.FileInfo().IsDir() {
			continue
		}
		base := path.Base(m.Name)
		for i, re := range b.patterns {
			if re.MatchString(base) {
				m := m
				tables[i] = append(tables[i], tableSource{name: m.Name, open: func() (io.ReadCloser, error) { return m.Open() }})
				break
			}
		}
	}
	for i, t := range tables {
		if len(t) == 0 {
			return fmt.Errorf("archive %s has no file matching pattern %d %q (table%d)", u.File.Name, i+1, b.labels[i], i+1)
		}
	}
	name, err := b.outName.Eval(u.Attrs)
	if err != nil {
		return fmt.Errorf("outputFilename: %w", err)
	}
	if name, err = safeFileName(name); err != nil {
		return err
	}
	outPath, err := b.newOutput(lin)
	if err != nil {
		return err
	}
	rows, err := b.runSQL(ctx, tables, outPath)
	if err != nil {
		return fmt.Errorf("%s: %w", u.File.Name, err)
	}
	lf, err := block.LocalFile(name, outPath)
	if err != nil {
		return err
	}
	nu := u.Derive()
	nu.File = lf
	nu.Attrs[block.AttrFilename] = name
	nu.Attrs[block.AttrFileSize] = strconv.FormatInt(lf.Size, 10)
	nu.Attrs[AttrJoinRows] = strconv.FormatInt(rows, 10)
	nu.Attrs[AttrDelimiter] = string(b.outDelim)
	return out.Emit(ctx, block.RelSuccess, nu)
}

func (b *fileJoin) newOutput(lineage string) (string, error) {
	f, err := os.CreateTemp(b.workDir, "file-join-out-*")
	if err != nil {
		return "", fmt.Errorf("join output: %w", err)
	}
	f.Close()
	b.track(lineage, f.Name())
	return f.Name(), nil
}

func looksLikeZip(ctx context.Context, f *block.File) (bool, error) {
	in, err := f.Open(ctx)
	if err != nil {
		return false, fmt.Errorf("open %s: %w", f.Name, err)
	}
	defer in.Close()
	var magic [4]byte
	n, err := io.ReadFull(in, magic[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read %s: %w", f.Name, err)
	}
	return n == 4 && bytes.Equal(magic[:], []byte("PK\x03\x04")), nil
}

func (b *fileJoin) joinSet(ctx context.Context, set []*pendingFile, outPath string) (map[string]string, error) {
	tables := make([][]tableSource, len(set))
	for i, p := range set {
		p := p
		tables[i] = []tableSource{{name: p.Name, open: func() (io.ReadCloser, error) { return os.Open(p.dataPath()) }}}
	}
	rows, err := b.runSQL(ctx, tables, outPath)
	if err != nil {
		return nil, err
	}
	return map[string]string{AttrJoinRows: strconv.FormatInt(rows, 10), AttrDelimiter: string(b.outDelim)}, nil
}

type tableSource struct {
	name string
	open func() (io.ReadCloser, error)
}

// sqliteLimitAttached is SQLITE_LIMIT_ATTACHED: 0 forbids ATTACH, so the
// query cannot open (or create) database files elsewhere.
const sqliteLimitAttached = 7

// runSQL loads the tables into a temporary database, runs the query and
// writes its result as CSV to outPath.
func (b *fileJoin) runSQL(ctx context.Context, tables [][]tableSource, outPath string) (int64, error) {
	dir, err := os.MkdirTemp(b.workDir, "file-join-db-*")
	if err != nil {
		return 0, fmt.Errorf("temporary database: %w", err)
	}
	defer os.RemoveAll(dir)
	// The path is URI-escaped: a work directory holding '?' or '#' would
	// otherwise be cut short and point at another database.
	dsn := (&url.URL{Scheme: "file", Path: filepath.Join(dir, "join.db")}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return 0, fmt.Errorf("temporary database: %w", err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("temporary database: %w", err)
	}
	defer conn.Close()
	// A small page cache and file-backed temp storage keep memory bounded:
	// the database lives on disk, however large the files. Nothing needs
	// to survive a crash, so no journal and no syncs.
	for _, p := range []string{"PRAGMA journal_mode = OFF", "PRAGMA synchronous = OFF", "PRAGMA cache_size = -16000", "PRAGMA temp_store = FILE"} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return 0, fmt.Errorf("temporary database: %s: %w", p, err)
		}
	}
	for i, srcs := range tables {
		if err := b.load(ctx, conn, i+1, srcs); err != nil {
			return 0, err
		}
	}
	if _, err := sqlite.Limit(conn, sqliteLimitAttached, 0); err != nil {
		return 0, fmt.Errorf("temporary database: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA query_only = 1"); err != nil {
		return 0, fmt.Errorf("temporary database: %w", err)
	}
	rows, err := conn.QueryContext(ctx, b.query)
	if err != nil {
		return 0, fmt.Errorf("joinQuery: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, fmt.Errorf("joinQuery: %w", err)
	}
	f, err := os.OpenFile(outPath, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := csvio.NewWriter(f, b.outDelim)
	if b.header {
		w.Write(cols)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	rec := make([]string, len(cols))
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, fmt.Errorf("joinQuery: %w", err)
		}
		for i, v := range vals {
			rec[i] = sqlText(v)
		}
		if err := w.Write(rec); err != nil {
			return n, fmt.Errorf("write output: %w", err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("joinQuery: %w", err)
	}
	if err := w.Flush(); err != nil {
		return n, fmt.Errorf("write output: %w", err)
	}
	return n, f.Close()
}

func sqlText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// columnNames makes a header usable as SQL columns: empty names become
// col<N>, repeated ones get _<N>, and NUL characters (which SQL text cannot
// hold) are dropped.
func columnNames(h []string) []string {
	out := make([]string, len(h))
	seen := map[string]bool{}
	for i, n := range h {
		n = strings.TrimSpace(strings.ReplaceAll(n, "\x00", ""))
		if n == "" {
			n = fmt.Sprintf("col%d", i+1)
		}
		base := n
		for k := 2; seen[strings.ToLower(n)]; k++ {
			n = fmt.Sprintf("%s_%d", base, k)
		}
		seen[strings.ToLower(n)] = true
		out[i] = n
	}
	return out
}

// load creates table<i> and inserts every row of its files.
func (b *fileJoin) load(ctx context.Context, conn *sql.Conn, i int, srcs []tableSource) error {
	table := fmt.Sprintf("table%d", i)
	var cols []string
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var stmt *sql.Stmt
	for _, src := range srcs {
		r, err := src.open()
		if err != nil {
			return fmt.Errorf("%s: %w", src.name, err)
		}
		err = func() error {
			defer r.Close()
			rd := csvio.NewReader(r, csvio.Options{Delimiter: rune(b.inDelim), TrimBOM: true})
			header, headerless := b.headless[i]
			if !headerless {
				row, err := rd.Read()
				if err == io.EOF {
					return fmt.Errorf("%s is empty: it has no header row", src.name)
				}
				if err != nil {
					return fmt.Errorf("%s: header row: %w", src.name, err)
				}
				header = append([]string(nil), row.Fields...)
			}
			names := columnNames(header)
			if cols == nil {
				cols = names
				defs := make([]string, len(cols))
				marks := make([]string, len(cols))
				for k, c := range cols {
					defs[k], marks[k] = quoteIdent(c)+" TEXT", "?"
				}
				if _, err := tx.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s (%s)", table, strings.Join(defs, ", "))); err != nil {
					return fmt.Errorf("create %s: %w", table, err)
				}
				if stmt, err = tx.PrepareContext(ctx, fmt.Sprintf("INSERT INTO %s VALUES (%s)", table, strings.Join(marks, ","))); err != nil {
					return fmt.Errorf("prepare %s: %w", table, err)
				}
			} else if strings.Join(names, "\x00") != strings.Join(cols, "\x00") {
				return fmt.Errorf("%s: its header %s differs from the other %s files' %s", src.name, strings.Join(names, ","), table, strings.Join(cols, ","))
			}
			args := make([]any, len(cols))
			for {
				row, err := rd.Read()
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return fmt.Errorf("%s: %w", src.name, err)
				}
				if len(row.Fields) > len(cols) {
					return fmt.Errorf("%s: line %d has %d fields, the header has %d", src.name, row.Line, len(row.Fields), len(cols))
				}
				for k := range args {
					args[k] = nil // a missing trailing field is NULL
					if k < len(row.Fields) {
						args[k] = row.Fields[k]
					}
				}
				if _, err := stmt.ExecContext(ctx, args...); err != nil {
					return fmt.Errorf("%s: line %d: %w", src.name, row.Line, err)
				}
			}
		}()
		if err != nil {
			return err
		}
	}
	if stmt != nil {
		stmt.Close()
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("load %s: %w", table, err)
	}
	return nil
}
