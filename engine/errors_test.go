package engine

import (
	"fmt"
	"testing"

	"github.com/connectplus/connectplus/block"
)

// A lineage keeps at most MaxLineageErrors distinct messages; the rest are
// counted, not dropped, under OtherErrors.
func TestErrorSummaryBounded(t *testing.T) {
	m := map[errorKey]int64{}
	for i := 0; i < 1000; i++ {
		countError(m, &block.Outcome{Status: block.Failed, Block: "api", Code: 400, Message: fmt.Sprintf("customer %d not found", i)}, nil)
	}
	countError(m, &block.Outcome{Status: block.Failed, Block: "api", Code: 400, Message: "customer 3 not found"}, nil)
	list := errorList(m)
	if len(list) != MaxLineageErrors+1 {
		t.Fatalf("%d distinct entries", len(list))
	}
	var total int64
	for _, e := range list {
		total += e.Count
	}
	if total != 1001 || list[0].Message != OtherErrors || list[0].Count != 900 {
		t.Fatalf("total %d, first %+v", total, list[0])
	}
	if back := errorList(errorMap(list)); len(back) != len(list) {
		t.Fatal("checkpoint round trip lost entries")
	}
}
