// Command connectplus is the Connect+ data-integration server and CLI.
package main

import (
	"os"
	"runtime/debug"

	"github.com/connectplus/connectplus/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// The pipeline's live heap is small (batches in flight) while it
	// allocates fast; the default GC target would spend ~40% of the CPU
	// collecting. Trade some memory for throughput unless the user chose.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	os.Exit(cli.Main(version, os.Args[1:]))
}
