package readers

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
	"github.com/talonsync/talonsync/internal/talon/spectest"
)

// The tests in this file hold the readers to Talon.One's OpenAPI spec, as
// package spectest checks it with kin-openapi: every item a reader makes
// conforms, and every JSONL line a reader rejects is a request the spec
// refuses too, unless the case says why talonsync is stricter.

func endpoint(e Entity) talon.Endpoint {
	switch e {
	case EntityCatalog:
		return talon.EndpointCatalog
	case EntityProfiles:
		return talon.EndpointProfiles
	}
	return talon.EndpointAudiences
}

func loadSpec(t *testing.T) *spectest.Spec {
	t.Helper()
	s, err := spectest.Load()
	require.NoError(t, err)
	return s
}

// TestItemsConformToSpec: every item made from the fixtures, and from
// the conforming lines of specCases, validates against the spec.
func TestItemsConformToSpec(t *testing.T) {
	spec := loadSpec(t)
	check := func(t *testing.T, e Entity, rows []Row) {
		for _, r := range rows {
			if r.Err == nil {
				assert.NoError(t, spec.ValidateItem(context.Background(), endpoint(e), r.Item.JSON), "line %d: %s", r.Line, r.Item.JSON)
			}
		}
	}
	for _, tc := range fixtureCases {
		t.Run(tc.file, func(t *testing.T) {
			rows, err := readPath(t, fixtures+tc.file, tc.opts)
			require.NoError(t, err)
			check(t, tc.opts.Entity, rows)
		})
	}
	for _, tc := range specCases {
		if tc.want != nil {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			rows, err := readString(t, tc.line+"\n", Options{Entity: tc.e, Format: FormatJSONL, AllowBulk: true})
			require.NoError(t, err)
			require.Len(t, rows, 1)
			require.NoError(t, rows[0].Err)
			assert.Equal(t, tc.line, string(rows[0].Item.JSON), "the item is the line, as it is")
			check(t, tc.e, rows)
		})
	}
}

// specCase is one JSONL line in the API's own item shape, so that the line
// is the request item: a reader must reject it with want, and the spec
// must refuse it, unless stricter says why talonsync refuses what the spec
// allows. A nil want means the line conforms.
type specCase struct {
	name     string
	e        Entity
	line     string
	want     error
	column   string
	stricter string
}

const cat, pro, aud = EntityCatalog, EntityProfiles, EntityAudiences

var specCases = []specCase{
	// Conforming lines, passed on as they are.
	{name: "add", e: cat, line: `{"type":"ADD","payload":{"sku":"a","price":1.5,"product":{"name":"p"},"attributes":{"c":"red","n":[1,null],"l":{"x":1}},"replaceIfExists":true}}`},
	{name: "patch many", e: cat, line: `{"type":"PATCH_MANY","payload":{"filters":[{"attr":"c","op":"IN","value":"red,blue"},{"attr":"n","op":"GE","value":"4.5"}],"price":2}}`},
	{name: "price adjustment", e: cat, line: `{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[{"priceType":"member","price":9.5,"referenceId":"r1","effectiveFrom":"2025-01-01T00:00:00Z","contextId":"Summer"},{"priceType":"staff","price":null,"referenceId":"r2"}]}}`},
	{name: "escaped surrogate pair", e: pro, line: `{"integrationId":"\ud83d\ude00","attributes":{"A\u005fB":"x"}}`},
	{name: "membership", e: aud, line: `{"action":"delete","profileIntegrationId":"p","audienceId":7}`},

	// Issue 14's pass-through cases.
	{name: "product {}", e: cat, line: `{"type":"ADD","payload":{"sku":"a","product":{}}}`, want: errMissingKey, column: "product"},
	{name: "product name 5", e: cat, line: `{"type":"ADD","payload":{"sku":"a","product":{"name":5}}}`, want: errBadValue, column: "product"},
	{name: "product extra field", e: cat, line: `{"type":"ADD","payload":{"sku":"a","product":{"name":"x","extra":1}}}`, want: errUnknownField, column: "product"},
	{name: "product name twice", e: cat, line: `{"type":"ADD","payload":{"sku":"a","product":{"name":"x","name":"y"}}}`, want: errDuplicateField, column: "product"},
	{name: "filter op NE", e: cat, line: `{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"c","op":"NE","value":"x"}]}}`, want: errBadValue, column: "filters"},
	{name: "filter op lower case", e: cat, line: `{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"c","op":"eq","value":"x"}]}}`, want: errBadValue, column: "filters"},
	{name: "filter without value", e: cat, line: `{"type":"PATCH_MANY","payload":{"filters":[{"attr":"c","op":"EQ"}],"price":1}}`, want: errMissingKey, column: "filters"},
	{name: "filter value null", e: cat, line: `{"type":"PATCH_MANY","payload":{"filters":[{"attr":"c","op":"EQ","value":null}],"price":1}}`, want: errMissingKey, column: "filters"},
	{name: "filter attr 5", e: cat, line: `{"type":"REMOVE_MANY","payload":{"filters":[{"attr":5,"op":"EQ","value":"x"}]}}`, want: errBadValue, column: "filters"},
	{name: "filter extra field", e: cat, line: `{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"c","op":"EQ","value":"x","not":true}]}}`, want: errUnknownField, column: "filters"},
	{name: "filter not an object", e: cat, line: `{"type":"REMOVE_MANY","payload":{"filters":["c=x"]}}`, want: errBadValue, column: "filters"},
	{name: "duplicate attribute", e: cat, line: `{"type":"ADD","payload":{"sku":"a","attributes":{"A":1,"A":2}}}`, want: errDuplicateField, column: "attributes"},
	{name: "duplicate attribute, escaped", e: pro, line: `{"integrationId":"p","attributes":{"A":1,"\u0041":2}}`, want: errDuplicateField, column: "attributes"},
	{name: "duplicate name inside a value", e: pro, line: `{"integrationId":"p","attributes":{"Loc":{"lat":1,"lat":2}}}`, want: errDuplicateField, column: "attributes"},
	{name: "duplicate sku", e: cat, line: `{"type":"REMOVE","payload":{"sku":"a","sku":"b"}}`, want: errDuplicateField, column: "sku"},
	{name: "duplicate integrationId", e: pro, line: `{"integrationId":"a","integrationId":"b"}`, want: errDuplicateField, column: "integrationId"},
	{name: "duplicate audienceId", e: aud, line: `{"action":"add","profileIntegrationId":"p","audienceId":7,"audienceId":8}`, want: errDuplicateField, column: "audienceId"},
	{name: "attribute 1e400", e: cat, line: `{"type":"ADD","payload":{"sku":"a","attributes":{"n":1e400}}}`, want: errBadValue, column: "attributes"},
	{name: "attribute -1e400 in a list", e: pro, line: `{"integrationId":"p","attributes":{"n":[1,-1e400]}}`, want: errBadValue, column: "attributes"},
	{name: "price 1e400", e: cat, line: `{"type":"ADD","payload":{"sku":"a","price":1e400}}`, want: errBadValue, column: "price"},
	{name: "lone surrogate in an attribute", e: cat, line: `{"type":"ADD","payload":{"sku":"a","attributes":{"s":"x\ud800"}}}`, want: errBadValue, column: "attributes"},
	{name: "lone low surrogate in integrationId", e: pro, line: `{"integrationId":"\udc00"}`, want: errBadValue},
	{name: "high surrogate then a letter", e: pro, line: `{"integrationId":"\ud800\u0041"}`, want: errBadValue},
	{name: "lone surrogate in a name", e: pro, line: `{"integrationId":"p","attributes":{"L":{"\ud800":1}}}`, want: errBadValue, column: "attributes"},
	{name: "invalid UTF-8", e: pro, line: "{\"integrationId\":\"\xff\"}", want: errBadJSON},
	{name: "patch many with sku", e: cat, line: `{"type":"PATCH_MANY","payload":{"sku":"a","filters":[{"attr":"c","op":"EQ","value":"x"}],"price":1}}`, want: errNotForType, column: "sku"},
	{name: "remove many with sku", e: cat, line: `{"type":"REMOVE_MANY","payload":{"sku":"a"}}`, want: errNotForType, column: "sku"},
	{name: "remove with price", e: cat, line: `{"type":"REMOVE","payload":{"sku":"a","price":1}}`, want: errNotForType, column: "price"},
	{name: "patch with replaceIfExists", e: cat, line: `{"type":"PATCH","payload":{"sku":"a","replaceIfExists":true}}`, want: errNotForType, column: "replaceIfExists"},
	{name: "add with filters", e: cat, line: `{"type":"ADD","payload":{"sku":"a","filters":[{"attr":"c","op":"EQ","value":"x"}]}}`, want: errNotForType, column: "filters"},
	{name: "price adjustment with attributes", e: cat, line: `{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","attributes":{"c":1},"adjustments":[{"priceType":"m","price":1,"referenceId":"r"}]}}`, want: errNotForType, column: "attributes"},
	{name: "unknown action type", e: cat, line: `{"type":"UPSERT","payload":{"sku":"a"}}`, want: errUnknownAction, column: "type"},
	{name: "price adjustment without adjustments", e: cat, line: `{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a"}}`, want: errMissingKey, column: "adjustments"},
	{name: "price adjustment without referenceId", e: cat, line: `{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[{"priceType":"member","price":1}]}}`, want: errMissingKey, column: "adjustments"},
	{name: "price adjustment with an empty referenceId", e: cat, line: `{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[{"priceType":"member","price":1,"referenceId":""}]}}`, want: errBadValue, column: "adjustments"},
	{name: "price adjustment price string", e: cat, line: `{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[{"priceType":"m","price":"1","referenceId":"r"}]}}`, want: errBadValue, column: "adjustments"},
	{name: "price adjustment extra field", e: cat, line: `{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[{"priceType":"m","price":1,"referenceId":"r","currency":"EUR"}]}}`, want: errUnknownField, column: "adjustments"},
	{name: "price adjustment with a date", e: cat, line: `{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[{"priceType":"m","price":1,"referenceId":"r","effectiveFrom":"2025-01-01"}]}}`, want: errBadValue, column: "adjustments"},
	{name: "price adjustment with a one-digit hour", e: cat, line: `{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[{"priceType":"m","price":1,"referenceId":"r","calculatedAt":"2025-01-01T1:00:00Z"}]}}`, want: errBadValue, column: "adjustments"},
	{name: "price adjustment without sku", e: cat, line: `{"type":"ADD_PRICE_ADJUSTMENT","payload":{"adjustments":[{"priceType":"m","price":1,"referenceId":"r"}]}}`, want: errMissingKey, column: "sku"},
	{name: "integrationId of 1001 characters", e: pro, line: `{"integrationId":"` + strings.Repeat("x", 1001) + `"}`, want: errBadValue, column: "integrationId"},
	{name: "profile extra field", e: pro, line: `{"integrationId":"p","name":"x"}`, want: errUnknownField, column: "name"},
	{name: "membership extra field", e: aud, line: `{"action":"add","profileIntegrationId":"p","audienceId":7,"x":1}`, want: errUnknownField, column: "x"},

	// Stricter than the spec.
	{name: "attribute value null", e: cat, line: `{"type":"ADD","payload":{"sku":"a","attributes":{"c":null}}}`, want: errNullAttribute, column: "attributes",
		stricter: "attributes are free-form objects; what the API does with a null value is not documented (talonsync's decision)"},
	{name: "profile attribute value null", e: pro, line: `{"integrationId":"p","attributes":{"Age":null}}`, want: errNullAttribute, column: "attributes",
		stricter: "as above"},
	{name: "attribute name with a dash", e: pro, line: `{"integrationId":"p","attributes":{"a-b":1}}`, want: errBadValue, column: "attributes",
		stricter: "the API's attribute names match ^[A-Za-z]\\w*$; the spec's attributes are free-form"},
	{name: "filter attr not an attribute name", e: cat, line: `{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"","op":"EQ","value":"x"}]}}`, want: errBadValue, column: "filters",
		stricter: "attr names an attribute, which matches ^[A-Za-z]\\w*$"},
	{name: "LT on a word", e: cat, line: `{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"n","op":"LT","value":"x"}]}}`, want: errBadValue, column: "filters",
		stricter: "the API's guide: LT, LE, GT and GE are for numbers"},
	{name: "IN on an array", e: cat, line: `{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"n","op":"IN","value":[1,2]}]}}`, want: errBadValue, column: "filters",
		stricter: "the API's guide: IN takes comma-separated values"},
	{name: "bulk action without filters", e: cat, line: `{"type":"REMOVE_MANY","payload":{}}`, want: errBulkRefused, column: "filters",
		stricter: "it touches every item of the catalog: --allow-bulk allows it"},
	{name: "price adjustment without price", e: cat, line: `{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[{"priceType":"m","referenceId":"r"}]}}`, want: errMissingKey, column: "adjustments",
		stricter: "left out, price could mean null (end the price type) or nothing"},
	{name: "price adjustment with no adjustments", e: cat, line: `{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[]}}`, want: errMissingKey, column: "adjustments",
		stricter: "an empty list changes nothing"},
	{name: "price adjustment with an empty priceType", e: cat, line: `{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[{"priceType":"","price":1,"referenceId":"r"}]}}`, want: errBadValue, column: "adjustments",
		stricter: "a price type has a name"},
}

// TestJSONLValidation: each case is rejected with its line, its column and
// its cause, and the spec refuses the same item (or the case says why
// talonsync is stricter).
func TestJSONLValidation(t *testing.T) {
	spec := loadSpec(t)
	for _, tc := range specCases {
		if tc.want == nil {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			// Line 2, after a good line: reading goes on past a reject.
			good := map[Entity]string{cat: `{"sku":"ok"}`, pro: `{"integrationId":"ok"}`, aud: `{"profileIntegrationId":"ok","audienceId":1}`}[tc.e]
			rows, err := readString(t, good+"\n"+tc.line+"\n"+good+"\n", Options{Entity: tc.e, Format: FormatJSONL})
			require.NoError(t, err)
			require.Len(t, rows, 3)
			assert.NoError(t, rows[0].Err)
			assert.NoError(t, rows[2].Err)
			r := rows[1]
			require.Error(t, r.Err)
			assert.ErrorIs(t, r.Err, tc.want)
			var re *rowError
			require.ErrorAs(t, r.Err, &re)
			assert.Equal(t, int64(2), re.Line)
			assert.Equal(t, tc.column, re.Column, "%v", r.Err)
			checkRow(t, r)
			var record any
			assert.NoError(t, json.Unmarshal(r.Record, &record), "the reject record decodes: %s", r.Record)

			serr := spec.ValidateItem(context.Background(), endpoint(tc.e), []byte(tc.line))
			if tc.stricter != "" {
				assert.NoError(t, serr, "the spec refuses it too: it is not stricter")
			} else {
				assert.Error(t, serr, "the spec allows it: say why talonsync is stricter")
			}
		})
	}
}

// TestJSONLFlatFormChecked: the flat form gets the same checks.
func TestJSONLFlatFormChecked(t *testing.T) {
	rows, err := readString(t, `{"sku":"a","action":"PATCH_MANY","filters":[{"attr":"c","op":"EQ","value":1}]}`+"\n"+
		`{"sku":"a","action":"ADD_PRICE_ADJUSTMENT","adjustments":[{"priceType":"m","price":1,"referenceId":"r"}]}`+"\n"+
		`{"sku":"a","product":{"name":"x","x":1}}`+"\n", Options{Entity: EntityCatalog, Format: FormatJSONL})
	require.NoError(t, err)
	assert.Equal(t, []string{
		`ERR line 1: column "sku": field not taken by the action type: PATCH_MANY takes no sku (its fields: filters, price, attributes); the API would drop it`,
		`{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[{"priceType":"m","price":1,"referenceId":"r"}]}}`,
		`ERR line 3: column "product": unknown field: a product has a name only, not "x"`,
	}, summary(rows))
	assert.Equal(t, "a", rows[1].Item.Key)
	assert.Equal(t, talon.ActionAddPriceAdjustment, rows[1].Item.Type)
	assert.False(t, rows[1].Item.Remove)
}

// TestJSONLExampleConforms: the example files' items conform.
func TestJSONLExampleConforms(t *testing.T) {
	spec := loadSpec(t)
	for _, f := range []struct {
		file string
		e    Entity
	}{
		{"products.jsonl", cat}, {"profiles.jsonl", pro}, {"audiences.jsonl", aud}, {"price-adjustments.jsonl", cat},
		{"products.csv", cat}, {"profiles.csv", pro}, {"audiences.csv", aud},
	} {
		path := "../../examples/" + f.file
		if _, err := os.Stat(path); err != nil {
			continue
		}
		format, _ := FormatFromPath(path)
		rows, err := readPath(t, path, Options{Entity: f.e, Format: format, AudienceID: 1})
		require.NoError(t, err, f.file)
		for _, r := range rows {
			require.NoError(t, r.Err, "%s line %d", f.file, r.Line)
			assert.NoError(t, spec.ValidateItem(context.Background(), endpoint(f.e), r.Item.JSON), "%s line %d", f.file, r.Line)
		}
	}
}

// FuzzJSONLConformsToSpec: whatever line a reader accepts, the item it
// makes conforms to the spec.
func FuzzJSONLConformsToSpec(f *testing.F) {
	for _, tc := range specCases {
		f.Add(int(tc.e), tc.line)
	}
	f.Add(int(cat), `{"sku":"a","action":"patch","price":1,"attributes":{"A":[{"b":1}]}}`)
	f.Add(int(aud), `{"profileIntegrationId":"p","audienceId":"3","action":"REMOVE"}`)
	spec, err := spectest.Load()
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, entity int, line string) {
		e := Entity(1 + (entity%3+3)%3)
		rows, err := readString(t, line, Options{Entity: e, Format: FormatJSONL, AudienceID: 1, AllowBulk: true})
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Err == nil {
				require.NoError(t, spec.ValidateItem(context.Background(), endpoint(e), r.Item.JSON), "line %q gave %s", line, r.Item.JSON)
			}
		}
	})
}
