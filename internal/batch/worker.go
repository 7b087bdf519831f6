package batch

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/pace"
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// worker delivers the batches of one lane, one after another.
type worker struct {
	r     *run
	cfg   *Config
	items []talon.Item
	// unsent is the row count of the batch being delivered until its first
	// request is sent.
	unsent int64
}

func (r *run) newWorker() *worker { return &worker{r: r, cfg: &r.cfg} }

// deliver sends the rows of b until each is delivered or rejected. Rows the
// API rejects with a 400 are isolated: the ones its pointers name are
// rejected and the rest resent; without a pointer the rows are halved until
// the offending ones stand alone. It returns an error only when the run must
// stop (fatal answer, retries exhausted, stop or cancellation); rows not
// finished by then stay unconfirmed. Waits (backoff, pauses, the rate
// limit) end when ctx does; requests in flight run under sendCtx.
func (w *worker) deliver(ctx, sendCtx context.Context, b *batch) error {
	defer w.cfg.Stats.Batches.Add(1)
	if w.cfg.Sender == nil { // dry run
		w.r.ledger.wouldSend(b.rows)
		for _, m := range b.merged {
			w.r.ledger.wouldSend(m.rest)
		}
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// The batch's rows count as attempted once its first request goes.
	w.unsent = int64(len(b.rows))
	for _, m := range b.merged {
		w.unsent += int64(len(m.rest))
	}
	queue := [][]readers.Row{b.rows}
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		seg := queue[0]
		queue = queue[1:]
		err := w.send(ctx, sendCtx, seg)
		if err == nil {
			if w.cfg.OnDelivered != nil {
				if err := w.cfg.OnDelivered(seg); err != nil {
					return err
				}
			}
			w.r.ledger.delivered(seg)
			for i := range seg {
				if m := b.merged[seg[i].Seq]; m != nil {
					w.r.ledger.delivered(m.rest)
				}
			}
			continue
		}
		var apiErr *talon.APIError
		if !errors.As(err, &apiErr) || apiErr.Class != talon.ClassItem {
			return err
		}
		if err := w.unknownTarget(seg, apiErr); err != nil {
			return err
		}
		rest, split, rejected, err := w.isolate(b, seg, apiErr)
		if err != nil {
			return err
		}
		if rejected == 0 && len(split) == 0 {
			// No pointer named a row of this request: halve it.
			if len(seg) == 1 {
				if m := w.unmerge(b, &seg[0]); m != nil {
					queue = append(singles(m.all()), queue...)
					continue
				}
				if err := w.reject(&seg[0], apiErr.Error()); err != nil {
					return err
				}
				continue
			}
			half := len(seg) / 2
			queue = append([][]readers.Row{seg[:half], seg[half:]}, queue...)
			continue
		}
		if len(rest) > 0 {
			queue = append([][]readers.Row{rest}, queue...)
		}
		queue = append(split, queue...)
	}
	return nil
}

// unmerge takes back the rows merged into the item of row, or returns nil
// when that item stands for one row.
func (w *worker) unmerge(b *batch, row *readers.Row) *mergedRows {
	m := b.merged[row.Seq]
	if m == nil {
		return nil
	}
	delete(b.merged, row.Seq)
	if w.cfg.OnSplit != nil {
		w.cfg.OnSplit(row)
	}
	return m
}

// singles makes one segment of each row: the rows of one key, sent one
// after another in order, each alone.
func singles(rows []readers.Row) [][]readers.Row {
	out := make([][]readers.Row, len(rows))
	for i := range rows {
		out[i] = rows[i : i+1]
	}
	return out
}

// unknownTarget turns a 400 that names an item's audienceId into an
// error that stops the run: the audience does not exist, so every row
// for it would be rejected, and the cause is the command's flag or the
// file's column, not the rows.
func (w *worker) unknownTarget(seg []readers.Row, apiErr *talon.APIError) error {
	if w.cfg.Endpoint != talon.EndpointAudiences {
		return nil
	}
	for _, d := range apiErr.Details {
		if d.Field == "audienceId" && d.Index >= 0 && d.Index < len(seg) {
			id, _, _ := strings.Cut(seg[d.Index].Item.Key, "/")
			return &UnknownAudienceError{AudienceID: id, Err: apiErr}
		}
	}
	return nil
}

// isolate handles a 400 whose pointers name items of seg: an item that
// stands for one row is rejected with the reasons; an item merged from
// several rows is split back into them, to be sent one by one in order
// (split), so that only the row at fault is rejected and the others of its
// key are still delivered. It returns the other items, in order, to send
// again, and how many rows it rejected.
func (w *worker) isolate(b *batch, seg []readers.Row, apiErr *talon.APIError) (rest []readers.Row, split [][]readers.Row, rejected int, err error) {
	reasons := make(map[int][]string)
	for _, d := range apiErr.Details {
		if d.Index < 0 || d.Index >= len(seg) {
			continue
		}
		reasons[d.Index] = append(reasons[d.Index], detailText(apiErr, d))
	}
	if len(reasons) == 0 {
		return seg, nil, 0, nil
	}
	rest = make([]readers.Row, 0, len(seg)-len(reasons))
	for i := range seg {
		rs, bad := reasons[i]
		switch m := b.merged[seg[i].Seq]; {
		case !bad:
			rest = append(rest, seg[i])
		case m != nil:
			split = append(split, singles(w.unmerge(b, &seg[i]).all())...)
		default:
			if err := w.reject(&seg[i], strings.Join(rs, "; ")); err != nil {
				return nil, nil, 0, err
			}
			rejected++
		}
	}
	return rest, split, rejected, nil
}

func detailText(e *talon.APIError, d talon.ErrorDetail) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "api %d", e.Status)
	for _, s := range []string{d.Title, d.Details} {
		if s != "" {
			sb.WriteString(": ")
			sb.WriteString(s)
		}
	}
	if d.Title == "" && d.Details == "" && e.Message != "" {
		sb.WriteString(": ")
		sb.WriteString(e.Message)
	}
	if d.Field != "" {
		fmt.Fprintf(&sb, " (%s)", d.Field)
	}
	return sb.String()
}

// reject records a row the API refused, with its input line first as the
// reader's rejects have it.
func (w *worker) reject(r *readers.Row, reason string) error {
	if err := w.r.ledger.reject(r, checkpoint.SourceAPI, "line "+strconv.FormatInt(r.Line, 10)+": "+reason, r.Item.JSON); err != nil {
		return err
	}
	w.cfg.Stats.APIRejected.Add(1)
	if w.cfg.OnRejected != nil {
		w.cfg.OnRejected(r)
	}
	return nil
}

// send makes one request for rows, retrying transient failures: up to
// the retry policy's limit, or, while no request of the run has reached the
// API and the API cannot be reached at all, for Config.Unreachable.
func (w *worker) send(ctx, sendCtx context.Context, rows []readers.Row) error {
	w.items = itemsOf(rows, w.items)
	req := talon.Batch{Endpoint: w.cfg.Endpoint, CatalogID: w.cfg.CatalogID, Items: w.items, Silent: w.cfg.Silent}
	if req.Endpoint == talon.EndpointProfiles {
		req.IdempotencyKey = idempotencyKey(w.cfg.RunID, rows)
	}
	policy := w.cfg.Retry
	var unreachableSince time.Time
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			w.cfg.Stats.Retries.Add(1)
		}
		// The pacer holds the request until it may go: a free place among
		// the requests in flight, then its turn at the learned rate.
		pm, err := w.r.pacer.Acquire(ctx)
		if err != nil {
			return err
		}
		w.cfg.Stats.Requests.Add(1)
		w.cfg.Stats.Attempted.Add(w.unsent)
		w.unsent = 0
		w.cfg.Stats.InFlight.Add(1)
		err = w.cfg.Sender.Send(sendCtx, req)
		w.cfg.Stats.countAnswer(err)
		w.cfg.Stats.InFlight.Add(-1)
		// Given back at once, so that a backoff below holds no place.
		pm.Done(pace.OutcomeOf(err))
		var apiErr *talon.APIError
		if err == nil || errors.As(err, &apiErr) {
			w.r.reached.Store(true)
		}
		switch {
		case err == nil:
			return nil
		case sendCtx.Err() != nil:
			return sendCtx.Err()
		case talon.ClassOf(err) != talon.ClassRetryable:
			return err
		}
		var retryAfter time.Duration
		if apiErr != nil {
			retryAfter = apiErr.RetryAfter
		}
		d := policy.Backoff(attempt+1, retryAfter)
		if cause, ok := talon.Unreachable(err); ok && !w.r.reached.Load() {
			if unreachableSince.IsZero() {
				unreachableSince = w.cfg.Now()
			}
			left := w.cfg.Unreachable - w.cfg.Now().Sub(unreachableSince)
			if left <= 0 {
				return &UnreachableError{Host: talon.HostOf(err), Cause: cause, Err: err}
			}
			d = min(d, time.Second, left)
		} else if attempt >= policy.MaxRetries {
			return &RetryError{Attempts: attempt + 1, Err: err}
		}
		w.r.warnRetry(attempt+1, d, err)
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// idempotencyKey derives a profiles request's Idempotency-Key from its
// content: the run's ID, and each row's input line and item. A retry of the
// batch, or its re-send by a resumed run, carries the same key, so a server
// that applied it once answers from its cache. The body alone would not do:
// a file that sets A=1, then A=2, then A=1 again would have its third
// request answered from the cache of the first, unapplied. The lines tell
// those rows apart, and the run ID makes tomorrow's run of the same file
// apply again.
func idempotencyKey(runID string, rows []readers.Row) string {
	h := sha256.New()
	h.Write([]byte(runID))
	var line [8]byte
	for i := range rows {
		binary.LittleEndian.PutUint64(line[:], uint64(rows[i].Line))
		h.Write(line[:])
		h.Write(rows[i].Item.JSON)
	}
	return hex.EncodeToString(h.Sum(nil))
}
