package emulator

import (
	"strconv"
	"sync"

	"github.com/talonsync/talonsync/internal/talon"
)

// CatalogKey is the key of a catalog item in History: "catalog/<id>/<sku>".
func CatalogKey(catalogID int64, sku string) string {
	return catalogScope(catalogID) + "/" + sku
}

// ProfileKey is the key of a customer profile in History:
// "profile/<integrationId>".
func ProfileKey(integrationID string) string {
	return profileScope + "/" + integrationID
}

// AudienceKey is the key of an audience membership in History:
// "audience/" + talon.MembershipKey(audienceID, profileIntegrationID), that
// is "audience/<audienceId>/<profileIntegrationId>".
func AudienceKey(audienceID int64, profileIntegrationID string) string {
	return audienceScope + "/" + talon.MembershipKey(audienceID, profileIntegrationID)
}

const (
	profileScope  = "profile"
	audienceScope = "audience"
)

func catalogScope(catalogID int64) string {
	return "catalog/" + strconv.FormatInt(catalogID, 10)
}

// lockKey is an entity a request touches: one item of a scope, or the whole
// scope when item is "" (PATCH_MANY and REMOVE_MANY touch a whole catalog).
type lockKey struct {
	scope string
	item  string
}

func (k lockKey) String() string {
	if k.item == "" {
		return k.scope
	}
	return k.scope + "/" + k.item
}

// inflight tracks the keys of requests that are between validation and
// apply. It is safe for concurrent use.
type inflight struct {
	mu     sync.Mutex
	items  map[lockKey]struct{}
	counts map[string]int  // scope -> number of held item keys
	whole  map[string]bool // scopes held whole
}

func newInflight() inflight {
	return inflight{items: make(map[lockKey]struct{}), counts: make(map[string]int), whole: make(map[string]bool)}
}

// acquire registers all keys, or none of them if any is held by another
// request; it then returns the first conflicting key and false. keys must
// hold no duplicates (validation rejects duplicate keys in one request).
func (f *inflight) acquire(keys []lockKey) (lockKey, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		if f.whole[k.scope] {
			return k, false
		}
		if k.item == "" {
			if f.counts[k.scope] > 0 {
				return k, false
			}
		} else if _, held := f.items[k]; held {
			return k, false
		}
	}
	for _, k := range keys {
		if k.item == "" {
			f.whole[k.scope] = true
			continue
		}
		f.items[k] = struct{}{}
		f.counts[k.scope]++
	}
	return lockKey{}, true
}

// release unregisters keys acquired together.
func (f *inflight) release(keys []lockKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		if k.item == "" {
			delete(f.whole, k.scope)
			continue
		}
		delete(f.items, k)
		if f.counts[k.scope]--; f.counts[k.scope] <= 0 {
			delete(f.counts, k.scope)
		}
	}
}
