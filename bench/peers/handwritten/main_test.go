package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/connectplus/connectplus/bench/gen"
)

// TestSameRecordsAsReference runs the baseline against a loopback server on a
// generated file with awkward rows added (quoted newline, "" escapes, CRLF,
// invalid UTF-8, a short last group) and checks every paid or refunded row
// arrives once, mapped, in groups of at most 100 input rows.
func TestSameRecordsAsReference(t *testing.T) {
	var file bytes.Buffer
	if _, err := gen.WriteTransactions(&file, 2345, 7); err != nil {
		t.Fatal(err)
	}
	file.WriteString("BN9,2025-01-01 00:00:00,ST1,91,EX1,A,B,a@b,1.50,0.00,1.50,CASH,paid,1,\"line\nbreak, \"\"q\"\"\"\r\n")
	file.WriteString("BN\xff,2025-01-01 00:00:00,ST1,91,EX1,A,B,a@b,10.00,0.00,10.00,CASH,refunded,1,\r\n")
	path := filepath.Join(t.TempDir(), "tx.csv")
	if err := os.WriteFile(path, file.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var got []map[string]any
	maxBatch := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v3/oauth/token/generate" {
			_, _ = w.Write([]byte(`{"data":{"accessToken":"t"}}`))
			return
		}
		var recs []map[string]any
		if err := json.Unmarshal(body, &recs); err != nil {
			t.Errorf("body is not a JSON array: %v", err)
		}
		mu.Lock()
		got = append(got, recs...)
		maxBatch = max(maxBatch, len(recs))
		mu.Unlock()
		_, _ = w.Write([]byte(`{"response":[],"failureCount":0}`))
	}))
	defer srv.Close()

	st, err := run(path, srv.URL, 2, 2)
	if err != nil {
		t.Fatal(err)
	}

	rows, err := csv.NewReader(bytes.NewReader(file.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range rows[1:] {
		if r[12] == "paid" || r[12] == "refunded" {
			want = append(want, string(bytes.ToValidUTF8([]byte(r[0]), []byte("\uFFFD")))+"|"+r[8])
		}
	}
	var have []string
	for _, m := range got {
		amount := strconv.FormatFloat(m["billAmount"].(float64), 'f', 2, 64)
		have = append(have, m["billNumber"].(string)+"|"+amount)
	}
	sort.Strings(want)
	sort.Strings(have)
	if st.read.Load() != int64(len(rows)-1) || st.posted.Load() != int64(len(want)) {
		t.Fatalf("read %d posted %d, want %d and %d", st.read.Load(), st.posted.Load(), len(rows)-1, len(want))
	}
	if len(have) != len(want) {
		t.Fatalf("server got %d records, want %d", len(have), len(want))
	}
	for i := range want {
		if have[i] != want[i] {
			t.Fatalf("record %d: got %s, want %s", i, have[i], want[i])
		}
	}
	if maxBatch > 100 {
		t.Fatalf("a body held %d records, more than a group", maxBatch)
	}
}

// TestJSONLinesInFileOrder: the -jsonl mode writes one object per row, in
// file order, every column a string, awkward rows included.
func TestJSONLinesInFileOrder(t *testing.T) {
	var file bytes.Buffer
	if _, err := gen.WriteTransactions(&file, 3456, 9); err != nil {
		t.Fatal(err)
	}
	file.WriteString("BN9,2025-01-01 00:00:00,ST1,91,EX1,A,B,a@b,1.50,0.00,1.50,CASH,paid,1,\"line\nbreak, \"\"q\"\"\"\r\n")
	file.WriteString("BN\xff,2025-01-01 00:00:00,ST1,91,EX1,A,B,a@b,10.00,0.00,10.00,CASH,refunded,1,\r\n")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "tx.csv"), filepath.Join(dir, "tx.jsonl")
	if err := os.WriteFile(in, file.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	read, written, err := runJSONL(in, out, 2)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(file.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if read != int64(len(rows)-1) || written != read || len(lines) != len(rows)-1 {
		t.Fatalf("read %d written %d lines %d, want %d", read, written, len(lines), len(rows)-1)
	}
	for i, line := range lines {
		var m map[string]string
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, line)
		}
		for j, h := range rows[0] {
			if want := string(bytes.ToValidUTF8([]byte(rows[i+1][j]), []byte("\uFFFD"))); m[h] != want {
				t.Fatalf("line %d column %s: %q, want %q", i+1, h, m[h], want)
			}
		}
	}
}
