package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// TestCLIRejectsOrigin: every line of a sync's rejects file says whether
// the API refused the row or reading did, and where the rows came from and
// were sent; the fields of the old format are unchanged.
func TestCLIRejectsOrigin(t *testing.T) {
	srv := startEmulator(t, emulator.Options{Catalogs: []int64{42}, Schema: emulator.Schema{emulator.SchemaCatalog: {"Color": "string"}}})
	dir := t.TempDir()
	in := writeFile(t, dir, "items.csv", "sku,price,Color,Season\n"+
		"A,1,red,\n"+ // 2: delivered
		"B,x,red,\n"+ // 3: not a number
		"C,3,blue,summer\n") // 4: the API knows no Season
	res := runMain(t, emuEnv(srv, testKey), "", "catalog", "--catalog-id", "42", in)
	require.Equal(t, exitRejected, res.Code, res.Stderr)
	rejects := readRejects(t, in+".rejects.jsonl")
	require.Len(t, rejects, 2)
	bySource := map[string]map[string]any{}
	for _, r := range rejects {
		assert.Equal(t, "catalog", r["entity"])
		assert.Equal(t, 42.0, r["catalog_id"])
		assert.Equal(t, in, r["input"])
		assert.Equal(t, "csv", r["format"])
		assert.NotEmpty(t, r["error"])
		bySource[r["source"].(string)] = r
	}
	require.Contains(t, bySource, "input")
	require.Contains(t, bySource, "api")
	assert.Equal(t, 3.0, bySource["input"]["line"])
	assert.Equal(t, map[string]any{"sku": "B", "price": "x", "Color": "red", "Season": ""}, bySource["input"]["record"], "the input row")
	assert.Equal(t, 4.0, bySource["api"]["line"])
	assert.Contains(t, bySource["api"]["error"], "Season")
	assert.Equal(t, "ADD", bySource["api"]["record"].(map[string]any)["type"], "the item as sent")
}
