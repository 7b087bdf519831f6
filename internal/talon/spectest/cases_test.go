package spectest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
)

// itemCase is one array element and the checks that must find it; an empty
// want means it conforms.
type itemCase struct {
	name string
	ep   talon.Endpoint
	item string
	want []Check
	// ptr, when set, is the pointer at least one problem must name.
	ptr string
}

const (
	cat = talon.EndpointCatalog
	pro = talon.EndpointProfiles
	aud = talon.EndpointAudiences
)

// itemCases holds the pass-through cases of issue 14 and their neighbours.
// Each says which check catches it: CheckSpec means kin-openapi against the
// vendor's schemas; CheckJSON and CheckClosed are what no schema validator
// catches, so the hand-written validators must.
var itemCases = []itemCase{
	// Conforming items.
	{name: "add", ep: cat, item: `{"type":"ADD","payload":{"sku":"a","price":1.5,"attributes":{"c":"red","n":[1,2]},"product":{"name":"p"},"replaceIfExists":true}}`},
	{name: "patch", ep: cat, item: `{"type":"PATCH","payload":{"sku":"a","createIfNotExists":true}}`},
	{name: "remove", ep: cat, item: `{"type":"REMOVE","payload":{"sku":"a"}}`},
	{name: "patch many", ep: cat, item: `{"type":"PATCH_MANY","payload":{"filters":[{"attr":"c","op":"IN","value":"red,blue"}],"price":2}}`},
	{name: "remove many without filters", ep: cat, item: `{"type":"REMOVE_MANY","payload":{}}`},
	{name: "add price adjustment", ep: cat, item: `{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[{"priceType":"member","price":9.5,"referenceId":"r1","effectiveFrom":"2025-01-01T00:00:00Z"}]}}`},
	{name: "price adjustment with null price", ep: cat, item: `{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[{"priceType":"member","price":null,"referenceId":"r1"}]}}`},
	{name: "attribute value null", ep: cat, item: `{"type":"ADD","payload":{"sku":"a","attributes":{"c":null}}}`},
	{name: "profile attribute value null", ep: pro, item: `{"integrationId":"p","attributes":{"Age":null}}`},
	{name: "profile", ep: pro, item: `{"integrationId":"p","attributes":{"Age":3,"Tags":["a"]}}`},
	{name: "membership", ep: aud, item: `{"action":"delete","profileIntegrationId":"p","audienceId":7}`},
	{name: "escaped surrogate pair", ep: pro, item: `{"integrationId":"\ud83d\ude00"}`},

	// The pass-through cases.
	{name: "product {}", ep: cat, item: `{"type":"ADD","payload":{"sku":"a","product":{}}}`, want: []Check{CheckSpec}, ptr: "/actions/0/payload/product/name"},
	{name: "product name 5", ep: cat, item: `{"type":"ADD","payload":{"sku":"a","product":{"name":5}}}`, want: []Check{CheckSpec}, ptr: "/actions/0/payload/product/name"},
	{name: "product extra field", ep: cat, item: `{"type":"ADD","payload":{"sku":"a","product":{"name":"x","extra":1}}}`, want: []Check{CheckClosed}, ptr: "/actions/0/payload/product/extra"},
	{name: "filter op NE", ep: cat, item: `{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"c","op":"NE","value":"x"}]}}`, want: []Check{CheckSpec}, ptr: "/actions/0/payload/filters/0/op"},
	{name: "filter op lower case", ep: cat, item: `{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"c","op":"eq","value":"x"}]}}`, want: []Check{CheckSpec}},
	{name: "filter without value", ep: cat, item: `{"type":"PATCH_MANY","payload":{"filters":[{"attr":"c","op":"EQ"}],"price":1}}`, want: []Check{CheckSpec}, ptr: "/actions/0/payload/filters/0/value"},
	{name: "filter value null", ep: cat, item: `{"type":"PATCH_MANY","payload":{"filters":[{"attr":"c","op":"EQ","value":null}],"price":1}}`, want: []Check{CheckSpec}},
	{name: "filter attr 5", ep: cat, item: `{"type":"REMOVE_MANY","payload":{"filters":[{"attr":5,"op":"EQ","value":"x"}]}}`, want: []Check{CheckSpec}, ptr: "/actions/0/payload/filters/0/attr"},
	{name: "filter extra field", ep: cat, item: `{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"c","op":"EQ","value":"x","not":true}]}}`, want: []Check{CheckClosed}},
	{name: "duplicate attribute", ep: cat, item: `{"type":"ADD","payload":{"sku":"a","attributes":{"A":1,"A":2}}}`, want: []Check{CheckJSON}, ptr: "/actions/0/payload/attributes/A"},
	{name: "duplicate profile attribute", ep: pro, item: `{"integrationId":"p","attributes":{"A":1,"A":2}}`, want: []Check{CheckJSON}},
	{name: "duplicate sku", ep: cat, item: `{"type":"REMOVE","payload":{"sku":"a","sku":"b"}}`, want: []Check{CheckJSON}},
	{name: "attribute 1e400", ep: cat, item: `{"type":"ADD","payload":{"sku":"a","attributes":{"n":1e400}}}`, want: []Check{CheckJSON}, ptr: "/actions/0/payload/attributes/n"},
	{name: "profile attribute -1e400", ep: pro, item: `{"integrationId":"p","attributes":{"n":-1e400}}`, want: []Check{CheckJSON}},
	{name: "price 1e400", ep: cat, item: `{"type":"ADD","payload":{"sku":"a","price":1e400}}`, want: []Check{CheckSpec, CheckJSON}},
	{name: "lone surrogate in attribute", ep: cat, item: `{"type":"ADD","payload":{"sku":"a","attributes":{"s":"x\ud800"}}}`, want: []Check{CheckJSON}, ptr: "/actions/0/payload/attributes/s"},
	{name: "lone low surrogate in integrationId", ep: pro, item: `{"integrationId":"\udc00"}`, want: []Check{CheckJSON}},
	{name: "high surrogate then letter", ep: pro, item: `{"integrationId":"\ud800\u0041"}`, want: []Check{CheckJSON}},
	{name: "invalid UTF-8", ep: pro, item: "{\"integrationId\":\"\xff\"}", want: []Check{CheckJSON}},
	{name: "patch many with sku", ep: cat, item: `{"type":"PATCH_MANY","payload":{"sku":"a","filters":[{"attr":"c","op":"EQ","value":"x"}],"price":1}}`, want: []Check{CheckClosed}, ptr: "/actions/0/payload/sku"},
	{name: "remove many with sku", ep: cat, item: `{"type":"REMOVE_MANY","payload":{"sku":"a"}}`, want: []Check{CheckClosed}},
	{name: "remove with price", ep: cat, item: `{"type":"REMOVE","payload":{"sku":"a","price":1}}`, want: []Check{CheckClosed}},

	// Neighbours: shapes and types.
	{name: "unknown action type", ep: cat, item: `{"type":"UPSERT","payload":{"sku":"a"}}`, want: []Check{CheckSpec}},
	{name: "price adjustment without adjustments", ep: cat, item: `{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a"}}`, want: []Check{CheckSpec}},
	{name: "price adjustment without referenceId", ep: cat, item: `{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"a","adjustments":[{"priceType":"member","price":1}]}}`, want: []Check{CheckSpec}},
	{name: "add without sku", ep: cat, item: `{"type":"ADD","payload":{"price":1}}`, want: []Check{CheckSpec}},
	{name: "sku 5", ep: cat, item: `{"type":"REMOVE","payload":{"sku":5}}`, want: []Check{CheckSpec}},
	{name: "replaceIfExists yes", ep: cat, item: `{"type":"ADD","payload":{"sku":"a","replaceIfExists":"yes"}}`, want: []Check{CheckSpec}},
	{name: "price string", ep: cat, item: `{"type":"ADD","payload":{"sku":"a","price":"1.5"}}`, want: []Check{CheckSpec}},
	{name: "attributes null", ep: cat, item: `{"type":"ADD","payload":{"sku":"a","attributes":null}}`, want: []Check{CheckSpec}},
	{name: "attributes array", ep: pro, item: `{"integrationId":"p","attributes":[1]}`, want: []Check{CheckSpec}},
	{name: "payload missing", ep: cat, item: `{"type":"ADD"}`, want: []Check{CheckSpec}},
	{name: "action extra field", ep: cat, item: `{"type":"ADD","payload":{"sku":"a"},"sku":"a"}`, want: []Check{CheckClosed}},
	{name: "integrationId 5", ep: pro, item: `{"integrationId":5}`, want: []Check{CheckSpec}},
	{name: "integrationId missing", ep: pro, item: `{"attributes":{"a":1}}`, want: []Check{CheckSpec}},
	{name: "integrationId of 1001 characters", ep: pro, item: `{"integrationId":"` + strings.Repeat("x", 1001) + `"}`, want: []Check{CheckSpec}},
	{name: "profile extra field", ep: pro, item: `{"integrationId":"p","name":"x"}`, want: []Check{CheckClosed}},
	{name: "audience action remove", ep: aud, item: `{"action":"remove","profileIntegrationId":"p","audienceId":7}`, want: []Check{CheckSpec}},
	{name: "audienceId string", ep: aud, item: `{"action":"add","profileIntegrationId":"p","audienceId":"7"}`, want: []Check{CheckSpec}},
	{name: "audienceId 1.5", ep: aud, item: `{"action":"add","profileIntegrationId":"p","audienceId":1.5}`, want: []Check{CheckSpec}},
	{name: "profileIntegrationId missing", ep: aud, item: `{"action":"add","audienceId":7}`, want: []Check{CheckSpec}},
	{name: "membership extra field", ep: aud, item: `{"action":"add","profileIntegrationId":"p","audienceId":7,"x":1}`, want: []Check{CheckClosed}},
}

func TestItemCases(t *testing.T) {
	s := mustLoad(t)
	for _, tc := range itemCases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.ValidateItem(context.Background(), tc.ep, []byte(tc.item))
			if len(tc.want) == 0 {
				assert.NoError(t, err)
				return
			}
			var e *Error
			require.True(t, errors.As(err, &e), "want %v, got %v", tc.want, err)
			var got []Check
			for _, c := range []Check{CheckSpec, CheckJSON, CheckClosed} {
				if e.Has(c) {
					got = append(got, c)
				}
			}
			assert.Equal(t, tc.want, got, "%v", err)
			if tc.ptr != "" {
				var ptrs []string
				for _, p := range e.Problems {
					ptrs = append(ptrs, p.Pointer)
				}
				assert.Contains(t, ptrs, tc.ptr)
			}
		})
	}
}
