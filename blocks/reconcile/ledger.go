package reconcile

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/format/csvio"
)

// ledgerDest answers from our own delivery ledger: the result files
// (result_<timestamp>_<file>) the ingestion runs wrote to their API Error
// Filepath. Each row there is a source row with its outcome — status_code,
// error_message and entity_id — so the rows that were delivered, with the
// ids the destination gave them, are what the runs recorded as delivered.
// The result files carry the source columns, so the same fileTemplate maps
// them. The delivered rows are indexed on disk (ledgerIndex), so memory
// stays flat however many rows the runs delivered.
type ledgerDest struct {
	index *ledgerIndex
	build *ledgerBuilder
	files int
}

func (l *ledgerDest) name() string    { return SourceLedger }
func (l *ledgerDest) requests() int64 { return int64(l.files) }
func (l *ledgerDest) Close() error {
	if l.build != nil {
		l.build.abort()
	}
	return l.index.Close()
}

func (l *ledgerDest) lookup(_ context.Context, by string, values []string) ([][]candidate, error) {
	out := make([][]candidate, len(values))
	for i, v := range values {
		cs, err := l.index.lookup(by + "\x00" + v)
		if err != nil {
			return nil, fmt.Errorf("ledger index: %w", err)
		}
		out[i] = cs
	}
	return out, nil
}

// finish sorts what add collected into the on-disk index.
func (l *ledgerDest) finish() error {
	idx, err := l.build.finish()
	l.build = nil
	if err != nil {
		return fmt.Errorf("ledger index: %w", err)
	}
	l.index = idx
	return nil
}

func newLedgerDest(r *reconciler, m *Mapping) (*ledgerDest, error) {
	dir := ""
	if r.env != nil {
		dir = r.env.WorkDir
	}
	names := make([]string, len(m.Fields))
	for i, mf := range m.Fields {
		names[i] = mf.Name
	}
	b, err := newLedgerBuilder(dir, names, defaultLedgerMem)
	if err != nil {
		return nil, fmt.Errorf("ledger index: %w", err)
	}
	return &ledgerDest{build: b}, nil
}

func openLedger(dir string, m *Mapping, r *reconciler) (destination, error) {
	open := func(name string) (io.ReadCloser, error) { return os.Open(name) }
	readDir := os.ReadDir
	if r.env != nil && r.env.LocalPaths != nil {
		open = func(name string) (io.ReadCloser, error) { return r.env.LocalPaths.Open(name) }
		readDir = r.env.LocalPaths.ReadDir
	}
	entries, err := readDir(dir)
	if err != nil {
		return nil, fmt.Errorf("ledger directory %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), "result_") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	l, err := newLedgerDest(r, m)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if err := l.add(open, filepath.Join(dir, n), m, r); err != nil {
			l.Close()
			return nil, err
		}
		l.files++
	}
	if err := l.finish(); err != nil {
		return nil, err
	}
	return l, nil
}

// openFlowLedger indexes the result files the server kept of a dataflow's
// runs: what every run recorded as delivered.
func openFlowLedger(src block.DeliveryLedger, flow string, m *Mapping, r *reconciler) (destination, error) {
	files, err := src.ResultFiles(context.Background(), flow)
	if err != nil {
		return nil, fmt.Errorf("ledger of dataflow %q: %w", flow, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("ledger of dataflow %q: it has no run with a kept result file (has it run, and are its results within the retention?)", flow)
	}
	l, err := newLedgerDest(r, m)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		open := func(name string) (io.ReadCloser, error) { return os.Open(name) }
		if f.Open != nil {
			open = func(string) (io.ReadCloser, error) { return f.Open(context.Background()) }
		}
		if err := l.add(open, f.Path, m, r); err != nil {
			l.Close()
			return nil, err
		}
		l.files++
	}
	if err := l.finish(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *ledgerDest) add(open func(string) (io.ReadCloser, error), name string, m *Mapping, r *reconciler) error {
	f, err := open(name)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	defer f.Close()
	rd := csvio.NewReader(f, csvio.Options{Delimiter: rune(r.delim), TrimBOM: true})
	hdr, err := rd.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ledger %s: header: %w", filepath.Base(name), err)
	}
	header := append([]string(nil), hdr.Fields...)
	code, msg, ent := indexOf(header, "status_code"), indexOf(header, "error_message"), indexOf(header, "entity_id")
	if code < 0 || ent < 0 {
		return nil // not a result file of an API destination
	}
	cols := make([]int, len(m.Fields))
	for i, mf := range m.Fields {
		cols[i] = indexOf(header, mf.Column)
	}
	for {
		row, err := rd.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("ledger %s: %w", filepath.Base(name), err)
		}
		get := func(i int) string {
			if i < 0 || i >= len(row.Fields) {
				return ""
			}
			return strings.TrimSpace(row.Fields[i])
		}
		if !delivered(get(code), get(msg)) || get(ent) == "" {
			continue
		}
		vals := make([]string, len(cols))
		for i, ci := range cols {
			v := get(ci)
			mf := &m.Fields[i]
			if mf.Kind == kindDate && v != "" {
				if t, err := r.layout.Parse(v, time.UTC); err == nil {
					v = t.Format("2006-01-02")
				}
			}
			vals[i] = v
		}
		by, v := lookupBy(m, vals)
		if v == "" {
			continue
		}
		if err := l.build.add(by+"\x00"+v, get(ent), cols, vals); err != nil {
			return fmt.Errorf("ledger index: %w", err)
		}
	}
}

// delivered reads a result row's outcome: a 2xx status without an error.
func delivered(code, msg string) bool {
	return msg == "" && (code == "" || strings.HasPrefix(code, "2"))
}
