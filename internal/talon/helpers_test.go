package talon_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
)

const testKey = talon.Secret("tk-SECRET-123")

// seen is one request as the server received it.
type seen struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

// recorder is a test server that records requests and answers each with a
// fixed status and body.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newRecorder(t *testing.T, status int, body string) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		assert.NoError(t, err)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), b})
		rec.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (r *recorder) requests() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.reqs...)
}

func newClient(t *testing.T, baseURL string, mod ...func(*talon.Config)) *talon.Client {
	t.Helper()
	cfg := talon.Config{BaseURL: baseURL, APIKey: testKey}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := talon.New(cfg)
	require.NoError(t, err)
	return c
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return string(b)
}

// The items of the golden request fixtures in testdata, encoded with the
// talon encoders as the readers encode them.
var (
	addItems = []talon.Item{
		catalogItem(talon.CatalogFields{Type: talon.ActionAdd, SKU: js(`"SKU-1"`), Price: js(`19.99`),
			Product: js(`{"name":"Shirts"}`), Attributes: js(`{"color":"red","sizes":["S","M"]}`), ReplaceIfExists: talon.TriTrue}),
		catalogItem(talon.CatalogFields{Type: talon.ActionAdd, SKU: js(`"SKU-2"`), Price: js(`5`), ReplaceIfExists: talon.TriTrue}),
	}
	patchItems = []talon.Item{catalogItem(talon.CatalogFields{Type: talon.ActionPatch, SKU: js(`"SKU-1"`),
		Product: js(`{"name":"Shirts"}`), Attributes: js(`{"stock":12}`), CreateIfNotExists: talon.TriTrue})}
	removeItems = []talon.Item{
		catalogItem(talon.CatalogFields{Type: talon.ActionRemove, SKU: js(`"SKU-1"`)}),
		catalogItem(talon.CatalogFields{Type: talon.ActionRemove, SKU: js(`"SKU-9"`)}),
	}
	patchManyItems = []talon.Item{catalogItem(talon.CatalogFields{Type: talon.ActionPatchMany,
		Filters:    js(`[{"attr":"color","op":"EQ","value":"red"},{"attr":"stock","op":"GT","value":10}]`),
		Attributes: js(`{"onSale":true}`), Price: js(`9.5`)})}
	profiles = []talon.Item{
		profileItem("cust-1", `{"Name":"Ada","Age":36,"Tags":["vip","beta"],"Joined":"2024-03-01T10:00:00Z"}`),
		profileItem("cust-2", ""),
	}
	audiences = []talon.Item{
		audienceItem(42, "cust-1", false),
		audienceItem(42, "cust-2", true),
		audienceItem(7, "cust-3", true),
	}
)

func js(s string) []byte { return []byte(s) }

func catalogItem(f talon.CatalogFields) talon.Item {
	var key string
	if f.SKU != nil {
		key = string(f.SKU[1 : len(f.SKU)-1])
	}
	return talon.Item{Key: key, Type: f.Type, Remove: f.Type == talon.ActionRemove, JSON: talon.AppendCatalogAction(nil, &f)}
}

func profileItem(id, attrs string) talon.Item {
	idJSON, _ := talon.AppendString(nil, id)
	return talon.Item{Key: id, JSON: talon.AppendCustomerProfile(nil, idJSON, js(attrs))}
}

func audienceItem(audienceID int64, id string, remove bool) talon.Item {
	idJSON, _ := talon.AppendString(nil, id)
	return talon.Item{Key: talon.MembershipKey(audienceID, id), Remove: remove,
		JSON: talon.AppendAudienceAction(nil, idJSON, audienceID, remove)}
}

// syncCatalog, updateProfiles and updateAudiences send one batch to each
// endpoint.
func syncCatalog(ctx context.Context, c *talon.Client, catalogID int64, items []talon.Item) error {
	return c.Send(ctx, talon.Batch{Endpoint: talon.EndpointCatalog, CatalogID: catalogID, Items: items})
}

func updateProfiles(ctx context.Context, c *talon.Client, items []talon.Item, silent bool) error {
	return c.Send(ctx, talon.Batch{Endpoint: talon.EndpointProfiles, Items: items, Silent: &silent})
}

func updateAudiences(ctx context.Context, c *talon.Client, items []talon.Item) error {
	return c.Send(ctx, talon.Batch{Endpoint: talon.EndpointAudiences, Items: items})
}
