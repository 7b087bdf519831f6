package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/talonsync/talonsync/internal/talon"
)

// CatalogItem is a cart item in a catalog.
type CatalogItem struct {
	SKU        string                     `json:"sku"`
	Price      *float64                   `json:"price,omitempty"`
	Product    *talon.Product             `json:"product"`
	Attributes map[string]json.RawMessage `json:"attributes,omitempty"`
	// PriceAdjustments are the item's price types, by priceType, as the
	// last ADD_PRICE_ADJUSTMENT set them (see adjustments.go).
	PriceAdjustments map[string]talon.PriceAdjustment `json:"priceAdjustments,omitempty"`
}

// Profile is a customer profile.
type Profile struct {
	IntegrationID string                     `json:"integrationId"`
	Attributes    map[string]json.RawMessage `json:"attributes,omitempty"`
}

// State is the emulated data. Every known catalog and audience is present,
// possibly empty. Its JSON encoding is deterministic: map keys are sorted by
// encoding/json and audience members are sorted.
type State struct {
	// Catalogs maps catalog ID -> SKU -> item.
	Catalogs map[int64]map[string]CatalogItem `json:"catalogs"`
	// Profiles maps integrationId -> profile.
	Profiles map[string]Profile `json:"profiles"`
	// Audiences maps audience ID -> sorted member integrationIds.
	Audiences map[int64][]string `json:"audiences"`
}

// store is the mutable state, guarded by Server.mu.
type store struct {
	catalogs  map[int64]map[string]*CatalogItem
	profiles  map[string]*Profile
	audiences map[int64]map[string]struct{}
	history   map[string][]json.RawMessage
	versions  map[int64]int64 // applied syncs per catalog, reported as Catalog.version
}

func newStore() store {
	return store{
		catalogs:  make(map[int64]map[string]*CatalogItem),
		profiles:  make(map[string]*Profile),
		audiences: make(map[int64]map[string]struct{}),
		history:   make(map[string][]json.RawMessage),
		versions:  make(map[int64]int64),
	}
}

// catalog returns catalog id's items, creating the map.
func (st *store) catalog(id int64) map[string]*CatalogItem {
	c := st.catalogs[id]
	if c == nil {
		c = make(map[string]*CatalogItem)
		st.catalogs[id] = c
	}
	return c
}

// State returns a deep copy of the current state.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := State{
		Catalogs:  make(map[int64]map[string]CatalogItem, len(s.catalogs)),
		Profiles:  make(map[string]Profile, len(s.st.profiles)),
		Audiences: make(map[int64][]string, len(s.audiences)),
	}
	for id := range s.catalogs {
		items := make(map[string]CatalogItem, len(s.st.catalogs[id]))
		for sku, it := range s.st.catalogs[id] {
			items[sku] = copyItem(it)
		}
		out.Catalogs[id] = items
	}
	for id, p := range s.st.profiles {
		out.Profiles[id] = Profile{IntegrationID: p.IntegrationID, Attributes: copyAttrs(p.Attributes)}
	}
	for id := range s.audiences {
		out.Audiences[id] = slices.Sorted(maps.Keys(s.st.audiences[id]))
		if out.Audiences[id] == nil {
			out.Audiences[id] = []string{}
		}
	}
	return out
}

func copyItem(it *CatalogItem) CatalogItem {
	c := CatalogItem{SKU: it.SKU, Attributes: copyAttrs(it.Attributes)}
	if it.Price != nil {
		p := *it.Price
		c.Price = &p
	}
	if it.Product != nil {
		p := *it.Product
		c.Product = &p
	}
	if it.PriceAdjustments != nil {
		c.PriceAdjustments = make(map[string]talon.PriceAdjustment, len(it.PriceAdjustments))
		for k, adj := range it.PriceAdjustments {
			if adj.Price != nil {
				p := *adj.Price
				adj.Price = &p
			}
			c.PriceAdjustments[k] = adj
		}
	}
	return c
}

func copyAttrs(a map[string]json.RawMessage) map[string]json.RawMessage {
	if a == nil {
		return nil
	}
	c := make(map[string]json.RawMessage, len(a))
	for k, v := range a {
		c[k] = slices.Clone(v)
	}
	return c
}

// compactAttrs compacts the attribute values in place, so that stored values
// compare and encode the same whatever white space they came with.
func compactAttrs(a map[string]json.RawMessage) {
	for k, v := range a {
		var buf bytes.Buffer
		if json.Compact(&buf, v) == nil && buf.Len() != len(v) {
			a[k] = buf.Bytes()
		}
	}
}

// History returns the JSON of the items applied to key, oldest first, or nil
// without Options.History. Build keys with CatalogKey ("catalog/<id>/<sku>";
// the element is the whole catalog action, recorded for every item a
// PATCH_MANY or REMOVE_MANY matched), ProfileKey ("profile/<integrationId>";
// the customer profile element) and AudienceKey
// ("audience/<audienceId>/<profileIntegrationId>"; the audience action).
// Idempotent replays are not recorded; applied-then-cut requests are.
func (s *Server) History(key string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.st.history[key]
	out := make([]json.RawMessage, len(h))
	for i, v := range h {
		out[i] = slices.Clone(v)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// record appends an applied item to key's history. Called with s.mu held.
func (s *Server) record(key string, raw json.RawMessage) {
	if s.opts.History {
		s.st.history[key] = append(s.st.history[key], raw)
	}
}

// Reset empties the state, the history, the remembered idempotency keys and
// the counters. Known catalogs and audiences stay known.
func (s *Server) Reset() {
	s.mu.Lock()
	s.st = newStore()
	s.mu.Unlock()
	s.idem.reset()
	s.stats.reset()
	s.capacity.resetMax()
}

// saveIfSet saves the state to Options.StateFile when one is set.
func (s *Server) saveIfSet() error {
	if s.opts.StateFile == "" {
		return nil
	}
	return s.save(s.opts.StateFile)
}

// save writes the state atomically: a temp file in the same directory,
// fsync, rename, then fsync of the directory. The file has mode 0600.
func (s *Server) save(path string) error {
	b, err := json.Marshal(s.State())
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("save state: sync dir: %w", err)
	}
	return nil
}

// load reads a state file written by save; a missing file is no error.
// Catalogs and audiences found in it become known.
func (s *Server) load(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load state: %w", err)
	}
	var in State
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("load state %s: %w", path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := newStore()
	for id, items := range in.Catalogs {
		s.catalogs[id] = true
		c := st.catalog(id)
		for sku, it := range items {
			it.SKU = sku
			compactAttrs(it.Attributes)
			c[sku] = &it
		}
	}
	for id, p := range in.Profiles {
		p.IntegrationID = id
		compactAttrs(p.Attributes)
		st.profiles[id] = &p
	}
	for id, members := range in.Audiences {
		s.audiences[id] = true
		set := make(map[string]struct{}, len(members))
		for _, m := range members {
			set[m] = struct{}{}
		}
		st.audiences[id] = set
	}
	s.st = st
	return nil
}
