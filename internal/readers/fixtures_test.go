package readers

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the .want files in testdata")

// fixtureCases are the tricky fixtures; each has a golden NAME.want file
// holding, per row, its line and its item JSON or rejection.
var fixtureCases = []struct {
	file string
	opts Options
}{
	{"profiles_tricky.csv", Options{Entity: EntityProfiles, Format: FormatCSV}},
	{"profiles_tricky.csv.gz", Options{Entity: EntityProfiles, Format: FormatCSV}},
	{"catalog_tricky.csv", Options{Entity: EntityCatalog, Format: FormatCSV}},
	{"catalog_quotes.csv", Options{Entity: EntityCatalog, Format: FormatCSV}},
	{"audiences_tricky.csv", Options{Entity: EntityAudiences, Format: FormatCSV, AudienceID: 9}},
	{"profiles_tricky.jsonl", Options{Entity: EntityProfiles, Format: FormatJSONL}},
	{"profiles_tricky.jsonl.gz", Options{Entity: EntityProfiles, Format: FormatJSONL}},
	{"catalog_tricky.jsonl", Options{Entity: EntityCatalog, Format: FormatJSONL}},
	{"audiences_tricky.jsonl", Options{Entity: EntityAudiences, Format: FormatJSONL, AudienceAction: "delete"}},
}

func golden(rows []Row) string {
	var b strings.Builder
	for _, r := range rows {
		if r.Err != nil {
			fmt.Fprintf(&b, "%d: ERR %v | %s\n", r.Line, r.Err, r.Record)
		} else {
			fmt.Fprintf(&b, "%d: %q %s\n", r.Line, r.Item.Key, r.Item.JSON)
		}
	}
	return b.String()
}

func TestFixtures(t *testing.T) {
	for _, tc := range fixtureCases {
		t.Run(tc.file, func(t *testing.T) {
			rows, err := readPath(t, fixtures+tc.file, tc.opts)
			require.NoError(t, err)
			for _, r := range rows {
				checkRow(t, r)
				if r.Err == nil {
					checkItemMatchesJSON(t, tc.opts.Entity, r.Item)
				}
			}
			got := golden(rows)
			want := fixtures + strings.TrimSuffix(tc.file, ".gz") + ".want"
			if *update && !strings.HasSuffix(tc.file, ".gz") {
				require.NoError(t, os.WriteFile(want, []byte(got), 0o644))
			}
			b, err := os.ReadFile(want)
			require.NoError(t, err)
			assert.Equal(t, string(b), got)
		})
	}
}
