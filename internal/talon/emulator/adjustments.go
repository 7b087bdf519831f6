package emulator

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/talonsync/talonsync/internal/talon"
)

// ADD_PRICE_ADJUSTMENT (beta, the "price types" feature) sets price types
// on one SKU. The spec gives its payload (AddPriceAdjustmentCatalogAction:
// sku and adjustments, each a NewPriceAdjustment) but not what the API
// does with it. The emulator assumes, and talonsync's README says so:
//   - the SKU must exist in the catalog, as for a PATCH without
//     createIfNotExists (a 400 pointing at the sku otherwise);
//   - each adjustment sets its price type on the item, a later one of the
//     same type replacing an earlier one; a null price removes the type,
//     as the spec says ("the defined price type no longer applies");
//   - an adjustment gives its price, a number or null: left out, it could
//     mean either;
//   - an empty adjustments array is refused: it would change nothing.

// adjustmentFields are the fields of a NewPriceAdjustment.
var adjustmentFields = []string{"priceType", "price", "referenceId", "calculatedAt", "effectiveFrom", "effectiveUntil", "contextId"}

// parseAdjustments checks the adjustments of an ADD_PRICE_ADJUSTMENT at
// ptr (the payload's pointer); raw is the payload's adjustments field.
func parseAdjustments(raw json.RawMessage, ok bool, ptr string) []errEntry {
	ptr += "/adjustments"
	var list []json.RawMessage
	switch {
	case !ok || string(raw) == "null":
		return []errEntry{ptrEntry("missing field", "adjustments is required for ADD_PRICE_ADJUSTMENT", ptr)}
	case json.Unmarshal(raw, &list) != nil:
		return []errEntry{ptrEntry("invalid field", "adjustments must be an array", ptr)}
	case len(list) == 0:
		return []errEntry{ptrEntry("invalid field", "adjustments is empty", ptr)}
	}
	var errs []errEntry
	for i, a := range list {
		p := ptr + "/" + strconv.Itoa(i)
		var adj talon.PriceAdjustment
		fields, e := decodeStrict(a, p, &adj, adjustmentFields...)
		if e != nil {
			errs = append(errs, e...)
			continue
		}
		if _, ok := fields["price"]; !ok {
			errs = append(errs, ptrEntry("missing field", "price is required: a number, or null to end the price type", p+"/price"))
		}
		if adj.PriceType == "" {
			errs = append(errs, ptrEntry("missing field", "priceType is required", p+"/priceType"))
		}
		if adj.ReferenceID == "" {
			errs = append(errs, ptrEntry("missing field", "referenceId is required and must not be empty", p+"/referenceId"))
		}
		for _, f := range []struct{ name, v string }{
			{"calculatedAt", adj.CalculatedAt}, {"effectiveFrom", adj.EffectiveFrom}, {"effectiveUntil", adj.EffectiveUntil},
		} {
			if _, err := time.Parse(time.RFC3339, f.v); f.v != "" && err != nil {
				errs = append(errs, ptrEntry("invalid field", f.name+" must be an RFC 3339 date-time", p+"/"+f.name))
			}
		}
	}
	return errs
}

// applyAdjustments sets the adjustments of a on item. Called with s.mu held.
func applyAdjustments(item *CatalogItem, adjs []talon.PriceAdjustment) {
	for _, adj := range adjs {
		if adj.Price == nil {
			delete(item.PriceAdjustments, adj.PriceType)
			continue
		}
		if item.PriceAdjustments == nil {
			item.PriceAdjustments = make(map[string]talon.PriceAdjustment)
		}
		item.PriceAdjustments[adj.PriceType] = adj
	}
	if len(item.PriceAdjustments) == 0 {
		item.PriceAdjustments = nil
	}
}
