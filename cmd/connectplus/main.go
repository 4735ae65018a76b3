// Command connectplus is the Connect+ data-integration server and CLI.
package main

import (
	"os"

	"github.com/connectplus/connectplus/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(cli.Main(version, os.Args[1:]))
}
