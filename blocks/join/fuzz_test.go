package join

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/format/csvio"
)

// readCSV parses a whole file the way the join does, or fails.
func readCSV(s string) (header []string, rows [][]string, ok bool) {
	rd := csvio.NewReader(strings.NewReader(s), csvio.Options{TrimBOM: true})
	for {
		r, err := rd.Read()
		if err == io.EOF {
			return header, rows, header != nil
		}
		if err != nil {
			return nil, nil, false
		}
		f := append([]string(nil), r.Fields...)
		if header == nil {
			header = f
			continue
		}
		if len(f) > len(header) {
			return nil, nil, false
		}
		for len(f) < len(header) {
			f = append(f, "")
		}
		rows = append(rows, f)
	}
}

// naiveOuterJoin is the oracle: a nested-loop full outer join on column 0,
// keys in byte order, rows of a key in input order.
func naiveOuterJoin(ha []string, a [][]string, hb []string, b [][]string) [][]string {
	var keys []string
	seen := map[string]bool{}
	for _, r := range append(append([][]string(nil), a...), b...) {
		if !seen[r[0]] {
			seen[r[0]] = true
			keys = append(keys, r[0])
		}
	}
	slices.SortFunc(keys, func(x, y string) int {
		return bytes.Compare(appendKey(nil, []string{x}, []int{0}), appendKey(nil, []string{y}, []int{0}))
	})
	var out [][]string
	for _, k := range keys {
		var ra, rb [][]string
		for _, r := range a {
			if r[0] == k {
				ra = append(ra, r)
			}
		}
		for _, r := range b {
			if r[0] == k {
				rb = append(rb, r)
			}
		}
		nullA := make([]string, len(ha))
		nullA[0] = k
		if len(ra) == 0 {
			ra = [][]string{nullA}
		}
		if len(rb) == 0 {
			rb = [][]string{make([]string, len(hb))}
		}
		for _, x := range ra {
			for _, y := range rb {
				out = append(out, append(append([]string(nil), x...), y[1:]...))
			}
		}
	}
	return out
}

// FuzzOuterJoin checks the external-sort merge join against a nested-loop
// join on arbitrary inputs (keys are column 0 of each file).
func FuzzOuterJoin(f *testing.F) {
	f.Add("k,a\n1,x\n2,y\n2,z\n", "k,b\n2,p\n3,q\n")
	f.Add("k\n\"a,b\"\n\x00\n", "k,b\n\x00,1\n,2\n")
	f.Add("k,a\n\"multi\nline\",1\n", "k\n\"multi\nline\"\n")
	f.Add("k,a\n1\n", "k,b,c\n1,2\n")
	f.Fuzz(func(t *testing.T, a, b string) {
		ha, ra, okA := readCSV(a)
		hb, rb, okB := readCSV(b)
		dir := t.TempDir()
		pa, pb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		os.WriteFile(pa, []byte(a), 0o600)
		os.WriteFile(pb, []byte(b), 0o600)
		var keyA, keyB string
		if okA {
			keyA = ha[0]
		}
		if okB {
			keyB = hb[0]
		}
		p := &joinPlan{
			inputs: []joinInput{{path: pa, name: "a", keys: []string{keyA}}, {path: pb, name: "b", keys: []string{keyB}}},
			types:  []string{"", OuterJoin},
			delim:  ',', workDir: dir, memLimit: 1 << 20,
		}
		var out bytes.Buffer
		st, err := runJoin(context.Background(), p, &out)
		if !okA || !okB || slices.Index(ha, keyA) != 0 || slices.Index(hb, keyB) != 0 {
			return // the oracle only covers well-formed files keyed on their first column
		}
		if err != nil {
			t.Fatalf("join failed on well-formed input: %v", err)
		}
		_, got, ok := readCSV(out.String())
		if !ok {
			t.Fatalf("unreadable output %q", out.String())
		}
		want := naiveOuterJoin(ha, ra, hb, rb)
		if len(got) != len(want) || int64(len(got)) != st.rows {
			t.Fatalf("rows %d (stats %d), want %d\nout %q", len(got), st.rows, len(want), out.String())
		}
		for i := range want {
			if !slices.Equal(got[i], want[i]) {
				t.Fatalf("row %d: %q, want %q", i, got[i], want[i])
			}
		}
	})
}

// FuzzFileJoinLoad loads arbitrary files into SQLite: never a panic, and
// SELECT * returns every data row.
func FuzzFileJoinLoad(f *testing.F) {
	f.Add("a,b\n1,2\n3,4\n")
	f.Add("a,a,\n1,2,3\n")
	f.Add("\"x\"\"y\",b\n\"1\n2\",\n")
	f.Fuzz(func(t *testing.T, in string) {
		h, rows, ok := readCSV(in)
		b := &fileJoin{query: "SELECT * FROM table1", header: true, inDelim: ',', outDelim: ',', workDir: t.TempDir()}
		path := filepath.Join(b.workDir, "out")
		os.WriteFile(path, nil, 0o600)
		n, err := b.runSQL(context.Background(), [][]tableSource{{{name: "f", open: func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(in)), nil
		}}}}, path)
		if !ok || len(h) == 0 {
			return
		}
		if err != nil {
			t.Fatalf("load failed on well-formed input: %v", err)
		}
		if n != int64(len(rows)) {
			t.Fatalf("%d rows out, %d in", n, len(rows))
		}
	})
}
