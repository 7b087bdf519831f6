package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeGateway is an in-process Pushgateway: PUT replaces a group's metric
// families, POST replaces only the families it sends, as the real one does.
type fakeGateway struct {
	mu     sync.Mutex
	status int // answer; 0 means 200
	pushes []pushed
	groups map[string]map[string]*dto.MetricFamily // by URL path
}

type pushed struct {
	method, path string
	families     map[string]*dto.MetricFamily
}

func newFakeGateway(t *testing.T) (*fakeGateway, *httptest.Server) {
	g := &fakeGateway{groups: map[string]map[string]*dto.MetricFamily{}}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, srv
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fams := map[string]*dto.MetricFamily{}
	dec := expfmt.NewDecoder(r.Body, expfmt.ResponseFormat(r.Header))
	for {
		mf := &dto.MetricFamily{}
		err := dec.Decode(mf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fams[mf.GetName()] = mf
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pushes = append(g.pushes, pushed{method: r.Method, path: r.URL.Path, families: fams})
	if g.status != 0 {
		http.Error(w, "injected", g.status)
		return
	}
	group := g.groups[r.URL.Path]
	switch {
	case r.Method == http.MethodPut || group == nil:
		group = map[string]*dto.MetricFamily{}
	case r.Method != http.MethodPost:
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	for name, mf := range fams {
		group[name] = mf
	}
	g.groups[r.URL.Path] = group
	w.WriteHeader(http.StatusOK)
}

func (g *fakeGateway) all() []pushed {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]pushed(nil), g.pushes...)
}

func (g *fakeGateway) group(path string) map[string][]series {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string][]series{}
	for name, mf := range g.groups[path] {
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

const catalogGroup = "/metrics/job/talonsync/entity/catalog/target/42"

func TestPushSuccess(t *testing.T) {
	g, srv := newFakeGateway(t)
	require.NoError(t, Push(context.Background(), PushConfig{URL: srv.URL, HTTPClient: srv.Client()}, successRun()))
	ps := g.all()
	require.Len(t, ps, 1)
	assert.Equal(t, http.MethodPut, ps[0].method)
	assert.Equal(t, catalogGroup, ps[0].path)
	assert.Len(t, ps[0].families, 7)
	for name, mf := range ps[0].families {
		assert.Equal(t, dto.MetricType_GAUGE, mf.GetType(), name)
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				assert.NotContains(t, []string{"job", LabelEntity, LabelTarget}, l.GetName(), "grouping labels are not in the metrics")
			}
		}
	}
	fams := g.group(catalogGroup)
	assert.Equal(t, 990.0, value(t, fams, NameRows, map[string]string{LabelOutcome: "delivered"}))
	assert.Equal(t, 2.0, value(t, fams, NameRequests, map[string]string{LabelClass: "429"}))
	assert.Equal(t, unix(t1), value(t, fams, NameLastSuccess, nil))
}

// TestPushFailureKeepsLastSuccess: a success, then a failure that knows no
// last success: the gateway still holds the success's timestamp, and the
// failure's exit code.
func TestPushFailureKeepsLastSuccess(t *testing.T) {
	g, srv := newFakeGateway(t)
	cfg := PushConfig{URL: srv.URL, HTTPClient: srv.Client()}
	require.NoError(t, Push(context.Background(), cfg, successRun()))
	f := endedAt(failed(successRun()), t1.Add(24*time.Hour))
	require.NoError(t, Push(context.Background(), cfg, f))

	ps := g.all()
	require.Len(t, ps, 2)
	assert.Equal(t, http.MethodPost, ps[1].method)
	assert.NotContains(t, ps[1].families, NameLastSuccess)
	fams := g.group(catalogGroup)
	assert.Equal(t, unix(t1), value(t, fams, NameLastSuccess, nil))
	assert.Equal(t, 1.0, value(t, fams, NameExitCode, nil))
	assert.Equal(t, unix(f.End), value(t, fams, NameLastRun, nil))

	// A failure that knows its last success replaces the group with it.
	f.LastSuccess = t0
	require.NoError(t, Push(context.Background(), cfg, f))
	assert.Equal(t, http.MethodPut, g.all()[2].method)
	assert.Equal(t, unix(t0), value(t, g.group(catalogGroup), NameLastSuccess, nil))
}

func TestPushGrouping(t *testing.T) {
	g, srv := newFakeGateway(t)
	r := successRun()
	r.Entity, r.Target = "profiles", ""
	cfg := PushConfig{URL: srv.URL + "/", Job: "nightly-crm", Grouping: map[string]string{"instance": "eu-1"}, HTTPClient: srv.Client()}
	require.NoError(t, Push(context.Background(), cfg, r))
	ps := g.all()
	require.Len(t, ps, 1)
	assert.True(t, strings.HasPrefix(ps[0].path, "/metrics/job/nightly-crm/"), ps[0].path)
	assert.Contains(t, ps[0].path, "/entity/profiles")
	assert.Contains(t, ps[0].path, "/instance/eu-1")
	assert.NotContains(t, ps[0].path, "target")
}

func TestPushErrors(t *testing.T) {
	g, srv := newFakeGateway(t)
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
			g.mu.Lock()
			g.status, g.pushes = http.StatusInternalServerError, nil
			g.mu.Unlock()
			c := ctx
			if tc.ctx != nil {
				c = tc.ctx()
			}
			assert.Error(t, Push(c, tc.cfg, successRun()))
			assert.Equal(t, tc.sent, len(g.all()) > 0)
		})
	}
}
