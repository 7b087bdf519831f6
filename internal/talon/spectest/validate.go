package spectest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/talonsync/talonsync/internal/talon"
)

// Check names the check that found a Problem.
type Check int

const (
	// CheckSpec is kin-openapi's validation against the spec's schemas
	// (with Deviations), including each catalog payload against the schema
	// of its action type.
	CheckSpec Check = iota + 1
	// CheckJSON is strict JSON: no duplicate names in an object, no invalid
	// UTF-8 or lone surrogate escapes, no number beyond float64's range.
	CheckJSON
	// CheckClosed finds properties that a schema with declared properties
	// does not declare. OpenAPI 3.0 allows them unless additionalProperties
	// says otherwise, and this spec never says so; the API's types have no
	// field for them, so they are dropped or refused.
	CheckClosed
)

// String names the check.
func (c Check) String() string {
	switch c {
	case CheckSpec:
		return "spec"
	case CheckJSON:
		return "json"
	case CheckClosed:
		return "closed"
	}
	return "Check(" + strconv.Itoa(int(c)) + ")"
}

// Problem is one way a request departs from the spec.
type Problem struct {
	Check   Check
	Pointer string // JSON pointer into the body; "" for the request line and headers
	Message string
}

func (p Problem) String() string {
	if p.Pointer == "" {
		return p.Check.String() + ": " + p.Message
	}
	return p.Check.String() + ": " + p.Pointer + ": " + p.Message
}

// Error is the error of a request that does not conform. Problems is never
// empty.
type Error struct {
	Operation string // "" when no operation matched
	Problems  []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("request does not conform to the spec")
	if e.Operation != "" {
		b.WriteString(" (" + e.Operation + ")")
	}
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Has reports whether a problem of check c was found.
func (e *Error) Has(c Check) bool {
	return slices.ContainsFunc(e.Problems, func(p Problem) bool { return p.Check == c })
}

// Request is one API request to check.
type Request struct {
	Method   string
	Path     string // "/v1/catalogs/1/sync"
	RawQuery string // "silent=no"
	// Header must carry Content-Type and an Authorization of scheme
	// ApiKey-v1 (the key itself is not checked).
	Header http.Header
	Body   []byte
}

// Validate checks r against the spec. It returns nil, or an *Error that
// lists every problem found. It does not change r.
func (s *Spec) Validate(ctx context.Context, r Request) error {
	u := &url.URL{Scheme: "https", Host: "yourbaseurl.talon.one", Path: r.Path, RawQuery: r.RawQuery}
	req, err := http.NewRequestWithContext(ctx, r.Method, u.String(), bytes.NewReader(r.Body))
	if err != nil {
		return &Error{Problems: []Problem{{Check: CheckSpec, Message: err.Error()}}}
	}
	req.Header = r.Header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		return &Error{Problems: []Problem{{Check: CheckSpec, Message: r.Method + " " + r.Path + ": " + err.Error()}}}
	}
	id := route.Operation.OperationID
	e := &Error{Operation: id}
	if s.ops[id] == nil {
		e.Problems = append(e.Problems, Problem{Check: CheckSpec, Message: "operation " + id + " is not one talonsync calls"})
		return e
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			MultiError:          true,
			SkipSettingDefaults: true,
			AuthenticationFunc:  apiKeyV1,
		},
	}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		e.Problems = append(e.Problems, flatten(err)...)
	}
	e.Problems = append(e.Problems, strictJSON(r.Body)...)
	var body any
	if decode(r.Body, &body) == nil {
		if id == Operations[talon.EndpointCatalog] {
			e.Problems = append(e.Problems, s.payloadProblems(body)...)
		}
		schema := route.Operation.RequestBody.Value.Content.Get("application/json").Schema.Value
		e.Problems = append(e.Problems, closed(schema, body, "")...)
	}
	if len(e.Problems) == 0 {
		return nil
	}
	return e
}

// ValidateBody checks body as the request body of ep, sent the way
// talonsync sends it (catalog 1, silent=yes for profiles).
func (s *Spec) ValidateBody(ctx context.Context, ep talon.Endpoint, body []byte) error {
	r := Request{Method: http.MethodPut, RawQuery: "", Body: body, Header: http.Header{
		"Content-Type":  {"application/json"},
		"Authorization": {"ApiKey-v1 spectest"},
	}}
	switch ep {
	case talon.EndpointCatalog:
		r.Path = "/v1/catalogs/1/sync"
	case talon.EndpointProfiles:
		r.Path, r.RawQuery = "/v2/customer_profiles", "silent=yes"
	case talon.EndpointAudiences:
		r.Method, r.Path = http.MethodPost, "/v2/customer_audiences"
	default:
		return fmt.Errorf("spectest: unknown endpoint %v", ep)
	}
	return s.Validate(ctx, r)
}

// ValidateItem checks one array element, as talon.Item.JSON holds it, in a
// request of its own: the body is talon.AppendBody of that one item.
func (s *Spec) ValidateItem(ctx context.Context, ep talon.Endpoint, item []byte) error {
	return s.ValidateBody(ctx, ep, talon.AppendBody(nil, ep, []talon.Item{{JSON: item}}))
}

// apiKeyV1 checks the form of the api_key_v1 scheme: "ApiKey-v1 <key>" in
// the header the scheme names. Every other scheme of the spec fails, so a
// request passes only with the Integration API's key.
func apiKeyV1(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecuritySchemeName != "api_key_v1" {
		return in.NewError(errors.New("talonsync authenticates with api_key_v1 only"))
	}
	v := in.RequestValidationInput.Request.Header.Get(in.SecurityScheme.Name)
	scheme, key, _ := strings.Cut(v, " ")
	if scheme != "ApiKey-v1" || key == "" {
		return in.NewError(fmt.Errorf("header %s must be \"ApiKey-v1 <key>\"", in.SecurityScheme.Name))
	}
	return nil
}

// payloadProblems checks each catalog action's payload against the schema
// of its type, with kin-openapi and for undeclared properties. Actions of an unknown type or without a payload object are
// left to the spec check, which reports them.
func (s *Spec) payloadProblems(body any) []Problem {
	obj, _ := body.(map[string]any)
	actions, _ := obj["actions"].([]any)
	var out []Problem
	for i, a := range actions {
		action, _ := a.(map[string]any)
		typ, _ := action["type"].(string)
		payload, ok := action["payload"].(map[string]any)
		sch := s.payloads[typ]
		if sch == nil || !ok {
			continue
		}
		base := "/actions/" + strconv.Itoa(i) + "/payload"
		if err := sch.VisitJSON(payload, openapi3.MultiErrors(), openapi3.VisitAsRequest()); err != nil {
			for _, p := range flatten(err) {
				p.Pointer = base + p.Pointer
				out = append(out, p)
			}
		}
		out = append(out, closed(sch, payload, base)...)
	}
	return out
}

// flatten turns kin-openapi's nested errors into Problems, one per schema
// error, with the pointer into the body where the error has one.
func flatten(err error) []Problem {
	var out []Problem
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case openapi3.MultiError:
			for _, x := range e {
				walk(x)
			}
		case *openapi3filter.RequestError:
			var me openapi3.MultiError
			var se *openapi3.SchemaError
			switch {
			case errors.As(e.Err, &me), errors.As(e.Err, &se):
				walk(e.Err)
			default:
				out = append(out, Problem{Check: CheckSpec, Message: e.Error()})
			}
		case *openapi3.SchemaError:
			var ptr string
			for _, part := range e.JSONPointer() {
				ptr += "/" + part
			}
			out = append(out, Problem{Check: CheckSpec, Pointer: ptr, Message: e.Reason})
		default:
			out = append(out, Problem{Check: CheckSpec, Message: err.Error()})
		}
	}
	walk(err)
	return out
}

// decode decodes JSON the way the spec check does: numbers as json.Number.
func decode(b []byte, v *any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}
