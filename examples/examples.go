// Package examples embeds the example dataflows and their sample files, so
// the binary can import them (`connectplus demo`) wherever it runs.
package examples

import "embed"

// FS holds *.yaml (the dataflows) and data/*.csv (their samples).
//
//go:embed *.yaml data/*.csv
var FS embed.FS

// DemoRoot is the directory prefix the examples' local paths use; a demo
// replaces it with its own files directory.
const DemoRoot = "/tmp/connectplus-demo"
