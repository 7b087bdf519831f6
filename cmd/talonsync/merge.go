package main

import (
	"github.com/talonsync/talonsync/internal/batch"
	"github.com/talonsync/talonsync/internal/fold"
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// mergeOf is how rows of one key combine on their way to the API, for the
// entities whose rows combine exactly: profiles (the attributes merge, the
// later value wins) and audiences (the later action wins). The catalog's
// rows keep their order instead.
func mergeOf(e readers.Entity) batch.MergeFunc {
	switch e {
	case readers.EntityProfiles:
		return func(into, next *talon.Item) error {
			j, err := fold.MergeProfile(nil, into.JSON, next.JSON)
			if err != nil {
				return err
			}
			into.JSON = j
			return nil
		}
	case readers.EntityAudiences:
		return func(into, next *talon.Item) error {
			*into = *next
			return nil
		}
	}
	return nil
}
