package emulator

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/talonsync/talonsync/internal/talon"
)

// catalogPayloadFields are the payload fields each action type accepts;
// anything else (say replaceIfExists on a PATCH) is a client bug and a 400.
var catalogPayloadFields = map[talon.ActionType][]string{
	talon.ActionAdd:        {"sku", "price", "attributes", "product", "replaceIfExists"},
	talon.ActionPatch:      {"sku", "price", "attributes", "product", "createIfNotExists"},
	talon.ActionRemove:     {"sku"},
	talon.ActionPatchMany:  {"filters", "attributes", "price"},
	talon.ActionRemoveMany: {"filters"},
	// adjustments.go
	talon.ActionAddPriceAdjustment: {"sku", "adjustments"},
}

// catalogAction is a validated element of a sync request.
type catalogAction struct {
	i       int
	raw     json.RawMessage
	typ     talon.ActionType
	p       talon.CatalogPayload
	filters []filter
}

func (a *catalogAction) ptr() string { return itemPtr("actions", a.i) }

// serveCatalog serves syncCatalog for a known catalog.
func (s *Server) serveCatalog(w http.ResponseWriter, r *http.Request, catalogID int64, body []byte) {
	elems, aerr := splitArray(body, "actions", "version")
	if aerr != nil {
		s.fail(w, r, aerr)
		return
	}
	s.stats.received.Add(int64(len(elems)))
	actions, errs := s.parseCatalog(elems)
	if len(errs) > 0 {
		s.fail(w, r, badRequest(errs))
		return
	}
	scope := catalogScope(catalogID)
	var keys []lockKey
	whole := false
	for _, a := range actions {
		switch {
		case a.p.SKU != "":
			keys = append(keys, lockKey{scope: scope, item: a.p.SKU})
		case !whole:
			keys, whole = append(keys, lockKey{scope: scope}), true
		}
	}
	s.run(w, r, job{items: len(actions), keys: keys, apply: func() (int, []byte, *apiError) {
		return s.applyCatalog(catalogID, actions)
	}})
}

// parseCatalog checks everything about the actions that does not depend on
// the state, and reports every offending action.
func (s *Server) parseCatalog(elems []json.RawMessage) ([]catalogAction, []errEntry) {
	var (
		errs    []errEntry
		actions = make([]catalogAction, 0, len(elems))
		first   talon.ActionType
		skus    = make(map[string]int)
	)
	for i, raw := range elems {
		ptr := itemPtr("actions", i)
		var head struct {
			Type    talon.ActionType `json:"type"`
			Payload json.RawMessage  `json:"payload"`
		}
		if _, e := decodeStrict(raw, ptr, &head, "type", "payload"); e != nil {
			errs = append(errs, e...)
			continue
		}
		if !head.Type.Valid() {
			errs = append(errs, ptrEntry("invalid action type", fmt.Sprintf("unknown action type %q", head.Type), ptr+"/type"))
			continue
		}
		if first == "" {
			first = head.Type
		} else if head.Type != first {
			errs = append(errs, ptrEntry("mixed action types", fmt.Sprintf("a request holds one action type; this is %s, the first action is %s", head.Type, first), ptr+"/type"))
			continue
		}
		if len(head.Payload) == 0 || string(head.Payload) == "null" {
			errs = append(errs, ptrEntry("missing field", "payload is required", ptr+"/payload"))
			continue
		}
		a := catalogAction{i: i, raw: raw, typ: head.Type}
		e := s.parsePayload(&a, head.Payload)
		if e == nil && a.p.SKU != "" {
			if j, dup := skus[a.p.SKU]; dup {
				e = []errEntry{ptrEntry("duplicate SKU", fmt.Sprintf("SKU %q also appears at /actions/%d; a request may name a SKU once", a.p.SKU, j), ptr+"/payload/sku")}
			} else {
				skus[a.p.SKU] = i
			}
		}
		if e != nil {
			errs = append(errs, e...)
			continue
		}
		actions = append(actions, a)
	}
	return actions, errs
}

// parsePayload decodes and checks one action's payload into a.
func (s *Server) parsePayload(a *catalogAction, raw json.RawMessage) []errEntry {
	ptr := a.ptr() + "/payload"
	if a.typ == talon.ActionAddPriceAdjustment {
		// Each adjustment first, so that a fault in one points at it.
		var fields map[string]json.RawMessage
		if json.Unmarshal(raw, &fields) == nil && fields != nil {
			adj, ok := fields["adjustments"]
			if errs := parseAdjustments(adj, ok, ptr); errs != nil {
				return errs
			}
		}
	}
	fields, errs := decodeStrict(raw, ptr, &a.p, catalogPayloadFields[a.typ]...)
	if errs != nil {
		return errs
	}
	switch a.typ {
	case talon.ActionAdd, talon.ActionPatch, talon.ActionRemove, talon.ActionAddPriceAdjustment:
		if a.p.SKU == "" {
			return []errEntry{ptrEntry("missing field", "sku is required for "+string(a.typ), ptr+"/sku")}
		}
	}
	if a.typ == talon.ActionAddPriceAdjustment {
		return nil
	}
	if pr, ok := fields["product"]; ok && string(pr) != "null" {
		if _, e := decodeStrict(pr, ptr+"/product", &talon.Product{}, "name"); e != nil {
			return e
		}
	}
	if fr, ok := fields["filters"]; ok && string(fr) != "null" {
		var list []json.RawMessage
		if err := json.Unmarshal(fr, &list); err != nil {
			return []errEntry{ptrEntry("invalid field", "filters must be an array", ptr+"/filters")}
		}
		for j, f := range list {
			fl, e := s.parseFilter(f, ptr+"/filters/"+strconv.Itoa(j))
			if e != nil {
				errs = append(errs, e...)
				continue
			}
			a.filters = append(a.filters, fl)
		}
	}
	errs = append(errs, s.currentSchema().checkAttrs(SchemaCatalog, a.p.Attributes, ptr+"/attributes")...)
	compactAttrs(a.p.Attributes)
	return errs
}

// applyCatalog applies validated actions, or none of them when one of them
// conflicts with the state. Called with s.mu held.
//
// REMOVE of a SKU that does not exist is accepted as a no-op: the API
// reference is silent, and a re-sent batch whose first attempt was applied
// must not fail.
func (s *Server) applyCatalog(catalogID int64, actions []catalogAction) (int, []byte, *apiError) {
	items := s.st.catalog(catalogID)
	var errs []errEntry
	for _, a := range actions {
		_, exists := items[a.p.SKU]
		switch {
		case a.typ == talon.ActionAdd && exists && !isTrue(a.p.ReplaceIfExists):
			errs = append(errs, ptrEntry("item exists", fmt.Sprintf("SKU %q already exists in catalog %d; set replaceIfExists to replace it", a.p.SKU, catalogID), a.ptr()+"/payload/sku"))
		case a.typ == talon.ActionPatch && !exists && !isTrue(a.p.CreateIfNotExists):
			errs = append(errs, ptrEntry("item not found", fmt.Sprintf("SKU %q does not exist in catalog %d; set createIfNotExists to create it", a.p.SKU, catalogID), a.ptr()+"/payload/sku"))
		case a.typ == talon.ActionAddPriceAdjustment && !exists:
			errs = append(errs, ptrEntry("item not found", fmt.Sprintf("SKU %q does not exist in catalog %d; add it before its price adjustments", a.p.SKU, catalogID), a.ptr()+"/payload/sku"))
		}
	}
	if len(errs) > 0 {
		return 0, nil, badRequest(errs)
	}
	for _, a := range actions {
		s.applyAction(catalogID, items, a)
	}
	s.st.versions[catalogID]++
	now := time.Now().UTC().Format(time.RFC3339)
	body, _ := json.Marshal(talon.Catalog{
		ID:          catalogID,
		Created:     s.created.Format(time.RFC3339),
		AccountID:   1,
		Modified:    now,
		Name:        "catalog-" + strconv.FormatInt(catalogID, 10),
		Description: "emulated catalog",
		Version:     s.st.versions[catalogID],
		CreatedBy:   1,
	})
	return http.StatusOK, body, nil
}

// applyAction applies one action. Called with s.mu held.
//
// As documented: a PATCH, or an ADD that replaces, keeps the old price when
// it leaves price out, and sets product to null when it leaves product out.
// An ADD that replaces replaces the attributes; a PATCH merges them.
// PATCH_MANY has no product field and leaves products alone.
func (s *Server) applyAction(catalogID int64, items map[string]*CatalogItem, a catalogAction) {
	p := a.p
	switch a.typ {
	case talon.ActionAdd, talon.ActionPatch:
		old := items[p.SKU]
		it := &CatalogItem{SKU: p.SKU, Price: p.Price, Product: p.Product, Attributes: p.Attributes}
		if old != nil {
			it.PriceAdjustments = old.PriceAdjustments
			if p.Price == nil {
				it.Price = old.Price
			}
			if a.typ == talon.ActionPatch {
				it.Attributes = mergeAttrs(old.Attributes, p.Attributes)
			}
		}
		items[p.SKU] = it
		s.record(CatalogKey(catalogID, p.SKU), a.raw)
	case talon.ActionRemove:
		delete(items, p.SKU)
		s.record(CatalogKey(catalogID, p.SKU), a.raw)
	case talon.ActionAddPriceAdjustment:
		applyAdjustments(items[p.SKU], p.Adjustments)
		s.record(CatalogKey(catalogID, p.SKU), a.raw)
	case talon.ActionPatchMany, talon.ActionRemoveMany:
		// Sorted so that the history of a multi-item action is deterministic.
		for _, sku := range slices.Sorted(maps.Keys(items)) {
			it := items[sku]
			if !matchAll(it.Attributes, a.filters) {
				continue
			}
			if a.typ == talon.ActionRemoveMany {
				delete(items, sku)
			} else {
				it.Attributes = mergeAttrs(it.Attributes, p.Attributes)
				if p.Price != nil {
					price := *p.Price
					it.Price = &price
				}
			}
			s.record(CatalogKey(catalogID, sku), a.raw)
		}
	}
}

// mergeAttrs sets the given attributes on old and keeps the others.
func mergeAttrs(old, given map[string]json.RawMessage) map[string]json.RawMessage {
	if len(given) == 0 {
		return old
	}
	if old == nil {
		old = make(map[string]json.RawMessage, len(given))
	}
	for k, v := range given {
		old[k] = v
	}
	return old
}

func isTrue(b *bool) bool { return b != nil && *b }
