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
// A run, with internal/group and internal/fold:
//
//	f, _ := state.OpenFile(path, state.Options{}) // lock, load, replay
//	f.Bind(identity)
//	f.Begin()
//	// group pass: every row with a key into a group.Spool, with
//	// Hash: state.KeyHash(key)
//	for g.NextKey() { // keys in the state's order
//		fold the key's records; v := state.ValueOf(key, unit items...)
//		switch f.Compare(key, v, now.Add(-refreshAfter)) {
//		case state.KeyUnchanged: // send nothing (a full run: as KeyRefresh)
//		case state.KeyChanged, state.KeyRefresh: // f.Invalidate it with
//			// the batch's other such keys (one sync), then send
//		case state.KeyNew: // send
//		}
//	}
//	// when every unit of a key was delivered: f.Confirm(key, v, removes)
//	// prune or mirror: f.CountStale, f.StaleKeys; Invalidate, remove,
//	// Confirm(key, removal's Value, true)
//	f.Commit(info, complete) // after a failed run too
//
// Store (store.go) and Tracker (tracker.go) are the older bbolt state, kept
// until cmd/talonsync moves to File; with hash.go and bitset.go they can
// then be deleted.
package state
