package emulator

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValueHasType(t *testing.T) {
	tests := []struct {
		typ   string
		value string
		want  bool
	}{
		{"string", `"x"`, true},
		{"string", `1`, false},
		{"string", `null`, false},
		{"number", `-1.5e3`, true},
		{"number", `0`, true},
		{"number", `"1"`, false},
		{"boolean", `true`, true},
		{"boolean", `false`, true},
		{"boolean", `"true"`, false},
		{"boolean", `1`, false},
		{"time", `"2024-01-02T03:04:05Z"`, true},
		{"time", `"2024-01-02T03:04:05.123+01:00"`, true},
		{"time", `"2024-01-02"`, false},
		{"time", `1704164645`, false},
		{"(list string)", `["a","b"]`, true},
		{"(list string)", `[]`, true},
		{"(list string)", `["a",1]`, false},
		{"(list string)", `"a"`, false},
		{"(list number)", `[1,2.5]`, true},
		{"(list number)", `[1,"2"]`, false},
		{"(list time)", `["2024-01-02T03:04:05Z"]`, true},
		{"(list time)", `["now"]`, false},
		{"location", `{"lat":1,"lon":2}`, true},
		{"location", `"59.9,10.7"`, true},
		{"location", `[1,2]`, false},
		{"(list location)", `[{"lat":1},"x"]`, true},
		{"(list location)", `[1]`, false},
	}
	for _, tc := range tests {
		t.Run(tc.typ+" "+tc.value, func(t *testing.T) {
			assert.Equal(t, tc.want, valueHasType(json.RawMessage(tc.value), tc.typ))
		})
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"a": true, "Age": true, "a_1": true, "A1b2": true,
		"": false, "1a": false, "_a": false, "a-b": false, "a b": false, "é": false, "a.b": false,
	} {
		assert.Equal(t, want, validName(name), "%q", name)
	}
}

func TestLoadSchema(t *testing.T) {
	s, err := LoadSchema(schemaPath)
	require.NoError(t, err)
	assert.Equal(t, "number", s[SchemaProfiles]["Age"])
	assert.Equal(t, "(list location)", s[SchemaCatalog]["depots"])

	dir := t.TempDir()
	tests := []struct {
		name, content string
	}{
		{"not JSON", `{`},
		{"wrong shape", `{"profiles":["Age"]}`},
		{"unknown entity", `{"sessions":{}}`},
		{"unknown type", `{"profiles":{"Age":"int"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "s.json")
			require.NoError(t, os.WriteFile(p, []byte(tc.content), 0o600))
			_, err := LoadSchema(p)
			assert.Error(t, err)
		})
	}
	_, err = LoadSchema(filepath.Join(dir, "missing.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestNilSchemaEntityAcceptsAnyType(t *testing.T) {
	s := start(t, Options{Schema: Schema{SchemaCatalog: {"color": "string"}}})
	a := do(t, s, "PUT", profilesPath, profilesBody(`{"integrationId":"a","attributes":{"Anything":[1,{"x":null}],"N":"x"}}`))
	assert.Equal(t, 204, a.status, "body %s", a.body)
}

// TestNullAttributeRefused: the API's handling of a null attribute value is
// undocumented; the emulator refuses one, with or without a schema, at any
// entity. A null inside a value is a value.
func TestNullAttributeRefused(t *testing.T) {
	s := start(t, Options{})
	a := do(t, s, "PUT", profilesPath, profilesBody(`{"integrationId":"a","attributes":{"N":null,"M":[null]}}`))
	require.Equal(t, 400, a.status, "body %s", a.body)
	assert.Equal(t, []string{"/customerProfiles/0/attributes/N"}, pointers(t, a))
}

// TestSetSchema: an attribute created at run time is accepted from then on,
// in profiles, catalog items and catalog filters; the caller's map is
// copied; an invalid schema changes nothing.
func TestSetSchema(t *testing.T) {
	s := start(t, Options{Schema: Schema{SchemaProfiles: {"Age": "number"}, SchemaCatalog: {}}})
	profile := `{"customerProfiles":[{"integrationId":"p1","attributes":{"Tier":"gold"}}]}`
	item := `{"actions":[{"type":"ADD","payload":{"sku":"a","attributes":{"Tier":"gold"}}}]}`
	filter := `{"actions":[{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"Tier","op":"EQ","value":"gold"}]}}]}`
	requests := []struct{ method, path, body string }{
		{http.MethodPut, "/v2/customer_profiles", profile},
		{http.MethodPut, "/v1/catalogs/1/sync", item},
		{http.MethodPut, "/v1/catalogs/1/sync", filter},
	}
	for _, r := range requests {
		a := do(t, s, r.method, r.path, r.body)
		require.Equal(t, http.StatusBadRequest, a.status, "%s: %s", r.body, a.body)
		assert.Contains(t, string(a.body), `\"Tier\" does not exist`)
	}

	sc := Schema{SchemaProfiles: {"Age": "number", "Tier": "string"}, SchemaCatalog: {"Tier": "string"}}
	require.NoError(t, s.SetSchema(sc))
	sc[SchemaProfiles]["Tier"] = "number" // the server holds its own copy
	for _, r := range requests {
		a := do(t, s, r.method, r.path, r.body)
		assert.Less(t, a.status, 300, "%s: %s", r.body, a.body)
	}
	assert.JSONEq(t, `"gold"`, string(s.State().Profiles["p1"].Attributes["Tier"]))

	assert.Error(t, s.SetSchema(Schema{"sessions": nil}))
	assert.Error(t, s.SetSchema(Schema{SchemaProfiles: {"Tier": "color"}}))
	a := do(t, s, http.MethodPut, "/v2/customer_profiles", profile)
	assert.Less(t, a.status, 300, "an invalid schema left the current one: %s", a.body)

	require.NoError(t, s.SetSchema(nil))
	a = do(t, s, http.MethodPut, "/v2/customer_profiles", `{"customerProfiles":[{"integrationId":"p2","attributes":{"Anything":1}}]}`)
	assert.Less(t, a.status, 300, "a nil schema accepts any valid name: %s", a.body)
}

func TestSchemaEndpoint(t *testing.T) {
	s := start(t, Options{Schema: Schema{SchemaProfiles: {"Age": "number"}}})
	a := do(t, s, http.MethodGet, "/emulator/schema", "")
	require.Equal(t, http.StatusOK, a.status)
	assert.JSONEq(t, `{"profiles":{"Age":"number"}}`, string(a.body))

	a = do(t, s, http.MethodPut, "/emulator/schema", `{"profiles":{"Age":"number","Tier":"string"}}`, "Authorization", "")
	require.Equal(t, http.StatusNoContent, a.status, "%s", a.body)
	assert.Equal(t, Schema{SchemaProfiles: {"Age": "number", "Tier": "string"}}, s.currentSchema())

	for _, body := range []string{`{"sessions":{}}`, `{"profiles":{"Tier":"color"}}`, `{"profiles":`, `[]`} {
		a = do(t, s, http.MethodPut, "/emulator/schema", body)
		assert.Equal(t, http.StatusBadRequest, a.status, body)
		assert.Contains(t, decodeError(t, a).Message, "invalid schema")
	}
	assert.Equal(t, Schema{SchemaProfiles: {"Age": "number", "Tier": "string"}}, s.currentSchema(), "a refused body changes nothing")

	a = do(t, s, http.MethodPost, "/emulator/schema", `{}`)
	assert.Equal(t, http.StatusMethodNotAllowed, a.status)
	assert.Equal(t, "GET, PUT", a.header.Get("Allow"))
	assert.Zero(t, s.Stats().RequestsTotal, "inspection requests are not counted")
}
