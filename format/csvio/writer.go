package csvio

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Writer writes RFC 4180 records. It is buffered: call Flush at the end.
type Writer struct {
	// SanitizeFormulas prefixes a ' to cells starting with = + - @ TAB or CR,
	// so spreadsheet programs show them as text instead of evaluating them
	// (CSV injection). Off by default: result files must reproduce the
	// original columns byte for byte; turn it on for user-facing reports.
	SanitizeFormulas bool
	// UseCRLF ends records with \r\n instead of \n.
	UseCRLF bool

	w     *bufio.Writer
	delim byte
	quote byte
	err   error
}

// NewWriter returns a writer using delim between fields and '"' for quoting.
func NewWriter(w io.Writer, delim byte) *Writer {
	if delim == 0 {
		delim = ','
	}
	return &Writer{w: bufio.NewWriterSize(w, 64<<10), delim: delim, quote: '"'}
}

// Write writes one record.
func (w *Writer) Write(fields []string) error {
	if w.err != nil {
		return w.err
	}
	if w.delim == w.quote || w.delim == '\r' || w.delim == '\n' {
		w.err = fmt.Errorf("csvio: invalid delimiter %q", w.delim)
		return w.err
	}
	for i, f := range fields {
		if i > 0 {
			w.w.WriteByte(w.delim)
		}
		prefix := w.SanitizeFormulas && formulaLike(f)
		// A record of one empty field must be quoted: an empty line would
		// be skipped by readers and the record lost.
		if !prefix && !w.needsQuotes(f) && (f != "" || len(fields) > 1) {
			w.w.WriteString(f)
			continue
		}
		w.w.WriteByte(w.quote)
		if prefix {
			w.w.WriteByte('\'')
		}
		for {
			j := strings.IndexByte(f, w.quote)
			if j < 0 {
				w.w.WriteString(f)
				break
			}
			w.w.WriteString(f[:j+1])
			w.w.WriteByte(w.quote)
			f = f[j+1:]
		}
		w.w.WriteByte(w.quote)
	}
	var err error
	if w.UseCRLF {
		_, err = w.w.WriteString("\r\n")
	} else {
		err = w.w.WriteByte('\n')
	}
	if err != nil {
		w.err = fmt.Errorf("csvio: write: %w", err)
	}
	return w.err
}

// needsQuotes reports whether f must be quoted to read back unchanged:
// delimiters, quotes and line breaks, and leading or trailing spaces (which
// many readers trim).
func (w *Writer) needsQuotes(f string) bool {
	if f == "" {
		return false
	}
	for i := 0; i < len(f); i++ {
		switch c := f[i]; c {
		case w.delim, w.quote, '\r', '\n':
			return true
		}
	}
	return f[0] == ' ' || f[0] == '\t' || f[len(f)-1] == ' ' || f[len(f)-1] == '\t'
}

func formulaLike(f string) bool {
	if f == "" {
		return false
	}
	switch f[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() error {
	if err := w.w.Flush(); err != nil && w.err == nil {
		w.err = fmt.Errorf("csvio: write: %w", err)
	}
	return w.err
}

// Error returns the first error met while writing or flushing.
func (w *Writer) Error() error { return w.err }
