package talon

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParsePointer(t *testing.T) {
	tests := []struct {
		pointer   string
		n         int
		wantIndex int
		wantField string
	}{
		{"/actions/3/payload/sku", 10, 3, "payload/sku"},
		{"/customerProfiles/12/attributes/Age", 13, 12, "attributes/Age"},
		{"/data/0/audienceId", 1, 0, "audienceId"},
		{"/data/0", 1, 0, ""},
		{"/3/sku", 10, 3, "sku"},
		{"3/sku", 10, 3, "sku"},
		{"/customerProfiles/12/attributes/Age", 12, -1, ""},
		{"/actions/-1/payload", 10, -1, ""},
		{"/actions/01/payload", 10, -1, ""},
		{"/actions/99999999999999999999/payload", 10, -1, ""},
		{"/actions/x/payload", 10, -1, ""},
		{"/a/b/3", 10, -1, ""},
		{"", 10, -1, ""},
		{"/", 10, -1, ""},
		{"garbage", 10, -1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.pointer, func(t *testing.T) {
			idx, field := parsePointer(tc.pointer, tc.n)
			assert.Equal(t, tc.wantIndex, idx)
			assert.Equal(t, tc.wantField, field)
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, value string
		want        time.Duration
	}{
		{"absent", "", 0},
		{"seconds", "30", 30 * time.Second},
		{"seconds with space", " 5 ", 5 * time.Second},
		{"zero", "0", 0},
		{"negative", "-3", 0},
		{"huge", "999999999999999999", maxRetryAfter},
		{"http-date", now.Add(2 * time.Minute).Format(http.TimeFormat), 2 * time.Minute},
		{"past date", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"far date", now.Add(1000 * time.Hour).Format(http.TimeFormat), maxRetryAfter},
		{"garbage", "later", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, parseRetryAfter(tc.value, now))
		})
	}
}

func TestSecretReveal(t *testing.T) {
	assert.Equal(t, "tk-SECRET-123", Secret("tk-SECRET-123").reveal())
}

func TestScrub(t *testing.T) {
	const key = Secret("tk-SECRET-123")
	tests := []struct {
		name, in string
		limit    int
		want     string
	}{
		{"no key", "plain", 0, "plain"},
		{"key twice", "a tk-SECRET-123 b tk-SECRET-123", 0, "a [redacted] b [redacted]"},
		{"cut", "héllo", 2, "h…"},
		{"cut key tail", "see tk-SECR", 0, "see [redacted]"},
		{"short tail kept", "at tk-", 0, "at tk-"},
		{"key across the cut", "abc tk-SECRET-123", 8, "abc [red…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, scrub(tc.in, key, tc.limit))
		})
	}
}

func TestErrorText(t *testing.T) {
	idx := make([]ErrorDetail, 15)
	for i := range idx {
		idx[i] = ErrorDetail{Index: i}
	}
	e := &APIError{Endpoint: EndpointCatalog, Status: 400, Message: "bad", Details: idx}
	assert.Equal(t, "syncCatalog: 400 bad request: bad (items 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, … 5 more)", e.Error())
	e = &APIError{Endpoint: EndpointAudiences, Status: 400, Message: "bad", Details: []ErrorDetail{{Index: 4}, {Index: -1}}}
	assert.Equal(t, "updateCustomerProfileAudiences: 400 bad request: bad (item 4)", e.Error())
	e = &APIError{Endpoint: EndpointAudiences, Status: 499, Message: "status"}
	assert.Equal(t, "updateCustomerProfileAudiences: 499 status", e.Error())
}

func TestBodyReaderAfterClose(t *testing.T) {
	pb := getPooledBody()
	pb.buf = append(pb.buf, "hello"...)
	r := pb.newReader()
	r2 := pb.newReader()
	b, err := io.ReadAll(r2)
	assert.NoError(t, err)
	assert.Equal(t, "hello", string(b))
	assert.NoError(t, r.Close())
	assert.NoError(t, r.Close(), "a second close is harmless")
	_, err = r.Read(make([]byte, 1))
	assert.ErrorIs(t, err, errBodyClosed)
	assert.Equal(t, int32(2), pb.refs.Load(), "the caller and r2 still hold it")
	assert.NoError(t, r2.Close())
	pb.release()
	assert.Zero(t, pb.refs.Load())
	assert.True(t, strings.HasPrefix(string(pb.buf), "hello"))
}
