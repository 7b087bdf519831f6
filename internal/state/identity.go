package state

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors callers match with errors.Is.
var (
	// ErrMismatch: the state file belongs to another base URL, entity,
	// catalog or audience.
	ErrMismatch = errors.New("state file belongs to another target")
	// ErrLocked: another process has the state file open for writing.
	ErrLocked = errors.New("state file is in use by another run")
)

// Identity is what a state file belongs to. A File bound to one refuses
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
	// Shard is the shard of a sharded run ("I/N"); "" when unsharded. A
	// shard's state holds only its keys, so it serves that shard only: a
	// prune with another shard's state, or an unsharded one, would remove
	// the keys of the others.
	Shard string `json:"shard,omitempty"`
}

// RunInfo describes one run that used the state file.
type RunInfo struct {
	Run       uint64    `json:"run"`
	Input     string    `json:"input,omitempty"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished,omitzero"`
	Complete  bool      `json:"complete"`
	DryRun    bool      `json:"dry_run,omitempty"`
	Read      int64     `json:"read"`
	Delivered int64     `json:"delivered"`
	Unchanged int64     `json:"unchanged"`
	Rejected  int64     `json:"rejected"`
	Pruned    int64     `json:"pruned"`
	Error     string    `json:"error,omitempty"`
}

// Options configures Open and OpenFile.
type Options struct {
	// ReadOnly opens the file for reading only; other readers may share it.
	ReadOnly bool
	// Timeout bounds the wait for another process's lock. Default 1s.
	Timeout time.Duration

	// Now is the clock of confirmation times (OpenFile only); default
	// time.Now.
	Now func() time.Time
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
	case have.Shard != want.Shard:
		return diff("shard", shardName(have.Shard), shardName(want.Shard))
	}
	return nil
}

func shardName(s string) string {
	if s == "" {
		return "none (unsharded)"
	}
	return s
}
