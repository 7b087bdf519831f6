package main

import (
	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/readers"
)

// origin is what every line of the run's rejects file records about where
// its rows come from and go to, for `talonsync retry`.
func (o *syncOptions) origin(format readers.Format) checkpoint.Origin {
	og := checkpoint.Origin{Entity: o.Entity.String(), Input: o.Input, Format: format.String()}
	switch o.Entity {
	case readers.EntityCatalog:
		og.CatalogID = o.CatalogID
	case readers.EntityAudiences:
		og.AudienceID, og.Action = o.AudienceID, o.AudienceAction
	}
	return og
}
