package exprs

import (
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
)

func TestCompilerEvaluatesAgainstAttributes(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	compile := Compiler(kolkata, func() time.Time { return now })
	x, err := compile("out_${filename:substringBefore('.')}_${now():format('yyyyMMdd-HH')}.csv")
	if err != nil {
		t.Fatal(err)
	}
	got, err := x.EvalString(block.Attributes{"filename": "tx.csv"})
	if err != nil || got != "out_tx_20261122-15.csv" {
		t.Fatalf("got %q %v", got, err)
	}
	b, err := compile("${status:equals('paid')}")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.EvalBool(block.Attributes{"status": "paid"}); !ok {
		t.Fatal("condition")
	}
	if err := Check("${a:noSuchFunction()}"); err == nil {
		t.Fatal("unknown function accepted")
	}
}
