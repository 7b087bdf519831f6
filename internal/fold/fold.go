// Package fold computes a key's net effect: the fewest API items that leave
// one entity key exactly as its rows would, sent one by one in file order.
//
//   - Profiles: one item. Attributes merge; the last value of each wins.
//   - Audiences: one item, the last action of the (audience, profile) pair.
//     An "add" also creates the profile when it does not exist, and a
//     "delete" does not; so of "add, delete" only the delete is sent, and a
//     profile the add would have created is not created.
//   - Catalog: a short sequence of actions, usually one, that gives the same
//     item and the same accepted or rejected outcome as the rows for every
//     state of the SKU before them, absent or present (see Catalog rules in
//     catalog.go).
//
// A Unit says which input rows each item stands for, so that a caller can
// account for every row and, when the API rejects a merged item, send its
// rows one by one instead.
package fold

import (
	"errors"

	"github.com/talonsync/talonsync/internal/talon"
)

// ErrBulk: a PATCH_MANY or REMOVE_MANY row names no key, so it has no place
// in a key's net effect.
var ErrBulk = errors.New("bulk catalog action has no key")

// Unit is one item of a key's net effect and the rows, numbered from 0 in
// the order they were added, that it stands for: rows [From, To).
//
// Rows [From, Tail) are superseded: a later row of the unit (row Tail, a
// catalog REMOVE or an ADD that replaces with a price; for audiences the
// last action) sets the key regardless of them, so neither their effect nor
// their outcome matters. Rows [Tail, To) each have the unit's outcome: when
// the API accepts the item, each of them would have been accepted sent
// alone in order; when it answers that the item conflicts with the key's
// state (a catalog 400 "item exists" or "item not found"), each of them
// would have been rejected. For profiles Tail is From: every row
// contributes attributes.
type Unit struct {
	Item           talon.Item
	From, Tail, To int
}

// Folder folds the rows of one key, added in file order, into its net
// effect. Memory does not grow with the number of rows beyond the
// attributes they set (catalog sequences that cannot be merged aside: two
// actions that cannot be one, say a REMOVE then an ADD without price, stay
// two units). Add copies what it keeps, so the caller may reuse an item's
// memory after Add returns. A Folder is not safe for concurrent use; reuse
// it for the next key after Reset.
type Folder struct {
	e       talon.Endpoint
	n       int
	key     string
	profile profileFold
	last    talon.Item // audiences
	catalog catalogFold
}

// New returns a Folder for items of endpoint e.
func New(e talon.Endpoint) *Folder { return &Folder{e: e} }

// Reset empties f for the next key.
func (f *Folder) Reset() {
	f.n, f.key = 0, ""
	f.profile.reset()
	f.last = talon.Item{}
	f.catalog.reset()
}

// Rows returns how many rows were added since the last Reset.
func (f *Folder) Rows() int { return f.n }

// Add adds the next row of the key. An error (ErrBadItem, ErrBulk) leaves
// the Folder as it was before the call.
func (f *Folder) Add(it talon.Item) error {
	switch f.e {
	case talon.EndpointProfiles:
		if err := f.profile.add(it.JSON); err != nil {
			return err
		}
	case talon.EndpointAudiences:
		f.last = talon.Item{Key: it.Key, Remove: it.Remove, JSON: append(f.last.JSON[:0], it.JSON...)}
	case talon.EndpointCatalog:
		if err := f.catalog.add(it, f.n); err != nil {
			return err
		}
	default:
		return errors.New("fold: unknown endpoint " + f.e.String())
	}
	if f.n == 0 {
		f.key = it.Key
	}
	f.n++
	return nil
}

// Units appends the net effect of the rows added so far to dst and returns
// it; nothing when no row was added. The units' JSON may be f's own
// buffer, valid until the next Add or Reset: a caller that keeps a unit
// (to send it) copies its JSON, and one that only compares it (with
// state.ValueOf) pays for no copy. Units does not change f.
func (f *Folder) Units(dst []Unit) []Unit {
	if f.n == 0 {
		return dst
	}
	switch f.e {
	case talon.EndpointProfiles:
		it := talon.Item{Key: f.key, JSON: f.profile.cur}
		return append(dst, Unit{Item: it, From: 0, Tail: 0, To: f.n})
	case talon.EndpointAudiences:
		return append(dst, Unit{Item: f.last, From: 0, Tail: f.n - 1, To: f.n})
	}
	return f.catalog.units(dst, f.key)
}

// Fold returns the net effect of one key's items, in file order, for
// endpoint e. See Folder.
func Fold(e talon.Endpoint, items []talon.Item) ([]Unit, error) {
	f := New(e)
	for _, it := range items {
		if err := f.Add(it); err != nil {
			return nil, err
		}
	}
	return f.Units(nil), nil
}
