package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/metrics/metricstest"
)

// newGateway starts an in-process Pushgateway, stopped at the end of the test.
func newGateway(t *testing.T) (*metricstest.Gateway, *httptest.Server) {
	g := metricstest.NewGateway()
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, srv
}

// series turns metric families into series, as parseFile does.
func seriesOf(fams map[string]*dto.MetricFamily) map[string][]series {
	out := map[string][]series{}
	for name, mf := range fams {
		for _, m := range mf.GetMetric() {
			s := series{labels: map[string]string{}, value: m.GetGauge().GetValue()}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			out[name] = append(out[name], s)
		}
	}
	return out
}

// catalogGroup is the grouping key of successRun's pushes.
var catalogGroup = map[string]string{"job": DefaultJob, LabelEntity: "catalog", LabelTarget: "42"}

func TestPushSuccess(t *testing.T) {
	g, srv := newGateway(t)
	require.NoError(t, Push(context.Background(), PushConfig{URL: srv.URL, HTTPClient: srv.Client()}, successRun()))
	ps := g.Pushes()
	require.Len(t, ps, 1)
	assert.Equal(t, http.MethodPut, ps[0].Method)
	assert.Equal(t, catalogGroup, ps[0].Grouping)
	assert.Len(t, ps[0].Families, 7)
	for name, mf := range ps[0].Families {
		assert.Equal(t, dto.MetricType_GAUGE, mf.GetType(), name)
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				assert.NotContains(t, []string{"job", LabelEntity, LabelTarget}, l.GetName(), "grouping labels are not in the metrics")
			}
		}
	}
	fams := seriesOf(g.Group(catalogGroup))
	assert.Equal(t, 990.0, value(t, fams, NameRows, map[string]string{LabelOutcome: "delivered"}))
	assert.Equal(t, 2.0, value(t, fams, NameRequests, map[string]string{LabelClass: "429"}))
	assert.Equal(t, unix(t1), value(t, fams, NameLastSuccess, nil))
}

// TestPushFailureKeepsLastSuccess: a success, then a failure that knows no
// last success: the gateway still holds the success's timestamp, and the
// failure's exit code.
func TestPushFailureKeepsLastSuccess(t *testing.T) {
	g, srv := newGateway(t)
	cfg := PushConfig{URL: srv.URL, HTTPClient: srv.Client()}
	require.NoError(t, Push(context.Background(), cfg, successRun()))
	f := endedAt(failed(successRun()), t1.Add(24*time.Hour))
	require.NoError(t, Push(context.Background(), cfg, f))

	ps := g.Pushes()
	require.Len(t, ps, 2)
	assert.Equal(t, http.MethodPost, ps[1].Method)
	assert.NotContains(t, ps[1].Families, NameLastSuccess)
	fams := seriesOf(g.Group(catalogGroup))
	assert.Equal(t, unix(t1), value(t, fams, NameLastSuccess, nil))
	assert.Equal(t, 1.0, value(t, fams, NameExitCode, nil))
	assert.Equal(t, unix(f.End), value(t, fams, NameLastRun, nil))

	// A failure that knows its last success replaces the group with it.
	f.LastSuccess = t0
	require.NoError(t, Push(context.Background(), cfg, f))
	assert.Equal(t, http.MethodPut, g.Pushes()[2].Method)
	assert.Equal(t, unix(t0), value(t, seriesOf(g.Group(catalogGroup)), NameLastSuccess, nil))
}

func TestPushGrouping(t *testing.T) {
	g, srv := newGateway(t)
	r := successRun()
	r.Entity, r.Target = "profiles", ""
	cfg := PushConfig{URL: srv.URL + "/", Job: "nightly-crm", Grouping: map[string]string{"instance": "eu-1", "shard": "2/4", "note": "a b+c"}, HTTPClient: srv.Client()}
	require.NoError(t, Push(context.Background(), cfg, r))
	ps := g.Pushes()
	require.Len(t, ps, 1)
	assert.Equal(t, map[string]string{"job": "nightly-crm", LabelEntity: "profiles", "instance": "eu-1", "shard": "2/4", "note": "a b+c"}, ps[0].Grouping,
		"values with a slash or a space survive the client's encoding")
}

func TestPushErrors(t *testing.T) {
	g, srv := newGateway(t)
	ctx := context.Background()
	tests := []struct {
		name string
		ctx  func() context.Context
		cfg  PushConfig
		sent bool // the gateway got a request
	}{
		{name: "no url", cfg: PushConfig{}},
		{name: "job in grouping", cfg: PushConfig{URL: srv.URL, Grouping: map[string]string{"job": "x"}}},
		{name: "entity in grouping", cfg: PushConfig{URL: srv.URL, Grouping: map[string]string{LabelEntity: "x"}}},
		{name: "target in grouping", cfg: PushConfig{URL: srv.URL, Grouping: map[string]string{LabelTarget: "x"}}},
		{name: "gateway answers 500", cfg: PushConfig{URL: srv.URL, HTTPClient: srv.Client()}, sent: true},
		{name: "cancelled", cfg: PushConfig{URL: srv.URL, HTTPClient: srv.Client()}, ctx: func() context.Context {
			c, cancel := context.WithCancel(ctx)
			cancel()
			return c
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g.SetStatus(http.StatusInternalServerError)
			g.Reset()
			c := ctx
			if tc.ctx != nil {
				c = tc.ctx()
			}
			assert.Error(t, Push(c, tc.cfg, successRun()))
			assert.Equal(t, tc.sent, len(g.Pushes()) > 0)
		})
	}
}
