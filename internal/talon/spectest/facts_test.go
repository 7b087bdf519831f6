package spectest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSpecFacts pins what the spec says on the questions issue 14 leaves to
// a decision, so that a new copy of the spec that changes them fails here.
func TestSpecFacts(t *testing.T) {
	s := mustLoad(t)

	action, err := s.Schema("CatalogAction")
	require.NoError(t, err)
	assert.Equal(t, []any{"ADD", "PATCH", "PATCH_MANY", "REMOVE", "REMOVE_MANY", "ADD_PRICE_ADJUSTMENT"}, action.Properties["type"].Value.Enum)
	assert.Empty(t, action.Properties["payload"].Value.Properties, "the payload is a free-form object, tied to no type")
	assert.ElementsMatch(t, []string{"payload", "type"}, action.Required)

	adj, err := s.Schema("AddPriceAdjustmentCatalogAction")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"adjustments", "sku"}, adj.Required)
	assert.Contains(t, adj.Description, "Beta")
	npa, err := s.Schema("NewPriceAdjustment")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"priceType", "referenceId"}, npa.Required)
	assert.True(t, npa.Properties["price"].Value.Nullable, "a null price ends the price type for the SKU")
	assert.Equal(t, uint64(1), npa.Properties["referenceId"].Value.MinLength)
	for _, p := range []string{"calculatedAt", "effectiveFrom", "effectiveUntil"} {
		assert.Equal(t, "date-time", npa.Properties[p].Value.Format, p)
	}

	// Attribute values: every attributes object is "properties: {}, type:
	// object" with no additionalProperties, so any value, null included, is
	// allowed; the attributes object itself is not nullable.
	for name, prop := range map[string]string{
		"AddItemCatalogAction":                          "attributes",
		"PatchItemCatalogAction":                        "attributes",
		"PatchManyItemsCatalogAction":                   "attributes",
		"MultipleCustomerProfileIntegrationRequestItem": "attributes",
	} {
		sch, err := s.Schema(name)
		require.NoError(t, err)
		a := sch.Properties[prop].Value
		assert.Empty(t, a.Properties, name)
		assert.Nil(t, a.AdditionalProperties.Has, name)
		assert.Nil(t, a.AdditionalProperties.Schema, name)
		assert.False(t, a.Nullable, name)
		assert.NoError(t, a.VisitJSON(map[string]any{"A": nil}), name)
	}

	product, err := s.Schema("Product")
	require.NoError(t, err)
	assert.Equal(t, []string{"name"}, product.Required)
	assert.Len(t, product.Properties, 1)
	assert.Nil(t, product.AdditionalProperties.Has, "extra product fields are allowed by OpenAPI's default; CheckClosed refuses them")

	filter, err := s.Schema("CatalogActionFilter")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"attr", "op", "value"}, filter.Required)
	assert.Equal(t, []any{"EQ", "LT", "LE", "GT", "GE", "IN"}, filter.Properties["op"].Value.Enum)

	req, err := s.Schema("CatalogSyncRequest")
	require.NoError(t, err)
	assert.Equal(t, uint64(1000), *req.Properties["actions"].Value.MaxItems)
	for _, name := range []string{"MultipleCustomerProfileIntegrationRequest", "CustomerProfileAudienceRequest"} {
		sch, err := s.Schema(name)
		require.NoError(t, err)
		for _, p := range sch.Properties {
			assert.Nil(t, p.Value.MaxItems, "%s declares no item limit; the 1000 is in the prose", name)
		}
	}
}
