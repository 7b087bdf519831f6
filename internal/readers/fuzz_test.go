package readers

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fuzzRead reads data with every entity and checks the fuzz property: no
// panic, and every row is an item with valid JSON or a *rowError with a
// line. A fatal error ends the input and is fine.
func fuzzRead(t *testing.T, data string, format Format) {
	for _, e := range []Entity{EntityCatalog, EntityProfiles, EntityAudiences} {
		in, err := Open("-", strings.NewReader(data))
		if err != nil {
			continue // a broken gzip header
		}
		r, err := NewReader(in, Options{Entity: e, Format: format, AudienceID: 1, maxRowBytes: 4096})
		if err != nil {
			continue
		}
		for {
			row, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var pe *parseError
				if !errors.As(err, &pe) {
					t.Fatalf("fatal error is not a *parseError: %v", err)
				}
				break
			}
			checkRow(t, row)
		}
	}
}

// seedFiles adds the fixtures whose names end in ext as seeds.
func seedFiles(f *testing.F, ext string) {
	entries, err := os.ReadDir(fixtures)
	require.NoError(f, err)
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ext) {
			b, err := os.ReadFile(fixtures + e.Name())
			require.NoError(f, err)
			f.Add(string(b))
			n++
		}
	}
	require.NotZero(f, n, "no %s fixtures in %s", ext, fixtures)
}

func FuzzCSVReader(f *testing.F) {
	seedFiles(f, ".csv")
	f.Add("sku,price,action,A:number,B:boolean,C:time,D:list\ns1,1,add,2,yes,2024-01-01,a|b\n")
	f.Add("profileIntegrationId,audienceId,action\np,1,remove\n")
	f.Add("integrationId,\"x\ny\"\n\"a\r\n\",b\"\n")
	f.Fuzz(func(t *testing.T, data string) { fuzzRead(t, data, FormatCSV) })
}

func FuzzJSONLReader(f *testing.F) {
	seedFiles(f, ".jsonl")
	f.Add(`{"type":"PATCH_MANY","payload":{"filters":[{"attr":"a","op":"EQ","value":1}],"attributes":{"A":[1,{"b":null}]}}}`)
	f.Add(`{"profileIntegrationId":"p","audienceId":"3","action":"REMOVE"}` + "\n" + `{"integrationId":"\ud800"}`)
	f.Fuzz(func(t *testing.T, data string) { fuzzRead(t, data, FormatJSONL) })
}

func FuzzAppendValue(f *testing.F) {
	for _, s := range []string{"", "42", "-1.5e3", "yes", "2024-01-31", "2024-01-31T10:00:00+02:00",
		`["a","b"]`, "a|b||c", "\xff", "\u2028", "\x00", "0x10", "NaN"} {
		for typ := attrString; typ <= attrList; typ++ {
			f.Add(int(typ), s)
		}
	}
	f.Fuzz(func(t *testing.T, typ int, s string) {
		at := attrType(((typ % 5) + 5) % 5)
		out, err := appendValue([]byte("x"), at, s)
		if err != nil {
			if !errors.Is(err, errBadValue) {
				t.Fatalf("error does not wrap errBadValue: %v", err)
			}
			if string(out) != "x" {
				t.Fatalf("dst changed on error: %q", out)
			}
			return
		}
		if !json.Valid(out[1:]) {
			t.Fatalf("appendValue(%v, %q) = %q: invalid JSON", at, s, out[1:])
		}
		if at == attrString {
			var back string
			if err := json.Unmarshal(out[1:], &back); err != nil || back != s {
				t.Fatalf("string %q round-trips to %q (%v)", s, back, err)
			}
		}
	})
}
