// Command connectplus is the Connect+ data-integration server and CLI.
package main

import (
	"os"
	"runtime/debug"

	"github.com/connectplus/connectplus/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// The pipeline's live heap is small (batches in flight) while it
	// allocates fast; the default GC target spends a large share of the CPU
	// collecting. Let the heap grow ten times the live data; the commands set
	// a soft memory limit that bounds this. Both yield to GOGC / GOMEMLIMIT.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(1000)
	}
	os.Exit(cli.Main(version, os.Args[1:]))
}
