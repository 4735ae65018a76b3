package httpwrite

import (
	"slices"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
)

// encodedBatch is objBatch with every value pre-encoded, as a
// block.ValueEncoder hands them on.
func encodedBatch(t *testing.T, docs ...string) *block.Batch {
	b := objBatch(t, docs...)
	for i := range b.Records {
		b.Records[i].Value = jsonv.RawJSON(jsonv.Marshal(b.Records[i].Value))
	}
	return b
}

// Pre-encoded values (block.ValueEncoder) send the same requests as the
// value trees they stand for: bulk bodies, a whole-batch array payload,
// single requests split by requestSplitPath, and endpoints reading record
// fields.
func TestEncodedValuesSendTheSameRequests(t *testing.T) {
	docs := []string{`{"id":"a","n":1.5,"o":{"k":"v"}}`, `[{"id":"b1"},{"id":"b2"}]`, `{"id":"c","n":-2}`}
	for _, tc := range []struct {
		name   string
		values map[string]string
		docs   []string
	}{
		{"bulk", map[string]string{"bulkSupport": "true", "apiEndPoint": "/v2/x"}, docs},
		{"batch payload", map[string]string{"bulkSupport": "true", "apiEndPoint": "/v2/x"}, docs[1:2]},
		{"single, root wildcard", map[string]string{"bulkSupport": "false", "apiEndPoint": "/v2/x/${id}"}, docs},
		{"single, split path", map[string]string{"bulkSupport": "false", "apiEndPoint": "/v2/x", "requestSplitPath": "$.o"}, docs[:1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requests := func(b *block.Batch) []string {
				rc, ts := newRecorder(t, nil)
				v := map[string]string{"apiBaseUrl": ts.URL, "authType": "bearer", "bearerToken": "tok", "parsePathMap": `{"status_code":"$.status.code"}`}
				for k, x := range tc.values {
					v[k] = x
				}
				w := build(t, Spec, v, testEnv())
				if !w.OpaqueValues() {
					t.Fatal("http_write does not take pre-encoded values")
				}
				process(t, w, &block.Unit{Attrs: block.Attributes{block.AttrRequestID: "r"}, Batch: b})
				var out []string
				for _, r := range rc.all() {
					out = append(out, r.url+" "+r.body)
				}
				slices.Sort(out)
				return out
			}
			want, got := requests(objBatch(t, tc.docs...)), requests(encodedBatch(t, tc.docs...))
			if len(want) == 0 || !slices.Equal(got, want) {
				t.Fatalf("got  %q\nwant %q", got, want)
			}
		})
	}
}
