// Package talon is the last stage of a sync, the client of the three bulk
// endpoints of Talon.One's Integration API that talonsync writes to:
// syncCatalog, updateCustomerProfilesV2 and updateCustomerProfileAudiences.
//
//	readers ──▶ chunker ──▶ workers ──Batch──▶ client ──▶ Integration API
//
// Client.Send sends one Batch and classifies the answer (ClassOf) so that
// the workers know whether to retry, reject items, or stop.
//
// The package also owns the wire format. The encoders AppendCatalogAction,
// AppendCustomerProfile, AppendAudienceAction and AppendString write each
// Item once, as it goes on the wire, for the readers and for state's
// removals; a request body is the Items' JSON joined. CatalogAction,
// CustomerProfile, AudienceAction and the other decoded types are the same
// shapes as encoding/json reads them, for the emulator and the tests.
package talon
