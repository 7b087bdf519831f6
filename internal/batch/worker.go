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

	"golang.org/x/time/rate"

	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// worker delivers the batches of one lane, one after another.
type worker struct {
	cfg     *Config
	ledger  *ledger
	gate    *gate
	limiter *rate.Limiter
	items   []talon.Item
}

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
		w.ledger.wouldSend(b.rows)
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w.cfg.Stats.Attempted.Add(int64(len(b.rows)))
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
			w.ledger.delivered(seg)
			continue
		}
		var apiErr *talon.APIError
		if !errors.As(err, &apiErr) || apiErr.Class != talon.ClassItem {
			return err
		}
		rest, rejected, err := w.isolate(seg, apiErr)
		if err != nil {
			return err
		}
		if rejected == 0 {
			// No pointer named a row of this request: halve it.
			if len(seg) == 1 {
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
	}
	return nil
}

// isolate rejects the rows of seg that the error's pointers name and returns
// the others, in order.
func (w *worker) isolate(seg []readers.Row, apiErr *talon.APIError) ([]readers.Row, int, error) {
	reasons := make(map[int][]string)
	for _, d := range apiErr.Details {
		if d.Index < 0 || d.Index >= len(seg) {
			continue
		}
		reasons[d.Index] = append(reasons[d.Index], detailText(apiErr, d))
	}
	if len(reasons) == 0 {
		return seg, 0, nil
	}
	rest := make([]readers.Row, 0, len(seg)-len(reasons))
	for i := range seg {
		rs, bad := reasons[i]
		if !bad {
			rest = append(rest, seg[i])
			continue
		}
		if err := w.reject(&seg[i], strings.Join(rs, "; ")); err != nil {
			return nil, 0, err
		}
	}
	return rest, len(reasons), nil
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
	if err := w.ledger.reject(r, "line "+strconv.FormatInt(r.Line, 10)+": "+reason, r.Item.JSON); err != nil {
		return err
	}
	w.cfg.Stats.APIRejected.Add(1)
	return nil
}

// send makes one request for rows, retrying transient failures.
func (w *worker) send(ctx, sendCtx context.Context, rows []readers.Row) error {
	w.items = itemsOf(rows, w.items)
	req := talon.Batch{Endpoint: w.cfg.Endpoint, CatalogID: w.cfg.CatalogID, Items: w.items, Silent: w.cfg.Silent}
	if req.Endpoint == talon.EndpointProfiles {
		req.IdempotencyKey = idempotencyKey(w.cfg.RunID, rows)
	}
	policy := w.cfg.Retry
	var last error
	for attempt := 0; attempt <= policy.MaxRetries; attempt++ {
		if attempt > 0 {
			w.cfg.Stats.Retries.Add(1)
		}
		if err := w.gate.wait(ctx, w.cfg.Now); err != nil {
			return err
		}
		if w.limiter != nil {
			if err := w.limiter.Wait(ctx); err != nil {
				return err
			}
		}
		w.cfg.Stats.Requests.Add(1)
		err := w.cfg.Sender.Send(sendCtx, req)
		if err == nil {
			return nil
		}
		if sendCtx.Err() != nil {
			return sendCtx.Err()
		}
		if talon.ClassOf(err) != talon.ClassRetryable {
			return err
		}
		last = err
		if attempt == policy.MaxRetries {
			break
		}
		var retryAfter time.Duration
		var apiErr *talon.APIError
		if errors.As(err, &apiErr) {
			retryAfter = apiErr.RetryAfter
		}
		d := policy.Backoff(attempt+1, retryAfter)
		if apiErr != nil && apiErr.Status == 429 {
			w.gate.pause(w.cfg.Now(), d)
		}
		w.cfg.Logger.Debug("retrying", "endpoint", w.cfg.Endpoint.String(), "attempt", attempt+1, "wait", d, "error", err)
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
	return &RetryError{Attempts: policy.MaxRetries + 1, Err: last}
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
