// Command sink is a fast local HTTP sink for the API-destination benchmark:
// it answers Capillary's token endpoint and bulk endpoints with one success
// entry per element of the posted array, counting what it received, so the
// benchmark measures Connect+ rather than the sink.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback)")
	portFile := flag.String("addr-file", "", "write the listening address to this file")
	flag.Parse()
	var requests, records atomic.Int64
	var cacheMu sync.Mutex
	cache := map[int][]byte{}
	// cached renders the answer for n entities once: the benchmark measures
	// Connect+, so the sink's own work per request is kept minimal.
	cached := func(n int) []byte {
		cacheMu.Lock()
		defer cacheMu.Unlock()
		if b, ok := cache[n]; ok {
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
		cache[n] = out.Bytes()
		return cache[n]
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v3/oauth/token/generate", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"accessToken":"bench","ttlSeconds":86400},"errors":null}`))
	})
	mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]int64{"requests": requests.Load(), "records": records.Load()})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n := countElements(body)
		requests.Add(1)
		records.Add(int64(n))
		resp := cached(n)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(resp)
	})
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
	log.Fatal(http.Serve(ln, mux))
}

// countElements counts the top-level elements of a JSON array (1 for any
// other value) by scanning depth and strings, without decoding.
func countElements(b []byte) int {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '[' {
		return 1
	}
	depth, n, inStr, esc, any := 0, 0, false, false, false
	for _, c := range b {
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		case c == '"':
			inStr = true
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		case c == ',' && depth == 1:
			n++
		}
		if depth >= 1 && c != '[' && c != ' ' && c != '\n' {
			any = true
		}
	}
	if !any {
		return 0
	}
	return n + 1
}
