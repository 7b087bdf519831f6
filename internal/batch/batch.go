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
	// rows are the batch's rows in file order. No key appears twice.
	rows []readers.Row
	// fence, when set, makes the batch a marker with no rows: the lane's
	// worker acknowledges it on fence once every earlier batch of the lane
	// is done.
	fence chan<- struct{}
}

// itemsOf collects the API items of rows into dst, reusing its storage.
func itemsOf(rows []readers.Row, dst []talon.Item) []talon.Item {
	dst = dst[:0]
	for i := range rows {
		dst = append(dst, rows[i].Item)
	}
	return dst
}
