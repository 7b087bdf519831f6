package readers

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestItemRemove checks that Item.Remove marks exactly the rows that remove
// their key: catalog REMOVE and audience delete (spelled "delete" or
// "remove", or given as the default action).
func TestItemRemove(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		in   string
		want []bool
		keys []string
	}{
		{"catalog csv", Options{Entity: EntityCatalog, Format: FormatCSV},
			"sku,action\nA,ADD\nB,remove\nC,PATCH\nD,\n",
			[]bool{false, true, false, false}, []string{"A", "B", "C", "D"}},
		{"catalog jsonl", Options{Entity: EntityCatalog, Format: FormatJSONL, AllowBulk: true},
			`{"sku":"A","action":"REMOVE"}` + "\n" + `{"type":"REMOVE","payload":{"sku":"B"}}` + "\n" +
				`{"type":"REMOVE_MANY","payload":{}}` + "\n" + `{"sku":"C"}` + "\n",
			[]bool{true, true, false, false}, []string{"A", "B", "", "C"}},
		{"profiles", Options{Entity: EntityProfiles, Format: FormatCSV},
			"integrationId\nu1\n", []bool{false}, []string{"u1"}},
		{"audiences csv", Options{Entity: EntityAudiences, Format: FormatCSV, AudienceID: 7},
			"profileIntegrationId,action\np1,add\np2,delete\np3,REMOVE\np4,\n",
			[]bool{false, true, true, false}, []string{"7/p1", "7/p2", "7/p3", "7/p4"}},
		{"audiences csv default delete", Options{Entity: EntityAudiences, Format: FormatCSV, AudienceID: 7, AudienceAction: "remove"},
			"profileIntegrationId,action\np1,\np2,add\n",
			[]bool{true, false}, []string{"7/p1", "7/p2"}},
		{"audiences jsonl", Options{Entity: EntityAudiences, Format: FormatJSONL, AudienceAction: "delete"},
			`{"profileIntegrationId":"p1","audienceId":3}` + "\n" +
				`{"profileIntegrationId":"p2","audienceId":"4","action":"add"}` + "\n" +
				`{"profileIntegrationId":"p3","audienceId":5,"action":"Remove"}` + "\n",
			[]bool{true, false, true}, []string{"3/p1", "4/p2", "5/p3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := readString(t, tc.in, tc.opts)
			require.NoError(t, err)
			var removes []bool
			var keys []string
			for _, r := range rows {
				require.NoError(t, r.Err)
				checkItemMatchesJSON(t, tc.opts.Entity, r.Item)
				removes = append(removes, r.Item.Remove)
				keys = append(keys, r.Item.Key)
			}
			assert.Equal(t, tc.want, removes)
			assert.Equal(t, tc.keys, keys)
		})
	}
}
