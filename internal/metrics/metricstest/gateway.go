// Package metricstest is an in-process Pushgateway for tests of pushes:
// it decodes each push and keeps the groups as the real one does. It is
// for _test.go files.
package metricstest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Push is one request the gateway received.
type Push struct {
	Method string
	// Grouping is the grouping key the URL names, job included, decoded.
	Grouping map[string]string
	// Families are the metric families of the body, by name.
	Families map[string]*dto.MetricFamily
}

// Gateway is an http.Handler that behaves as a Pushgateway for PUT and
// POST on /metrics/job/<job>{/<label>/<value>}: a group is identified by
// its set of grouping labels, whatever their order in the URL (the client
// writes them in map order); values may be base64url-encoded with an
// "@base64" suffix on the label name, as the client encodes values holding
// a "/" or empty ones. PUT replaces a group's metric families, POST only
// those it sends. Safe for concurrent use; the zero value is not usable,
// call NewGateway.
type Gateway struct {
	mu     sync.Mutex
	status int // the answer; 0 means 200
	pushes []Push
	groups map[string]map[string]*dto.MetricFamily // by groupKey
}

// NewGateway returns an empty gateway.
func NewGateway() *Gateway {
	return &Gateway{groups: map[string]map[string]*dto.MetricFamily{}}
}

// SetStatus makes the gateway record every later push and answer it with
// status, keeping no metrics, when status is not 0 or 200.
func (g *Gateway) SetStatus(status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.status = status
}

// Reset forgets the pushes received so far; the groups stay.
func (g *Gateway) Reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pushes = nil
}

// ServeHTTP handles one push.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	grouping, err := ParseGrouping(r.URL.EscapedPath())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		http.Error(w, "method "+r.Method+" not allowed", http.StatusMethodNotAllowed)
		return
	}
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
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if _, ok := grouping[l.GetName()]; ok {
					http.Error(w, fmt.Sprintf("metric %s has grouping label %s", mf.GetName(), l.GetName()), http.StatusBadRequest)
					return
				}
			}
		}
		fams[mf.GetName()] = mf
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pushes = append(g.pushes, Push{Method: r.Method, Grouping: grouping, Families: fams})
	if g.status != 0 && g.status != http.StatusOK {
		http.Error(w, "injected", g.status)
		return
	}
	key := groupKey(grouping)
	group := g.groups[key]
	if r.Method == http.MethodPut || group == nil {
		group = map[string]*dto.MetricFamily{}
	}
	maps.Copy(group, fams)
	g.groups[key] = group
	w.WriteHeader(http.StatusOK)
}

// Pushes returns the pushes received so far, in order.
func (g *Gateway) Pushes() []Push {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.pushes)
}

// Group returns the metric families the gateway holds for a grouping key
// (job included); nil when it holds none.
func (g *Gateway) Group(grouping map[string]string) map[string]*dto.MetricFamily {
	g.mu.Lock()
	defer g.mu.Unlock()
	group := g.groups[groupKey(grouping)]
	if group == nil {
		return nil
	}
	return maps.Clone(group)
}

// Groups returns the grouping keys of the groups the gateway holds.
func (g *Gateway) Groups() []map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []map[string]string
	for _, k := range slices.Sorted(maps.Keys(g.groups)) {
		gr, _ := ParseGrouping("/metrics/" + k)
		out = append(out, gr)
	}
	return out
}

// ParseGrouping decodes the grouping key of a push path,
// /metrics/job/<job>{/<label>/<value>}, given escaped as in the request.
func ParseGrouping(escapedPath string) (map[string]string, error) {
	rest, ok := strings.CutPrefix(escapedPath, "/metrics/")
	if !ok {
		return nil, fmt.Errorf("path %q does not start with /metrics/", escapedPath)
	}
	parts := strings.Split(rest, "/")
	if len(parts)%2 != 0 {
		return nil, fmt.Errorf("path %q has a label without a value", escapedPath)
	}
	out := make(map[string]string, len(parts)/2)
	for i := 0; i < len(parts); i += 2 {
		name, value := parts[i], parts[i+1]
		name, b64 := strings.CutSuffix(name, "@base64")
		v, err := url.PathUnescape(value)
		if err == nil && !b64 {
			v, err = url.QueryUnescape(value) // the client escapes values with url.QueryEscape
		}
		if err == nil && b64 {
			var raw []byte
			raw, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
			v = string(raw)
		}
		if err != nil {
			return nil, fmt.Errorf("path %q: label %s: %w", escapedPath, name, err)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("path %q names label %s twice", escapedPath, name)
		}
		out[name] = v
	}
	if _, ok := out["job"]; !ok || out["job"] == "" {
		return nil, fmt.Errorf("path %q has no job", escapedPath)
	}
	return out, nil
}

// groupKey is a canonical form of a grouping key: job first, the other
// labels sorted, each value base64url-encoded, so that it is also a valid
// path suffix for ParseGrouping.
func groupKey(grouping map[string]string) string {
	var b strings.Builder
	enc := func(name string) {
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		b.WriteString(name + "@base64/" + base64.RawURLEncoding.EncodeToString([]byte(grouping[name])))
		if grouping[name] == "" {
			b.WriteByte('=')
		}
	}
	enc("job")
	for _, name := range slices.Sorted(maps.Keys(grouping)) {
		if name != "job" {
			enc(name)
		}
	}
	return b.String()
}

// Value returns the value of the one gauge, counter or untyped sample of
// family name whose labels include want; ok is false when there is no such
// sample or more than one.
func Value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (v float64, ok bool) {
	n := 0
	for _, m := range fams[name].GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		n++
		switch {
		case m.Gauge != nil:
			v = m.GetGauge().GetValue()
		case m.Counter != nil:
			v = m.GetCounter().GetValue()
		default:
			v = m.GetUntyped().GetValue()
		}
	}
	return v, n == 1
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == k && l.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
