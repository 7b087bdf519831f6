package main

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/checkpoint"
)

// shardReport is the report of shard i of n of a catalog sync of rows rows
// in all, owning own of them.
func shardReport(i, n int, outcome string, own, rows int64) report {
	r := report{Outcome: outcome, ExitCode: outcomeCode[outcome], Entity: "catalog", Input: "s3://b/feed.csv",
		Shard: shardName(i, n), Read: own, Delivered: own, RunRead: own, SkippedOtherShards: rows - own,
		Requests: 2, Batches: 2, ElapsedSeconds: float64(10 + i), RunElapsedSeconds: float64(10 + i), Runs: 1,
		RequestsByClass: checkpoint.Answers{OK: 1, RateLimited: 1}, Merged: int64(i)}
	return r
}

func shardName(i, n int) string { return strconv.Itoa(i) + "/" + strconv.Itoa(n) }

func writeReports(t *testing.T, dir string, reps ...report) []string {
	t.Helper()
	var paths []string
	for k, r := range reps {
		b, err := json.Marshal(r)
		require.NoError(t, err)
		paths = append(paths, writeFile(t, dir, "shard-"+strconv.Itoa(k)+".json", string(b)))
	}
	return paths
}

func TestReportMerge(t *testing.T) {
	ok := func(i int, own int64) report { return shardReport(i, 4, outcomeCompleted, own, 1000) }
	rejected := shardReport(2, 4, outcomeRejected, 250, 1000)
	rejected.Delivered, rejected.Rejected = 240, 10
	failed := shardReport(3, 4, outcomeFailed, 100, 1000)
	failed.Delivered, failed.Failed, failed.NotAttempted, failed.Error = 50, 20, 30, "retries exhausted"
	otherInput := ok(3, 250)
	otherInput.SkippedOtherShards = 800

	tests := []struct {
		name     string
		reports  []report
		missing  bool // one more path that does not exist
		outcome  string
		code     int
		errorHas string
	}{
		{name: "all completed", reports: []report{ok(0, 250), ok(1, 250), ok(2, 250), ok(3, 250)}, outcome: outcomeCompleted, code: exitOK},
		{name: "one with rejects", reports: []report{ok(0, 250), ok(1, 250), rejected, ok(3, 250)}, outcome: outcomeRejected, code: exitRejected},
		{name: "one failed", reports: []report{ok(0, 250), ok(1, 250), rejected, failed}, outcome: outcomeFailed, code: exitFailed, errorHas: "shard 3/4: retries exhausted"},
		{name: "a shard missing", reports: []report{ok(0, 250), ok(1, 250), ok(2, 250)}, outcome: outcomeFailed, code: exitFailed, errorHas: "no report of shard 3/4"},
		{name: "a shard twice", reports: []report{ok(0, 250), ok(1, 250), ok(2, 250), ok(2, 250), ok(3, 250)}, outcome: outcomeFailed, code: exitFailed, errorHas: "shard 2/4 has two reports"},
		{name: "a report that is not there", reports: []report{ok(0, 250), ok(1, 250), ok(2, 250), ok(3, 250)}, missing: true, outcome: outcomeFailed, code: exitFailed, errorHas: "read report"},
		{name: "inputs of different sizes", reports: []report{ok(0, 250), ok(1, 250), ok(2, 250), otherInput}, outcome: outcomeFailed, code: exitFailed, errorHas: "inputs of different sizes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			paths := writeReports(t, dir, tc.reports...)
			if tc.missing {
				paths = append(paths, filepath.Join(dir, "gone.json"))
			}
			res := runMain(t, nil, "", append([]string{"report", "merge"}, paths...)...)
			assert.Equal(t, tc.code, res.Code, res.Stderr)
			var m mergedReport
			require.NoError(t, json.Unmarshal([]byte(res.Stdout), &m), res.Stdout)
			assert.Equal(t, tc.outcome, m.Outcome)
			assert.Equal(t, tc.code, m.ExitCode)
			assert.Len(t, m.Parts, len(paths))
			var read, delivered, rejected, failed, notAttempted, merged int64
			var answers checkpoint.Answers
			longest := 0.0
			for _, r := range tc.reports {
				merged += r.Merged
				answers = answers.Add(r.RequestsByClass)
				read += r.Read
				delivered += r.Delivered
				rejected += r.Rejected
				failed += r.Failed
				notAttempted += r.NotAttempted
				longest = max(longest, r.ElapsedSeconds)
			}
			assert.Equal(t, read, m.Read)
			assert.Equal(t, delivered, m.Delivered)
			assert.Equal(t, rejected, m.Rejected)
			assert.Equal(t, failed, m.Failed)
			assert.Equal(t, notAttempted, m.NotAttempted)
			assert.Equal(t, merged, m.Merged)
			assert.Equal(t, answers, m.RequestsByClass)
			assert.Equal(t, longest, m.ElapsedSeconds, "the longest shard's")
			if tc.errorHas != "" {
				assert.Contains(t, m.Error, tc.errorHas)
				assert.Contains(t, res.Stderr, tc.errorHas)
			}
			if tc.outcome == outcomeCompleted {
				assert.Equal(t, int64(1000), m.InputRows, "every shard read the same 1000 rows")
				assert.Empty(t, m.Error)
			}
		})
	}
}

func TestReportMergeNeedsReports(t *testing.T) {
	res := runMain(t, nil, "", "report", "merge")
	assert.Equal(t, exitUsage, res.Code)
	assert.Contains(t, res.Stderr, "at least one report")
}
