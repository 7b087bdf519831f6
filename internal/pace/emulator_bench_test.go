package pace_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/talonsync/talonsync/internal/pace"
	"github.com/talonsync/talonsync/internal/talon"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// The benchmarks below drive a Pacer over real HTTP, through talon.Client,
// against the emulator's rate limit and capacity: the lanes of the batch
// package in miniature (batches dealt round-robin to 32 lanes, each lane
// in order, a 429 retried after its Retry-After or the batch package's
// backoff), without the reader and the chunker. They report the ratio to
// the ideal and the share of 429s (go test -run '^$' -bench Emulator
// -benchtime 1x ./internal/pace); each iteration takes seconds.

// lanesRun sends batches of 1000 profiles through p over 32 lanes and
// returns the time until the last was applied.
func lanesRun(b *testing.B, url string, p *pace.Pacer, batches int) time.Duration {
	b.Helper()
	client, err := talon.New(talon.Config{BaseURL: url, APIKey: emulator.DefaultAPIKey})
	if err != nil {
		b.Fatal(err)
	}
	items := make([]talon.Item, 1000)
	for i := range items {
		items[i] = talon.Item{Key: fmt.Sprint("p", i), JSON: []byte(fmt.Sprintf(`{"integrationId":"p%d"}`, i))}
	}
	const lanes = 32
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, lanes)
	for lane := range lanes {
		n := batches / lanes
		if lane < batches%lanes {
			n++
		}
		rng := rand.New(rand.NewPCG(uint64(lane), 1))
		wg.Go(func() {
			for range n {
				for attempt := 1; ; attempt++ {
					pm, err := p.Acquire(ctx)
					if err != nil {
						errs <- err
						return
					}
					err = client.Send(ctx, talon.Batch{Endpoint: talon.EndpointProfiles, Items: items})
					pm.Done(pace.OutcomeOf(err))
					if err == nil {
						break
					}
					var ae *talon.APIError
					if !errors.As(err, &ae) || talon.ClassOf(err) != talon.ClassRetryable || attempt > 20 {
						errs <- err
						return
					}
					// The batch package's backoff: 500ms doubling, equal
					// jitter, Retry-After as the floor.
					d := 500 * time.Millisecond << min(attempt-1, 6)
					d = d/2 + time.Duration(rng.Int64N(int64(d/2)+1))
					time.Sleep(max(d, ae.RetryAfter))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return time.Since(start)
}

func BenchmarkEmulatorRateLimit(b *testing.B) {
	for _, noRA := range []bool{false, true} {
		b.Run(fmt.Sprintf("no-retry-after=%v", noRA), func(b *testing.B) {
			const batches, rate, burst = 120, 25.0, 5
			for range b.N {
				srv, err := emulator.Start(emulator.Options{Discard: true, Faults: emulator.Faults{
					RateLimit: rate, Burst: burst, NoRetryAfter: noRA, Latency: 20 * time.Millisecond}})
				if err != nil {
					b.Fatal(err)
				}
				p, err := pace.New(pace.Config{})
				if err != nil {
					b.Fatal(err)
				}
				elapsed := lanesRun(b, srv.URL(), p, batches)
				st := srv.Stats()
				_ = srv.Close()
				b.ReportMetric(elapsed.Seconds()/((batches-burst)/rate), "x-ideal")
				b.ReportMetric(100*float64(st.RateLimited)/float64(st.RequestsTotal), "%429")
				b.ReportMetric(float64(p.Stats().MaxLimit), "max-limit")
			}
		})
	}
}

func BenchmarkEmulatorCapacity(b *testing.B) {
	const batches = 320
	for range b.N {
		srv, err := emulator.Start(emulator.Options{Discard: true, Faults: emulator.Faults{
			Latency: 500 * time.Millisecond, Capacity: 16}})
		if err != nil {
			b.Fatal(err)
		}
		p, err := pace.New(pace.Config{})
		if err != nil {
			b.Fatal(err)
		}
		elapsed := lanesRun(b, srv.URL(), p, batches)
		st := srv.Stats()
		_ = srv.Close()
		b.ReportMetric(float64(batches)/elapsed.Seconds()/32, "x-32/s")
		b.ReportMetric(float64(st.MaxQueued), "max-queued")
		b.ReportMetric(float64(p.Stats().MaxLimit), "max-limit")
	}
}
