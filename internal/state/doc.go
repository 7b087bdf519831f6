// Package state is the state of incremental sync (--state): per entity key,
// what the API last confirmed, so that a run sends only the keys whose net
// effect changed.
//
// File (file.go, run.go) is a compact snapshot: 24 bytes per key in memory
// (the key's 96-bit hash, the Value of its confirmed net effect, when, and
// whether it removed the key), the key strings on disk, read only to list
// keys for prune, mirror and export. A run journals what it invalidates
// (synced before the sends it protects) and what the API confirms
// (buffered), and Commit writes the next snapshot atomically; a killed run
// is replayed by the next OpenFile. See File for the contract.
//
// Store (store.go) and Tracker (tracker.go) are the older bbolt state, kept
// until cmd/talonsync moves to File.
package state
