package talon

import "encoding/json"

// The types below are the three item shapes, and syncCatalog's answer, as
// encoding/json decodes them: the emulator decodes requests into them and
// tests check what was sent with them. talonsync itself never encodes them:
// items go on the wire as written by the encoders of encode_items.go.

// CatalogAction is one element of the "actions" array of syncCatalog.
type CatalogAction struct {
	Type    ActionType     `json:"type"`
	Payload CatalogPayload `json:"payload"`
}

// CatalogPayload is the payload of every catalog action type. Which fields
// apply depends on the type: see AppendCatalogAction.
type CatalogPayload struct {
	SKU               string                     `json:"sku,omitempty"`
	Price             *float64                   `json:"price,omitempty"`
	Attributes        map[string]json.RawMessage `json:"attributes,omitempty"`
	Product           *Product                   `json:"product,omitempty"`
	ReplaceIfExists   *bool                      `json:"replaceIfExists,omitempty"`
	CreateIfNotExists *bool                      `json:"createIfNotExists,omitempty"`
	Filters           []Filter                   `json:"filters,omitempty"`
	Adjustments       []PriceAdjustment          `json:"adjustments,omitempty"`
}

// PriceAdjustment is one element of an ADD_PRICE_ADJUSTMENT's adjustments
// (the spec's NewPriceAdjustment). A null Price ends the price type for the
// SKU.
type PriceAdjustment struct {
	PriceType      string   `json:"priceType"`
	Price          *float64 `json:"price"`
	ReferenceID    string   `json:"referenceId"`
	CalculatedAt   string   `json:"calculatedAt,omitempty"`
	EffectiveFrom  string   `json:"effectiveFrom,omitempty"`
	EffectiveUntil string   `json:"effectiveUntil,omitempty"`
	ContextID      string   `json:"contextId,omitempty"`
}

// Product is the product a catalog item belongs to.
type Product struct {
	Name string `json:"name"`
}

// Filter selects catalog items for PATCH_MANY and REMOVE_MANY.
type Filter struct {
	Attr  string          `json:"attr"`
	Op    string          `json:"op"`
	Value json.RawMessage `json:"value"`
}

// Catalog is the 200 answer of syncCatalog.
type Catalog struct {
	ID                        int64   `json:"id"`
	Created                   string  `json:"created,omitempty"`
	AccountID                 int64   `json:"accountId"`
	Modified                  string  `json:"modified,omitempty"`
	Name                      string  `json:"name"`
	Description               string  `json:"description"`
	SubscribedApplicationsIDs []int64 `json:"subscribedApplicationsIds,omitempty"`
	Version                   int64   `json:"version"`
	CreatedBy                 int64   `json:"createdBy"`
}

// CustomerProfile is one element of the "customerProfiles" array of
// updateCustomerProfilesV2.
type CustomerProfile struct {
	IntegrationID string                     `json:"integrationId"`
	Attributes    map[string]json.RawMessage `json:"attributes,omitempty"`
}

// AudienceAction is one element of the "data" array of
// updateCustomerProfileAudiences. Action is AudienceAdd or AudienceDelete.
type AudienceAction struct {
	Action               string `json:"action"`
	ProfileIntegrationID string `json:"profileIntegrationId"`
	AudienceID           int64  `json:"audienceId"`
}
