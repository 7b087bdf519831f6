package emulator

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func countItemsString(body string) (int, error) {
	return countItems(strings.NewReader(body), "customerProfiles")
}

func TestCountItems(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    int
		wantErr error
	}{
		{name: "one", body: `{"customerProfiles":[{"integrationId":"a"}]}`, want: 1},
		{name: "three with white space", body: "{ \"customerProfiles\" :\n [ {} , {\"a\":[1,2,3]},\t{} ] }", want: 3},
		{name: "empty", body: `{"customerProfiles":[]}`, want: 0},
		{name: "empty with space", body: `{"customerProfiles":[ ]}`, want: 0},
		{name: "strings with brackets, commas and escapes", body: `{"customerProfiles":[{"integrationId":"a,]\"}{,"},{"x":"\\"},"[,"]}`, want: 3},
		{name: "scalars", body: `{"customerProfiles":[1,"2",null,true]}`, want: 4},
		{name: "other fields first", body: `{"x":{"customerProfiles":[1,2,3]},"customerProfile":[1],"customerProfiles":[1,2]}`, want: 2},
		{name: "other fields after", body: `{"customerProfiles":[1,2],"y":[1,2,3]}`, want: 2},
		{name: "escaped key does not match", body: `{"customer\u0050rofiles":[1]}`, wantErr: errNoArray},
		{name: "key as a value does not match", body: `{"a":"customerProfiles","b":[1]}`, wantErr: errNoArray},
		{name: "missing", body: `{"data":[1]}`, wantErr: errNoArray},
		{name: "null", body: `{"customerProfiles":null}`, wantErr: errNotArray},
		{name: "object", body: `{"customerProfiles":{"a":1}}`, wantErr: errNotArray},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []struct {
				name string
				read func(string) (int, error)
			}{
				{"whole", countItemsString},
				{"byte by byte", func(b string) (int, error) {
					return countItems(iotest.OneByteReader(strings.NewReader(b)), "customerProfiles")
				}},
			} {
				n, err := r.read(tc.body)
				if tc.wantErr != nil {
					assert.ErrorIs(t, err, tc.wantErr, r.name)
					continue
				}
				require.NoError(t, err, r.name)
				assert.Equal(t, tc.want, n, r.name)
			}
		})
	}
}

func TestDiscardMode(t *testing.T) {
	s := start(t, Options{Discard: true, History: true})
	thousand := profilesBody(repeat(1000, func(i int) string { return profile(fmt.Sprint(i)) })...)
	tests := []struct {
		name, method, path, body string
		headers                  []string
		want                     int
		wantBody                 string
	}{
		{name: "profiles", method: http.MethodPut, path: profilesPath, body: thousand, want: 204},
		{name: "profiles silent=no", method: http.MethodPut, path: profilesPath + "?silent=no", body: profilesBody(profile("a")), want: 200, wantBody: `{"integrationStates":[]}`},
		{name: "duplicates are not checked", method: http.MethodPut, path: profilesPath, body: profilesBody(profile("a"), profile("a")), want: 204},
		{name: "audiences", method: http.MethodPost, path: audiencesPath, body: dataBody(member("add", 1, "a")), want: 204},
		{name: "catalog", method: http.MethodPut, path: catalog1Path, body: actionsBody(add("a")), want: 200},
		{name: "auth is checked", method: http.MethodPut, path: profilesPath, body: profilesBody(profile("a")), headers: []string{"Authorization", "ApiKey-v1 x"}, want: 401},
		{name: "unknown catalog", method: http.MethodPut, path: "/v1/catalogs/2/sync", body: actionsBody(add("a")), want: 404},
		{name: "empty array", method: http.MethodPut, path: profilesPath, body: profilesBody(), want: 400},
		{name: "too many", method: http.MethodPut, path: profilesPath, body: profilesBody(repeat(1001, func(int) string { return "{}" })...), want: 400},
		{name: "missing array", method: http.MethodPost, path: audiencesPath, body: profilesBody(profile("a")), want: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, s, tc.method, tc.path, tc.body, tc.headers...)
			require.Equal(t, tc.want, a.status, "body %s", a.body)
			if tc.wantBody != "" {
				assert.JSONEq(t, tc.wantBody, string(a.body))
			}
		})
	}
	st := s.Stats()
	assert.Equal(t, int64(1005), st.ItemsApplied)
	assert.Equal(t, int64(1005), st.ItemsReceived, "requests with a bad item count are not counted")
	assert.Empty(t, s.State().Profiles, "discard mode keeps no state")
	assert.Empty(t, s.State().Catalogs[1])
	assert.Nil(t, s.History(ProfileKey("a")))

	s.SetFaults(Faults{Fail429: 1})
	assert.Equal(t, http.StatusTooManyRequests, do(t, s, http.MethodPut, profilesPath, profilesBody(profile("a"))).status, "faults apply in discard mode")
}

// nopWriter is a reusable ResponseWriter, so the benchmark measures the
// handler rather than a recorder.
type nopWriter struct {
	h      http.Header
	status int
}

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(status int)      { w.status = status }

func BenchmarkDiscardProfiles(b *testing.B) {
	s, err := New(Options{Discard: true})
	require.NoError(b, err)
	elems := repeat(1000, func(i int) string {
		return fmt.Sprintf(`{"integrationId":"customer-%07d","attributes":{"Name":"Customer %d","Age":%d,"Tags":["a","b"],"SignedUp":"2024-05-01T10:00:00Z"}}`, i, i, i%90)
	})
	body := []byte(profilesBody(elems...))
	body_ := bytes.NewReader(body)
	req, err := http.NewRequest(http.MethodPut, "http://emulator"+profilesPath, body_)
	require.NoError(b, err)
	req.Header.Set("Authorization", "ApiKey-v1 "+DefaultAPIKey)
	w := &nopWriter{h: http.Header{}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		body_.Reset(body)
		s.ServeHTTP(w, req)
		if w.status != http.StatusNoContent {
			b.Fatalf("status %d", w.status)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "items/s")
}
