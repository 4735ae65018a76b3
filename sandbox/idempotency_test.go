package sandbox

import (
	"bytes"
	"testing"
)

// A request repeating an Idempotency-Key gets the first answer replayed:
// nothing stored again, no duplicate arrival, one idempotent replay; a new
// key for the same bill is a real duplicate (604).
func TestIdempotencyKeyReplays(t *testing.T) {
	e := newEnv(t, Config{})
	body := "[" + txn("919800000001", "IK-1", 10) + "]"
	first := e.expect(e.do("POST", "/v2/transactions/bulk", body, IdempotencyHeader, "k1"), 200)
	again := e.expect(e.do("POST", "/v2/transactions/bulk", body, IdempotencyHeader, "k1"), 200)
	if !bytes.Equal(first.raw, again.raw) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay differs: %s vs %s (%v)", first.raw, again.raw, again.header)
	}
	st := e.s.Stats()
	if st.Duplicates != 0 || st.AcceptedEntities != 1 || st.ReceivedEntities != 1 || st.IdempotentReplays != 1 {
		t.Fatalf("stats after a replay: %+v", st)
	}
	dup := e.expect(e.do("POST", "/v2/transactions/bulk", body, IdempotencyHeader, "k2"), 200)
	if code, _ := firstErrorCode(t, dup.obj()["response"].([]any)[0].(map[string]any)); code != 604 {
		t.Fatalf("new key, same bill: %s", dup.raw)
	}
	if st := e.s.Stats(); st.Duplicates != 1 || st.IdempotentReplays != 1 {
		t.Fatalf("stats after a real duplicate: %+v", st)
	}
}
