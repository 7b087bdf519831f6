package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

func TestE2ESmokeProfilesCSV(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	in := writeFile(t, dir, "p.csv", "integrationId,Age:number\nc1,30\nc2,\n")
	rep := filepath.Join(dir, "report.json")
	res := runCLI(t, srv.URL(), testKey, cli{args: []string{"profiles", "--report", rep, in}})
	require.Equal(t, 0, res.Code, res.Stderr)
	st := srv.State()
	require.Len(t, st.Profiles, 2)
	assert.JSONEq(t, `30`, string(st.Profiles["c1"].Attributes["Age"]))
	assert.Empty(t, st.Profiles["c2"].Attributes, "an empty cell sends no attribute")
	r := readReport(t, rep)
	assert.Equal(t, int64(2), r.Read)
	assert.Equal(t, int64(2), r.Delivered)
}

// TestE2EDemo runs the README's first command from a directory without the
// examples: they are embedded.
func TestE2EDemo(t *testing.T) {
	res := runCLI(t, "", "", cli{args: []string{"demo"}, dir: t.TempDir()})
	require.Equal(t, 0, res.Code, res.Stderr)
	for _, want := range []string{
		"$ talonsync catalog --catalog-id 1 examples/products.csv",
		"talonsync catalog: 8 read, 8 delivered, 0 rejected, 0 failed",
		"talonsync profiles: 6 read, 6 delivered, 0 rejected, 0 failed",
		"talonsync audiences: 7 read, 7 delivered, 0 rejected, 0 failed",
		"catalog 1: 5 items",
		"5 customer profiles",
		"audience 1: [cust-0001 cust-0003]",
		`"sku":"SKU-1002","price":22.9`,
	} {
		assert.Contains(t, res.Stdout, want)
	}
	assert.NotContains(t, res.Stdout, "SKU-1005", "the REMOVE row removed it")
}

// TestE2ETSV: a .tsv file is read with tabs unless --delimiter says otherwise.
func TestE2ETSV(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	in := writeFile(t, dir, "p.tsv", "integrationId\tName\nc1\tDoe, Jane\n")
	res := runCLI(t, srv.URL(), testKey, cli{args: []string{"profiles", in}})
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.JSONEq(t, `"Doe, Jane"`, string(srv.State().Profiles["c1"].Attributes["Name"]))

	// A given --delimiter wins: this header has no integrationId column.
	res = runCLI(t, srv.URL(), testKey, cli{args: []string{"profiles", "--delimiter", ";", in}})
	assert.Equal(t, 2, res.Code, res.Stderr)
}
