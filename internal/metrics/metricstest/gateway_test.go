package metricstest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseGrouping(t *testing.T) {
	tests := []struct {
		path    string
		want    map[string]string
		wantErr string
	}{
		{path: "/metrics/job/j", want: map[string]string{"job": "j"}},
		{path: "/metrics/job/j/a/1/b/2", want: map[string]string{"job": "j", "a": "1", "b": "2"}},
		{path: "/metrics/job/j/b/2/a/1", want: map[string]string{"job": "j", "a": "1", "b": "2"}},
		{path: "/metrics/job/j/shard@base64/Mi80", want: map[string]string{"job": "j", "shard": "2/4"}},
		{path: "/metrics/job/j/empty@base64/=", want: map[string]string{"job": "j", "empty": ""}},
		{path: "/metrics/job/j/note/a+b%2Bc", want: map[string]string{"job": "j", "note": "a b+c"}},
		{path: "/metrics/job@base64/YS9i", want: map[string]string{"job": "a/b"}},
		{path: "/other/job/j", wantErr: "does not start"},
		{path: "/metrics/job/j/a", wantErr: "without a value"},
		{path: "/metrics/a/1", wantErr: "no job"},
		{path: "/metrics/job/j/a/1/a/2", wantErr: "twice"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			got, err := ParseGrouping(tc.path)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

const body = "# TYPE a gauge\na 1\n# TYPE b gauge\nb 2\n"

func push(t *testing.T, url, method, path, text string) int {
	t.Helper()
	req, err := http.NewRequest(method, url+path, strings.NewReader(text))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestGatewayGroups: a group is its label set, whatever the order in the
// path; PUT replaces the group, POST the families it sends.
func TestGatewayGroups(t *testing.T) {
	g := NewGateway()
	srv := httptest.NewServer(g)
	defer srv.Close()
	key := map[string]string{"job": "j", "x": "1", "y": "2"}

	require.Equal(t, http.StatusOK, push(t, srv.URL, http.MethodPut, "/metrics/job/j/x/1/y/2", body))
	require.Equal(t, http.StatusOK, push(t, srv.URL, http.MethodPost, "/metrics/job/j/y/2/x/1", "# TYPE a gauge\na 5\n"))
	fams := g.Group(key)
	require.NotNil(t, fams, "the POST with the labels in another order updated the same group")
	v, ok := Value(fams, "a", nil)
	assert.True(t, ok)
	assert.Equal(t, 5.0, v)
	v, ok = Value(fams, "b", nil)
	assert.True(t, ok)
	assert.Equal(t, 2.0, v, "POST keeps the families it does not send")
	assert.Len(t, g.Groups(), 1)

	require.Equal(t, http.StatusOK, push(t, srv.URL, http.MethodPut, "/metrics/job/j/y/2/x/1", "# TYPE a gauge\na 7\n"))
	fams = g.Group(key)
	assert.NotContains(t, fams, "b", "PUT replaces the group")

	assert.Equal(t, http.StatusBadRequest, push(t, srv.URL, http.MethodPut, "/metrics/job/j", "# TYPE a gauge\na{job=\"k\"} 1\n"), "a metric may not carry a grouping label")
	assert.Equal(t, http.StatusMethodNotAllowed, push(t, srv.URL, http.MethodDelete, "/metrics/job/j", ""))

	g.SetStatus(http.StatusInternalServerError)
	assert.Equal(t, http.StatusInternalServerError, push(t, srv.URL, http.MethodPut, "/metrics/job/k", body))
	assert.Nil(t, g.Group(map[string]string{"job": "k"}), "a refused push keeps nothing")
	assert.Len(t, g.Pushes(), 4, "every well-formed push is recorded, refused ones included")
}
