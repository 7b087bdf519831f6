package readers

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
)

// TestCSVTypes reads one CSV file with a BOM, CRLF line ends and a column
// of each attribute type, one filled cell per row, and checks the JSON each
// typed cell is sent as. An empty cell sends no attribute, so the API keeps
// the value it has (the emulator's upsert test covers the merge).
func TestCSVTypes(t *testing.T) {
	cols := []string{"Note", "Age:number", "VIP:boolean", "Signup:time", "Tags:list"}
	tests := []struct {
		name string
		col  string // header column
		cell string // the cell as written in the CSV, quoted if need be
		want string // the attribute's JSON
	}{
		{"string with newline comma and quotes", "Note", "\"He said \"\"hi\"\", then\r\nleft\"", `"He said \"hi\", then\nleft"`},
		{"string plain", "Note", "plain text", `"plain text"`},
		{"number integer", "Age:number", "42", `42`},
		{"number exponent", "Age:number", "-1.5e3", `-1500`},
		{"number with plus and blanks", "Age:number", " +7 ", `7`},
		{"number decimal", "Age:number", "19.90", `19.9`},
		{"boolean true", "VIP:boolean", "true", `true`},
		{"boolean TRUE", "VIP:boolean", "TRUE", `true`},
		{"boolean false", "VIP:boolean", "false", `false`},
		{"boolean False", "VIP:boolean", "False", `false`},
		{"boolean 1", "VIP:boolean", "1", `true`},
		{"boolean 0", "VIP:boolean", "0", `false`},
		{"boolean yes", "VIP:boolean", "yes", `true`},
		{"boolean YES", "VIP:boolean", "YES", `true`},
		{"boolean no", "VIP:boolean", "no", `false`},
		{"boolean No", "VIP:boolean", "No", `false`},
		{"time date only is midnight UTC", "Signup:time", "2024-03-05", `"2024-03-05T00:00:00Z"`},
		{"time RFC 3339 kept", "Signup:time", "2024-03-05T10:30:00+02:00", `"2024-03-05T10:30:00+02:00"`},
		{"list pipes", "Tags:list", "a|b||c", `["a","b","c"]`},
		{"list JSON array", "Tags:list", `"[""x"", ""y z""]"`, `["x","y z"]`},
	}
	var sb strings.Builder
	sb.WriteString("\xEF\xBB\xBFintegrationId," + strings.Join(cols, ",") + "\r\n")
	for i, tc := range tests {
		cells := make([]string, len(cols))
		cells[slices.Index(cols, tc.col)] = tc.cell
		fmt.Fprintf(&sb, "t%02d,%s\r\n", i, strings.Join(cells, ","))
	}
	// A profile whose attributes a second file leaves partly empty.
	sb.WriteString("keep,old,50,yes,,a|b\r\n")

	rows, err := readString(t, sb.String(), Options{Entity: EntityProfiles, Format: FormatCSV})
	require.NoError(t, err)
	require.Len(t, rows, len(tests)+1, "the BOM, CRLF and the quoted newline must not make or lose rows")
	for _, r := range rows {
		require.NoError(t, r.Err, "line %d", r.Line)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			row := rows[i]
			wantLine := int64(i + 2)
			if i > 0 {
				wantLine++ // the first row's quoted cell spans two lines
			}
			assert.Equal(t, wantLine, row.Line)
			id := fmt.Sprintf("t%02d", i)
			assert.Equal(t, id, row.Item.Key)
			var p talon.CustomerProfile
			require.NoError(t, json.Unmarshal(row.Item.JSON, &p), "%s", row.Item.JSON)
			assert.Equal(t, id, p.IntegrationID)
			attr, _, _ := strings.Cut(tc.col, ":")
			require.Len(t, p.Attributes, 1, "empty cells send no attribute: %s", row.Item.JSON)
			got, ok := p.Attributes[attr]
			require.True(t, ok, "attribute %s missing: %s", attr, row.Item.JSON)
			// JSONEq compares decoded values, so a number sent as a string fails.
			assert.JSONEq(t, tc.want, string(got))
		})
	}
	assert.Equal(t, `{"integrationId":"keep","attributes":{"Note":"old","Age":50,"VIP":true,"Tags":["a","b"]}}`,
		string(rows[len(tests)].Item.JSON), "the empty Signup cell sends nothing")

	t.Run("empty cells leave existing attributes alone", func(t *testing.T) {
		rows, err := readString(t, "integrationId,Note,Age:number,VIP:boolean,Tags:list\r\nkeep,,,no,\r\n",
			Options{Entity: EntityProfiles, Format: FormatCSV})
		require.NoError(t, err)
		require.Len(t, rows, 1)
		require.NoError(t, rows[0].Err)
		assert.Equal(t, `{"integrationId":"keep","attributes":{"VIP":false}}`, string(rows[0].Item.JSON))
	})
}
