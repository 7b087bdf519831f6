package talon

import (
	"strconv"
	"strings"
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
	// ActionAddPriceAdjustment sets price types on one SKU. It is beta: the
	// API takes it only when Talon.One enabled the price types feature for
	// the Application.
	ActionAddPriceAdjustment ActionType = "ADD_PRICE_ADJUSTMENT"
)

// Valid reports whether t is one of the action types talonsync sends.
func (t ActionType) Valid() bool {
	switch t {
	case ActionAdd, ActionPatch, ActionRemove, ActionPatchMany, ActionRemoveMany, ActionAddPriceAdjustment:
		return true
	}
	return false
}

// Item is one element of a bulk request's array, already encoded as it goes
// on the wire, with what the pipeline needs to know about it so that no stage
// decodes JSON that was already encoded. The pipeline moves Items instead of
// typed values so that a row is encoded once and batches are assembled by
// concatenation.
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
	// JSON is the encoded element, exactly as it goes on the wire: a
	// CatalogAction, a CustomerProfile or an AudienceAction, as written by
	// AppendCatalogAction, AppendCustomerProfile or AppendAudienceAction.
	JSON []byte
}

// The audience actions on the wire. Input files may say "remove"; it is sent as AudienceDelete.
const (
	AudienceAdd    = "add"
	AudienceDelete = "delete"
)

// MembershipKey is the entity key of an audience membership.
func MembershipKey(audienceID int64, profileIntegrationID string) string {
	return strconv.FormatInt(audienceID, 10) + "/" + profileIntegrationID
}

// SplitMembershipKey returns the audience and profile of a MembershipKey;
// ok is false for a key that is not one.
func SplitMembershipKey(key string) (audienceID int64, profileIntegrationID string, ok bool) {
	aud, id, found := strings.Cut(key, "/")
	n, err := strconv.ParseInt(aud, 10, 64)
	if !found || err != nil || n <= 0 {
		return 0, "", false
	}
	return n, id, true
}
