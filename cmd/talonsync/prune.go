package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/talonsync/talonsync/internal/batch"
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/state"
	"github.com/talonsync/talonsync/internal/talon"
)

// removeStale is the removal phase of --prune or --mirror, after a run
// that delivered its feed: the keys the state knows and the feed lacks are
// removed through the same pipeline (cfg with its own counters, the same
// rejects file), unless the feed was incomplete or the removals would be
// more than --max-prune of the known keys.
func (inc *incremental) removeStale(ctx context.Context, cfg batch.Config) error {
	if ok, why := inc.src.complete(); !ok {
		inc.pruneSkipped = why
		inc.o.log().Warn("nothing removed: " + why)
		return nil
	}
	stale, total := inc.file.CountStale()
	if stale == 0 {
		return nil
	}
	if float64(stale) > inc.o.MaxPrune*float64(total) {
		return fmt.Errorf("%w: %d of the %d known items (%.1f%%) are not in this feed, more than --max-prune %g allows; nothing was removed. Check that the feed is complete, or raise --max-prune",
			errPruneGuard, stale, total, 100*float64(stale)/float64(total), inc.o.MaxPrune)
	}
	var keys []string
	if err := inc.file.StaleKeys(func(k string) error { keys = append(keys, k); return nil }); err != nil {
		return err
	}
	if inc.o.DryRun {
		inc.wouldRemove = int64(len(keys))
		for _, k := range keys {
			if _, err := fmt.Fprintln(inc.o.io().Out, k); err != nil {
				return err
			}
		}
		return nil
	}
	inc.o.log().Info(fmt.Sprintf("removing %d of %d known items that are not in this feed", stale, total))
	cfg.Stats = &batch.Stats{}
	cfg.Merge, cfg.OnSplit, cfg.Checkpoint = nil, nil, nil
	cfg.OnDelivered = func(rows []readers.Row) error {
		for i := range rows {
			it := &rows[i].Item
			if err := inc.file.Confirm(it.Key, state.ValueOf(it.Key, *it), true); err != nil {
				return err
			}
		}
		return nil
	}
	res, err := batch.Run(ctx, &removals{inc: inc, keys: keys}, cfg)
	inc.prune = res.Counts
	return err
}

// removals is the Source of the removal phase: a catalog REMOVE or an
// audience delete for each key, a page at a time after the page's keys
// are invalidated in the state. The rows have line 0, which marks them in
// the rejects file.
type removals struct {
	inc  *incremental
	keys []string
	page []talon.Item
	seq  int64
}

func (r *removals) Next() (readers.Row, error) {
	if len(r.page) == 0 {
		if len(r.keys) == 0 {
			return readers.Row{}, io.EOF
		}
		n := min(len(r.keys), invalidateEvery)
		page := r.keys[:n]
		r.keys = r.keys[n:]
		if err := r.inc.invalidate(page...); err != nil {
			return readers.Row{}, err
		}
		for _, k := range page {
			it, err := removalItem(r.inc.o.Entity, k)
			if err != nil {
				return readers.Row{}, err
			}
			r.page = append(r.page, it)
		}
	}
	row := readers.Row{Seq: r.seq, Item: r.page[0]}
	r.page = r.page[1:]
	r.seq++
	return row, nil
}

// removalItem returns the item that removes key: a catalog REMOVE of the
// SKU, or an audience delete of the membership "audienceId/profileIntegrationId".
func removalItem(e readers.Entity, key string) (talon.Item, error) {
	switch e {
	case readers.EntityCatalog:
		sku, _ := talon.AppendString(nil, key)
		return talon.Item{Key: key, Type: talon.ActionRemove, Remove: true,
			JSON: talon.AppendCatalogAction(nil, &talon.CatalogFields{Type: talon.ActionRemove, SKU: sku})}, nil
	case readers.EntityAudiences:
		aud, id, ok := talon.SplitMembershipKey(key)
		if !ok {
			return talon.Item{}, fmt.Errorf("state: %q is not an audience membership", key)
		}
		idJSON, _ := talon.AppendString(nil, id)
		return talon.Item{Key: key, Remove: true, JSON: talon.AppendAudienceAction(nil, idJSON, aud, true)}, nil
	}
	return talon.Item{}, fmt.Errorf("state: nothing removes a key of %s", e)
}

// commit ends the state's run: what the run read and what the API
// confirmed, on every ending, failed runs included. A state in object
// storage is then uploaded; that upload's error is returned (an error
// committing the local copy is only logged: the journal keeps the run).
func (inc *incremental) commit(rep *report, runErr error) error {
	if inc == nil {
		return nil
	}
	complete, _ := inc.src.complete()
	info := state.RunInfo{
		Run: inc.run, Input: inc.o.Input, Started: inc.started.UTC(), Finished: time.Now().UTC(),
		Complete: runErr == nil && complete, DryRun: inc.o.DryRun,
		Read: rep.RunRead, Delivered: rep.Delivered, Unchanged: rep.Unchanged, Rejected: rep.Rejected,
		Pruned: rep.Pruned, Error: errText(runErr),
	}
	if err := inc.file.Commit(info, info.Complete); err != nil {
		inc.o.log().Warn(fmt.Sprintf("record the run in %s: %v", inc.o.State, err))
		return nil
	}
	if inc.bucket == nil || inc.o.DryRun {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), uploadTimeout)
	defer cancel()
	if err := inc.bucket.commit(ctx); err != nil {
		if !lostOwnership(err) {
			inc.o.log().Warn(fmt.Sprintf("record the run in %s: %v; the next run replays this one's journal from the bucket", inc.o.State, err))
		}
		return err
	}
	return nil
}

// report adds the removal phase to rep.
func (inc *incremental) report(rep *report) {
	if inc == nil {
		return
	}
	rep.Pruned = inc.prune.Delivered
	rep.PruneRejected = inc.prune.Rejected
	rep.WouldRemove = inc.wouldRemove
	rep.Batches += inc.prune.Batches
	rep.Requests += inc.prune.Requests
	rep.RequestsByClass = rep.RequestsByClass.Add(inc.prune.Answers)
	rep.Retries += inc.prune.Retries
}

// errText is err's message, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// pruneRequests is how many requests the removal phase sent; 0 without one.
func (inc *incremental) pruneRequests() int64 {
	if inc == nil {
		return 0
	}
	return inc.prune.Requests
}
