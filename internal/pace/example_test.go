package pace_test

import (
	"context"
	"fmt"

	"github.com/talonsync/talonsync/internal/pace"
)

// A lane worker takes a Permit before each request and gives it back with
// the outcome; a 429 is retried after its Retry-After (the retry policy's
// floor), holding no slot while it waits.
func Example() {
	p, err := pace.New(pace.Config{Limiter: pace.LimiterConfig{Max: 32}})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	send := func(attempt int) int { // a stand-in for the API
		if attempt == 0 {
			return 429
		}
		return 204
	}
	for attempt := 0; ; attempt++ {
		pm, err := p.Acquire(ctx)
		if err != nil {
			panic(err)
		}
		status := send(attempt)
		switch {
		case status == 429:
			pm.Done(pace.Throttled)
			continue // after the backoff, at least Retry-After
		case status >= 500:
			pm.Done(pace.Failed)
			continue
		default:
			pm.Done(pace.OK)
		}
		break
	}
	st := p.Stats()
	fmt.Println(st.Requests, st.Throttled, st.Limit)
	// Output: 2 1 6
}
