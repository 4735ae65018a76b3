// Command handwritten is the hand-written baseline of bench/compare.sh: a
// single-purpose Go program doing the flagship job of
// examples/add_transactions.yaml with nothing general about it, the way a
// careful developer would write it for this one file shape.
//
// Same input, same output, same sink as `connectplus run`:
//   - it reads the CSV in ~1 MiB blocks cut at 100-row group boundaries (RFC
//     4180: quotes, "" escapes, quoted newlines, CRLF), so each group is the
//     same 100 input rows that convert_csv_to_json groupSize 100 makes;
//   - two goroutines convert blocks in parallel: split fields, keep rows whose
//     status is paid or refunded, map them to the bulk transaction shape with
//     the three amounts as numbers and everything else as strings (JSON
//     escaped, invalid UTF-8 as U+FFFD), one JSON array per group;
//   - the groups' bodies go on in file order to two POST workers (keep-alive)
//     that fetch the OAuth token once and check each answer's status and
//     failureCount.
//
// It prints records read, posted and failed; the sink counts what arrived.
// What it does not do (and Connect+ does): a per-record result file,
// checkpoints, lineage, retries, rate limits, per-record response parsing.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

const groupSize = 100

func main() {
	in := flag.String("in", "", "input CSV file")
	base := flag.String("url", "", "API base URL, e.g. http://127.0.0.1:PORT")
	workers := flag.Int("workers", 2, "converter goroutines")
	posters := flag.Int("posters", 2, "POST workers")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	jsonl := flag.String("jsonl", "", "instead of posting, write the rows as JSON Lines to this file (examples/csv_to_jsonl.yaml)")
	flag.Parse()
	if *in == "" || (*base == "") == (*jsonl == "") {
		fmt.Fprintln(os.Stderr, "usage: handwritten -in FILE.csv -url http://127.0.0.1:PORT | -jsonl OUT.jsonl")
		os.Exit(2)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "handwritten:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *jsonl != "" {
		read, written, err := runJSONL(*in, *jsonl, *workers)
		pprof.StopCPUProfile()
		if err != nil {
			fmt.Fprintln(os.Stderr, "handwritten:", err)
			os.Exit(1)
		}
		fmt.Printf("read=%d written=%d\n", read, written)
		return
	}
	st, err := run(*in, *base, *workers, *posters)
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "handwritten:", err)
		os.Exit(1)
	}
	fmt.Printf("read=%d posted=%d failed=%d requests=%d\n", st.read.Load(), st.posted.Load(), st.failed.Load(), st.requests.Load())
}

type stats struct{ read, posted, failed, requests atomic.Int64 }

// block is a run of whole 100-row groups (the last one may be short).
type block struct {
	seq  int
	data []byte
	out  chan [][]byte // one body per group with at least one kept record
}

func run(path, base string, workers, posters int) (*stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st := &stats{}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: posters, DisableCompression: true}, Timeout: time.Minute}
	token, err := fetchToken(client, base)
	if err != nil {
		return nil, err
	}

	header, rest, err := readHeader(f)
	if err != nil {
		return nil, err
	}
	cols, err := columnsOf(header)
	if err != nil {
		return nil, err
	}

	// Blocks are converted in parallel and their bodies handed on in file
	// order: ordered is a queue of per-block result channels.
	work := make(chan *block, workers)
	ordered := make(chan *block, workers*2)
	var readErr error
	go func() {
		defer close(work)
		defer close(ordered)
		readErr = split(f, rest, func(seq int, data []byte) {
			b := &block{seq: seq, data: data, out: make(chan [][]byte, 1)}
			ordered <- b
			work <- b
		})
	}()
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := converter{cols: cols, st: st}
			for b := range work {
				b.out <- c.convert(b.data)
			}
		}()
	}
	bodies := make(chan []byte, posters*2)
	go func() {
		defer close(bodies)
		for b := range ordered {
			for _, body := range <-b.out {
				bodies <- body
			}
		}
	}()
	url := base + "/v2/transactions/bulk"
	var postErr error
	var errOnce sync.Once
	var pw sync.WaitGroup
	for i := 0; i < posters; i++ {
		pw.Add(1)
		go func() {
			defer pw.Done()
			for body := range bodies {
				if err := post(client, url, token, body, st); err != nil {
					errOnce.Do(func() { postErr = err })
				}
			}
		}()
	}
	pw.Wait()
	wg.Wait()
	if readErr != nil {
		return st, readErr
	}
	return st, postErr
}

// readHeader returns the header line's fields and the bytes read past it.
func readHeader(r io.Reader) ([]string, []byte, error) {
	buf := make([]byte, 64<<10)
	n, err := io.ReadFull(r, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	buf = buf[:n]
	buf = bytes.TrimPrefix(buf, []byte("\xef\xbb\xbf"))
	i := bytes.IndexByte(buf, '\n')
	if i < 0 {
		return nil, nil, errors.New("no header line")
	}
	line := bytes.TrimSuffix(buf[:i], []byte("\r"))
	var fields []string
	for _, f := range bytes.Split(line, []byte(",")) {
		fields = append(fields, string(bytes.Trim(f, `"`)))
	}
	return fields, buf[i+1:], nil
}

// cols holds the field index of each column the mapping reads.
type cols struct {
	number, date, amount, discount, gross, mobile, mode, store, status, n int
}

func columnsOf(header []string) (cols, error) {
	idx := map[string]int{}
	for i, h := range header {
		idx[h] = i
	}
	get := func(name string) int {
		if i, ok := idx[name]; ok {
			return i
		}
		return -1
	}
	c := cols{get("bill_number"), get("bill_date"), get("bill_amount"), get("discount"), get("gross_amount"),
		get("mobile"), get("payment_mode"), get("store_code"), get("status"), len(header)}
	if c.status < 0 || c.amount < 0 || c.discount < 0 || c.gross < 0 {
		return c, errors.New("missing status or amount columns")
	}
	return c, nil
}

// split reads the file and emits blocks of whole 100-row groups of about
// 1 MiB, tracking quote parity so a quoted newline never ends a row.
func split(r io.Reader, carry []byte, emit func(int, []byte)) error {
	const target = 1 << 20
	buf := make([]byte, 0, target+128<<10)
	buf = append(buf, carry...)
	seq := 0
	eof := false
	for {
		for !eof && len(buf) < target {
			if cap(buf)-len(buf) < 32<<10 {
				nb := make([]byte, len(buf), 2*cap(buf))
				copy(nb, buf)
				buf = nb
			}
			n, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if errors.Is(err, io.EOF) {
				eof = true
			} else if err != nil {
				return err
			}
		}
		// Find the end of the last whole group within buf.
		cut, rows, pos, inQuote := 0, 0, 0, false
		for pos < len(buf) {
			nl := bytes.IndexByte(buf[pos:], '\n')
			if nl < 0 {
				break
			}
			if bytes.Count(buf[pos:pos+nl], []byte{'"'})%2 == 1 {
				inQuote = !inQuote
			}
			pos += nl + 1
			if !inQuote {
				rows++
				if rows%groupSize == 0 {
					cut = pos
				}
			}
		}
		if eof {
			cut = len(buf)
		} else if cut == 0 {
			// A group longer than the buffer: read more before cutting.
			nb := make([]byte, len(buf), 2*cap(buf))
			copy(nb, buf)
			buf = nb
			n, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if errors.Is(err, io.EOF) {
				eof = true
			} else if err != nil {
				return err
			}
			continue
		}
		if cut > 0 {
			emit(seq, buf[:cut:cut])
			seq++
		}
		if eof {
			return nil
		}
		// The emitted block keeps its bytes; the rest starts a new buffer.
		next := make([]byte, 0, target+128<<10)
		buf = append(next, buf[cut:]...)
	}
}

type converter struct {
	cols   cols
	st     *stats
	fields [][]byte
	scr    []byte // unescaped quoted fields of the current row
}

// convert turns a block into one JSON array body per group.
func (c *converter) convert(data []byte) [][]byte {
	var bodies [][]byte
	body := make([]byte, 0, 32<<10)
	body = append(body, '[')
	inGroup, kept := 0, 0
	flush := func() {
		if kept > 0 {
			bodies = append(bodies, append(body, ']'))
			body = make([]byte, 0, 32<<10)
			body = append(body, '[')
		}
		inGroup, kept = 0, 0
	}
	for len(data) > 0 {
		var ok bool
		data, ok = c.row(data)
		if !ok {
			continue // a blank line
		}
		c.st.read.Add(1)
		inGroup++
		f := c.fields
		if len(f) == c.cols.n {
			if s := f[c.cols.status]; string(s) == "paid" || string(s) == "refunded" {
				var good bool
				mark := len(body)
				if kept > 0 {
					body = append(body, ',')
				}
				if body, good = c.record(body); good {
					kept++
				} else {
					body = body[:mark]
					c.st.failed.Add(1)
				}
			}
		} else {
			c.st.failed.Add(1)
		}
		if inGroup == groupSize {
			flush()
		}
	}
	flush()
	return bodies
}

// row splits one record off data into c.fields (aliasing data or c.scr).
func (c *converter) row(data []byte) ([]byte, bool) {
	c.fields = c.fields[:0]
	c.scr = c.scr[:0]
	i := 0
	for {
		if i < len(data) && data[i] == '"' {
			// Quoted field: unescape "" into scr.
			start := len(c.scr)
			i++
			for {
				q := bytes.IndexByte(data[i:], '"')
				if q < 0 {
					c.scr = append(c.scr, data[i:]...)
					i = len(data)
					break
				}
				c.scr = append(c.scr, data[i:i+q]...)
				i += q + 1
				if i < len(data) && data[i] == '"' {
					c.scr = append(c.scr, '"')
					i++
					continue
				}
				break
			}
			c.fields = append(c.fields, c.scr[start:len(c.scr):len(c.scr)])
			// Skip to the delimiter.
			for i < len(data) && data[i] != ',' && data[i] != '\n' {
				i++
			}
		} else {
			j := i
			for j < len(data) && data[j] != ',' && data[j] != '\n' {
				j++
			}
			end := j
			if j < len(data) && data[j] == '\n' && end > i && data[end-1] == '\r' {
				end--
			}
			c.fields = append(c.fields, data[i:end])
			i = j
		}
		if i >= len(data) {
			break
		}
		if data[i] == '\n' {
			i++
			break
		}
		i++ // ','
	}
	if len(c.fields) == 1 && len(c.fields[0]) == 0 {
		return data[i:], false
	}
	return data[i:], true
}

// record appends the mapped record of c.fields, false when an amount is not
// a number (as jslt_transform's number() fails the record).
func (c *converter) record(b []byte) ([]byte, bool) {
	f, k := c.fields, c.cols
	b = append(b, `{"billNumber":`...)
	b = str(b, field(f, k.number))
	b = append(b, `,"billDate":`...)
	b = str(b, field(f, k.date))
	b = append(b, `,"type":"REGULAR","billAmount":`...)
	var ok bool
	if b, ok = num(b, f[k.amount]); !ok {
		return b, false
	}
	b = append(b, `,"discount":`...)
	if b, ok = num(b, f[k.discount]); !ok {
		return b, false
	}
	b = append(b, `,"grossAmount":`...)
	if b, ok = num(b, f[k.gross]); !ok {
		return b, false
	}
	b = append(b, `,"identifierType":"mobile","identifierValue":`...)
	b = str(b, field(f, k.mobile))
	b = append(b, `,"source":"INSTORE","extendedFields":{"payment_mode":`...)
	b = str(b, field(f, k.mode))
	b = append(b, `},"storeCode":`...)
	b = str(b, field(f, k.store))
	return append(b, '}'), true
}

func field(f [][]byte, i int) []byte {
	if i < 0 {
		return nil
	}
	return f[i]
}

// num appends a decimal string as a JSON number, printed as JavaScript does.
func num(b, s []byte) ([]byte, bool) {
	v, err := strconv.ParseFloat(string(s), 64)
	if err != nil || len(s) == 0 {
		return b, false
	}
	if v == float64(int64(v)) && v < 1e21 && v > -1e21 {
		return strconv.AppendInt(b, int64(v), 10), true
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64), true
}

const hex = "0123456789abcdef"

// str appends s as a JSON string: escapes, invalid UTF-8 as U+FFFD, and
// U+2028/U+2029 escaped.
func str(b, s []byte) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		ch := s[i]
		if ch < utf8.RuneSelf {
			if ch >= 0x20 && ch != '"' && ch != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch ch {
			case '"', '\\':
				b = append(b, '\\', ch)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[ch>>4], hex[ch&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func fetchToken(client *http.Client, base string) (string, error) {
	resp, err := client.Post(base+"/v3/oauth/token/generate", "application/json",
		bytes.NewReader([]byte(`{"key":"bench","secret":"bench"}`)))
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		return "", fmt.Errorf("token: status %d: %v", resp.StatusCode, err)
	}
	const key = `"accessToken":"`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return "", fmt.Errorf("token: no accessToken in %s", body)
	}
	tok := body[i+len(key):]
	j := bytes.IndexByte(tok, '"')
	if j < 0 {
		return "", errors.New("token: unterminated accessToken")
	}
	return string(tok[:j]), nil
}

// post sends one bulk body and counts its records as posted or failed from
// the answer's failureCount.
func post(client *http.Client, url, token string, body []byte, st *stats) error {
	n := int64(bytes.Count(body, []byte(`{"billNumber":`)))
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CAP-API-OAUTH-TOKEN", token)
	resp, err := client.Do(req)
	if err != nil {
		st.failed.Add(n)
		return fmt.Errorf("post: %w", err)
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	st.requests.Add(1)
	if err != nil || resp.StatusCode != 200 {
		st.failed.Add(n)
		return fmt.Errorf("post: status %d: %v", resp.StatusCode, err)
	}
	failed := int64(0)
	const key = `"failureCount":`
	if i := bytes.LastIndex(answer, []byte(key)); i >= 0 {
		rest := answer[i+len(key):]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		failed, _ = strconv.ParseInt(string(rest[:j]), 10, 64)
	}
	st.failed.Add(failed)
	st.posted.Add(n - failed)
	return nil
}
