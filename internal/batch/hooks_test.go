package batch

import (
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/readers"
)

// TestUnchangedAndOnDelivered checks the hooks of incremental sync: rows
// Unchanged claims are counted and never sent; OnDelivered sees exactly the
// confirmed rows, before they count as delivered; its error stops the run.
func TestUnchangedAndOnDelivered(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	tests := []struct {
		name          string
		hookErr       error
		wantErr       bool
		wantDelivered int64
	}{
		{name: "recorded then delivered", wantDelivered: 70},
		{name: "a recording error stops the run", hookErr: errors.New("disk full"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows := profileRows(100)
			var mu sync.Mutex
			recorded := map[string]bool{}
			var stats *Stats
			res := runAgainst(t, ok, rows, func(c *Config) {
				stats = c.Stats
				c.Unchanged = func(r *readers.Row) bool { return r.Seq%10 < 3 }
				c.OnDelivered = func(rs []readers.Row) error {
					mu.Lock()
					defer mu.Unlock()
					for _, r := range rs {
						assert.False(t, r.Seq%10 < 3, "unchanged row %d was sent", r.Seq)
						recorded[r.Item.Key] = true
					}
					// Not yet counted: the hook runs before Ledger.Delivered.
					assert.Less(t, stats.Delivered.Load(), int64(70))
					return tc.hookErr
				}
			})
			assert.Equal(t, int64(30), res.stats.Unchanged.Load())
			assert.Equal(t, int64(100), res.stats.Read.Load())
			assert.Equal(t, tc.wantDelivered, res.stats.Delivered.Load())
			if tc.wantErr {
				assert.ErrorIs(t, res.err, tc.hookErr)
				return
			}
			require.NoError(t, res.err)
			assert.Len(t, recorded, 70)
		})
	}
}

func TestLedgerUnchangedIsDone(t *testing.T) {
	l, stats, _ := newTestLedger(t, true, checkpoint.Progress{})
	for i := range int64(3) {
		r := rowAt(i)
		l.add(&r)
	}
	r0, r1 := rowAt(0), rowAt(1)
	l.unchanged(&r0)
	l.delivered([]readers.Row{r1})
	p, err := l.snapshot()
	require.NoError(t, err)
	assert.Equal(t, int64(1), p.unchanged)
	assert.Equal(t, int64(1), stats.Unchanged.Load())
	assert.Equal(t, rowAt(2).Resume, p.progress.Resume, "the unchanged and delivered rows are done")
}
