package spectest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

func mustLoad(t testing.TB) *Spec {
	t.Helper()
	s, err := Load()
	require.NoError(t, err)
	return s
}

func TestLoadOnce(t *testing.T) {
	s1 := mustLoad(t)
	s2 := mustLoad(t)
	assert.Same(t, s1, s2, "the spec is parsed once per process")
	assert.Positive(t, s1.LoadTime)
	t.Logf("spec loaded in %v", s1.LoadTime)
}

func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := load(specYAML); err != nil {
			b.Fatal(err)
		}
	}
}

// goldenDirs are where the golden request bodies live: the repo's testdata
// today, the talon package's own testdata after the wire-format move.
var goldenDirs = []string{"../../../testdata/talon", "../testdata"}

// goldenBodies returns the golden request bodies by file name.
func goldenBodies(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, dir := range goldenDirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		require.NoError(t, err)
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			out[filepath.Base(f)] = b
		}
	}
	require.GreaterOrEqual(t, len(out), 6, "golden bodies in %v", goldenDirs)
	return out
}

// endpointOf tells a golden body's endpoint from its file name.
func endpointOf(t *testing.T, name string) talon.Endpoint {
	switch {
	case strings.HasPrefix(name, "catalog"):
		return talon.EndpointCatalog
	case strings.HasPrefix(name, "profiles"):
		return talon.EndpointProfiles
	case strings.HasPrefix(name, "audiences"):
		return talon.EndpointAudiences
	}
	t.Fatalf("golden body %s: unknown endpoint", name)
	return 0
}

func TestGoldenBodiesConform(t *testing.T) {
	s := mustLoad(t)
	for name, body := range goldenBodies(t) {
		t.Run(name, func(t *testing.T) {
			assert.NoError(t, s.ValidateBody(context.Background(), endpointOf(t, name), body))
		})
	}
}

// TestClientRequestsConform sends each golden body's items with the real
// client to an emulator that records them, and checks every request as
// received: method, path, query, headers and body.
func TestClientRequestsConform(t *testing.T) {
	s := mustLoad(t)
	var rec Recorder
	emu, err := emulator.Start(emulator.Options{OnRequest: rec.Record, Audiences: []int64{7, 42}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	c, err := talon.New(talon.Config{BaseURL: emu.URL(), APIKey: emulator.DefaultAPIKey})
	require.NoError(t, err)
	no := false
	sent := 0
	for name, body := range goldenBodies(t) {
		ep := endpointOf(t, name)
		var doc map[string][]json.RawMessage
		require.NoError(t, json.Unmarshal(body, &doc), name)
		var items []talon.Item
		for _, elem := range doc[ep.ArrayField()] {
			var a struct{ Type talon.ActionType }
			require.NoError(t, json.Unmarshal(elem, &a))
			items = append(items, talon.Item{Type: a.Type, JSON: elem})
		}
		b := talon.Batch{Endpoint: ep, CatalogID: 1, Items: items}
		require.NoError(t, c.Send(context.Background(), b), name)
		sent++
		if ep == talon.EndpointProfiles {
			b.Silent = &no
			require.NoError(t, c.Send(context.Background(), b), name)
			sent++
		}
	}
	require.Len(t, rec.Records(), sent)
	for _, f := range rec.Check(context.Background(), s) {
		t.Errorf("%s %s: %v", f.Record.Method, f.Record.Path, f.Err)
	}

	// The recorder's check is not vacuous: a request the client would never
	// send is found.
	req, err := http.NewRequest(http.MethodPut, emu.URL()+"/v2/customer_profiles", strings.NewReader(`{"customerProfiles":[{"integrationId":5}]}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "ApiKey-v1 "+emulator.DefaultAPIKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	fails := rec.Check(context.Background(), s)
	require.Len(t, fails, 1)
	assert.True(t, fails[0].Err.Has(CheckSpec))
}

// TestDeviationsAreNeeded proves each deviation: the spec as written refuses
// what the vendor's own example sends.
func TestDeviationsAreNeeded(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(specYAML)
	require.NoError(t, err)
	raw := doc.Components.Schemas["CatalogActionFilter"].Value
	example := map[string]any{"attr": "size", "op": "GT", "value": "45"} // syncCatalog's description
	require.Contains(t, doc.Paths.Value("/v1/catalogs/{catalogId}/sync").Put.Description, `"value": "45"`)
	assert.Error(t, raw.VisitJSON(example), "the spec as written refuses its own example")
	assert.Error(t, raw.VisitJSON(map[string]any{"attr": "size", "op": "GT", "value": 45.0}))

	s := mustLoad(t)
	sch, err := s.Schema("CatalogActionFilter")
	require.NoError(t, err)
	assert.NoError(t, sch.VisitJSON(example))
	assert.NoError(t, sch.VisitJSON(map[string]any{"attr": "size", "op": "GT", "value": 45.0}))
	assert.Error(t, sch.VisitJSON(map[string]any{"attr": "size", "op": "GT", "value": nil}), "null stays refused")
	assert.Error(t, sch.VisitJSON(map[string]any{"attr": "size", "op": "GT"}), "value stays required")
}
