package talon_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
)

func TestAppendCatalogAction(t *testing.T) {
	every := talon.CatalogFields{
		SKU: []byte(`"S1"`), Price: []byte(`9.5`), Product: []byte(`{"name":"P"}`),
		Attributes: []byte(`{"a":1}`), Filters: []byte(`[{"attr":"a","op":"EQ","value":1}]`),
		Adjustments:     []byte(`[{"priceType":"member","price":1,"referenceId":"r"}]`),
		ReplaceIfExists: talon.TriFalse, CreateIfNotExists: talon.TriTrue,
	}
	with := func(typ talon.ActionType, f talon.CatalogFields) *talon.CatalogFields {
		f.Type = typ
		return &f
	}
	tests := []struct {
		name string
		f    *talon.CatalogFields
		want string
	}{
		{"ADD takes sku, price, product, attributes, replaceIfExists", with(talon.ActionAdd, every),
			`{"type":"ADD","payload":{"sku":"S1","price":9.5,"product":{"name":"P"},"attributes":{"a":1},"replaceIfExists":false}}`},
		{"PATCH takes sku, price, product, attributes, createIfNotExists", with(talon.ActionPatch, every),
			`{"type":"PATCH","payload":{"sku":"S1","price":9.5,"product":{"name":"P"},"attributes":{"a":1},"createIfNotExists":true}}`},
		{"REMOVE takes sku", with(talon.ActionRemove, every),
			`{"type":"REMOVE","payload":{"sku":"S1"}}`},
		{"PATCH_MANY takes filters, price, attributes", with(talon.ActionPatchMany, every),
			`{"type":"PATCH_MANY","payload":{"filters":[{"attr":"a","op":"EQ","value":1}],"price":9.5,"attributes":{"a":1}}}`},
		{"REMOVE_MANY takes filters", with(talon.ActionRemoveMany, every),
			`{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"a","op":"EQ","value":1}]}}`},
		{"ADD_PRICE_ADJUSTMENT takes sku, adjustments", with(talon.ActionAddPriceAdjustment, every),
			`{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"S1","adjustments":[{"priceType":"member","price":1,"referenceId":"r"}]}}`},
		{"absent parts are left out", &talon.CatalogFields{Type: talon.ActionAdd, SKU: []byte(`"S2"`), Attributes: []byte(`{"b":"x"}`)},
			`{"type":"ADD","payload":{"sku":"S2","attributes":{"b":"x"}}}`},
		{"unset tri-states are left out", &talon.CatalogFields{Type: talon.ActionPatch, SKU: []byte(`"S3"`)},
			`{"type":"PATCH","payload":{"sku":"S3"}}`},
		{"replaceIfExists true", &talon.CatalogFields{Type: talon.ActionAdd, SKU: []byte(`"S4"`), ReplaceIfExists: talon.TriTrue},
			`{"type":"ADD","payload":{"sku":"S4","replaceIfExists":true}}`},
		{"createIfNotExists false", &talon.CatalogFields{Type: talon.ActionPatch, SKU: []byte(`"S5"`), CreateIfNotExists: talon.TriFalse},
			`{"type":"PATCH","payload":{"sku":"S5","createIfNotExists":false}}`},
		{"REMOVE_MANY without filters", &talon.CatalogFields{Type: talon.ActionRemoveMany},
			`{"type":"REMOVE_MANY","payload":{}}`},
		{"parts are copied verbatim", &talon.CatalogFields{Type: talon.ActionRemove, SKU: []byte(`"\u0041 \"q\""`)},
			`{"type":"REMOVE","payload":{"sku":"\u0041 \"q\""}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := talon.AppendCatalogAction([]byte("pre:"), tc.f)
			assert.Equal(t, "pre:"+tc.want, string(got))
			var a talon.CatalogAction
			requireStrict(t, got[4:], &a)
			assert.Equal(t, tc.f.Type, a.Type)
		})
	}
}

func TestAppendCustomerProfile(t *testing.T) {
	tests := []struct {
		name      string
		id, attrs string
		want      string
	}{
		{"with attributes", `"u1"`, `{"Name":"Ann","Age":36}`, `{"integrationId":"u1","attributes":{"Name":"Ann","Age":36}}`},
		{"empty attributes are left out", `"u2"`, ``, `{"integrationId":"u2"}`},
		{"escapes kept verbatim", `"\u00e9\n"`, `{"a":"\/"}`, `{"integrationId":"\u00e9\n","attributes":{"a":"\/"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var attrs []byte
			if tc.attrs != "" {
				attrs = []byte(tc.attrs)
			}
			got := talon.AppendCustomerProfile([]byte("pre:"), []byte(tc.id), attrs)
			assert.Equal(t, "pre:"+tc.want, string(got))
			var p talon.CustomerProfile
			requireStrict(t, got[4:], &p)
		})
	}
}

func TestAppendAudienceAction(t *testing.T) {
	tests := []struct {
		name   string
		id     string
		aud    int64
		remove bool
		want   string
		back   talon.AudienceAction
	}{
		{"add", `"p1"`, 42, false, `{"action":"add","profileIntegrationId":"p1","audienceId":42}`,
			talon.AudienceAction{Action: talon.AudienceAdd, ProfileIntegrationID: "p1", AudienceID: 42}},
		{"remove is delete", `"p/2"`, 9223372036854775807, true, `{"action":"delete","profileIntegrationId":"p/2","audienceId":9223372036854775807}`,
			talon.AudienceAction{Action: talon.AudienceDelete, ProfileIntegrationID: "p/2", AudienceID: 9223372036854775807}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := talon.AppendAudienceAction([]byte("pre:"), []byte(tc.id), tc.aud, tc.remove)
			assert.Equal(t, "pre:"+tc.want, string(got))
			var a talon.AudienceAction
			requireStrict(t, got[4:], &a)
			assert.Equal(t, tc.back, a)
		})
	}
}

// requireStrict decodes b into v, refusing unknown fields and trailing data.
func requireStrict(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(v), "%s", b)
	require.False(t, dec.More(), "trailing data in %s", b)
}

func TestEncodersAllocations(t *testing.T) {
	f := &talon.CatalogFields{Type: talon.ActionAdd, SKU: []byte(`"SKU-000001"`), Price: []byte(`19.99`),
		Product: []byte(`{"name":"Shirts"}`), Attributes: []byte(`{"color":"red","sizes":["S","M"]}`),
		ReplaceIfExists: talon.TriTrue}
	id, attrs := []byte(`"customer-000001"`), []byte(`{"Name":"Ada","Age":36}`)
	encoders := map[string]func(dst []byte) []byte{
		"catalog":  func(dst []byte) []byte { return talon.AppendCatalogAction(dst, f) },
		"profile":  func(dst []byte) []byte { return talon.AppendCustomerProfile(dst, id, attrs) },
		"audience": func(dst []byte) []byte { return talon.AppendAudienceAction(dst, id, 1<<40, true) },
	}
	for name, enc := range encoders {
		t.Run(name, func(t *testing.T) {
			dst := make([]byte, 0, 512)
			assert.Zero(t, testing.AllocsPerRun(100, func() { dst = enc(dst[:0]) }), "with room in dst")
			if !raceEnabled {
				assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { dst = enc(nil) }), "from nil: one allocation")
			}
		})
	}
	dst := make([]byte, 0, 512)
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		dst, _ = talon.AppendString(dst[:0], "héllo \"wörld\"\n\xff")
	}), "AppendString with room in dst")
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "abc", "\x00\x7f\x1f", "<>&", "\u2028\u2029", "日本語", "\"\\/", "\b\f\n\r\t"} {
		got, valid := talon.AppendString(nil, s)
		require.True(t, valid)
		var back string
		require.NoError(t, json.Unmarshal(got, &back), "%s", got)
		assert.Equal(t, s, back)
	}
	got, valid := talon.AppendString([]byte("pre:"), "a\xffb\xfe")
	assert.False(t, valid)
	assert.Equal(t, `pre:"a\ufffdb\ufffd"`, string(got), "each invalid byte is one U+FFFD")
	got, _ = talon.AppendString(nil, "<\u2028>")
	assert.Equal(t, `"<\u2028>"`, string(got), "line separators escaped, HTML characters not")
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\u2028", "\xff\xfe", "日本\xe6\x97"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, valid := talon.AppendString(nil, s)
		require.True(t, json.Valid(got), "%q gave %s", s, got)
		assert.Equal(t, utf8.ValidString(s), valid)
		var back string
		require.NoError(t, json.Unmarshal(got, &back))
		// Each byte that is not valid UTF-8 decodes as one U+FFFD.
		var want strings.Builder
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				want.WriteRune(utf8.RuneError)
			} else {
				want.WriteString(s[i : i+size])
			}
			i += size
		}
		assert.Equal(t, want.String(), back)
	})
}
