package httpwrite

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
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
			if !w.prepared.has(u) {
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
		if w.prepared.has(u) {
			t.Errorf("case %d: a prepared key stayed behind", i)
		}
	}
}

// readAll reads up to limit bytes, appended to what b holds, as
// io.ReadAll(io.LimitReader(r, limit)) would, and passes read errors on.
func TestReadAllLimit(t *testing.T) {
	for _, c := range []struct {
		in    string
		limit int
		cap   int
	}{{"", 4, 0}, {"abcdefghij", 4, 0}, {"abcdefghij", 10, 3}, {"abcdefghij", 11, 64}, {"abcdefghij", 1, 1}} {
		b := append(make([]byte, 0, c.cap+2), "x:"...)
		got, err := readAll(b, iotest.OneByteReader(strings.NewReader(c.in)), c.limit)
		want, _ := io.ReadAll(io.LimitReader(strings.NewReader(c.in), int64(c.limit)))
		if err != nil || string(got) != "x:"+string(want) {
			t.Errorf("%q limit %d: %q, %v; want %q", c.in, c.limit, got, err, "x:"+string(want))
		}
	}
	boom := errors.New("boom")
	if _, err := readAll(nil, iotest.TimeoutReader(strings.NewReader("abc")), 10); err == nil {
		t.Error("a read error was lost")
	}
	if _, err := readAll(nil, iotest.ErrReader(boom), 10); !errors.Is(err, boom) {
		t.Errorf("error %v, want boom", err)
	}
}

// requestID is the unit's request id, the sequence number and the part.
func TestRequestID(t *testing.T) {
	w := &writer{name: "post"}
	u := &block.Unit{Attrs: block.Attributes{block.AttrRequestID: "req"}}
	for _, c := range []struct {
		seq         int64
		index, part int
		want        string
	}{{1, 0, -1, "req-1"}, {1234567890123, 0, -1, "req-1234567890123"}, {0, 4, -1, "req-5"}, {77, 0, 0, "req-77.1"}, {77, 0, 11, "req-77.12"}} {
		if got := w.requestID(u, c.seq, c.index, c.part); got != c.want {
			t.Errorf("requestID(%d, %d, %d) = %q, want %q", c.seq, c.index, c.part, got, c.want)
		}
	}
	long := strings.Repeat("l", 200)
	if got := w.requestID(&block.Unit{Attrs: block.Attributes{block.AttrLineageID: long}}, 9, 0, 2); got != long+"-9.3" {
		t.Errorf("long base: %q", got)
	}
	if got := w.requestID(&block.Unit{}, 9, 0, -1); got != "post-9" {
		t.Errorf("no id: %q", got)
	}
}

// resetAt indexes an array's elements as reset indexes each of them (with
// the element's end found on the way), whatever the element: objects with
// escaped keys, nested values, more members than the index holds, scalars.
func TestEntityViewResetAt(t *testing.T) {
	var many strings.Builder
	many.WriteString(`{`)
	for i := range 20 {
		if i > 0 {
			many.WriteString(` , `)
		}
		many.WriteString(`"k` + strings.Repeat("x", i) + `" : [` + strings.Repeat("{}", i%3) + `]`)
	}
	many.WriteString(`}`)
	docs := append([]string{}, rawDocs...)
	docs = append(docs, `[`+many.String()+`, {} ,{ },"s",1, null,[{"a":[]}] , {"a\u0041":"}","b":{"c":"]"}}]`, `[]`, `[ ]`)
	checked := 0
	for _, d := range docs {
		var arrays [][]byte
		b := []byte(d)
		for i := range b {
			if b[i] == '[' && validJSON(b[i:skipValue(b, i)]) {
				arrays = append(arrays, b[i:skipValue(b, i)])
			}
		}
		for _, c := range arrays {
			for it := (arrIter{b: c, i: 1}); ; {
				start := it.i
				for start < len(c) && (isWS(c[start]) || c[start] == ',') {
					start++
				}
				if !it.next() {
					break
				}
				var want, got entityView
				want.reset(it.val)
				end := got.resetAt(c, start)
				if end != it.i || string(got.e) != string(want.e) || got.n != want.n || !sameMembers(&got, &want) {
					t.Fatalf("%s element at %d: resetAt %q n %d end %d, reset %q n %d end %d", c, start, got.e, got.n, end, want.e, want.n, it.i)
				}
				checked++
			}
		}
	}
	if checked < 25 {
		t.Fatalf("%d elements checked", checked)
	}
}

func sameMembers(a, b *entityView) bool {
	for i := 0; i < max(a.n, 0); i++ {
		x, y := a.m[i], b.m[i]
		if string(x.key) != string(y.key) || x.keyStart != y.keyStart || x.escaped != y.escaped || string(x.val) != string(y.val) {
			return false
		}
	}
	return true
}

// A bulk answer splits the same on the one-pass path as entity by entity
// over the value tree, with fewer, as many and more elements than sent.
func TestBulkOutcomesOnePassMatchTree(t *testing.T) {
	w := build(t, Spec, map[string]string{
		"apiEndPoint": "/v2/transactions/bulk", "apiBaseUrl": "http://127.0.0.1:1", "authType": "none",
		"responseSplitPath": "$.response[*]",
		"parsePathMap":      `{"status_code":"$.['errors'].*.code","error_message":"$.['errors'].*.message","entity_id":"$.entityId","warn":"$.warnings[*].message"}`,
	}, testEnv())
	if w.raw == nil {
		t.Fatal("no raw parser")
	}
	elems := []string{
		`{"entityId":1,"errors":[],"warnings":[]}`,
		`{"entityId":null,"errors":[{"status":false,"code":604,"message":"Duplicate bill number"},{"code":"631","message":"b"}],"warnings":[{"message":"w"}]}`,
		`{"entityId":"a\"b","errors":[{"code":8006,"message":"exists"}]}`,
		`{"entity\u0049d":"escaped key","errors":[]}`,
		` { "entityId" : 12345678901234567890 , "errors" : [ ] } `,
		`"scalar"`, `null`, `[]`, `{}`,
	}
	for k := range len(elems) + 1 {
		for _, n := range []int{k - 1, k, k + 1} {
			if n < 1 {
				continue
			}
			body := []byte(`{"response":[` + strings.Join(elems[:k], ",") + `],"totalCount":` + strconv.Itoa(k) + `}`)
			res := result{status: 200, body: &body}
			gotOuts, gotWhole := w.bulkOutcomes(&res, n)
			v, err := jsonv.Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			var wantOuts []block.Outcome
			var wantWhole block.Outcome
			if es := w.s.respSplit.Query(v); len(es) == n {
				for _, e := range es {
					wantOuts = append(wantOuts, w.s.entityOutcome(e, 200))
				}
			} else {
				wantWhole = w.s.entityOutcome(v, 200)
			}
			if !reflect.DeepEqual(gotOuts, wantOuts) || !reflect.DeepEqual(gotWhole, wantWhole) {
				t.Fatalf("%d elements, %d sent:\nraw  %+v %+v\ntree %+v %+v", k, n, gotOuts, gotWhole, wantOuts, wantWhole)
			}
		}
	}
}

func (p *preparedKeys) has(u *block.Unit) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.m[u]
	return ok
}
