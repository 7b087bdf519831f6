// Package examples embeds the example input files, so that `talonsync demo`
// works from any directory.
package examples

import "embed"

// FS holds the example files: products.csv, profiles.csv, audiences.jsonl
// and their other-format twins.
//
//go:embed *.csv *.jsonl
var FS embed.FS
