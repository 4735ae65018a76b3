// Package csvio reads and writes delimited text (RFC 4180 CSV and its
// pipe/tab/semicolon cousins) fast enough that parsing is never the
// bottleneck of a dataflow, and safely enough that one broken row never
// stops a file.
//
// The Reader hands out records whose fields are substrings of one immutable
// chunk string shared by many records, carved from a shared []string slab:
// parsing a typical row costs no allocation of its own (only chunks and slabs
// are allocated, each amortised over hundreds of rows). Fields stay valid
// for as long as the caller keeps them; holding one field keeps its chunk
// (ChunkSize bytes) alive.
package csvio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"
)

// Defaults for Options.
const (
	DefaultMaxRecordBytes = 16 << 20
	DefaultChunkSize      = 128 << 10
	slabSize              = 8192
	// freeSlabs bounds the released slabs waiting for reuse.
	freeSlabs = 8
)

// Options configure a Reader. The zero value reads comma-separated UTF-8.
type Options struct {
	// Delimiter separates fields: any character except the quote, CR, LF and
	// U+FFFD; multi-byte characters are allowed. Default ','.
	Delimiter rune
	// Quote encloses fields holding delimiters, quotes or newlines. Default '"'.
	Quote byte
	// TrimBOM drops a UTF-8 byte-order mark at the start of the input.
	// (UTF-16 BOMs are always honoured: they select the decoding.)
	TrimBOM bool
	// MaxRecordBytes bounds one record; a longer one (typically an
	// unterminated quote) is reported as a RecordError and skipped, so memory
	// stays bounded whatever the input. Default 16 MiB.
	MaxRecordBytes int
	// LazyQuotes accepts a quote inside an unquoted field, and a quote not
	// followed by a delimiter or line end inside a quoted field, as literal
	// text (like encoding/csv).
	LazyQuotes bool
	// Encoding of the input: "" or "utf-8" (the default), "utf-16le",
	// "utf-16be", "utf-16" (byte order from the BOM, else little-endian),
	// "iso-8859-1" (alias "latin1") or "windows-1252" (alias "cp1252").
	// A UTF-16 BOM overrides "", "utf-8" and "utf-16".
	Encoding string
	// ReplaceInvalidUTF8 replaces invalid UTF-8 sequences by U+FFFD instead
	// of reporting the record as a RecordError.
	ReplaceInvalidUTF8 bool
	// ChunkSize is the read granularity (default 128 KiB): larger chunks mean
	// fewer allocations but more memory kept alive by retained fields.
	ChunkSize int
}

// Row is one record.
type Row struct {
	// Fields are the record's values, unquoted and unescaped.
	Fields []string
	// Line is the 1-based physical line where the record starts.
	Line int64
	// Lines is how many physical lines the record spans (more than 1 when a
	// quoted field holds line breaks).
	Lines int
	// Raw is the record's text when it needed no unquoting (no quote and no
	// carriage return inside): joining Fields with the delimiter gives it
	// back. Empty otherwise. It shares memory with Fields.
	Raw string
}

// RecordError is a malformed record. The reader has already skipped past it
// (to the end of the physical line where the problem was found), so the
// caller may log it and call Read again.
type RecordError struct {
	StartLine int64  // line where the record starts
	Line      int64  // line where the problem is
	Column    int    // 1-based character column of the problem in Line
	Msg       string // what is wrong
	// Raw is the text that was skipped (at most 64 KiB of it), byte for
	// byte — invalid UTF-8 included — so an error report reproduces the bad
	// row as the file had it (the user fixes and re-sends it from there).
	Raw string
	// Lines is how many physical lines were skipped.
	Lines int
}

func (e *RecordError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// IsRecordError reports whether err is a per-record (recoverable) error.
func IsRecordError(err error) bool {
	var re *RecordError
	return errors.As(err, &re)
}

// Reader reads records from a delimited stream.
type Reader struct {
	src   io.Reader
	opts  Options
	delim string
	d0    byte // first byte of delim
	quote byte
	nl    byte // record terminator: '\n', or '\r' for classic-Mac files

	s       string // current chunk; never mutated once built
	pos     int    // next unread byte of s
	eof     bool   // src is exhausted: s holds the rest of the input
	valid   bool   // s is entirely valid UTF-8
	line    int64  // physical line number at pos
	started bool
	discard bool // skipping the rest of an over-long line
	readErr error
	offset  int64 // decoded bytes consumed before s

	// A lazy quoted-field scan found no closing quote in [lazyFrom, lazyTo).
	lazyFrom, lazyTo int64

	slab    []string
	cur     *Slab      // the reusable slab slab is the rest of (nil: not reusable)
	free    chan *Slab // slabs whose holds were all released (ReuseSlabs)
	scratch []string
	esc     []byte
}

// NewReader returns a reader of r. Invalid options (a delimiter equal to the
// quote, CR or LF) make the first Read fail.
func NewReader(r io.Reader, opts Options) *Reader {
	if opts.Delimiter == 0 {
		opts.Delimiter = ','
	}
	if opts.Quote == 0 {
		opts.Quote = '"'
	}
	if opts.MaxRecordBytes <= 0 {
		opts.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	rd := &Reader{src: r, opts: opts, quote: opts.Quote, nl: '\n', line: 1}
	rd.delim = string(opts.Delimiter)
	rd.d0 = rd.delim[0]
	return rd
}

// Offset returns how many (decoded) bytes the reader has consumed so far.
func (r *Reader) Offset() int64 { return r.offset + int64(r.pos) }

func (r *Reader) checkOptions() error {
	d := r.opts.Delimiter
	switch {
	case d == '\r' || d == '\n' || d == utf8.RuneError || !utf8.ValidRune(d):
		return fmt.Errorf("csvio: invalid delimiter %q", d)
	case strings.IndexByte(r.delim, r.quote) >= 0:
		return fmt.Errorf("csvio: delimiter %q and quote %q overlap", d, r.quote)
	case r.quote == '\r' || r.quote == '\n' || r.quote >= utf8.RuneSelf:
		return fmt.Errorf("csvio: invalid quote character %q", r.quote)
	}
	return nil
}

// start sniffs the encoding and wraps the source in a decoder if needed.
func (r *Reader) start() error {
	r.started = true
	if err := r.checkOptions(); err != nil {
		return err
	}
	var head [3]byte
	n, err := io.ReadFull(r.src, head[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return fmt.Errorf("csvio: read: %w", err)
	}
	h := head[:n]
	enc := strings.ToLower(strings.TrimSpace(r.opts.Encoding))
	src := io.MultiReader(bytes.NewReader(h), r.src)
	switch {
	case (enc == "" || enc == "utf-8" || enc == "utf8" || enc == "utf-16") && bytes.HasPrefix(h, []byte{0xFF, 0xFE}):
		r.src = newUTF16Reader(io.MultiReader(bytes.NewReader(h[2:]), r.src), false)
	case (enc == "" || enc == "utf-8" || enc == "utf8" || enc == "utf-16") && bytes.HasPrefix(h, []byte{0xFE, 0xFF}):
		r.src = newUTF16Reader(io.MultiReader(bytes.NewReader(h[2:]), r.src), true)
	case enc == "" || enc == "utf-8" || enc == "utf8":
		r.src = src
	case enc == "utf-16" || enc == "utf-16le" || enc == "utf16le":
		r.src = newUTF16Reader(src, false)
	case enc == "utf-16be" || enc == "utf16be":
		r.src = newUTF16Reader(src, true)
	case enc == "iso-8859-1" || enc == "latin1" || enc == "latin-1" || enc == "iso8859-1":
		r.src = newSingleByteReader(src, false)
	case enc == "windows-1252" || enc == "cp1252":
		r.src = newSingleByteReader(src, true)
	default:
		return fmt.Errorf("csvio: unsupported encoding %q", r.opts.Encoding)
	}
	// Look at enough of the input to see the BOM and the first line end.
	for {
		if err := r.refill(0); err != nil {
			return err
		}
		if r.eof || len(r.s) >= min(64<<10, r.opts.MaxRecordBytes) || (len(r.s) >= 3 && strings.IndexByte(r.s, '\n') >= 0) {
			break
		}
	}
	// The UTF-8 BOM (or the U+FEFF a UTF-16 decoder produced from an
	// explicitly declared encoding's BOM) is not data.
	if r.opts.TrimBOM && strings.HasPrefix(r.s, "\uFEFF") {
		r.pos = 3
	}
	// Classic Mac files end lines with a lone CR: switch terminators when the
	// first chunk has CRs and no LF at all.
	if strings.IndexByte(r.s, '\n') < 0 {
		if i := strings.IndexByte(r.s, '\r'); i >= 0 && (i+1 < len(r.s) || r.eof) {
			r.nl = '\r'
		}
	}
	return nil
}

// refill builds a new chunk holding s[keep:] followed by more input. The new
// chunk is at least twice the kept part, so re-parsing a long record after
// each refill stays linear overall.
func (r *Reader) refill(keep int) error {
	if r.eof {
		return nil
	}
	if r.readErr != nil {
		return r.readErr
	}
	rest := len(r.s) - keep
	size := max(r.opts.ChunkSize, 2*rest)
	b := make([]byte, size)
	n := copy(b, r.s[keep:])
	zero := 0
	for n < size {
		m, err := r.src.Read(b[n:])
		n += m
		if err == io.EOF {
			r.eof = true
			break
		}
		if err != nil {
			r.readErr = fmt.Errorf("csvio: read: %w", err)
			break
		}
		if m == 0 {
			zero++
			if zero > 100 {
				r.readErr = fmt.Errorf("csvio: read: %w", io.ErrNoProgress)
				break
			}
		}
	}
	r.offset += int64(keep)
	r.pos -= keep
	if n == 0 {
		r.s = ""
	} else {
		// b is never written again, so the string may alias it: this saves
		// copying every chunk once more.
		r.s = unsafe.String(&b[0], n)
	}
	r.valid = utf8.ValidString(r.s)
	if r.readErr != nil && rest == n {
		return r.readErr
	}
	return nil
}

// Read returns the next record, a *RecordError for a malformed record (the
// reader continues after it), io.EOF at the end, or another error for a read
// failure (fatal).
func (r *Reader) Read() (Row, error) {
	if !r.started {
		if err := r.start(); err != nil {
			r.readErr = err
			return Row{}, err
		}
	}
	for {
		if r.discard {
			if err := r.discardLine(); err != nil {
				return Row{}, err
			}
			continue
		}
		rest := r.s[r.pos:]
		i := strings.IndexByte(rest, r.nl)
		if i < 0 {
			if !r.eof {
				if len(rest) >= r.opts.MaxRecordBytes {
					return r.tooLong()
				}
				if err := r.refill(r.pos); err != nil {
					return Row{}, err
				}
				continue
			}
			if len(rest) == 0 {
				if r.readErr != nil {
					return Row{}, r.readErr
				}
				return Row{}, io.EOF
			}
			i = len(rest)
		}
		if i > r.opts.MaxRecordBytes {
			return r.tooLong()
		}
		line := rest[:i]
		if r.nl == '\n' && len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 {
			// Blank lines separate nothing: skip them (encoding/csv does too).
			r.pos += min(i+1, len(rest))
			r.line++
			continue
		}
		if strings.IndexByte(line, r.quote) >= 0 {
			row, more, err := r.parseQuoted()
			if more {
				if len(r.s)-r.pos > r.opts.MaxRecordBytes+1 {
					return r.tooLong()
				}
				if err := r.refill(r.pos); err != nil {
					return Row{}, err
				}
				continue
			}
			return row, err
		}
		if !r.valid && !utf8.ValidString(line) {
			if !r.opts.ReplaceInvalidUTF8 {
				return r.reportBad(r.pos, r.pos+min(i+1, len(rest)), r.pos+bad(line), msgUTF8)
			}
			line = strings.ToValidUTF8(line, "\uFFFD")
		}
		row := Row{Line: r.line, Lines: 1}
		row.Fields = r.split(line)
		if strings.IndexByte(line, '\r') < 0 {
			row.Raw = line
		}
		r.pos += min(i+1, len(rest))
		r.line++
		return row, nil
	}
}

const msgUTF8 = "invalid UTF-8 (is the file in another encoding? set the encoding)"

// bad returns the offset of the first invalid UTF-8 byte of s.
func bad(s string) int {
	for i := 0; i < len(s); {
		c, n := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return 0
}

// alloc carves n strings from the slab.
func (r *Reader) alloc(n int) []string {
	if n > len(r.slab) {
		r.newSlab(n)
	}
	f := r.slab[:n:n]
	r.slab = r.slab[n:]
	return f
}

// newSlab starts a slab of at least n strings: with ReuseSlabs, a
// released one when there is one, and the reader's hold on the previous
// one is released.
func (r *Reader) newSlab(n int) {
	if r.free == nil {
		r.slab = make([]string, max(slabSize, n))
		return
	}
	if r.cur != nil {
		// The rest was never carved since the slab came back: stale
		// strings of its last use, which would keep their chunk alive.
		clear(r.slab)
		r.cur.Release()
		r.cur = nil
	}
	if n > slabSize {
		// A record of more fields than a slab: its own slice, not reused.
		r.slab = make([]string, n)
		return
	}
	var sl *Slab
	select {
	case sl = <-r.free:
	default:
		sl = &Slab{strs: make([]string, slabSize), free: r.free}
	}
	sl.refs.Store(1) // the reader's, until it moves to the next slab
	r.cur, r.slab = sl, sl.strs
}

// ReuseSlabs makes the []string slabs Row.Fields are carved from, from the
// next slab on, reference-counted (Slab, Hold, Release) and reused once
// every hold on one is released. Only the slices are reused: a field's
// string stays valid for as long as it is kept, but a Fields slice (or a
// pointer into it) is only valid while its slab is held.
func (r *Reader) ReuseSlabs() {
	if r.free == nil {
		r.free = make(chan *Slab, freeSlabs)
	}
}

// Slab is a slab of field strings (ReuseSlabs).
type Slab struct {
	refs atomic.Int32
	strs []string
	free chan<- *Slab
}

// Slab returns the slab the Fields of the row Read last returned were
// carved from, or nil when they were not carved from a reusable one. The
// reader holds it until it moves on to the next slab; a caller that keeps
// the Fields slice longer holds it too (Hold) and releases it when done.
func (r *Reader) Slab() *Slab { return r.cur }

// Hold adds a hold on s.
func (s *Slab) Hold() { s.refs.Add(1) }

// Release drops a hold on s; once every hold is released the reader may
// carve fields from it again (the strings it held stay valid, the slices
// carved from it do not). A slab released more often than held panics.
func (s *Slab) Release() {
	switch n := s.refs.Add(-1); {
	case n == 0:
		// The strings are cleared when the slab is carved from again
		// (written field by field); a full free list drops it.
		select {
		case s.free <- s:
		default:
		}
	case n < 0:
		panic("csvio: slab released more often than held")
	}
}

// split cuts an unquoted line at delimiters.
func (r *Reader) split(line string) []string {
	if len(r.delim) == 1 {
		return r.splitByte(line, r.d0)
	}
	f := r.alloc(strings.Count(line, r.delim) + 1)
	k := 0
	for {
		j := strings.Index(line, r.delim)
		if j < 0 {
			break
		}
		f[k] = line[:j]
		k++
		line = line[j+len(r.delim):]
	}
	f[k] = line
	return f
}

const (
	lows   = 0x0101010101010101
	highs  = 0x8080808080808080
	sevens = 0x7f7f7f7f7f7f7f7f
)

// splitByte cuts line at the single-byte delimiter d, eight bytes at a
// time: fields are short (a dozen bytes), so one IndexByte call per field
// cost more than this scan. The count (a vectorised pass) sizes the fields
// exactly, so the loop stores without growing a slice.
func (r *Reader) splitByte(line string, d byte) []string {
	f := r.alloc(strings.Count(line, r.delim) + 1)
	b := unsafe.Slice(unsafe.StringData(line), len(line))
	dm := lows * uint64(d)
	start, i, k := 0, 0, 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:]) ^ dm
		// A byte's high bit is set iff it is zero (exact per byte: the
		// sum of a 7-bit value and 0x7f never carries into its neighbour).
		m := ^((x&sevens + sevens) | x | sevens)
		for m != 0 {
			j := i + bits.TrailingZeros64(m)>>3
			f[k] = line[start:j]
			k++
			start = j + 1
			m &= m - 1
		}
	}
	for ; i < len(b); i++ {
		if b[i] == d {
			f[k] = line[start:i]
			k++
			start = i + 1
		}
	}
	f[k] = line[start:]
	return f
}

// atDelim reports whether s[i:] starts with the delimiter.
func (r *Reader) atDelim(s string, i int) bool {
	if s[i] != r.d0 {
		return false
	}
	return len(r.delim) == 1 || strings.HasPrefix(s[i:], r.delim)
}

// parseQuoted parses the record at pos in full RFC 4180 generality. more is
// true when the chunk ends before the record does (and the input goes on).
func (r *Reader) parseQuoted() (row Row, more bool, err error) {
	s := r.s
	start := r.pos
	i := start
	q := r.quote
	fields := r.scratch[:0]
	defer func() { r.scratch = fields[:0] }()
	for {
		// i is at the start of a field.
		if i < len(s) && s[i] == q {
			j := i + 1
			seg := j
			escaped := false
			if f := int(r.lazyTo - r.offset); r.opts.LazyQuotes && j < f && int64(j)+r.offset >= r.lazyFrom {
				// An earlier lazy scan found no closing quote before the
				// frontier: skip to it rather than rescanning (which made
				// lines of `"x"y` quadratic). Quote runs seen from another
				// starting point could pair differently; lazy mode accepts
				// that imprecision.
				j, escaped = min(f, len(s)), true
			}
			// tooLong reports a quoted field running past MaxRecordBytes.
			// Lazy mode remembers that no closing quote exists up to there.
			tooLong := func() (Row, bool, error) {
				if r.opts.LazyQuotes {
					r.lazyFrom = r.offset + int64(i) + 1
					r.lazyTo = r.offset + int64(start+r.opts.MaxRecordBytes) + 1
				}
				row, err := r.tooLong()
				return row, false, err
			}
			for {
				if j-start > r.opts.MaxRecordBytes {
					return tooLong()
				}
				k := strings.IndexByte(s[j:], q)
				if k < 0 {
					if len(s)-start > r.opts.MaxRecordBytes {
						return tooLong()
					}
					if !r.eof {
						return Row{}, true, nil
					}
					if r.opts.LazyQuotes {
						fields = append(fields, r.unescape(s[seg:], escaped))
						return r.finish(start, len(s), len(s), fields)
					}
					// Unterminated: everything after the quote would be one
					// field. Skip only the record's first line instead.
					return r.skipBadStartLine(start, i, "unterminated quoted field (missing closing quote)")
				}
				j += k
				if j-start > r.opts.MaxRecordBytes {
					return tooLong()
				}
				if j+1 >= len(s) && !r.eof {
					return Row{}, true, nil // cannot tell "" from a closing quote yet
				}
				if j+1 < len(s) && s[j+1] == q {
					escaped = true
					j += 2
					continue
				}
				// closing quote at j
				end := j
				j++
				if j >= len(s) {
					fields = append(fields, r.unescape(s[seg:end], escaped))
					return r.finish(start, j, j, fields)
				}
				c := s[j]
				if r.atDelim(s, j) {
					fields = append(fields, r.unescape(s[seg:end], escaped))
					i = j + len(r.delim)
					break
				}
				if c == r.nl {
					fields = append(fields, r.unescape(s[seg:end], escaped))
					return r.finish(start, j, j+1, fields)
				}
				if r.nl == '\n' && c == '\r' {
					if j+1 < len(s) && s[j+1] == '\n' {
						fields = append(fields, r.unescape(s[seg:end], escaped))
						return r.finish(start, j, j+2, fields)
					}
					if j+1 >= len(s) {
						if !r.eof {
							return Row{}, true, nil
						}
						fields = append(fields, r.unescape(s[seg:end], escaped))
						return r.finish(start, j, j+1, fields)
					}
				}
				if r.opts.LazyQuotes {
					// The quote was literal text; keep scanning the field.
					escaped = true
					continue
				}
				row, err := r.skipBad(start, end, j, fmt.Sprintf("extraneous text after closing %c (a %c inside a quoted field must be doubled)", q, q))
				return row, false, err
			}
			continue
		}
		// Unquoted field.
		j := i
		for {
			if j-start > r.opts.MaxRecordBytes {
				row, err := r.tooLong()
				return row, false, err
			}
			if j >= len(s) {
				if !r.eof {
					return Row{}, true, nil
				}
				fields = append(fields, s[i:j])
				return r.finish(start, j, j, fields)
			}
			c := s[j]
			if c == r.d0 && r.atDelim(s, j) {
				fields = append(fields, s[i:j])
				i = j + len(r.delim)
				break
			}
			if c == r.nl {
				e := j
				if r.nl == '\n' && e > i && s[e-1] == '\r' {
					e--
				}
				fields = append(fields, s[i:e])
				return r.finish(start, e, j+1, fields)
			}
			if c == q && !r.opts.LazyQuotes {
				row, err := r.skipBad(start, j, j, fmt.Sprintf("bare %c in non-quoted field (quote the whole field and double the %c)", q, q))
				return row, false, err
			}
			j++
		}
	}
}

// finish completes a parsed record spanning s[start:end] (terminator up to next).
func (r *Reader) finish(start, end, next int, scratch []string) (Row, bool, error) {
	text := r.s[start:end]
	if len(text) > r.opts.MaxRecordBytes {
		rr, err := r.tooLong()
		return rr, false, err
	}
	lines := 1 + strings.Count(text, string(r.nl))
	row := Row{Line: r.line, Lines: lines}
	if !r.valid && !utf8.ValidString(text) {
		if !r.opts.ReplaceInvalidUTF8 {
			rr, err := r.reportBad(start, next, start+bad(text), msgUTF8)
			return rr, false, err
		}
		for i, f := range scratch {
			scratch[i] = strings.ToValidUTF8(f, "\uFFFD")
		}
	}
	row.Fields = r.alloc(len(scratch))
	copy(row.Fields, scratch)
	r.line += int64(strings.Count(r.s[start:next], string(r.nl)))
	r.pos = next
	return row, false, nil
}

// unescape returns a quoted field's content with doubled quotes collapsed.
func (r *Reader) unescape(f string, escaped bool) string {
	if !escaped {
		return f
	}
	b := r.esc[:0]
	q := r.quote
	for i := 0; i < len(f); i++ {
		b = append(b, f[i])
		if f[i] == q && i+1 < len(f) && f[i+1] == q {
			i++
		}
	}
	r.esc = b
	return string(b)
}

// skipBad reports a malformed record starting at start with the problem at
// errAt, and resumes after the physical line holding resumeFrom.
func (r *Reader) skipBad(start, resumeFrom, errAt int, msg string) (Row, error) {
	s := r.s
	k := strings.IndexByte(s[resumeFrom:], r.nl)
	next := len(s)
	if k >= 0 {
		next = resumeFrom + k + 1
	} else if !r.eof {
		// The rest of the line is not buffered yet: drop what we have and
		// skip to the end of the line as it streams in.
		r.discard = true
	}
	return r.reportBad(start, next, errAt, msg)
}

// skipBadStartLine reports a malformed record and resumes after its first line.
func (r *Reader) skipBadStartLine(start, errAt int, msg string) (Row, bool, error) {
	row, err := r.skipBad(start, start, errAt, msg)
	return row, false, err
}

func (r *Reader) reportBad(start, next, errAt int, msg string) (Row, error) {
	s := r.s
	lineStart := strings.LastIndexByte(s[start:errAt], r.nl)
	if lineStart < 0 {
		lineStart = start
	} else {
		lineStart += start + 1
	}
	e := &RecordError{
		StartLine: r.line,
		Line:      r.line + int64(strings.Count(s[start:errAt], string(r.nl))),
		Column:    utf8.RuneCountInString(s[lineStart:errAt]) + 1,
		Msg:       msg,
	}
	raw := strings.TrimRight(s[start:next], "\r\n")
	if len(raw) > 64<<10 {
		raw = raw[:64<<10]
	}
	e.Raw = strings.Clone(raw)
	skipped := int64(strings.Count(s[start:next], string(r.nl)))
	e.Lines = int(skipped)
	if next == start || s[next-1] != r.nl {
		// The last line has no terminator (end of input), or its terminator
		// is still ahead (discardLine will count it).
		e.Lines++
	}
	r.line += skipped
	r.pos = next
	return Row{Line: e.StartLine, Lines: e.Lines}, e
}

// tooLong reports a record longer than MaxRecordBytes and skips its first line.
func (r *Reader) tooLong() (Row, error) {
	return r.skipBad(r.pos, r.pos, r.pos, fmt.Sprintf("record longer than %d bytes (unterminated quoted field?)", r.opts.MaxRecordBytes))
}

// discardLine drops input up to and including the next terminator.
func (r *Reader) discardLine() error {
	rest := r.s[r.pos:]
	if i := strings.IndexByte(rest, r.nl); i >= 0 {
		r.pos += i + 1
		r.line++
		r.discard = false
		return nil
	}
	r.pos = len(r.s)
	if r.eof {
		r.discard = false
		return nil
	}
	return r.refill(r.pos)
}
