package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
)

func add(sku string) string {
	return fmt.Sprintf(`{"type":"ADD","payload":{"sku":%q}}`, sku)
}

func TestCatalogValidation(t *testing.T) {
	schema, err := LoadSchema(schemaPath)
	require.NoError(t, err)
	tests := []struct {
		name   string
		schema Schema
		body   string
		want   []string
	}{
		{name: "not JSON", body: `nope`},
		{name: "missing actions", body: `{"version":1}`, want: []string{"/actions"}},
		{name: "no actions", body: actionsBody(), want: []string{"/actions"}},
		{name: "1001 actions", body: actionsBody(repeat(1001, func(i int) string { return add(fmt.Sprint(i)) })...), want: []string{"/actions"}},
		{name: "unknown top-level field", body: `{"actions":[{"type":"REMOVE","payload":{"sku":"a"}}],"dryRun":true}`, want: []string{"/dryRun"}},
		{name: "unknown type", body: actionsBody(`{"type":"UPSERT","payload":{"sku":"a"}}`), want: []string{"/actions/0/type"}},
		{name: "price adjustment without adjustments", body: actionsBody(`{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a"}}`), want: []string{"/actions/0/payload/adjustments"}},
		{name: "price adjustment with empty adjustments", body: actionsBody(`{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[]}}`), want: []string{"/actions/0/payload/adjustments"}},
		{name: "price adjustment without sku", body: actionsBody(`{"type":"ADD_PRICE_ADJUSTMENT","payload":{"adjustments":[{"priceType":"m","price":1,"referenceId":"r"}]}}`), want: []string{"/actions/0/payload/sku"}},
		{name: "price adjustment faults", body: actionsBody(`{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[` +
			`{"priceType":"m","price":1},{"price":1,"referenceId":"r"},{"priceType":"m","price":"1","referenceId":"r"},` +
			`{"priceType":"m","price":1,"referenceId":"r","effectiveFrom":"tomorrow"},{"priceType":"m","price":1,"referenceId":"r","extra":1},{"priceType":"m","referenceId":"r"}]}}`),
			want: []string{"/actions/0/payload/adjustments/0/referenceId", "/actions/0/payload/adjustments/1/priceType", "/actions/0/payload/adjustments/2/price",
				"/actions/0/payload/adjustments/3/effectiveFrom", "/actions/0/payload/adjustments/4/extra", "/actions/0/payload/adjustments/5/price"}},
		{name: "price adjustment with price", body: actionsBody(`{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","price":1,"adjustments":[{"priceType":"m","price":1,"referenceId":"r"}]}}`), want: []string{"/actions/0/payload/price"}},
		{name: "null attribute value", body: actionsBody(`{"type":"ADD","payload":{"sku":"a","attributes":{"ok":1,"gone":null}}}`), want: []string{"/actions/0/payload/attributes/gone"}},
		{name: "mixed types point at every later type", body: actionsBody(add("a"), `{"type":"REMOVE","payload":{"sku":"b"}}`, add("c"), `{"type":"PATCH","payload":{"sku":"d"}}`),
			want: []string{"/actions/1/type", "/actions/3/type"}},
		{name: "duplicate SKU points at the later one", body: actionsBody(add("a"), add("b"), add("a")), want: []string{"/actions/2/payload/sku"}},
		{name: "missing payload", body: actionsBody(`{"type":"ADD"}`), want: []string{"/actions/0/payload"}},
		{name: "ADD without sku", body: actionsBody(`{"type":"ADD","payload":{"price":1}}`), want: []string{"/actions/0/payload/sku"}},
		{name: "PATCH with empty sku", body: actionsBody(`{"type":"PATCH","payload":{"sku":""}}`), want: []string{"/actions/0/payload/sku"}},
		{name: "REMOVE without sku", body: actionsBody(`{"type":"REMOVE","payload":{"sku":"a"}}`, `{"type":"REMOVE","payload":{}}`), want: []string{"/actions/1/payload/sku"}},
		{name: "sku on REMOVE_MANY", body: actionsBody(`{"type":"REMOVE_MANY","payload":{"sku":"a"}}`), want: []string{"/actions/0/payload/sku"}},
		{name: "replaceIfExists on PATCH", body: actionsBody(`{"type":"PATCH","payload":{"sku":"a","replaceIfExists":true}}`), want: []string{"/actions/0/payload/replaceIfExists"}},
		{name: "price not a number", body: actionsBody(`{"type":"ADD","payload":{"sku":"a","price":"9.99"}}`), want: []string{"/actions/0/payload/price"}},
		{name: "product with unknown field", body: actionsBody(`{"type":"ADD","payload":{"sku":"a","product":{"title":"x"}}}`), want: []string{"/actions/0/payload/product/title"}},
		{name: "bad attribute name", body: actionsBody(`{"type":"ADD","payload":{"sku":"a","attributes":{"a-b":1}}}`), want: []string{"/actions/0/payload/attributes/a-b"}},
		{name: "filter with unknown op", body: actionsBody(`{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"a","op":"NE","value":1}]}}`), want: []string{"/actions/0/payload/filters/0/op"}},
		{name: "LT on a non-number", body: actionsBody(`{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"a","op":"EQ","value":1},{"attr":"a","op":"LT","value":"x"}]}}`), want: []string{"/actions/0/payload/filters/1/value"}},
		{name: "IN on a non-string", body: actionsBody(`{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"a","op":"IN","value":[1,2]}]}}`), want: []string{"/actions/0/payload/filters/0/value"}},
		{name: "filter without value", body: actionsBody(`{"type":"PATCH_MANY","payload":{"filters":[{"attr":"a","op":"EQ"}]}}`), want: []string{"/actions/0/payload/filters/0/value"}},
		{name: "filter with bad attr", body: actionsBody(`{"type":"PATCH_MANY","payload":{"filters":[{"attr":"","op":"EQ","value":1}]}}`), want: []string{"/actions/0/payload/filters/0/attr"}},
		{name: "schema: unknown attribute", schema: schema, body: actionsBody(add("a"), `{"type":"ADD","payload":{"sku":"b","attributes":{"color":"red","size":1}}}`), want: []string{"/actions/1/payload/attributes/size"}},
		{name: "schema: wrong types", schema: schema, body: actionsBody(`{"type":"ADD","payload":{"sku":"b","attributes":{"weight":"1kg","tags":"a,b"}}}`),
			want: []string{"/actions/0/payload/attributes/tags", "/actions/0/payload/attributes/weight"}},
		{name: "schema: unknown filter attribute", schema: schema, body: actionsBody(`{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"size","op":"EQ","value":1}]}}`), want: []string{"/actions/0/payload/filters/0/attr"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, Options{Schema: tc.schema})
			a := do(t, s, http.MethodPut, catalog1Path, tc.body)
			require.Equal(t, http.StatusBadRequest, a.status, "body %s", a.body)
			assert.Equal(t, tc.want, pointers(t, a))
			assert.Empty(t, s.State().Catalogs[1], "a rejected request is not applied")
		})
	}
}

func TestCatalogStateChecks(t *testing.T) {
	s := start(t, Options{})
	a := do(t, s, http.MethodPut, catalog1Path, actionsBody(add("a"), add("b")))
	require.Equal(t, http.StatusOK, a.status, "body %s", a.body)

	tests := []struct {
		name string
		body string
		want []string
	}{
		{name: "ADD of existing SKUs", body: actionsBody(add("new"), add("a"), `{"type":"ADD","payload":{"sku":"b","replaceIfExists":false}}`),
			want: []string{"/actions/1/payload/sku", "/actions/2/payload/sku"}},
		{name: "PATCH of a missing SKU", body: actionsBody(`{"type":"PATCH","payload":{"sku":"a","price":1}}`, `{"type":"PATCH","payload":{"sku":"zz","price":1}}`),
			want: []string{"/actions/1/payload/sku"}},
		{name: "price adjustment of a missing SKU",
			body: actionsBody(`{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[{"priceType":"m","price":1,"referenceId":"r"}]}}`,
				`{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"zz","adjustments":[{"priceType":"m","price":1,"referenceId":"r"}]}}`),
			want: []string{"/actions/1/payload/sku"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := s.State()
			a := do(t, s, http.MethodPut, catalog1Path, tc.body)
			require.Equal(t, http.StatusBadRequest, a.status, "body %s", a.body)
			assert.Equal(t, tc.want, pointers(t, a))
			assert.Equal(t, before, s.State(), "nothing of a rejected request is applied")
		})
	}
}

func TestCatalogSemantics(t *testing.T) {
	type item = CatalogItem
	price := func(p float64) *float64 { return &p }
	product := func(n string) *talon.Product { return &talon.Product{Name: n} }
	attrs := func(kv ...string) map[string]json.RawMessage {
		m := map[string]json.RawMessage{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = json.RawMessage(kv[i+1])
		}
		return m
	}
	seed := actionsBody(
		`{"type":"ADD","payload":{"sku":"a","price":10,"product":{"name":"shoe"},"attributes":{"color":"red","size":40,"tag":"x"}}}`,
		`{"type":"ADD","payload":{"sku":"b","price":20,"attributes":{"color":"blue","size":42}}}`,
		`{"type":"ADD","payload":{"sku":"c","attributes":{"color":"red","size":44,"flag":true}}}`,
	)
	tests := []struct {
		name  string
		steps []string
		want  map[string]item
	}{
		{name: "ADD creates", steps: nil, want: map[string]item{
			"a": {SKU: "a", Price: price(10), Product: product("shoe"), Attributes: attrs("color", `"red"`, "size", `40`, "tag", `"x"`)},
			"b": {SKU: "b", Price: price(20), Attributes: attrs("color", `"blue"`, "size", `42`)},
			"c": {SKU: "c", Attributes: attrs("color", `"red"`, "size", `44`, "flag", `true`)},
		}},
		{name: "ADD with replaceIfExists replaces attributes and product, keeps an omitted price",
			steps: []string{actionsBody(`{"type":"ADD","payload":{"sku":"a","replaceIfExists":true,"attributes":{"size":41}}}`)},
			want:  map[string]item{"a": {SKU: "a", Price: price(10), Attributes: attrs("size", `41`)}}},
		{name: "ADD with replaceIfExists sets a given price",
			steps: []string{actionsBody(`{"type":"ADD","payload":{"sku":"a","replaceIfExists":true,"price":11,"product":{"name":"boot"}}}`)},
			want:  map[string]item{"a": {SKU: "a", Price: price(11), Product: product("boot")}}},
		{name: "PATCH merges attributes, keeps price, nulls an omitted product",
			steps: []string{actionsBody(`{"type":"PATCH","payload":{"sku":"a","attributes":{"size":41,"new":1}}}`)},
			want:  map[string]item{"a": {SKU: "a", Price: price(10), Attributes: attrs("color", `"red"`, "size", `41`, "tag", `"x"`, "new", `1`)}}},
		{name: "PATCH with price and product",
			steps: []string{actionsBody(`{"type":"PATCH","payload":{"sku":"a","price":5,"product":{"name":"boot"}}}`)},
			want:  map[string]item{"a": {SKU: "a", Price: price(5), Product: product("boot"), Attributes: attrs("color", `"red"`, "size", `40`, "tag", `"x"`)}}},
		{name: "PATCH with createIfNotExists creates",
			steps: []string{actionsBody(`{"type":"PATCH","payload":{"sku":"n","createIfNotExists":true,"price":1,"attributes":{"k":"v"}}}`)},
			want:  map[string]item{"n": {SKU: "n", Price: price(1), Attributes: attrs("k", `"v"`)}}},
		{name: "REMOVE deletes; a missing SKU is a no-op",
			steps: []string{actionsBody(`{"type":"REMOVE","payload":{"sku":"a"}}`, `{"type":"REMOVE","payload":{"sku":"missing"}}`)},
			want:  map[string]item{"a": {}, "missing": {}}},
		{name: "REMOVE_MANY without filters removes every item",
			steps: []string{actionsBody(`{"type":"REMOVE_MANY","payload":{}}`)},
			want:  map[string]item{"a": {}, "b": {}, "c": {}}},
		{name: "REMOVE_MANY EQ",
			steps: []string{actionsBody(`{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"color","op":"EQ","value":"red"}]}}`)},
			want:  map[string]item{"a": {}, "c": {}}},
		{name: "REMOVE_MANY filters are AND-ed",
			steps: []string{actionsBody(`{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"color","op":"EQ","value":"red"},{"attr":"size","op":"GT","value":40}]}}`)},
			want:  map[string]item{"c": {}}},
		{name: "PATCH_MANY LT sets price and merges attributes, keeps product",
			steps: []string{actionsBody(`{"type":"PATCH_MANY","payload":{"filters":[{"attr":"size","op":"LT","value":42}],"price":7,"attributes":{"sale":true}}}`)},
			want:  map[string]item{"a": {SKU: "a", Price: price(7), Product: product("shoe"), Attributes: attrs("color", `"red"`, "size", `40`, "tag", `"x"`, "sale", `true`)}}},
		{name: "PATCH_MANY LE GE IN",
			steps: []string{
				actionsBody(`{"type":"PATCH_MANY","payload":{"filters":[{"attr":"size","op":"LE","value":42},{"attr":"size","op":"GE","value":"42"}],"attributes":{"le":1}}}`),
				actionsBody(`{"type":"PATCH_MANY","payload":{"filters":[{"attr":"size","op":"IN","value":"40, 44"}],"attributes":{"in":1}}}`),
			},
			want: map[string]item{
				"a": {SKU: "a", Price: price(10), Product: product("shoe"), Attributes: attrs("color", `"red"`, "size", `40`, "tag", `"x"`, "in", `1`)},
				"b": {SKU: "b", Price: price(20), Attributes: attrs("color", `"blue"`, "size", `42`, "le", `1`)},
				"c": {SKU: "c", Attributes: attrs("color", `"red"`, "size", `44`, "flag", `true`, "in", `1`)},
			}},
		{name: "ADD_PRICE_ADJUSTMENT sets price types; a later one replaces; null removes; a replacing ADD keeps them",
			steps: []string{
				actionsBody(`{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[` +
					`{"priceType":"member","price":9,"referenceId":"r1","effectiveFrom":"2025-01-01T00:00:00Z"},` +
					`{"priceType":"staff","price":5,"referenceId":"r2"},{"priceType":"member","price":8,"referenceId":"r3","contextId":"Summer"}]}}`),
				actionsBody(`{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[{"priceType":"staff","price":null,"referenceId":"r4"}]}}`),
				actionsBody(`{"type":"ADD","payload":{"sku":"a","replaceIfExists":true,"price":11}}`),
			},
			want: map[string]item{"a": {SKU: "a", Price: price(11), PriceAdjustments: map[string]talon.PriceAdjustment{
				"member": {PriceType: "member", Price: price(8), ReferenceID: "r3", ContextID: "Summer"}}}}},
		{name: "filters on a missing attribute match nothing",
			steps: []string{actionsBody(`{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"flag","op":"EQ","value":true}]}}`, `{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"nope","op":"IN","value":"x"}]}}`)},
			want:  map[string]item{"a": {SKU: "a", Price: price(10), Product: product("shoe"), Attributes: attrs("color", `"red"`, "size", `40`, "tag", `"x"`)}, "c": {}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, Options{})
			for _, body := range append([]string{seed}, tc.steps...) {
				a := do(t, s, http.MethodPut, catalog1Path, body)
				require.Equal(t, http.StatusOK, a.status, "body %s", a.body)
			}
			got := s.State().Catalogs[1]
			for sku, want := range tc.want {
				if want.SKU == "" {
					assert.NotContains(t, got, sku)
					continue
				}
				assert.Equal(t, want, got[sku], sku)
			}
		})
	}
}

func TestCatalogAnswer(t *testing.T) {
	s := start(t, Options{Catalogs: []int64{1, 5}})
	for want := int64(1); want <= 2; want++ {
		a := do(t, s, http.MethodPut, "/v1/catalogs/5/sync", actionsBody(fmt.Sprintf(`{"type":"ADD","payload":{"sku":"a","replaceIfExists":true,"price":%d}}`, want)))
		require.Equal(t, http.StatusOK, a.status, "body %s", a.body)
		var c talon.Catalog
		require.NoError(t, json.Unmarshal(a.body, &c))
		assert.Equal(t, int64(5), c.ID)
		assert.Equal(t, want, c.Version, "the version counts applied syncs")
	}
	assert.Empty(t, s.State().Catalogs[1], "catalogs are separate")
	assert.Len(t, s.State().Catalogs[5], 1)
}

func TestFilterMatch(t *testing.T) {
	s := &Server{}
	attrs := map[string]json.RawMessage{"n": json.RawMessage(`5`), "s": json.RawMessage(`"red"`), "b": json.RawMessage(`true`), "l": json.RawMessage(`[1,2]`)}
	tests := []struct {
		filter string
		want   bool
	}{
		{`{"attr":"n","op":"EQ","value":5}`, true},
		{`{"attr":"n","op":"EQ","value":5.0}`, true},
		{`{"attr":"n","op":"EQ","value":"5"}`, true},
		{`{"attr":"n","op":"EQ","value":6}`, false},
		{`{"attr":"s","op":"EQ","value":"red"}`, true},
		{`{"attr":"s","op":"EQ","value":"Red"}`, false},
		{`{"attr":"b","op":"EQ","value":true}`, true},
		{`{"attr":"b","op":"EQ","value":"true"}`, true},
		{`{"attr":"l","op":"EQ","value":[1,2]}`, true},
		{`{"attr":"n","op":"LT","value":6}`, true},
		{`{"attr":"n","op":"LT","value":5}`, false},
		{`{"attr":"n","op":"LE","value":5}`, true},
		{`{"attr":"n","op":"GT","value":5}`, false},
		{`{"attr":"n","op":"GT","value":"4.5"}`, true},
		{`{"attr":"n","op":"GE","value":5}`, true},
		{`{"attr":"s","op":"GE","value":0}`, false},
		{`{"attr":"s","op":"IN","value":"blue,red"}`, true},
		{`{"attr":"s","op":"IN","value":"blue, red "}`, true},
		{`{"attr":"s","op":"IN","value":"blue"}`, false},
		{`{"attr":"n","op":"IN","value":"4,5"}`, true},
		{`{"attr":"l","op":"IN","value":"1,2"}`, false},
		{`{"attr":"x","op":"EQ","value":1}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			f, errs := s.parseFilter(json.RawMessage(tc.filter), "/f")
			require.Empty(t, errs)
			assert.Equal(t, tc.want, f.match(attrs))
		})
	}
}
