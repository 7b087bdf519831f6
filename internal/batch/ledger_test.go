package batch

import (
	"bufio"
	"encoding/json"
	"math/bits"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/readers"
)

func newTestLedger(t *testing.T, track bool, start checkpoint.Progress) (*ledger, *Stats, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rejects.jsonl")
	rf, err := checkpoint.OpenRejects(path, 0)
	require.NoError(t, err)
	stats := &Stats{}
	l := newLedger(stats, rf, track, start)
	t.Cleanup(func() { rf.Close(false) })
	return l, stats, path
}

// rowAt makes row seq starting at line 10*seq+1 (rows with gaps between them,
// as quoted newlines or blank lines make).
func rowAt(seq int64) readers.Row {
	return readers.Row{Seq: seq, Line: 10*seq + 1, Resume: readers.Position{Offset: 100 * seq, Line: 10*seq + 1}}
}

func TestLedgerSnapshot(t *testing.T) {
	l, stats, path := newTestLedger(t, true, checkpoint.Progress{})
	rows := make([]readers.Row, 6)
	for i := range rows {
		rows[i] = rowAt(int64(i))
		l.add(&rows[i])
	}
	// Rows 0 and 1 delivered, 2 pending, 3 rejected, 4 delivered, 5 pending.
	l.delivered(rows[0:2])
	require.NoError(t, l.reject(&rows[3], checkpoint.SourceInput, "bad value", json.RawMessage(`{"a":1}`)))
	l.delivered(rows[4:5])

	p, err := l.snapshot()
	require.NoError(t, err)
	assert.Equal(t, rows[2].Resume, p.progress.Resume, "resume at the first row not done")
	assert.Equal(t, []byte{0b0110}, p.progress.Done, "rows 3 and 4, the 2nd and 3rd from the resume row, are done")
	assert.Equal(t, int64(3), p.delivered)
	assert.Equal(t, int64(1), p.rejected)
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, st.Size(), p.progress.RejectsSize, "snapshot makes the rejects durable and records their length")
	assert.Equal(t, int64(6), stats.Read.Load())

	// Everything done: the resume point stays at the last row, which is skipped.
	l.delivered([]readers.Row{rows[2], rows[5]})
	p, err = l.snapshot()
	require.NoError(t, err)
	assert.Equal(t, rows[5].Resume, p.progress.Resume)
	assert.Equal(t, []byte{0b1}, p.progress.Done, "only the resume row itself, which is done")
}

func TestLedgerRejectsFileFormat(t *testing.T) {
	l, _, path := newTestLedger(t, false, checkpoint.Progress{})
	r := readers.Row{Seq: 0, Line: 7, Record: json.RawMessage(`{"sku":"x"}`)}
	require.NoError(t, l.reject(&r, checkpoint.SourceInput, "line 7: missing sku", nil))
	r2 := readers.Row{Seq: 1, Line: 9, Record: json.RawMessage(`not json`)}
	require.NoError(t, l.reject(&r2, checkpoint.SourceInput, "bad json", nil))
	require.NoError(t, l.sync())

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var got []checkpoint.Reject
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rej checkpoint.Reject
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rej))
		got = append(got, rej)
	}
	require.Len(t, got, 2)
	assert.Equal(t, int64(7), got[0].Line)
	assert.Equal(t, "line 7: missing sku", got[0].Error)
	assert.JSONEq(t, `{"sku":"x"}`, string(got[0].Record))
	assert.JSONEq(t, `"not json"`, string(got[1].Record), "an invalid record is kept as a JSON string")
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}

// TestLedgerSnapshotCountsMatchDone: a snapshot taken while rows are being
// delivered never counts a row as delivered that it does not report as done
// (that row would be re-sent on resume and counted twice).
func TestLedgerSnapshotCountsMatchDone(t *testing.T) {
	l, _, _ := newTestLedger(t, true, checkpoint.Progress{})
	const n = 200_000
	rows := make([]readers.Row, n)
	for i := range rows {
		rows[i] = readers.Row{Seq: int64(i), Line: int64(i + 2), Resume: readers.Position{Line: int64(i + 2)}}
		l.add(&rows[i])
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range rows {
			l.delivered(rows[i : i+1])
		}
	}()
	bad := 0
	for range 20_000 {
		p, err := l.snapshot()
		require.NoError(t, err)
		done := p.progress.Resume.Line - 2 // rows before the resume point
		for _, b := range p.progress.Done {
			done += int64(bits.OnesCount8(b))
		}
		if p.delivered != done {
			bad++
		}
	}
	wg.Wait()
	assert.Zero(t, bad, "snapshots that counted delivered rows they do not report as done")
}
