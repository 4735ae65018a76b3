package join

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
)

// TestLineItemMergeScale joins a generated bill file with a line-item file
// five times its size through two_join (spooling, external sorts, merge)
// and checks every line item got its bill. By default the files are small;
// with CONNECTPLUS_BIG=1 they are the 2M-bill / 10M-line pair of the
// performance requirement (peak RSS under 300 MB), and the test reports the
// time and the process's peak RSS (VmHWM):
//
//	CONNECTPLUS_BIG=1 go test -run TestLineItemMergeScale -v -timeout 30m ./blocks/join/
func TestLineItemMergeScale(t *testing.T) {
	bills, perBill := 20_000, 5
	big := os.Getenv("CONNECTPLUS_BIG") == "1"
	if big {
		bills = 2_000_000
	}
	dir := t.TempDir()
	billPath, linePath := filepath.Join(dir, "BILL_LEVEL_MERGE_1.csv"), filepath.Join(dir, "LINE_LEVEL_MERGE_1.csv")
	genStart := time.Now()
	if err := writeBills(billPath, bills); err != nil {
		t.Fatal(err)
	}
	if err := writeLines(linePath, bills, perBill); err != nil {
		t.Fatal(err)
	}
	genTime := time.Since(genStart)
	runtime.GC()
	h := newHarness(t, TwoJoinSpec, map[string]any{
		"files12JoinType": "INNER_JOIN",
		"file1Regex":      "BILL_LEVEL_MERGE.*.csv", "file1Headers": "BillNumber",
		"file2Regex": "LINE_LEVEL_MERGE.*.csv", "file2Headers": "BillNumber",
		"outputFileName": "merged.csv", "fileJoinUseCase": "TRANSACTION_LINE_ITEM",
	})
	start := time.Now()
	var joinedFile *block.File
	for _, p := range []string{billPath, linePath} {
		f, err := block.LocalFile(filepath.Base(p), p)
		if err != nil {
			t.Fatal(err)
		}
		u := &block.Unit{Attrs: block.Attributes{block.AttrFilename: f.Name, block.AttrLineageID: "lin-" + f.Name}, File: f}
		out := &keepOut{}
		if err := h.blk.(block.Processor).Process(context.Background(), u, out); err != nil {
			t.Fatal(err)
		}
		if len(out.units) > 0 {
			joinedFile = out.units[0].File
			if out.units[0].Attrs[AttrJoinRows] != strconv.Itoa(bills*perBill) {
				t.Fatalf("join.rows %s, want %d", out.units[0].Attrs[AttrJoinRows], bills*perBill)
			}
		}
	}
	elapsed := time.Since(start)
	if joinedFile == nil {
		t.Fatal("no joined file")
	}
	if err := checkJoined(joinedFile, bills, perBill); err != nil {
		t.Fatal(err)
	}
	hwm := vmHWM()
	t.Logf("line-item merge: %d bills x %d line items = %d rows; generate %v, join %v (%s out), peak RSS (VmHWM) %d MB",
		bills, perBill, bills*perBill, genTime.Round(time.Millisecond), elapsed.Round(time.Millisecond), sizeMB(joinedFile.Size), hwm>>20)
	if big && hwm > 300<<20 {
		t.Fatalf("peak RSS %d MB exceeds 300 MB", hwm>>20)
	}
}

type keepOut struct{ units []*block.Unit }

func (o *keepOut) Emit(_ context.Context, _ string, u *block.Unit) error {
	o.units = append(o.units, u)
	return nil
}
func (o *keepOut) Ack(*block.Unit, []byte) {}
func (o *keepOut) Progress(int64)          {}

func sizeMB(n int64) string { return fmt.Sprintf("%d MB", n>>20) }

// Bills and lines are written in scrambled key orders so both sorts work.
func scramble(i, n int) int { return int((uint64(i)*2654435761 + 12345) % uint64(n)) }

func billID(i int) string { return fmt.Sprintf("B%08d", i) }

func writeBills(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("BillNumber,BillDate,StoreCode,BillAmount,Mobile\n")
	for i := 0; i < n; i++ {
		// 2654435761 is prime and divides none of the sizes used, so
		// scramble is a permutation of 0..n-1.
		b := scramble(i, n)
		fmt.Fprintf(w, "%s,2024-03-05,S%03d,%d.%02d,9198%08d\n", billID(b), b%500, b%10000, b%100, b)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func writeLines(path string, bills, per int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("BillNumber,ItemCode,Qty,Amount\n")
	n := bills * per
	for i := 0; i < n; i++ {
		j := scramble(i, n)
		b, item := j/per, j%per
		fmt.Fprintf(w, "%s,I%06d,%d,%d.50\n", billID(b), item, item+1, (b+item)%1000)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// checkJoined streams the output: header, then per bill its line items
// (keys ascending), each carrying the bill's store code.
func checkJoined(f *block.File, bills, per int) error {
	rc, err := f.Open(context.Background())
	if err != nil {
		return err
	}
	defer rc.Close()
	r := bufio.NewReaderSize(rc, 1<<20)
	head, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if head != "BillNumber,BillDate,StoreCode,BillAmount,Mobile,ItemCode,Qty,Amount\n" {
		return fmt.Errorf("header %q", head)
	}
	rows := 0
	for {
		line, err := r.ReadSlice('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		b := rows / per
		if !bytes.HasPrefix(line, []byte(billID(b)+",2024-03-05,S"+fmt.Sprintf("%03d,", b%500))) {
			return fmt.Errorf("row %d: %q does not carry bill %s", rows, strings.TrimSpace(string(line)), billID(b))
		}
		rows++
	}
	if rows != bills*per {
		return fmt.Errorf("%d rows, want %d", rows, bills*per)
	}
	return nil
}

// vmHWM returns the process's peak resident set size in bytes.
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(l, "VmHWM:"), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
