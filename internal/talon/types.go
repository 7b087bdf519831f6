package talon

import (
	"encoding/json"
	"strconv"
)

// Endpoint names one of the three bulk endpoints talonsync writes to.
type Endpoint int

const (
	// EndpointCatalog is syncCatalog: PUT /v1/catalogs/{catalogId}/sync.
	EndpointCatalog Endpoint = iota + 1
	// EndpointProfiles is updateCustomerProfilesV2: PUT /v2/customer_profiles.
	EndpointProfiles
	// EndpointAudiences is updateCustomerProfileAudiences: POST /v2/customer_audiences.
	EndpointAudiences
)

// String returns the operation name used in the API reference.
func (e Endpoint) String() string {
	switch e {
	case EndpointCatalog:
		return "syncCatalog"
	case EndpointProfiles:
		return "updateCustomerProfilesV2"
	case EndpointAudiences:
		return "updateCustomerProfileAudiences"
	}
	return "unknown"
}

// ArrayField is the name of the JSON array that holds the request items.
func (e Endpoint) ArrayField() string {
	switch e {
	case EndpointCatalog:
		return "actions"
	case EndpointProfiles:
		return "customerProfiles"
	case EndpointAudiences:
		return "data"
	}
	return ""
}

// MaxItems is the documented limit of items in one request of any of the three endpoints.
const MaxItems = 1000

// ActionType is the type of a catalog sync action.
type ActionType string

// The catalog action types. One request holds actions of one type only.
const (
	ActionAdd        ActionType = "ADD"
	ActionPatch      ActionType = "PATCH"
	ActionRemove     ActionType = "REMOVE"
	ActionPatchMany  ActionType = "PATCH_MANY"
	ActionRemoveMany ActionType = "REMOVE_MANY"
)

// Valid reports whether t is one of the action types talonsync sends.
func (t ActionType) Valid() bool {
	switch t {
	case ActionAdd, ActionPatch, ActionRemove, ActionPatchMany, ActionRemoveMany:
		return true
	}
	return false
}

// Item is one element of a bulk request's array, already encoded as it goes
// on the wire. The pipeline moves Items instead of typed values so that a row
// is encoded once and batches are assembled by concatenation.
type Item struct {
	// Key identifies the entity the item touches: the SKU, the profile's
	// integrationId, or MembershipKey(audienceId, profileIntegrationId).
	// It is empty for PATCH_MANY and REMOVE_MANY, which name no single item.
	Key string
	// Type is the catalog action type; empty for profiles and audiences.
	Type ActionType
	// Remove reports that the item removes its key: a catalog REMOVE or an
	// audience "delete".
	Remove bool
	// JSON is the encoded element: a CatalogAction, a CustomerProfile or an
	// AudienceAction.
	JSON []byte
}

// Product is the product an item belongs to.
type Product struct {
	Name string `json:"name"`
}

// Filter selects catalog items for PATCH_MANY and REMOVE_MANY.
type Filter struct {
	Attr  string          `json:"attr"`
	Op    string          `json:"op"`
	Value json.RawMessage `json:"value"`
}

// CatalogPayload is the payload of every catalog action type. Which fields
// apply depends on the type: see the table in talon-api.md.
type CatalogPayload struct {
	SKU               string                     `json:"sku,omitempty"`
	Price             *float64                   `json:"price,omitempty"`
	Attributes        map[string]json.RawMessage `json:"attributes,omitempty"`
	Product           *Product                   `json:"product,omitempty"`
	ReplaceIfExists   *bool                      `json:"replaceIfExists,omitempty"`
	CreateIfNotExists *bool                      `json:"createIfNotExists,omitempty"`
	Filters           []Filter                   `json:"filters,omitempty"`
}

// CatalogAction is one element of CatalogSyncRequest.actions.
type CatalogAction struct {
	Type    ActionType     `json:"type"`
	Payload CatalogPayload `json:"payload"`
}

// CatalogSyncRequest is the body of syncCatalog.
type CatalogSyncRequest struct {
	Actions []CatalogAction `json:"actions"`
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

// CustomerProfile is one element of MultipleCustomerProfileIntegrationRequest.customerProfiles.
type CustomerProfile struct {
	IntegrationID string                     `json:"integrationId"`
	Attributes    map[string]json.RawMessage `json:"attributes,omitempty"`
}

// ProfilesRequest is the body of updateCustomerProfilesV2.
type ProfilesRequest struct {
	CustomerProfiles []CustomerProfile `json:"customerProfiles"`
}

// AudienceAction is one element of CustomerProfileAudienceRequest.data.
// Action is "add" or "delete" on the wire.
type AudienceAction struct {
	Action               string `json:"action"`
	ProfileIntegrationID string `json:"profileIntegrationId"`
	AudienceID           int64  `json:"audienceId"`
}

// The audience actions on the wire. Input files may say "remove"; it is sent as AudienceDelete.
const (
	AudienceAdd    = "add"
	AudienceDelete = "delete"
)

// AudiencesRequest is the body of updateCustomerProfileAudiences.
type AudiencesRequest struct {
	Data []AudienceAction `json:"data"`
}

// MembershipKey is the entity key of an audience membership.
func MembershipKey(audienceID int64, profileIntegrationID string) string {
	return strconv.FormatInt(audienceID, 10) + "/" + profileIntegrationID
}
