package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// TestE2ERetryAfterAttributeCreated is issue 14's replay: a profiles file
// uses an attribute the Application does not have yet, so the API rejects
// those rows; once the attribute is created, `talonsync retry` delivers
// them, in line order per profile, exits 0 and leaves no rejects.
func TestE2ERetryAfterAttributeCreated(t *testing.T) {
	srv := startEmulator(t, emulator.Options{History: true, Schema: emulator.Schema{emulator.SchemaProfiles: {"Age": "number"}}})
	dir := t.TempDir()
	in := writeFile(t, dir, "profiles.csv", "integrationId,Age:number,Tier\n"+
		"c1,30,\n"+ // 2: no Tier: delivered
		"c2,31,gold\n"+ // 3: rejected
		"c3,32,silver\n"+ // 4: rejected
		"c2,,platinum\n") // 5: rejected, after line 3 of the same profile
	res := runCLI(t, srv.URL(), testKey, cli{args: []string{"profiles", "--workers", "2", in}})
	require.Equal(t, exitRejected, res.Code, res.Stderr)
	rejectsPath := in + ".rejects.jsonl"
	rejects := readRejects(t, rejectsPath)
	require.Len(t, rejects, 3)
	for _, r := range rejects {
		assert.Equal(t, "api", r["source"])
		assert.Contains(t, r["error"], "Tier")
	}

	require.NoError(t, srv.SetSchema(emulator.Schema{emulator.SchemaProfiles: {"Age": "number", "Tier": "string"}}))
	report := filepath.Join(dir, "retry-report.json")
	res = runCLI(t, srv.URL(), testKey, cli{args: []string{"retry", "--report", report, rejectsPath}})
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, "retrying 3 rows the API rejected")

	st := srv.State()
	require.Len(t, st.Profiles, 3)
	assert.JSONEq(t, `"platinum"`, string(st.Profiles["c2"].Attributes["Tier"]), "line 5 came after line 3")
	assert.JSONEq(t, `31`, string(st.Profiles["c2"].Attributes["Age"]))
	assert.JSONEq(t, `"silver"`, string(st.Profiles["c3"].Attributes["Tier"]))
	// Lines 3 and 5 go out in order: one by one, or merged into one item
	// (the run merges a key's rows not yet sent) in which line 5 wins.
	hist := srv.History(emulator.ProfileKey("c2"))
	require.NotEmpty(t, hist)
	require.LessOrEqual(t, len(hist), 2)
	if len(hist) == 2 {
		assert.Contains(t, string(hist[0]), "gold")
	}
	assert.Contains(t, string(hist[len(hist)-1]), "platinum")

	r := readReport(t, report)
	assert.Equal(t, "completed", r.Outcome)
	assert.Equal(t, "profiles", r.Entity)
	assert.Equal(t, int64(3), r.Read)
	assert.Equal(t, int64(3), r.Delivered)
	assert.Equal(t, r.Read, r.accounted())
	_, err := os.Stat(filepath.Join(dir, "profiles.csv.rejects.retry.jsonl"))
	assert.True(t, os.IsNotExist(err), "nothing still fails: no new rejects file")
}
