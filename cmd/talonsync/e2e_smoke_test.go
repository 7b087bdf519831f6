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
