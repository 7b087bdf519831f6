// Package batch sends a stream of rows to the API and accounts for every
// one of them. Run owns a sync's whole lifecycle:
//
//	Source ──rows──▶ reader ──blocks──▶ chunker ──batches──▶ lane workers ──▶ Sender (talon.Client)
//	                   │                                          │
//	                   └──── ledger: rejects, counts, done rows ◀─┘──▶ checkpointer
//
// The reader registers every row in the ledger and writes parse rejects.
// The chunker routes rows to lanes by key and packs batches that obey the
// API's limits. Each lane's worker sends its batches one after another,
// retries transient failures and isolates the rows the API rejects. The
// checkpointer makes confirmed progress durable (package checkpoint holds
// the file formats), so an interrupted run resumes.
package batch

import (
	"context"

	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// Source yields input rows; *readers.Reader implements it. Next returns
// io.EOF at the end of the input. A row with Err set is rejected with
// checkpoint.SourceInput, or with the source its error's RejectSource
// method gives.
type Source interface {
	Next() (readers.Row, error)
}

// UnitSource is a Source of units instead of rows: what an incremental
// sync sends (a key's net effect, standing for several rows) or knows the
// API holds. NextUnit returns io.EOF at the end. Run reads a Source that
// implements UnitSource with NextUnit, never Next.
type UnitSource interface {
	NextUnit() (Unit, error)
}

// Unit is one item to send and the input rows it stands for, or rows that
// need no request.
type Unit struct {
	// Item is what to send: the rows' net effect. Unused when Unchanged or
	// when the unit is one rejected row.
	Item talon.Item
	// Rows are the input rows, in file order; at least one. A single row
	// with Err set is rejected. The unit is delivered, rejected or failed as
	// one; a 400 for its item sends its rows one by one instead.
	Rows []readers.Row
	// Unchanged: the API holds what the rows would send; they count as
	// unchanged, and nothing is sent.
	Unchanged bool
}

// Sender sends one request to the API. *talon.Client implements it.
type Sender interface {
	Send(ctx context.Context, b talon.Batch) error
}

// batch is a group of rows that go to the API in one request.
type batch struct {
	// lane is the lane that sends the batch; -1 for a barrier batch.
	lane int
	// typ is the catalog action type of every row; empty for other entities.
	typ talon.ActionType
	// barrier marks a batch of bulk catalog actions (PATCH_MANY,
	// REMOVE_MANY) that must be sent alone, after every earlier batch and
	// before any later one.
	barrier bool
	// rows are the batch's items in file order, one per key: no key
	// appears twice. A row may stand for several rows of its key merged
	// into one item (see merged).
	rows []readers.Row
	// merged holds, by the Seq of a row of rows whose item is a merge of
	// several input rows, those rows as they were read; nil when nothing
	// was merged.
	merged map[int64]*mergedRows
	// fence, when set, makes the batch a marker with no rows: the lane's
	// worker acknowledges it on fence once every earlier batch of the lane
	// is done.
	fence chan<- struct{}
}

// mergedRows are the input rows one item of a batch merged: the first (the
// batch's row for the key, with the item as read) and the later ones.
type mergedRows struct {
	first readers.Row
	rest  []readers.Row
}

// all returns the rows in file order.
func (m *mergedRows) all() []readers.Row {
	return append([]readers.Row{m.first}, m.rest...)
}

// MergeFunc merges the item of a later row of a key into the item of an
// earlier one, so that sending into alone has the effect of sending both in
// order (profiles: the attributes merge, the later value wins; audiences:
// the later action wins). It returns an error to leave them apart.
type MergeFunc func(into *talon.Item, next *talon.Item) error

// itemsOf collects the API items of rows into dst, reusing its storage.
func itemsOf(rows []readers.Row, dst []talon.Item) []talon.Item {
	dst = dst[:0]
	for i := range rows {
		dst = append(dst, rows[i].Item)
	}
	return dst
}
