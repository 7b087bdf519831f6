package emulator

import (
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder collects RequestRecords from concurrent handlers.
type recorder struct {
	mu   sync.Mutex
	recs []RequestRecord
}

func (r *recorder) add(rec RequestRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
}

func (r *recorder) all() []RequestRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RequestRecord(nil), r.recs...)
}

func TestOnRequest(t *testing.T) {
	for _, discard := range []bool{false, true} {
		name := "stateful"
		if discard {
			name = "discard"
		}
		t.Run(name, func(t *testing.T) {
			var rec recorder
			s := start(t, Options{OnRequest: rec.add, Discard: discard})
			body := profilesBody(profile("a"), profile("b"))
			a := do(t, s, http.MethodPut, profilesPath+"?silent=no", body, "X-Trace", "t1")
			require.Equal(t, http.StatusOK, a.status, "the handler still reads the whole body: %s", a.body)
			a = do(t, s, http.MethodPut, "/v2/nowhere", `{}`, "Authorization", "")
			require.Equal(t, http.StatusNotFound, a.status)
			a = do(t, s, http.MethodGet, "/emulator/stats", "")
			require.Equal(t, http.StatusOK, a.status)

			recs := rec.all()
			require.Len(t, recs, 2, "inspection endpoints are not recorded")
			r0 := recs[0]
			assert.Equal(t, http.MethodPut, r0.Method)
			assert.Equal(t, profilesPath, r0.Path)
			assert.Equal(t, "silent=no", r0.RawQuery)
			assert.Equal(t, body, string(r0.Body))
			assert.Equal(t, "ApiKey-v1", r0.AuthScheme)
			assert.Empty(t, r0.Header.Values("Authorization"), "the key is never recorded")
			assert.Equal(t, "t1", r0.Header.Get("X-Trace"))
			assert.Equal(t, "application/json", r0.Header.Get("Content-Type"))
			assert.NotContains(t, string(r0.Body)+r0.RawQuery, DefaultAPIKey)

			r1 := recs[1]
			assert.Equal(t, "/v2/nowhere", r1.Path, "a request the emulator refuses is recorded too")
			assert.Empty(t, r1.AuthScheme)
			assert.Equal(t, `{}`, string(r1.Body))
			if !discard {
				assert.Len(t, s.State().Profiles, 2)
			}
			assert.EqualValues(t, 2, s.Stats().ItemsApplied)
		})
	}
}

func TestOnRequestConcurrent(t *testing.T) {
	var rec recorder
	s := start(t, Options{OnRequest: rec.add})
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a, err := send(t, http.DefaultClient, s.URL(), http.MethodPut, profilesPath, profilesBody(profile("p"+string(rune('a'+i)))))
			if assert.NoError(t, err) {
				assert.Equal(t, http.StatusNoContent, a.status)
			}
		})
	}
	wg.Wait()
	assert.Len(t, rec.all(), n)
}
