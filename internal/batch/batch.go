// Package batch turns a stream of rows into API requests: the Chunker packs
// rows into batches per lane, lane workers send them with retries and isolate
// the rows the API rejects, and the Ledger and Checkpointer record what is
// confirmed so an interrupted run can resume.
//
//	readers.Row ──▶ Chunker ──▶ lane workers ──▶ Sender (talon.Client)
//	                                 │
//	                  Ledger ◀───────┘──▶ Checkpointer
package batch

import (
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// Batch is a group of rows that go to the API in one request.
type Batch struct {
	// Lane is the lane that sends the batch; -1 for a barrier batch.
	Lane int
	// Type is the catalog action type of every row; empty for other entities.
	Type talon.ActionType
	// Barrier marks a batch of bulk catalog actions (PATCH_MANY, REMOVE_MANY)
	// that must be sent alone, after every earlier batch and before any later one.
	Barrier bool
	// Rows are the batch's rows in file order. No key appears twice.
	Rows []readers.Row
}

// itemsOf collects the API items of rows into dst, reusing its storage.
func itemsOf(rows []readers.Row, dst []talon.Item) []talon.Item {
	dst = dst[:0]
	for i := range rows {
		dst = append(dst, rows[i].Item)
	}
	return dst
}
