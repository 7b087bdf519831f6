package spectest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

func jsonHeader(auth string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	if auth != "" {
		h.Set("Authorization", auth)
	}
	return h
}

const profilesOK = `{"customerProfiles":[{"integrationId":"p"}]}`

func TestValidateRequest(t *testing.T) {
	s := mustLoad(t)
	removes := func(n int) string {
		return `{"actions":[` + strings.TrimSuffix(strings.Repeat(`{"type":"REMOVE","payload":{"sku":"a"}},`, n), ",") + `]}`
	}
	tests := []struct {
		name    string
		req     Request
		wantErr string // a substring of the error; "" for a conforming request
	}{
		{name: "profiles", req: Request{Method: "PUT", Path: "/v2/customer_profiles", RawQuery: "silent=yes", Header: jsonHeader("ApiKey-v1 k"), Body: []byte(profilesOK)}},
		{name: "profiles without query", req: Request{Method: "PUT", Path: "/v2/customer_profiles", Header: jsonHeader("ApiKey-v1 k"), Body: []byte(profilesOK)}},
		{name: "catalog 1000 actions", req: Request{Method: "PUT", Path: "/v1/catalogs/9/sync", Header: jsonHeader("ApiKey-v1 k"), Body: []byte(removes(1000))}},
		{name: "catalog with version", req: Request{Method: "PUT", Path: "/v1/catalogs/9/sync", Header: jsonHeader("ApiKey-v1 k"), Body: []byte(`{"actions":[{"type":"REMOVE","payload":{"sku":"a"}}],"version":3}`)}},
		{name: "catalog 1001 actions", req: Request{Method: "PUT", Path: "/v1/catalogs/9/sync", Header: jsonHeader("ApiKey-v1 k"), Body: []byte(removes(1001))}, wantErr: "/actions: maximum number of items is 1000"},
		{name: "catalog no actions", req: Request{Method: "PUT", Path: "/v1/catalogs/9/sync", Header: jsonHeader("ApiKey-v1 k"), Body: []byte(`{"actions":[]}`)}, wantErr: "minimum number of items is 1"},
		{name: "catalog version 0", req: Request{Method: "PUT", Path: "/v1/catalogs/9/sync", Header: jsonHeader("ApiKey-v1 k"), Body: []byte(`{"actions":[{"type":"REMOVE","payload":{"sku":"a"}}],"version":0}`)}, wantErr: "/version"},
		{name: "catalog id not an integer", req: Request{Method: "PUT", Path: "/v1/catalogs/abc/sync", Header: jsonHeader("ApiKey-v1 k"), Body: []byte(removes(1))}, wantErr: "catalogId"},
		{name: "no key", req: Request{Method: "PUT", Path: "/v2/customer_profiles", Header: jsonHeader(""), Body: []byte(profilesOK)}, wantErr: "security requirement"},
		{name: "bearer token", req: Request{Method: "PUT", Path: "/v2/customer_profiles", Header: jsonHeader("Bearer k"), Body: []byte(profilesOK)}, wantErr: "security requirement"},
		{name: "text body", req: Request{Method: "PUT", Path: "/v2/customer_profiles", Header: http.Header{"Content-Type": {"text/plain"}, "Authorization": {"ApiKey-v1 k"}}, Body: []byte(profilesOK)}, wantErr: "text/plain"},
		{name: "not JSON", req: Request{Method: "PUT", Path: "/v2/customer_profiles", Header: jsonHeader("ApiKey-v1 k"), Body: []byte(`{"customerProfiles":[`)}, wantErr: "request body"},
		{name: "empty body", req: Request{Method: "PUT", Path: "/v2/customer_profiles", Header: jsonHeader("ApiKey-v1 k")}, wantErr: "request body"},
		{name: "wrong method", req: Request{Method: "POST", Path: "/v2/customer_profiles", Header: jsonHeader("ApiKey-v1 k"), Body: []byte(profilesOK)}, wantErr: "method not allowed"},
		{name: "unknown path", req: Request{Method: "PUT", Path: "/v2/customer_profile", Header: jsonHeader("ApiKey-v1 k"), Body: []byte(profilesOK)}, wantErr: "no matching operation"},
		{name: "another operation", req: Request{Method: "POST", Path: "/v2/audiences", Header: jsonHeader("ApiKey-v1 k"), Body: []byte(`{"name":"a"}`)}, wantErr: "operation createAudienceV2 is not one talonsync calls"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Validate(context.Background(), tc.req)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			var e *Error
			require.True(t, errors.As(err, &e), "got %v", err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestValidateBodyUnknownEndpoint(t *testing.T) {
	assert.Error(t, mustLoad(t).ValidateBody(context.Background(), talon.Endpoint(99), []byte(`{}`)))
}

func TestFromRecord(t *testing.T) {
	rec := emulator.RequestRecord{Method: "PUT", Path: "/v2/customer_profiles", RawQuery: "silent=no",
		Header: http.Header{"Content-Type": {"application/json"}}, AuthScheme: "ApiKey-v1", Body: []byte(profilesOK)}
	r := FromRecord(rec)
	assert.Equal(t, "ApiKey-v1 redacted", r.Header.Get("Authorization"))
	assert.Empty(t, rec.Header.Get("Authorization"), "the record is not changed")
	assert.NoError(t, mustLoad(t).Validate(context.Background(), r))

	rec.AuthScheme = ""
	assert.ErrorContains(t, mustLoad(t).Validate(context.Background(), FromRecord(rec)), "security requirement")
}

// TestCheckSkipsCutBodies: a request whose body did not arrive whole is not
// checked, and one with the same bytes that did arrive is.
func TestCheckSkipsCutBodies(t *testing.T) {
	rec := emulator.RequestRecord{Method: "PUT", Path: "/v1/catalogs/1/sync",
		Header: http.Header{"Content-Type": {"application/json"}}, AuthScheme: "ApiKey-v1"}
	var r Recorder
	cut := rec
	cut.BodyErr = io.ErrUnexpectedEOF
	r.Record(cut)
	assert.Empty(t, r.Check(context.Background(), mustLoad(t)), "a cut body is skipped")
	r.Record(rec)
	fs := r.Check(context.Background(), mustLoad(t))
	require.Len(t, fs, 1, "the same empty body, whole, does not conform")
	assert.Contains(t, fs[0].Err.Error(), "request body")
}
