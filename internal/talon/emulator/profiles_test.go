package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProfilesValidation(t *testing.T) {
	schema, err := LoadSchema(schemaPath)
	require.NoError(t, err)
	tests := []struct {
		name   string
		schema Schema
		body   string
		want   []string // pointers, in order; nil when the error has none
	}{
		{name: "not JSON", body: `{"customerProfiles": [`},
		{name: "not an object", body: `[1]`},
		{name: "null body", body: `null`},
		{name: "missing array", body: `{}`, want: []string{"/customerProfiles"}},
		{name: "null array", body: `{"customerProfiles":null}`, want: []string{"/customerProfiles"}},
		{name: "array is an object", body: `{"customerProfiles":{}}`, want: []string{"/customerProfiles"}},
		{name: "empty array", body: profilesBody(), want: []string{"/customerProfiles"}},
		{name: "1001 items", body: profilesBody(repeat(1001, func(i int) string { return profile(fmt.Sprint(i)) })...), want: []string{"/customerProfiles"}},
		{name: "unknown top-level field", body: `{"customerProfiles":[{"integrationId":"a"}],"silent":"no"}`, want: []string{"/silent"}},
		{name: "item not an object", body: profilesBody(`"a"`), want: []string{"/customerProfiles/0"}},
		{name: "missing integrationId", body: profilesBody(`{"attributes":{}}`), want: []string{"/customerProfiles/0/integrationId"}},
		{name: "empty integrationId", body: profilesBody(profile("a"), profile("")), want: []string{"/customerProfiles/1/integrationId"}},
		{name: "integrationId too long", body: profilesBody(profile(strings.Repeat("é", 1001))), want: []string{"/customerProfiles/0/integrationId"}},
		{name: "integrationId not a string", body: profilesBody(`{"integrationId":5}`), want: []string{"/customerProfiles/0/integrationId"}},
		{name: "field name in the wrong case", body: profilesBody(`{"integrationID":"a"}`), want: []string{"/customerProfiles/0/integrationID"}},
		{name: "unknown field", body: profilesBody(`{"integrationId":"a","audiencesChanges":{}}`), want: []string{"/customerProfiles/0/audiencesChanges"}},
		{name: "duplicate integrationId points at the later one", body: profilesBody(profile("a"), profile("b"), profile("a")), want: []string{"/customerProfiles/2/integrationId"}},
		{name: "attributes not an object", body: profilesBody(`{"integrationId":"a","attributes":[1]}`), want: []string{"/customerProfiles/0/attributes"}},
		{name: "attributes a string", body: profilesBody(`{"integrationId":"a","attributes":"x"}`), want: []string{"/customerProfiles/0/attributes"}},
		{name: "bad attribute name without schema", body: profilesBody(`{"integrationId":"a","attributes":{"1st":1}}`), want: []string{"/customerProfiles/0/attributes/1st"}},
		{name: "every offending item is reported", body: profilesBody(profile("a"), profile(""), profile("c"), `{"integrationId":"d","attributes":{"_x":1}}`, profile("a")),
			want: []string{"/customerProfiles/1/integrationId", "/customerProfiles/3/attributes/_x", "/customerProfiles/4/integrationId"}},
		{name: "schema: unknown attribute", schema: schema, body: profilesBody(`{"integrationId":"a","attributes":{"Name":"x","Shoe":42}}`), want: []string{"/customerProfiles/0/attributes/Shoe"}},
		{name: "schema: every wrong attribute", schema: schema, body: profilesBody(`{"integrationId":"a","attributes":{"Age":"41","VIP":"yes","Name":"ok"}}`, `{"integrationId":"b","attributes":{"SignedUp":"yesterday"}}`),
			want: []string{"/customerProfiles/0/attributes/Age", "/customerProfiles/0/attributes/VIP", "/customerProfiles/1/attributes/SignedUp"}},
		{name: "schema: null is no type", schema: schema, body: profilesBody(`{"integrationId":"a","attributes":{"Age":null}}`), want: []string{"/customerProfiles/0/attributes/Age"}},
		{name: "schema: pointer escaping", schema: schema, body: profilesBody(`{"integrationId":"a","attributes":{"a/b":1}}`), want: []string{"/customerProfiles/0/attributes/a~1b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, Options{Schema: tc.schema})
			a := do(t, s, http.MethodPut, profilesPath, tc.body)
			require.Equal(t, http.StatusBadRequest, a.status, "body %s", a.body)
			assert.Equal(t, tc.want, pointers(t, a))
			assert.Empty(t, s.State().Profiles, "a rejected request is not applied")
			assert.Zero(t, s.Stats().ItemsApplied)
		})
	}
}

func TestProfilesSchemaAccepts(t *testing.T) {
	schema, err := LoadSchema(schemaPath)
	require.NoError(t, err)
	s := start(t, Options{Schema: schema})
	attrs := `{"Name":"Ann","Age":41.5,"VIP":false,"SignedUp":"2024-05-01T10:00:00+02:00","Tags":["a","b"],"Scores":[1,-2.5e3],` +
		`"Visits":["2024-05-01T10:00:00Z"],"Home":{"lat":1,"lon":2},"Shops":["x",{"lat":1}]}`
	a := do(t, s, http.MethodPut, profilesPath, profilesBody(`{"integrationId":"a","attributes":`+attrs+`}`))
	require.Equal(t, http.StatusNoContent, a.status, "body %s", a.body)
	assert.Len(t, s.State().Profiles["a"].Attributes, 9)
}

func TestProfilesUpsert(t *testing.T) {
	s := start(t, Options{})
	steps := []string{
		profilesBody(`{"integrationId":"a","attributes":{"Name":"Ann","Age":40}}`, profile("b")),
		profilesBody(`{"integrationId":"a","attributes":{"Age":41,"City":"Oslo"}}`),
		profilesBody(profile("a")),
	}
	for _, body := range steps {
		a := do(t, s, http.MethodPut, profilesPath, body)
		require.Equal(t, http.StatusNoContent, a.status, "body %s", a.body)
		assert.Empty(t, a.body, "silent answers have no body")
	}
	assert.Equal(t, map[string]Profile{
		"a": {IntegrationID: "a", Attributes: map[string]json.RawMessage{
			"Name": json.RawMessage(`"Ann"`), "Age": json.RawMessage(`41`), "City": json.RawMessage(`"Oslo"`)}},
		"b": {IntegrationID: "b"},
	}, s.State().Profiles)
}

func TestProfilesSilent(t *testing.T) {
	s := start(t, Options{})
	a := do(t, s, http.MethodPut, profilesPath+"?silent=yes", profilesBody(`{"integrationId":"a","attributes":{"X":1}}`))
	require.Equal(t, http.StatusNoContent, a.status)

	a = do(t, s, http.MethodPut, profilesPath+"?silent=no", profilesBody(`{"integrationId":"a","attributes":{"Y":2}}`, profile("b")))
	require.Equal(t, http.StatusOK, a.status, "body %s", a.body)
	assert.Equal(t, "application/json", a.header.Get("Content-Type"))
	assert.JSONEq(t, `{"integrationStates":[
		{"customerProfile":{"integrationId":"a","attributes":{"X":1,"Y":2}}},
		{"customerProfile":{"integrationId":"b"}}]}`, string(a.body))
}

func TestIdempotencyKey(t *testing.T) {
	s := start(t, Options{History: true})
	first := do(t, s, http.MethodPut, profilesPath+"?silent=no", profilesBody(`{"integrationId":"a","attributes":{"V":1}}`), "Idempotency-Key", "k1")
	require.Equal(t, http.StatusOK, first.status)

	// The same key with another body: the first answer, nothing applied.
	again := do(t, s, http.MethodPut, profilesPath+"?silent=no", profilesBody(`{"integrationId":"a","attributes":{"V":2}}`), "Idempotency-Key", "k1")
	assert.Equal(t, first.status, again.status)
	assert.Equal(t, string(first.body), string(again.body))
	assert.JSONEq(t, `1`, string(s.State().Profiles["a"].Attributes["V"]))
	assert.Len(t, s.History(ProfileKey("a")), 1)

	// A request that was not applied is not remembered.
	s.SetFaults(Faults{Fail429: 1})
	a := do(t, s, http.MethodPut, profilesPath, profilesBody(`{"integrationId":"a","attributes":{"V":3}}`), "Idempotency-Key", "k2")
	require.Equal(t, http.StatusTooManyRequests, a.status)
	s.SetFaults(Faults{})
	a = do(t, s, http.MethodPut, profilesPath, profilesBody(`{"integrationId":"a","attributes":{"V":3}}`), "Idempotency-Key", "k2")
	require.Equal(t, http.StatusNoContent, a.status)
	assert.JSONEq(t, `3`, string(s.State().Profiles["a"].Attributes["V"]))

	a = do(t, s, http.MethodPut, profilesPath, profilesBody(profile("a")), "Idempotency-Key", strings.Repeat("k", 256))
	require.Equal(t, http.StatusBadRequest, a.status)

	st := s.Stats()
	assert.Equal(t, int64(1), st.IdempotentReplays)
	assert.Equal(t, int64(2), st.ItemsApplied)
}

func TestIdempotencyCacheForgetsOldest(t *testing.T) {
	c := newIdempotencyCache(2)
	for _, k := range []string{"a", "b", "c"} {
		c.put(k, storedAnswer{status: 204})
	}
	_, ok := c.get("a")
	assert.False(t, ok, "a was forgotten")
	for _, k := range []string{"b", "c"} {
		_, ok := c.get(k)
		assert.True(t, ok, k)
	}
	c.put("d", storedAnswer{})
	_, ok = c.get("b")
	assert.False(t, ok, "b was forgotten")
}
