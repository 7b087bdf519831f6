// Package emulator is a strict local stand-in for the Integration API: it
// serves the three endpoints talonsync writes to, syncCatalog
// (PUT /v1/catalogs/{catalogId}/sync), updateCustomerProfilesV2
// (PUT /v2/customer_profiles) and updateCustomerProfileAudiences
// (POST /v2/customer_audiences), so that the whole pipeline can run
// without Talon.One:
//
//	readers ──▶ chunker ──▶ workers ──▶ client ──▶ emulator
//
// It validates requests at least as strictly as the documented API (see
// shared/talon-api.md), applies them to an in-memory state, detects
// concurrent requests for one entity key (409), and injects latency, 429s,
// 5xx answers and connections cut after the request was applied. Inspection
// endpoints under /emulator/ need no authentication:
//
//	GET  /emulator/state   State as JSON (deterministic)
//	GET  /emulator/stats   Stats as JSON
//	POST /emulator/reset   empty the state and the counters
//	POST /emulator/save    write Options.StateFile now
//	GET  /emulator/schema  the attribute Schema as JSON
//	PUT  /emulator/schema  replace it (a body in the --schema file's shape; see SetSchema)
package emulator
