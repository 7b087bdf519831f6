package state

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Identity is what a state file belongs to. A Store bound to one refuses
// another (ErrMismatch).
type Identity struct {
	// BaseURL is the API base URL without a trailing slash.
	BaseURL string `json:"base_url"`
	// Entity is catalog, profiles or audiences.
	Entity string `json:"entity"`
	// CatalogID is the catalog of a catalog state; 0 otherwise.
	CatalogID int64 `json:"catalog_id,omitempty"`
	// AudienceID is --audience-id of an audiences state (0 when the rows
	// name their audiences).
	AudienceID int64 `json:"audience_id,omitempty"`
}

// Bind records id as the file's identity when it has none, and otherwise
// checks that it is the same; a different one is an error wrapping
// ErrMismatch that says what differs.
func (s *Store) Bind(id Identity) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m == nil {
			return fmt.Errorf("bind state: %w", bolt.ErrBucketNotFound)
		}
		if b := m.Get(keyIdentity); b != nil {
			var have Identity
			if err := json.Unmarshal(b, &have); err != nil {
				return fmt.Errorf("read state identity: %w", err)
			}
			return have.check(id)
		}
		b, err := json.Marshal(id)
		if err != nil {
			return err
		}
		return m.Put(keyIdentity, b)
	})
}

func (have Identity) check(want Identity) error {
	diff := func(what, h, w string) error {
		return fmt.Errorf("%w: it records %s %s, this run uses %s", ErrMismatch, what, h, w)
	}
	switch {
	case have.Entity != want.Entity:
		return diff("entity", have.Entity, want.Entity)
	case have.BaseURL != want.BaseURL && have.BaseURL != "" && want.BaseURL != "":
		return diff("base URL", have.BaseURL, want.BaseURL)
	case have.CatalogID != want.CatalogID:
		return diff("catalog", fmt.Sprint(have.CatalogID), fmt.Sprint(want.CatalogID))
	case have.AudienceID != want.AudienceID:
		return diff("audience", fmt.Sprint(have.AudienceID), fmt.Sprint(want.AudienceID))
	}
	return nil
}

// Identity returns the file's identity; ok is false when it has none yet.
func (s *Store) Identity() (id Identity, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m == nil {
			return nil
		}
		b := m.Get(keyIdentity)
		if b == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(b, &id)
	})
	return id, ok, err
}
