package httpwrite

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/connectplus/connectplus/block"
)

// The key a bulk request carries is the one Prepare announced, with the
// value keyFor computes from scratch; a unit whose records changed after
// Prepare gets the key of the records it carries; no prepared key stays
// behind.
func TestPreparedKeyIsTheRequestsKey(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(cannedAnswer())
	}))
	defer ts.Close()
	dir := t.TempDir()
	w := build(t, Spec, map[string]string{
		"apiEndPoint": "/v2/transactions/bulk", "apiBaseUrl": ts.URL, "authType": "none",
		"responseSplitPath": "$.response[*]",
		"parsePathMap":      `{"status_code":"$.['errors'].*.code","error_message":"$.['errors'].*.message","entity_id":"$.entityId"}`,
	}, testEnv(func(e *block.Env) { e.StateDir = dir }))
	if w.wal == nil {
		t.Fatal("no write-ahead log")
	}
	for i, c := range []struct {
		prepare bool
		drop    int // records removed after Prepare
	}{{true, 0}, {false, 0}, {true, 1}} {
		u := benchUnit(1000 * i)
		u.Lineage = freshLineage{walLineage{id: "L" + string(rune('a'+i))}}
		if c.prepare {
			w.Prepare(u)
			if _, ok := w.prepared.Load(u); !ok {
				t.Fatalf("case %d: Prepare kept no key", i)
			}
		}
		u.Batch.Records = u.Batch.Records[:len(u.Batch.Records)-c.drop]
		want := idempotencyKey(u.Lineage.ID(), w.name, unitSeqs(u.Batch.Records), -1)
		if err := w.Process(context.Background(), u, &discard{}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := keys[len(keys)-1]
		mu.Unlock()
		if got != want {
			t.Errorf("case %d: key %q, want %q", i, got, want)
		}
		if _, ok := w.prepared.Load(u); ok {
			t.Errorf("case %d: a prepared key stayed behind", i)
		}
	}
}
