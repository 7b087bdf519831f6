package talon_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
)

// verbs are the fmt verbs a key must not leak through.
var verbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"}

// assertNoKey fails if any printed form of v shows the key or a piece of it.
func assertNoKey(t *testing.T, v any) {
	t.Helper()
	for _, verb := range verbs {
		s := fmt.Sprintf(verb, v)
		assert.NotContains(t, s, "SECRET", "%s of %T", verb, v)
		assert.NotContains(t, s, "746b2d534543524554", "hex of the key in %s of %T", verb, v)
	}
	if err, ok := v.(error); ok {
		assert.NotContains(t, err.Error(), "SECRET")
	}
}

func TestSecretFormatting(t *testing.T) {
	assert.Equal(t, "[redacted]", testKey.String())
	assert.Equal(t, "[redacted]", testKey.GoString())
	assertNoKey(t, testKey)

	cfg := talon.Config{BaseURL: "https://acme.talon.one", APIKey: testKey}
	assertNoKey(t, cfg)
	assertNoKey(t, &cfg)
	j, err := json.Marshal(cfg)
	require.NoError(t, err)
	assert.NotContains(t, string(j), "SECRET")
	assert.Contains(t, string(j), `"APIKey":"[redacted]"`)

	c, err := talon.New(cfg)
	require.NoError(t, err)
	assertNoKey(t, c)
	assertNoKey(t, *c)
}

func TestKeyNeverInErrors(t *testing.T) {
	// echo returns a handler that puts the Authorization header in its body.
	echo := func(status int, body func(auth string) string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body(r.Header.Get("Authorization")))
		}
	}
	jsonEcho := func(auth string) string {
		b, _ := json.Marshal(map[string]any{
			"message": "bad header: " + auth,
			"errors": []any{map[string]any{
				"title": auth, "details": "got " + auth,
				"source": map[string]any{"pointer": "/customerProfiles/0/" + auth, "parameter": auth},
			}},
		})
		return string(b)
	}
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		maxBytes int64
	}{
		{"400 json echo everywhere", echo(400, jsonEcho), 0},
		{"401 text echo", echo(401, func(a string) string { return "Unauthorized: " + a }), 0},
		{"404 escaped json echo", echo(404, func(string) string { return `{"message":"tk\u002dSECRET\u002d123"}` }), 0},
		{"500 key across the message bound", echo(500, func(a string) string { return strings.Repeat("x", 500) + a }), 0},
		{"502 key cut by the body bound", echo(502, func(a string) string { return strings.Repeat("y", 20) + a + " tail" }), 40},
		{"503 truncated json", echo(503, func(a string) string { return `{"message":"` + a }), 0},
		{"429 key in every detail", echo(429, func(a string) string {
			return `{"errors":[` + strings.Repeat(`{"details":"`+a+`"},`, 50) + `{}]}`
		}), 0},
		{"transport", func(w http.ResponseWriter, _ *http.Request) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			_ = conn.Close()
		}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			t.Cleanup(srv.Close)
			c := newClient(t, srv.URL, func(cfg *talon.Config) { cfg.MaxResponseBytes = tc.maxBytes })
			err := updateProfiles(context.Background(), c, profiles, true)
			require.Error(t, err)
			assertNoKey(t, err)
			var apiErr *talon.APIError
			if errors.As(err, &apiErr) {
				for _, d := range apiErr.Details {
					assertNoKey(t, d)
				}
			} else {
				var te *talon.TransportError
				assert.ErrorAs(t, err, &te)
			}
		})
	}
}

func TestKeyNeverInOtherErrors(t *testing.T) {
	_, err := talon.New(talon.Config{BaseURL: "http://tk-SECRET-123.example", APIKey: testKey})
	assert.ErrorIs(t, err, talon.ErrInsecureURL)
	assertNoKey(t, err)
	_, err = talon.New(talon.Config{BaseURL: "https://x y/tk-SECRET-123", APIKey: testKey})
	require.Error(t, err)
	assertNoKey(t, err)
	_, err = talon.New(talon.Config{BaseURL: "tk-SECRET-123://x", APIKey: testKey})
	require.Error(t, err)
	assertNoKey(t, err)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { waitForClient(r) }))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = updateProfiles(ctx, c, profiles, true)
	require.Error(t, err)
	assertNoKey(t, err)
	err = c.Send(context.Background(), talon.Batch{Endpoint: talon.EndpointProfiles})
	require.Error(t, err)
	assertNoKey(t, err)
}
