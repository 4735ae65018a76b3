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
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback)")
	portFile := flag.String("addr-file", "", "write the listening address to this file")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile until SIGTERM/SIGINT")
	flag.Parse()
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
	bufs := sync.Pool{New: func() any { return new(bytes.Buffer) }}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		buf := bufs.Get().(*bytes.Buffer)
		buf.Reset()
		defer bufs.Put(buf)
		if _, err := buf.ReadFrom(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n := countElements(buf.Bytes())
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
