package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// TestE2EPacedModelOrder runs the row-by-row model workloads against the
// emulator's rate limiter at every concurrency level: the final state is
// the model's (so each key's rows were applied in file order), no two
// requests for one key were ever in flight (no 409), and the run learned a
// rate from the 429s it met.
func TestE2EPacedModelOrder(t *testing.T) {
	workloads := []esWorkload{
		// Ten rows per SKU: a SKU's rows go in ten requests one after
		// another, so more lanes mean more, smaller requests.
		esCatalogWorkload(51, 400, 40),
		// More keys than rows per key: the rows of a key merge, and the
		// requests must still be enough to meet the limit.
		esProfilesWorkload(52, 600, 450),
		esAudiencesWorkload(53, 600, 450),
	}
	// auto runs 32 lanes (--max-workers) under an adaptive limit.
	for _, workers := range []string{"auto", "1", "8"} {
		for _, w := range workloads {
			t.Run(workers+"/"+w.name, func(t *testing.T) {
				t.Parallel()
				srv := startEmulator(t, emulator.Options{Faults: emulator.Faults{RateLimit: 15, Burst: 2, Latency: slow(5e6)}})
				res, rep := esRun(t, srv, w, "--workers", workers, "--batch-size", "15")
				require.Equal(t, 0, res.Code, res.Stderr)
				w.check(t, srv.State())
				esCounts(t, rep, w.rows, w.rows, 0)
				st := srv.Stats()
				assert.Zero(t, st.Conflicts, "two requests for one key in flight")
				assert.Positive(t, st.RateLimited, "the limiter answered 429")
				require.NotNil(t, rep.Pace)
				assert.Positive(t, rep.Pace.LearnedRate, "the run paced itself after the 429s")
				assert.LessOrEqual(t, rep.Pace.LearnedRate, 2*15.0)
			})
		}
	}
}
