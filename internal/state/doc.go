// Package state is the state of incremental sync, kept beside the run's
// checkpoints: per entity key, the hash of the item the API last confirmed
// and the last run whose feed held the key. A Tracker connects a Store to
// one run of the pipeline:
//
//	readers ──▶ Seen ──▶ Unchanged? ──▶ chunker ──▶ workers ──▶ client
//	                                                    │
//	                     Store ◀── Delivered ◀── confirmed rows
//
// Seen marks every key the feed holds, Unchanged lets the rows whose item
// the API already holds be skipped, and Delivered records what the API
// confirmed. After the feed, Removals yields a REMOVE or delete for every
// key it no longer held (--prune, --mirror).
//
// The store is a go.etcd.io/bbolt file. bbolt is pure Go (no cgo, so the
// binary stays static and cross-compiles), keeps everything in one file,
// gives serialisable read-write transactions with many concurrent readers,
// is crash-safe (copy-on-write pages and a meta page switched only after an
// fsync, so kill -9 or a power cut leaves the last committed transaction),
// locks the file against a second writer, and is maintained by etcd, which
// runs it in production everywhere Kubernetes runs.
package state
