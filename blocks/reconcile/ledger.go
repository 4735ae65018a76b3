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
// them. The index keeps, per lookup value, the delivered rows' mapped values
// (about 100 bytes a row).
type ledgerDest struct {
	index map[string][]candidate
	files int
}

func (l *ledgerDest) name() string    { return SourceLedger }
func (l *ledgerDest) requests() int64 { return int64(l.files) }

func (l *ledgerDest) lookup(_ context.Context, by string, values []string) ([][]candidate, error) {
	out := make([][]candidate, len(values))
	for i, v := range values {
		out[i] = l.index[by+"\x00"+v]
	}
	return out, nil
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
	l := &ledgerDest{index: map[string][]candidate{}}
	for _, n := range names {
		if err := l.add(open, filepath.Join(dir, n), m, r); err != nil {
			return nil, err
		}
		l.files++
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
	l := &ledgerDest{index: map[string][]candidate{}}
	for _, f := range files {
		open := func(name string) (io.ReadCloser, error) { return os.Open(name) }
		if f.Open != nil {
			open = func(string) (io.ReadCloser, error) { return f.Open(context.Background()) }
		}
		if err := l.add(open, f.Path, m, r); err != nil {
			return nil, err
		}
		l.files++
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
		c := candidate{ID: get(ent), Attrs: map[string]string{}}
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
			if ci >= 0 {
				c.Attrs[mf.Name] = v
			}
		}
		by, v := lookupBy(m, vals)
		if v == "" {
			continue
		}
		k := by + "\x00" + v
		l.index[k] = append(l.index[k], c)
	}
}

// delivered reads a result row's outcome: a 2xx status without an error.
func delivered(code, msg string) bool {
	return msg == "" && (code == "" || strings.HasPrefix(code, "2"))
}
