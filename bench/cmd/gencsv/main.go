// Command gencsv writes deterministic test CSV files:
//
//	gencsv -rows 5000000 -o /tmp/tx5m.csv            # transactions (perf-anchors data set)
//	gencsv -kind customers -rows 100000 -o /tmp/c.csv
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/connectplus/connectplus/bench/gen"
)

func main() {
	rows := flag.Int("rows", 1000000, "data rows to write")
	seed := flag.Uint64("seed", 42, "random seed (same seed, same file)")
	out := flag.String("o", "-", "output file (- for stdout)")
	kind := flag.String("kind", "transactions", "transactions or customers")
	flag.Parse()
	if err := run(*kind, *rows, *seed, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gencsv:", err)
		os.Exit(1)
	}
}

func run(kind string, rows int, seed uint64, out string) error {
	var w io.Writer = os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	var err error
	switch kind {
	case "transactions":
		_, err = gen.WriteTransactions(w, rows, seed)
	case "customers":
		_, err = gen.WriteCustomers(w, rows, seed)
	default:
		return fmt.Errorf("unknown kind %q (transactions or customers)", kind)
	}
	if err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && out != "-" {
		return f.Close()
	}
	return nil
}
