package talon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
)

func TestAppendBody(t *testing.T) {
	a := talon.Item{JSON: []byte(`{"a":1}`)}
	b := talon.Item{JSON: []byte(`{"b":2}`)}
	tests := []struct {
		name  string
		dst   string
		e     talon.Endpoint
		items []talon.Item
		want  string
	}{
		{"catalog", "", talon.EndpointCatalog, []talon.Item{a, b}, `{"actions":[{"a":1},{"b":2}]}`},
		{"profiles", "", talon.EndpointProfiles, []talon.Item{a}, `{"customerProfiles":[{"a":1}]}`},
		{"audiences", "", talon.EndpointAudiences, []talon.Item{a, b}, `{"data":[{"a":1},{"b":2}]}`},
		{"no items", "", talon.EndpointAudiences, nil, `{"data":[]}`},
		{"appends to dst", "prefix", talon.EndpointAudiences, []talon.Item{b}, `prefix{"data":[{"b":2}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := talon.AppendBody([]byte(tc.dst), tc.e, tc.items)
			assert.Equal(t, tc.want, string(got))
		})
	}
}

func TestAppendBodyAllocations(t *testing.T) {
	items := benchItems(1000)
	dst := talon.AppendBody(nil, talon.EndpointProfiles, items)
	require.True(t, json.Valid(dst))
	allocs := testing.AllocsPerRun(100, func() {
		dst = talon.AppendBody(dst[:0], talon.EndpointProfiles, items)
	})
	assert.Zero(t, allocs, "with room in dst")
}

func TestIdempotencyKey(t *testing.T) {
	k := talon.IdempotencyKey([]byte(`{"customerProfiles":[]}`))
	assert.Len(t, k, 64)
	assert.Regexp(t, `^[0-9a-f]{64}$`, k)
	assert.Equal(t, k, talon.IdempotencyKey([]byte(`{"customerProfiles":[]}`)))
	assert.NotEqual(t, k, talon.IdempotencyKey([]byte(`{"customerProfiles":[{}]}`)))
}

// benchItems returns n profile items of about 150 bytes each.
func benchItems(n int) []talon.Item {
	items := make([]talon.Item, n)
	for i := range items {
		id := fmt.Sprintf("customer-%06d", i)
		items[i] = talon.Item{Key: id, JSON: fmt.Appendf(nil,
			`{"integrationId":%q,"attributes":{"Name":"Customer %d","Age":%d,"Tags":["vip","newsletter"],"Joined":"2024-03-01T10:00:00Z"}}`,
			id, i, 20+i%50)}
	}
	return items
}

func BenchmarkAppendBody(b *testing.B) {
	items := benchItems(1000)
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		dst = talon.AppendBody(dst[:0], talon.EndpointProfiles, items)
	}
	b.SetBytes(int64(len(dst)))
}

// BenchmarkSend measures one profiles request of 1000 items end to end
// against a local server that discards the body.
func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c, err := talon.New(talon.Config{BaseURL: srv.URL, APIKey: testKey})
	require.NoError(b, err)
	batch := talon.Batch{Endpoint: talon.EndpointProfiles, Items: benchItems(1000)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Send(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}
