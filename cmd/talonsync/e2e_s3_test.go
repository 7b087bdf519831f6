package main

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// End-to-end tests of inputs and outputs in S3, through the real AWS SDK
// against an in-process S3-compatible server (issue 15).

// s3Run is the flags of one catalog command whose files are in the bucket.
func s3Run(s3 *s3Server, t *testing.T, input string, extra ...string) cli {
	args := []string{"catalog", "--catalog-id", strconv.Itoa(resumeCatalog),
		"--batch-size", strconv.Itoa(resumeBatch), "--workers", strconv.Itoa(resumeWorkers),
		"--checkpoint", "s3://bkt/ckpt/feed.ckpt", "--report", "s3://bkt/reports/feed.json", "--progress", "never"}
	return cli{args: append(append(args, extra...), input), env: s3.env(t)}
}

// inputGets are the reads of key: their Range headers, "" for a whole read.
func inputGets(s3 *s3Server, key string) []string {
	var out []string
	for _, r := range s3.requests() {
		if r.Method == http.MethodGet && r.Key == key {
			out = append(out, r.Range)
		}
	}
	return out
}

func TestS3InputSyncedExactly(t *testing.T) {
	t.Parallel()
	fx := genCatalog(5000, 1000, 7, true)
	for _, tc := range []struct {
		name string
		key  string
		data []byte
	}{
		{name: "plain", key: "feeds/items.csv", data: fx.content},
		{name: "gzip", key: "feeds/items.csv.gz", data: gzipped(t, fx.content)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s3 := startS3(t)
			srv := startResumeEmulator(t, emulator.Faults{})
			input := s3.put(t, tc.key, tc.data)
			c := s3Run(s3, t, input)
			res := runCLI(t, srv.URL(), testKey, c)
			require.Equal(t, fx.wantCode(), res.Code, res.Stderr)
			assertCatalogState(t, srv, fx)

			rep := s3.report(t, "reports/feed.json")
			assert.Equal(t, int64(fx.rows), rep.Read)
			assert.Equal(t, fx.applied, rep.Delivered)
			assert.Equal(t, int64(len(fx.rejected)), rep.Rejected)
			assert.Equal(t, rep.Read, rep.accounted())
			assert.Equal(t, "s3://bkt/ckpt/feed.ckpt.rejects.jsonl", rep.RejectsPath, "the rejects go beside the checkpoint")
			var lines []int64
			for _, l := range bytes.Split(bytes.TrimSpace(s3.get(t, "ckpt/feed.ckpt.rejects.jsonl")), []byte("\n")) {
				var n int64
				_, err := fmt.Sscanf(string(l), `{"line":%d`, &n)
				require.NoError(t, err, "%s", l)
				lines = append(lines, n)
			}
			slices.Sort(lines)
			assert.Equal(t, fx.rejected, lines, "the rejects object holds each rejected line once")
			cp := s3.checkpoint(t, "ckpt/feed.ckpt")
			require.NotNil(t, cp)
			assert.True(t, cp.Completed)
			assert.True(t, cp.Input.Whole(), "the checkpoint holds the hash of the whole object")
			assert.NotEmpty(t, cp.Input.Version, "and its ETag")

			// The same object again: nothing to do, and no read of the
			// whole object to find it out.
			gets := len(inputGets(s3, tc.key))
			res = runCLI(t, srv.URL(), testKey, c)
			require.Equal(t, exitOK, res.Code, res.Stderr)
			assert.Contains(t, res.Stderr, "nothing to do")
			for _, r := range inputGets(s3, tc.key)[gets:] {
				assert.NotEmpty(t, r, "only the ranged reads of the fingerprint")
			}
		})
	}
}

func TestS3ResumeAfterKillReadsFromTheOffset(t *testing.T) {
	t.Parallel()
	fx := genCatalog(12000, 2400, 11, true)
	s3 := startS3(t)
	srv := startResumeEmulator(t, emulator.Faults{Latency: 50 * time.Millisecond, Jitter: 10 * time.Millisecond})
	input := s3.put(t, "feeds/items.csv", fx.content)
	c := s3Run(s3, t, input, "--upload-interval", "100ms")

	p := startCLI(t, srv.URL(), c)
	deadline := time.Now().Add(slow(20 * time.Second))
	for {
		if cp := s3.checkpoint(t, "ckpt/feed.ckpt"); cp != nil && cp.Progress.Resume.Offset > int64(len(fx.content))/3 {
			break
		}
		require.False(t, p.exited(), "talonsync exited before a third was uploaded: %s", p.errOut)
		require.True(t, time.Now().Before(deadline), "no checkpoint upload past a third of the input")
		time.Sleep(5 * time.Millisecond)
	}
	p.killWhen(t, srv, "the next request", func(emulator.Stats) bool { return true })
	cp := s3.checkpoint(t, "ckpt/feed.ckpt")
	require.False(t, cp.Completed)
	off := cp.Progress.Resume.Offset

	srv.SetFaults(emulator.Faults{})
	gets := len(inputGets(s3, "feeds/items.csv"))
	// The resumed run waits an upload interval and a margin (its own
	// interval: 3s + 1.5s) from the killed run's last upload before it
	// takes the checkpoint over; long enough that it is still waiting when
	// it starts, however loaded the machine.
	require.Less(t, time.Since(cp.UpdatedAt), 4*time.Second, "the killed run's last upload is recent")
	c2 := s3Run(s3, t, input, "--upload-interval", "3s")
	res := runCLI(t, srv.URL(), testKey, c2)
	require.Equal(t, fx.wantCode(), res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, "resuming from checkpoint s3://bkt/ckpt/feed.ckpt")
	assert.Contains(t, res.Stderr, "did not release it", "a killed run's checkpoint is taken over after an upload interval")
	want := fmt.Sprintf("bytes=%d-%d", off, len(fx.content)-1)
	assert.Contains(t, inputGets(s3, "feeds/items.csv")[gets:], want, "the resume reads from the checkpoint's offset with a range request")
	for _, r := range inputGets(s3, "feeds/items.csv")[gets:] {
		assert.NotEmpty(t, r, "no read of the whole object")
	}

	assertCatalogState(t, srv, fx)
	rep := s3.report(t, "reports/feed.json")
	assert.Equal(t, int64(fx.rows), rep.Read)
	assert.Equal(t, rep.Read, rep.accounted())
	assert.Zero(t, rep.Failed)
	assert.Equal(t, int64(len(fx.rejected)), rep.Rejected, "each rejected row once over both runs")
	assert.Equal(t, 2, rep.Runs)
}

// TestS3SecondOwnerIsRefused: a second run on a checkpoint that a live
// run holds waits for the checkpoint to go one upload interval unwritten;
// the live run writes it, so the second run's conditional claim fails and
// it stops with exit 2 before it sends anything, writing no report. The
// first run finishes exactly.
func TestS3SecondOwnerIsRefused(t *testing.T) {
	t.Parallel()
	fx := genCatalog(10000, 2000, 13, false)
	s3 := startS3(t)
	srv := startResumeEmulator(t, emulator.Faults{Latency: 20 * time.Millisecond})
	input := s3.put(t, "feeds/items.csv", fx.content)
	c := s3Run(s3, t, input, "--upload-interval", "500ms", "--workers", "1", "--batch-size", "50")

	first := startCLI(t, srv.URL(), c)
	waitFor(t, first, srv, "the first run's requests", func(s emulator.Stats) bool { return s.ItemsApplied >= 200 })
	before := srv.Stats().RequestsTotal
	second := runCLI(t, srv.URL(), testKey, c)
	assert.Equal(t, exitUsage, second.Code, second.Stderr)
	assert.Contains(t, second.Stderr, "waiting")
	assert.Contains(t, second.Stderr, "another run owns it now")
	assert.Contains(t, second.Stderr, "no report written")
	assert.NotContains(t, second.Stderr, "resuming", "refused before it starts")
	require.False(t, first.exited(), "the first run is still going")
	assert.Nil(t, s3.get(t, "reports/feed.json"), "the refused run wrote no report")

	res := first.wait(t, slow(60*time.Second))
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assertCatalogState(t, srv, fx)
	st := srv.Stats()
	assert.Zero(t, st.Conflicts, "the two runs never sent at once")
	assert.Equal(t, int64(fx.applied), st.ItemsApplied, "each item applied once: the refused run sent nothing")
	assert.Greater(t, st.RequestsTotal, before)
	rep := s3.report(t, "reports/feed.json")
	assert.Equal(t, outcomeCompleted, rep.Outcome)
	cp := s3.checkpoint(t, "ckpt/feed.ckpt")
	assert.True(t, cp.Completed)
	assert.Empty(t, cp.Owner, "a finished run releases its checkpoint")
}

// TestS3NoRejectsLeavesNoObject: a run with a checkpoint in the bucket and
// no rejects leaves no rejects object, not even one an earlier run of
// another input left there.
func TestS3NoRejectsLeavesNoObject(t *testing.T) {
	t.Parallel()
	s3 := startS3(t)
	srv := startResumeEmulator(t, emulator.Faults{})
	s3.put(t, "ckpt/feed.ckpt.rejects.jsonl", []byte(`{"line":3,"error":"an old run's reject"}`+"\n"))
	fx := genCatalog(300, 100, 5, false)
	input := s3.put(t, "feeds/items.csv", fx.content)
	res := runCLI(t, srv.URL(), testKey, s3Run(s3, t, input))
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assertCatalogState(t, srv, fx)
	assert.Nil(t, s3.get(t, "ckpt/feed.ckpt.rejects.jsonl"), "no rejects object")
	assert.Empty(t, s3.report(t, "reports/feed.json").RejectsPath)
}
