package readers

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/talonsync/talonsync/internal/talon"
)

// fuzzEntity reads one entity from a fuzzed CSV header plus one row, and
// from one fuzzed JSONL line, and checks the mapping property: no panic;
// every row is an item with non-empty valid JSON and a non-empty key (bulk
// catalog actions have none), or a *rowError with Line >= 1. Header
// problems and fatal *ParseErrors end the input and are fine.
func fuzzEntity(t *testing.T, e Entity, header, row, line string) {
	inputs := []struct {
		format Format
		data   string
	}{
		{FormatCSV, header + "\n" + row + "\n"},
		{FormatJSONL, line + "\n"},
	}
	for _, in := range inputs {
		src, err := Open("-", strings.NewReader(in.data))
		if err != nil {
			continue
		}
		r, err := NewReader(src, Options{Entity: e, Format: in.format, AudienceID: 7, AllowBulk: true, maxRowBytes: 4096})
		if err != nil {
			var he *headerError
			if !errors.As(err, &he) {
				var pe *parseError
				if !errors.As(err, &pe) {
					t.Fatalf("%v: NewReader error is neither *headerError nor *parseError: %v", in.format, err)
				}
			}
			continue
		}
		for {
			got, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var pe *parseError
				if !errors.As(err, &pe) || pe.Line < 1 {
					t.Fatalf("%v: fatal error is not a *parseError with a line: %v", in.format, err)
				}
				break
			}
			checkEntityRow(t, e, got)
		}
	}
}

func checkEntityRow(t *testing.T, e Entity, row Row) {
	t.Helper()
	if row.Err != nil {
		var re *rowError
		if !errors.As(row.Err, &re) || re.Line < 1 {
			t.Fatalf("rejected row without a *rowError line: %v", row.Err)
		}
		if !json.Valid(row.Record) {
			t.Fatalf("reject record is not valid JSON: %q", row.Record)
		}
		return
	}
	if row.Line < 1 {
		t.Fatalf("row line %d", row.Line)
	}
	if len(row.Item.JSON) == 0 || !json.Valid(row.Item.JSON) {
		t.Fatalf("%v item JSON is empty or invalid: %q", e, row.Item.JSON)
	}
	bulk := row.Item.Type == talon.ActionPatchMany || row.Item.Type == talon.ActionRemoveMany
	if e != EntityCatalog && row.Item.Type != "" {
		t.Fatalf("%v item has catalog type %q", e, row.Item.Type)
	}
	if row.Item.Key == "" && !bulk {
		t.Fatalf("%v item without key: %q", e, row.Item.JSON)
	}
	if row.Item.Key != "" && bulk {
		t.Fatalf("bulk item with key %q: %q", row.Item.Key, row.Item.JSON)
	}
	checkItemMatchesJSON(t, e, row.Item)
}

// checkItemMatchesJSON checks that the Item's Key, Type and Remove say what
// its JSON holds, so that no later stage needs to decode it.
func checkItemMatchesJSON(t *testing.T, e Entity, it talon.Item) {
	t.Helper()
	var key string
	var typ talon.ActionType
	var remove bool
	var err error
	switch e {
	case EntityCatalog:
		var a talon.CatalogAction
		err = json.Unmarshal(it.JSON, &a)
		typ, remove = a.Type, a.Type == talon.ActionRemove
		if a.Type != talon.ActionPatchMany && a.Type != talon.ActionRemoveMany {
			key = a.Payload.SKU
		}
	case EntityProfiles:
		var p talon.CustomerProfile
		err = json.Unmarshal(it.JSON, &p)
		key = p.IntegrationID
	case EntityAudiences:
		var a talon.AudienceAction
		err = json.Unmarshal(it.JSON, &a)
		key, remove = talon.MembershipKey(a.AudienceID, a.ProfileIntegrationID), a.Action == talon.AudienceDelete
	}
	if err != nil {
		t.Fatalf("%v item does not decode: %v: %q", e, err, it.JSON)
	}
	if it.Key != key || it.Type != typ || it.Remove != remove {
		t.Fatalf("%v item says key %q type %q remove %v; its JSON %q says %q %q %v",
			e, it.Key, it.Type, it.Remove, it.JSON, key, typ, remove)
	}
}

func FuzzCatalogRow(f *testing.F) {
	f.Add("sku,price,product,action,Color,Size:number,Organic:boolean,Tags:list,At:time",
		"S1,12.90,Beans,ADD,brown,1,true,a|b,2024-01-31",
		`{"sku":"S1","price":4.5,"product":{"name":"T"},"attributes":{"A":true},"action":"ADD"}`)
	f.Add("SKU,Action,replace_if_exists,createIfNotExists", "S2,patch,false,yes",
		`{"type":"PATCH_MANY","payload":{"filters":[{"attr":"a","op":"EQ","value":1}],"attributes":{"A":[1]}}}`)
	f.Add("sku,action", "S3,REMOVE", `{"type":"REMOVE_MANY","payload":{}}`)
	f.Add("sku,price", "\"S4\",\"1e400\"", `{"type":"PATCH","payload":{"sku":"\u0000","price":null}}`)
	f.Fuzz(func(t *testing.T, header, row, line string) { fuzzEntity(t, EntityCatalog, header, row, line) })
}

func FuzzProfileRow(f *testing.F) {
	f.Add("integrationId,Age:number,VIP:boolean,Signup:time,Tags:list,Name",
		"c1,30,yes,2024-01-31T10:00:00Z,[\"a\"],Ann",
		`{"integrationId":"c1","attributes":{"Age":84,"Interests":["types"]}}`)
	f.Add("integration_id", "\"\"", `{"integrationId":"","attributes":null}`)
	f.Add("IntegrationID,X", "c2,\xff", `{"integrationId":"\ud800"}`)
	f.Fuzz(func(t *testing.T, header, row, line string) { fuzzEntity(t, EntityProfiles, header, row, line) })
}

func FuzzAudienceRow(f *testing.F) {
	f.Add("profileIntegrationId,audienceId,action", "p1,3,remove",
		`{"profileIntegrationId":"p1","audienceId":1,"action":"add"}`)
	f.Add("profile_integration_id", "p2", `{"profileIntegrationId":"p","audienceId":"3","action":"REMOVE"}`)
	f.Add("profileIntegrationId,audienceId", "p3,-1", `{"profileIntegrationId":"p","audienceId":1e3}`)
	f.Fuzz(func(t *testing.T, header, row, line string) { fuzzEntity(t, EntityAudiences, header, row, line) })
}
