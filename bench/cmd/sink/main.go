// Command sink is a fast local HTTP sink for the API-destination benchmark:
// it answers Capillary's token endpoint and bulk endpoints with one success
// entry per element of the posted array, counting what it received, so the
// benchmark measures Connect+ rather than the sink. It speaks just enough
// HTTP/1.1 (keep-alive, Content-Length bodies) to stay cheap: a general
// server costs it more CPU than the client it measures.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

type sink struct {
	requests, records atomic.Int64
	mu                sync.Mutex
	cache             map[int][]byte
	// dump, when set, receives every bulk body followed by a newline, so a
	// benchmark can compare what two programs posted (not used when timing).
	dumpMu sync.Mutex
	dump   io.Writer
}

func main() {
	addr := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback)")
	portFile := flag.String("addr-file", "", "write the listening address to this file")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile until SIGTERM/SIGINT")
	dumpFile := flag.String("dump", "", "append every bulk body and a newline to this file (for output checks, not timing)")
	flag.Parse()
	s := &sink{cache: map[int][]byte{}}
	if *dumpFile != "" {
		f, err := os.Create(*dumpFile)
		if err != nil {
			log.Fatal(err)
		}
		s.dump = f
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		_ = pprof.StartCPUProfile(f)
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		go func() {
			<-sig
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(0)
		}()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *portFile != "" {
		if err := os.WriteFile(*portFile, []byte(ln.Addr().String()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Fprintln(os.Stderr, "sink listening on", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go s.serve(c)
	}
}

// serve handles one keep-alive connection.
func (s *sink) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 64<<10)
	bw := bufio.NewWriterSize(c, 64<<10)
	var body []byte
	for {
		method, path, length, err := readHead(br)
		if err != nil {
			return
		}
		if length < 0 {
			writeResponse(bw, 411, []byte(`{"error":"Content-Length required"}`))
			_ = bw.Flush()
			return
		}
		if cap(body) < length {
			body = make([]byte, length)
		}
		body = body[:length]
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		switch {
		case strings.HasSuffix(path, "/oauth/token/generate"):
			writeResponse(bw, 200, []byte(`{"data":{"accessToken":"bench","ttlSeconds":86400},"errors":null}`))
		case path == "/stats" && method == "GET":
			b, _ := json.Marshal(map[string]int64{"requests": s.requests.Load(), "records": s.records.Load()})
			writeResponse(bw, 200, b)
		default:
			n := countElements(body)
			if s.dump != nil {
				s.dumpMu.Lock()
				_, _ = s.dump.Write(append(body, '\n'))
				s.dumpMu.Unlock()
			}
			s.requests.Add(1)
			s.records.Add(int64(n))
			writeResponse(bw, 200, s.answer(n))
		}
		if br.Buffered() == 0 {
			if err := bw.Flush(); err != nil {
				return
			}
		}
	}
}

// readHead reads a request line and headers, returning the method, path and
// Content-Length (0 without a body, -1 for a body of unknown length).
func readHead(br *bufio.Reader) (method, path string, length int, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return "", "", 0, err
	}
	parts := strings.SplitN(strings.TrimSpace(string(line)), " ", 3)
	if len(parts) < 2 {
		return "", "", 0, fmt.Errorf("bad request line %q", line)
	}
	method, path = parts[0], parts[1]
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return "", "", 0, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			return method, path, length, nil
		}
		k, v, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil || n < 0 || n > 64<<20 {
				return "", "", 0, fmt.Errorf("bad Content-Length %q", v)
			}
			length = n
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			length = -1
		}
	}
}

func writeResponse(bw *bufio.Writer, code int, body []byte) {
	bw.WriteString("HTTP/1.1 ")
	bw.WriteString(strconv.Itoa(code))
	if code == 200 {
		bw.WriteString(" OK")
	}
	bw.WriteString("\r\nContent-Type: application/json\r\nContent-Length: ")
	bw.WriteString(strconv.Itoa(len(body)))
	bw.WriteString("\r\n\r\n")
	bw.Write(body)
}

// answer renders the bulk answer for n entities once and reuses it.
func (s *sink) answer(n int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.cache[n]; ok {
		return b
	}
	var out bytes.Buffer
	out.WriteString(`{"response":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			out.WriteByte(',')
		}
		out.WriteString(`{"entityId":`)
		out.WriteString(strconv.Itoa(1000000 + i))
		out.WriteString(`,"errors":[],"warnings":[]}`)
	}
	out.WriteString(`],"totalCount":`)
	out.WriteString(strconv.Itoa(n))
	out.WriteString(`,"failureCount":0}`)
	s.cache[n] = out.Bytes()
	return s.cache[n]
}

// countElements counts the top-level elements of a JSON array (1 for any
// other value) by tracking depth, skipping strings with IndexByte.
func countElements(b []byte) int {
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '[' {
		return 1
	}
	if len(bytes.TrimSpace(b[1:len(b)-1])) == 0 {
		return 0
	}
	depth, n := 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			// Skip to the closing quote, honouring backslash escapes.
			for {
				j := bytes.IndexByte(b[i+1:], '"')
				if j < 0 {
					return n + 1
				}
				i += j + 1
				k := i - 1
				for k >= 0 && b[k] == '\\' {
					k--
				}
				if (i-1-k)%2 == 0 {
					break
				}
			}
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case ',':
			if depth == 1 {
				n++
			}
		}
	}
	return n + 1
}
