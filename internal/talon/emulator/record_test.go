package emulator

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

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

// TestOnRequestCutBody: a client that dies mid-body (SIGKILL during a send)
// leaves a record whose BodyErr says so, and the request changes nothing.
func TestOnRequestCutBody(t *testing.T) {
	got := make(chan RequestRecord, 1)
	s := start(t, Options{OnRequest: func(r RequestRecord) { got <- r }})
	u, err := url.Parse(s.URL())
	require.NoError(t, err)
	conn, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	body := profilesBody(profile("a"))
	_, err = fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: %s\r\nAuthorization: ApiKey-v1 %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		profilesPath, u.Host, DefaultAPIKey, len(body), body[:len(body)/2])
	require.NoError(t, err)
	require.NoError(t, conn.Close())

	select {
	case r := <-got:
		assert.Error(t, r.BodyErr, "the body was cut")
		assert.Equal(t, body[:len(body)/2], string(r.Body))
	case <-time.After(10 * time.Second):
		t.Fatal("no record of the cut request")
	}
	assert.Empty(t, s.State().Profiles)

	a := do(t, s, http.MethodPut, profilesPath, body)
	require.Equal(t, http.StatusNoContent, a.status, a.body)
	assert.NoError(t, (<-got).BodyErr, "a whole body has no BodyErr")
}
