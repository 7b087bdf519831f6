package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/push"
)

// defaultPushTimeout bounds a push when PushConfig.HTTPClient is nil.
const defaultPushTimeout = 30 * time.Second

// DefaultJob is the job label of a push when PushConfig.Job is empty.
const DefaultJob = "talonsync"

// PushConfig says where and how to push.
type PushConfig struct {
	// URL is the Pushgateway's base URL, e.g. http://pushgateway:9091.
	URL string
	// Job is the job label; default DefaultJob.
	Job string
	// Grouping holds grouping labels besides job, entity and target, e.g.
	// {"instance": "nightly"}. It must not name job, entity or target.
	Grouping map[string]string
	// HTTPClient sends the push; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
}

// Push sends r's metrics to a Pushgateway, grouped by job, entity, target
// (when set) and PushConfig.Grouping; the metrics themselves then carry no
// entity or target label, since a Pushgateway adds the grouping labels.
//
// A successful run, or one whose LastSuccess is known, replaces the group
// (HTTP PUT). A failed run with no known last success updates it (HTTP
// POST) without the last-success gauge, so the gateway keeps the value
// the last successful run pushed. Push returns an error for a bad config,
// a transport error, ctx's error, or an answer other than 200 or 202.
func Push(ctx context.Context, cfg PushConfig, r Run) error {
	if cfg.URL == "" {
		return errors.New("metrics: push: no pushgateway url")
	}
	job := cfg.Job
	if job == "" {
		job = DefaultJob
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultPushTimeout}
	}
	full := r.Success || !r.LastSuccess.IsZero()
	p := push.New(cfg.URL, job).Client(hc).Gatherer(registry(r, false, full)).Grouping(LabelEntity, r.Entity)
	if r.Target != "" {
		p = p.Grouping(LabelTarget, r.Target)
	}
	for name, v := range cfg.Grouping {
		switch name {
		case "job", LabelEntity, LabelTarget:
			return fmt.Errorf("metrics: push: grouping label %q is set by talonsync", name)
		}
		p = p.Grouping(name, v)
	}
	var err error
	if full {
		err = p.PushContext(ctx)
	} else {
		err = p.AddContext(ctx)
	}
	if err != nil {
		return fmt.Errorf("metrics: push to %s: %w", cfg.URL, err)
	}
	return nil
}
