package talon

import (
	"slices"
	"strconv"
)

// The encoders below write the three item shapes exactly as they go on the
// wire, from parts the caller has already encoded and checked (readers
// validate input; state builds removals). Each grows dst at most once and
// allocates nothing else, so an item costs one allocation when dst is nil.

// Tri is an optional boolean of a catalog payload.
type Tri int8

// The values of a Tri. The zero Tri is TriUnset: the field is left out.
const (
	TriUnset Tri = iota
	TriFalse
	TriTrue
)

// CatalogFields are the parts of one CatalogAction. The byte slices hold
// encoded JSON and are nil when absent.
type CatalogFields struct {
	// Type is the action type; it must be one of the five (ActionType.Valid).
	Type ActionType
	// SKU is the item's sku as a JSON string: ADD, PATCH and REMOVE.
	SKU []byte
	// Price is a JSON number: ADD, PATCH and PATCH_MANY.
	Price []byte
	// Product is a JSON object {"name": ...}: ADD and PATCH.
	Product []byte
	// Attributes is a non-empty JSON object: ADD, PATCH and PATCH_MANY.
	Attributes []byte
	// Filters is a non-empty JSON array of Filter: PATCH_MANY and REMOVE_MANY.
	Filters []byte
	// Adjustments is a JSON array of NewPriceAdjustment: ADD_PRICE_ADJUSTMENT.
	Adjustments []byte
	// ReplaceIfExists applies to ADD only.
	ReplaceIfExists Tri
	// CreateIfNotExists applies to PATCH only.
	CreateIfNotExists Tri
}

// AppendCatalogAction appends f as a CatalogAction,
// {"type":"ADD","payload":{...}}, to dst and returns the extended slice. The
// payload holds, in this order, the fields f's type takes that are present:
//
//	ADD          sku, price, product, attributes, replaceIfExists
//	PATCH        sku, price, product, attributes, createIfNotExists
//	REMOVE       sku
//	PATCH_MANY   filters, price, attributes
//	REMOVE_MANY  filters
//	ADD_PRICE_ADJUSTMENT  sku, adjustments
//
// Fields the type does not take are left out. The parts are copied verbatim.
func AppendCatalogAction(dst []byte, f *CatalogFields) []byte {
	n := len(`{"type":"","payload":{}}`) + len(f.Type) +
		len(`"sku":,`) + len(f.SKU) + len(`"price":,`) + len(f.Price) +
		len(`"product":,`) + len(f.Product) + len(`"attributes":,`) + len(f.Attributes) +
		len(`"filters":,`) + len(f.Filters) + len(`"adjustments":,`) + len(f.Adjustments) +
		len(`"replaceIfExists":false,`) + len(`"createIfNotExists":false,`)
	dst = slices.Grow(dst, n)
	dst = append(dst, `{"type":"`...)
	dst = append(dst, f.Type...)
	dst = append(dst, `","payload":{`...)
	first := true
	field := func(name string, v []byte) {
		if v == nil {
			return
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, `":`...)
		dst = append(dst, v...)
	}
	switch f.Type {
	case ActionAdd:
		field("sku", f.SKU)
		field("price", f.Price)
		field("product", f.Product)
		field("attributes", f.Attributes)
		field("replaceIfExists", f.ReplaceIfExists.json())
	case ActionPatch:
		field("sku", f.SKU)
		field("price", f.Price)
		field("product", f.Product)
		field("attributes", f.Attributes)
		field("createIfNotExists", f.CreateIfNotExists.json())
	case ActionRemove:
		field("sku", f.SKU)
	case ActionPatchMany:
		field("filters", f.Filters)
		field("price", f.Price)
		field("attributes", f.Attributes)
	case ActionRemoveMany:
		field("filters", f.Filters)
	case ActionAddPriceAdjustment:
		field("sku", f.SKU)
		field("adjustments", f.Adjustments)
	}
	return append(dst, "}}"...)
}

var (
	jsonTrue  = []byte("true")
	jsonFalse = []byte("false")
)

// json returns t as a JSON boolean; nil when unset.
func (t Tri) json() []byte {
	switch t {
	case TriTrue:
		return jsonTrue
	case TriFalse:
		return jsonFalse
	}
	return nil
}

// AppendCustomerProfile appends a CustomerProfile,
// {"integrationId":...,"attributes":{...}}, to dst and returns the extended
// slice. integrationID is a JSON string; attributes a JSON object, left out
// when empty. Both are copied verbatim.
func AppendCustomerProfile(dst, integrationID, attributes []byte) []byte {
	dst = slices.Grow(dst, len(`{"integrationId":,"attributes":}`)+len(integrationID)+len(attributes))
	dst = append(dst, `{"integrationId":`...)
	dst = append(dst, integrationID...)
	if len(attributes) > 0 {
		dst = append(dst, `,"attributes":`...)
		dst = append(dst, attributes...)
	}
	return append(dst, '}')
}

// AppendAudienceAction appends an AudienceAction,
// {"action":"add","profileIntegrationId":...,"audienceId":7}, to dst and
// returns the extended slice. The action is AudienceDelete when remove is
// set, else AudienceAdd. profileIntegrationID is a JSON string, copied
// verbatim.
func AppendAudienceAction(dst, profileIntegrationID []byte, audienceID int64, remove bool) []byte {
	action := AudienceAdd
	if remove {
		action = AudienceDelete
	}
	const maxInt64Len = len("-9223372036854775808")
	dst = slices.Grow(dst, len(`{"action":"","profileIntegrationId":,"audienceId":}`)+
		len(action)+len(profileIntegrationID)+maxInt64Len)
	dst = append(dst, `{"action":"`...)
	dst = append(dst, action...)
	dst = append(dst, `","profileIntegrationId":`...)
	dst = append(dst, profileIntegrationID...)
	dst = append(dst, `,"audienceId":`...)
	dst = strconv.AppendInt(dst, audienceID, 10)
	return append(dst, '}')
}
