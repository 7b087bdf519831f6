package batch

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/checkpoint"
)

type replayErr struct{ error }

func (replayErr) RejectSource() string { return checkpoint.SourceAPI }

// TestRejectSources: a row rejected while reading is an input reject, one
// the API refuses an API reject, and a row error with a RejectSource method
// says its own.
func TestRejectSources(t *testing.T) {
	rows := profileRows(4)
	rows[1].Err = errors.New("line 3: bad value")
	rows[1].Record = json.RawMessage(`{"integrationId":"p1","Age":"x"}`)
	rows[2].Err = replayErr{errors.New("line 4: edited badly")}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids := decodeIDs(t, r)
		for i, id := range ids {
			if id == "p3" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(400)
				fmt.Fprintf(w, `{"message":"bad","errors":[{"title":"unknown attribute","source":{"pointer":"/customerProfiles/%d/attributes"}}]}`, i)
				return
			}
		}
		w.WriteHeader(204)
	})
	res := runAgainst(t, h, rows, nil)
	require.NoError(t, res.err)
	b, err := os.ReadFile(res.rejects)
	require.NoError(t, err)
	got := map[int64]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		rej, err := checkpoint.ParseReject([]byte(line))
		require.NoError(t, err)
		got[rej.Line] = rej.Source
	}
	assert.Equal(t, map[int64]string{3: checkpoint.SourceInput, 4: checkpoint.SourceAPI, 5: checkpoint.SourceAPI}, got)
	assert.Equal(t, int64(1), res.stats.Delivered.Load())
}
