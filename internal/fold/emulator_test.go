package fold

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// emuSend sends items as one request to the emulator's handler and returns
// the status.
func emuSend(t *testing.T, srv *emulator.Server, e talon.Endpoint, items ...talon.Item) int {
	t.Helper()
	path := map[talon.Endpoint]string{
		talon.EndpointCatalog:   "/v1/catalogs/1/sync",
		talon.EndpointProfiles:  "/v2/customer_profiles",
		talon.EndpointAudiences: "/v2/customer_audiences",
	}[e]
	method := http.MethodPut
	if e == talon.EndpointAudiences {
		method = http.MethodPost
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(talon.AppendBody(nil, e, items)))
	req.Header.Set("Authorization", "ApiKey-v1 "+emulator.DefaultAPIKey)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec.Code
}

// TestCatalogEmulator cross-checks the fold against the project's emulator:
// sending the units leaves the same catalog as sending the rows one by one,
// with the same outcome for every row a unit does not supersede.
func TestCatalogEmulator(t *testing.T) {
	srv, err := emulator.New(emulator.Options{})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(5, 6))
	withAdjustment := genAdjustment(rand.New(rand.NewPCG(1, 1)), "S")
	seeds := [][]talon.Item{
		nil, // absent
		{addR(`,"price":3,"product":{"name":"P9"},"attributes":{"A":9,"D":1}`)},
		{addR(`,"attributes":{"B":9}`)},
		// Price adjustments are state the fold does not model: a REMOVE
		// drops them, an ADD that replaces keeps them.
		{addR(`,"price":3`), withAdjustment},
	}
	for n := range 400 {
		seq := make([]talon.Item, 1+rng.IntN(6))
		for i := range seq {
			seq[i] = genAction(rng, "S")
			if rng.IntN(10) == 0 {
				seq[i] = genAdjustment(rng, "S")
			}
		}
		units, err := Fold(talon.EndpointCatalog, seq)
		require.NoError(t, err)
		for _, seed := range seeds {
			run := func(items []talon.Item) (emulator.State, []int) {
				srv.Reset()
				for _, it := range seed {
					require.Equal(t, http.StatusOK, emuSend(t, srv, talon.EndpointCatalog, it))
				}
				codes := make([]int, len(items))
				for i, it := range items {
					codes[i] = emuSend(t, srv, talon.EndpointCatalog, it)
				}
				return srv.State(), codes
			}
			wantState, rowCodes := run(seq)
			items := make([]talon.Item, len(units))
			for i, u := range units {
				items[i] = u.Item
			}
			gotState, unitCodes := run(items)
			require.Equal(t, wantState, gotState, "sequence %d after %s:\n%s\nunits:\n%s", n, showItems(seed), showItems(seq), showUnits(units))
			for i, u := range units {
				for r := u.Tail; r < u.To; r++ {
					assert.Equal(t, rowCodes[r], unitCodes[i], "sequence %d row %d", n, r)
				}
			}
		}
	}
}
