// Package spectest checks API requests against Talon.One's own OpenAPI spec,
// for tests. It links github.com/getkin/kin-openapi, which the talonsync
// binary must not: import spectest from _test.go files only.
//
// The spec is testdata/integration-openapi.yaml, talon-one/talon_go
// api/openapi.yaml at commit b5a7a07 (v25.17.0), whole and unchanged; it is
// embedded, so a test in any package can use it. Where the spec as written
// cannot be what the API means, the harness departs from it in memory only,
// and Deviations lists each case.
//
// A request is checked in three ways (see Check): by kin-openapi against the
// spec's schemas, including each catalog action's payload against the schema
// for its type (the spec's CatalogAction leaves the payload a free-form
// object); for strict JSON (duplicate names, invalid Unicode, numbers beyond
// float64), which no schema validator sees after decoding; and for
// properties the schemas do not declare, which OpenAPI 3.0 allows by default
// but the API's types have no field for.
package spectest

import (
	_ "embed"
	"fmt"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/talonsync/talonsync/internal/talon"
)

// SpecSource says where the embedded spec comes from.
const SpecSource = "talon-one/talon_go api/openapi.yaml at commit b5a7a07 (v25.17.0)"

//go:embed testdata/integration-openapi.yaml
var specYAML []byte

// Deviation is one place where the harness departs from the spec file.
type Deviation struct {
	Schema   string // the component schema
	Property string // the property of it
	Spec     string // what the spec says
	Here     string // what the harness checks instead
	Why      string
}

// Deviations lists every in-memory change to the loaded spec. A test proves
// each one is still needed.
var Deviations = []Deviation{{
	Schema:   "CatalogActionFilter",
	Property: "value",
	Spec:     "type: object",
	Here:     "any JSON value but null",
	Why: `the spec's own syncCatalog example filters with "value": "45", the API's guide compares numbers ` +
		`with LT..GE and takes comma-separated strings for IN; "type: object" would refuse all of them`,
}}

// PayloadSchemas names, for each catalog action type, the component schema
// of its payload. The spec ties them together only in the schemas'
// descriptions ("The specific properties of the "ADD" catalog sync action").
var PayloadSchemas = map[string]string{
	"ADD":                  "AddItemCatalogAction",
	"PATCH":                "PatchItemCatalogAction",
	"PATCH_MANY":           "PatchManyItemsCatalogAction",
	"REMOVE":               "RemoveItemCatalogAction",
	"REMOVE_MANY":          "RemoveManyItemsCatalogAction",
	"ADD_PRICE_ADJUSTMENT": "AddPriceAdjustmentCatalogAction",
}

// Operations maps the endpoints talonsync calls to their operation IDs.
var Operations = map[talon.Endpoint]string{
	talon.EndpointCatalog:   "syncCatalog",
	talon.EndpointProfiles:  "updateCustomerProfilesV2",
	talon.EndpointAudiences: "updateCustomerProfileAudiences",
}

// Spec is the loaded spec, ready to check requests. It is safe for
// concurrent use.
type Spec struct {
	doc      *openapi3.T
	router   routers.Router
	payloads map[string]*openapi3.Schema
	ops      map[string]*openapi3.Operation // by operation ID, the three only
	// LoadTime is how long parsing and preparing the spec took.
	LoadTime time.Duration
}

var (
	loadOnce sync.Once
	loaded   *Spec
	loadErr  error
)

// Load parses the embedded spec once per process and returns it; later
// calls return the same Spec (or error). Parsing the 1.7 MB of YAML takes a
// few hundred milliseconds.
func Load() (*Spec, error) {
	loadOnce.Do(func() { loaded, loadErr = load(specYAML) })
	return loaded, loadErr
}

func load(data []byte) (*Spec, error) {
	start := time.Now()
	l := openapi3.NewLoader()
	doc, err := l.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("spectest: load spec: %w", err)
	}
	s, err := prepare(doc)
	if err != nil {
		return nil, err
	}
	s.LoadTime = time.Since(start)
	return s, nil
}

// prepare applies the Deviations and indexes the schemas and operations.
func prepare(doc *openapi3.T) (*Spec, error) {
	for _, d := range Deviations {
		sch, err := schema(doc, d.Schema)
		if err != nil {
			return nil, err
		}
		if sch.Properties[d.Property] == nil {
			return nil, fmt.Errorf("spectest: deviation: schema %s has no property %s", d.Schema, d.Property)
		}
		// A schema without a type takes any value; not being nullable, it
		// still refuses null.
		sch.Properties[d.Property] = &openapi3.SchemaRef{Value: &openapi3.Schema{Description: "any JSON value but null (spectest deviation)"}}
	}
	s := &Spec{doc: doc, payloads: make(map[string]*openapi3.Schema), ops: make(map[string]*openapi3.Operation)}
	for typ, name := range PayloadSchemas {
		sch, err := schema(doc, name)
		if err != nil {
			return nil, err
		}
		s.payloads[typ] = sch
	}
	for _, id := range Operations {
		op := operation(doc, id)
		if op == nil {
			return nil, fmt.Errorf("spectest: the spec has no operation %s", id)
		}
		s.ops[id] = op
	}
	// The router validates the whole document first. The vendor's file has
	// an empty info.version and examples its own schemas refuse (in the
	// Management API's Account, for one); neither says anything about
	// requests, so the version is filled in and examples are not checked.
	if doc.Info != nil && doc.Info.Version == "" {
		doc.Info.Version = "b5a7a07"
	}
	r, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	if err != nil {
		return nil, fmt.Errorf("spectest: router: %w", err)
	}
	s.router = r
	return s, nil
}

func schema(doc *openapi3.T, name string) (*openapi3.Schema, error) {
	ref := doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		return nil, fmt.Errorf("spectest: the spec has no schema %s", name)
	}
	return ref.Value, nil
}

func operation(doc *openapi3.T, id string) *openapi3.Operation {
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.OperationID == id {
				return op
			}
		}
	}
	return nil
}

// Schema returns the component schema called name, for tests that check
// what the spec says. It is shared: do not change it.
func (s *Spec) Schema(name string) (*openapi3.Schema, error) { return schema(s.doc, name) }

// Operation returns the operation with the given ID, nil if there is none.
// It is shared: do not change it.
func (s *Spec) Operation(id string) *openapi3.Operation { return operation(s.doc, id) }
