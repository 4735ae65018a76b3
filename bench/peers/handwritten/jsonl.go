package main

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
)

// runJSONL is the hand-written equivalent of examples/csv_to_jsonl.yaml
// (convert_csv_to_json → file_write): every row with the header's number
// of fields becomes one line {"column":"value",…} with every value a JSON
// string (escaped, invalid UTF-8 as U+FFFD), in file order. The same 1 MiB
// blocks as the API job, converted by workers goroutines, written in order
// with one write per block. It returns rows read and lines written.
func runJSONL(path, out string, workers int) (int64, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	header, rest, err := readHeader(f)
	if err != nil {
		return 0, 0, err
	}
	keys := make([][]byte, len(header))
	for i, h := range header {
		keys[i] = append(str(nil, []byte(h)), ':')
	}
	w, err := os.Create(out)
	if err != nil {
		return 0, 0, err
	}
	type jblock struct {
		data []byte
		out  chan []byte
	}
	work := make(chan *jblock, workers)
	ordered := make(chan *jblock, workers*2)
	var readErr error
	go func() {
		defer close(work)
		defer close(ordered)
		readErr = split(f, rest, func(_ int, data []byte) {
			b := &jblock{data: data, out: make(chan []byte, 1)}
			ordered <- b
			work <- b
		})
	}()
	var read, written atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			c := converter{}
			for b := range work {
				buf := make([]byte, 0, len(b.data)*2)
				data := b.data
				for len(data) > 0 {
					var ok bool
					if data, ok = c.row(data); !ok {
						continue // a blank line
					}
					read.Add(1)
					if len(c.fields) != len(keys) {
						continue // convert_csv_to_json fails such a row
					}
					buf = append(buf, '{')
					for i, v := range c.fields {
						if i > 0 {
							buf = append(buf, ',')
						}
						buf = append(buf, keys[i]...)
						buf = str(buf, v)
					}
					buf = append(buf, '}', '\n')
					written.Add(1)
				}
				b.out <- buf
			}
		})
	}
	var writeErr error
	for b := range ordered {
		buf := <-b.out
		if writeErr == nil {
			_, writeErr = w.Write(buf)
		}
	}
	wg.Wait()
	return read.Load(), written.Load(), errors.Join(readErr, writeErr, w.Close())
}
