package headers

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/format/csvio"
)

// FuzzTransform feeds arbitrary files through a mapping with a rename, an
// expression and a constant: the block must never panic, must account for
// every data row (written or failed) and must write well-formed CSV.
func FuzzTransform(f *testing.F) {
	f.Add("a,b,c\n1,2,3\n4,5,6\n")
	f.Add("a,b\n\"x\ny\",2\n")
	f.Add("a,b,c\n1,\"2\n")
	f.Add("\ufeffa;b;c\r\n1;2;3\r\n")
	f.Add("c\n10\n0\n")
	f.Fuzz(func(t *testing.T, in string) {
		b := build(t, map[string]any{
			"outputHeadersOrder": "A,B,K,D",
			"headersMapping":     `{"A":"a","B":exp{hdr{c} / 2},"K":const{k},"D":exp{'hdr{a}'.concat('-').concat('hdr{b}')}}`,
		})
		out, err := run(t, b, fileUnit("f.csv", in, nil))
		if err != nil {
			return // header problems fail the file as a whole: fine
		}
		if len(out.got) == 0 || out.got[0].rel != block.RelSuccess {
			t.Fatalf("no success output: %+v", out.got)
		}
		rows := 0
		rd := csvio.NewReader(strings.NewReader(out.got[0].body), csvio.Options{})
		for {
			r, err := rd.Read()
			if err != nil {
				break
			}
			if len(r.Fields) != 4 {
				t.Fatalf("output row %v has %d fields", r.Fields, len(r.Fields))
			}
			rows++
		}
		if got := out.got[0].unit.Attrs[AttrRowsOut]; got != itoa(rows-1) {
			t.Fatalf("rows out %s, counted %d", got, rows-1)
		}
		b.EndLineage(context.Background(), "lin-1", true)
	})
}

func itoa(n int) string {
	return strconv.Itoa(max(n, 0))
}
