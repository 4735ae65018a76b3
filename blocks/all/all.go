// Package all assembles the registry of every block type the product ships.
// Only the top layers (commands, server assembly, tests) import it: lower
// layers receive a *block.Registry instead.
package all

import (
	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/cron"
	"github.com/connectplus/connectplus/blocks/csvjson"
	"github.com/connectplus/connectplus/blocks/filter"
	"github.com/connectplus/connectplus/blocks/hashing"
	"github.com/connectplus/connectplus/blocks/headers"
	"github.com/connectplus/connectplus/blocks/httpwrite"
	"github.com/connectplus/connectplus/blocks/join"
	"github.com/connectplus/connectplus/blocks/joltblock"
	"github.com/connectplus/connectplus/blocks/jsltblock"
	"github.com/connectplus/connectplus/blocks/jsoncsv"
	"github.com/connectplus/connectplus/blocks/kafka"
	"github.com/connectplus/connectplus/blocks/local"
	"github.com/connectplus/connectplus/blocks/okfile"
	"github.com/connectplus/connectplus/blocks/pgp"
	"github.com/connectplus/connectplus/blocks/reconcile"
	"github.com/connectplus/connectplus/blocks/related"
	"github.com/connectplus/connectplus/blocks/s3"
	"github.com/connectplus/connectplus/blocks/script"
	"github.com/connectplus/connectplus/blocks/sftp"
	"github.com/connectplus/connectplus/blocks/validate"
	"github.com/connectplus/connectplus/blocks/xml"
)

// Registry returns a new registry holding every block type.
func Registry() *block.Registry {
	r := block.NewRegistry()
	for _, register := range []func(*block.Registry){
		cron.Register,
		func(r *block.Registry) { r.MustRegister(csvjson.Spec) },
		filter.Register,
		hashing.Register,
		headers.Register,
		httpwrite.Register,
		join.Register,
		jsoncsv.Register,
		kafka.Register,
		okfile.Register,
		pgp.Register,
		reconcile.Register,
		related.Register,
		xml.Register,
		jsltblock.Register,
		joltblock.Register,
		local.Register,
		s3.Register,
		script.Register,
		sftp.Register,
		validate.Register,
	} {
		register(r)
	}
	return r
}
